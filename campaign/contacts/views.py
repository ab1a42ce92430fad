"""Placeholder until the contacts capability lands (being written now)."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("contacts", __name__, url_prefix="/dashboard/<slug>/sleutelfiguren")


@bp.get("/")
@login_required
def index(slug: str) -> str:
    return slug
