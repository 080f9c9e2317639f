"""Flask-Migrate, loaded only when a `flask db ...` command runs.

Flask-Migrate imports Alembic and Mako (about 12 MiB), which every web worker carried without
ever migrating. LazyMigrate registers a `db` command group with the same options; when it is
used, it sets up the real Flask-Migrate on the app and hands over the subcommands to it.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo


class _LazyDbGroup(click.Group):
    """`flask db`: the real group of Flask-Migrate, imported when a command line uses it."""

    def __init__(self, setup, name: str):
        super().__init__(name=name, help="Perform database migrations.")
        self._setup = setup
        # The same options as flask_migrate.cli.db, parsed here and handed to its callback.
        self.params = [
            click.Option(["-d", "--directory"], default=None, help='Migration script directory (default is "migrations")'),
            click.Option(["-x", "--x-arg"], multiple=True, help="Additional arguments consumed by custom env.py scripts"),
        ]

    def _real(self, ctx: click.Context) -> click.Group:
        return self._setup(ctx.ensure_object(ScriptInfo).load_app())

    def list_commands(self, ctx):
        return self._real(ctx).list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real(ctx).get_command(ctx, name)

    def invoke(self, ctx):
        self.callback = self._real(ctx).callback
        return super().invoke(ctx)


class LazyMigrate:
    """Stands in for flask_migrate.Migrate: init_app(app, db, directory)."""

    def init_app(self, app, db, directory: str, command: str = "db") -> None:
        def setup(loaded_app):
            from flask_migrate import Migrate  # noqa: PLC0415 - the point of this module
            from flask_migrate.cli import db as real_group  # noqa: PLC0415

            if not hasattr(loaded_app.extensions.get("migrate"), "migrate"):
                Migrate(loaded_app, db, directory=directory, command=command)
            return real_group

        app.cli.add_command(_LazyDbGroup(setup, command), name=command)
