"""Dutch (nl-BE) formatting of dates and numbers for templates."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
WEEKDAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]


def format_date(moment: datetime | None, with_weekday: bool = False) -> str:
    """``15 september 2027`` (optionally ``woensdag 15 september 2027``)."""
    if moment is None:
        return "—"
    text = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    return f"{WEEKDAYS[moment.weekday()]} {text}" if with_weekday else text


def format_datetime(moment: datetime | None) -> str:
    """``15 september 2027 om 23.59 u``."""
    if moment is None:
        return "—"
    return f"{format_date(moment)} om {moment.hour:02d}.{moment.minute:02d} u"


def format_number(value: int | float | None) -> str:
    """Thousands separated by a dot, decimals by a comma, as in Flemish text."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        whole, _, decimals = f"{value:,.1f}".partition(".")
        return whole.replace(",", ".") + "," + decimals
    return f"{int(value):,}".replace(",", ".")


def plural(count: int, one: str, many: str) -> str:
    """``plural(1, "mail", "mails")`` -> ``1 mail``; ``3`` -> ``3 mails``; ``1.250 mails``."""
    return f"{format_number(count)} {one if count == 1 else many}"


#: Titles written before a name, skipped when greeting someone by their first name.
TITLES = frozenset(
    {
        "dr",
        "dr.",
        "prof",
        "prof.",
        "mevr",
        "mevr.",
        "mevrouw",
        "dhr",
        "dhr.",
        "meneer",
        "mr",
        "mr.",
        "ir",
        "ir.",
    }
)


def first_name(full_name: str | None) -> str:
    """The first name in ``full_name`` for a greeting (``Beste An``): the first word that
    is not a title such as ``dr.`` or ``mevr.``; "" when there is none."""
    words = (full_name or "").split()
    named = [word for word in words if word.lower() not in TITLES]
    return (named or words or [""])[0]


#: The zone of times that belong to no campaign (the scheduler's heartbeat).
DEFAULT_ZONE = "Europe/Brussels"


def format_local_datetime(moment: datetime | None) -> str:
    """``format_datetime`` in Belgian time, for a UTC moment that belongs to no campaign."""
    if moment is None:
        return "—"
    return format_datetime(moment.astimezone(ZoneInfo(DEFAULT_ZONE)))


def register(app: Flask) -> None:
    app.add_template_filter(format_local_datetime, "local_datetime_nl")
    app.add_template_filter(format_date, "date_nl")
    app.add_template_filter(format_datetime, "datetime_nl")
    app.add_template_filter(format_number, "number_nl")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(first_name, "first_name")
