"""The Web://Xtra help site: a bilingual knowledge base and self-service help desk."""

import os
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l

from . import (accounts, analytics, cli, content_sync, database, i18n, page_cache, production, security,
               static_files, template_context, urls, views)
from .config import Config, instance_path, instance_secret
from .content import ArticleStore
from .support_calendar import calendar_from_config
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .outbox_sender import OutboxSender
from .search import SearchIndex
from .views import api, auth, autoconfig, desk, editor, feedback, health, kb, outbox, status
from .views import tickets as ticket_views  # not `tickets`: that name is the domain module


def create_app(config=None) -> Flask:
    """Create the app: load the settings, bind the extensions, register the blueprints."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path(config))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.config.setdefault("SECRET_KEY", None)
    production.check_settings(app)  # before the laptop defaults below fill the gaps
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'helpsite.db'}"
    if not app.config["SEARCH_INDEX_DIR"]:
        app.config["SEARCH_INDEX_DIR"] = str(Path(app.instance_path) / "search-index")

    production.init_app(app)
    # A mistyped support setting (a holiday key, a time) stops the start, not a customer's request.
    calendar_from_config(app.config)
    urls.init_app(app)
    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(accounts.load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    ArticleStore().init_app(app)
    SearchIndex().init_app(app)
    content_sync.init_app(app)
    OutboxSender().init_app(app)
    page_cache.init_app(app)
    analytics.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    static_files.init_app(app)
    views.init_app(app)
    template_context.init_app(app)

    app.register_blueprint(kb.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(ticket_views.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(autoconfig.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(outbox.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(health.bp)
    cli.init_app(app)
    return app
