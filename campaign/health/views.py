"""``GET /health``: for the load balancer and the monitoring.

``/health`` sits outside ``/dashboard/`` (no login), sets no cookie, has no rate limit
and is never cached.  Its JSON says ``ok`` or ``failing`` per check and nothing more
(no version, path or error text): ``{"status": "ok", "checks": {"database": "ok",
"scheduler": "ok"}}`` with 200, or 503 when a check fails.

- ``/health``: everything (readiness of the whole installation; for the monitoring);
- ``/health?check=database``: this web server can serve (for a load balancer: a silent
  scheduler must not take every web server out of the pool, the survey still works);
- ``/health?check=scheduler``: the scheduler alone.

Any other parameter or check name is a 400: a mistyped probe must not quietly check
something else than its author meant.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from campaign.health.checks import CHECKS, FAILING, OK, healthy, run_checks

bp = Blueprint("health", __name__)


@bp.get("/health")
def check() -> tuple[Response, int]:
    names = request.args.getlist("check") or list(CHECKS)
    if set(request.args) - {"check"} or not set(names) <= set(CHECKS):
        return _answer({"status": "bad request", "checks": sorted(CHECKS)}, 400)
    results = run_checks(dict.fromkeys(names))
    if healthy(results):
        return _answer({"status": OK, "checks": results}, 200)
    return _answer({"status": FAILING, "checks": results}, 503)


def _answer(body: dict[str, object], status: int) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status
