"""The flaskr tutorial application: the tests from the documentation's testing
chapter, plus the behaviour the tutorial text promises."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import sys
import typing as t
from pathlib import Path

import flaskr
import pytest


def test_empty_db(client: t.Any) -> None:
    rv = client.get("/")
    assert rv.status_code == 200
    assert b"No entries here so far" in rv.data


def test_login_logout(auth: t.Any) -> None:
    rv = auth.login("admin", "default")
    assert b"You were logged in" in rv.data
    rv = auth.logout()
    assert b"You were logged out" in rv.data
    rv = auth.login("adminx", "default")
    assert b"Invalid username" in rv.data
    rv = auth.login("admin", "defaultx")
    assert b"Invalid password" in rv.data


def test_messages(client: t.Any, auth: t.Any) -> None:
    auth.login("admin", "default")
    rv = client.post(
        "/add",
        data={"title": "<Hello>", "text": "<strong>HTML</strong> allowed here"},
        follow_redirects=True,
    )
    assert b"No entries here so far" not in rv.data
    assert b"&lt;Hello&gt;" in rv.data
    assert b"<strong>HTML</strong> allowed here" in rv.data
    assert b"New entry was successfully posted" in rv.data


def test_entries_are_listed_newest_first(client: t.Any, auth: t.Any) -> None:
    auth.login()
    for title in ("first", "second", "third"):
        client.post("/add", data={"title": title, "text": "x"})
    body = client.get("/").get_data(as_text=True)
    positions = [
        body.index(f"<h2>{title}</h2>") for title in ("third", "second", "first")
    ]
    assert positions == sorted(positions)


def test_adding_requires_login(client: t.Any, app: t.Any) -> None:
    rv = client.post("/add", data={"title": "t", "text": "x"})
    assert rv.status_code == 401
    with flaskr.closing(sqlite3.connect(app.config["DATABASE"])) as db:
        assert db.execute("select count(*) from entries").fetchone() == (0,)


def test_adding_after_logout_is_refused(client: t.Any, auth: t.Any) -> None:
    auth.login()
    auth.logout()
    assert client.post("/add", data={"title": "t", "text": "x"}).status_code == 401


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"text": "no title"}, id="missing-title"),
        pytest.param({"title": "no text"}, id="missing-text"),
    ],
)
def test_incomplete_form_is_a_bad_request(
    client: t.Any, auth: t.Any, data: dict[str, str]
) -> None:
    auth.login()
    rv = client.post("/add", data=data)
    assert rv.status_code == 400
    assert b"Traceback" not in rv.data


def test_incomplete_login_form_is_a_bad_request(client: t.Any) -> None:
    assert client.post("/login", data={"username": "admin"}).status_code == 400


def test_login_page_and_navigation_links(client: t.Any, auth: t.Any) -> None:
    rv = client.get("/login")
    assert b"<h2>Login</h2>" in rv.data
    assert b'href="/login">log in</a>' in client.get("/").data
    auth.login()
    page = client.get("/").data
    assert b'href="/logout">log out</a>' in page
    assert b'<form action="/add" method=post class=add-entry>' in page


def test_flash_messages_show_once(client: t.Any, auth: t.Any) -> None:
    auth.login()
    rv = client.get("/")
    assert b"You were logged in" not in rv.data


def test_session_holds_the_login(client: t.Any, auth: t.Any) -> None:
    auth.login()
    with client.session_transaction() as sess:
        assert sess["logged_in"] is True
    auth.logout()
    with client.session_transaction() as sess:
        assert "logged_in" not in sess


def test_login_through_session_transaction(client: t.Any) -> None:
    with client.session_transaction() as sess:
        sess["logged_in"] = True
    rv = client.post("/add", data={"title": "t", "text": "x"})
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/"


def test_forged_session_cookie_is_not_logged_in(client: t.Any) -> None:
    client.set_cookie("session", "eyJsb2dnZWRfaW4iOnRydWV9.forged.signature")
    assert client.post("/add", data={"title": "t", "text": "x"}).status_code == 401


def test_stylesheet_is_served(client: t.Any) -> None:
    rv = client.get("/static/style.css")
    assert rv.status_code == 200
    assert rv.mimetype == "text/css"
    assert b".entries" in rv.data
    rv.close()


def test_database_connection_is_closed_after_each_request(
    client: t.Any, app: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[t.Any] = []
    real_connect = flaskr.connect_db

    def tracking_connect() -> t.Any:
        conn = real_connect()
        opened.append(conn)
        return conn

    monkeypatch.setattr(flaskr, "connect_db", tracking_connect)
    client.get("/")
    (conn,) = opened
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("select 1")


def test_init_db_command(app: t.Any) -> None:
    runner = app.test_cli_runner()
    with flaskr.closing(sqlite3.connect(app.config["DATABASE"])) as db:
        db.execute("insert into entries (title, text) values ('a', 'b')")
        db.commit()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    with flaskr.closing(sqlite3.connect(app.config["DATABASE"])) as db:
        assert db.execute("select count(*) from entries").fetchone() == (0,)


def test_settings_file_named_by_flaskr_settings_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module reads FLASKR_SETTINGS at import, as the tutorial sets up."""
    settings = tmp_path / "settings.cfg"
    settings.write_text("USERNAME = 'editor'\nPASSWORD = 's3cret'\n")
    monkeypatch.setenv("FLASKR_SETTINGS", str(settings))

    name = "flaskr_with_settings"
    spec = importlib.util.spec_from_file_location(name, flaskr.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)

    assert module.app.config["USERNAME"] == "editor"
    assert module.app.config["PASSWORD"] == "s3cret"
    assert module.app.config["SECRET_KEY"] == "development key"  # untouched
    assert flaskr.app.config["USERNAME"] == "admin"


def test_default_database_lives_in_the_instance_folder(
    app: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DATABASE", None)
    assert flaskr.database_path() == os.path.join(app.instance_path, "flaskr.db")
