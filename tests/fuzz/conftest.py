"""The fuzz run's fixtures: the example campaign, open now, with a key figure and its link."""

from tests.survey.conftest import key_figure, key_link, open_campaign

__all__ = ["key_figure", "key_link", "open_campaign"]
