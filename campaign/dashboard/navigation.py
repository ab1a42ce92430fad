"""The tabs of a campaign's dashboard pages.

Each capability adds its own tab when its blueprint module is imported, so
the dashboard does not need to know which capabilities exist.
"""

from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: str
    #: Value of `active` in the template that marks this tab as current.
    key: str
    #: Display order: lower comes first.
    order: int


_TABS: dict[str, Tab] = {}


def register_tab(endpoint: str, label: str, key: str, order: int) -> None:
    _TABS[key] = Tab(endpoint, label, key, order)


def campaign_tabs() -> list[Tab]:
    return sorted(_TABS.values(), key=lambda tab: tab.order)


STATE_LABELS = {"draft": "Nog niet open", "open": "Open", "closed": "Afgesloten"}


def state_label(state: str) -> str:
    return STATE_LABELS.get(str(state), str(state))


def register(app: Flask) -> None:
    app.jinja_env.globals.update(campaign_tabs=campaign_tabs, state_label=state_label)


register_tab("dashboard.campaign", "Overzicht", "overview", 0)
register_tab("contacts.index", "Sleutelfiguren", "contacts", 10)
