"""Entry point for WSGI servers: gunicorn 'wsgi:app'."""

from helpsite import create_app

app = create_app()
