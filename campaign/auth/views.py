from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from werkzeug.wrappers import Response

from campaign.auth.forms import LoginForm
from campaign.auth.services import authenticate
from campaign.extensions import db, login_manager
from campaign.models import Coordinator

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_coordinator(user_id: str) -> Coordinator | None:
    return db.session.get(Coordinator, int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None) -> str:
    """Only follow a ``next`` that stays on this site."""
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("dashboard.index")


@bp.get("/")
def home() -> Response:
    """The bare address leads coordinators to their dashboard (or the login page)."""
    return redirect(url_for("dashboard.index"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        coordinator = authenticate(form.email.data or "", form.password.data or "")
        if coordinator is not None:
            login_user(coordinator, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash("Dit e-mailadres en wachtwoord horen niet bij elkaar.", "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash("Je bent afgemeld.", "info")
    return redirect(url_for("auth.login"))
