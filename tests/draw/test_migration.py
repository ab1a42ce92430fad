"""Migration 0006 gives campaigns that existed before it a seed and its commitment."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from campaign import create_app
from campaign.extensions import db
from tests.conftest import base_config


@pytest.mark.sqlite_only
def test_campaigns_from_before_the_draw_get_a_seed(tmp_path: Path):
    path = tmp_path / "oud.sqlite3"
    app = create_app({**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO campaigns (slug, title, timezone, opens_at, closes_at, "
                    "questionnaire_version, questionnaire_hash, created_at, updated_at, organisers, "
                    "prizes, mail_settings, intro, privacy, questionnaire, invite_at_open, "
                    "reminder_threshold, file_schedule, results_settings) VALUES ('oud', 'Oud', "
                    "'Europe/Brussels', '2027-06-28 07:00:00', '2027-09-15 21:59:00', 1, '', "
                    "'2027-01-01 00:00:00', '2027-01-01 00:00:00', '[]', '[]', '{}', '', '', '{}', "
                    "0, 1.0, '{}', '{}')"
                )
            )
        upgrade(revision="0006")  # this revision alone; later ones have data steps of their own
        with db.engine.connect() as connection:
            commitment = connection.scalar(text("SELECT draw_commitment FROM campaigns"))
            seed, stored = connection.execute(text("SELECT seed, commitment FROM draws")).one()
        db.engine.dispose()
    assert commitment == stored == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
