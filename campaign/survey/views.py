"""Placeholder until the survey capability lands (being written now)."""

from flask import Blueprint

bp = Blueprint("survey", __name__)
