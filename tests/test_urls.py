"""Public addresses come from the routes, under BASE_URL, whatever host the request used."""

from __future__ import annotations

from flask import url_for

from campaign.urls import public_url


def test_public_url_is_the_route_under_base_url(make_app):
    app = make_app(BASE_URL="https://enquete.example.org/campagne/")
    with app.app_context():
        assert public_url("survey.welcome", code="abc23") == (
            "https://enquete.example.org/campagne/s/abc23"
        )
        assert public_url("survey.resume", code="abc23", token="t.k") == (
            "https://enquete.example.org/campagne/s/abc23/verder/t.k"
        )


def test_public_url_ignores_the_host_of_the_current_request(make_app):
    app = make_app(BASE_URL="https://enquete.example.org")
    with app.test_request_context("/dashboard/", base_url="http://intern.example.org:8000"):
        assert url_for("survey.welcome", code="abc23", _external=True).startswith(
            "http://intern.example.org"
        )
        assert public_url("survey.welcome", code="abc23") == "https://enquete.example.org/s/abc23"
