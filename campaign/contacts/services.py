"""Key figures: creation, update, opt-out and the CSV import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from campaign import attribution, clock
from campaign.auth import roles
from campaign.auth.services import normalise_email
from campaign.contacts.csvimport import DELIMITERS, ParsedFile, Problem, parse_key_figures
from campaign.database import begin_write
from campaign.extensions import db
from campaign.formatting import plural
from campaign.models import Campaign, KeyFigure, Link, Sector

log = logging.getLogger(__name__)

#: Key-figure fields an import or an edit may change (the e-mail is the key).
FIELDS = ("name", "organisation", "sector_id", "network", "reach", "partner")
#: CSV column -> key-figure field.
COLUMN_FIELDS = {
    "name": "name",
    "organisation": "organisation",
    "sector": "sector_id",
    "network": "network",
    "reach": "reach",
    "partner": "partner",
}


class ContactError(ValueError):
    """A key figure cannot be saved as given; the message is Dutch.

    ``errors`` maps form fields (name, email, sector, reach, ...) to their message.
    """

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def find_key_figure(campaign: Campaign, email: str) -> KeyFigure | None:
    return db.session.scalar(
        select(KeyFigure).where(
            KeyFigure.campaign_id == campaign.id, KeyFigure.email == email.strip().lower()
        )
    )


def get_key_figure(campaign: Campaign, key_figure_id: int) -> KeyFigure | None:
    """The key figure with this id, if it belongs to ``campaign``."""
    key_figure = db.session.get(KeyFigure, key_figure_id)
    if key_figure is None or key_figure.campaign_id != campaign.id:
        return None
    return key_figure


def sector_by_code(campaign: Campaign, code: str) -> Sector | None:
    return next((s for s in campaign.sectors if s.code == code), None)


def save_key_figure(
    campaign: Campaign,
    *,
    name: str,
    email: str,
    organisation: str = "",
    sector_code: str | None = None,
    network: str = "",
    reach: int | None = None,
    partner: str = "",
) -> KeyFigure:
    """Create the key figure, or update the one with this e-mail; give it its own link.

    Raises ``ContactError`` for an invalid e-mail address, an unknown sector or partner.
    """
    try:
        email = normalise_email(email)
        if partner:
            partner = roles.partner_for(list(campaign.organisers or []), partner)
    except ValueError as exc:
        raise ContactError(str(exc).capitalize()) from exc
    sector = None
    if sector_code:
        sector = sector_by_code(campaign, sector_code.strip().lower())
        if sector is None:
            raise ContactError(f"Onbekende sector {sector_code!r}")
    begin_write()
    key_figure = find_key_figure(campaign, email)
    if key_figure is None:
        key_figure = KeyFigure(campaign_id=campaign.id, email=email)
        db.session.add(key_figure)
    key_figure.name = name.strip()
    key_figure.organisation = organisation.strip()
    key_figure.sector = sector
    key_figure.network = network.strip()
    key_figure.reach = reach
    key_figure.partner = partner or roles.partner_for(
        list(campaign.organisers or []), key_figure.partner
    )
    db.session.flush()
    attribution.root_link(key_figure)
    db.session.commit()
    return key_figure


def set_opted_out(key_figure: KeyFigure, opted_out: bool, now: datetime | None = None) -> None:
    """Opt the key figure out of (or back into) every mail of the campaign."""
    begin_write()
    key_figure.opted_out_at = (now or clock.now()) if opted_out else None
    db.session.commit()
    log.info("key figure %s opted %s", key_figure.id, "out" if opted_out else "in")


# --- editing one key figure ------------------------------------------------------------


def _clean_edit(
    campaign: Campaign, key_figure: KeyFigure | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Check the values of the edit form; raise ``ContactError`` with every field's problem."""
    errors: dict[str, str] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = "Vul een naam in."
    email = ""
    try:
        email = normalise_email(values.get("email") or "")
    except ValueError:
        errors["email"] = "Dit is geen geldig e-mailadres."
    other = find_key_figure(campaign, email) if email else None
    if other is not None and other is not key_figure:
        errors["email"] = f"Er is al een sleutelfiguur met dit e-mailadres ({other.name})."
    sector = None
    if values.get("sector_code"):
        sector = sector_by_code(campaign, values["sector_code"])
        if sector is None:
            errors["sector"] = "Kies een sector uit de lijst."
    reach = values.get("reach")
    if reach is not None and reach < 0:
        errors["reach"] = "Het bereik kan niet negatief zijn."
    partner = ""
    try:
        # An edit without a partner keeps the key figure's own.
        given = values.get("partner") or (key_figure.partner if key_figure is not None else "")
        partner = roles.partner_for(list(campaign.organisers or []), given)
    except roles.PartnerError as exc:
        errors["partner"] = str(exc)
    if errors:
        raise ContactError(" ".join(errors.values()), errors)
    return {
        "name": name,
        "email": email,
        "organisation": (values.get("organisation") or "").strip(),
        "sector_id": sector.id if sector else None,
        "network": (values.get("network") or "").strip(),
        "reach": reach,
        "partner": partner,
    }


