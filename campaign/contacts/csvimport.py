"""Reading a key-figure CSV: decoding, delimiter, headers and row checks.

Nothing here touches the database: ``parse_key_figures`` turns the bytes of
an uploaded file into checked rows and a list of problems, each with the
line number a spreadsheet user sees (the header is line 1).  Writing is
``campaign.contacts.services.import_key_figures``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from campaign.auth.services import normalise_email
from campaign.security import VALUE_CONTROL

#: The columns we know, each with the header spellings people use (compared
#: after lower-casing and dropping accents, spaces and punctuation).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "naam", "volledigenaam", "fullname"),
    "email": ("email", "emailadres", "emailaddress", "mail", "mailadres"),
    "organisation": ("organisation", "organization", "organisatie"),
    "sector": ("sector",),
    "network": ("network", "netwerk"),
    "reach": ("reach", "bereik"),
    "partner": ("partner", "partnerorganisatie", "partnerorganisation"),
}
REQUIRED = ("name", "email")
#: Dutch column names, as shown in messages and in the template file.
COLUMN_LABELS = {
    "name": "naam",
    "email": "e-mail",
    "organisation": "organisatie",
    "sector": "sector",
    "network": "netwerk",
    "reach": "bereik",
    "partner": "partner",
}
#: Longest text the database columns take.
MAX_LENGTHS = {"name": 200, "email": 320, "organisation": 200, "network": 200, "partner": 200}
DELIMITERS = {";": "puntkomma", ",": "komma", "\t": "tab"}

_HEADER_INDEX = {
    synonym: column for column, synonyms in HEADER_SYNONYMS.items() for synonym in synonyms
}
_REACH = re.compile(r"\d+|\d{1,3}(?:[. \u00a0]\d{3})+")
#: The biggest reach we take (a newsletter's readers, say); the column is an integer.
MAX_REACH = 10_000_000
#: Python's csv module refuses a longer field (``csv.field_size_limit()``).
FIELD_LIMIT_KIB = csv.field_size_limit() // 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; ``line`` is None for the file as a whole."""

    line: int | None
    message: str

    def describe(self) -> str:
        return f"Regel {self.line}: {self.message}" if self.line else self.message


@dataclass(slots=True)
class KeyFigureRow:
    """One valid row, with its e-mail normalised and its sector resolved to an id."""

    line: int
    name: str
    email: str
    organisation: str = ""
    sector_id: int | None = None
    network: str = ""
    reach: int | None = None
    #: As written in the file; resolved to an organiser by the import (``partner_for``).
    partner: str = ""


@dataclass
class ParsedFile:
    rows: list[KeyFigureRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The known columns the file has; only these are updated on re-import.
    columns: tuple[str, ...] = ()
    #: Headers we did not recognise and therefore ignored.
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    #: True when the file as a whole cannot be read: no row can be imported.
    unreadable: bool = False
    #: Line numbers of rows that have at least one problem.
    invalid_lines: list[int] = field(default_factory=list)


class FileProblem(Exception):
    """The file as a whole cannot be read; the message is Dutch."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class SectorChoice:
    id: int
    code: str
    name: str


def header_key(text: str) -> str:
    """``" E-mailadres "`` -> ``"emailadres"``: lower case, no accents, no punctuation."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", text.lower())


def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the name of its encoding; ``FileProblem`` when it is no text."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            "Dit is een Excel-bestand, geen CSV. Open het in Excel en kies 'Opslaan als' "
            "> 'CSV (gescheiden door lijstscheidingsteken)'."
        )
    for bom, codec, label in (
        (codecs.BOM_UTF8, "utf-8", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), label
            except UnicodeDecodeError as exc:
                raise _not_text() from exc
    if b"\x00" in data:
        raise _not_text()
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise _not_text() from exc


def _not_text() -> FileProblem:
    return FileProblem(
        "Dit bestand is geen leesbaar tekstbestand. Lever een CSV-bestand aan "
        "(in Excel: 'Opslaan als' > 'CSV')."
    )


def _sniff(first_line: str) -> tuple[str, list[str]]:
    """The delimiter under which the header line has the most known columns."""
    best = (-1, 0, ";", [first_line])
    for delimiter in DELIMITERS:
        headers = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for h in headers if header_key(h) in _HEADER_INDEX)
        score = (known, first_line.count(delimiter), delimiter, headers)
        if score[:2] > best[:2]:
            best = score
    return best[2], best[3]


