"""The dashboard's page of one key figure: their mails, their link, their counts.

The counts come from ``campaign.attribution`` (who gets credit), the mails'
states from the mail page's own wording (``mailing.queries``), "opnieuw
versturen" from ``mailing.resend``: this module only puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaign import attribution
from campaign.contacts.queries import root_link_url
from campaign.mailing.queries import MessageLine, key_figure_mail_lines
from campaign.mailing.render import MailError
from campaign.mailing.resend import resend_to_key_figure
from campaign.mailing.services import key_figure_page_url
from campaign.models import Campaign, KeyFigure, Message

#: The kinds of mail "opnieuw versturen" can send on this page, in the page's order.
RESENDABLE = ("invitation", "reminder")


@dataclass(frozen=True)
class Resend:
    """An "opnieuw versturen" button: the latest mail of ``kind`` is sent again."""

    kind: str
    message_id: int


@dataclass(frozen=True)
class KeyFigureDetail:
    key_figure: KeyFigure
    #: The survey link to forward (``/s/<code>``), None before the key figure has one.
    link_url: str | None
    #: The key figure's own page (``/k/<token>``), with their counts and QR code.
    page_url: str
    counts: attribution.KeyFigureCounts
    mails: list[MessageLine]
    resends: list[Resend]
    #: Why no mail can be sent again, when none can (opted out, survey closed).
    resend_refusal: str | None


def key_figure_detail(
    campaign: Campaign, key_figure: KeyFigure, now: datetime | None = None
) -> KeyFigureDetail:
    lines = key_figure_mail_lines(campaign, key_figure, now)
    resends, refusal = _resends(lines)
    return KeyFigureDetail(
        key_figure=key_figure,
        link_url=root_link_url(key_figure),
        page_url=key_figure_page_url(key_figure),
        counts=attribution.key_figure_counts(key_figure),
        mails=[line for _message, line in lines],
        resends=resends,
        resend_refusal=refusal,
    )


def _resends(lines: list[tuple[Message, MessageLine]]) -> tuple[list[Resend], str | None]:
    """One button per kind: the newest mail of that kind that is not waiting and may be
    sent again (``resend_refusal`` of the mail page)."""
    resends = []
    refusal = None
    for kind in RESENDABLE:
        newest = next((line for message, line in lines if message.kind == kind), None)
        if newest is None or newest.state in ("queued", "deferred", "sending"):
            continue
        if newest.resend_refusal is None:
            resends.append(Resend(kind, newest.id))
        else:
            refusal = newest.resend_refusal
    return resends, refusal


def resend_from_detail(campaign: Campaign, key_figure: KeyFigure, message_id: int) -> int:
    """ "Opnieuw versturen" of one of this key figure's mails; the new round.

    Raises ``MailError`` when the mail is not this key figure's, or cannot be sent again.
    """
    ids = {line.id for _message, line in key_figure_mail_lines(campaign, key_figure)}
    if message_id not in ids:
        raise MailError("Deze mail hoort niet bij deze sleutelfiguur.")
    return resend_to_key_figure(campaign, message_id)
