"""Coordinator pages for key figures: list and search, CSV upload, add, edit, opt-out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from campaign import uploads
from campaign.auth import roles
from campaign.auth.access import partner_scoped
from campaign.contacts import queries, services
from campaign.contacts.confirmations import opt_out_confirmation
from campaign.contacts.detail import key_figure_detail, resend_from_detail
from campaign.contacts.forms import KeyFigureForm, UploadForm
from campaign.contacts.services import ContactError
from campaign.contacts.template import TEMPLATE_FILENAME, template_csv
from campaign.dashboard.confirm import render_confirmation
from campaign.definitions.services import campaign_or_404
from campaign.mailing.render import MailError
from campaign.models import Campaign, KeyFigure

#: The folder of ``campaign.uploads`` where checked CSV files wait for "Nu importeren".
CSV_UPLOADS = "key-figure-csv"

bp = Blueprint("contacts", __name__, url_prefix="/dashboard/<slug>/sleutelfiguren")


@bp.before_request
@login_required
def require_login() -> None:
    """Every key-figure page needs a logged-in coordinator."""


def _key_figure(campaign: Campaign, key_figure_id: int) -> KeyFigure:
    key_figure = services.get_key_figure(campaign, key_figure_id)
    if key_figure is None:
        abort(404)
    return key_figure


def _list_filter() -> queries.ListFilter:
    args = request.args
    return queries.ListFilter(
        search=args.get("q", "").strip()[:200],
        sector=args.get("sector", ""),
        status=args.get("status", "") if args.get("status") in ("actief", "afgemeld") else "",
        page=args.get("page", 1, type=int) or 1,
        # A limited account sees its partner only; others may choose one.
        partner=roles.partner_limit() or args.get("partner", "").strip()[:200] or None,
    )


@bp.get("/")
@partner_scoped
def index(slug: str) -> str:
    campaign = campaign_or_404(slug)
    chosen = _list_filter()
    listing = queries.key_figure_listing(campaign, chosen)
    return render_template("contacts/index.html", campaign=campaign, chosen=chosen, listing=listing)


@bp.route("/importeren", methods=["GET", "POST"])
@partner_scoped
def upload(slug: str) -> str:
    campaign = campaign_or_404(slug)
    form = UploadForm()
    report = None
    kept = None
    if form.validate_on_submit():
        data = form.file.data.read()
        report = services.import_key_figures(
            campaign, data, skip_invalid=form.skip_invalid.data, dry_run=form.check.data
        )
        if report.dry_run and report.accepted:  # "Nu importeren" uses this very file
            kept = uploads.keep(CSV_UPLOADS, uploads.display_name(form.file.data.filename), data)
    return render_template(
        "contacts/upload.html", campaign=campaign, form=form, report=report, kept=kept
    )


@bp.post("/importeren/gecontroleerd")
@partner_scoped
def import_checked(slug: str) -> str | WerkzeugResponse:
    """ "Nu importeren" after "Alleen controleren": the checked file, kept on the server."""
    campaign = campaign_or_404(slug)
    kept = uploads.read(CSV_UPLOADS, request.form.get("bestand", ""))
    if kept is None:
        flash("Het gecontroleerde bestand is niet meer beschikbaar; kies het opnieuw.", "error")
        return redirect(url_for("contacts.upload", slug=slug))
    skip_invalid = request.form.get("skip_invalid") == "1"
    report = services.import_key_figures(campaign, kept.data, skip_invalid=skip_invalid)
    if report.accepted:
        uploads.forget(CSV_UPLOADS, kept.key)
    return render_template(
        "contacts/upload.html", campaign=campaign, form=UploadForm(), report=report, kept=None
    )


@bp.get("/sjabloon.csv")
@partner_scoped
def download_template(slug: str) -> Response:
    campaign = campaign_or_404(slug)
    return Response(
        template_csv(campaign),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={TEMPLATE_FILENAME}"},
    )


@bp.route("/nieuw", methods=["GET", "POST"])
@partner_scoped
def new(slug: str) -> Any:
    campaign = campaign_or_404(slug)
    form = KeyFigureForm()
    form.set_sectors(campaign.sectors)
    form.set_partners(roles.partner_choices(campaign.organisers))
    if form.validate_on_submit():
        try:
            key_figure = services.create_key_figure(campaign, **form.values())
        except ContactError as exc:
            form.show_errors(exc.errors)
        else:
            flash(f"{key_figure.name} is toegevoegd.", "success")
            return redirect(url_for("contacts.index", slug=slug))
    return render_template("contacts/edit.html", campaign=campaign, form=form, key_figure=None)


@bp.route("/<int:key_figure_id>/", methods=["GET", "POST"])
@partner_scoped
def edit(slug: str, key_figure_id: int) -> Any:
    campaign = campaign_or_404(slug)
    key_figure = _key_figure(campaign, key_figure_id)
    form = KeyFigureForm(obj=key_figure if request.method == "GET" else None)
    form.set_sectors(campaign.sectors)
    form.set_partners(roles.partner_choices(campaign.organisers))
    if request.method == "GET":
        form.sector.data = key_figure.sector.code if key_figure.sector else ""
    elif form.validate_on_submit():
        try:
            services.update_key_figure(key_figure, **form.values())
        except ContactError as exc:
            form.show_errors(exc.errors)
        else:
            flash(f"De gegevens van {key_figure.name} zijn opgeslagen.", "success")
            return redirect(url_for("contacts.index", slug=slug))
    return render_template(
        "contacts/edit.html",
        campaign=campaign,
        form=form,
        key_figure=key_figure,
        link=queries.root_link_url(key_figure),
    )


@bp.get("/<int:key_figure_id>/afmelden")
@partner_scoped
def confirm_opt_out(slug: str, key_figure_id: int) -> str:
    """The confirm step of "Afmelden": what it means for this key figure's mails."""
    campaign = campaign_or_404(slug)
    key_figure = _key_figure(campaign, key_figure_id)
    back = request.args.get("next", "")
    if not back.startswith(f"/dashboard/{slug}/"):
        back = url_for("contacts.detail", slug=slug, key_figure_id=key_figure_id)
    return render_confirmation(campaign, opt_out_confirmation(campaign, key_figure, back))


