"""The bulk e-mail check gives exactly the answers of email_validator (as normalise_email)."""

from __future__ import annotations

import pytest

from campaign.auth.services import normalise_email
from campaign.contacts.emails import InvalidEmail, normalise_email_fast
from campaign.contacts.services import link_codes
from campaign.models import LINK_ALPHABET, LINK_CODE_LENGTH

ADDRESSES = [
    "Jan.Peeters@Example.ORG",
    " a@b.be ",
    "a+tag@example.org",
    "a!#$%&'*+/=?^_`{|}~-@example.org",
    "jöelle@example.org",
    "a@exämple.org",
    "A@xn--exmple-cua.org",
    "x" * 65 + "@example.org",
    "a@" + "b" * 64 + ".org",
    "a@b",
    "a@example",
    "a@example.test",
    "a@example.local",
    "a@example.invalid",
    "a@example.localhost",
    "a@foo.onion",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    'x"y"@example.org',
    '"quoted local"@example.org',
    "a@[192.0.2.1]",
    "a@192.0.2.1",
    "a@example.123",
    "a@-example.org",
    "a@example-.org",
    "a@ex_ample.org",
    "a@ex..ample.org",
    "a@example.org.",
    "@example.org",
    "a@",
    "a@@example.org",
    "a@b@example.org",
    "a @example.org",
    "geen-adres",
    "",
]


def _full(address: str) -> str:
    try:
        return normalise_email(address)
    except ValueError:
        return "INVALID"


def _fast(address: str) -> str:
    try:
        return normalise_email_fast(address)
    except InvalidEmail:
        return "INVALID"


@pytest.mark.parametrize("address", ADDRESSES)
def test_fast_email_check_agrees_with_email_validator(address):
    assert _fast(address) == _full(address)


def test_bulk_link_codes_are_distinct_and_in_the_link_alphabet():
    codes = link_codes(2000)
    assert len(set(codes)) == 2000
    assert all(len(code) == LINK_CODE_LENGTH and set(code) <= set(LINK_ALPHABET) for code in codes)
