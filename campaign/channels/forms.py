"""The coordinator's form for a channel (Flask-WTF: it carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (no stub yet)

from campaign.channels.services import KINDS, ChannelValues


class ChannelForm(FlaskForm):
    name = StringField("Naam van het kanaal")
    kind = SelectField(
        "Soort", choices=[SelectChoice(k, v) for k, v in KINDS.items()], default="website"
    )
    note = TextAreaField("Waar wordt de link gebruikt? (voor jezelf)")
    partner = SelectField("Partnerorganisatie", choices=[], validate_choice=False)

    def set_partners(self, partners: list[str]) -> None:
        self.partner.choices = [SelectChoice(name, name) for name in partners]

    def values(self) -> ChannelValues:
        return ChannelValues(
            name=self.name.data or "",
            kind=self.kind.data or "",
            note=self.note.data or "",
            partner=self.partner.data or "",
        )

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            getattr(self, name).errors = [*getattr(self, name).errors, message]
