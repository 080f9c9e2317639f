"""Extension objects, created unbound and bound to the app in create_app."""

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase
from werkzeug.local import LocalProxy

from .content import ArticleStore
from .lazy_migrate import LazyMigrate
from .search import SearchIndex


class Model(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Model)
migrate = LazyMigrate()  # Flask-Migrate itself only for `flask db` (12 MiB per worker otherwise)
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()
# The article store and the search index hold per-app state (a content folder, an index
# folder), so each app gets its own, registered in app.extensions by create_app; these
# proxies reach the current app's, and two apps in one process never share articles.
articles: ArticleStore = LocalProxy(lambda: current_app.extensions["articles"])
search_index: SearchIndex = LocalProxy(lambda: current_app.extensions["search"])
