"""After "Alleen controleren", "Nu importeren" imports the very file that was checked,
without choosing it again (kept on the server under a random name, used once)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from tests.contacts.helpers import count_key_figures, csv_bytes, key_figures_by_email

HEADER = "naam;e-mail;organisatie;sector"


def base(campaign) -> str:
    return f"/dashboard/{campaign.slug}/sleutelfiguren"


def check(client, campaign, data: bytes, **fields):
    form = {"file": (io.BytesIO(data), "lijst.csv"), "check": "Alleen controleren", **fields}
    return client.post(
        f"{base(campaign)}/importeren", data=form, content_type="multipart/form-data"
    )


def kept_key(reply) -> str:
    found = re.search(r'name="bestand" value="([^"]+)"', reply.get_data(as_text=True))
    assert found, "no 'Nu importeren' button"
    return found.group(1)


def test_import_now_imports_the_checked_file_once(client, auth, example_campaign, app):
    auth.login()
    data = csv_bytes(HEADER, "An;an@example.org;CAW;welzijn", "Bo;bo@example.org;CLB;onderwijs")
    checked = check(client, example_campaign, data)
    page = checked.get_data(as_text=True)
    assert "Controle geslaagd" in page and "Nu importeren" in page
    assert "lijst.csv, zoals hierboven gecontroleerd" in page
    assert count_key_figures(example_campaign) == 0
    key = kept_key(checked)
    done = client.post(f"{base(example_campaign)}/importeren/gecontroleerd", data={"bestand": key})
    assert "Import klaar" in done.get_data(as_text=True)
    assert sorted(key_figures_by_email(example_campaign)) == ["an@example.org", "bo@example.org"]
    assert not list(Path(app.config["UPLOAD_DIR"]).glob("*/*.json"))
    again = client.post(f"{base(example_campaign)}/importeren/gecontroleerd", data={"bestand": key})
    assert again.status_code == 302
    assert "niet meer beschikbaar" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_skipping_invalid_rows_is_kept_from_the_check(client, auth, example_campaign):
    auth.login()
    data = csv_bytes(HEADER, "An;an@example.org;CAW;welzijn", "Fout;geen-adres;CLB;onderwijs")
    checked = check(client, example_campaign, data, skip_invalid="y")
    assert 'name="skip_invalid" value="1"' in checked.get_data(as_text=True)
    client.post(
        f"{base(example_campaign)}/importeren/gecontroleerd",
        data={"bestand": kept_key(checked), "skip_invalid": "1"},
    )
    assert sorted(key_figures_by_email(example_campaign)) == ["an@example.org"]


def test_a_check_with_problems_offers_no_import(client, auth, example_campaign):
    auth.login()
    data = csv_bytes(HEADER, "Fout;geen-adres;CLB;onderwijs")
    page = check(client, example_campaign, data).get_data(as_text=True)
    assert "Problemen gevonden" in page
    assert "Nu importeren" not in page


def test_a_made_up_key_imports_nothing(client, auth, example_campaign):
    auth.login()
    for key in ("../../campaign.sqlite3", "x" * 32, ""):
        reply = client.post(
            f"{base(example_campaign)}/importeren/gecontroleerd", data={"bestand": key}
        )
        assert reply.status_code == 302
    assert count_key_figures(example_campaign) == 0