def update_key_figure(key_figure: KeyFigure, **values: Any) -> KeyFigure:
    """Change a key figure's details (name, email, organisation, sector_code, network, reach).

    Raises ``ContactError`` (with ``errors`` per field) and changes nothing when a
    value is invalid or the e-mail belongs to another key figure of the campaign.
    """
    clean = _clean_edit(key_figure.campaign, key_figure, values)
    begin_write()
    for name, value in clean.items():
        setattr(key_figure, name, value)
    db.session.commit()
    log.info("key figure %s updated", key_figure.id)
    return key_figure


def create_key_figure(campaign: Campaign, **values: Any) -> KeyFigure:
    """Add one key figure by hand, with its own link; refuses an e-mail already in use."""
    clean = _clean_edit(campaign, None, values)
    begin_write()
    key_figure = KeyFigure(campaign_id=campaign.id, **clean)
    db.session.add(key_figure)
    db.session.flush()
    attribution.root_link(key_figure)
    db.session.commit()
    log.info("key figure %s added to campaign %s", key_figure.id, campaign.slug)
    return key_figure


# --- CSV import --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, or (dry run, or refused) what it would do."""

    problems: list[Problem]
    invalid_lines: list[int]
    skip_invalid: bool = False
    dry_run: bool = False
    #: The file cannot be read at all (empty, not a CSV, no usable header).
    unreadable: bool = False
    #: The database refused the write partway; everything was rolled back.
    failed: bool = False
    valid_rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows matching a key figure who opted out; an import never opts them back in.
    opted_out: int = 0
    written: bool = False
    encoding: str = ""
    delimiter: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """The import went through (or, in a dry run, would go through)."""
        return not self.unreadable and not self.failed and (self.skip_invalid or not self.problems)

    @property
    def skipped(self) -> int:
        return len(self.invalid_lines) if self.accepted else 0

    def summary(self) -> str:
        """One Dutch sentence for the command line and the upload page."""
        if not self.accepted:
            lines = plural(len(self.invalid_lines), "regel", "regels")
            if self.unreadable:
                return "Niets geïmporteerd: het bestand kan niet gelezen worden."
            if self.failed:
                return (
                    "Niets geïmporteerd: de databank weigerde het opslaan, dus er is niets "
                    "gewijzigd. Probeer het later opnieuw; lukt het dan nog niet, vraag de "
                    "beheerder de foutmelding in het logboek na te kijken."
                )
            return (
                f"Niets geïmporteerd: {plural(len(self.problems), 'probleem', 'problemen')} "
                f"op {lines}. Verbeter het bestand, of kies om ongeldige regels over te slaan."
            )
        counts = (
            f"{plural(self.new, 'nieuwe sleutelfiguur', 'nieuwe sleutelfiguren')}, "
            f"{self.updated} bijgewerkt, {self.unchanged} ongewijzigd"
        )
        if self.skipped:
            counts += f", {plural(self.skipped, 'regel', 'regels')} overgeslagen"
        if self.dry_run:
            return f"Controle klaar, er is niets opgeslagen. Bij importeren: {counts}."
        return f"Import klaar: {counts}."

    def read_as(self) -> str:
        """How the file was read, e.g. ``Windows-1252, gescheiden door puntkomma``."""
        if not self.encoding or not self.delimiter:
            return ""
        return f"{self.encoding}, gescheiden door {DELIMITERS.get(self.delimiter, self.delimiter)}"


def _report(parsed: ParsedFile, skip_invalid: bool, dry_run: bool) -> ImportReport:
    return ImportReport(
        problems=parsed.problems,
        invalid_lines=parsed.invalid_lines,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        unreadable=parsed.unreadable,
        valid_rows=len(parsed.rows),
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        ignored_columns=parsed.ignored_columns,
    )


