"""The browser session: a cached serializer must still follow the secret key and its rotation."""

from __future__ import annotations

from flask import Flask

from campaign.models import Link

OLD_KEY = "test-secret-key-that-is-long-enough"
NEW_KEY = "a-new-secret-key-after-rotation-0123456789"


def start_survey(app: Flask, link: Link):
    code = link.code
    client = app.test_client()
    assert client.post(f"/s/{code}/start").status_code == 302
    assert client.get(f"/s/{code}/vraag/1").status_code == 200  # the session holds the response
    return client, code


def test_a_session_survives_a_key_rotation_with_the_old_key_as_fallback(app, key_link):
    client, code = start_survey(app, key_link)
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])

    assert client.get(f"/s/{code}/vraag/1").status_code == 200


def test_a_new_key_without_fallback_ends_the_old_sessions(app, key_link):
    client, code = start_survey(app, key_link)
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[])

    reply = client.get(f"/s/{code}/vraag/1")

    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/s/{code}"


def test_a_session_signed_with_an_unknown_key_is_ignored(app, key_link):
    client, code = start_survey(app, key_link)
    forged = app.test_client()
    cookie = client.get_cookie("session")
    app.config.update(SECRET_KEY=NEW_KEY)
    forged.set_cookie("session", cookie.value)
    app.config.update(SECRET_KEY=OLD_KEY)

    assert forged.get(f"/s/{code}/vraag/1").status_code == 200  # same key: accepted
    app.config.update(SECRET_KEY=NEW_KEY)
    assert forged.get(f"/s/{code}/vraag/1").status_code == 302
