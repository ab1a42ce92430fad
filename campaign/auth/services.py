"""Coordinator accounts: creation, invitations with a one-time link, roles, partner
limits, deactivation, and password checks."""

import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from campaign import clock, formatting
from campaign.auth import roles
from campaign.auth.passwords import password_problem
from campaign.auth.sessions import end_sessions
from campaign.database import begin_write
from campaign.extensions import db
from campaign.history import current_actor, record_event
from campaign.models import Campaign, Coordinator, Message, new_session_token
from campaign.tokens import SET_PASSWORD, InvalidToken, make_token, read_token
from campaign.urls import public_url

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """A coordinator account cannot be created as asked; the message is Dutch."""


def normalise_email(raw: str) -> str:
    """Return the normalised address; raise ``ValueError`` (Dutch message) when invalid."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"ongeldig e-mailadres: {raw.strip()!r}") from exc
    return result.normalized.lower()


def create_coordinator(
    email: str,
    password: str,
    name: str = "",
    role: str = roles.ADMIN,
    partner: str | None = None,
) -> Coordinator:
    """Create an account with a password (``flask users create``; an administrator unless
    ``role`` says otherwise); raise ``AccountError`` for a bad address, a password
    ``password_problem`` refuses, an unknown role, or an address that already has an
    account."""
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise AccountError(str(exc).capitalize() + ".") from exc
    check_role(role, partner or None)
    problem = password_problem(password, (email, name))
    if problem:
        raise AccountError(problem)
    begin_write()
    if find_coordinator(email) is not None:
        db.session.rollback()
        raise AccountError(f"Er bestaat al een account voor {email}.")
    coordinator = Coordinator(
        email=email,
        name=name.strip(),
        password_hash=generate_password_hash(password),
        role=role,
        partner=partner or None,
    )
    db.session.add(coordinator)
    db.session.commit()
    log.info("coordinator %s created", email)
    return coordinator


def find_coordinator(email: str) -> Coordinator | None:
    return db.session.scalar(select(Coordinator).where(Coordinator.email == email.strip().lower()))


def authenticate(email: str, password: str) -> Coordinator | None:
    """The active coordinator with this e-mail and password, or None (an invited account
    without a password yet, a deactivated one).  Each attempt writes a log line: the
    account's id and the outcome, never the password, nor the address tried for an
    account that does not exist."""
    coordinator = find_coordinator(email)
    if coordinator is None or not coordinator.password_hash or not coordinator.is_active:
        # The same work as a wrong password, so the answer's time tells no one whether
        # an account exists.
        check_password_hash(_dummy_hash(), password)
        if coordinator is None:
            log.warning("login failed: no account with that address")
        else:
            state = "has no password yet" if coordinator.is_active else "is deactivated"
            log.warning("login failed: coordinator %s %s", coordinator.id, state)
        return None
    if not check_password_hash(coordinator.password_hash, password):
        log.warning("login failed: wrong password for coordinator %s", coordinator.id)
        return None
    log.info("login of coordinator %s", coordinator.id)
    return coordinator


def log_out(coordinator: Coordinator) -> None:
    """Logout: every session of the account ends, a copied cookie's too (the caller then
    takes the login out of this browser with Flask-Login's ``logout_user``)."""
    begin_write()
    end_sessions(coordinator)
    db.session.commit()
    log.info("logout of coordinator %s: its sessions end", coordinator.id)


def check_new_password(password: str, confirmation: str, coordinator: Coordinator) -> None:
    """The rules for the account's new password (set through a link or changed): what
    ``password_problem`` allows, the same twice; ``AccountError`` otherwise."""
    problem = password_problem(password, (coordinator.email, coordinator.name))
    if problem:
        raise AccountError(problem)
    if password != confirmation:
        raise AccountError("De twee wachtwoorden zijn niet gelijk.")


def change_password(
    coordinator: Coordinator, current: str, password: str, confirmation: str
) -> None:
    """A logged-in coordinator's own new password: the current one must be right, the new
    one follows ``check_new_password``; every session of the account ends (the caller
    logs this browser in again), and the audit trail records it.  ``AccountError``
    (Dutch) otherwise, with nothing changed."""
    if not coordinator.password_hash or not check_password_hash(coordinator.password_hash, current):
        log.warning("password change refused: wrong current password")
        raise AccountError("Je huidige wachtwoord klopt niet.")
    check_new_password(password, confirmation, coordinator)
    if password == current:
        raise AccountError("Kies een ander wachtwoord dan je huidige.")
    begin_write()
    coordinator.password_hash = generate_password_hash(password)
    end_sessions(coordinator)
    record_event(None, "password_changed", email=coordinator.email)
    db.session.commit()
    log.info("coordinator %s changed their password: its other sessions end", coordinator.id)


