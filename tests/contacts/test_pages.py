"""The key-figure pages: list, search, filter, upload, edit, opt-out."""

from __future__ import annotations

import io
import re

import pytest

from campaign.contacts.services import import_key_figures
from tests.conftest import COORDINATOR_EMAIL, COORDINATOR_PASSWORD
from tests.contacts.helpers import count_key_figures, csv_bytes, key_figures_by_email

BASE = "/dashboard/eerste-hulp-digitale-vragen/sleutelfiguren"


def _import(campaign, *rows: str) -> None:
    header = "naam;e-mail;organisatie;sector"
    report = import_key_figures(campaign, csv_bytes(header, *rows))
    assert report.written, report.problems


def _upload(client, data: bytes, **fields):
    form = {"file": (io.BytesIO(data), "lijst.csv"), **fields}
    return client.post(f"{BASE}/importeren", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("path", ["/", "/importeren", "/nieuw", "/1/", "/sjabloon.csv"])
def test_key_figure_pages_require_login(client, example_campaign, path):
    response = client.get(BASE + path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_opt_out_requires_login(client, example_campaign):
    _import(example_campaign, "An;an@example.org;;")
    an = key_figures_by_email(example_campaign)["an@example.org"]
    response = client.post(f"{BASE}/{an.id}/afmelden", data={"opted_out": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not key_figures_by_email(example_campaign)["an@example.org"].opted_out


def test_empty_list_explains_the_upload_and_the_columns(client, auth, example_campaign):
    auth.login()
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Nog geen sleutelfiguren" in page
    assert f'href="{BASE}/importeren"' in page
    assert "naam;e-mail;organisatie;sector;netwerk;bereik" in page
    assert f'href="{BASE}/sjabloon.csv"' in page


def test_list_shows_key_figures_counts_per_sector_and_opted_out(client, auth, example_campaign):
    _import(
        example_campaign,
        "An Peeters;an@example.org;CAW Brugge;welzijn",
        "Bo Claes;bo@example.org;VDAB;arbeidsmarkt",
        "Ce Dewulf;ce@example.org;OCMW;welzijn",
    )
    auth.login()
    an = key_figures_by_email(example_campaign)["an@example.org"]
    client.post(f"{BASE}/{an.id}/afmelden", data={"opted_out": "1"})
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert "3 sleutelfiguren." in page
    assert re.search(r"Welzijn <strong>2</strong>", page)
    assert re.search(r"Arbeidsmarkt <strong>1</strong>", page)
    assert re.search(r"Afgemeld <strong>1</strong>", page)
    an_row = page.split("An Peeters</a>")[1].split("</tr>")[0]
    assert "Afgemeld</span>" in an_row and "Weer aanmelden" in an_row


def test_search_matches_name_email_and_organisation(client, auth, example_campaign):
    _import(
        example_campaign,
        "An Peeters;an@example.org;CAW Brugge;welzijn",
        "Bo Claes;bo@vdab.example.org;VDAB;arbeidsmarkt",
        "Ce Dewulf;ce@example.org;OCMW Ieper;lokaal_bestuur",
    )
    auth.login()
    for query, expected in (
        ("peeters", "An Peeters"),
        ("vdab.example", "Bo Claes"),
        ("ieper", "Ce Dewulf"),
    ):
        page = client.get(f"{BASE}/", query_string={"q": query}).get_data(as_text=True)
        assert "1 sleutelfiguur gevonden." in page
        assert expected in page
    page = client.get(f"{BASE}/", query_string={"q": "niemand"}).get_data(as_text=True)
    assert "Geen sleutelfiguren gevonden" in page


def test_sector_and_status_filters(client, auth, example_campaign):
    _import(
        example_campaign,
        "An Peeters;an@example.org;;welzijn",
        "Bo Claes;bo@example.org;;arbeidsmarkt",
        "Ce Dewulf;ce@example.org;;",
    )
    auth.login()
    page = client.get(f"{BASE}/", query_string={"sector": "welzijn"}).get_data(as_text=True)
    assert "An Peeters" in page and "Bo Claes" not in page and "Ce Dewulf" not in page
    page = client.get(f"{BASE}/", query_string={"sector": "geen"}).get_data(as_text=True)
    assert "Ce Dewulf" in page and "An Peeters" not in page
    bo = key_figures_by_email(example_campaign)["bo@example.org"]
    client.post(f"{BASE}/{bo.id}/afmelden", data={"opted_out": "1"})
    page = client.get(f"{BASE}/", query_string={"status": "afgemeld"}).get_data(as_text=True)
    assert "Bo Claes" in page and "An Peeters" not in page
    page = client.get(f"{BASE}/", query_string={"status": "actief"}).get_data(as_text=True)
    assert "Bo Claes" not in page and "An Peeters" in page


def test_list_is_paginated_by_50(client, auth, example_campaign):
    _import(example_campaign, *[f"Persoon {i:03d};p{i}@example.org;;" for i in range(120)])
    auth.login()
    first = client.get(f"{BASE}/").get_data(as_text=True)
    assert "120 sleutelfiguren, 1–50 getoond." in first
    assert "Pagina 1 van 3" in first
    assert "Persoon 049" in first and "Persoon 050" not in first
    last = client.get(f"{BASE}/", query_string={"page": 3}).get_data(as_text=True)
    assert "Persoon 119" in last and "Persoon 099" not in last
    assert "Pagina 3 van 3" in last


def test_upload_with_problems_shows_every_line_and_imports_nothing(client, auth, example_campaign):
    auth.login()
    data = csv_bytes("naam;e-mail;sector", "An;an@example.org;", "Bo;fout;", "Ce;ce@example.org;x")
    page = _upload(client, data).get_data(as_text=True)
    assert "Niet geïmporteerd" in page
    assert '<td class="num">3</td><td>Ongeldig e-mailadres: &#39;fout&#39;.</td>' in page
    assert '<td class="num">4</td><td>Onbekende sector &#39;x&#39;.' in page
    assert count_key_figures(example_campaign) == 0


def test_upload_with_skip_invalid_imports_the_valid_rows(client, auth, example_campaign):
    auth.login()
    data = csv_bytes("naam;e-mail", "An;an@example.org", "Bo;fout")
    page = _upload(client, data, skip_invalid="y").get_data(as_text=True)
    assert (
        "Import klaar: 1 nieuwe sleutelfiguur, 0 bijgewerkt, 0 ongewijzigd, 1 regel overgeslagen."
        in page
    )
    assert "Overgeslagen regels" in page
    assert count_key_figures(example_campaign) == 1


def test_upload_check_only_writes_nothing(client, auth, example_campaign):
    auth.login()
    data = csv_bytes("naam;e-mail", "An;an@example.org", "Bo;bo@example.org")
    page = _upload(client, data, check="Alleen controleren").get_data(as_text=True)
    assert "Controle geslaagd" in page
    assert "Bij importeren: 2 nieuwe sleutelfiguren" in page
    assert count_key_figures(example_campaign) == 0
    page = _upload(client, data, submit="Importeren").get_data(as_text=True)
    assert "Import klaar: 2 nieuwe sleutelfiguren, 0 bijgewerkt, 0 ongewijzigd." in page
    assert count_key_figures(example_campaign) == 2


def test_upload_without_a_file_asks_for_one(client, auth, example_campaign):
    auth.login()
    response = client.post(f"{BASE}/importeren", data={}, content_type="multipart/form-data")
    assert "Kies een CSV-bestand." in response.get_data(as_text=True)


def test_downloaded_template_imports_as_is(client, auth, example_campaign):
    auth.login()
    response = client.get(f"{BASE}/sjabloon.csv")
    assert (
        response.headers["Content-Disposition"]
        == "attachment; filename=sleutelfiguren-sjabloon.csv"
    )
    assert response.data.startswith("\ufeffnaam;e-mail;organisatie;sector;netwerk;bereik".encode())
    report = import_key_figures(example_campaign, response.data)
    assert report.written and report.new == 2


def test_edit_saves_the_changes(client, auth, example_campaign):
    _import(example_campaign, "An;an@example.org;CAW;welzijn")
    an = key_figures_by_email(example_campaign)["an@example.org"]
    auth.login()
    page = client.get(f"{BASE}/{an.id}/").get_data(as_text=True)
    assert 'value="an@example.org"' in page and "/s/" in page
    response = client.post(
        f"{BASE}/{an.id}/",
        data={
            "name": "An Peeters",
            "email": "An.Peeters@Example.org",
            "organisation": "CAW Brugge",
            "sector": "onderwijs",
            "network": "Netwerk",
            "reach": "25",
        },
    )
    assert response.status_code == 302
    an = key_figures_by_email(example_campaign)["an.peeters@example.org"]
    assert (an.name, an.organisation, an.sector.code, an.network, an.reach) == (
        "An Peeters",
        "CAW Brugge",
        "onderwijs",
        "Netwerk",
        25,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "geen-adres"}, "Dit is geen geldig e-mailadres."),
        ({"email": "BO@example.org"}, "Er is al een sleutelfiguur met dit e-mailadres (Bo)."),
        ({"name": "  "}, "Vul een naam in."),
        ({"reach": "veel"}, "Vul een geheel getal in (bijvoorbeeld 40)."),
        ({"reach": "-3"}, "Het bereik kan niet negatief zijn."),
        ({"sector": "landbouw"}, "Kies een sector uit de lijst."),
    ],
)
def test_edit_with_bad_values_shows_dutch_messages_and_changes_nothing(
    client, auth, example_campaign, changes, message
):
    _import(example_campaign, "An;an@example.org;CAW;welzijn", "Bo;bo@example.org;;")
    an = key_figures_by_email(example_campaign)["an@example.org"]
    auth.login()
    data = {
        "name": "An",
        "email": "an@example.org",
        "organisation": "Nieuw",
        "sector": "welzijn",
        **changes,
    }
    response = client.post(f"{BASE}/{an.id}/", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in page
    assert page.count('class="field-error"') == 1  # one message per mistake, not two
    assert key_figures_by_email(example_campaign)["an@example.org"].organisation == "CAW"


def test_add_a_key_figure_by_hand_and_refuse_a_duplicate(client, auth, example_campaign):
    auth.login()
    data = {"name": "Dirk", "email": "dirk@example.org", "sector": "integratie", "reach": ""}
    response = client.post(f"{BASE}/nieuw", data=data)
    assert response.status_code == 302
    dirk = key_figures_by_email(example_campaign)["dirk@example.org"]
    assert dirk.sector.code == "integratie" and dirk.reach is None
    page = client.post(f"{BASE}/nieuw", data=data).get_data(as_text=True)
    assert "Er is al een sleutelfiguur met dit e-mailadres (Dirk)." in page
    assert count_key_figures(example_campaign) == 1


def test_opt_out_and_back_in(client, auth, example_campaign):
    _import(example_campaign, "An;an@example.org;;")
    an = key_figures_by_email(example_campaign)["an@example.org"]
    auth.login()
    response = client.post(
        f"{BASE}/{an.id}/afmelden", data={"opted_out": "1"}, follow_redirects=True
    )
    assert "An is afgemeld en krijgt geen mails meer." in response.get_data(as_text=True)
    assert key_figures_by_email(example_campaign)["an@example.org"].opted_out
    response = client.post(
        f"{BASE}/{an.id}/afmelden", data={"opted_out": "0", "next": "https://elders.example.org/"}
    )
    assert response.headers["Location"] == f"{BASE}/"
    assert not key_figures_by_email(example_campaign)["an@example.org"].opted_out


def test_key_figure_of_another_campaign_or_unknown_is_404(client, auth, example_campaign):
    auth.login()
    assert client.get(f"{BASE}/999999/").status_code == 404
    assert client.get("/dashboard/bestaat-niet/sleutelfiguren/").status_code == 404


def test_forms_without_a_csrf_token_are_refused(make_app, example_campaign, coordinator):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        client.post(
            "/login",
            data={
                "email": COORDINATOR_EMAIL,
                "password": COORDINATOR_PASSWORD,
                "csrf_token": token,
            },
        )
        assert client.get(f"{BASE}/").status_code == 200
        refused = _upload(client, csv_bytes("naam;e-mail", "An;an@example.org"))
        assert refused.status_code == 400
    assert count_key_figures(example_campaign) == 0
