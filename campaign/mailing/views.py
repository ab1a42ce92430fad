"""Mail pages: the outbox in the dashboard, a key figure's own page, unsubscribe.

``/k/<token>`` and ``/u/<token>`` are public (the signed token is the key);
everything under ``/dashboard/<slug>/mails/`` needs a logged-in coordinator.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from campaign.dashboard.confirm import render_confirmation
from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.errors import render_error
from campaign.extensions import csrf
from campaign.formatting import plural
from campaign.mailing import queries, resend, services
from campaign.mailing.confirmations import invitation_confirmation
from campaign.mailing.render import KINDS, MailError
from campaign.tokens import UNSUBSCRIBE, InvalidToken

bp = Blueprint("mailing", __name__)

register_tab("mailing.outbox", "Mails", "mailing", 20)

KIND_LABELS = {
    "invitation": "Uitnodiging",
    "reminder": "Herinnering",
    "winner": "Winnaar",
    "test": "Testmail",
    "resume": "Link om verder te gaan",
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
    return {
        "kind_label": KIND_LABELS.get,
        "status_label": STATUS_LABELS.get,
        "state_filters": queries.STATE_FILTERS,
    }


IN_BACKGROUND = "Het versturen gebeurt op de achtergrond; de lijst hieronder volgt mee."


# --- dashboard ----------------------------------------------------------------------------


@bp.get("/dashboard/<slug>/mails/")
@login_required
def outbox(slug: str) -> str:
    campaign = campaign_or_404(slug)
    chosen = queries.ListFilter.parse(request.args)
    return render_template(
        "mailing/outbox.html", campaign=campaign, **queries.outbox_overview(campaign, chosen)
    )


@bp.get("/dashboard/<slug>/mails/status.json")
@login_required
def outbox_status(slug: str) -> Response:
    """The mail page's counters, polled by the page while mails are going out."""
    return jsonify(queries.outbox_progress(campaign_or_404(slug)))


def _back_to_list(slug: str) -> BaseResponse:
    """The mail page with the list as the form was sent from (state, search, page)."""
    chosen = queries.ListFilter.parse(request.form)
    return redirect(
        url_for(
            "mailing.outbox",
            slug=slug,
            status=chosen.state or None,
            q=chosen.search or None,
            page=chosen.page if chosen.page > 1 else None,
            _anchor="mails-per-ontvanger",
        )
    )


@bp.post("/dashboard/<slug>/mails/<int:message_id>/opnieuw-proberen")
@login_required
def retry_one(slug: str, message_id: int) -> BaseResponse:
    try:
        resend.retry_message(campaign_or_404(slug), message_id)
    except MailError as exc:
        flash(str(exc), "error")
    else:
        flash(f"De mail wordt opnieuw geprobeerd. {IN_BACKGROUND}", "success")
    return _back_to_list(slug)


@bp.post("/dashboard/<slug>/mails/opnieuw-proberen")
@login_required
def retry_failed(slug: str) -> BaseResponse:
    result = resend.retry_all_failed(campaign_or_404(slug))
    if result.retried:
        count = plural(result.retried, "mislukte mail", "mislukte mails")
        verb = "wordt" if result.retried == 1 else "worden"
        flash(f"{count} {verb} opnieuw geprobeerd. {IN_BACKGROUND}", "success")
    if result.refused:
        count = plural(result.refused, "mislukte mail", "mislukte mails")
        flash(
            f"{count} niet opnieuw geprobeerd (afgemeld, gewist of de bevraging is afgesloten).",
            "info",
        )
    if not (result.retried or result.refused):
        flash("Er zijn geen mislukte mails om opnieuw te proberen.", "info")
    return _back_to_list(slug)


@bp.post("/dashboard/<slug>/mails/<int:message_id>/opnieuw-versturen")
@login_required
def resend_one(slug: str, message_id: int) -> BaseResponse:
    try:
        resend.resend_to_key_figure(campaign_or_404(slug), message_id)
    except MailError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Een nieuwe mail staat in de wachtrij. {IN_BACKGROUND}", "success")
    return _back_to_list(slug)


@bp.get("/dashboard/<slug>/mails/uitnodigen")
@login_required
def confirm_invite(slug: str) -> str:
    """The confirm step of "Uitnodigingen versturen": how many, and what happens."""
    campaign = campaign_or_404(slug)
    return render_confirmation(campaign, invitation_confirmation(campaign))


@bp.post("/dashboard/<slug>/mails/uitnodigen")
@login_required
def invite(slug: str) -> BaseResponse | tuple[str, int]:
    campaign = campaign_or_404(slug)
    shown = request.form.get("aantal", type=int)
    if shown is not None and shown != queries.count_uninvited(campaign):
        notice = (
            "Het aantal sleutelfiguren zonder uitnodiging veranderde sinds je deze pagina "
            "opende (een import of een collega). Kijk het opnieuw na."
        )
        return render_confirmation(campaign, invitation_confirmation(campaign, notice)), 409
    try:
        queued = services.queue_invitations(campaign)
    except MailError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mailing.outbox", slug=slug))
    if queued.queued:
        count = plural(queued.queued, "uitnodiging", "uitnodigingen")
        flash(f"{count} in de wachtrij gezet. {IN_BACKGROUND}", "success")
    else:
        flash("Iedereen is al uitgenodigd: er werd geen nieuwe uitnodiging aangemaakt.", "info")
    return redirect(url_for("mailing.outbox", slug=slug))


@bp.post("/dashboard/<slug>/mails/versturen")
@login_required
def send(slug: str) -> BaseResponse:
    queued = services.retry_now(campaign_or_404(slug))
    if queued:
        verb = "wordt" if queued == 1 else "worden"
        flash(
            f"{plural(queued, 'mail', 'mails')} {verb} nu opnieuw geprobeerd. {IN_BACKGROUND}",
            "info",
        )
    else:
        flash("Er staan geen mails in de wachtrij.", "info")
    return redirect(url_for("mailing.outbox", slug=slug))


@bp.post("/dashboard/<slug>/mails/test")
@login_required
def test_mail(slug: str) -> BaseResponse:
    campaign = campaign_or_404(slug)
    key_figure_id = request.form.get("sleutelfiguur", type=int)
    try:
        services.queue_test_mail_for(campaign, key_figure_id or 0, current_user.email)
    except MailError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mailing.outbox", slug=slug))
    flash(
        f"Testmail naar {current_user.email} in de wachtrij gezet; "
        "hij wordt op de achtergrond verstuurd.",
        "success",
    )
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
        "mailing/file.html",
        campaign=campaign,
        name=name,
        message=message,
        sent_at=queries.header_date(campaign, message["Date"]),
        text=text,
        html=html,
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
