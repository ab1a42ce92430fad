"""Properties of the campaign file loader: any text gives a campaign, or Dutch problems
that each name a line of the file; never a traceback.

Texts are drawn three ways: any text; the shipped example file with a few of its lines
damaged (deleted, repeated, swapped, re-indented, a value replaced by another YAML
value: a huge number, a list, an alias, a tag, an unclosed quote); and YAML documents
built from the schema's own keys with values of any type."""

from __future__ import annotations

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from campaign.definitions.loader import DefinitionError, parse_campaign_text
from campaign.definitions.schema import CampaignSpec
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.properties.conftest import bounded
from tests.properties.dutch import assert_dutch

EXAMPLE = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")


def small_campaign() -> str:
    """The example campaign with its first two pages, short texts and no results
    section: the other sections of the file and most question types (sector, single,
    number, multiple, grid, textarea, show-if) at a fifth of the size, so that an
    example takes tens of milliseconds, not half a second."""
    data = yaml.safe_load(EXAMPLE)
    data["questionnaire"]["pages"] = data["questionnaire"]["pages"][:2]
    data["intro"] = data["privacy"] = "Een korte tekst."
    del data["results"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


SMALL = small_campaign()
LINES = SMALL.splitlines()
#: Keys of the campaign file (a few levels deep), to build documents the schema reads.
KEYS = sorted(
    {
        key.strip().lstrip("- ").split(":", 1)[0]
        for key in LINES
        if ":" in key and not key.strip().startswith("#")
    }
)[:200]
SCALARS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            str(2**31),
            str(10**40),
            "1e400",
            ".nan",
            "~",
            "null",
            "true",
            "no",
            "[]",
            "{}",
            "[1, 2]",
            "{a: 1}",
            "''",
            '"',
            "'open",
            "&a x",
            "*a",
            "*nergens",
            "!!python/object:os.system x",
            "!!binary AAAA",
            "2027-02-30 09:00",
            "2027-06-28",
            "09:00",
            "|",
            ">",
            "- x",
            "? x",
            "@x",
            "`x",
            "%x",
            "\t",
            "é" * 300,
            "x" * 5000,
            "9" * 5000,
            "[" * 2000,
            "{a: " * 1000,
            "a: !!set {x}",
            "1.5",
            "0o17",
            "-.inf",
        ]
    ),  # fmt: skip
    st.text(max_size=20).map(lambda t: t.replace("\n", " ")),
)


@st.composite
def damaged_examples(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        what = draw(st.sampled_from(["delete", "repeat", "swap", "indent", "value", "insert"]))
        if what == "delete":
            del lines[at]
        elif what == "repeat":
            lines.insert(at, lines[at])
        elif what == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif what == "indent":
            lines[at] = draw(st.sampled_from(["", " ", "  ", "\t"])) + lines[at].lstrip()
        elif what == "value" and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(SCALARS)}"
        else:
            lines.insert(at, draw(SCALARS))
    return "\n".join(lines) + "\n"


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def schema_documents(draw: st.DrawFn) -> str:
    data = yaml.safe_load(SMALL)
    for _ in range(draw(st.integers(1, 3))):
        node = data
        path = draw(st.lists(st.integers(0, 20), min_size=1, max_size=5))
        for step in path[:-1]:
            if isinstance(node, dict) and node:
                node = node[sorted(node)[step % len(node)]]
            elif isinstance(node, list) and node:
                node = node[step % len(node)]
        if isinstance(node, dict) and node:
            node[sorted(node)[path[-1] % len(node)]] = draw(VALUES)
        elif isinstance(node, list) and node:
            node[path[-1] % len(node)] = draw(VALUES)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


TEXTS = st.one_of(st.text(max_size=300), damaged_examples(), schema_documents())


@bounded(150)
@given(TEXTS)
def test_any_text_gives_a_campaign_or_dutch_problems_each_on_a_line(text: str) -> None:
    lines = text.count("\n") + 1
    try:
        spec = parse_campaign_text(text, "campagne.yaml")
    except DefinitionError as error:
        assert error.problems
        event(f"problems: {min(len(error.problems), 3)}")
        for problem in error.problems:
            assert problem.line is not None and 1 <= problem.line <= lines, (problem, lines)
            assert_dutch(problem.message)
        assert str(error).startswith("campagne.yaml, regel ")
    else:
        event("a campaign")
        assert isinstance(spec, CampaignSpec)


# --- what the properties found, pinned -------------------------------------------------


def problems_of(text: str) -> list[str]:
    try:
        parse_campaign_text(text, "campagne.yaml")
    except DefinitionError as error:
        return [problem.describe("campagne.yaml") for problem in error.problems]
    raise AssertionError("no problems")


def test_a_file_nested_past_the_limit_is_a_dutch_problem_on_its_line_not_a_recursion_error():
    text = "slug: x\ntitle: y\norganisers:\n  - " + "[" * 3000 + "]" * 3000 + "\n"
    assert problems_of(text) == [
        "campagne.yaml, regel 4: geen geldige YAML: te diep genest (meer dan 100 niveaus)"
    ]


def test_an_unreadable_character_is_a_dutch_problem_on_its_line():
    assert problems_of("slug: x\ntitle: y\x95\n") == [
        "campagne.yaml, regel 2: geen geldige YAML: een onzichtbaar of ongeldig teken "
        "(U+0095); verwijder het"
    ]


def test_pyyamls_english_is_told_in_dutch_on_the_line_of_the_mistake():
    assert problems_of("slug: x\ntitle: [niet gesloten\norganisers: x\n") == [
        "campagne.yaml, regel 2: geen geldige YAML: een lijst tussen [ en ] is niet goed gesloten"
    ]
    assert problems_of("slug: x\ntitle: 'open\norganisers: x\n") == [
        "campagne.yaml, regel 2: geen geldige YAML: een aanhalingsteken wordt niet gesloten"
    ]
    (message,) = problems_of("slug: x\n  title: y\n")
    assert message.startswith("campagne.yaml, regel 2: geen geldige YAML: een dubbele punt")


def test_a_value_pyyaml_cannot_build_is_a_dutch_problem_on_its_line_not_a_traceback():
    assert problems_of("slug: x\ntitle: y\nschedule:\n  opens_at: 2027-02-30\n") == [
        "campagne.yaml, regel 4: geen geldige YAML: een datum of uur dat niet bestaat "
        "(zoals 2027-02-30)"
    ]
    (message,) = problems_of("slug: x\nsectors:\n  - target: 1_" + "1" * 5000 + "\n")
    assert message.startswith("campagne.yaml, regel 3: geen geldige YAML: een getal dat niet")
    for tagged in ("!!int x", "!!timestamp x", "!!bool x", "!!float x"):
        (message,) = problems_of(f"slug: x\ntitle: {tagged}\n")
        assert message.startswith("campagne.yaml, regel 2: geen geldige YAML: een "), message


def test_pydantics_english_is_told_in_dutch():
    text = SMALL.replace("  claim_days: 14", "  claim_days: '" + "9" * 5000 + "'")
    assert any(
        "claim_days: moet een geheel getal zijn, en dit is veel te groot" in p
        for p in problems_of(text)
    )
    text = SMALL.replace("type: textarea", "type: slider")
    (message,) = [p for p in problems_of(text) if "moet een van deze zijn" in p]
    assert "' of 'sector'" in message and " or " not in message
