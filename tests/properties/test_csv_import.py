"""Properties of the key-figure CSV import: any bytes give either a clean import or Dutch
problems with line numbers, never an exception; and an import is all or nothing.

The files are drawn two ways: raw bytes, and files that look like a spreadsheet's
export (known and unknown headers, any of the three delimiters, quoting, BOMs and
encodings) with hostile cells (unclosed quotes, line breaks, control characters, huge
numbers, long values, addresses that are almost e-mail addresses)."""

from __future__ import annotations

import codecs
from types import SimpleNamespace

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import delete, select

from campaign.auth.services import normalise_email
from campaign.contacts import csvimport
from campaign.contacts.services import import_key_figures, save_key_figure
from campaign.extensions import db
from campaign.models import KeyFigure, Link
from campaign.security import VALUE_CONTROL
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.properties.conftest import bounded
from tests.properties.dutch import assert_dutch

SECTORS = [
    SimpleNamespace(id=index + 1, code=code, name=name)
    for index, (code, name) in enumerate(
        [("welzijn", "Welzijn"), ("onderwijs", "Onderwijs"), ("andere", "Andere")]
    )
]
#: Header spellings per column; ``None``: a column we do not know.
HEADERS = {
    "name": ["naam", "Name", "Volledige naam"],
    "email": ["e-mail", "E-mailadres", "mail"],
    "organisation": ["organisatie"],
    "sector": ["Sector"],
    "network": ["netwerk"],
    "reach": ["bereik", "Bereik "],
    "partner": ["partner"],
    None: ["opmerking", "", "Opmerkingen"],
}
#: Addresses a few of which are known to the database, so imports also update.
EMAILS = ["an.vermeersch@example.org", "AN.Vermeersch@Example.org ", "bert@example.org"]
PLAUSIBLE = {
    # A vertical tab is Word's line break, pasted into a spreadsheet cell.
    "name": st.sampled_from(["An", "Bert Peeters", "Çelik, Ayşe", "O'Neill", "x" * 201, "A\x0bB"]),
    "email": st.one_of(st.sampled_from(EMAILS), st.emails().map(str)),
    "organisation": st.sampled_from(["CAW", "VDAB Brugge", "", "CAW\x1b[1m", "VDAB\nBrugge"]),
    "sector": st.sampled_from(["welzijn", "Onderwijs", "andere", ""]),
    "network": st.sampled_from(["Netwerk Kust", ""]),
    "reach": st.sampled_from(["10", "1.000", "2 500", "0", "", "10000000", "10.000.001"]),
    "partner": st.sampled_from([""]),
    None: st.sampled_from(["", "zie mail"]),
}
HOSTILE = st.one_of(
    st.sampled_from(["x@", "@example.org", "a@b", "a@@example.org", "a b@example.org", "-1"]),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(['"', '"open', 'a"b', '""', ";", ",", "\t", "\n", "\r\n", "\r", "\x00"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30),
    st.builds(lambda n, c: c * n, st.integers(0, 300), st.sampled_from(["a", "é", '"', "1"])),
)


def cell(draw: st.DrawFn, column: str | None, hostile_tenths: int) -> str:
    return draw(HOSTILE if draw(st.integers(0, 9)) < hostile_tenths else PLAUSIBLE[column])


def quoted(value: str, delimiter: str, how: str) -> str:
    if how == "always" or (how == "needed" and any(c in value for c in delimiter + '"\r\n')):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def spreadsheet_files(draw: st.DrawFn) -> bytes:
    """A file as a spreadsheet exports it, with hostile cells and, now and then, damage."""
    delimiter = draw(st.sampled_from([";", ";", ",", "\t", "|"]))
    columns: list[str | None] = ["name", "email"] if draw(st.integers(0, 9)) else []
    columns += draw(st.lists(st.sampled_from(list(HEADERS)[2:]), max_size=5, unique=True))
    if not draw(st.integers(0, 9)):
        columns.append(draw(st.sampled_from(list(HEADERS))))  # a column twice
    columns = draw(st.permutations(columns))
    headers = [draw(st.sampled_from(HEADERS[c])) for c in columns]
    hostile_tenths = draw(st.sampled_from([0, 0, 1, 3]))  # some files are clean
    rows = [
        [cell(draw, c, hostile_tenths) for c in columns]
        + draw(st.lists(HOSTILE, max_size=1 if hostile_tenths else 0))
        for _ in range(draw(st.integers(0, 6)))
    ]
    how = draw(st.sampled_from(["needed", "needed", "always", "never"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = newline.join(
        delimiter.join(quoted(v, delimiter, how) for v in row) for row in [headers, *rows]
    )
    text += draw(st.sampled_from(["", newline, newline * 3]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if not draw(st.integers(0, 6)):  # a damaged file: a few bytes cut out, or stray ones put in
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=4)) + data[at + draw(st.integers(0, 3)) :]
    return data


FILES = st.one_of(st.binary(max_size=600), spreadsheet_files(), spreadsheet_files())


def physical_lines(data: bytes) -> int:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            data = data[len(bom) :].decode(codec, errors="replace").encode()
    return data.count(b"\n") + data.count(b"\r") + 1


def check_parsed(data: bytes, parsed: csvimport.ParsedFile) -> None:
    """The promises of ``parse_key_figures`` about any file."""
    lines = physical_lines(data)
    for problem in parsed.problems:
        assert problem.line is None or 1 <= problem.line <= lines, (problem, lines)
        assert_dutch(problem.message)
        assert_dutch(problem.describe())
    problem_lines = {p.line for p in parsed.problems}
    assert set(parsed.invalid_lines) <= problem_lines
    if parsed.unreadable or not parsed.rows:
        assert parsed.problems  # nothing to import is always said, and why
    emails = [row.email for row in parsed.rows]
    assert len(emails) == len(set(emails))
    sector_ids = {s.id for s in SECTORS}
    for row in parsed.rows:
        assert row.line not in parsed.invalid_lines and row.line not in problem_lines
        assert 2 <= row.line <= lines
        assert normalise_email(row.email) == row.email
        assert row.name and len(row.name) <= csvimport.MAX_LENGTHS["name"]
        texts = (row.name, row.email, row.organisation, row.network, row.partner)
        assert not any(VALUE_CONTROL.search(text) for text in texts)
        assert row.reach is None or 0 <= row.reach <= csvimport.MAX_REACH
        assert row.sector_id is None or row.sector_id in sector_ids


@bounded(300)
@given(FILES)
def test_any_bytes_give_checked_rows_or_dutch_problems_with_their_line(data: bytes) -> None:
    parsed = csvimport.parse_key_figures(data, SECTORS)
    check_parsed(data, parsed)
    rows, problems = min(len(parsed.rows), 3), min(len(parsed.problems), 3)
    event("unreadable" if parsed.unreadable else f"rows: {rows}, problems: {problems}")


# --- the import into the database: all or nothing ---------------------------------------


def key_figures(campaign_id: int) -> dict[str, tuple]:
    db.session.rollback()
    rows = db.session.scalars(select(KeyFigure).where(KeyFigure.campaign_id == campaign_id))
    return {
        kf.email: (kf.name, kf.organisation, kf.sector_id, kf.network, kf.reach, kf.partner)
        for kf in rows
    }


def reset(campaign) -> None:
    """Back to one known key figure (with its root link), as before each example."""
    db.session.rollback()
    db.session.execute(delete(Link).where(Link.campaign_id == campaign.id))
    db.session.execute(delete(KeyFigure).where(KeyFigure.campaign_id == campaign.id))
    db.session.commit()
    save_key_figure(
        campaign,
        name="An Vermeersch",
        email="an.vermeersch@example.org",
        organisation="CAW",
        sector_code="welzijn",
    )


def test_an_import_of_any_file_is_all_or_nothing_and_never_raises(app) -> None:
    from tests.survey.conftest import load_example

    assert EXAMPLE_CAMPAIGN.exists()
    campaign = load_example()
    campaign_id = campaign.id

    @bounded(50)
    @given(spreadsheet_files(), st.booleans())
    def one_import(data: bytes, skip_invalid: bool) -> None:
        reset(campaign)
        before = key_figures(campaign_id)
        valid = {row.email for row in csvimport.parse_key_figures(data, campaign.sectors).rows}
        report = import_key_figures(campaign, data, skip_invalid=skip_invalid)
        after = key_figures(campaign_id)
        assert_dutch(report.summary())
        for problem in report.problems:
            assert_dutch(problem.describe())
        if report.problems and not skip_invalid:
            assert not report.written  # one problem, and not one row is imported
        if report.written:
            assert report.accepted and not report.failed
            assert set(after) == set(before) | valid  # every valid row, nothing else
            assert len(after) == len(before) + report.new
            assert report.new + report.updated + report.unchanged == report.valid_rows
            links = db.session.scalars(
                select(Link.key_figure_id).where(
                    Link.campaign_id == campaign_id, Link.parent_id.is_(None)
                )
            ).all()
            assert len(links) == len(set(links)) == len(after)  # one root link each
        else:
            assert after == before  # refused or nothing to do: not one row changed
            assert not report.accepted or report.valid_rows == 0

    one_import()
