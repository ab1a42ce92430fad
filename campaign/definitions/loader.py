"""Reading a campaign file: YAML parsing, validation, and errors that point at the line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from campaign.definitions import yaml_problems
from campaign.definitions.schema import CampaignSpec

#: Dutch wording for pydantic's error types; any other is UNKNOWN (pydantic's is English).
MESSAGES = {
    "missing": "verplicht veld ontbreekt",
    "extra_forbidden": "onbekende sleutel (tikfout?)",
    "int_parsing": "moet een geheel getal zijn",
    "int_type": "moet een geheel getal zijn",
    "int_from_float": "moet een geheel getal zijn",
    "float_parsing": "moet een getal zijn",
    "float_type": "moet een getal zijn",
    "bool_parsing": "moet true of false zijn",
    "bool_type": "moet true of false zijn",
    "string_type": "moet tekst zijn",
    "list_type": "moet een lijst zijn",
    "dict_type": "moet een sectie met sleutels zijn",
    "model_type": "moet een sectie met sleutels zijn",
    "model_attributes_type": "moet een sectie met sleutels zijn",
    "datetime_type": "moet een datum en uur zijn, zoals 2027-06-28 09:00",
    "datetime_parsing": "moet een datum en uur zijn, zoals 2027-06-28 09:00",
    "date_type": "moet een datum zijn, zoals 2027-06-28",
    "date_parsing": "moet een datum zijn, zoals 2027-06-28",
    "int_parsing_size": "moet een geheel getal zijn, en dit is veel te groot",
    "finite_number": "moet een gewoon getal zijn (geen oneindig of .nan)",
    "dict_keys": "moet een sectie met sleutels zijn",
}
#: For an error type none of the above names (pydantic's own message is English).
UNKNOWN = "ongeldige waarde"
#: Errors whose message is our own validators' Dutch text (or email-validator's, below).
OWN_MESSAGES = ("value_error", "assertion_error")


@dataclass(frozen=True)
class Problem:
    """One mistake in a campaign file."""

    line: int | None
    place: str
    message: str

    def describe(self, filename: str) -> str:
        where = f"{filename}, regel {self.line}" if self.line else filename
        return (
            f"{where}: {self.place}: {self.message}" if self.place else f"{where}: {self.message}"
        )


class DefinitionError(Exception):
    """The campaign file cannot be used; ``problems`` says where and why (in Dutch)."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.describe(filename) for p in problems))


def read_campaign_file(path: str | Path) -> CampaignSpec:
    """Parse and validate a campaign file; raise ``DefinitionError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DefinitionError(str(path), [Problem(None, "", "bestand niet gevonden")]) from exc
    except UnicodeDecodeError as exc:
        problem = Problem(None, "", "het bestand is geen UTF-8-tekst")
        raise DefinitionError(str(path), [problem]) from exc
    except OSError as exc:
        problem = Problem(None, "", f"kan het bestand niet lezen ({exc.strerror})")
        raise DefinitionError(str(path), [problem]) from exc
    return parse_campaign_text(text, str(path))


def parse_campaign_text(text: str, filename: str = "<tekst>") -> CampaignSpec:
    """Validate campaign-file text; raise ``DefinitionError`` listing every problem."""
    try:
        root, data = yaml_problems.read(text)
    except yaml_problems.YamlProblem as exc:
        problem = Problem(exc.line, "", f"geen geldige YAML: {exc.message}")
        raise DefinitionError(filename, [problem]) from exc
    if not isinstance(data, dict):
        problem = Problem(1, "", "een campagnebestand begint met sleutels zoals slug: en title:")
        raise DefinitionError(filename, [problem])
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, root) for error in exc.errors()]
        raise DefinitionError(filename, problems) from exc


def _problem(error: ErrorDetails, root: yaml.Node | None) -> Problem:
    path, line = _locate(root, error["loc"])
    message = _message(error)
    if error["type"] == "literal_error":
        expected = str(error["ctx"]["expected"]).replace("' or '", "' of '")
        message = f"moet een van deze zijn: {expected}"
    elif error["type"] == "string_pattern_mismatch":
        message = "ongeldig formaat: gebruik kleine letters, cijfers, - of _"
    elif error["type"] == "string_too_short":
        count = int(error["ctx"]["min_length"])
        message = "mag niet leeg zijn" if count == 1 else f"moet minstens {count} tekens bevatten"
    elif error["type"] == "string_too_long":
        message = f"mag hoogstens {int(error['ctx']['max_length'])} tekens bevatten"
    elif message.lower().startswith("value is not a valid email address"):
        message = "is geen geldig e-mailadres (zoals naam@example.org)"
    elif error["type"] in ("too_short", "too_long") and "min_length" in error.get("ctx", {}):
        count = int(error["ctx"]["min_length"])
        things = "element of teken" if count == 1 else "elementen of tekens"
        message = f"moet minstens {count} {things} bevatten"
    elif error["type"] == "too_long" and "max_length" in error.get("ctx", {}):
        message = f"mag hoogstens {int(error['ctx']['max_length'])} elementen bevatten"
    elif error["type"] in ("greater_than_equal", "less_than_equal"):
        bound = error["ctx"].get("ge", error["ctx"].get("le"))
        word = "minstens" if error["type"] == "greater_than_equal" else "hoogstens"
        message = f"moet {word} {bound} zijn"
    return Problem(line, path, message)


def _message(error: ErrorDetails) -> str:
    """The Dutch message of an error type, or our validator's own message."""
    if error["type"] in OWN_MESSAGES:
        message = str(error.get("ctx", {}).get("error") or error["msg"])
        return message.removeprefix("Value error, ")
    return MESSAGES.get(error["type"], UNKNOWN)


def _locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[str, int | None]:
    """Follow pydantic's error location through the YAML node tree.

    Returns the readable place (``sectors[2].target``) and the 1-based line of
    the deepest node found.  Location parts that are not keys or indexes
    (pydantic's union and validator tags) are skipped.
    """
    node = root
    place = ""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = _child(node, part)
        if child is None:
            if isinstance(part, str) and isinstance(node, yaml.MappingNode) and _is_key(part):
                place = f"{place}.{part}" if place else part  # a missing key: name it
            continue
        node = child
        if isinstance(part, int):
            place = f"{place}[{part}]"
        else:
            place = f"{place}.{part}" if place else str(part)
        line = node.start_mark.line + 1
    return place, line


def _is_key(part: str) -> bool:
    return part.replace("_", "").isalnum() and "[" not in part


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part).rstrip("_") or key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None
