"""An unmodified Flask application with nine real Flask extensions
(apps/notes_app: Flask-SQLAlchemy, -Login, -WTF, -Migrate, -Babel, -Caching,
-Cors, -Limiter, -Session) runs on gateway's core through the compatibility
switch: with the test client, with ``flask db`` (Flask-Migrate), and over HTTP
through ``gateway serve`` as tenants of a factory and as a mount.

Everything under the switch runs in child processes (the suite's own process
has real Flask imported): a driver script for the test client
(apps/drive_notes_app.py, run once on each core), ``python -m flask``, and
``gateway serve``. Children run with ``-W error``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import typing as t
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from server_harness import (
    HTTPResult,
    ServerProcess,
    free_port,
    http_ready,
    http_request,
    require_module,
)

APPS = Path(__file__).resolve().parent / "apps"
PYTHON = sys.executable
#: Seconds a child process may take before it is killed.
TIMEOUT = 60
#: Flask-Migrate's env.py template (what ``flask db init`` writes) calls
#: ``db.get_engine()`` first, which Flask-SQLAlchemy 3.1 deprecates with this
#: warning; the two extensions disagree, gateway has no part in it.
GET_ENGINE_DEPRECATED = (
    "ignore:'get_engine' is deprecated and will be removed in Flask-SQLAlchemy"
    " 3.2:DeprecationWarning"
)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def child_env(switch: bool, **extra: str) -> dict[str, str]:
    """The suite's environment without Flask's or gateway's variables, with
    the app's directory importable and the switch on or off."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "GATEWAY_"))
    }
    if switch:
        env["GATEWAY_FLASK_COMPAT"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(APPS), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env.update(extra)
    return env


def python_argv(*args: str | os.PathLike[str], warnings: t.Sequence[str] = ()):
    filters = [option for warning in warnings for option in ("-W", warning)]
    return [PYTHON, "-W", "error", *filters, *map(os.fspath, args)]


def finish(process: subprocess.Popen[str], argv: list[str]) -> str:
    """The standard output of ``process``; fail with both outputs if it
    exits non-zero or outlives TIMEOUT."""
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"{argv!r} did not finish in {TIMEOUT}s\n{stdout}\n{stderr}")
    if process.returncode != 0:
        pytest.fail(
            f"{argv!r} exited with {process.returncode}\n"
            f"--- stdout\n{stdout}--- stderr\n{stderr}",
            pytrace=False,
        )
    return stdout


