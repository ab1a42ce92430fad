"""Why a mail did not go out, in words a coordinator understands.

The outbox keeps the mail server's own reply in ``Message.last_error`` (for
example ``550 5.1.1 <a@example.org>: Recipient address rejected``); the mail
page shows that in small print under the sentence ``explain_failure`` makes of it.
The sender writes a few reasons of its own, in Dutch, and those are recognised
here too (the prefixes below are the ones ``campaign.mailing.sender`` writes).
"""

from __future__ import annotations

import re

#: The sender's prefix when it stops retrying a transient failure:
#: ``opgegeven na 27 pogingen over 48 uur: 451 4.7.1 ...``.
GIVEN_UP = re.compile(r"^(?:opgegeven )?na (\d+) pogingen(?: over ([^:]+))?: (.*)$", re.S)
#: The SMTP reply code and, when the server sends one, the enhanced status code (RFC 3463).
REPLY = re.compile(r"^([245]\d\d)[ -](?:([245])\.(\d{1,3})\.(\d{1,3})\b)?", re.S)

ADDRESS_UNKNOWN = "Het adres bestaat niet of weigert mail."
TRY_LATER = "De ontvangende server vraagt om later opnieuw te proberen."
UNREACHABLE = "De mailserver was niet bereikbaar."

#: Words in a reply that say what the enhanced code often leaves out (lower case).
_SPAM_WORDS = ("spam", "blocked", "blacklist", "blocklist", "policy", "reputation", "dmarc")
_UNKNOWN_WORDS = (
    "mailbox unavailable",
    "user unknown",
    "unknown user",
    "no such user",
    "does not exist",
    "recipient address rejected",
    "bestaat niet",
    "onbekende ontvanger",
)
_FULL_WORDS = ("mailbox full", "over quota", "quota exceeded", "insufficient storage")

#: Enhanced status codes (subject.detail) with a meaning of their own.
_ENHANCED = {
    ("1", "1"): ADDRESS_UNKNOWN,
    ("1", "0"): ADDRESS_UNKNOWN,
    ("2", "1"): ADDRESS_UNKNOWN,  # mailbox disabled
    ("1", "2"): "Het domein van het adres bestaat niet of ontvangt geen mail.",
    ("1", "3"): "Het adres is ongeldig.",
    ("2", "2"): "De mailbox van de ontvanger is vol.",
    ("3", "4"): "De mail is te groot voor de ontvangende server.",
    ("7", "1"): None,  # 5.7.1 is a refusal, 4.7.1 mostly greylisting: decided by the class
}

#: Connection-level reasons the transport writes (``classify`` in transport.py).
_CONNECTION = (
    ("verbinding verbroken", "De verbinding met de mailserver werd onderbroken."),
    ("connectionrefused", UNREACHABLE),
    ("connection refused", UNREACHABLE),
    ("no route to host", UNREACHABLE),
    ("name or service not known", UNREACHABLE),
    ("timed out", "De mailserver antwoordde niet op tijd."),
    ("timeout", "De mailserver antwoordde niet op tijd."),
    (
        "niet schrijven",
        "De mail kon niet als bestand worden bewaard (schijf vol of geen schrijfrechten).",
    ),
    ("ongeldige mail", "De mail kon niet worden opgebouwd: een adres of kopregel is ongeldig."),
)


def explain_failure(last_error: str | None) -> str:
    """One Dutch sentence saying why a mail did not go out (or not yet).

    ``last_error`` is what the outbox stored: a server reply, a connection
    error, or a reason of the sender's own; "" when there is none.
    """
    if not last_error:
        return ""
    text = last_error.strip()
    given_up = GIVEN_UP.match(text)
    if given_up:
        attempts, span, reason = given_up.groups()
        over = f" over {span.strip()}" if span else ""
        return f"{_explain_one(reason)} Opgegeven na {attempts} pogingen{over}."
    return _explain_one(text)


def _explain_one(text: str) -> str:
    lowered = text.lower()
    if lowered.startswith("niet verstuurd:"):
        rest = text.split(":", 1)[1].strip()
        return f"Niet verstuurd: {rest}." if rest else "Niet verstuurd."
    reply = REPLY.match(text)
    if reply:
        return _explain_reply(reply, lowered)
    for needle, sentence in _CONNECTION:
        if needle in lowered:
            return sentence
    return "Onbekende fout: zie het antwoord van de server hieronder."


def _explain_reply(reply: re.Match[str], lowered: str) -> str:
    code, klass, subject, detail = reply.groups()
    klass = klass or code[0]
    if code == "421":
        return "De ontvangende server is tijdelijk overbelast of onbereikbaar."
    if code in ("530", "535") or (subject, detail) == ("7", "8"):
        return "Onze mailserver weigert de aanmelding: controleer MAIL_USERNAME en MAIL_PASSWORD."
    if klass == "4":
        if any(word in lowered for word in _FULL_WORDS) or (subject, detail) == ("2", "2"):
            return "De mailbox van de ontvanger is tijdelijk vol."
        return TRY_LATER
    known = _ENHANCED.get((subject, detail)) if subject else None
    if known:
        return known
    return _explain_permanent(code, lowered)


def _explain_permanent(code: str, lowered: str) -> str:
    if "relay" in lowered:
        return (
            "Onze eigen mailserver weigert deze mail door te sturen (relay): "
            "vraag de beheerder van de mailserver om dit toe te laten."
        )
    if any(word in lowered for word in _FULL_WORDS) or code == "552":
        return "De mailbox van de ontvanger is vol."
    if any(word in lowered for word in _UNKNOWN_WORDS) or code in ("550", "551", "553"):
        if any(word in lowered for word in _SPAM_WORDS):
            return _REFUSED_AS_SPAM
        return ADDRESS_UNKNOWN
    if any(word in lowered for word in _SPAM_WORDS) or code == "554":
        return _REFUSED_AS_SPAM
    return "De ontvangende server weigert de mail."


_REFUSED_AS_SPAM = (
    "De ontvangende server weigert onze mail (als spam of door een beleidsregel); "
    "vraag de ontvanger om ons adres toe te laten."
)
