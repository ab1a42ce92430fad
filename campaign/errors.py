"""Error pages in Dutch; never a stack trace for the user."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Ongeldige aanvraag", "De aanvraag kon niet verwerkt worden."),
    403: ("Geen toegang", "Je hebt geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Controleer de link."),
    405: ("Niet toegestaan", "Deze actie is hier niet toegestaan."),
    413: ("Te groot", "Wat je verstuurde is te groot. Probeer een kleiner bestand."),
    429: ("Even geduld", "Te veel aanvragen na elkaar. Probeer het zo meteen opnieuw."),
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

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_error(500)
