"""Survey campaign tool: the application factory."""

from pathlib import Path
from typing import Any

from flask import Flask

from campaign import config as default_config
from campaign.logs import configure_logging

#: The project root: templates/ and emails/ live beside the package.
ROOT = Path(__file__).resolve().parent.parent

#: Secrets weaker than this are refused outside debug and testing.
MIN_SECRET_LENGTH = 24


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app.  No side effects: no tables, no network, no jobs."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    load_config(app, test_config)
    check_secret_key(app)
    configure_logging(app)
    register_security(app)
    register_extensions(app)
    register_blueprints(app)
    register_limits(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CAMPAIGN")
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/")


def check_secret_key(app: Flask) -> None:
    """Refuse to run in production on the placeholder or a short secret key."""
    key = app.config.get("SECRET_KEY") or ""
    weak = key == default_config.DEV_SECRET_KEY or len(key) < MIN_SECRET_LENGTH
    if weak and not (app.debug or app.testing):
        raise RuntimeError(
            "SECRET_KEY is missing or too weak. Set a random secret of at least "
            f"{MIN_SECRET_LENGTH} characters in instance/config.py or CAMPAIGN_SECRET_KEY "
            '(for example: python -c "import secrets; print(secrets.token_urlsafe(32))").'
        )


def register_security(app: Flask) -> None:
    from campaign import ratelimits, security

    security.register(app)
    ratelimits.register(app)


def register_extensions(app: Flask) -> None:
    from campaign.database import configure_engine, engine_options, migration_options
    from campaign.extensions import csrf, db, login_manager, mail, migrate

    engine_options(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), **migration_options())
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Meld je aan om deze pagina te bekijken."
    login_manager.login_message_category = "info"
    with app.app_context():
        configure_engine(app)


def register_blueprints(app: Flask) -> None:
    from campaign.auth.views import bp as auth_bp
    from campaign.channels.views import bp as channels_bp
    from campaign.contacts.views import bp as contacts_bp
    from campaign.dashboard.views import bp as dashboard_bp
    from campaign.definitions.views import bp as definitions_bp
    from campaign.mailing.views import bp as mailing_bp
    from campaign.preview.views import bp as preview_bp
    from campaign.results.export_views import bp as exports_bp
    from campaign.results.views import bp as results_bp
    from campaign.schedule.reminder_views import bp as reminders_bp
    from campaign.schedule.views import bp as schedule_bp
    from campaign.survey.views import bp as survey_bp

    blueprints = (auth_bp, dashboard_bp, contacts_bp, channels_bp, mailing_bp, schedule_bp)
    more = (reminders_bp, results_bp, exports_bp, definitions_bp, preview_bp, survey_bp)
    for blueprint in (*blueprints, *more):
        app.register_blueprint(blueprint)
    register_draw_blueprints(app)
    register_health_blueprint(app)


def register_limits(app: Flask) -> None:
    """The rate limits on the views that have them (the views exist by now)."""
    from campaign import ratelimits

    ratelimits.limit_views(app)


def register_health_blueprint(app: Flask) -> None:
    from campaign.health.views import bp as health_bp

    app.register_blueprint(health_bp)


def register_draw_blueprints(app: Flask) -> None:
    from campaign.draw.views import bp as draw_bp
    from campaign.draw.views import dashboard_bp as draw_dashboard_bp

    app.register_blueprint(draw_bp)
    app.register_blueprint(draw_dashboard_bp)


def register_errorhandlers(app: Flask) -> None:
    from campaign.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from campaign import formatting
    from campaign.dashboard import navigation

    formatting.register(app)
    navigation.register(app)


def register_commands(app: Flask) -> None:
    from campaign.auth.commands import users_cli
    from campaign.backup import backup_cli
    from campaign.contacts.commands import contacts_cli
    from campaign.definitions.commands import campaign_cli
    from campaign.demo import demo_command
    from campaign.mailing.commands import mail_cli
    from campaign.results.commands import results_cli
    from campaign.schedule import reminder_commands  # noqa: F401  (adds `flask mail remind`)
    from campaign.schedule.commands import scheduler_cli

    for group in (users_cli, campaign_cli, contacts_cli, mail_cli, scheduler_cli, results_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_cli)
    from campaign.draw.commands import draw_cli

    app.cli.add_command(draw_cli)
