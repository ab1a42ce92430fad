"""Coordinator accounts: creation and password checks."""

import logging

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Coordinator

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A coordinator account cannot be created as asked; the message is Dutch."""


def normalise_email(raw: str) -> str:
    """Return the normalised address; raise ``ValueError`` (Dutch message) when invalid."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"ongeldig e-mailadres: {raw.strip()!r}") from exc
    return result.normalized.lower()


def create_coordinator(email: str, password: str, name: str = "") -> Coordinator:
    """Create a coordinator; raise ``AccountError`` for a bad address, a short password
    or an address that already has an account."""
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise AccountError(str(exc).capitalize() + ".") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.")
    begin_write()
    if find_coordinator(email) is not None:
        db.session.rollback()
        raise AccountError(f"Er bestaat al een account voor {email}.")
    coordinator = Coordinator(
        email=email, name=name.strip(), password_hash=generate_password_hash(password)
    )
    db.session.add(coordinator)
    db.session.commit()
    log.info("coordinator %s created", email)
    return coordinator


def find_coordinator(email: str) -> Coordinator | None:
    return db.session.scalar(select(Coordinator).where(Coordinator.email == email.strip().lower()))


def authenticate(email: str, password: str) -> Coordinator | None:
    """The coordinator with this e-mail and password, or None."""
    coordinator = find_coordinator(email)
    if coordinator is None or not check_password_hash(coordinator.password_hash, password):
        return None
    return coordinator
