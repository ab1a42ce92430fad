from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (no stub yet)
from wtforms.validators import DataRequired, Length

from campaign.auth import roles
from campaign.auth.services import AccountChoice


class LoginForm(FlaskForm):
    email = EmailField("E-mailadres", validators=[DataRequired("Vul je e-mailadres in.")])
    password = PasswordField("Wachtwoord", validators=[DataRequired("Vul je wachtwoord in.")])
    remember = BooleanField("Aangemeld blijven op dit toestel")


class SetPasswordForm(FlaskForm):
    password = PasswordField("Nieuw wachtwoord", validators=[DataRequired("Kies een wachtwoord.")])
    confirmation = PasswordField(
        "Nog eens hetzelfde wachtwoord", validators=[DataRequired("Herhaal het wachtwoord.")]
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Huidig wachtwoord", validators=[DataRequired("Vul je huidige wachtwoord in.")]
    )
    password = PasswordField(
        "Nieuw wachtwoord", validators=[DataRequired("Kies een nieuw wachtwoord.")]
    )
    confirmation = PasswordField(
        "Nog eens het nieuwe wachtwoord",
        validators=[DataRequired("Herhaal het nieuwe wachtwoord.")],
    )


def _role_choices() -> list[SelectChoice]:
    return [
        SelectChoice(key, f"{label} ({roles.ROLE_HINTS[key]})")
        for key, label in roles.ROLE_LABELS.items()
    ]


class AccountForm(FlaskForm):
    """Name, role and partner of an account (the invite form adds the e-mail address)."""

    name = StringField("Naam", validators=[Length(max=200, message="Hoogstens 200 tekens.")])
    role = SelectField("Rol", choices=_role_choices, default=roles.COORDINATOR)
    partner = SelectField("Beperkt tot partnerorganisatie", choices=[], validate_choice=False)

    def set_partners(self, organisers: list[str]) -> None:
        self.partner.choices = [SelectChoice("", "Geen beperking: alle partners")] + [
            SelectChoice(name, name) for name in organisers
        ]

    def choice(self) -> AccountChoice:
        return AccountChoice(
            name=self.name.data or "", role=self.role.data or "", partner=self.partner.data or None
        )


class InviteForm(AccountForm):
    email = EmailField(
        "E-mailadres",
        validators=[
            DataRequired("Vul een e-mailadres in."),
            Length(max=320, message="Hoogstens 320 tekens."),
        ],
    )
