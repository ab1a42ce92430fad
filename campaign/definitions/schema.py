"""The campaign file's structure, validated with pydantic.

pydantic gives every error its exact place in the file (``sectors.2.target``),
which ``loader`` turns into a line number; that is why it is used instead of
hand-written checks.  See docs/campaign-file.md for the format.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from campaign.definitions.localtime import LocalTimeError, local_to_utc
from campaign.mailing.render import SUBJECT_PLACEHOLDERS

SLUG = r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$"
CODE = r"^[a-z0-9][a-z0-9_-]{0,39}$"
QUESTION_ID = r"^[a-z][a-z0-9_]{0,59}$"

QUESTION_TYPES = ("single", "multiple", "likert", "grid", "text", "textarea", "number", "sector")
CHOICE_TYPES = ("single", "multiple")
SCALE_TYPES = ("likert", "grid")


def slugify(text: str) -> str:
    """``Andere, namelijk`` -> ``andere_namelijk``: lower case, no accents, ``_`` for gaps."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def _parse_local_datetime(value: Any) -> Any:
    """Accept ``2027-06-28 09:00``, ``2027-06-28T09:00`` and a bare date."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        raise ValueError(f"verwacht een datum en uur zoals 2027-06-28 09:00, niet {text!r}")
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(_parse_local_datetime)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Option(Strict):
    value: str = Field(min_length=1, max_length=80)
    label: str = Field(min_length=1, max_length=300)


def _option(value: Any) -> Any:
    if isinstance(value, str):
        return {"value": slugify(value) or value, "label": value}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"value": str(value), "label": str(value)}
    if isinstance(value, dict) and isinstance(value.get("value"), int | float):
        return {**value, "value": str(value["value"])}
    return value


OptionItem = Annotated[Option, BeforeValidator(_option)]


def _unique_values(options: list[Option], what: str) -> list[Option]:
    seen: set[str] = set()
    for option in options:
        if option.value in seen:
            raise ValueError(f"{what} {option.value!r} komt twee keer voor")
        seen.add(option.value)
    return options


class ShowIf(Strict):
    question: str
    equals: str | None = None
    includes: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")

    @field_validator("equals", "includes", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float | bool) else value

    @model_validator(mode="after")
    def _exactly_one_test(self) -> ShowIf:
        tests = [t for t in (self.equals, self.includes, self.in_) if t is not None]
        if len(tests) != 1:
            raise ValueError("show_if heeft precies één van deze nodig: equals, includes, in")
        return self


class GridItem(Strict):
    id: str = Field(pattern=QUESTION_ID)
    label: str = Field(min_length=1, max_length=300)


class Question(Strict):
    id: str = Field(pattern=QUESTION_ID)
    type: Literal["single", "multiple", "likert", "grid", "text", "textarea", "number", "sector"]
    label: str = Field(min_length=1, max_length=500)
    help: str = ""
    required: bool = False
    options: list[OptionItem] | None = None
    other: bool = False
    max_choices: int | None = Field(default=None, ge=1)
    scale: str | list[OptionItem] | None = None
    items: list[GridItem] | None = None
    max_length: int | None = Field(default=None, ge=1, le=20000)
    min: float | None = None
    max: float | None = None
    integer: bool = True
    show_if: ShowIf | None = None

    @model_validator(mode="after")
    def _keys_fit_type(self) -> Question:
        needs = {
            "options": self.type in CHOICE_TYPES,
            "scale": self.type in SCALE_TYPES,
            "items": self.type == "grid",
        }
        for key, needed in needs.items():
            present = getattr(self, key) is not None
            if needed and not present:
                raise ValueError(f"een vraag van type {self.type} heeft '{key}' nodig")
            if present and not needed:
                raise ValueError(f"'{key}' past niet bij een vraag van type {self.type}")
        if self.other and self.type not in CHOICE_TYPES:
            raise ValueError(f"'other' past niet bij een vraag van type {self.type}")
        if self.options is not None:
            _unique_values(self.options, "optie")
        if self.items is not None:
            ids = [item.id for item in self.items]
            if len(ids) != len(set(ids)):
                raise ValueError("de id's van de items moeten uniek zijn")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is groter dan 'max'")
        return self


class Page(Strict):
    id: str = Field(pattern=QUESTION_ID)
    title: str = Field(min_length=1, max_length=200)
    intro: str = ""
    show_if: ShowIf | None = None
    questions: list[Question] = Field(min_length=1)


class Questionnaire(Strict):
    scales: dict[str, list[OptionItem]] = Field(default_factory=dict)
    pages: list[Page] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Questionnaire:
        for name, scale in self.scales.items():
            if not scale:
                raise ValueError(f"schaal {name!r} heeft geen opties")
            _unique_values(scale, f"waarde van schaal {name!r}:")
        _check_ids_and_references(self)
        return self


def _check_ids_and_references(questionnaire: Questionnaire) -> None:
    """Question and page ids are unique, scales exist, show_if looks back."""
    earlier: dict[str, Question] = {}
    page_ids: set[str] = set()
    for page in questionnaire.pages:
        if page.id in page_ids:
            raise ValueError(f"pagina-id {page.id!r} komt twee keer voor")
        page_ids.add(page.id)
        if page.show_if is not None:
            _check_show_if(page.show_if, earlier, f"pagina {page.id!r}")
        for question in page.questions:
            if question.id in earlier:
                raise ValueError(f"vraag-id {question.id!r} komt twee keer voor")
            if isinstance(question.scale, str) and question.scale not in questionnaire.scales:
                raise ValueError(
                    f"vraag {question.id!r} gebruikt schaal {question.scale!r}, "
                    "maar die staat niet onder 'scales'"
                )
            if question.show_if is not None:
                _check_show_if(question.show_if, earlier, f"vraag {question.id!r}")
            earlier[question.id] = question


def _check_show_if(show_if: ShowIf, earlier: dict[str, Question], where: str) -> None:
    target = earlier.get(show_if.question)
    if target is None:
        raise ValueError(
            f"{where}: show_if verwijst naar {show_if.question!r}, maar dat is geen eerdere vraag"
        )
    if show_if.includes is not None and target.type != "multiple":
        raise ValueError(f"{where}: 'includes' werkt enkel op een meerkeuzevraag (multiple)")


#: The schedule's dates, in order.
SCHEDULE_DATES = ("opens_at", "reminder_at", "closes_at", "results_due", "purge_at")


class Schedule(Strict):
    opens_at: LocalDateTime
    reminder_at: LocalDateTime | None = None
    closes_at: LocalDateTime
    results_due: LocalDateTime | None = None
    #: When draw entries are deleted; None: the purge job's default after the close.
    purge_at: LocalDateTime | None = None
    #: Queue the invitations by themselves at ``opens_at`` (the scheduler's launch job).
    invite_at_open: bool = False
    #: A sector is behind when its completed responses are below this share of what was
    #: expected by now (1.0: exactly pro rata).
    reminder_threshold: float = 1.0

    @field_validator("reminder_threshold")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 < value <= 2:
            raise ValueError(
                "moet een aandeel groter dan 0 en hoogstens 2 zijn, "
                "bijvoorbeeld 0.9 (herinneren wie onder 90 % van het verwachte aantal zit)"
            )
        return value

    @model_validator(mode="after")
    def _in_order(self) -> Schedule:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at moet na opens_at komen")
        if self.reminder_at is not None and not self.opens_at < self.reminder_at < self.closes_at:
            raise ValueError("reminder_at moet tussen opens_at en closes_at liggen")
        if self.results_due is not None and self.results_due < self.closes_at:
            raise ValueError("results_due mag niet vóór closes_at liggen")
        if self.purge_at is not None and self.purge_at <= self.closes_at:
            raise ValueError("purge_at moet na closes_at komen")
        if self.purge_at is not None and self.results_due and self.purge_at <= self.results_due:
            raise ValueError("purge_at moet na results_due komen")
        return self


#: ``{name}`` in a subject.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_subject_placeholders(subject: str) -> None:
    """Raise ``ValueError`` (Dutch) for a ``{...}`` in ``subject`` that rendering cannot fill."""
    allowed = ", ".join(f"{{{name}}}" for name in SUBJECT_PLACEHOLDERS)
    for name in _PLACEHOLDER.findall(subject):
        if name not in SUBJECT_PLACEHOLDERS:
            raise ValueError(
                f"onbekende plaatshouder {{{name}}} in het onderwerp; toegelaten zijn {allowed}"
            )


class MailSettings(Strict):
    sender_name: str = Field(min_length=1, max_length=120)
    sender_email: EmailStr
    reply_to: EmailStr | None = None
    subjects: dict[Literal["invitation", "reminder", "winner"], str] = Field(default_factory=dict)

    @field_validator("subjects")
    @classmethod
    def _known_placeholders(cls, subjects: dict[str, str]) -> dict[str, str]:
        for kind, subject in subjects.items():
            try:
                check_subject_placeholders(subject)
            except ValueError as exc:
                raise ValueError(f"onderwerp van {kind}: {exc}") from exc
        return subjects

    @field_validator("sender_name")
    @classmethod
    def _single_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("moet op één regel staan")
        return value


#: A sector's target is stored as an integer (32 bits on PostgreSQL).
MAX_TARGET = 1_000_000


class SectorSpec(Strict):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=120)
    examples: list[str] = Field(default_factory=list)
    target: int = Field(ge=0, le=MAX_TARGET)


class Prize(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


#: A domain name as written in the draw section (``pom.be``, ``xn--bcher-kva.be``).
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def _domain(value: str, where: str) -> str:
    text = value.strip().lower().lstrip("@")
    with contextlib.suppress(UnicodeError):  # not IDNA-encodable: the pattern refuses it
        text = text.encode("idna").decode("ascii")
    if not _DOMAIN.match(text):
        raise ValueError(f"{where}: {value!r} is geen domeinnaam zoals organisatie.be")
    return text


class DrawSection(Strict):
    """The prize draw's rules (see ``campaign.draw.settings``)."""

    #: Addresses (``jan@pom.be``) and domains (``@pom.be``) whose entries do not take part.
    exclude: list[str] = Field(default_factory=list)
    #: Domains whose ``+tags`` and dots are dropped when comparing addresses (gmail.com).
    fold_domains: list[str] = Field(default_factory=list)
    #: Reserve winners drawn after the winners, in order.
    reserves: int = Field(default=3, ge=0, le=50)
    #: Days a winner has to claim the prize before it may pass to the next reserve.
    claim_days: int = Field(default=14, ge=1, le=365)
    #: Days after the last prize is handed over before the addresses are erased.
    retention_days: int = Field(default=30, ge=0, le=730)

    @field_validator("fold_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [_domain(value, "fold_domains") for value in values]

    @model_validator(mode="after")
    def _exclusions(self) -> DrawSection:
        from campaign.auth.services import normalise_email
        from campaign.draw.settings import fold

        rules = []
        for value in self.exclude:
            if "@" in value.strip().lstrip("@"):
                try:
                    address = normalise_email(value)
                except ValueError as exc:
                    raise ValueError(f"exclude: {value!r} is geen geldig e-mailadres") from exc
                rules.append(fold(address, self.fold_domains))
            else:
                rules.append("@" + _domain(value, "exclude"))
        self.exclude = rules
        return self


class DecisionFigure(Strict):
    """One question behind a condition; ``positive`` names the answers that speak for it."""

    question: str = Field(pattern=QUESTION_ID)
    positive: list[str] | None = None

    @field_validator("positive", mode="before")
    @classmethod
    def _as_texts(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(item) if isinstance(item, int | float) else item for item in value]
        return value


def _figure(value: Any) -> Any:
    return {"question": value} if isinstance(value, str) else value


DecisionFigureItem = Annotated[DecisionFigure, BeforeValidator(_figure)]


class Catalogue(Strict):
    """The offering catalogue: what respondents whose organisation takes part describe."""

    take_part: str = Field(pattern=QUESTION_ID)
    take_part_values: list[str] = Field(min_length=1)
    fields: list[str] = Field(min_length=1)


class Decision(Strict):
    """The questions behind the conditions for the decision the survey serves."""

    demand: list[DecisionFigureItem] = Field(default_factory=list)
    offer: list[DecisionFigureItem] = Field(default_factory=list)
    catalogue: Catalogue | None = None


class ResultsSettings(Strict):
    """The results' filters (``profile``) and the decision summary (``decision``)."""

    profile: list[str] = Field(default_factory=list)
    decision: Decision | None = None


#: Question types that can feed a decision figure (counted answers, not free text).
FIGURE_TYPES = ("single", "multiple", "likert", "grid", "number", "sector")


def check_results(results: ResultsSettings, questionnaire: Questionnaire) -> None:
    """Raise ``ValueError`` (Dutch) when ``results`` names a question that is missing or
    of a type that cannot serve where it is named."""
    questions = {q.id: q for page in questionnaire.pages for q in page.questions}
    if len(set(results.profile)) != len(results.profile):
        raise ValueError("profile: een vraag staat er twee keer in")
    for question_id in results.profile:
        _need(questions, question_id, "profile", ("single", "sector"))
    if results.decision is not None:
        _check_decision(results.decision, questions, questionnaire)


def _need(
    questions: dict[str, Question], question_id: str, where: str, types: tuple[str, ...]
) -> Question:
    question = questions.get(question_id)
    if question is None:
        raise ValueError(f"{where}: {question_id!r} is geen vraag van de vragenlijst")
    if question.type not in types:
        raise ValueError(
            f"{where}: vraag {question_id!r} is van type {question.type}; "
            f"hier past enkel {', '.join(types)}"
        )
    return question


def _check_decision(
    decision: Decision, questions: dict[str, Question], questionnaire: Questionnaire
) -> None:
    for part in ("demand", "offer"):
        for figure in getattr(decision, part):
            where = f"decision.{part}"
            question = _need(questions, figure.question, where, FIGURE_TYPES)
            _check_values(figure.positive, question, questionnaire, where)
    if decision.catalogue is not None:
        catalogue = decision.catalogue
        where = "decision.catalogue"
        question = _need(questions, catalogue.take_part, f"{where}.take_part", ("single",))
        _check_values(catalogue.take_part_values, question, questionnaire, where)
        for field in catalogue.fields:
            _need(questions, field, f"{where}.fields", QUESTION_TYPES)


def _check_values(
    values: list[str] | None, question: Question, questionnaire: Questionnaire, where: str
) -> None:
    """Every value is an option (or scale value) of ``question``."""
    if values is None:
        return
    if question.type not in CHOICE_TYPES + SCALE_TYPES:
        raise ValueError(
            f"{where}: vraag {question.id!r} is van type {question.type} en heeft geen "
            "antwoordopties om aan te duiden"
        )
    scale = question.scale
    options = question.options or (
        questionnaire.scales.get(scale, []) if isinstance(scale, str) else scale or []
    )
    known = {option.value for option in options}
    for value in values:
        if value not in known:
            raise ValueError(
                f"{where}: {value!r} is geen antwoordoptie van vraag {question.id!r} "
                f"(wel: {', '.join(sorted(known))})"
            )


class CampaignSpec(Strict):
    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=1, max_length=200)
    organisers: list[str] = Field(min_length=1)
    timezone: str = "Europe/Brussels"
    schedule: Schedule
    mail: MailSettings
    intro: str = ""
    privacy: str = ""
    sectors: list[SectorSpec] = Field(min_length=1)
    prizes: list[Prize] = Field(default_factory=list)
    #: Optional: the prize draw's exclusions, address folding, reserves and periods.
    draw: DrawSection = Field(default_factory=DrawSection)
    questionnaire: Questionnaire
    #: Optional: the results' filters and the decision summary's questions.
    results: ResultsSettings | None = None

    @field_validator("results")
    @classmethod
    def _results_fit_questionnaire(
        cls, results: ResultsSettings | None, info: ValidationInfo
    ) -> ResultsSettings | None:
        # A field validator (not a model one), so the error points at the results section's
        # line; the questionnaire comes first in the class, so it is validated already.
        questionnaire = info.data.get("questionnaire")
        if results is not None and questionnaire is not None:
            check_results(results, questionnaire)
        return results

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"onbekende tijdzone {value!r} (gebruik een IANA-naam zoals Europe/Brussels)"
            ) from exc
        return value

    @model_validator(mode="after")
    def _times_exist(self) -> CampaignSpec:
        """Every schedule time exists in the zone (not in the spring-forward hour)."""
        for name in SCHEDULE_DATES:
            local = getattr(self.schedule, name)
            if local is None:
                continue
            try:
                local_to_utc(local, self.timezone)
            except LocalTimeError as exc:
                raise ValueError(f"schedule.{name}: {exc}") from exc
        return self

    @field_validator("sectors")
    @classmethod
    def _unique_codes(cls, sectors: list[SectorSpec]) -> list[SectorSpec]:
        codes = [sector.code for sector in sectors]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"sectorcode {duplicates[0]!r} komt twee keer voor")
        return sectors


def question_index(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All questions of a stored questionnaire by id, in order."""
    return {q["id"]: q for page in questionnaire.get("pages", []) for q in page["questions"]}
