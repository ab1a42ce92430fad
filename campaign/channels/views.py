"""Coordinator pages for channels: the list with counts, add, edit, the QR code."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for

from campaign.auth import roles
from campaign.auth.access import partner_scoped
from campaign.channels import services
from campaign.channels.forms import ChannelForm
from campaign.dashboard.navigation import register_tab
from campaign.definitions.services import campaign_or_404
from campaign.models import Campaign, Channel

bp = Blueprint("channels", __name__, url_prefix="/dashboard/<slug>/kanalen")

register_tab("channels.index", "Kanalen", "channels", 15)


def _channel(campaign: Campaign, channel_id: int) -> Channel:
    channel = services.get_channel(campaign, channel_id)
    if channel is None:
        abort(404)
    return channel


def _form(campaign: Campaign, **kwargs: Any) -> ChannelForm:
    form = ChannelForm(**kwargs)
    form.set_partners(roles.partner_choices(list(campaign.organisers or [])))
    return form


@bp.route("/", methods=["GET", "POST"])
@partner_scoped
def index(slug: str) -> Any:
    """The channels with their links and counts, and the form to add one."""
    campaign = campaign_or_404(slug)
    form = _form(campaign)
    if form.validate_on_submit():
        try:
            channel = services.create_channel(campaign, form.values())
        except services.ChannelError as exc:
            form.show_errors(exc.errors)
        else:
            flash(f"Het kanaal '{channel.name}' is aangemaakt, met een eigen link.", "success")
            return redirect(url_for("channels.index", slug=slug, _anchor=f"kanaal-{channel.id}"))
    rows = services.channel_rows(campaign, roles.partner_limit())
    page = render_template("channels/index.html", campaign=campaign, form=form, rows=rows)
    return page, 400 if form.errors else 200


@bp.route("/<int:channel_id>/", methods=["GET", "POST"])
@partner_scoped
def edit(slug: str, channel_id: int) -> Any:
    campaign = campaign_or_404(slug)
    channel = _channel(campaign, channel_id)
    form = _form(campaign, obj=channel)
    if form.validate_on_submit():
        try:
            services.update_channel(channel, form.values())
        except services.ChannelError as exc:
            form.show_errors(exc.errors)
        else:
            flash(f"Het kanaal '{channel.name}' is opgeslagen.", "success")
            return redirect(url_for("channels.index", slug=slug))
    page = render_template(
        "channels/edit.html",
        campaign=campaign,
        form=form,
        channel=channel,
        url=services.channel_url(channel),
    )
    return page, 400 if form.errors else 200


@bp.get("/<int:channel_id>/qr.<kind>")
@partner_scoped
def qr(slug: str, channel_id: int, kind: str) -> Response:
    """The channel's QR code as a file to print (PNG) or to scale (SVG)."""
    if kind not in ("png", "svg"):
        abort(404)
    channel = _channel(campaign_or_404(slug), channel_id)
    data, mimetype = services.channel_qr(channel, kind)
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="qr-code-kanaal-{channel.id}.{kind}"'
    )
    return response
