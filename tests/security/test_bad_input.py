"""No server error on bad input: every URL of the app walked with out-of-range numbers and
NUL bytes, the number fields of forms and queries, control characters in survey answers,
the login and dashboard forms; the log stays one line per record whatever the input."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.logs import FORMAT, ActorFilter
from campaign.models import Coordinator, KeyFigure, Link, Response
from tests.survey.conftest import EXAMPLE_FORMS, form, next_address, start_survey

HUGE = [2**31, 2**63, 10**30]
#: Every number field read with ``type=int`` (query and form), by name.
NUMBER_FIELDS = ("pagina", "page", "aantal", "sleutelfiguur", "mail")


def rules(app):
    """Every rule but the static files and the logout (which would end the walk's login)."""
    return [r for r in app.url_map.iter_rules() if r.endpoint not in ("static", "auth.logout")]


def fill(rule, values: dict[str, str], override: dict[str, str]) -> str:
    parts = []
    for is_arg, piece in rule._trace:
        if not is_arg:
            parts.append(piece)
        elif piece in override:
            parts.append(override[piece])
        else:
            parts.append(quote(values.get(piece, "x"), safe=""))
    return "".join(parts).split("|", 1)[1]


@pytest.fixture
def values(open_campaign, key_link) -> dict[str, str]:
    return {
        "slug": open_campaign.slug,
        "code": key_link.code,
        "number": "1",
        "file_format": "csv",
        "kind": "png",
        "question_id": "sector",
        "account_id": "1",
        "key_figure_id": str(key_link.key_figure_id),
        "channel_id": "1",
        "message_id": "1",
        "token": "x",
        "name": "x",
    }


def counts() -> tuple[int, int, int]:
    db.session.rollback()
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Link, KeyFigure, Coordinator)
    )


def test_out_of_range_numbers_in_any_url_are_a_404(app, client, auth, values):
    auth.login()
    before = counts()
    walked = 0
    for rule in rules(app):
        numbers = [a for a, c in rule._converters.items() if c.regex.startswith("\\d")]
        for name in numbers:
            for huge in HUGE:
                url = fill(rule, values, {name: str(huge)})
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    reply = client.open(url, method=method)
                    # 405: the URL, no longer matching the rule, matches a GET-only one.
                    assert reply.status_code in (404, 405), (method, url, reply.status_code)
                    walked += 1
    assert walked > 20  # every int converter of the app was reached
    assert counts() == before


def test_a_nul_byte_in_any_url_part_is_a_404(app, client, auth, values):
    auth.login()
    before = counts()
    for rule in rules(app):
        for name in rule.arguments:
            url = fill(rule, values, {name: "%00abc"})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                with client.open(url, method=method) as reply:
                    assert reply.status_code in (404, 405), (method, url, reply.status_code)
    assert counts() == before


