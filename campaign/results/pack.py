"""The results pack: one zip with the data, the codebook, the summary per sector, the
offering catalogue and the report, streamed to the client as it is made.

The zip is written to a pipe that is emptied after every piece, so the whole pack
never sits in memory; the data files come from the export's own functions.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from campaign import clock
from campaign.formatting import format_datetime
from campaign.models import Campaign
from campaign.results import export
from campaign.results.decision import catalogue_rows, decision_summary
from campaign.results.report import sector_summary

#: The files of the pack, in order (the catalogue only when the campaign file declares one).
DATA_CSV = "antwoorden.csv"
DATA_XLSX = "antwoorden.xlsx"
CODEBOOK = "codeboek.csv"
PARTIAL_CSV = "onvolledige-antwoorden.csv"
PARTIAL_CODEBOOK = "onvolledige-antwoorden-codeboek.csv"
SECTORS = "samenvatting-per-sector.csv"
CATALOGUE = "aanbod-digiwijzer.csv"
REPORT = "rapport.html"
README = "lees-mij.txt"


@dataclass(frozen=True)
class PackState:
    """Whether the pack can be downloaded now, and why not."""

    ready: bool
    reason: str


def pack_state(campaign: Campaign) -> PackState:
    """The pack is made after the close: before, the data are still moving."""
    if campaign.state(clock.now()) == "closed":
        return PackState(True, "")
    close = format_datetime(campaign.local(campaign.effective_close))
    return PackState(
        False, f"Het resultatenpakket kan je downloaden zodra de bevraging gesloten is ({close})."
    )


def pack_name(campaign: Campaign) -> str:
    return export.file_name(campaign, "resultatenpakket", "zip")


class _Pipe(io.RawIOBase):
    """A write-only stream whose written bytes are taken out piece by piece."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def csv_bytes(header: list[str], rows: Iterable[list[str]]) -> Iterator[bytes]:
    """CSV as Excel in Belgium reads it (UTF-8 with BOM, semicolons), every text cell
    neutralised against formula injection, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([export.neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([export.neutralise(cell) for cell in row])
        if buffer.tell() >= export.CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def catalogue_csv(campaign: Campaign) -> Iterator[bytes]:
    """The offering catalogue as CSV: one row per taking-part response, the declared fields
    as columns (labels, not codes: this is a list to read and to build on)."""
    summary = decision_summary(campaign)
    catalogue = summary.catalogue
    header = [label for _, label in catalogue.columns] if catalogue else []
    rows = catalogue_rows(campaign) if catalogue and not summary.suppressed else iter(())
    return csv_bytes(header, rows)


def results_pack(campaign: Campaign, report_html: Callable[[], str]) -> Iterator[bytes]:
    """The zip's bytes as they are made. ``report_html`` renders the report (a template,
    which the view owns) when its turn comes."""
    pipe = _Pipe()
    made = campaign.local(clock.now()).timetuple()[:6]
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in _files(campaign, report_html):
            info = zipfile.ZipInfo(name, date_time=made)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as entry:
                for chunk in chunks:
                    entry.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()


def _files(
    campaign: Campaign, report_html: Callable[[], str]
) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield README, [_readme(campaign).encode("utf-8")]
    yield DATA_CSV, export.download(campaign, "csv").chunks
    yield DATA_XLSX, export.download(campaign, "xlsx").chunks
    yield CODEBOOK, export.codebook_download(campaign).chunks
    yield PARTIAL_CSV, export.download(campaign, "csv", partial=True).chunks
    yield PARTIAL_CODEBOOK, export.codebook_download(campaign, partial=True).chunks
    header, rows = sector_summary(campaign)
    yield SECTORS, csv_bytes(header, rows)
    if (campaign.results_settings.get("decision") or {}).get("catalogue"):
        yield CATALOGUE, catalogue_csv(campaign)
    yield REPORT, [report_html().encode("utf-8")]


def _readme(campaign: Campaign) -> str:
    made = format_datetime(campaign.local(clock.now()))
    return "\r\n".join(
        [
            f"Resultatenpakket: {campaign.title}",
            f"Gemaakt op {made}.",
            "",
            f"{DATA_CSV}: de afgeronde antwoorden, een rij per antwoord (UTF-8, puntkomma's).",
            f"{DATA_XLSX}: dezelfde antwoorden en het codeboek als Excel-bestand.",
            f"{CODEBOOK}: elke kolom, code en Nederlandse omschrijving.",
            f"{PARTIAL_CSV}: de antwoorden die niet werden afgerond (apart, niet mee"
            " geteld in de resultaten), met de laatst ingevulde pagina;"
            f" {PARTIAL_CODEBOOK} is hun codeboek.",
            f"{SECTORS}: de respons per sector tegenover het doel, met de kerncijfers.",
            f"{CATALOGUE}: het aanbod van organisaties die aan een Digiwijzer willen meewerken"
            " (enkel als het campagnebestand het vraagt).",
            f"{REPORT}: het rapport, te openen in een browser en af te drukken.",
            "",
            "Groepen van minder dan 5 antwoorden worden in de samenvattingen niet getoond,"
            " zodat niemand herkenbaar is.",
            "",
        ]
    )