def import_key_figures(
    campaign: Campaign,
    data: bytes,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Import key figures from the bytes of a CSV file, all or nothing, in one transaction.

    Every row is checked first.  With problems nothing is written, unless
    ``skip_invalid``: then the valid rows are imported and the others reported.
    Key figures are matched by normalised e-mail: known ones are updated (only
    the columns the file has), never duplicated; opt-outs stay as they are.
    Every key figure ends up with its own root link.  ``dry_run`` writes nothing.
    """
    sectors = list(campaign.sectors)
    parsed = parse_key_figures(data, sectors)
    _check_partners(campaign, parsed)
    report = _report(parsed, skip_invalid, dry_run)
    if not report.accepted or not parsed.rows:
        return report
    if not dry_run:
        begin_write()
    try:
        plan = _plan(campaign, parsed, report)
        if not dry_run:
            _write(campaign, plan, now or clock.now())
            db.session.commit()
            report.written = True
    except SQLAlchemyError:
        # One transaction: the rollback undoes every row written before the failure.
        db.session.rollback()
        log.exception("key-figure import into %s failed; rolled back", campaign.slug)
        report.failed = True
        return report
    except Exception:
        db.session.rollback()
        raise
    log.info(
        "key-figure import into %s%s: %d new, %d updated, %d unchanged, %d skipped",
        campaign.slug,
        " (dry run)" if dry_run else "",
        report.new,
        report.updated,
        report.unchanged,
        report.skipped,
    )
    return report


def _check_partners(campaign: Campaign, parsed: ParsedFile) -> None:
    """Resolve each row's partner (``roles.partner_for``: the account's limit, the only
    organiser, else the first); a row with an unknown partner, or (for an account limited
    to a partner) a key figure of another partner, becomes a problem of its line."""
    organisers = list(campaign.organisers or [])
    limit = roles.partner_limit()
    others: set[str] = set()
    if limit:
        others = set(
            db.session.scalars(
                select(KeyFigure.email).where(
                    KeyFigure.campaign_id == campaign.id, KeyFigure.partner != limit
                )
            )
        )
    valid = []
    for row in parsed.rows:
        try:
            row.partner = roles.partner_for(organisers, row.partner)
        except roles.PartnerError as exc:
            parsed.problems.append(Problem(row.line, str(exc)))
        else:
            if row.email not in others:
                valid.append(row)
                continue
            parsed.problems.append(
                Problem(row.line, f"{row.email} is een sleutelfiguur van een andere partner.")
            )
        parsed.invalid_lines.append(row.line)
    parsed.rows = valid
    parsed.invalid_lines.sort()


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


def _plan(campaign: Campaign, parsed: ParsedFile, report: ImportReport) -> _Plan:
    """Split the rows into new and changed key figures, in one query for the known ones."""
    columns = [KeyFigure.id, KeyFigure.email, KeyFigure.opted_out_at]
    columns += [getattr(KeyFigure, name) for name in FIELDS]
    query = select(*columns).where(KeyFigure.campaign_id == campaign.id)
    existing = {row.email: row._asdict() for row in db.session.execute(query)}
    present = {COLUMN_FIELDS[c] for c in parsed.columns if c in COLUMN_FIELDS}
    plan = _Plan()
    for row in parsed.rows:
        current = existing.get(row.email)
        if current is None:
            plan.inserts.append({"email": row.email, **{f: getattr(row, f) for f in FIELDS}})
            continue
        report.opted_out += current["opted_out_at"] is not None
        merged = {f: getattr(row, f) if f in present else current[f] for f in FIELDS}
        if all(merged[f] == current[f] for f in FIELDS):
            report.unchanged += 1
        else:
            plan.updates.append({"b_id": current["id"], **{f"b_{f}": merged[f] for f in FIELDS}})
    report.new, report.updated = len(plan.inserts), len(plan.updates)
    return plan


def _write(campaign: Campaign, plan: _Plan, now: datetime) -> None:
    """Bulk inserts and updates (executemany), then a root link for whoever lacks one."""
    table = cast(Table, KeyFigure.__table__)
    if plan.inserts:
        rows = [
            {**row, "campaign_id": campaign.id, "created_at": now, "updated_at": now}
            for row in plan.inserts
        ]
        db.session.execute(insert(table), rows)
    if plan.updates:
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(updated_at=now, **{f: bindparam(f"b_{f}") for f in FIELDS})
        )
        db.session.execute(statement, plan.updates)
    _add_root_links(campaign)


def _add_root_links(campaign: Campaign) -> None:
    has_root_link = exists().where(Link.key_figure_id == KeyFigure.id, Link.parent_id.is_(None))
    missing = db.session.scalars(
        select(KeyFigure.id).where(KeyFigure.campaign_id == campaign.id, ~has_root_link)
    ).all()
    attribution.add_root_links(campaign.id, list(missing))
