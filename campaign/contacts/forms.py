"""The coordinator's forms for key figures (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (no stub yet)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import TextInput

from campaign.security import MAX_INT


class UploadForm(FlaskForm):
    file = FileField("CSV-bestand", validators=[FileRequired("Kies een CSV-bestand.")])
    skip_invalid = BooleanField("Ongeldige regels overslaan en de geldige toch importeren")
    check = SubmitField("Alleen controleren")
    submit = SubmitField("Importeren")


class WholeNumberField(Field):
    """An optional whole number with a Dutch message (WTForms' IntegerField speaks English)."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        if not raw.removeprefix("-").isdigit():
            raise ValueError("Vul een geheel getal in (bijvoorbeeld 40).")
        if len(raw) > 10 or abs(int(raw)) > MAX_INT:  # the database's integer
            raise ValueError("Dit getal is te groot.")
        self.data = int(raw)  # a negative number is left to the field's NumberRange

    def pre_validate(self, form: Any) -> None:
        """One message per mistake: text that is no number skips the range check."""
        if self.process_errors:
            raise StopValidation()


class KeyFigureForm(FlaskForm):
    name = StringField(
        "Naam",
        validators=[
            DataRequired("Vul een naam in."),
            Length(max=200, message="Hoogstens 200 tekens."),
        ],
    )
    email = StringField(
        "E-mailadres",
        validators=[
            DataRequired("Vul een e-mailadres in."),
            Length(max=320, message="Hoogstens 320 tekens."),
        ],
    )
    organisation = StringField(
        "Organisatie", validators=[Length(max=200, message="Hoogstens 200 tekens.")]
    )
    sector = SelectField("Sector", choices=[], validate_choice=False)
    network = StringField("Netwerk", validators=[Length(max=200, message="Hoogstens 200 tekens.")])
    reach = WholeNumberField(
        "Bereik",
        validators=[Optional(), NumberRange(min=0, message="Het bereik kan niet negatief zijn.")],
    )
    partner = SelectField("Partnerorganisatie", choices=[], validate_choice=False)
    submit = SubmitField("Opslaan")

    def set_partners(self, partners: list[str]) -> None:
        self.partner.choices = [SelectChoice(name, name) for name in partners]

    def set_sectors(self, sectors: list[Any]) -> None:
        self.sector.choices = [("", "Geen sector")] + [(s.code, s.name) for s in sectors]

    def values(self) -> dict[str, Any]:
        """The fields as keyword arguments for the contacts services."""
        return {
            "name": self.name.data or "",
            "email": self.email.data or "",
            "organisation": self.organisation.data or "",
            "sector_code": self.sector.data or None,
            "network": self.network.data or "",
            "reach": self.reach.data,
            "partner": self.partner.data or "",
        }

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put a service's per-field messages on the form's fields."""
        for name, message in errors.items():
            getattr(self, name).errors = [*getattr(self, name).errors, message]
