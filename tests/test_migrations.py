"""The migrations make exactly the schema the models declare (``flask db check``), on the
test databases, which are made by running every migration."""

from __future__ import annotations


def test_the_migrated_schema_equals_the_models(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
