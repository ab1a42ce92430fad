"""Rendering the mail templates of ``emails/`` (one ``.txt`` + ``.html`` pair per kind).

Mail templates have their own Jinja environment: HTML is autoescaped, text is
not, and an undefined variable is an error rather than a silent blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from campaign import ROOT, formatting
from campaign.models import Campaign

EMAILS_DIR = ROOT / "emails"

#: Kinds of mail with a template pair in emails/.
KINDS = ("invitation", "reminder", "winner", "test", "account")

#: Minutes the questionnaire takes, as promised in the invitation.
SURVEY_MINUTES = 20

NUMBER_WORDS = {2: "twee", 3: "drie", 4: "vier", 5: "vijf", 6: "zes"}

#: Subjects used when the campaign file gives none for a kind.
DEFAULT_SUBJECTS = {
    "invitation": "Help je mee met de bevraging '{title}'?",
    "reminder": "Nog tot {close_date}: vul de bevraging '{title}' in",
    "winner": "Proficiat, je hebt gewonnen!",
    "account": "Je account voor de campagne '{title}'",
}

#: The placeholders a subject in the campaign file may use, each filled from the mail's
#: context (the same values the body shows, e.g. the close date as the database has it).
SUBJECT_PLACEHOLDERS = ("title", "close_date", "name", "organisation")
#: The context key each subject placeholder is filled from.
_PLACEHOLDER_KEYS = {
    "title": "campaign_title",
    "close_date": "close_date",
    "name": "name",
    "organisation": "organisation",
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(SUBJECT_PLACEHOLDERS) + r")\}")

#: Line breaks and other control characters (also Unicode line and paragraph separators):
#: never allowed in a header value, so a name cannot start a header of its own.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPACES = re.compile(r"\s{2,}")


class MailError(ValueError):
    """A mail cannot be rendered or queued as asked; the message is Dutch."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def one_line(value: str | None) -> str:
    """``value`` with every line break and control character folded into one space."""
    if not value:
        return ""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def format_address(name: str | None, email: str) -> str:
    """``"Name" <email>`` for a header; the name cannot break out of the header."""
    email = one_line(email)
    if "\n" in email or "\r" in email or "@" not in email:
        raise MailError(f"Ongeldig e-mailadres: {email!r}")
    username, _, domain = email.rpartition("@")
    return str(Address(display_name=one_line(name), username=username, domain=domain))


def join_names(names: list[str]) -> str:
    """``A, B en C`` in Dutch."""
    names = [one_line(name) for name in names if one_line(name)]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " en " + names[-1]


@lru_cache(maxsize=1)
def mail_environment() -> Environment:
    env = Environment(
        auto_reload=False,  # templates are read once per process: no stat() per mail
        loader=FileSystemLoader(str(EMAILS_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date_nl"] = formatting.format_date
    env.filters["number_nl"] = formatting.format_number
    env.filters["plural"] = formatting.plural
    return env


def subject_for(campaign: Campaign, kind: str) -> str:
    """The campaign's subject template for ``kind`` (one line), or a Dutch default.

    Its placeholders (``SUBJECT_PLACEHOLDERS``, e.g. ``{close_date}``) are still in it:
    ``render_mail`` fills them per message from the same context the body uses.
    """
    subjects = (campaign.mail_settings or {}).get("subjects") or {}
    return one_line(subjects.get(kind) or DEFAULT_SUBJECTS.get(kind, campaign.title))


def fill_subject(subject: str, context: dict[str, Any]) -> str:
    """``subject`` with each placeholder of ``SUBJECT_PLACEHOLDERS`` replaced by its value
    in ``context``, in one pass (a value that itself looks like a placeholder stays as it
    is); other braces are left alone.  Raises ``MailError`` when the mail has no value
    for a placeholder the subject uses.
    """

    def value(match: re.Match[str]) -> str:
        key = _PLACEHOLDER_KEYS[match.group(1)]
        if context.get(key) is None:
            raise MailError(
                f"Het onderwerp {subject!r} gebruikt {match.group(0)}, maar deze mail heeft "
                "daar geen waarde voor."
            )
        return str(context[key])

    return one_line(_PLACEHOLDER.sub(value, subject))


def sender_for(campaign: Campaign, default_sender: str | None) -> str:
    """The From header: the campaign's sender, else ``MAIL_DEFAULT_SENDER``."""
    settings = campaign.mail_settings or {}
    if settings.get("sender_email"):
        return format_address(settings.get("sender_name"), settings["sender_email"])
    if default_sender:
        return one_line(default_sender)
    raise MailError(
        "Er is geen afzender ingesteld: vul mail.sender_email in het campagnebestand in "
        "of zet MAIL_DEFAULT_SENDER."
    )


def _lower_first(name: str) -> str:
    """``Hartige box`` -> ``hartige box``; acronyms (``VDAB-pakket``) stay as they are."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def prize_phrase(campaign: Campaign) -> str:
    """What a respondent can win, to follow "maak je kans op": '' when there are no prizes."""
    names = [one_line(p.get("name")) for p in (campaign.prizes or []) if p.get("name")]
    if not names:
        return ""
    if len(names) == 1:
        return "een " + _lower_first(names[0])
    count = NUMBER_WORDS.get(len(names), str(len(names)))
    if len(set(names)) == 1:
        return f"een van de {count} prijzen: een {_lower_first(names[0])}"
    return f"een van de {count} prijzen: " + join_names([_lower_first(n) for n in names])


def intro_paragraphs(campaign: Campaign, limit: int = 2) -> list[str]:
    """The first paragraphs of the campaign's welcome text: why the survey exists."""
    paragraphs = [" ".join(p.split()) for p in (campaign.intro or "").split("\n\n")]
    return [p for p in paragraphs if p][:limit]


def campaign_context(campaign: Campaign) -> dict[str, Any]:
    """What every mail of ``campaign`` may use, computed once per batch."""
    return {
        "campaign_title": campaign.title,
        "organisers": join_names(list(campaign.organisers or [])),
        "close_date": formatting.format_date(campaign.local(campaign.effective_close)),
        "prize_phrase": prize_phrase(campaign),
        "intro_paragraphs": intro_paragraphs(campaign),
        "minutes": SURVEY_MINUTES,
    }


def render_forward_text(context: dict[str, Any]) -> str:
    """The ready-to-forward paragraph (plain text) for a key figure's link."""
    return mail_environment().get_template("_forward.txt").render(context).strip()


def render_mail(kind: str, subject: str, context: dict[str, Any]) -> RenderedMail:
    """Render ``emails/<kind>.txt`` and ``.html`` with ``context``; ``subject`` may hold
    placeholders (see ``fill_subject``), filled from ``context`` for this one mail."""
    if kind not in KINDS:
        raise MailError(f"Onbekend soort mail: {kind!r}")
    env = mail_environment()
    subject = fill_subject(subject, context)
    context = {**context, "subject": subject}
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    return RenderedMail(subject=subject, text=text, html=html)
