"""The CSV template coordinators can download and fill in."""

from __future__ import annotations

import csv
import io

from campaign.auth import roles
from campaign.models import Campaign

TEMPLATE_FILENAME = "sleutelfiguren-sjabloon.csv"
HEADERS = ["naam", "e-mail", "organisatie", "sector", "netwerk", "bereik", "partner"]
EXAMPLE_ROWS = [
    [
        "An Voorbeeld",
        "an.voorbeeld@example.org",
        "CAW Voorbeeldregio",
        "welzijn",
        "Netwerk eerstelijn",
        "40",
    ],
    ["Bram Proef", "bram.proef@example.org", "Gemeente Voorbeeldstad", "lokaal_bestuur", "", ""],
]


def example_rows(campaign: Campaign) -> list[list[str]]:
    """The example rows, with sectors this campaign knows (the first two, else none) and
    the partner a row without one gets (``roles.partner_for``)."""
    codes = [s.code for s in campaign.sectors]
    partner = roles.partner_for(list(campaign.organisers or []), "")
    rows = []
    for index, row in enumerate(EXAMPLE_ROWS):
        sector = row[3] if row[3] in codes else (codes[index] if index < len(codes) else "")
        rows.append([*row[:3], sector, *row[4:], partner])
    return rows


def template_csv(campaign: Campaign) -> bytes:
    """A semicolon-separated UTF-8 file with a BOM, so Excel on a Flemish PC opens it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(example_rows(campaign))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
