"""Flaskr: the documentation tutorial's microblog, running on gateway.

One user (credentials from the configuration) logs in, posts entries with a
plain-text title and an HTML body, and sees every entry newest first. The code
follows the tutorial step by step; the only changes are the imports, the
database living in the instance folder instead of /tmp, a constant-time
password check, and an ``init-db`` command for the ``gateway`` CLI.

Run it::

    cd examples/flaskr
    python flaskr.py            # creates the database on first start

or ``gateway --app flaskr init-db`` then ``gateway --app flaskr run``.
"""

from __future__ import annotations

import hmac
import os
import sqlite3
from contextlib import closing

from gateway import (
    App,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

# configuration (override with a file named by the FLASKR_SETTINGS variable)
DATABASE = None  # None: flaskr.db in the instance folder
DEBUG = False
SECRET_KEY = "development key"
USERNAME = "admin"
PASSWORD = "default"

# create our little application :)
app = App(__name__)
app.config.from_object(__name__)
app.config.from_envvar("FLASKR_SETTINGS", silent=True)


def database_path() -> str:
    """Where the SQLite file lives: ``DATABASE``, else the instance folder."""
    return app.config["DATABASE"] or os.path.join(app.instance_path, "flaskr.db")


def connect_db() -> sqlite3.Connection:
    """Open a connection to the configured database."""
    return sqlite3.connect(database_path())


def init_db() -> None:
    """Create (or empty) the entries table from schema.sql."""
    os.makedirs(os.path.dirname(database_path()) or ".", exist_ok=True)
    with closing(connect_db()) as db:
        with app.open_resource("schema.sql", "r") as f:
            db.cursor().executescript(f.read())
        db.commit()


@app.cli.command("init-db")
def init_db_command() -> None:
    """Create the database tables (erasing existing entries)."""
    init_db()
    print(f"Initialized the database at {database_path()}.")


@app.before_request
def before_request() -> None:
    g.db = connect_db()


@app.teardown_request
def teardown_request(exception: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.route("/")
def show_entries() -> str:
    cur = g.db.execute("select title, text from entries order by id desc")
    entries = [dict(title=row[0], text=row[1]) for row in cur.fetchall()]
    return render_template("show_entries.html", entries=entries)


@app.route("/add", methods=["POST"])
def add_entry():
    if not session.get("logged_in"):
        abort(401)
    g.db.execute(
        "insert into entries (title, text) values (?, ?)",
        [request.form["title"], request.form["text"]],
    )
    g.db.commit()
    flash("New entry was successfully posted")
    return redirect(url_for("show_entries"))


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@app.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        if not _matches(request.form["username"], app.config["USERNAME"]):
            error = "Invalid username"
        elif not _matches(request.form["password"], app.config["PASSWORD"]):
            error = "Invalid password"
        else:
            session["logged_in"] = True
            flash("You were logged in")
            return redirect(url_for("show_entries"))
    return render_template("login.html", error=error)


@app.route("/logout")
def logout():
    session.pop("logged_in", None)
    flash("You were logged out")
    return redirect(url_for("show_entries"))


if __name__ == "__main__":
    if not os.path.exists(database_path()):
        init_db()
    app.run(debug=True)