def _map_headers(headers: list[str]) -> tuple[dict[str, int], list[str], list[Problem]]:
    """Column name -> position, the ignored headers, and problems with the header line."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for index, header in enumerate(headers):
        column = _HEADER_INDEX.get(header_key(header))
        if column is None:
            if header.strip():
                ignored.append(header.strip())
        elif column in positions:
            problems.append(
                Problem(1, f"De kolom '{COLUMN_LABELS[column]}' staat er twee keer in.")
            )
        else:
            positions[column] = index
    return positions, ignored, problems


def _expected_columns() -> str:
    return ", ".join(COLUMN_LABELS.values())


def _check_header(positions: dict[str, int], headers: list[str]) -> list[Problem]:
    if not positions:
        return [
            Problem(
                1,
                "Geen herkenbare kolomnamen gevonden; is dit wel een CSV-bestand met "
                f"sleutelfiguren? Verwacht op de eerste regel: {_expected_columns()} "
                "(gescheiden door ; of ,).",
            )
        ]
    missing = [COLUMN_LABELS[c] for c in REQUIRED if c not in positions]
    if missing:
        names = " en ".join(f"'{m}'" for m in missing)
        if len(missing) == 1:
            text = f"Verplichte kolom {names} ontbreekt."
        else:
            text = f"Verplichte kolommen {names} ontbreken."
        return [Problem(1, f"{text} Gevonden: {', '.join(headers)}.")]
    return []


def sector_lookup(sectors: Iterable[Any]) -> dict[str, SectorChoice]:
    """Sector code and name, both in lower case, -> the sector."""
    lookup: dict[str, SectorChoice] = {}
    for sector in sectors:
        choice = SectorChoice(sector.id, sector.code, sector.name)
        lookup[sector.name.strip().lower()] = choice
        lookup[sector.code.lower()] = choice
    return lookup


def parse_key_figures(data: bytes, sectors: Iterable[Any]) -> ParsedFile:
    """Read and check every row of a key-figure CSV; never raises for bad input."""
    parsed = ParsedFile()
    try:
        text, parsed.encoding = decode(data)
        records = _records(text, parsed)
        positions = _read_header(next(records, None), parsed)
    except FileProblem as exc:
        return _unreadable(parsed, Problem(exc.line, str(exc)))
    except csv.Error as exc:
        return _unreadable(parsed, Problem(None, _csv_error(exc)))
    _check_rows(records, positions, sector_lookup(sectors), parsed)
    if not parsed.rows and not parsed.invalid_lines:
        message = "Het bestand bevat alleen een kopregel en geen sleutelfiguren."
        return _unreadable(parsed, Problem(None, message))
    return parsed


def _unreadable(parsed: ParsedFile, problem: Problem) -> ParsedFile:
    parsed.problems.append(problem)
    parsed.unreadable = True
    return parsed


def _csv_error(exc: csv.Error) -> str:
    return f"Dit bestand is geen geldig CSV-bestand ({exc})."


def _records(text: str, parsed: ParsedFile) -> Iterator[list[str]]:
    if not text.strip():
        raise FileProblem("Het bestand is leeg.")
    first_line = text.lstrip("\ufeff").splitlines()[0]
    parsed.delimiter, _ = _sniff(first_line)
    return csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=parsed.delimiter)


def _read_header(headers: list[str] | None, parsed: ParsedFile) -> dict[str, int]:
    headers = headers or []
    positions, parsed.ignored_columns, problems = _map_headers(headers)
    problems = _check_header(positions, headers) or problems
    if problems:
        raise FileProblem(" ".join(p.message for p in problems), line=1)
    parsed.columns = tuple(c for c in HEADER_SYNONYMS if c in positions)
    return positions


def _check_rows(
    records: Iterator[list[str]],
    positions: dict[str, int],
    sectors: dict[str, SectorChoice],
    parsed: ParsedFile,
) -> None:
    """Check every data row; collect the valid ones and every problem, by line."""
    seen: dict[str, int] = {}
    width = max(positions.values()) + 1
    for line, record in _numbered(records, parsed):
        if not any(value.strip() for value in record):
            continue  # a blank line, as spreadsheets leave at the end
        values = record + [""] * (width - len(record))
        row, problems = _check_row(line, values, positions, sectors)
        problems += _extra_values(line, record, len(positions), parsed)
        problems += _swallowed_rows(line, record, parsed)
        if row is not None and row.email in seen:
            problems.append(
                Problem(line, f"E-mailadres {row.email} staat al op regel {seen[row.email]}.")
            )
        elif row is not None:
            seen[row.email] = line
        if problems:
            parsed.problems += problems
            parsed.invalid_lines.append(line)
        elif row is not None:
            parsed.rows.append(row)


def _numbered(records: Any, parsed: ParsedFile) -> Iterator[tuple[int, list[str]]]:
    """(line, values) of each record, numbered as a spreadsheet shows its rows (a quoted
    value on two lines is one row).  A record the csv module refuses (a value over its
    field limit: most often an unclosed quote that runs on through the file) ends the
    reading with a problem on its line and makes the whole file unreadable: nothing
    after it can be trusted."""
    line = 1
    while True:
        line += 1
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            parsed.problems.append(Problem(line, _field_error(exc)))
            parsed.invalid_lines.append(line)
            parsed.unreadable = True
            return
        yield line, record


def _field_error(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (
            f"Een waarde op of na deze regel is langer dan {FIELD_LIMIT_KIB} KiB. Meestal "
            'ontbreekt er een sluitend aanhalingsteken ("), zodat de rest van het bestand '
            "als één waarde gelezen wordt. Verbeter het bestand en probeer opnieuw."
        )
    return _csv_error(exc)


def _swallowed_rows(line: int, record: list[str], parsed: ParsedFile) -> list[Problem]:
    """A quoted value holding a line break *and* the delimiter: an unclosed quote that
    swallowed the rows after it into one value (a value on two lines alone is fine)."""
    swallowed = [
        value for value in record if ("\n" in value or "\r" in value) and parsed.delimiter in value
    ]
    if not swallowed:
        return []
    lines = max(len(value.rstrip("\r\n").splitlines()) - 1 for value in swallowed)
    label = DELIMITERS.get(parsed.delimiter, parsed.delimiter)
    rows = "de regel erna" if lines <= 1 else f"de {lines} regels erna"
    return [
        Problem(
            line,
            'Waarschijnlijk ontbreekt een sluitend aanhalingsteken ("): deze regel en '
            f"{rows} (met een {label} erin) zijn als één waarde gelezen. Sluit het "
            "aanhalingsteken of haal het weg, en probeer opnieuw.",
        )
    ]


def _extra_values(line: int, record: list[str], known: int, parsed: ParsedFile) -> list[Problem]:
    """A row with more filled-in values than the header has columns (a stray delimiter)."""
    header_width = known + len(parsed.ignored_columns)
    if any(value.strip() for value in record[header_width:]):
        label = DELIMITERS.get(parsed.delimiter, parsed.delimiter)
        return [
            Problem(
                line,
                f"Deze regel heeft meer waarden dan er kolommen zijn. Staat er een {label} "
                "in een naam of organisatie? Zet die waarde dan tussen aanhalingstekens.",
            )
        ]
    return []


def _check_row(
    line: int, values: list[str], positions: dict[str, int], sectors: dict[str, SectorChoice]
) -> tuple[KeyFigureRow | None, list[Problem]]:
    """The row as a ``KeyFigureRow`` (None when its e-mail is unusable) and its problems."""
    get = {column: values[index].strip() for column, index in positions.items()}
    problems: list[Problem] = []
    email = _check_email(line, get["email"], problems)
    if not get["name"]:
        problems.append(Problem(line, "De naam ontbreekt."))
    for column, limit in MAX_LENGTHS.items():
        if len(get.get(column, "")) > limit:
            label = COLUMN_LABELS[column].capitalize()
            problems.append(Problem(line, f"{label} is te lang (hoogstens {limit} tekens)."))
    problems += _control_characters(line, get)
    sector_id = _check_sector(line, get.get("sector", ""), sectors, problems)
    reach = _check_reach(line, get.get("reach", ""), problems)
    if email is None:
        return None, problems
    row = KeyFigureRow(
        line=line,
        name=get["name"],
        email=email,
        organisation=get.get("organisation", ""),
        sector_id=sector_id,
        network=get.get("network", ""),
        reach=reach,
        partner=get.get("partner", ""),
    )
    return row, problems


def _control_characters(line: int, values: dict[str, str]) -> list[Problem]:
    """A control character in a value (``security.VALUE_CONTROL``, as in a form field: a
    tab or a line break in a value on two lines is fine), once per column."""
    return [
        Problem(
            line,
            f"{COLUMN_LABELS[column].capitalize()} bevat een onzichtbaar stuurteken "
            "(soms meegekopieerd uit een ander programma). Verwijder het en probeer opnieuw.",
        )
        for column, value in values.items()
        if VALUE_CONTROL.search(value)
    ]


def _check_email(line: int, raw: str, problems: list[Problem]) -> str | None:
    if not raw:
        problems.append(Problem(line, "Het e-mailadres ontbreekt."))
        return None
    try:
        return normalise_email(raw)
    except ValueError:
        problems.append(Problem(line, f"Ongeldig e-mailadres: '{raw}'."))
        return None


def _check_sector(
    line: int, raw: str, sectors: dict[str, SectorChoice], problems: list[Problem]
) -> int | None:
    if not raw:
        return None
    choice = sectors.get(raw.lower())
    if choice is None:
        codes = ", ".join(sorted({c.code for c in sectors.values()}))
        problems.append(Problem(line, f"Onbekende sector '{raw}'. Kies uit: {codes}."))
        return None
    return choice.id


def _check_reach(line: int, raw: str, problems: list[Problem]) -> int | None:
    if not raw:
        return None
    if not _REACH.fullmatch(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        problems.append(
            Problem(line, f"Bereik moet een geheel getal vanaf 0 zijn, niet '{shown}'.")
        )
        return None
    digits = re.sub(r"\D", "", raw).lstrip("0") or "0"
    if len(digits) > len(str(MAX_REACH)) or int(digits) > MAX_REACH:
        problems.append(
            Problem(line, f"Bereik is te groot: hoogstens {MAX_REACH:,}.".replace(",", "."))
        )
        return None
    return int(digits)