@functools.cache
def _dummy_hash() -> str:
    """A hash made like the accounts' hashes, of a password nobody has."""
    return generate_password_hash(secrets.token_urlsafe(16))


# --- accounts managed on the dashboard -------------------------------------------------


def check_role(role: str, partner: str | None, organisers: list[str] | None = None) -> None:
    """Raise ``AccountError`` for an unknown role, a limited administrator, or a partner
    that is not one of ``organisers`` (when given)."""
    if role not in roles.ROLE_LABELS:
        raise AccountError(f"Onbekende rol '{role}'. Kies uit: {', '.join(roles.ROLE_LABELS)}.")
    if partner and role == roles.ADMIN:
        raise AccountError(
            "Een campagnebeheerder ziet alle partners: kies 'Coördinator' of 'Kijker' "
            "om een account tot één partnerorganisatie te beperken."
        )
    if partner and organisers is not None and partner not in organisers:
        raise AccountError(f"Onbekende partnerorganisatie '{partner}'.")


@dataclass(frozen=True)
class AccountChoice:
    """What an administrator fills in to invite or change an account."""

    name: str = ""
    role: str = roles.COORDINATOR
    partner: str | None = None


def invite_coordinator(
    campaign: Campaign, email: str, choice: AccountChoice, now: datetime | None = None
) -> Coordinator:
    """Make an account without a password and queue (in ``campaign``'s outbox) the mail
    with its one-time link to set one.  Raises ``AccountError``; writes nothing then."""
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise AccountError(str(exc).capitalize() + ".") from exc
    partner = choice.partner or None
    check_role(choice.role, partner, list(campaign.organisers or []))
    begin_write()
    if find_coordinator(email) is not None:
        db.session.rollback()
        raise AccountError(f"Er bestaat al een account voor {email}.")
    coordinator = Coordinator(
        email=email,
        name=choice.name.strip()[:200],
        password_hash="",
        role=choice.role,
        partner=partner,
        invited_by=current_actor(),
    )
    db.session.add(coordinator)
    db.session.flush()
    _queue_password_mail_or_refuse(campaign, coordinator, reset=False, now=now)
    record_event(campaign, "account_invited", email=email, role=choice.role, partner=partner)
    db.session.commit()
    log.info("coordinator %s invited", coordinator.id)
    return coordinator


def _queue_password_mail_or_refuse(
    campaign: Campaign, coordinator: Coordinator, *, reset: bool, now: datetime | None
) -> None:
    """``_queue_password_mail``; a mail that cannot be made (no sender set) rolls the whole
    change back and raises ``AccountError`` with the mail's Dutch reason."""
    from campaign.mailing.render import MailError

    try:
        _queue_password_mail(campaign, coordinator, reset=reset, now=now)
    except MailError as exc:
        db.session.rollback()
        raise AccountError(f"De mail kan niet vertrekken: {exc}") from exc


def _queue_password_mail(
    campaign: Campaign, coordinator: Coordinator, *, reset: bool, now: datetime | None
) -> None:
    """A new one-time link (the old one stops working) and its mail, in the caller's
    transaction."""
    from campaign.mailing.render import campaign_context
    from campaign.mailing.services import Recipient, insert_ignoring_duplicates, render_rows

    now = now or clock.now()
    coordinator.token_nonce = secrets.token_urlsafe(24)
    coordinator.token_issued_at = now
    token = make_token(SET_PASSWORD, {"c": coordinator.id, "n": coordinator.token_nonce})
    valid_until = now + timedelta(seconds=SET_PASSWORD.max_age or 0)
    context = {
        **campaign_context(campaign),
        "name": coordinator.name,
        "inviter": current_actor(),
        "reset": reset,
        "role_label": roles.ROLE_LABELS[coordinator.role],
        "partner": coordinator.partner or "",
        "set_password_url": public_url("auth.set_password", token=token),
        "valid_until": formatting.format_datetime(campaign.local(valid_until)),
    }
    last_round = db.session.scalar(
        select(func.max(Message.round)).where(
            Message.campaign_id == campaign.id,
            Message.kind == "account",
            Message.recipient_email == coordinator.email,
        )
    )
    recipient = Recipient(email=coordinator.email, name=coordinator.name, context=context)
    rows = render_rows(campaign, "account", [recipient], (last_round or 0) + 1)
    insert_ignoring_duplicates(rows, now)


