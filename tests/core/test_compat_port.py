"""Porting a Flask application by changing its imports only.

Four small but realistic applications under ``compat_apps/`` are written for
Flask (``from flask import ...``). Each scenario below drives one of them
through the test client like its own test suite would, with assertions on
what matters to its users. The scenarios run:

- on the gateway port (the module's ``flask`` imports rewritten to
  ``gateway``, nothing else changed) and on Flask itself, each with its
  assertions (``test_scenario``);
- on both at once, comparing every response: status, headers in order
  (except ``Date``, and the timestamp and signature of the session cookie)
  and body (``test_port_behaves_like_flask``).
"""

from __future__ import annotations

import io
import os
import shutil
import typing as t
from pathlib import Path

import pytest
from compat_support import (
    FLASK,
    FRAMEWORKS,
    GATEWAY,
    Framework,
    Recorder,
    assert_same_log,
    environ_restored,
    needs_flask,
)

# -- blog: factory, SQLite through g, auth and blog blueprints, CLI -----------


def blog_scenario(fw: Framework, tmp_path: Path) -> Recorder:
    module = fw.load("blog/app.py")
    app = module.create_app({"TESTING": True, "DATABASE": str(tmp_path / "blog.db")})
    # As ``flask --app blog init-db`` runs it: through the CLI group, which
    # pushes an app context for the app's commands.
    group = fw.get("cli.FlaskGroup")(create_app=lambda: app)
    with environ_restored():
        result = app.test_cli_runner().invoke(group, ["init-db"])
    assert result.exit_code == 0
    assert "Initialized the database." in result.output

    rec = Recorder(app.test_client())
    rec.note("cli", result.output)

    rv = rec.get("/")
    assert rv.status_code == 200
    assert b"No posts yet." in rv.data
    assert b'href="/auth/register"' in rv.data
    assert rec.get("/static/style.css").status_code == 200

    # Creating a post needs a login: redirect with the page to come back to.
    rv = rec.get("/create")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/auth/login?next=/create"

    rv = rec.post("/auth/register", data={"username": "", "password": "x"})
    assert b'<div class="flash error">Username is required.</div>' in rv.data
    rv = rec.post("/auth/register", data={"username": "ann", "password": "pw"})
    assert rv.headers["Location"] == "/auth/login"
    rv = rec.post("/auth/register", data={"username": "ann", "password": "pw"})
    assert b"User ann is already registered." in rv.data
    rv = rec.get("/auth/login")
    assert b"Registered, please log in." not in rv.data  # consumed above

    rv = rec.post("/auth/login", data={"username": "ann", "password": "bad"})
    assert b"Incorrect username or password." in rv.data
    # The macro imported "with context" sees the request: the field keeps it.
    assert b'value="ann"' in rv.data
    rv = rec.post(
        "/auth/login?next=/create", data={"username": "ann", "password": "pw"}
    )
    assert rv.headers["Location"] == "/create"
    assert "Cookie" in rv.headers["Vary"]

    rv = rec.post("/create", data={"title": "", "body": "b"})
    assert b"Title is required." in rv.data
    rv = rec.post(
        "/create", data={"title": "Hello <world>", "body": "A body that is long."}
    )
    assert rv.headers["Location"] == "/"
    rv = rec.get("/")
    assert b"Hello &lt;world&gt;" in rv.data
    assert b"A body that is long...." not in rv.data
    assert b"A body that is long." in rv.data
    assert b'href="/1/update"' in rv.data

    rv = rec.get("/1/update")
    assert b'<title>Edit "Hello &lt;world&gt;" - Blog</title>' in rv.data
    rv = rec.post("/1/update", data={"title": "Edited", "body": "x" * 30})
    assert rv.status_code == 302
    assert ("x" * 20 + "...").encode() in rec.get("/").data

    rv = rec.get("/99/update")
    assert rv.status_code == 404
    assert b"Post id 99 doesn&#39;t exist." in rv.data

    # Another user may read but not edit.
    rec.get("/auth/logout")
    rec.post("/auth/register", data={"username": "bob", "password": "pw"})
    rec.post("/auth/login", data={"username": "bob", "password": "pw"})
    assert rec.post("/1/delete").status_code == 403
    assert rec.get("/1/delete").status_code == 405
    rec.get("/auth/logout")
    rec.post("/auth/login", data={"username": "ann", "password": "pw"})
    rv = rec.post("/1/delete")
    assert rv.status_code == 302
    rv = rec.get("/")
    assert b"Post deleted." in rv.data
    assert b"No posts yet." in rv.data

    rv = rec.get("/no/such/page")
    assert rv.status_code == 404
    assert b"<title>Not Found - Blog</title>" in rv.data
    return rec


