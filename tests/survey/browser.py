"""Helpers for the survey's browser tests: fill a page as a person would, run axe-core."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def ensure_axe() -> Path:
    """axe-core from npm (package.json at the repo root); installed on first use."""
    if not AXE.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    return AXE


def serious_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page, one readable line each."""
    # Evaluated, not added as a <script>: the pages' CSP refuses inline scripts without a
    # nonce, and add_script_tag inserts the file's text inline.
    page.evaluate(ensure_axe().read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def fill_page(page: Any, data: dict[str, Any]) -> None:
    """Answer the visible page: click the labels of choices, type in text fields."""
    for name, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            field = page.locator(f'[name="{name}"]').first
            kind = field.get_attribute("type")
            if kind in ("radio", "checkbox"):
                input_id = page.locator(f'[name="{name}"][value="{one}"]').get_attribute("id")
                page.click(f'label[for="{input_id}"]')
            else:
                field.click()
                field.fill("")
                page.keyboard.type(str(one))


def no_horizontal_scroll(page: Any) -> bool:
    """Whether the page fits its viewport's width, measured once its stylesheets have
    loaded (an unstyled table is wider: measuring earlier flaked on a loaded machine)."""
    page.wait_for_load_state()
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def overflowing_tables(page: Any) -> list[str]:
    """The first cell's text of each ``table.stack`` whose wrapper scrolls sideways (a phone
    shows its rows as blocks: a cell wider than the card hides the columns after it, which
    ``no_horizontal_scroll`` cannot see, the wrapper scrolling on its own; a wide matrix
    such as the coverage may scroll)."""
    page.wait_for_load_state()
    return page.evaluate(
        """[...document.querySelectorAll('.table-wrap')]
             .filter(wrap => wrap.querySelector('table.stack'))
             .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1)
             .map(wrap => (wrap.querySelector('td') || wrap).textContent.trim().slice(0, 40))"""
    )