def run(
    *args: str | os.PathLike[str],
    switch: bool = True,
    cwd: Path,
    warnings: t.Sequence[str] = (),
) -> str:
    argv = python_argv(*args, warnings=warnings)
    process = subprocess.Popen(
        argv,
        env=child_env(switch),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return finish(process, argv)


# -- the test client, on gateway and on Flask ----------------------------------


@pytest.fixture(scope="module")
def driven(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, t.Any]]:
    """apps/drive_notes_app.py's observations on each core: ``"gateway"``
    under the switch, ``"flask"`` (the reference) without it; both children
    run at once."""
    started = {}
    for core, switch in (("gateway", True), ("flask", False)):
        workdir = tmp_path_factory.mktemp(f"driven-{core}")
        argv = python_argv(APPS / "drive_notes_app.py", workdir / "instance")
        started[core] = (
            argv,
            subprocess.Popen(
                argv,
                env=child_env(switch),
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    try:
        return {
            core: json.loads(finish(process, argv))
            for core, (argv, process) in started.items()
        }
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_app_runs_on_gateways_core_under_the_switch(driven):
    assert driven["gateway"]["core"] == {
        "flask.Flask is gateway.App": True,
        "app class": "gateway.app.App",
        "flask.request is gateway.request": True,
        "session interface": "CacheLibSessionInterface",
    }
    assert driven["flask"]["core"]["app class"] == "flask.app.Flask"


def case_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


#: Driver step -> (status, Location, a fragment of the body or None).
RESPONSES = [
    ("anonymous notes", 302, "/login?next=%2Fnotes", None),
    ("register without token", 400, None, "The CSRF token is missing."),
    ("register with a wrong token", 400, None, "The CSRF token is invalid."),
    ("register", 302, "/notes", None),
    ("add note", 302, "/notes", None),
    ("add note without token", 400, None, "The CSRF token is missing."),
    ("logout", 302, "/", None),
    ("notes after logout", 302, "/login?next=%2Fnotes", None),
    ("login with a wrong password", 200, None, "Unknown name or wrong password."),
    ("login", 302, "/notes", None),
]


@pytest.mark.parametrize(
    ("step", "status", "location", "fragment"),
    RESPONSES,
    ids=[case_id(case[0]) for case in RESPONSES],
)
def test_test_client_flow(driven, step, status, location, fragment):
    observed = driven["gateway"][step]
    assert (observed["status"], observed["location"]) == (status, location)
    if fragment is not None:
        assert fragment in observed["text"]


ALICE = {"tenant": "alpha", "user": "alice", "locale": "en"}
ANONYMOUS = {**ALICE, "user": None}

#: Driver observation -> what it must be.
OBSERVATIONS = [
    # Flask-Login (and Flask-SQLAlchemy behind it)
    ("whoami after register", ALICE),
    ("whoami after logout", ANONYMOUS),
    ("whoami after a wrong password", ANONYMOUS),
    ("whoami after login", ALICE),
    ("notes", ["first", "second"]),
    ("api stats", {"tenant": "alpha", "users": 1, "notes": 2}),
    # Flask-Session: a session id in the cookie, Flask-Login's and
    # Flask-WTF's data in the server-side store under it.
    (
        "session",
        {
            "cookie is a session id": True,
            "stored under it": [
                "_fresh",
                "_id",
                "_permanent",
                "_user_id",
                "csrf_token",
            ],
        },
    ),
    # Flask-Babel: Accept-Language picks the catalogue and the date format.
    (
        "home in en",
        {
            "heading": "Welcome to alpha",
            "launch": "March 5, 2024, 2:30:00\u202fPM UTC",
            "html lang": "en",
        },
    ),
    (
        "home in de",
        {
            "heading": "Willkommen bei alpha",
            "launch": "5. März 2024, 14:30:00 UTC",
            "html lang": "de",
        },
    ),
    ("home in fr, de;q=0.5", {"heading": "Willkommen bei alpha", "html lang": "de"}),
    ("home in fr", {"heading": "Welcome to alpha", "html lang": "en"}),
    ("flashed in de", ["Bitte zuerst anmelden."]),
    # Flask-Caching: rendered once.
    ("cached", [1, 1, 1]),
    # Flask-Cors: /api/* only, the configured origin only.
    (
        "cors",
        {
            "api, allowed origin": "https://client.example",
            "api, other origin": None,
            "page, allowed origin": None,
        },
    ),
    # Flask-Limiter: 3 per minute.
    ("limited", {"statuses": [200, 200, 200, 429], "limit header": "3"}),
]


@pytest.mark.parametrize(
    ("name", "expected"), OBSERVATIONS, ids=[case_id(c[0]) for c in OBSERVATIONS]
)
def test_test_client_observations(driven, name, expected):
    observed = driven["gateway"][name]
    if isinstance(expected, dict):
        observed = {key: observed[key] for key in expected}
    assert observed == expected


def test_the_test_client_sees_what_it_sees_on_flask(driven):
    """Every observation, bodies included, is the one real Flask 3.1 gives
    (CSRF tokens and session ids are masked by the driver)."""
    on_gateway = {k: v for k, v in driven["gateway"].items() if k != "core"}
    on_flask = {k: v for k, v in driven["flask"].items() if k != "core"}
    assert on_gateway == on_flask


# -- Flask-Migrate -----------------------------------------------------------------

MIGRATE = """\
import json, sys
from notes_app import create_app

app = create_app("migrated", sys.argv[1], create_tables=False)
runner = app.test_cli_runner()
codes = []
for args in (["db", "init"], ["db", "migrate", "-m", "notes"], ["db", "upgrade"]):
    result = runner.invoke(args=args)
    if result.exception is not None:
        raise result.exception
    codes.append(result.exit_code)
print(json.dumps(codes))
"""


def test_flask_db_migrates_the_database(tmp_path):
    instance = tmp_path / "instance"
    script = tmp_path / "migrate.py"
    script.write_text(MIGRATE)
    # init, migrate (autogenerated from the models) and upgrade, through the
    # app's CLI runner ...
    codes = run(script, instance, cwd=tmp_path, warnings=[GET_ENGINE_DEPRECATED])
    assert json.loads(codes) == [0, 0, 0]
    (version_file,) = (instance / "migrations" / "versions").glob("*_notes.py")
    revision = version_file.name.split("_", 1)[0]
    with sqlite3.connect(instance / "notes.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        (applied,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"user", "note", "alembic_version"} <= tables
    assert applied == revision
    # ... and `python -m flask db current` finds the same revision applied:
    # Flask-Migrate's command group on gateway's command line.
    app = f"notes_app:create_app('migrated', {str(instance)!r}, create_tables=False)"
    current = run(
        "-m",
        "flask",
        "--app",
        app,
        "db",
        "current",
        cwd=tmp_path,
        warnings=[GET_ENGINE_DEPRECATED],
    )
    assert f"{revision} (head)" in current


# -- over HTTP: gateway serve, tenants from a factory, mounts ---------------------

BASE_DOMAIN = "example.test"
TENANTS = ("a", "b")
#: The mount of notes_app, next to a plain gateway.App at /plain.
JOURNAL = "/journal"

PLAIN_SITE = """\
from gateway import App, url_for

app = App(__name__)


@app.route("/")
def index():
    return f"plain gateway.App at {url_for('index')}"
"""


def gateway_toml(root: Path, port: int, *, flask_compat: bool) -> str:
    tenants = root / "tenants"
    keys = ", ".join(repr(key) for key in TENANTS)
    lines = [
        "[gateway]",
        'name = "notes"',
        f'base_domain = "{BASE_DOMAIN}"',
        'secret_key = "compat tests only"',
        *(["flask_compat = true"] if flask_compat else []),
        "",
        "[tenants]",
        f'factory = "notes_app:tenant_factory({str(tenants)!r}, {keys})"',
        "",
        "[[mounts]]",
        f'prefix = "{JOURNAL}"',
        f"app = \"notes_app:create_app('journal', {str(root / 'journal')!r})\"",
        "",
        "[[mounts]]",
        'prefix = "/plain"',
        'app = "plain_site:app"',
        "",
        "[proxy]",
        'trusted = ["127.0.0.1/32"]',
        "",
        "[server]",
        'adapter = "gevent"',
        f'bind = "127.0.0.1:{port}"',
        "",
    ]
    return "\n".join(lines)


class Site(t.NamedTuple):
    port: int
    root: Path
    process: ServerProcess

    def browser(self, tenant: str = "") -> Browser:
        name = f"{tenant}.{BASE_DOMAIN}" if tenant else BASE_DOMAIN
        return Browser(self.port, f"{name}:{self.port}")

    def database(self, where: str) -> Path:
        return self.root / where / "notes.db"


class Browser:
    """A client of one host with its own cookies (name -> value; paths are
    not told apart, each browser talks to one app)."""

    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = host
        self.cookies: dict[str, str] = {}
        #: The attributes of each cookie as last set (path, httponly...).
        self.set_cookies: dict[str, t.Any] = {}

    def get(self, path: str, **headers: str) -> HTTPResult:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: t.Mapping[str, str], **headers: str) -> HTTPResult:
        return self.request("POST", path, form=form, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        form: t.Mapping[str, str] | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> HTTPResult:
        sent = {key.replace("_", "-"): value for key, value in (headers or {}).items()}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        result = http_request(
            self.port, path, method=method, host=self.host, headers=sent, body=body
        )
        for header in result.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.set_cookies[name] = morsel
                expires = morsel["expires"]
                if morsel["max-age"] == "0" or (
                    expires and parsedate_to_datetime(expires).year < 2000
                ):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return result

    def submit(self, form_path: str, fields: t.Mapping[str, str]) -> HTTPResult:
        """GET the page with the form, then POST ``fields`` with its CSRF
        token to the form's action."""
        page = self.get(form_path)
        assert page.status == 200, page.text
        token = CSRF.search(page.text)
        action = re.search(r'<form method="post" action="([^"]*)"', page.text)
        assert token and action, page.text
        return self.post(
            action.group(1).replace("&amp;", "&"),
            {**fields, "csrf_token": token.group(1)},
        )

    def whoami(self, prefix: str = "") -> t.Any:
        result = self.get(f"{prefix}/whoami")
        assert result.status == 200, result.text
        return result.json()


def users(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {name for (name,) in db.execute("SELECT name FROM user")}


#: How the switch is turned on for `gateway serve`.
VARIANTS = [
    pytest.param("env", id="GATEWAY_FLASK_COMPAT"),
    pytest.param("toml", id="toml-flask_compat"),
]


@pytest.fixture(scope="module", params=VARIANTS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Site]:
    """``gateway serve`` (gevent) of tenants a and b from notes_app's
    factory, notes_app mounted at /journal and a plain gateway.App at /plain;
    the switch on by the environment or by the toml key."""
    require_module("gevent")
    root = tmp_path_factory.mktemp(f"site-{request.param}")
    port = free_port()
    by_toml = request.param == "toml"
    toml = root / "gateway.toml"
    toml.write_text(gateway_toml(root, port, flask_compat=by_toml))
    (root / "plain_site.py").write_text(PLAIN_SITE)
    process = ServerProcess(
        f"gateway-serve-{request.param}",
        python_argv("-m", "gateway", "serve", toml),
        root / "logs",
        env=child_env(switch=not by_toml),
        cwd=root,
    ).start()
    try:
        process.wait_ready(http_ready(port, "/plain/", host=f"{BASE_DOMAIN}:{port}"))
        yield Site(port, root, process)
    finally:
        process.stop()


@pytest.mark.integration
def test_plain_and_flask_apps_run_side_by_side(site):
    plain = site.browser().get("/plain/")
    assert (plain.status, plain.text) == (200, "plain gateway.App at /plain/")
    a = site.browser("a").get("/whoami")
    assert a.json() == {"tenant": "a", "user": None, "locale": "en"}


@pytest.mark.integration
def test_each_tenant_has_its_own_database_and_logins(site):
    a, b = site.browser("a"), site.browser("b")
    alice = {"name": "alice", "password": "alice's password"}
    registered = a.submit("/register", alice)
    assert (registered.status, registered.headers["Location"]) == (302, "/notes")
    added = a.submit("/notes", {"text": "on tenant a"})
    assert (added.status, added.headers["Location"]) == (302, "/notes")
    assert '<li class="note">on tenant a</li>' in a.get("/notes").text
    assert a.whoami()["user"] == "alice"

    # Tenant b has never heard of alice: her name and password do not log in.
    refused = b.submit("/login", alice)
    assert refused.status == 200
    assert "Unknown name or wrong password." in refused.text
    assert b.whoami() == {"tenant": "b", "user": None, "locale": "en"}
    assert b.submit("/register", {"name": "bob", "password": "pw"}).status == 302
    assert b.whoami()["user"] == "bob"
    assert b.get("/api/stats").json() == {"tenant": "b", "users": 1, "notes": 0}

    # One SQLite file per tenant, each with its own users.
    assert "alice" in users(site.database("tenants/a"))
    assert "alice" not in users(site.database("tenants/b"))
    assert "bob" in users(site.database("tenants/b"))
    assert "bob" not in users(site.database("tenants/a"))


@pytest.mark.integration
def test_a_session_of_one_tenant_is_refused_by_another(site):
    a = site.browser("a")
    assert a.submit("/register", {"name": "carol", "password": "pw"}).status == 302
    assert a.whoami()["user"] == "carol"
    sid = a.cookies["session"]
    # Flask-Session: the cookie is a session id, not signed session data.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sid), sid
    assert list((site.root / "tenants" / "a" / "sessions").iterdir())

    # The same cookie, sent to tenant b: not logged in, and b's CSRF check
    # does not take a's token either.
    b = site.browser("b")
    b.cookies = dict(a.cookies)
    assert b.whoami()["user"] is None
    redirected = b.get("/notes")
    assert (redirected.status, redirected.headers["Location"]) == (
        302,
        "/login?next=%2Fnotes",
    )
    assert b.cookies["session"] != sid  # b's own new session, for its flash
    page = a.get("/notes")
    token = CSRF.search(page.text).group(1)
    b.cookies = dict(a.cookies)
    forged = b.post("/notes", {"text": "from a", "csrf_token": token})
    assert forged.status == 400
    assert "The CSRF session token is missing." in forged.text
    # Tenant a still knows its own session.
    assert a.whoami()["user"] == "carol"


@pytest.mark.integration
def test_a_mounted_app_builds_its_urls_under_the_prefix(site):
    journal = site.browser()
    slash = journal.get(JOURNAL)
    assert (slash.status, slash.headers["Location"]) == (308, f"{JOURNAL}/")
    # Flask-Login's redirect: the login URL and the next parameter.
    anonymous = journal.get(f"{JOURNAL}/notes")
    assert (anonymous.status, anonymous.headers["Location"]) == (
        302,
        f"{JOURNAL}/login?next=%2Fjournal%2Fnotes",
    )
    home = journal.get(f"{JOURNAL}/")
    assert f'href="{JOURNAL}/login"' in home.text
    registered = journal.submit(
        f"{JOURNAL}/register", {"name": "dave", "password": "pw"}
    )
    assert (registered.status, registered.headers["Location"]) == (
        302,
        f"{JOURNAL}/notes",
    )
    # The session cookie belongs to the mount's path.
    assert journal.set_cookies["session"]["path"] == JOURNAL
    assert journal.whoami(JOURNAL) == {
        "tenant": "journal",
        "user": "dave",
        "locale": "en",
    }
    logout = journal.get(f"{JOURNAL}/logout")
    assert (logout.status, logout.headers["Location"]) == (302, f"{JOURNAL}/")
    login = journal.submit(
        f"{JOURNAL}/login?next=%2Fjournal%2Fnotes", {"name": "dave", "password": "pw"}
    )
    assert (login.status, login.headers["Location"]) == (302, f"{JOURNAL}/notes")
    assert "dave" in users(site.database("journal"))


@pytest.mark.integration
def test_extensions_keep_each_tenants_state_apart(site):
    a, b = site.browser("a"), site.browser("b")
    # Flask-Babel, per request.
    assert "Willkommen bei a" in a.get("/", Accept_Language="de").text
    assert "Welcome to b" in b.get("/", Accept_Language="en").text
    # Flask-Cors.
    api = a.get("/api/stats", Origin="https://client.example")
    assert api.headers["Access-Control-Allow-Origin"] == "https://client.example"
    # Flask-Limiter: a's limit is a's alone.
    assert [a.get("/limited").status for _ in range(4)] == [200, 200, 200, 429]
    assert b.get("/limited").status == 200
    # Flask-Caching: each tenant's cache renders its page once.
    assert [a.get("/cached").json()["renders"] for _ in range(2)] == [1, 1]
    assert b.get("/cached").json()["renders"] == 1
