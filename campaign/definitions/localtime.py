"""Local wall-clock times (the campaign's zone, summer time included) to UTC and back.

A coordinator types "15 september 23:59" and means Brussels time on that date: the
offset is the one of that date (+02:00 in summer, +01:00 in winter), not today's.
Two hours a year need a decision:

- the hour that happens twice when summer time ends (the last Sunday of October,
  02:00-02:59 local): we take the *second* one (winter time), the later moment, so a
  close is never earlier than any reading of the time the coordinator meant;
- the hour that does not exist when summer time starts (the last Sunday of March,
  02:00-02:59 local): refused, with a message that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from campaign.formatting import format_date


class LocalTimeError(ValueError):
    """The local time cannot be used; the message is Dutch and says what to do."""


@dataclass(frozen=True)
class Converted:
    """A local time as UTC, and whether it fell in the hour that happens twice."""

    utc: datetime
    ambiguous: bool = False


def local_to_utc(local: datetime, zone: str) -> Converted:
    """The naive local ``local`` in ``zone`` as an aware UTC datetime.

    Raises ``LocalTimeError`` for a time that does not exist (the spring-forward hour).
    """
    tz = ZoneInfo(zone)
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return Converted(first.astimezone(UTC))
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise LocalTimeError(
            f"{naive:%H.%M} u bestaat niet op {format_date(naive)}: die nacht springt de klok "
            "van 02.00 naar 03.00 u (zomertijd); kies een ander uur"
        )
    return Converted(second.astimezone(UTC), ambiguous=True)


def parse_local(date_text: str, time_text: str, zone: str) -> Converted:
    """A date (``2027-09-15`` from a date input, or ``15/09/2027``) and a time
    (``23:59`` or ``23.59``) typed in ``zone``, as UTC.

    Raises ``LocalTimeError`` with a Dutch message for empty or unreadable input.
    """
    day = _parse_date(date_text.strip())
    moment = _parse_time(time_text.strip())
    return local_to_utc(datetime.combine(day, moment), zone)


def _parse_date(text: str) -> date:
    if not text:
        raise LocalTimeError("Vul een datum in.")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise LocalTimeError(f"{text!r} is geen datum; schrijf bijvoorbeeld 30/09/2027.")


def _parse_time(text: str) -> time:
    if not text:
        raise LocalTimeError("Vul een uur in.")
    for fmt in ("%H:%M", "%H.%M", "%H:%M:%S", "%Hu%M", "%Hu"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise LocalTimeError(f"{text!r} is geen uur; schrijf bijvoorbeeld 23:59.")