# -- api: MethodView REST, nested blueprints, JSON errors, hooks -------------

KEY = {"X-Api-Key": "secret"}


def api_scenario(fw: Framework, tmp_path: Path) -> Recorder:
    app = fw.load("api/app.py").create_app()
    rec = Recorder(app.test_client())

    rv = rec.get("/")
    assert rv.json == {
        "items": "http://localhost/api/v1/items/",
        "stats": "/api/v1/admin/stats",
        "item_post": "/api/v1/items/",
    }

    rv = rec.post("/api/v1/items/", json={"name": "pen"})
    assert rv.status_code == 401
    assert rv.json["description"] == "A valid X-Api-Key header is required."
    assert rv.headers["X-Api-Version"] == "1"

    for name, price in [("pen", 1.5), ("ink", 3), ("pad", 2.25)]:
        rv = rec.post(
            "/api/v1/items/",
            json={"name": name, "price": price, "tags": ["b", "a"]},
            headers=KEY,
        )
        assert rv.status_code == 201
    assert rv.headers["Location"] == "/api/v1/items/3"
    assert rv.json == {"id": 3, "name": "pad", "price": 2.25, "tags": ["a", "b"]}

    rv = rec.post("/api/v1/items/", json={"name": "pen"}, headers=KEY)
    assert rv.status_code == 409
    rv = rec.post("/api/v1/items/", json={"name": " "}, headers=KEY)
    assert rv.status_code == 422
    assert rv.json["field"] == "name"
    rv = rec.post("/api/v1/items/", json=[1], headers=KEY)
    assert rv.status_code == 422
    rv = rec.post(
        "/api/v1/items/",
        data="{not json",
        content_type="application/json",
        headers=KEY,
    )
    assert rv.status_code == 400
    rv = rec.post("/api/v1/items/", data="name=x", headers=KEY)
    assert rv.status_code == 415

    rv = rec.get("/api/v1/items/?per_page=2")
    assert [i["name"] for i in rv.json["items"]] == ["pen", "ink"]
    assert rv.json["next"] == "http://localhost/api/v1/items/?page=2&per_page=2"
    rv = rec.get("/api/v1/items/?page=2&per_page=2")
    assert "next" not in rv.json
    rv = rec.get("/api/v1/items/?page=oops")
    assert rv.json["page"] == 1

    assert rec.get("/api/v1/items/2").json["name"] == "ink"
    rv = rec.get("/api/v1/items/9")
    assert rv.status_code == 404
    assert rv.json == {"code": 404, "name": "Not Found", "description": "No item 9."}
    assert rec.get("/api/v1/items/x").status_code == 404

    rv = rec.put("/api/v1/items/2", json={"price": 4}, headers=KEY)
    assert rv.json["price"] == 4
    rv = rec.put("/api/v1/items/2", json={"price": "4"}, headers=KEY)
    assert rv.status_code == 422
    rv = rec.delete("/api/v1/items/2", headers=KEY)
    assert rv.status_code == 204
    assert rv.data == b""
    assert rec.delete("/api/v1/items/2", headers=KEY).status_code == 404
    rv = rec.delete("/api/v1/items/", headers=KEY)
    assert rv.status_code == 405
    assert rv.json["code"] == 405

    rv = rec.open("HEAD", "/api/v1/items/1")
    assert rv.status_code == 200
    assert rv.data == b""
    rv = rec.options("/api/v1/items/1")
    assert set(rv.allow) == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}

    rv = rec.get("/api/v1/admin/stats")
    assert rv.json == {
        "items": 2,
        "total": "3.75",
        "generated": "Wed, 31 Jan 2024 00:00:00 GMT",
    }
    assert rec.get("/api/v1/admin/tags").json == [["a", "b"], ["a", "b"]]
    rv = rec.get("/api/v1/whoami", headers={"X-Api-Key": "k1"})
    assert rv.json["blueprints"] == ["api.admin", "api"][1:]
    assert rv.json["endpoint"] == "api.whoami"
    assert rv.json["ua"].startswith("Werkzeug/")
    rv = rec.get("/api/v1/items")
    assert rv.status_code == 308
    assert rv.headers["Location"] == "http://localhost/api/v1/items/"
    return rec


