"""What the draw publishes (``/trekking/<slug>`` and its JSON), and its verification.

``published(campaign, draw)`` is everything anyone may see, without a single
address: before the draw the commitment (and, once frozen, the list and its
hash), afterwards also the seed, winners, reserves and handovers.
``verify_draw`` runs ``checkdraw.check`` (the script the public page offers) on
exactly that, and adds what only the database can tell: that the frozen list
is still the list of entries (until they are erased) and that the commitment
shown on the survey's pages is the draw's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.draw import checkdraw
from campaign.draw.prizes import handovers
from campaign.draw.services import eligibility, entries_of
from campaign.draw.settings import settings_of
from campaign.models import Campaign, Draw

#: The script offered for download: the very module ``verify_draw`` runs.
SCRIPT_PATH = Path(checkdraw.__file__)


def script_text() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def published(campaign: Campaign, draw: Draw) -> dict[str, Any]:
    """The draw's public data, as the JSON download and the check script take it."""
    data: dict[str, Any] = {
        "campaign": campaign.slug,
        "commitment": draw.commitment,
        "prizes": len(campaign.prizes or []),
        "reserves_count": settings_of(campaign).reserves,
        "frozen_at": draw.frozen_at.isoformat() if draw.frozen_at else None,
    }
    if draw.frozen_at is not None:
        data.update(
            receipts=list(draw.receipts),
            receipts_hash=draw.receipts_hash,
            excluded=list(draw.excluded),
        )
    if draw.performed_at is not None:
        data.update(
            performed_at=draw.performed_at.isoformat(),
            seed=draw.seed,
            winners=list(draw.winners),
            reserves=list(draw.reserves),
            handovers=[
                {"prize": step["prize"], "from": step["from"], "to": step["to"], "at": step["at"]}
                for step in handovers(draw)
            ],
            holders=[award["receipt"] for award in draw.awards],
            redraws=[
                {key: item.get(key) for key in ("performed_at", "reason", "winners")}
                for item in draw.rounds
            ],
        )
    if draw.purged_at is not None:
        data["addresses_erased_at"] = draw.purged_at.isoformat()
    return data


def verify_draw(campaign: Campaign, draw: Draw) -> list[str]:
    """Every difference found (Dutch); an empty list: the draw holds."""
    if draw.performed_at is None:
        return ["de trekking is nog niet gebeurd"]
    problems = checkdraw.check(published(campaign, draw))
    if campaign.draw_commitment != draw.commitment:
        problems.append("de commitment op de vragenlijst is niet die van de trekking")
    if draw.purged_at is None:
        current = eligibility(entries_of(campaign), settings_of(campaign))
        if current.receipts != list(draw.receipts):
            problems.append(
                "de deelnames in de databank verschillen van de bevroren lijst (gewijzigde "
                "uitsluitingen in het campagnebestand vragen een nieuwe trekking)"
            )
    return problems
