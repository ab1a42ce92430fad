"""The confirm step of "Afmelden" on the dashboard: what opting a key figure out means."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select

from campaign.dashboard.confirm import Confirmation
from campaign.extensions import db
from campaign.formatting import plural
from campaign.models import Campaign, KeyFigure, Message, MessageStatus

WAITING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)


def waiting_mails(key_figure: KeyFigure) -> int:
    """Mails to ``key_figure`` still in the outbox (the sender skips them once opted out)."""
    query = select(func.count()).where(
        Message.key_figure_id == key_figure.id, Message.status.in_(WAITING)
    )
    return db.session.scalar(query) or 0


def opt_out_confirmation(campaign: Campaign, key_figure: KeyFigure, back: str) -> Confirmation:
    name = key_figure.name or key_figure.email
    lines = [f"{name} krijgt geen uitnodiging, herinnering of andere mail van deze campagne meer."]
    waiting = waiting_mails(key_figure)
    if waiting:
        verb = "wordt" if waiting == 1 else "worden"
        lines.append(
            f"{plural(waiting, 'mail die', 'mails die')} nog in de wachtrij "
            f"{'staat' if waiting == 1 else 'staan'}, {verb} niet meer verstuurd."
        )
    lines += [
        f"De link van {name} blijft werken: antwoorden die erlangs binnenkomen (ook via "
        "doorgestuurde links) tellen mee.",
        f"Je kan {name} later weer aanmelden.",
    ]
    return Confirmation(
        title=f"{name} afmelden?",
        consequences=lines,
        action=url_for("contacts.opt_out", slug=campaign.slug, key_figure_id=key_figure.id),
        button=f"Ja, {name} afmelden",
        cancel=back,
        active="contacts",
        hidden={"opted_out": "1", "next": back},
        danger=True,
        refusal=f"{name} is al afgemeld." if key_figure.opted_out else "",
    )
