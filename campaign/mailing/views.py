"""Placeholder until the mailing capability lands (being written now)."""

from flask import Blueprint

bp = Blueprint("mailing", __name__)
