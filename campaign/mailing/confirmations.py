"""The words of the mail page's confirm steps: how many people, and what will happen."""

from __future__ import annotations

from flask import url_for

from campaign.dashboard.confirm import Confirmation
from campaign.formatting import format_datetime, plural
from campaign.mailing.queries import InvitationPlan, invitation_plan
from campaign.models import Campaign

#: Names listed on the confirm step before "en N anderen".
SHOWN_NAMES = 20


def _people(count: int) -> str:
    return plural(count, "sleutelfiguur", "sleutelfiguren")


def _invitation_consequences(plan: InvitationPlan) -> list[str]:
    count = len(plan.key_figures)
    verb = "krijgt" if count == 1 else "krijgen"
    lines = [
        f"{_people(count)} {verb} een persoonlijke uitnodiging met een eigen link om door te "
        f"sturen, van {plan.sender}"
        + (f", met als onderwerp '{plan.subject}'." if plan.subject else "."),
        "De mails gaan op de achtergrond de deur uit; op de pagina Mails volg je hoe dat "
        "loopt. Een verstuurde mail kan niet teruggehaald worden.",
    ]
    skipped = []
    if plan.already:
        verb = "kreeg" if plan.already == 1 else "kregen"
        skipped.append(f"{_people(plan.already)} die er al een {verb}")
    if plan.opted_out:
        verb = "afmeldde" if plan.opted_out == 1 else "afmeldden"
        skipped.append(f"{_people(plan.opted_out)} die zich {verb}")
    if skipped:
        lines.append(f"Geen uitnodiging voor {' en '.join(skipped)}.")
    if plan.opens_at is not None:
        lines.append(
            f"De bevraging opent pas op {format_datetime(plan.opens_at)}: wie de link eerder "
            "opent, leest dat ze nog niet open is."
        )
    return lines


def invitation_confirmation(campaign: Campaign, notice: str = "") -> Confirmation:
    """The confirm step of "Uitnodigingen versturen"."""
    plan = invitation_plan(campaign)
    count = len(plan.key_figures)
    nobody = (
        "Er is niemand om uit te nodigen: iedereen die zich niet afmeldde, kreeg al een "
        "uitnodiging."
    )
    return Confirmation(
        title=f"{_people(count)} uitnodigen?",
        consequences=_invitation_consequences(plan),
        action=url_for("mailing.invite", slug=campaign.slug),
        button=f"Ja, {plural(count, 'uitnodiging', 'uitnodigingen')} versturen",
        cancel=url_for("mailing.outbox", slug=campaign.slug, _anchor="uitnodigen"),
        active="mailing",
        hidden={"aantal": count},
        notice=notice,
        names=[kf.name or kf.email for kf in plan.key_figures[:SHOWN_NAMES]],
        more=max(count - SHOWN_NAMES, 0),
        refusal=plan.refusal or ("" if count else nobody),
    )
