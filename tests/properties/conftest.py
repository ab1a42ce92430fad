"""Hypothesis profiles of the property-based tests.

``ci`` (the default) is derandomized: the same examples on every run and every machine,
so a red CI run is red again on a laptop, and no example database is written.  Each test
says how many examples it draws (``bounded``), so the folder adds well under a minute to
the suite.  ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples, ten times as
many, and keeps failing ones in ``.hypothesis/`` to replay them: for looking, not for CI.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.survey.conftest import key_figure, key_link, open_campaign

__all__ = ["bounded", "key_figure", "key_link", "open_campaign"]

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SCALE = 10 if PROFILE == "explore" else 1

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(PROFILE)


def bounded(examples: int) -> settings:
    """Settings of one property: ``examples`` examples (times ten when exploring).  The
    test's fixtures (the app, its database) are made once per test, not per example, so
    each example that writes undoes its writes itself."""
    return settings(
        max_examples=examples * SCALE,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
