import pytest

from campaign import create_app


def test_config_comes_from_test_mapping(app):
    assert app.testing
    assert app.config["BASE_URL"] == "http://campagne.example.org"


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_BASE_URL", "https://enquete.example.org/")
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "x" * 40)
    app = create_app()
    assert app.config["BASE_URL"] == "https://enquete.example.org"


def test_refuses_weak_secret_outside_debug_and_testing(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CAMPAIGN_SQLALCHEMY_DATABASE_URI", raising=False)
    app = create_app()
    with app.app_context():
        from campaign.extensions import db

        assert db.engine.url.database.endswith("instance/campaign.sqlite3")


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(app):
    from campaign.extensions import db

    if db.engine.dialect.name != "sqlite":
        assert db.engine.dialect.driver == "psycopg"
        return
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