@bp.post("/<int:key_figure_id>/afmelden")
@partner_scoped
def opt_out(slug: str, key_figure_id: int) -> WerkzeugResponse:
    key_figure = _key_figure(campaign_or_404(slug), key_figure_id)
    opted_out = request.form.get("opted_out") == "1"
    services.set_opted_out(key_figure, opted_out)
    if opted_out:
        flash(f"{key_figure.name} is afgemeld en krijgt geen mails meer.", "success")
    else:
        flash(f"{key_figure.name} is weer aangemeld en kan opnieuw mails krijgen.", "success")
    target = request.form.get("next", "")
    if not target.startswith(f"/dashboard/{slug}/"):
        target = url_for("contacts.index", slug=slug)
    return redirect(target)


@bp.get("/<int:key_figure_id>/overzicht")
@partner_scoped
def detail(slug: str, key_figure_id: int) -> str:
    """One key figure: mails and their states, link, own page, counts, "opnieuw versturen"."""
    campaign = campaign_or_404(slug)
    key_figure = _key_figure(campaign, key_figure_id)
    return render_template(
        "contacts/detail.html",
        campaign=campaign,
        detail=key_figure_detail(campaign, key_figure),
    )


@bp.post("/<int:key_figure_id>/opnieuw-versturen")
@partner_scoped
def resend(slug: str, key_figure_id: int) -> WerkzeugResponse:
    campaign = campaign_or_404(slug)
    key_figure = _key_figure(campaign, key_figure_id)
    try:
        resend_from_detail(campaign, key_figure, request.form.get("mail", 0, type=int) or 0)
    except MailError as exc:
        flash(str(exc), "error")
    else:
        flash(
            f"Een nieuwe mail voor {key_figure.name} staat in de wachtrij; hij wordt op de "
            "achtergrond verstuurd.",
            "success",
        )
    return redirect(url_for("contacts.detail", slug=slug, key_figure_id=key_figure_id))
