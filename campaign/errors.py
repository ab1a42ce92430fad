"""Error pages in Dutch; never a stack trace for the user."""

import logging

from flask import Flask, render_template, request, session
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InternalError, OperationalError
from werkzeug.exceptions import HTTPException

from campaign.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Ongeldige aanvraag", "De aanvraag kon niet verwerkt worden."),
    403: ("Geen toegang", "Je hebt geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Controleer de link."),
    405: ("Niet toegestaan", "Deze actie is hier niet toegestaan."),
    413: ("Te groot", "Wat je verstuurde is te groot. Probeer een kleiner bestand."),
    429: ("Even geduld", "Te veel aanvragen na elkaar. Probeer het zo meteen opnieuw."),
    503: (
        "Tijdelijk niet beschikbaar",
        "We kunnen nu even niets bewaren. Wat eerder al opgeslagen was, blijft bewaard. "
        "Probeer het over enkele minuten opnieuw.",
    ),
    500: ("Er ging iets mis", "Er liep iets fout aan onze kant. Probeer het later opnieuw."),
}


#: The 503 for a respondent who has a response in this browser: what they answered so far
#: is safe, and the same link takes them back to it.
ANSWERS_KEPT = (
    "We kunnen nu even niets bewaren. Je antwoorden zijn bewaard tot hier: probeer het "
    "over enkele minuten opnieuw via dezelfde link, dan ga je verder waar je was."
)
#: The 503 for a visitor of the survey who has not started yet.
NOT_STARTED = (
    "De vragenlijst is even niet bereikbaar. Probeer het over enkele minuten opnieuw via "
    "dezelfde link."
)


def unavailable_text() -> str:
    """The 503's sentence for whoever asked: a respondent with answers in this browser, a
    survey visitor who has none yet, or anyone else (a coordinator)."""
    if request.blueprint == "survey":
        return ANSWERS_KEPT if session.get("response") else NOT_STARTED
    return MESSAGES[503][1]


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    title, text = MESSAGES.get(code, MESSAGES[500])
    return render_template("error.html", code=code, title=title, text=detail or text), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "Je formulier is verlopen of onvolledig verstuurd. "
            "Laad de pagina opnieuw en probeer nog eens.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InternalError)
    def database_unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
        """The database refuses work (down, read-only, disk full): nothing was saved by
        this request (its transaction is rolled back); a Dutch 503, not a 500."""
        db.session.rollback()
        orig = getattr(error, "orig", None)
        log.error("database unavailable: %s", type(orig or error).__name__)
        body, status = render_error(503, unavailable_text())
        return body, status, {"Retry-After": "120"}

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_error(500)
