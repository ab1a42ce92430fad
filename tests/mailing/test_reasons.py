"""``explain_failure``: the mail server's reply in words a coordinator understands."""

from __future__ import annotations

import pytest

from campaign.mailing.reasons import ADDRESS_UNKNOWN, TRY_LATER, UNREACHABLE, explain_failure


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 <jan@example.org>: Recipient address rejected: User unknown",
        "550 Requested action not taken: mailbox unavailable",
        "550 5.1.1 Mailbox bestaat niet",
        "553 5.1.3 malformed address",
        "551 User not local",
        "550 5.2.1 The email account that you tried to reach is disabled",
    ],
)
def test_an_unknown_or_refusing_address_is_said_plainly(reply):
    explained = explain_failure(reply)
    assert explained in (ADDRESS_UNKNOWN, "Het adres is ongeldig.")


@pytest.mark.parametrize(
    "reply",
    [
        "451 4.7.1 Greylisted, please try again later",
        "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted",
        "451 4.3.0 Probeer later opnieuw",
        "452 4.3.1 Insufficient system resources",
    ],
)
def test_greylisting_and_other_4xx_ask_to_try_later(reply):
    assert explain_failure(reply) == TRY_LATER


def test_a_connection_that_could_not_be_made_or_was_dropped():
    assert explain_failure("ConnectionRefusedError: [Errno 111] Connection refused") == UNREACHABLE
    assert "onderbroken" in explain_failure("verbinding verbroken: Connection unexpectedly closed")
    assert "niet op tijd" in explain_failure("TimeoutError: timed out")


def test_specific_permanent_reasons():
    assert explain_failure("552 5.2.2 Mailbox full") == "De mailbox van de ontvanger is vol."
    assert "spam" in explain_failure("554 5.7.1 Message rejected as spam")
    assert "spam" in explain_failure("550 5.7.1 Blocked by policy: our reputation list")
    assert "relay" in explain_failure("554 5.7.1 <a@example.org>: Relay access denied")
    assert "MAIL_PASSWORD" in explain_failure("535 5.7.8 Authentication credentials invalid")
    assert "overbelast" in explain_failure("421 4.7.0 Te druk")
    assert explain_failure("500 syntax error") == "De ontvangende server weigert de mail."


def test_a_given_up_mail_says_why_and_after_how_long():
    explained = explain_failure("opgegeven na 27 pogingen over 48 uur: 451 4.7.1 Greylisted")
    assert explained == f"{TRY_LATER} Opgegeven na 27 pogingen over 48 uur."
    # the older wording, still in databases of earlier versions
    assert explain_failure("na 5 pogingen: 421 4.7.0 Te druk").endswith("Opgegeven na 5 pogingen.")


def test_the_senders_own_reasons():
    assert explain_failure("niet verstuurd: de bevraging is afgesloten") == (
        "Niet verstuurd: de bevraging is afgesloten."
    )
    assert "afgemeld" in explain_failure("niet verstuurd: de ontvanger heeft zich afgemeld")
    assert "opgebouwd" in explain_failure("ongeldige mail: geen afzender (From)")
    assert "bestand" in explain_failure("kan 12.eml niet schrijven: No space left on device")


def test_nothing_to_explain_and_the_unknown():
    assert explain_failure(None) == ""
    assert explain_failure("") == ""
    assert "Onbekende fout" in explain_failure("something odd happened")
