"""The rules for a coordinator's new password: long enough and not easy to guess.

"Easy to guess" is zxcvbn's estimate (Dropbox's password strength estimator): it knows
the passwords most often leaked, names, keyboard walks, dates, repeats and l33t
spellings, and is told the words of this context, which an attacker would try first:
the account's own name and address, the campaigns' names and organisers, and the words
of a Dutch-speaking office (its own lists are English).  A password it expects to fall
within 10^8 guesses (a score under 3) is refused (ASVS V6.2.4, V6.2.11).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from zxcvbn import zxcvbn

from campaign.extensions import db
from campaign.models import Campaign

MIN_LENGTH = 10
#: zxcvbn's score (0-4) a new password must reach: 3 is "safely unguessable".
MIN_SCORE = 3
#: zxcvbn looks at the first 100 characters only; longer passwords are long enough.
MAX_CHECKED = 100

#: Words of this tool and of a Flemish office that zxcvbn's English lists lack.
CONTEXT_WORDS = (
    "campagnetool",
    "campagne",
    "digiwijzer",
    "enquete",
    "enquête",
    "bevraging",
    "vragenlijst",
    "sleutelfiguur",
    "wachtwoord",
    "paswoord",
    "welkom",
    "geheim",
    "zomer",
    "winter",
    "lente",
    "herfst",
    "maandag",
    "vrijdag",
    "vlaanderen",
    "westvlaanderen",
    "belgie",
    "belgië",
    "brugge",
    "kortrijk",
    "roeselare",
    "oostende",
    "ieper",
    "azerty",
)

WORDS = re.compile(r"[^\W_]+")

TOO_SHORT = f"Het wachtwoord moet minstens {MIN_LENGTH} tekens lang zijn."
TOO_EASY = (
    "Dit wachtwoord is te makkelijk te raden: het is een veelgebruikt wachtwoord of lijkt "
    "op je naam, je e-mailadres of de campagne. Kies een langer of minder voorspelbaar "
    "wachtwoord."
)


def context_words(personal: Iterable[str] = ()) -> list[str]:
    """The words an attacker of this installation tries first: ``personal`` (an account's
    name and address), every campaign's slug, title and organisers, and ``CONTEXT_WORDS``."""
    personal = tuple(personal)
    texts = list(personal)
    for slug, title, organisers in db.session.execute(
        select(Campaign.slug, Campaign.title, Campaign.organisers)
    ):
        texts += [slug, title, *(organisers or [])]
    words = {word.lower() for text in texts for word in WORDS.findall(text) if len(word) > 2}
    # Whole too, and without spaces: zxcvbn matches an input only as a whole
    # ("jan.peeters@example.org1", "JanPeeters2026").
    words |= {text.strip().lower() for text in personal if text.strip()}
    words |= {"".join(WORDS.findall(text)).lower() for text in texts if text.strip()}
    return sorted(words | set(CONTEXT_WORDS))


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Why ``password`` may not be a new password (a Dutch sentence), or None."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) >= MAX_CHECKED:
        return None
    if zxcvbn(password, user_inputs=context_words(personal))["score"] < MIN_SCORE:
        return TOO_EASY
    return None
