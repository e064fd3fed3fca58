"""A small notes application written for Flask, with nine Flask extensions.

It imports ``flask`` and never ``gateway``: under gateway's Flask
compatibility switch (``GATEWAY_FLASK_COMPAT=1``) it runs, unmodified, on
gateway's core. tests/compat/test_extensions_app.py drives it with the test
client, over HTTP through ``gateway serve``, and as tenants of a factory.

What each extension does here:

- Flask-SQLAlchemy: the ``User`` and ``Note`` tables, in ``notes.db`` in the
  instance folder (so every tenant has its own SQLite file);
- Flask-Migrate: ``flask db init / migrate / upgrade`` on that database (the
  migrations directory is in the instance folder too);
- Flask-Login: register, log in and out; ``/notes`` requires a login;
- Flask-WTF: the login, register and note forms, CSRF-protected everywhere
  by ``CSRFProtect``;
- Flask-Babel: the locale from Accept-Language (en, de), translated strings
  (``translations/de``) and a ``format_datetime`` on the home page;
- Flask-Caching: ``/cached`` is rendered once, then served from SimpleCache;
- Flask-Cors: ``/api/*`` answers cross-origin requests from one origin;
- Flask-Limiter: ``/limited`` allows 3 requests a minute (in memory);
- Flask-Session: sessions live server-side, in a cachelib FileSystemCache in
  the instance folder; the cookie only carries the session id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from cachelib.file import FileSystemCache
from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import Babel, format_datetime, get_locale, lazy_gettext
from flask_caching import Cache
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_migrate import Migrate
from flask_session import Session
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

HERE = Path(__file__).resolve().parent
LANGUAGES = ["en", "de"]
#: The moment the home page shows with format_datetime (fixed, so that what
#: the locale does to it can be checked).
LAUNCH = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
#: The origin allowed to call /api/* from a browser.
API_ORIGIN = "https://client.example"

db = SQLAlchemy()
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
cache = Cache()
cors = CORS()
server_session = Session()


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), unique=True, nullable=False)
    password_hash = db.Column(db.String(200), nullable=False)
    notes = db.relationship("Note", back_populates="author", order_by="Note.id")


class Note(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)
    text = db.Column(db.String(200), nullable=False)
    author = db.relationship("User", back_populates="notes")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


class CredentialsForm(FlaskForm):
    name = StringField(
        lazy_gettext("Name"), validators=[DataRequired(), Length(max=40)]
    )
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired()])


class NoteForm(FlaskForm):
    text = TextAreaField(
        lazy_gettext("Note"), validators=[DataRequired(), Length(max=200)]
    )


def select_locale() -> str | None:
    return request.accept_languages.best_match(LANGUAGES)


def compile_translations(instance: Path) -> Path:
    """Compile translations/*/LC_MESSAGES/messages.po into the instance
    folder (what ``pybabel compile`` does at build time; done at start here so
    that no binary file is kept in the repository)."""
    out = instance / "translations"
    for po in HERE.glob("translations/*/LC_MESSAGES/messages.po"):
        mo = out / po.relative_to(HERE / "translations").with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)
    return out


