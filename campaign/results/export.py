"""The answers out of the tool: CSV, XLSX and JSON, each with its codebook, streamed.

Responses are read in batches (``yield_per``) and written as they come, so an
export of 100,000 answers needs no more memory than one of 1,000.  Rows are
ordered by sector and then at random (``random()`` in the database, new for
every export), so their order says nothing about who answered when; a row
carries no response id, link or key figure, and its day of completion but not
the time (a time could be matched to a draw entry or a forward).

Every text cell of a CSV or XLSX file that starts with ``= + - @``, a tab or a
carriage return gets a ``'`` in front, so a spreadsheet never runs it as a
formula (the codebook says so).  JSON carries the answers as given.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import and_, case, func, select, type_coerce

from campaign import attribution, clock
from campaign.extensions import db
from campaign.models import Campaign, ExportLine, Response, Sector
from campaign.results.codebook import (
    FORMULA_STARTS,
    NEUTRALISED_NOTE,
    CodebookEntry,
    Layout,
    QuestionLayout,
    codebook,
    layout,
)

__all__ = [
    "CodebookEntry",
    "codebook",
    "write_codebook_csv",
    "write_csv",
    "write_json",
    "write_xlsx",
]

#: Responses fetched from the database at a time (their decoded answers are most of the
#: memory an export holds: about 10 kB each for the example questionnaire).
BATCH = 200
#: Bytes of CSV or JSON gathered before they are handed on.
CHUNK = 64 * 1024
DELIMITERS = (";", ",")
CODEBOOK_HEADER = [
    "kolom",
    "vraag_id",
    "vraag",
    "onderdeel",
    "type",
    "code",
    "label",
    "versie",
    "toelichting",
]
#: Characters XML 1.0 (and so XLSX) cannot hold; a text answer could carry one.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
WHOLE_NUMBER = re.compile(r"^-?(0|[1-9][0-9]{0,14})$")


class ExportError(ValueError):
    """An export asked for something that does not exist (a Dutch message)."""


def neutralise(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- how each format writes a value -------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How one format writes the values of a cell (None is an empty cell everywhere)."""

    text: Callable[[str], Any]
    code: Callable[[str], Any]
    number: Callable[[Any], Any]
    day: Callable[[date], Any]


def _decimal_comma(value: Any) -> Any:
    return str(value).replace(".", ",") if isinstance(value, float) else value


def _xlsx_text(text: str) -> str:
    """Neutralised, without the characters XML cannot hold, and every line break a line
    feed (XML reads a bare carriage return back as a line feed anyway)."""
    cleaned = neutralise(XML_ILLEGAL.sub("", text))
    return cleaned.replace("\r\n", "\n").replace("\r", "\n") if "\r" in cleaned else cleaned


def _xlsx_code(code: str) -> Any:
    """Codes like ``"4"`` as numbers (a scale one can average), others as text."""
    return int(code) if WHOLE_NUMBER.match(code) else _xlsx_text(code)


def _same(value: Any) -> Any:
    return value


def csv_style(delimiter: str) -> Style:
    number = _decimal_comma if delimiter == ";" else _same
    return Style(neutralise, neutralise, number, date.isoformat)


XLSX_STYLE = Style(_xlsx_text, _xlsx_code, _same, _same)
JSON_STYLE = Style(_same, _same, _same, date.isoformat)


# --- rows ---------------------------------------------------------------------------------

Extractor = Callable[[Mapping[str, Any]], list[Any]]


class Codes(dict[Any, Any]):
    """Stored code -> cell, for one column: the question's codes written by the style once,
    a code seen only in the data written (and remembered) when first met; None stays
    None.  A lookup is one dict access per cell, which is most of the export's work."""

    def __init__(self, values: list[str], style: Style) -> None:
        super().__init__({value: style.code(value) for value in values})
        self[None] = None
        self.style = style

    def __missing__(self, value: Any) -> Any:
        cell = self.style.code(str(value))
        self[value] = cell
        return cell


