"""The survey tests' fixtures (the example campaign, open now, a key figure and its link)."""

from tests.survey.conftest import key_figure, key_link, open_campaign

__all__ = ["key_figure", "key_link", "open_campaign"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgresql_only: a PostgreSQL server's behaviour; not run on SQLite"
    )


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) the SQLite run of tests marked ``postgresql_only``."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("postgresql_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "sqlite"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