def create_app(
    tenant: str | None = None,
    instance: str | os.PathLike[str] | None = None,
    *,
    secret_key: str | None = None,
    create_tables: bool = True,
) -> Flask:
    """The application of ``tenant`` (a label shown in pages) whose database,
    sessions and translations live in the ``instance`` folder.

    ``secret_key`` unset leaves SECRET_KEY to whoever hosts the app.
    ``create_tables=False`` leaves the schema to ``flask db upgrade``.
    """
    app = Flask(
        __name__,
        instance_path=os.fspath(Path(instance).resolve()) if instance else None,
    )
    instance_dir = Path(app.instance_path)
    instance_dir.mkdir(parents=True, exist_ok=True)
    if secret_key:
        app.config["SECRET_KEY"] = secret_key
    app.config.update(
        NOTES_TENANT=tenant or "Notes",
        # Relative to the instance folder (Flask-SQLAlchemy resolves it there).
        SQLALCHEMY_DATABASE_URI="sqlite:///notes.db",
        BABEL_TRANSLATION_DIRECTORIES=os.fspath(compile_translations(instance_dir)),
        BABEL_DEFAULT_TIMEZONE="UTC",
        CACHE_TYPE="SimpleCache",
        CACHE_DEFAULT_TIMEOUT=300,
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(
            os.fspath(instance_dir / "sessions"), threshold=500
        ),
        RATELIMIT_HEADERS_ENABLED=True,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=os.fspath(instance_dir / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "login"
    login_manager.login_message = lazy_gettext("Please sign in first.")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    cache.init_app(app)
    cors.init_app(app, resources={r"/api/*": {"origins": [API_ORIGIN]}})
    server_session.init_app(app)
    # One Limiter per app: a Limiter's storage and limits are its own, and
    # each tenant counts its own requests.
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")

    renders = {"cached": 0}

    @app.context_processor
    def locale() -> dict[str, object]:
        return {"locale": get_locale()}

    @app.route("/")
    def index() -> str:
        return render_template("index.html", launch=format_datetime(LAUNCH, "long"))

    @app.route("/register", methods=["GET", "POST"])
    def register() -> object:
        form = CredentialsForm()
        if form.validate_on_submit():
            taken = db.session.execute(
                db.select(User).filter_by(name=form.name.data)
            ).scalar()
            if taken is None:
                user = User(
                    name=form.name.data,
                    password_hash=generate_password_hash(form.password.data),
                )
                db.session.add(user)
                db.session.commit()
                login_user(user)
                return redirect(url_for("notes"))
            form.name.errors.append("This name is taken.")
        return render_template("credentials.html", form=form, action="register")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> object:
        form = CredentialsForm()
        if form.validate_on_submit():
            user = db.session.execute(
                db.select(User).filter_by(name=form.name.data)
            ).scalar()
            if user is not None and check_password_hash(
                user.password_hash, form.password.data
            ):
                login_user(user)
                target = request.args.get("next", "")
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("notes")
                return redirect(target)
            form.password.errors.append("Unknown name or wrong password.")
        return render_template("credentials.html", form=form, action="login")

    @app.route("/logout")
    def logout() -> object:
        logout_user()
        return redirect(url_for("index"))

    @app.route("/notes", methods=["GET", "POST"])
    @login_required
    def notes() -> object:
        form = NoteForm()
        if form.validate_on_submit():
            db.session.add(Note(author=current_user, text=form.text.data))
            db.session.commit()
            return redirect(url_for("notes"))
        return render_template("notes.html", form=form, notes=current_user.notes)

    @app.route("/whoami")
    def whoami() -> object:
        return {
            "tenant": app.config["NOTES_TENANT"],
            "user": current_user.name if current_user.is_authenticated else None,
            "locale": str(get_locale()),
        }

    @app.route("/api/stats")
    def api_stats() -> object:
        return jsonify(
            tenant=app.config["NOTES_TENANT"],
            users=db.session.scalar(db.select(db.func.count(User.id))),
            notes=db.session.scalar(db.select(db.func.count(Note.id))),
        )

    @app.route("/cached")
    @cache.cached()
    def cached() -> object:
        renders["cached"] += 1
        return {"renders": renders["cached"]}

    @app.route("/limited")
    @limiter.limit("3 per minute")
    def limited() -> str:
        return "within the limit"

    if create_tables:
        with app.app_context():
            db.create_all()
    return app


def tenant_secret(key: str) -> str:
    """Each tenant's SECRET_KEY, derived from the deployment's secret."""
    root = os.environ.get("NOTES_SECRET", "notes development secret").encode()
    return hmac.new(root, f"tenant:{key}".encode(), hashlib.sha256).hexdigest()


def tenant_factory(root: str, *keys: str):
    """A tenant factory (``key -> app | None``) for a gateway: tenant ``key``
    is ``create_app`` with the instance folder ``root/key`` (its own SQLite
    database and session store) and its own SECRET_KEY; other keys are
    unknown."""
    known = frozenset(keys)

    def create_tenant(key: str) -> Flask | None:
        if key not in known:
            return None
        return create_app(key, Path(root) / key, secret_key=tenant_secret(key))

    return create_tenant
