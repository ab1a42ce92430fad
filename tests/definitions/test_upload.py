"""The campaign from the dashboard: upload its file, see the diff, confirm; download it.

Uploads go through the loader and services of ``flask campaign load``; errors are the
same Dutch problems (file, line, place) and change nothing.
"""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.attribution import root_link
from campaign.contacts.services import save_key_figure
from campaign.definitions.export import campaign_document
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import find_campaign, load_campaign_file, move_close
from campaign.extensions import db
from campaign.models import Campaign, CampaignEvent
from campaign.survey.services import save_page, start_response
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD, EXAMPLE_CAMPAIGN
from tests.survey.conftest import form

SMALL = """\
slug: klein
title: Een kleine bevraging
organisers: [Huis van het Leren]
schedule:
  opens_at: 2027-06-28 09:00
  reminder_at: 2027-08-30 09:00
  closes_at: 2027-09-15 23:59
mail:
  sender_name: Team Bevraging
  sender_email: team@example.org
  subjects:
    invitation: "Help je mee met {title}?"
intro: |
  Welkom bij de bevraging.
  Het duurt vijf minuten.
sectors:
  - code: onderwijs
    name: Onderwijs
    target: 50
  - code: welzijn
    name: Welzijn
    target: 30
questionnaire:
  pages:
    - id: vragen
      title: Vragen
      questions:
        - id: rol
          type: single
          label: Wat is je rol?
          options: [Lesgever, Begeleider]
        - id: opmerking
          type: text
          label: Nog iets?
"""
JULY = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def campaign(app, tmp_path: Path) -> Campaign:
    app.config["CLOCK"] = lambda: JULY
    path = tmp_path / "klein.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return load_campaign_file(path).campaign


def upload(client, text: str, slug: str | None = "klein", name: str = "klein.yaml"):
    url = f"/dashboard/{slug}/campagnebestand" if slug else "/dashboard/nieuw"
    data = {"bestand": (io.BytesIO(text.encode("utf-8")), name)}
    return client.post(url, data=data, content_type="multipart/form-data")


def confirm_fields(reply) -> dict[str, str]:
    html = reply.get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1)
        for name in ("upload", "fingerprint")
    }


def confirm(client, reply):
    return client.post("/dashboard/campagnebestand/toepassen", data=confirm_fields(reply))


def text_of(reply) -> str:
    html = reply.get_data(as_text=True).split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def events(campaign: Campaign) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign.id)
    return list(db.session.scalars(query.order_by(CampaignEvent.id)))


def reloaded(slug: str = "klein") -> Campaign:
    db.session.expire_all()
    return find_campaign(slug)


def test_an_error_shows_file_line_and_place_and_changes_nothing(client, auth, campaign, app):
    auth.login()
    bad = SMALL.replace("target: 30", "target: -5").replace("Help je mee", "Nieuw onderwerp")
    reply = upload(client, bad)
    assert reply.status_code == 400
    page = text_of(reply)
    assert "Niet geladen: er is niets gewijzigd" in page
    assert "1 probleem in klein.yaml" in page
    assert "Regel 22 (sectors[1].target): moet minstens 0 zijn" in page
    stored = reloaded()
    assert [s.target for s in stored.sectors] == [50, 30]
    assert stored.mail_settings["subjects"]["invitation"] == "Help je mee met {title}?"
    assert events(stored) == []
    assert not list(Path(app.config["UPLOAD_DIR"]).glob("*/*.json"))


def test_the_diff_lists_the_changes_and_nothing_changes_before_the_confirmation(
    client, auth, campaign
):
    auth.login()
    changed = (
        SMALL.replace("target: 50", "target: 65")
        .replace("closes_at: 2027-09-15 23:59", "closes_at: 2027-09-22 23:59")
        .replace("Help je mee met {title}?", "Doe je mee?")
        .replace("        - id: opmerking\n          type: text\n          label: Nog iets?\n", "")
        .replace(
            "options: [Lesgever, Begeleider]",
            "options: [Lesgever, Begeleider, Consulent]\n"
            "        - id: leeftijd\n          type: number\n          label: Je leeftijd?",
        )
        .replace(
            "    target: 30\n",
            "    target: 30\n  - code: integratie\n    name: Integratie\n    target: 10\n",
        )
    )
    reply = upload(client, changed)
    assert reply.status_code == 200
    page = text_of(reply)
    assert "Deze wijzigingen toepassen?" in page
    for line in (
        "Vraag rol gewijzigd: antwoordopties.",
        "Nieuwe vraag leeftijd: Je leeftijd?",
        "Vraag opmerking verwijderd: Nog iets?",
        "De vragenlijst krijgt versie 2",
        "Nieuwe sector Integratie (integratie), doel 10.",
        "Doel van Onderwijs: 50 → 65.",
        "Sluitdatum verplaatst van 15 september 2027 om 23.59 u naar 22 september 2027 om 23.59 u.",
        "Onderwerp van de uitnodiging gewijzigd van 'Help je mee met {title}?' naar 'Doe je mee?'.",
    ):
        assert line in page, line
    assert "Herinnering" not in page.split("Data", 1)[1].split("Teksten")[0]
    stored = reloaded()
    assert stored.questionnaire_version == 1
    assert [s.code for s in stored.sectors] == ["onderwijs", "welzijn"]
    assert stored.closes_at == datetime(2027, 9, 15, 21, 59, tzinfo=UTC)
    assert events(stored) == []

    applied = confirm(client, reply)
    assert applied.status_code == 302
    stored = reloaded()
    assert stored.questionnaire_version == 2
    assert [(s.code, s.target) for s in stored.sectors] == [
        ("onderwijs", 65),
        ("welzijn", 30),
        ("integratie", 10),
    ]
    assert stored.closes_at == datetime(2027, 9, 22, 21, 59, tzinfo=UTC)
    kinds = [(e.kind, e.actor) for e in events(stored)]
    assert kinds == [("close_moved", "campagnebestand"), ("file_loaded", COORDINATOR_EMAIL)]
    assert "sector integratie toegevoegd" in events(stored)[-1].details["changes"]
    # the kept file is gone: the same confirmation cannot apply it twice
    again = confirm(client, reply)
    assert again.status_code == 302
    assert "niet meer beschikbaar" in text_of(client.get(again.headers["Location"]))


