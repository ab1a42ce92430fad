"""The draw's algorithm as a pure function (no database): determinism, tamper evidence,
fairness over many seeds, the handover rule, and the public script on its own."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from campaign.draw import checkdraw

RECEIPTS = [f"AB{n:02d}-CDEF" for n in range(10)]
SEED = "11" * 32


def published(seed: str = SEED, receipts: list[str] = RECEIPTS) -> dict:
    winners, reserves = checkdraw.draw(seed, receipts, 2, 3)
    return {
        "commitment": checkdraw.commitment(seed),
        "receipts_hash": checkdraw.list_hash(receipts),
        "receipts": sorted(receipts),
        "seed": seed,
        "prizes": 2,
        "reserves_count": 3,
        "winners": winners,
        "reserves": reserves,
        "handovers": [],
        "holders": winners,
    }


def test_the_same_seed_and_entries_always_give_the_same_winners():
    first = checkdraw.draw(SEED, RECEIPTS, 2, 3)
    assert checkdraw.draw(SEED, list(reversed(RECEIPTS)), 2, 3) == first
    assert checkdraw.draw(SEED, RECEIPTS, 2, 3) == first
    winners, reserves = first
    assert len(winners) == 2 and len(reserves) == 3 and not set(winners) & set(reserves)
    assert checkdraw.check(published()) == []


def test_another_seed_gives_another_order():
    assert checkdraw.ranking(SEED, RECEIPTS) != checkdraw.ranking("22" * 32, RECEIPTS)


def test_the_list_hash_is_of_the_sorted_receipts_one_per_line():
    text = "AB00-CDEF\nAB01-CDEF\n"
    assert checkdraw.list_text(["AB01-CDEF", "AB00-CDEF"]) == text
    assert (
        checkdraw.list_hash(["AB01-CDEF", "AB00-CDEF"]) == hashlib.sha256(text.encode()).hexdigest()
    )


def test_a_changed_list_seed_or_winner_fails_the_check():
    added = published()
    added["receipts"] = sorted([*RECEIPTS, "ZZ99-ZZZZ"])
    assert "de lijst van deelnamecodes past niet bij de gepubliceerde hash" in checkdraw.check(
        added
    )

    # A list changed with its hash recomputed: the ranking changes with it.
    rehashed = dict(added, receipts_hash=checkdraw.list_hash(added["receipts"]))
    assert "de winnaars verschillen van de herberekening" in checkdraw.check(rehashed)

    other_seed = dict(published(), seed="22" * 32)
    assert "de seed past niet bij de vooraf gepubliceerde commitment" in checkdraw.check(other_seed)

    swapped = published()
    swapped["winners"] = [swapped["reserves"][0], swapped["winners"][1]]
    assert "de winnaars verschillen van de herberekening" in checkdraw.check(swapped)


def test_a_handover_must_go_to_the_next_reserve():
    data = published()
    first, second = data["reserves"][:2]
    good = {"prize": 1, "from": data["winners"][1], "to": first}
    data.update(handovers=[good], holders=[data["winners"][0], first])
    assert checkdraw.check(data) == []
    skipped = dict(data, handovers=[dict(good, to=second)], holders=[data["winners"][0], second])
    assert "overdracht 1: ging niet naar de volgende reserve" in checkdraw.check(skipped)
    wrong_holder = dict(data, holders=[data["winners"][0], data["winners"][1]])
    assert "de huidige winnaars volgen niet uit de overdrachten" in checkdraw.check(wrong_holder)


def test_every_entry_has_the_same_chance_over_many_seeds():
    """Chi-square over 3,000 seeds (deterministic, so never flaky): for one prize among ten
    receipts, and for the second place too, each receipt's wins are uniform."""
    seeds = [hashlib.sha256(f"seed {n}".encode()).hexdigest() for n in range(3000)]
    first, second = Counter(), Counter()
    for seed in seeds:
        order = checkdraw.ranking(seed, RECEIPTS)
        first[order[0]] += 1
        second[order[1]] += 1
    expected = len(seeds) / len(RECEIPTS)
    for counts in (first, second):
        chi_square = sum((counts[r] - expected) ** 2 / expected for r in RECEIPTS)
        assert chi_square < 27.88, (chi_square, counts)  # df = 9, p = 0.001


def test_a_biased_ranking_fails_the_fairness_test():
    """The test above can fail: a ranking that favours the first receipt half the time."""
    seeds = [hashlib.sha256(f"seed {n}".encode()).hexdigest() for n in range(3000)]
    counts = Counter()
    for number, seed in enumerate(seeds):
        order = checkdraw.ranking(seed, RECEIPTS)
        counts[RECEIPTS[0] if number % 2 else order[0]] += 1
    expected = len(seeds) / len(RECEIPTS)
    assert sum((counts[r] - expected) ** 2 / expected for r in RECEIPTS) > 27.88


def test_the_public_script_runs_on_the_standard_library_alone(tmp_path: Path):
    data = tmp_path / "trekking.json"
    data.write_text(json.dumps(published()), encoding="utf-8")
    script = Path(checkdraw.__file__)
    # -I -S: no site-packages, no user site, no environment: the standard library only.
    ok = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(data)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "In orde" in ok.stdout
    tampered = published()
    tampered["winners"] = list(reversed(tampered["winners"]))
    data.write_text(json.dumps(tampered), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(data)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "NIET IN ORDE" in bad.stdout
