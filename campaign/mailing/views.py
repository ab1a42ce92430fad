"""Mail pages: the outbox in the dashboard, a key figure's own page, unsubscribe.

``/k/<token>`` and ``/u/<token>`` are public (the signed token is the key);
everything under ``/dashboard/<slug>/mails/`` needs a logged-in coordinator.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.errors import render_error
from campaign.extensions import csrf
from campaign.mailing import queries, services
from campaign.mailing.render import KINDS, MailError
from campaign.mailing.sender import SendReport
from campaign.tokens import UNSUBSCRIBE, InvalidToken

bp = Blueprint("mailing", __name__)

register_tab("mailing.outbox", "Mails", "mailing", 20)

KIND_LABELS = {
    "invitation": "Uitnodiging",
    "reminder": "Herinnering",
    "winner": "Winnaar",
    "test": "Testmail",
}
STATUS_LABELS = {
    "queued": "In de wachtrij",
    "sending": "Bezig",
    "sent": "Verstuurd",
    "failed": "Mislukt",
    "cancelled": "Geannuleerd",
}
BAD_TOKEN = (
    "Deze link is ongeldig of verlopen. Controleer of je de volledige link uit je mail "
    "gebruikte, of vraag de organisatoren om een nieuwe."
)


@bp.app_context_processor
def mail_labels() -> dict:
    return {"kind_label": KIND_LABELS.get, "status_label": STATUS_LABELS.get}


def report_flashes(report: SendReport) -> None:
    """Flash the result of a send run in Dutch."""
    if report.server_error:
        flash(
            "De mailserver is niet bereikbaar; er ging niets verloren, de mails blijven in "
            f"de wachtrij. ({report.server_error})",
            "error",
        )
    if report.sent or report.ok:
        flash(f"{report.sent} mail(s) verstuurd.", "success")
    if report.failed:
        flash(f"{report.failed} mail(s) mislukt: zie de lijst hieronder.", "error")
    if report.cancelled:
        flash(f"{report.cancelled} mail(s) niet verstuurd: de ontvanger meldde zich af.", "info")
    if report.deferred and not report.server_error:
        flash(f"{report.deferred} mail(s) wachten op een nieuwe poging.", "warning")


# --- dashboard ----------------------------------------------------------------------------


@bp.get("/dashboard/<slug>/mails/")
@login_required
def outbox(slug: str) -> str:
    campaign = campaign_or_404(slug)
    return render_template(
        "mailing/outbox.html", campaign=campaign, **queries.outbox_overview(campaign)
    )


@bp.post("/dashboard/<slug>/mails/uitnodigen")
@login_required
def invite(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    try:
        outcome = services.invite_and_send(campaign)
    except MailError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mailing.outbox", slug=slug))
    queued = outcome.queue
    if queued.queued:
        flash(f"{queued.queued} uitnodiging(en) in de wachtrij gezet.", "info")
    else:
        flash("Iedereen is al uitgenodigd: er werd geen nieuwe uitnodiging aangemaakt.", "info")
    report_flashes(outcome.send)
    return redirect(url_for("mailing.outbox", slug=slug))


@bp.post("/dashboard/<slug>/mails/versturen")
@login_required
def send(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    report_flashes(services.send_campaign_outbox(campaign))
    return redirect(url_for("mailing.outbox", slug=slug))


@bp.post("/dashboard/<slug>/mails/test")
@login_required
def test_mail(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    key_figure_id = request.form.get("sleutelfiguur", type=int)
    try:
        outcome = services.send_test_mail(campaign, key_figure_id or 0, current_user.email)
    except MailError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mailing.outbox", slug=slug))
    if outcome.send.sent:
        flash(f"Testmail verstuurd naar {current_user.email}.", "success")
    else:
        report_flashes(outcome.send)
    return redirect(url_for("mailing.outbox", slug=slug))


@bp.get("/dashboard/<slug>/mails/voorbeeld")
@login_required
def preview(slug: str) -> str | tuple[str, int]:
    campaign = campaign_or_404(slug)
    kind = request.args.get("soort", "invitation")
    if kind not in KINDS or kind == "test":
        kind = "invitation"
    try:
        mail, key_figure = services.preview_for(
            campaign, kind, request.args.get("sleutelfiguur", type=int)
        )
    except MailError as exc:
        return render_error(404, str(exc))
    return render_template(
        "mailing/preview.html",
        campaign=campaign,
        kind=kind,
        mail=mail,
        key_figure=key_figure,
        key_figures=queries.key_figure_choices(campaign),
        kinds=[k for k in KINDS if k != "test"],
    )


@bp.get("/dashboard/<slug>/mails/bestanden/<name>")
@login_required
def outbox_file(slug: str, name: str) -> str:
    campaign = campaign_or_404(slug)
    found = queries.read_outbox_file(campaign, name)
    if found is None:
        abort(404)
    message, text, html = found
    return render_template(
        "mailing/file.html", campaign=campaign, name=name, message=message, text=text, html=html
    )


# --- public: a key figure's own page and unsubscribe ----------------------------------------


@bp.get("/k/<token>")
def key_figure(token: str) -> str | tuple[str, int]:
    try:
        page = services.key_figure_page(token)
    except InvalidToken:
        return render_template("mailing/invalid_link.html", text=BAD_TOKEN), 404
    return render_template("keyfigure/page.html", page=page, token=token)


@bp.get("/k/<token>/qr.<kind>")
def key_figure_qr(token: str, kind: str) -> Response | tuple[str, int]:
    if kind not in ("png", "svg"):
        abort(404)
    try:
        data, mimetype = services.key_figure_qr(token, kind)
    except InvalidToken:
        return render_template("mailing/invalid_link.html", text=BAD_TOKEN), 404
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="qr-code-enquete.{kind}"'
    return response


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: a mail client's one-click POST carries no CSRF token; the signed token is the key
def unsubscribe(token: str) -> str | tuple[str, int]:
    try:
        if request.method == "POST":
            subscribed = request.form.get("action") == "opnieuw"
            key_figure = services.set_subscription(token, subscribed)
        else:
            key_figure = services.key_figure_from_token(UNSUBSCRIBE, token)
    except InvalidToken:
        return render_template("mailing/invalid_link.html", text=BAD_TOKEN), 404
    return render_template(
        "unsubscribe/page.html",
        key_figure=key_figure,
        token=token,
        done=request.method == "POST",
    )
