"""The confirm step of a dashboard action that changes much at once (send the invitations,
send the reminder now, opt a key figure out): how many people, what will happen, and
the button.  One template (``templates/dashboard/confirm.html``) for all of them; each
capability decides what to say."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template

from campaign.models import Campaign


@dataclass
class Confirmation:
    #: The question, e.g. "23 sleutelfiguren uitnodigen?".
    title: str
    #: What the action does, one sentence per item, in the order it happens.
    consequences: list[str]
    #: Where the button posts, and its words ("Ja, 23 uitnodigingen versturen").
    action: str
    button: str
    #: Back without doing anything.
    cancel: str
    #: The tab the page belongs to.
    active: str
    intro: str = ""
    #: Fields the button sends along (e.g. the number shown, to notice a change since).
    hidden: dict[str, str | int] = field(default_factory=dict)
    #: Something changed since the page was opened (shown above the question).
    notice: str = ""
    #: Names of the people concerned (the first ones), with how many more.
    names: list[str] = field(default_factory=list)
    more: int = 0
    danger: bool = False
    #: When the action cannot be done now: why (no button then).
    refusal: str = ""


def render_confirmation(campaign: Campaign, confirmation: Confirmation) -> str:
    return render_template(
        "dashboard/confirm.html",
        campaign=campaign,
        confirm=confirmation,
        active=confirmation.active,
    )
