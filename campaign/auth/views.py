"""Login and logout, the one-time set-password page, one's own new password, the accounts
("Team") and the audit page."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from campaign.auth import access, audit, roles, services, sessions
from campaign.auth.forms import (
    AccountForm,
    ChangePasswordForm,
    InviteForm,
    LoginForm,
    SetPasswordForm,
)
from campaign.auth.services import AccountError, authenticate
from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.extensions import db, login_manager
from campaign.models import Coordinator
from campaign.tokens import InvalidToken

bp = Blueprint("auth", __name__)
bp.before_app_request(audit.start_request)
bp.before_app_request(sessions.check_session)
bp.before_app_request(access.check_access)
bp.after_app_request(audit.record_action)
bp.after_app_request(access.no_store)
login_manager.user_loader(sessions.load_coordinator)
bp.app_context_processor(
    lambda: {
        "may_open": access.may_open,
        "may_change": roles.can_change,
        "partner_limit": roles.partner_limit,
        "role_labels": roles.ROLE_LABELS,
    }
)

register_tab("auth.accounts", "Team", "team", 80)
register_tab("auth.audit_log", "Logboek", "audit", 90)

BAD_LINK = (
    "Deze link werkt niet (meer): hij werd al gebruikt, vervangen door een nieuwere, of hij "
    "is verlopen. Vraag een campagnebeheerder om je een nieuwe link te sturen."
)


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
            sessions.log_in(coordinator, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        flash("Dit e-mailadres en wachtwoord horen niet bij elkaar.", "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Logout ends every session of the account (``services.log_out``), not only this
    browser's: a copy of its cookies no longer opens anything."""
    services.log_out(current_user._get_current_object())
    logout_user()
    flash("Je bent afgemeld.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/dashboard/wachtwoord/", methods=["GET", "POST"])
@access.own_account
def change_password() -> str | Response | tuple[str, int]:
    """A coordinator's own new password; the account's other sessions end, this one
    goes on (with "Aangemeld blijven" if this browser had it)."""
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        account = current_user._get_current_object()
        remembered = sessions.is_remembered()
        try:
            services.change_password(
                account,
                form.current.data or "",
                form.password.data or "",
                form.confirmation.data or "",
            )
        except AccountError as exc:
            error = str(exc)
        else:
            sessions.log_in(account, remember=remembered)
            flash(
                "Je wachtwoord is gewijzigd. Op andere toestellen ben je nu afgemeld.",
                "success",
            )
            return redirect(url_for("dashboard.index"))
    status = 400 if error or form.errors else 200
    return render_template("auth/change_password.html", form=form, error=error), status


@bp.route("/wachtwoord/<token>", methods=["GET", "POST"])
def set_password(token: str) -> str | Response | tuple[str, int]:
    """The invited (or reset) colleague's one-time page to choose a password."""
    try:
        account = services.account_for_token(token)
    except InvalidToken:
        return render_template("auth/bad_link.html", text=BAD_LINK), 404
    form = SetPasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            services.set_password(token, form.password.data or "", form.confirmation.data or "")
        except InvalidToken:
            return render_template("auth/bad_link.html", text=BAD_LINK), 404
        except AccountError as exc:
            error = str(exc)
        else:
            logout_user()
            flash("Je wachtwoord is ingesteld. Meld je nu aan.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, account=account, error=error)


# --- the accounts ("Team") -------------------------------------------------------------


@bp.route("/dashboard/<slug>/team/", methods=["GET", "POST"])
@access.admin_only
def accounts(slug: str) -> str | Response | tuple[str, int]:
    campaign = campaign_or_404(slug)
    form = InviteForm()
    form.set_partners(list(campaign.organisers or []))
    if form.validate_on_submit():
        try:
            invited = services.invite_coordinator(campaign, form.email.data or "", form.choice())
        except AccountError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            flash(
                f"{invited.email} is uitgenodigd: de mail met de link om een wachtwoord te "
                "kiezen staat in de wachtrij.",
                "success",
            )
            return redirect(url_for("auth.accounts", slug=slug))
    status = 400 if form.errors else 200
    page = render_template(
        "auth/accounts.html", campaign=campaign, form=form, accounts=services.all_accounts()
    )
    return page, status


def _account(account_id: int) -> Coordinator:
    account = db.session.get(Coordinator, account_id)
    if account is None:
        abort(404)
    return account


@bp.route("/dashboard/<slug>/team/<int:account_id>/", methods=["GET", "POST"])
@access.admin_only
def account(slug: str, account_id: int) -> str | Response | tuple[str, int]:
    campaign = campaign_or_404(slug)
    target = _account(account_id)
    form = AccountForm(obj=target if request.method == "GET" else None)
    form.set_partners(list(campaign.organisers or []))
    if request.method == "GET":
        form.partner.data = target.partner or ""
    elif form.validate_on_submit():
        try:
            services.change_account(campaign, target, form.choice(), current_user.id)
        except AccountError as exc:
            form.role.errors = [*form.role.errors, str(exc)]
        else:
            flash(f"Het account van {target.email} is opgeslagen.", "success")
            return redirect(url_for("auth.accounts", slug=slug))
    status = 400 if form.errors else 200
    return render_template(
        "auth/account.html", campaign=campaign, form=form, account=target
    ), status


@bp.post("/dashboard/<slug>/team/<int:account_id>/actief")
@access.admin_only
def set_active(slug: str, account_id: int) -> Response:
    campaign = campaign_or_404(slug)
    target = _account(account_id)
    active = request.form.get("actief") == "1"
    try:
        services.set_active(campaign, target, active, current_user.id)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        state = "weer actief" if active else "gedeactiveerd: aanmelden kan niet meer"
        flash(f"Het account van {target.email} is {state}.", "success")
    return redirect(url_for("auth.accounts", slug=slug))


@bp.post("/dashboard/<slug>/team/<int:account_id>/wachtwoordlink")
@access.admin_only
def reset(slug: str, account_id: int) -> Response:
    campaign = campaign_or_404(slug)
    target = _account(account_id)
    if not target.is_active:
        flash("Activeer het account eerst opnieuw.", "error")
    else:
        try:
            services.send_password_link(campaign, target)
        except AccountError as exc:
            flash(str(exc), "error")
            return redirect(url_for("auth.accounts", slug=slug))
        flash(
            f"Een nieuwe link om een wachtwoord te kiezen staat in de wachtrij voor "
            f"{target.email}; een vorige link werkt niet meer.",
            "success",
        )
    return redirect(url_for("auth.accounts", slug=slug))


# --- the audit page --------------------------------------------------------------------


@bp.get("/dashboard/<slug>/logboek/")
def audit_log(slug: str) -> str:
    campaign = campaign_or_404(slug)
    args = request.args
    chosen = audit.AuditFilter(
        kind=args.get("soort", "")[:40],
        actor=args.get("wie", "")[:320],
        campaign=slug,
        page=args.get("pagina", 1, type=int) or 1,
    )
    return render_template(
        "auth/audit.html",
        campaign=campaign,
        chosen=chosen,
        page=audit.audit_page(chosen),
        kind_label=audit.kind_label,
        describe=audit.describe,
    )