def answer_rol(campaign: Campaign) -> None:
    key_figure = save_key_figure(campaign, name="An", email="an@example.org")
    link = root_link(key_figure)
    db.session.commit()
    outcome = save_page(start_response(link), 0, form({"rol": "begeleider"}))
    assert not outcome.errors, outcome.errors


def test_dropping_an_answered_question_or_option_is_refused_on_the_page(client, auth, campaign):
    answer_rol(campaign)
    auth.login()
    reply = upload(client, SMALL.replace("options: [Lesgever, Begeleider]", "options: [Lesgever]"))
    assert reply.status_code == 400
    assert "antwoordoptie 'begeleider' is verwijderd, maar is al gekozen in 1 antwoord" in text_of(
        reply
    )
    without = SMALL.replace(
        "        - id: rol\n          type: single\n          label: Wat is je rol?\n"
        "          options: [Lesgever, Begeleider]\n",
        "",
    )
    reply = upload(client, without)
    assert reply.status_code == 400
    assert "vraag 'rol' is verwijderd, maar heeft al 1 antwoord" in text_of(reply)
    assert reloaded().questionnaire_version == 1


def test_a_close_moved_on_the_dashboard_survives_an_unchanged_file(client, auth, campaign):
    move_close(campaign, datetime(2027, 9, 30, 21, 59, tzinfo=UTC), actor=COORDINATOR_EMAIL)
    auth.login()
    reply = upload(client, SMALL)
    page = text_of(reply)
    assert "sluitdatum blijft 30 september 2027 om 23.59 u (op het dashboard gewijzigd" in (
        page.lower()
    )
    confirm(client, reply)
    assert reloaded().closes_at == datetime(2027, 9, 30, 21, 59, tzinfo=UTC)


def test_a_change_between_diff_and_confirmation_shows_the_diff_again(client, auth, campaign):
    auth.login()
    reply = upload(client, SMALL.replace("target: 50", "target: 55"))
    campaign.sectors[1].target = 44  # a colleague saves another target meanwhile
    db.session.commit()
    stale = confirm(client, reply)
    assert stale.status_code == 409
    assert "De campagne is intussen gewijzigd" in text_of(stale)
    assert "Doel van Welzijn: 44 → 30." in text_of(stale)
    assert [s.target for s in reloaded().sectors] == [50, 44]
    assert confirm(client, stale).status_code == 302
    assert [s.target for s in reloaded().sectors] == [55, 30]


def test_a_file_of_another_campaign_is_refused_with_its_line(client, auth, campaign):
    auth.login()
    reply = upload(client, SMALL.replace("slug: klein", "slug: andere"))
    assert reply.status_code == 400
    assert "Regel 1 (slug): dit bestand hoort bij campagne 'andere', niet bij 'klein'" in (
        text_of(reply)
    )
    assert find_campaign("andere") is None


def test_a_coordinator_creates_a_campaign_from_its_file(client, auth, app):
    app.config["CLOCK"] = lambda: JULY
    auth.login()
    assert "Nieuwe campagne" in text_of(client.get("/dashboard/"))
    broken = upload(client, SMALL.replace("closes_at: 2027-09-15 23:59", "closes_at: morgen"), None)
    assert broken.status_code == 400
    assert (
        "Regel 7 (schedule.closes_at): verwacht een datum en uur zoals 2027-06-28 09:00"
        in text_of(broken)
    )
    assert find_campaign("klein") is None
    reply = upload(client, SMALL, None)
    page = text_of(reply)
    assert "Deze campagne aanmaken?" in page
    assert "2 vragen op 1 pagina." in page
    assert "2 sectoren: Onderwijs (doel 50), Welzijn (doel 30)." in page
    assert find_campaign("klein") is None
    applied = confirm(client, reply)
    assert applied.headers["Location"] == "/dashboard/klein/"
    created = reloaded()
    assert created.title == "Een kleine bevraging"
    [event] = events(created)
    assert (event.kind, event.actor) == ("campaign_created", COORDINATOR_EMAIL)