def _extractor(question: QuestionLayout, style: Style) -> Extractor:
    """A function from a response's answers to this question's cells, for ``style``."""
    spec = question.question
    qid, kind, other = spec["id"], spec["type"], bool(spec.get("other"))
    values = [o["value"] for o in question.options]
    codes = Codes(values, style)
    if kind == "grid":
        items = [item["id"] for item in spec["items"]]
        return lambda answers: _grid(answers.get(qid), items, codes)
    if kind == "multiple":
        return lambda answers: _multiple(answers.get(qid), values, other, style)
    if kind == "number":
        return lambda answers: [_number(answers.get(qid), style)]
    if kind in ("text", "textarea"):
        return lambda answers: [_text(answers.get(qid), style)]
    other_cell = style.code(question.other_code)
    if other:
        return lambda answers: _single_with_other(answers.get(qid), codes, other_cell, style)
    return lambda answers: [codes[answers.get(qid)]]


def _grid(answer: Any, items: list[str], codes: Codes) -> list[Any]:
    if not isinstance(answer, dict):
        return [None] * len(items)
    return [codes[value] for value in map(answer.get, items)]


def _multiple(answer: Any, values: list[str], other: bool, style: Style) -> list[Any]:
    if not isinstance(answer, list):
        return [None] * (len(values) + other)
    chosen = {v for v in answer if isinstance(v, str)}
    cells: list[Any] = [1 if v in chosen else 0 for v in values]
    if other:
        texts = [v["other"] for v in answer if isinstance(v, dict) and v.get("other")]
        cells.append(_text(texts[0], style) if texts else None)
    return cells


def _single_with_other(answer: Any, codes: Codes, other_cell: Any, style: Style) -> list[Any]:
    if isinstance(answer, dict):
        return [other_cell, _text(answer.get("other"), style)]
    return [codes[answer], None]


def _number(answer: Any, style: Style) -> Any:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return None if answer is None else _text(str(answer), style)
    return style.number(answer)


def _text(answer: Any, style: Style) -> Any:
    if answer is None or answer == "":
        return None
    return style.text(str(answer))


@dataclass
class Table:
    """The rows of one export; ``count`` is how many were produced so far."""

    layout: Layout
    campaign: Campaign
    style: Style
    count: int = 0

    @property
    def header(self) -> list[str]:
        return self.layout.header

    def rows(self) -> Iterator[list[Any]]:
        """One list of cells per response, read from the database in batches."""
        cells = self.cells()
        for answers, version, sector, moment, last_page in _responses(
            self.campaign, self.layout.partial
        ):
            self.count += 1
            yield [self.count, *cells(answers, version, sector, moment, last_page)]

    def cells(self) -> Callable[[Any, int, str | None, datetime, int], list[Any]]:
        """A function from one response's stored values to its cells after the row number
        (the rows above and the kept CSV lines of ``export_lines`` both use it)."""
        extractors = [_extractor(question, self.style) for question in self.layout.questions]
        sectors = Codes(list(self.layout.sectors), self.style)
        pages = self.layout.page_ids
        zone = self.campaign.zone
        partial, style = self.layout.partial, self.style

        def cells(
            answers: Any, version: int, sector: str | None, moment: datetime, last_page: int
        ) -> list[Any]:
            row: list[Any] = [version, sectors[sector], style.day(moment.astimezone(zone).date())]
            if partial:
                page = pages[last_page] if 0 <= last_page < len(pages) else None
                row.append(style.code(page) if page else None)
            answers = answers or {}
            for extract in extractors:
                row.extend(extract(answers))
            return row

        return cells