# -- shop: module-level app, URL processors, cart, templates, downloads -------


def shop_scenario(fw: Framework, tmp_path: Path) -> Recorder:
    module = fw.load("shop/app.py")
    client = module.app.test_client()
    rec = Recorder(client)

    rv = rec.get("/", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert rv.headers["Location"] == "/de/"
    rv = rec.get("/de/")
    assert rv.status_code == 200
    assert b'<html lang="de">' in rv.data
    assert b'<a href="/de/p/tea">Green &lt;Tea&gt;</a> 4.50 EUR' in rv.data
    assert b"<title>Products - Shop</title>" in rv.data
    assert b'<a href="/fr/">fr</a>' in rv.data
    assert rec.get("/xx/").status_code == 404

    rv = rec.get("/en/p/mug")
    assert b"<h1>Mug</h1><p>12.00 EUR</p>" in rv.data
    assert rv.headers["Set-Cookie"] == "last_seen=mug; HttpOnly; Path=/; SameSite=Lax"
    assert b'var product = {"name": "Mug", "price": 1200};' in rv.data
    assert rec.get("/en/p/nope").status_code == 404

    rv = rec.get("/en/checkout")
    assert rv.headers["Location"] == "/en/cart?next=http://localhost/en/checkout"
    rv = rec.get("/en/cart")
    assert b'<ul class="errors"><li>Your cart is empty.</li></ul>' in rv.data

    rv = rec.post("/en/cart/add/tea", data={"qty": "2"})
    assert rv.headers["Location"] == "/en/cart"
    rv = rec.post("/en/cart/add/pot", data={"next": "/en/"})
    assert rv.headers["Location"] == "/en/"
    rv = rec.post("/en/cart/add/tea")
    rv = rec.post("/en/cart/add/ghost")
    rv = rec.get("/en/cart")
    assert b"Cart (4)" in rv.data
    assert b"3 x Green &lt;Tea&gt; = 13.50 EUR" in rv.data
    assert b"Total: 53.49 EUR" in rv.data
    assert b'<p class="success">Added <b>Green &lt;Tea&gt;</b>.</p>' in rv.data
    assert b"<li>Unknown product ghost.</li>" in rv.data

    rv = rec.get("/fr/checkout")
    assert rv.headers["Location"] == "/fr/invoice.csv"
    rv = rec.get("/fr/invoice.csv")
    assert rv.data == b"pot,1,3999\r\ntea,3,1350\r\n"
    assert rv.headers["Content-Disposition"].startswith("attachment;")

    rv = rec.get("/de/export?sep=:")
    assert rv.data == b"lang=de\ntea,:450\nmug,:1200\npot,:3999\n"
    rv = rec.get("/de/catalogue")
    assert rv.data.startswith(b"tea: Green &lt;Tea&gt; (/de/catalogue)\n")

    rv = rec.get("/en/boom")
    assert rv.status_code == 500
    assert b"Something broke (RuntimeError)" in rv.data
    assert rv.headers["Retry-After"] == "30"

    rv = rec.post("/en/cart/clear")
    rv = rec.get("/en/cart")
    assert b"Empty." in rv.data
    assert b'<p class="info">Cart emptied.</p>' in rv.data
    return rec


# -- wiki: subclasses, converters, uploads, views, signals, CLI ---------------


def wiki_scenario(fw: Framework, tmp_path: Path) -> Recorder:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    app = fw.load("wiki/app.py").create_app(str(uploads), WIKI_TITLE="TestWiki")
    rec = Recorder(app.test_client())

    runner = app.test_cli_runner()
    for args in (
        ["wiki", "stats"],
        ["wiki", "create", "HelpPage"],
        ["wiki", "create", "bad"],
    ):
        result = runner.invoke(args=args)
        rec.note(" ".join(args), (result.exit_code, result.output))
    verbose = runner.invoke(args=["wiki", "stats", "--verbose"]).output
    assert verbose == "2 pages\nFrontPage: 1\nHelpPage: 1\n"

    rv = rec.get("/")
    assert rv.headers["Location"] == "/FrontPage"
    rv = rec.get("/FrontPage")
    assert rv.headers["X-Wiki-Page"] == "FrontPage"
    assert b'<a href="/WikiWiki">WikiWiki</a>' in rv.data
    assert b"<title>FrontPage | TestWiki</title>" in rv.data
    rv = rec.get("/FrontPage?format=raw")
    assert rv.mimetype == "text/plain"
    rv = rec.get("/HelpPage", headers={"Accept": "text/plain"})
    assert rv.data == b"New page."
    assert rec.get("/lowercase").status_code == 404

    rv = rec.get("/NewTopic")
    assert rv.status_code == 404
    assert b"NewTopic does not exist yet." in rv.data
    rv = rec.post("/NewTopic", data={"text": "About <b>FrontPage</b>."})
    assert rv.status_code == 303
    rv = rec.get("/NewTopic")
    assert b'About &lt;b&gt;<a href="/FrontPage">FrontPage</a>&lt;/b&gt;.' in rv.data

    assert rec.get("/history/NewTopic").json == {"page": "NewTopic", "revisions": 1}
    rv = rec.get("/pages/")
    assert b'<li><a href="/HelpPage">HelpPage</a></li>' in rv.data
    rv = rec.get("/search?q=welcome&q=about")
    assert rv.json == {
        "query": ["welcome", "about"],
        "found": ["FrontPage@/search", "NewTopic@/search"],
    }

    rv = rec.post(
        "/files/", data={"file": (io.BytesIO(b"notes"), "../../My Notes.txt")}
    )
    assert rv.headers["Location"] == "/files/My_Notes.txt"
    assert (uploads / "My_Notes.txt").read_bytes() == b"notes"
    os.utime(uploads / "My_Notes.txt", (1_700_000_000, 1_700_000_000))  # same ETag
    assert rec.get("/files/My_Notes.txt").data == b"notes"
    assert rec.get("/files/../app.py").status_code == 404
    rv = rec.post("/files/", data={"file": (io.BytesIO(b"x"), "tool.exe")})
    assert rv.status_code == 415
    rv = rec.post("/files/", data={"file": (io.BytesIO(b"x" * 1000), "big.txt")})
    assert rv.status_code == 413
    assert rv.data == b"Upload too large (limit 512 bytes)"
    rv = rec.post("/files/", data={})
    assert rv.status_code == 400

    rv = rec.get("/static/wiki.css")
    assert rv.data == b"h1 { color: green; }\n"
    rv = rec.get("/renders")
    assert rv.json["renders"] == ["page.html", "missing.html", "page.html", "list.html"]
    return rec


SCENARIOS = {
    "blog": blog_scenario,
    "api": api_scenario,
    "shop": shop_scenario,
    "wiki": wiki_scenario,
}


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str, fw: Framework, tmp_path: Path) -> None:
    """The application works as its own tests expect, on either framework."""
    SCENARIOS[name](fw, tmp_path)


@needs_flask
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_port_behaves_like_flask(name: str, tmp_path: Path) -> None:
    """Every response of the ported application equals Flask's."""
    scenario: t.Callable[[Framework, Path], Recorder] = SCENARIOS[name]
    # The same directory for both runs: file ETags include the path.
    workdir = tmp_path / "run"
    workdir.mkdir()
    ours = scenario(GATEWAY, workdir)
    shutil.rmtree(workdir)
    workdir.mkdir()
    theirs = scenario(FLASK, workdir)
    assert len(ours.log) > 15
    assert_same_log(ours.log, theirs.log)