def test_the_downloaded_file_loads_back_to_the_same_campaign(client, auth, campaign, tmp_path):
    move_close(campaign, datetime(2027, 9, 30, 21, 59, tzinfo=UTC), actor=COORDINATOR_EMAIL)
    auth.login()
    reply = client.get("/dashboard/klein/campagnebestand.yaml")
    assert reply.headers["Content-Disposition"] == 'attachment; filename="klein.yaml"'
    text = reply.get_data(as_text=True)
    assert "closes_at: 2027-09-30 23:59" in text
    assert "intro: |" in text
    before = reloaded()
    state = (
        before.questionnaire_hash,
        before.questionnaire,
        before.mail_settings,
        before.intro,
        [(s.code, s.name, s.target, s.examples) for s in before.sectors],
        [getattr(before, name) for name in ("opens_at", "reminder_at", "closes_at")],
    )
    preview = upload(client, text)
    assert "Het bestand verandert niets" in text_of(preview)
    path = tmp_path / "terug.yaml"
    path.write_text(text, encoding="utf-8")
    result = load_campaign_file(path)
    assert result.changes == []
    after = reloaded()
    assert after.questionnaire_version == 1
    assert state == (
        after.questionnaire_hash,
        after.questionnaire,
        after.mail_settings,
        after.intro,
        [(s.code, s.name, s.target, s.examples) for s in after.sectors],
        [getattr(after, name) for name in ("opens_at", "reminder_at", "closes_at")],
    )


def test_the_example_campaign_round_trips(client, auth, example_campaign, tmp_path):
    auth.login()
    text = client.get(f"/dashboard/{example_campaign.slug}/campagnebestand.yaml").get_data(
        as_text=True
    )
    before = campaign_document(reloaded(example_campaign.slug))
    path = tmp_path / "voorbeeld.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_campaign_file(path).changes == []
    after = reloaded(example_campaign.slug)
    assert after.questionnaire_version == 1
    assert campaign_document(after) == before
    # file -> database -> file: the same campaign file, every part of it (prizes, draw, ...)
    downloaded = parse_campaign_text(text, "download.yaml")
    shipped = parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8"), "voorbeeld.yaml")
    assert downloaded.model_dump() == shipped.model_dump()


def test_the_command_line_loads_through_the_same_service_and_is_recorded(runner, app, tmp_path):
    app.config["CLOCK"] = lambda: JULY
    path = tmp_path / "klein.yaml"
    path.write_text(SMALL, encoding="utf-8")
    assert runner.invoke(args=["campaign", "load", str(path)]).exit_code == 0
    path.write_text(SMALL.replace("target: 50", "target: 51"), encoding="utf-8")
    assert runner.invoke(args=["campaign", "load", str(path)]).exit_code == 0
    kinds = [(e.kind, e.actor) for e in events(reloaded())]
    assert kinds == [("campaign_created", "opdrachtregel"), ("file_loaded", "opdrachtregel")]


def confirm_twice_at_once(app, fields: dict[str, str]) -> list[int]:
    """Two coordinators' browsers confirm the same diff at the same moment (real threads,
    each with its own session and database connection)."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def confirm_in_thread() -> None:
        client = app.test_client()
        client.post("/login", data={"email": COORDINATOR_EMAIL, "password": COORDINATOR_PASSWORD})
        barrier.wait()
        statuses.append(
            client.post("/dashboard/campagnebestand/toepassen", data=fields).status_code
        )

    threads = [threading.Thread(target=confirm_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def test_two_confirmations_of_one_diff_load_it_once(client, auth, campaign, app):
    auth.login()
    fields = confirm_fields(upload(client, SMALL.replace("target: 50", "target: 58")))
    db.session.commit()  # end this thread's read transaction before the others write
    assert confirm_twice_at_once(app, fields) == [302, 409]
    stored = reloaded()
    assert stored.sectors[0].target == 58
    assert [e.kind for e in events(stored)] == ["file_loaded"]


def test_two_confirmations_of_a_new_campaign_create_it_once(client, auth, app):
    app.config["CLOCK"] = lambda: JULY
    auth.login()
    fields = confirm_fields(upload(client, SMALL, None))
    db.session.commit()
    assert confirm_twice_at_once(app, fields) == [302, 409]
    assert [e.kind for e in events(reloaded())] == ["campaign_created"]