def _responses(campaign: Campaign, partial: bool) -> Iterator[Any]:
    """(answers, version, sector code, day moment, last page) of the counted responses,
    completed ones (or only the others when ``partial``), by sector then at random."""
    state = Response.completed_at.is_(None) if partial else Response.completed_at.is_not(None)
    moment = Response.updated_at if partial else Response.completed_at
    query = (
        select(
            Response.answers,
            Response.questionnaire_version,
            Sector.code,
            moment,
            Response.last_page,
        )
        .outerjoin(Sector, Sector.id == Response.sector_id)
        .where(*attribution.counted_responses(campaign.id), state)
        .order_by(Sector.position.is_(None), Sector.position, Sector.id, func.random())
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def table(campaign: Campaign, style: Style, *, partial: bool = False) -> Table:
    return Table(layout(campaign, partial=partial), campaign, style)


# --- CSV ----------------------------------------------------------------------------------


def _check_delimiter(delimiter: str) -> None:
    if delimiter not in DELIMITERS:
        raise ExportError(f"Onbekend scheidingsteken {delimiter!r}: kies ';' of ','.")


def _csv_chunks(header: list[str], rows: Iterator[list[Any]], delimiter: str) -> Iterator[str]:
    """CSV text (no BOM) in chunks of about ``CHUNK`` characters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_chunks(
    campaign: Campaign, *, partial: bool = False, delimiter: str = ";"
) -> tuple[Table, Iterator[str]]:
    """The CSV export as text chunks (the first one starts with the BOM), and its table
    (whose ``count`` says how many rows were written once the chunks are consumed)."""
    _check_delimiter(delimiter)
    if not partial:
        from campaign.results import export_lines

        # The rows of responses completed since the last export are made and kept now
        # (short transactions; nothing when all are kept): the survey's completion does
        # not make them, it is the respondent's hot path.
        export_lines.refresh(campaign)
    data = table(campaign, csv_style(delimiter), partial=partial)
    if partial:
        chunks = _csv_chunks(data.header, data.rows(), delimiter)
    else:
        chunks = _kept_csv_chunks(data, delimiter)
    return data, _with_bom(chunks)


def _kept_csv_chunks(data: Table, delimiter: str) -> Iterator[str]:
    """The completed responses' CSV: each response's kept row (``export_lines``) with its
    row number in front, or, for a response without a current one, its row made from its
    answers here (the same cells); in the order of ``_responses``."""
    from campaign.results import export_lines

    campaign = data.campaign
    mark = export_lines.fingerprint(campaign)
    line = ExportLine.semicolon if delimiter == ";" else ExportLine.comma
    query = (
        select(
            line,
            type_coerce(case((line.is_(None), Response.answers)), Response.answers.type),
            Response.questionnaire_version,
            Sector.code,
            # only what a row without a kept one needs is read and converted
            type_coerce(case((line.is_(None), Response.completed_at)), Response.completed_at.type),
        )
        .select_from(Response)
        .outerjoin(Sector, Sector.id == Response.sector_id)
        .outerjoin(
            ExportLine,
            and_(
                ExportLine.response_id == Response.id,
                ExportLine.fingerprint == mark,
                ExportLine.response_updated_at == Response.updated_at,
            ),
        )
        .where(*attribution.counted_responses(campaign.id), Response.completed_at.is_not(None))
        .order_by(Sector.position.is_(None), Sector.position, Sector.id, func.random())
        .execution_options(yield_per=BATCH)
    )
    cells = data.cells()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(data.header)
    write = buffer.write
    for kept, answers, version, sector, moment in db.session.execute(query):
        data.count += 1
        if kept is not None:
            write(f"{data.count}{delimiter}{kept}")
        else:
            writer.writerow([data.count, *cells(answers, version, sector, moment, 0)])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _with_bom(chunks: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from chunks


def _write_text(stream: TextIO | BinaryIO | IO[Any], chunks: Iterator[str]) -> None:
    """Write text chunks to a text stream, or UTF-8 to a binary one."""
    if isinstance(stream, io.TextIOBase):
        for chunk in chunks:
            stream.write(chunk)
        return
    binary = cast(BinaryIO, stream)
    for chunk in chunks:
        binary.write(chunk.encode("utf-8"))


def write_csv(
    campaign: Campaign,
    stream: TextIO | BinaryIO | IO[Any],
    *,
    partial: bool = False,
    delimiter: str = ";",
) -> int:
    """Write the answers of ``campaign`` as CSV (UTF-8 with BOM) to ``stream``; returns the
    number of rows.  ``partial``: the responses that were not completed, instead of the
    completed ones.  A text stream should be opened with ``newline=""``."""
    data, chunks = csv_chunks(campaign, partial=partial, delimiter=delimiter)
    _write_text(stream, chunks)
    return data.count


def _codebook_rows(entries: list[CodebookEntry], style: Style) -> Iterator[list[Any]]:
    """The codebook long: one row per code of each column (one row when it has none)."""
    for entry in entries:
        first = [entry.column, entry.question_id, style.text(entry.question)]
        first += [style.text(entry.part), style.text(entry.type)]
        tail = [entry.version, style.text(entry.note)]
        for code, label in entry.codes or (("", ""),):
            yield first + [style.code(code) if code else "", style.text(label)] + tail


def codebook_chunks(
    campaign: Campaign, *, partial: bool = False, delimiter: str = ";"
) -> Iterator[str]:
    """The codebook as CSV text chunks, starting with the BOM."""
    _check_delimiter(delimiter)
    entries = codebook(campaign, partial=partial)
    rows = _codebook_rows(entries, csv_style(delimiter))
    return _with_bom(_csv_chunks(CODEBOOK_HEADER, rows, delimiter))


def write_codebook_csv(
    campaign: Campaign,
    stream: TextIO | BinaryIO | IO[Any],
    delimiter: str = ";",
    *,
    partial: bool = False,
) -> None:
    """Write the codebook of the export of ``campaign`` as CSV (UTF-8 with BOM)."""
    _write_text(stream, codebook_chunks(campaign, partial=partial, delimiter=delimiter))


# --- XLSX ---------------------------------------------------------------------------------


def write_xlsx(
    campaign: Campaign, path_or_stream: str | Path | IO[bytes], *, partial: bool = False
) -> int:
    """Write the answers (sheet "antwoorden") and the codebook (sheet "codeboek") as XLSX;
    returns the number of rows.  openpyxl's write-only mode writes each row to a temporary
    file as it comes (strings inline, no shared-string table), and zips them at the end."""
    data = table(campaign, XLSX_STYLE, partial=partial)
    workbook = Workbook(write_only=True)
    _sheet(workbook, "antwoorden", data.header, data.rows(), freeze="B2")
    _sheet(
        workbook,
        "codeboek",
        CODEBOOK_HEADER,
        _codebook_rows(data.layout.entries, XLSX_STYLE),
        freeze="A2",
    )
    workbook.save(path_or_stream)
    return data.count


def _sheet(
    workbook: Any, title: str, header: list[str], rows: Iterator[list[Any]], freeze: str
) -> None:
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = freeze  # must be set before the first row is written
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append(row)


# --- JSON ---------------------------------------------------------------------------------


def campaign_part(campaign: Campaign, *, partial: bool = False) -> dict[str, Any]:
    """What the JSON export says about the campaign and about the export itself."""
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "organisers": list(campaign.organisers or []),
        "questionnaire_version": campaign.questionnaire_version,
        "export": "onvolledige antwoorden" if partial else "afgeronde antwoorden",
        "partial": partial,
        "exported_on": clock.now().astimezone(campaign.zone).date().isoformat(),
        "notes": [
            "De antwoorden zijn anoniem: geen naam, e-mailadres, link of sleutelfiguur, "
            "en van het afronden alleen de dag.",
            "De rijen staan per sector en binnen een sector in een willekeurige volgorde.",
            NEUTRALISED_NOTE + " In dit JSON-bestand staan de antwoorden zoals gegeven.",
        ],
    }


def json_chunks(campaign: Campaign, *, partial: bool = False) -> tuple[Table, Iterator[str]]:
    """The JSON export as text chunks, and its table (see ``csv_chunks``)."""
    data = table(campaign, JSON_STYLE, partial=partial)
    return data, _json_chunks(campaign, data)


def _json_chunks(campaign: Campaign, data: Table) -> Iterator[str]:
    head = json.dumps(campaign_part(campaign, partial=data.layout.partial), ensure_ascii=False)
    entries = [entry.as_dict() for entry in data.layout.entries]
    yield '{"campaign": ' + head + ',\n"codebook": ' + json.dumps(entries, ensure_ascii=False)
    yield ',\n"responses": ['
    header, parts, size, separator = data.header, [], 0, "\n"
    for row in data.rows():
        part = separator + json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False)
        separator = ",\n"
        parts.append(part)
        size += len(part)
        if size >= CHUNK:
            yield "".join(parts)
            parts, size = [], 0
    yield "".join(parts) + "\n]}\n"


def write_json(
    campaign: Campaign, stream: TextIO | BinaryIO | IO[Any], *, partial: bool = False
) -> int:
    """Write ``{"campaign": ..., "codebook": [...], "responses": [...]}`` (UTF-8) to
    ``stream``; returns the number of responses."""
    data, chunks = json_chunks(campaign, partial=partial)
    _write_text(stream, chunks)
    return data.count


# --- downloads ----------------------------------------------------------------------------

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json; charset=utf-8",
}


@dataclass(frozen=True)
class Download:
    """A file to send: its name, its type, and its bytes as they are made."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class ExportSummary:
    """What the export page shows before anything is downloaded."""

    completed: int
    partial: int
    columns: int
    version: int

    @property
    def empty(self) -> bool:
        return self.completed == 0 and self.partial == 0


def export_summary(campaign: Campaign) -> ExportSummary:
    totals = attribution.response_totals(campaign)
    return ExportSummary(
        completed=totals.completed,
        partial=totals.started - totals.completed,
        columns=len(layout(campaign).header),
        version=campaign.questionnaire_version,
    )


def file_name(campaign: Campaign, what: str, extension: str) -> str:
    """``<slug>-<what>-<today>.<extension>``, today on the campaign's calendar."""
    today = clock.now().astimezone(campaign.zone).date().isoformat()
    return f"{campaign.slug}-{what}-{today}.{extension}"


def download(
    campaign: Campaign, file_format: str, *, partial: bool = False, delimiter: str = ";"
) -> Download:
    """The export of ``campaign`` in ``file_format`` (csv, xlsx, json) as a download.
    Raises ``ExportError`` for an unknown format or delimiter (before anything is read)."""
    if file_format not in MIMETYPES:
        raise ExportError(f"Onbekend formaat {file_format!r}: kies csv, xlsx of json.")
    _check_delimiter(delimiter)
    what = "onvolledige-antwoorden" if partial else "antwoorden"
    name = file_name(campaign, what, file_format)

    def produce(again: Campaign) -> Iterator[bytes]:
        if file_format == "xlsx":
            return _xlsx_chunks(again, partial)
        if file_format == "json":
            return _encoded(json_chunks(again, partial=partial)[1])
        return _encoded(csv_chunks(again, partial=partial, delimiter=delimiter)[1])

    return Download(name, MIMETYPES[file_format], _later(campaign.id, produce))


def codebook_download(
    campaign: Campaign, *, delimiter: str = ";", partial: bool = False
) -> Download:
    """The codebook alone, as CSV (``partial``: of the export of unfinished responses)."""
    _check_delimiter(delimiter)

    def produce(again: Campaign) -> Iterator[bytes]:
        return _encoded(codebook_chunks(again, delimiter=delimiter, partial=partial))

    what = "onvolledige-antwoorden-codeboek" if partial else "codeboek"
    name = file_name(campaign, what, "csv")
    return Download(name, MIMETYPES["csv"], _later(campaign.id, produce))


def _later(campaign_id: int, produce: Callable[[Campaign], Iterator[bytes]]) -> Iterator[bytes]:
    """``produce(campaign)``, started when the first chunk is asked for.

    A streamed body is made after the view has returned: Flask pops the request's
    contexts (Flask-SQLAlchemy's teardown removes the session, detaching the view's
    campaign) and pushes them again for the body, so the campaign is read again here.
    """
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:  # deleted in between: an empty file rather than a broken one
        return
    yield from produce(campaign)


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


def _xlsx_chunks(campaign: Campaign, partial: bool) -> Iterator[bytes]:
    """The XLSX file made in a temporary file (a zip is written whole), then sent in chunks."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(campaign, spool, partial=partial)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
