"""Unmodified Flask applications (hello; Flask-SQLAlchemy and Flask-Login), for
benchmarks/compat.py. It imports ``flask`` and nothing of gateway: whether it
runs on Flask or on gateway depends only on GATEWAY_FLASK_COMPAT."""

from __future__ import annotations

from flask import Flask, abort
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
)
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
login_manager = LoginManager()


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), unique=True, nullable=False)


class Note(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)
    text = db.Column(db.String(200), nullable=False)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def create_hello_app() -> Flask:
    """Flask's hello world, with no extension."""
    app = Flask(__name__)

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="benchmark secret",
        SQLALCHEMY_DATABASE_URI="sqlite://",  # in memory, one shared connection
    )
    db.init_app(app)
    login_manager.init_app(app)

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    @app.route("/login/<name>")
    def login(name: str) -> str:
        user = db.session.execute(db.select(User).filter_by(name=name)).scalar()
        if user is None:
            abort(404)
        login_user(user)
        return "ok"

    @app.route("/notes")
    @login_required
    def notes() -> dict[str, object]:
        rows = db.session.execute(
            db.select(Note).filter_by(user_id=current_user.id).order_by(Note.id)
        ).scalars()
        return {"user": current_user.name, "notes": [n.text for n in rows]}

    with app.app_context():
        db.create_all()
        demo = User(name="demo")
        db.session.add(demo)
        db.session.flush()
        db.session.add_all(Note(user_id=demo.id, text=f"note {i}") for i in range(10))
        db.session.commit()
    return app
