"""Entry point for ``flask`` and gunicorn (``gunicorn wsgi:app``)."""

from campaign import create_app

app = create_app()
