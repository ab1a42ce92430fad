"""Reading a campaign file's YAML: PyYAML's refusals told in Dutch, with their line.

PyYAML explains a mistake in English (``mapping values are not allowed here``) and
gives no line for a character it will not read; a file nested deeper than Python's
recursion limit makes it raise ``RecursionError``; and a value its constructor cannot
build (``2027-02-30``, a number of 5,000 digits, ``!!int x``) raises a bare
``ValueError``, ``KeyError`` or ``AttributeError``.  ``read`` turns each of these into
a ``YamlProblem`` with a line and a Dutch message.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Nesting deeper than this is refused, said on the line where it goes deeper still
#: (a real campaign file nests about eight levels).
MAX_DEPTH = 100

#: (part of PyYAML's problem or context, Dutch explanation), the first match wins.
EXPLANATIONS: tuple[tuple[str, str], ...] = (
    ("'\\t' that cannot start", "een tab in de inspringing: spring in met spaties"),
    ("quoted scalar", "een aanhalingsteken wordt niet gesloten"),
    ("mapping values are not allowed", "een dubbele punt waar er geen mag staan; zet tekst "
     "met een dubbele punt erin tussen aanhalingstekens"),
    ("could not find expected ':'", "hier ontbreekt een dubbele punt na een sleutel, of een "
     "sluitend aanhalingsteken"),
    ("sequence entries are not allowed", "een lijstelement (- ...) waar er geen mag staan: "
     "controleer de inspringing"),
    ("expected ',' or ']'", "een lijst tussen [ en ] is niet goed gesloten"),
    ("expected ',' or '}'", "een sectie tussen { en } is niet goed gesloten"),
    ("flow sequence", "een lijst tussen [ en ] is niet goed gesloten"),
    ("flow mapping", "een sectie tussen { en } is niet goed gesloten"),
    ("undefined alias", "een verwijzing (*naam) naar een anker (&naam) dat niet bestaat"),
    ("duplicate anchor", "een anker (&naam) dat twee keer voorkomt"),
    ("constructor for the tag", "een tag (!...) die in een campagnebestand niet kan"),
    ("tag", "een tag (!...) die in een campagnebestand niet kan"),
    ("single document", "meer dan één document (---) in het bestand"),
    ("document separator", "meer dan één document (---) in het bestand"),
    ("unhashable key", "een sleutel die zelf een lijst of sectie is"),
    ("block scalar", "een tekstblok (| of >) dat niet goed begint"),
    ("directive", "een regel die met % begint; zet de waarde tussen aanhalingstekens"),
    ("cannot start any token", "een teken dat een waarde niet mag beginnen; zet de waarde "
     "tussen aanhalingstekens"),
    ("<block end>", "de inspringing klopt niet met die van de regels errond"),
    ("<document start>", "de inspringing klopt niet met die van de regels errond"),
    ("indentation", "de inspringing klopt niet met die van de regels errond"),
    ("simple key", "een sleutel die niet op één regel staat of te lang is"),
)  # fmt: skip
FALLBACK = (
    "de opmaak klopt hier niet (controleer de inspringing, de dubbele punten, "
    "de aanhalingstekens en de haakjes)"
)


#: What PyYAML's constructor raises for a value it cannot build.
CONSTRUCTION_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)


class YamlProblem(Exception):
    """The text is no YAML we can read: ``line`` (1-based, None when unknown) and a
    Dutch ``message``."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for the lines of later problems) and the data of ``text``;
    raises ``YamlProblem``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlProblem(*describe(exc, text)) from exc
    try:
        return root, yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlProblem(*describe(exc, text)) from exc
    except CONSTRUCTION_ERRORS as exc:
        raise YamlProblem(*unbuildable(root)) from exc


#: What a value PyYAML cannot build is, by its (resolved or written) tag.
UNBUILDABLE = {
    "tag:yaml.org,2002:timestamp": "een datum of uur dat niet bestaat (zoals 2027-02-30)",
    "tag:yaml.org,2002:int": "een getal dat niet kan (te veel cijfers, of geen getal)",
    "tag:yaml.org,2002:float": "een getal dat niet kan",
}
UNBUILDABLE_OTHER = "een waarde die niet past bij haar tag (!!...)"


def unbuildable(root: yaml.Node | None) -> tuple[int | None, str]:
    """The line of the first value in the tree that PyYAML cannot build, and what it is."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node)
            except (yaml.YAMLError, *CONSTRUCTION_ERRORS):
                return node.start_mark.line + 1, UNBUILDABLE.get(node.tag, UNBUILDABLE_OTHER)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
    return None, UNBUILDABLE_OTHER


_OPENING = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def describe(error: Exception, text: str) -> tuple[int | None, str]:
    """``(line, message)`` of PyYAML's error (or ``RecursionError``) reading ``text``."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        return line, (f"een onzichtbaar of ongeldig teken (U+{error.character:04X}); verwijder het")
    if isinstance(error, RecursionError):
        return deepest_line(text), f"te diep genest (meer dan {MAX_DEPTH} niveaus)"
    if isinstance(error, yaml.MarkedYAMLError):
        return _line(error), _explain(f"{error.problem} {error.context}")
    return None, FALLBACK


def _line(error: yaml.MarkedYAMLError) -> int | None:
    """The problem's line; for an unclosed quote or bracket, where it opened."""
    mark = error.problem_mark
    unclosed = "end of stream" in str(error.problem) or "flow" in str(error.context)
    if error.context_mark is not None and unclosed:
        mark = error.context_mark
    return mark.line + 1 if mark is not None else None


def _explain(problem: str) -> str:
    return next((dutch for part, dutch in EXPLANATIONS if part in problem), FALLBACK)


def deepest_line(text: str) -> int:
    """The line where the nesting first goes past ``MAX_DEPTH`` (PyYAML's scanner reads
    tokens in a loop, without recursion), else the line where it is deepest."""
    depth, deepest, line = 0, -1, 1
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _OPENING):
                depth += 1
                if depth > deepest:
                    deepest, line = depth, token.start_mark.line + 1
                if depth > MAX_DEPTH:
                    break
            elif isinstance(token, _CLOSING):
                depth -= 1
    except yaml.YAMLError:
        pass  # a mistake further on: the deepest line so far is the one to show
    return line
