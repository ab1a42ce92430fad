"""Error pages in Dutch; never a stack trace for the user."""

import logging

from flask import Flask, render_template
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
        "We kunnen nu even niets bewaren. Wat je eerder al opsloeg, blijft bewaard: je "
        "antwoorden zijn bewaard tot hier. Probeer het over enkele minuten opnieuw.",
    ),
    500: ("Er ging iets mis", "Er liep iets fout aan onze kant. Probeer het later opnieuw."),
}


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
        body, status = render_error(503)
        return body, status, {"Retry-After": "120"}

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_error(500)
