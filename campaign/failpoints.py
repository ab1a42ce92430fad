"""Named points where a crash test can kill the process, to prove what a crash loses.

``CAMPAIGN_FAILPOINTS`` holds a comma-separated list of ``name:N``: the process
kills itself with SIGKILL (no clean-up, no ``finally``, like a power cut or the
OOM killer) the N-th time it reaches the point ``name``.  Without that variable
a point costs one dict lookup.  The list is read once, when this module is
imported, so it belongs to the process it was started with.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV_VAR = "CAMPAIGN_FAILPOINTS"


def parse_plan(spec: str) -> dict[str, int]:
    """``"after_250:3,before_record:1"`` -> ``{"after_250": 3, "before_record": 1}``.

    Raises ``ValueError`` for an entry that is not ``name:N`` with N >= 1: a typo
    must not silently turn a crash test into a test of nothing.
    """
    plan: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = entry.partition(":")
        if not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{ENV_VAR}: expected name:N, got {entry!r}")
        plan[name] = int(count)
    return plan


_plan: dict[str, int] = parse_plan(os.environ.get(ENV_VAR, ""))
_reached: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL when ``name`` is reached for the planned time."""
    target = _plan.get(name)
    if target is None:
        return
    _reached[name] += 1
    if _reached[name] == target:
        os.kill(os.getpid(), signal.SIGKILL)
