"""Downloads: the answers as CSV, XLSX and JSON with their codebook, and the results pack."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("exports", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here needs a logged-in coordinator."""