def send_password_link(
    campaign: Campaign, coordinator: Coordinator, now: datetime | None = None
) -> None:
    """ "Wachtwoord opnieuw instellen": a new one-time link by mail (the old one stops
    working); the current password keeps working until the new one is set."""
    begin_write()
    _queue_password_mail_or_refuse(campaign, coordinator, reset=True, now=now)
    record_event(campaign, "account_reset", email=coordinator.email)
    db.session.commit()
    log.info("coordinator %s: new set-password link", coordinator.id)


def account_for_token(token: str) -> Coordinator:
    """The account a set-password link is for; ``InvalidToken`` when the link was
    tampered with, expired, already used or replaced, or the account is deactivated."""
    payload = read_token(SET_PASSWORD, token)
    coordinator = db.session.get(Coordinator, int(payload.get("c", 0)))
    if (
        coordinator is None
        or not coordinator.token_nonce
        or not secrets.compare_digest(coordinator.token_nonce, str(payload.get("n", "")))
        or coordinator.deactivated_at is not None
    ):
        raise InvalidToken()
    return coordinator


def set_password(token: str, password: str, confirmation: str) -> Coordinator:
    """Set the password through a one-time link; the link then stops working.

    Raises ``InvalidToken`` (see ``account_for_token``) or ``AccountError`` (too short,
    not the same twice).  Two requests with one link: one wins, the other is refused.
    """
    check_new_password(password, confirmation, account_for_token(token))
    nonce = str(read_token(SET_PASSWORD, token).get("n", ""))
    begin_write()
    coordinator = account_for_token(token)
    # The nonce is checked again by the UPDATE itself: of two requests with one link,
    # the second finds nothing to change.
    changed: Any = db.session.execute(
        update(Coordinator)
        .where(Coordinator.id == coordinator.id, Coordinator.token_nonce == nonce)
        .values(
            password_hash=generate_password_hash(password),
            token_nonce=None,
            # Every session of the account ends (someone who knew the old password).
            session_token=new_session_token(),
        )
    )
    if not changed.rowcount:
        db.session.rollback()
        raise InvalidToken()
    record_event(None, "password_set", actor=coordinator.email, email=coordinator.email)
    db.session.commit()
    db.session.refresh(coordinator)
    log.info("coordinator %s set a password", coordinator.id)
    return coordinator


def change_account(
    campaign: Campaign, coordinator: Coordinator, choice: AccountChoice, acting_id: int
) -> None:
    """Change an account's name, role and partner.  Refuses (``AccountError``) to take the
    administrator role from oneself, so that someone can still manage the accounts."""
    partner = choice.partner or None
    check_role(choice.role, partner, list(campaign.organisers or []))
    if coordinator.id == acting_id and choice.role != roles.ADMIN:
        raise AccountError("Je kunt je eigen rol als campagnebeheerder niet afgeven.")
    begin_write()
    old = f"{coordinator.role}/{coordinator.partner or 'alle partners'}"
    coordinator.name = choice.name.strip()[:200] or coordinator.name
    coordinator.role = choice.role
    coordinator.partner = partner
    new = f"{coordinator.role}/{coordinator.partner or 'alle partners'}"
    if new != old:
        end_sessions(coordinator)  # a session never keeps the rights of an older role
    record_event(campaign, "account_changed", email=coordinator.email, old=old, new=new)
    db.session.commit()


def set_active(campaign: Campaign, coordinator: Coordinator, active: bool, acting_id: int) -> None:
    """Deactivate (no login; every session ends at its next request) or reactivate an
    account.  Refuses (``AccountError``) to deactivate oneself."""
    if not active and coordinator.id == acting_id:
        raise AccountError("Je kunt je eigen account niet deactiveren.")
    begin_write()
    coordinator.deactivated_at = None if active else clock.now()
    if not active:
        coordinator.token_nonce = None  # an outstanding set-password link dies with it
        end_sessions(coordinator)
    kind = "account_reactivated" if active else "account_deactivated"
    record_event(campaign, kind, email=coordinator.email)
    db.session.commit()
    log.info("coordinator %s %s", coordinator.id, kind)


def all_accounts() -> list[Coordinator]:
    return list(db.session.scalars(select(Coordinator).order_by(Coordinator.email)))