def test_a_nul_byte_in_any_query_or_form_value_is_a_dutch_400(app, client, auth, values):
    auth.login()
    before = counts()
    for rule in rules(app):
        url = fill(rule, values, {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"naam": "a\x00b"} if method == "POST" else None
            with client.open(url + "?q=%00", method=method, data=data) as reply:
                assert reply.status_code == 400, (method, url, reply.status_code)
                assert "ongeldig, onzichtbaar teken" in reply.get_data(as_text=True)
    assert counts() == before


def test_out_of_range_numbers_in_query_and_form_fields_give_no_server_error(
    app, client, auth, values
):
    auth.login()
    huge = {field: str(10**30) for field in NUMBER_FIELDS}
    for rule in rules(app):
        url = fill(rule, values, {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "POST":
                reply = client.post(url, data=huge)
            else:
                reply = client.open(url, method=method, query_string=huge)
            assert reply.status_code < 500, (method, url, reply.status_code)
            reply.close()


def test_a_huge_reach_in_the_key_figure_form_is_a_dutch_message(client, auth, open_campaign):
    auth.login()
    before = counts()
    reply = client.post(
        f"/dashboard/{open_campaign.slug}/sleutelfiguren/nieuw",
        data={
            "name": "Bert",
            "email": "bert@example.org",
            "sector": "welzijn",
            "reach": str(10**30),
        },
    )
    assert reply.status_code == 200
    assert "te groot" in reply.get_data(as_text=True)
    assert counts() == before


def test_the_login_with_a_nul_byte_in_the_email_is_a_dutch_400(client, coordinator):
    reply = client.post("/login", data={"email": "coordinator\x00@example.org", "password": "x"})
    assert reply.status_code == 400
    assert "ongeldig, onzichtbaar teken" in reply.get_data(as_text=True)


# --- control characters in query and form values ------------------------------------------

#: Every C0 control character and DEL but tab, line feed and carriage return.
REFUSED = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"]


def answers_of(code: str) -> list[dict]:
    db.session.rollback()
    link = db.session.scalar(select(Link).where(Link.code == code))
    return [r.answers for r in db.session.scalars(select(Response).where(Response.link == link))]


def second_page(client, key_link) -> str:
    """The address of the page holding the open question ``moeilijke_hulpvraag``."""
    url = start_survey(client, key_link.code)
    return next_address(client.post(url, data=form(EXAMPLE_FORMS[0])))


def test_a_control_character_in_a_survey_text_answer_is_a_dutch_400_and_nothing_is_written(
    client, key_link
):
    url = second_page(client, key_link)
    before = answers_of(key_link.code)
    answer = {**EXAMPLE_FORMS[1], "moeilijke_hulpvraag": "Een premie\x01 aanvragen"}
    reply = client.post(url, data=form(answer))
    assert reply.status_code == 400
    assert "ongeldig, onzichtbaar teken" in reply.text
    assert "\x01" not in reply.text
    assert answers_of(key_link.code) == before
    assert "moeilijke_hulpvraag" not in before[0]


def test_a_survey_text_answer_keeps_its_tabs_and_line_breaks(client, key_link):
    url = second_page(client, key_link)
    text = "Eerst dit:\tformulier.\r\nDan dat.\nEinde."
    reply = client.post(url, data=form({**EXAMPLE_FORMS[1], "moeilijke_hulpvraag": text}))
    assert reply.status_code == 302, reply.status_code
    (stored,) = answers_of(key_link.code)
    assert stored["moeilijke_hulpvraag"] == text


def test_every_refused_control_character_in_a_query_or_form_name_or_value_is_a_dutch_400(
    client,
):
    assert len(REFUSED) == 30
    for character in REFUSED:
        for reply in (
            client.get("/login", query_string={"next": f"/dashboard{character}"}),
            client.post("/login", data={"email": f"a{character}@example.org", "password": "x"}),
            client.post("/login", data={f"e{character}mail": "a@example.org"}),
        ):
            assert reply.status_code == 400, (hex(ord(character)), reply.status_code)
            assert "ongeldig, onzichtbaar teken" in reply.text


def test_the_login_with_an_escape_character_in_the_email_is_a_dutch_400(client, coordinator):
    reply = client.post(
        "/login", data={"email": "coordinator\x1b[31m@example.org", "password": "x"}
    )
    assert reply.status_code == 400
    assert "ongeldig, onzichtbaar teken" in reply.text
    assert "\x1b" not in reply.text


def test_a_control_character_in_a_dashboard_form_is_a_dutch_400_and_nothing_is_written(
    client, auth, open_campaign
):
    auth.login()
    before = counts()
    reply = client.post(
        f"/dashboard/{open_campaign.slug}/sleutelfiguren/nieuw",
        data={
            "name": "Bert\x07 Peeters",
            "email": "bert@example.org",
            "sector": "welzijn",
            "reach": "10",
        },
    )
    assert reply.status_code == 400
    assert "ongeldig, onzichtbaar teken" in reply.text
    assert counts() == before
    # The same form without the bell character is saved: the 400 was the character's.
    reply = client.post(
        f"/dashboard/{open_campaign.slug}/sleutelfiguren/nieuw",
        data={"name": "Bert Peeters", "email": "bert@example.org", "sector": "welzijn"},
    )
    assert reply.status_code == 302, reply.status_code
    assert counts()[1] == before[1] + 1


def test_log_lines_escape_control_characters_in_user_input(app):
    record = logging.LogRecord(
        "campaign.survey",
        logging.INFO,
        __file__,
        1,
        "link not found: %s",
        ("x\n2026 ERROR y",),
        None,
    )
    ActorFilter().filter(record)
    line = logging.Formatter(FORMAT).format(record)
    assert "\n" not in line
    assert "x\\n2026 ERROR y" in line


def test_a_huge_sector_target_in_the_settings_form_is_a_dutch_message(
    app, client, auth, open_campaign
):
    from campaign.definitions.settings import current_values, target_field

    auth.login()
    values = current_values(open_campaign)
    values[target_field(open_campaign.sectors[0].code)] = str(10**30)
    reply = client.post(f"/dashboard/{open_campaign.slug}/instellingen", data=values)
    assert reply.status_code in (200, 400), reply.status_code
    assert "hoogstens" in reply.get_data(as_text=True)
    db.session.rollback()
    assert (
        db.session.get(type(open_campaign.sectors[0]), open_campaign.sectors[0].id).target < 2**31
    )


def test_a_control_character_in_a_csv_cell_is_a_dutch_problem_on_its_line(open_campaign):
    from campaign.contacts.services import import_key_figures

    before = counts()
    data = (
        b"naam;e-mail;organisatie\r\n"
        b"An;an@example.org;CAW\r\n"
        b"Bert\x0bPeeters;bert@example.org;VDAB\x1b[1m\r\n"
        b'"Carla";carla@example.org;"Huis van\r\nhet Leren"\r\n'
    )
    report = import_key_figures(open_campaign, data)
    assert not report.written and counts() == before
    assert [p.describe() for p in report.problems] == [
        "Regel 3: Naam bevat een onzichtbaar stuurteken (soms meegekopieerd uit een ander "
        "programma). Verwijder het en probeer opnieuw.",
        "Regel 3: Organisatie bevat een onzichtbaar stuurteken (soms meegekopieerd uit een "
        "ander programma). Verwijder het en probeer opnieuw.",
    ]  # the value on two lines (line 4) is fine
