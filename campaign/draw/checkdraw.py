"""Check a prize draw of the survey tool: Python 3.8+, standard library only.

Download the draw's data (``/trekking/<slug>.json``) and this script
(``/trekking/<slug>/controle.py``) from the public draw page, then run::

    python3 controle.py trekking.json

The algorithm, in full:

1. The frozen list is every receipt taking part, sorted, one per line, each line
   ending in a newline; its hash is the SHA-256 of that text (ASCII), in hex.
2. The seed is 32 random bytes, published in hex after the draw; the commitment
   shown from the opening is the SHA-256 of those 32 bytes.
3. Each receipt's score is HMAC-SHA256 with the seed as key over
   ``<list hash>:<receipt>``.  Receipts are ranked by score (hex, ascending):
   the first ones win the prizes in prize order, the next ones are the reserves
   in order.  The list hash in the score means no one can know a receipt's place
   before the list is frozen, not even with the seed.
4. A prize not claimed in time passes to the next reserve that has not had a
   prize yet: the n-th handover goes to the n-th reserve.

The tool's own ``flask draw verify`` runs this very file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from typing import Any


def list_text(receipts: list[str]) -> str:
    """The frozen list as text: the receipts sorted, one per line."""
    return "".join(receipt + "\n" for receipt in sorted(receipts))


def list_hash(receipts: list[str]) -> str:
    return hashlib.sha256(list_text(receipts).encode("ascii")).hexdigest()


def commitment(seed: str) -> str:
    """The SHA-256 (hex) of the seed's bytes (``seed`` in hex)."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def score(seed: str, frozen_hash: str, receipt: str) -> str:
    message = (frozen_hash + ":" + receipt).encode("ascii")
    return hmac.new(bytes.fromhex(seed), message, hashlib.sha256).hexdigest()


def ranking(seed: str, receipts: list[str]) -> list[str]:
    """Every receipt of the list, best first."""
    frozen = list_hash(receipts)
    return sorted(sorted(set(receipts)), key=lambda receipt: score(seed, frozen, receipt))


def draw(seed: str, receipts: list[str], prizes: int, reserves: int) -> tuple[list[str], list[str]]:
    """(winners, reserves): the receipts winning the ``prizes`` prizes, then the reserves."""
    order = ranking(seed, receipts)
    return order[:prizes], order[prizes : prizes + reserves]


def holders(winners: list[str], reserves: list[str], handovers: list[dict[str, Any]]) -> list[str]:
    """Who holds each prize after the handovers, in order; raises ValueError for a
    handover that does not follow the rule."""
    current = list(winners)
    for number, handover in enumerate(handovers):
        prize = handover["prize"]
        if not 0 <= prize < len(current) or current[prize] != handover["from"]:
            raise ValueError(f"overdracht {number + 1}: {handover['from']} had die prijs niet")
        if number >= len(reserves) or handover["to"] != reserves[number]:
            raise ValueError(f"overdracht {number + 1}: ging niet naar de volgende reserve")
        current[prize] = handover["to"]
    return current


def check(published: dict[str, Any]) -> list[str]:
    """The differences between the published draw and a recomputation (empty: it holds)."""
    problems = []
    seed, receipts = published["seed"], published["receipts"]
    if commitment(seed) != published["commitment"]:
        problems.append("de seed past niet bij de vooraf gepubliceerde commitment")
    if list_hash(receipts) != published["receipts_hash"]:
        problems.append("de lijst van deelnamecodes past niet bij de gepubliceerde hash")
    if len(set(receipts)) != len(receipts):
        problems.append("een deelnamecode staat twee keer op de lijst")
    winners, reserves = draw(seed, receipts, published["prizes"], published["reserves_count"])
    if winners != published["winners"]:
        problems.append("de winnaars verschillen van de herberekening")
    if reserves != published["reserves"]:
        problems.append("de reserves verschillen van de herberekening")
    try:
        current = holders(winners, reserves, published.get("handovers", []))
    except ValueError as exc:
        problems.append(str(exc))
    else:
        if current != published.get("holders", current):
            problems.append("de huidige winnaars volgen niet uit de overdrachten")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("gebruik: python3 controle.py trekking.json")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        published = json.load(handle)
    problems = check(published)
    for place, receipt in enumerate(ranking(published["seed"], published["receipts"]), 1):
        print(place, receipt)
    if problems:
        print("NIET IN ORDE:", "; ".join(problems))
        return 1
    print("In orde: de trekking volgt uit de seed en de bevroren lijst.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
