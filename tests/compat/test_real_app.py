"""A real-world Flask application, unmodified, served by ``gateway serve``
with ``[gateway].flask_compat = true``, mounted at a path prefix next to a
plain gateway app and a default app.

The application is ihatemoney (a shared budget manager: Flask-SQLAlchemy,
Flask-Migrate, Flask-WTF, Flask-Babel, Flask-Cors, Flask-Limiter,
Flask-Mail, Flask-Talisman, Flask-RESTful, SQLAlchemy-Continuum), installed
from PyPI at run time, never copied into this repository. Its pins
(``flask-wtf~=1.2.2``, ``sqlalchemy~=2.0.45``, ``wtforms~=3.2.1``) cannot
share the test extra's environment (Flask-WTF 1.3), so unless the suite's own
environment has it, it gets a virtual environment of its own, built by
scripts/app_suites.py (the script that also runs its own test suite on Flask
and under the switch, which takes over a minute and so stays there) and
kept between runs under ``GATEWAY_TEST_CACHE`` (default
``~/.cache/gateway-tests``); gateway is installed into it again when the
checkout or its packaging files change.

Over HTTP to 127.0.0.1 the test checks its pages (home, the project creation
form with its CSRF token, the project page, the JSON API), that its redirects,
links, cookies and static files carry the prefix, that its language switch
(Flask-Babel) works there, and that the gateway apps beside it still answer;
and that the process ran it on gateway's core, never loading the real Flask.
"""

from __future__ import annotations

import base64
import fcntl
import importlib.util
import json
import os
import re
import subprocess
import sys
import typing as t
import urllib.parse
from pathlib import Path

import pytest
from server_harness import (
    HTTPResult,
    ServerProcess,
    free_port,
    http_ready,
    http_request,
    missing,
)

# The first run builds the application's environment (pip, from PyPI): more
# than the suite's default timeout allows when the pip cache is cold.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
APP = "ihatemoney"
#: Seconds pip gets to build the application's environment (first run only).
INSTALL_TIMEOUT = 400


def _app_suites() -> t.Any:
    """scripts/app_suites.py as a module (it is a script, not a package)."""
    path = REPO / "scripts" / "app_suites.py"
    spec = importlib.util.spec_from_file_location("app_suites", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while made.
    sys.modules.setdefault("app_suites", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app_python() -> Path:
    """A Python with ihatemoney, its own requirements and gateway: the
    suite's own if it has ihatemoney, else a cached venv of its own."""
    if importlib.util.find_spec(APP) is not None:
        return Path(sys.executable)
    suites = _app_suites()
    application = suites.APPLICATIONS[APP]
    cache = Path(
        os.environ.get("GATEWAY_TEST_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "gateway-tests"
    )
    # One per release, whichever checkout runs it: a run from another
    # checkout installs only gateway again (a few seconds).
    venv = cache / f"{APP}-{application.version}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / f"{venv.name}.log"
    # One builder at a time (parallel runs of the suite share the cache).
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return suites.make_venv(
                application, venv, REPO, log, timeout=INSTALL_TIMEOUT
            )
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            missing(f"could not install {APP} from PyPI: {exc}\n{tail}")


# The gateway apps beside it: a plain gateway.App (which also reports what
# `flask` is in this process) and the default app.
PLAIN_APP = """\
import os
import sys
from importlib import metadata

from gateway import App, jsonify, request, url_for

app = App(__name__)


@app.get("/")
def index():
    return jsonify(app="plain", script_root=request.script_root, url=url_for("index"))


@app.get("/core")
def core():
    flask = sys.modules.get("flask")
    real = os.path.realpath(metadata.distribution("flask").locate_file("flask"))
    loaded = sorted(
        name
        for name, module in list(sys.modules.items())
        if os.path.realpath(getattr(module, "__file__", None) or "").startswith(
            real + os.sep
        )
    )
    return jsonify(
        flask_is_gateway=getattr(flask, "Flask", None) is App, real_flask=loaded
    )
"""

HOME_APP = """\
from gateway import App

app = App(__name__)


@app.get("/")
def index():
    return "the default app"
"""

# ihatemoney's configuration file for a deployment under /money: its
# APPLICATION_ROOT (which its PrefixedWSGI middleware makes SCRIPT_NAME) is
# the mount's prefix; plain HTTP, so no Secure cookies.
SETTINGS = """\
SQLALCHEMY_DATABASE_URI = "sqlite:///{db}"
SECRET_KEY = "not a secret"
APPLICATION_ROOT = "/money"
SESSION_COOKIE_SECURE = False
ACTIVATE_DEMO_PROJECT = False
"""

TOML = """\
[gateway]
name = "realapp"
default_app = "home:app"
flask_compat = true

[[mounts]]
prefix = "/money"
app = "ihatemoney.run:create_app()"

[[mounts]]
prefix = "/plain"
app = "plain:app"

[server]
adapter = "dev"
bind = "127.0.0.1:{port}"
"""


class Browser:
    """HTTP requests to one server, sending back the cookies it set (all
    under one prefix here: their Path is recorded for the test, not applied)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.cookie_paths: dict[str, str] = {}

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        form: t.Mapping[str, str] | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> HTTPResult:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(
                f"{k}={v}" for k, v in self.cookies.items()
            )
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        result = http_request(
            self.port, path, method=method, headers=all_headers, body=body, timeout=30
        )
        for header in result.headers.get_all("Set-Cookie") or []:
            pair, *attributes = (part.strip() for part in header.split(";"))
            name, _, value = pair.partition("=")
            self.cookies[name] = value
            for attribute in attributes:
                key, _, val = attribute.partition("=")
                if key.lower() == "path":
                    self.cookie_paths[name] = val
        return result

    def get(self, path: str, **kwargs: t.Any) -> HTTPResult:
        return self.request(path, **kwargs)

    def post(self, path: str, form: t.Mapping[str, str], **kwargs: t.Any) -> HTTPResult:
        return self.request(path, method="POST", form=form, **kwargs)


def location(result: HTTPResult) -> str:
    """The path of a redirect's Location (relative or absolute)."""
    value = result.headers.get("Location", "")
    parts = urllib.parse.urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_token(page: HTTPResult) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert match, f"no CSRF token in the form:\n{page.text[:2000]}"
    return match.group(1)


@pytest.fixture
def site(
    app_python: Path, server_dir: Path, spawn_server: t.Callable[..., ServerProcess]
) -> t.Iterator[Browser]:
    """``gateway serve gateway.toml`` of the site, ready; a browser on it."""
    port = free_port()
    (server_dir / "plain.py").write_text(PLAIN_APP)
    (server_dir / "home.py").write_text(HOME_APP)
    settings = server_dir / "ihatemoney.cfg"
    settings.write_text(SETTINGS.format(db=server_dir / "money.db"))
    toml = server_dir / "gateway.toml"
    toml.write_text(TOML.format(port=port))
    # No GATEWAY_FLASK_COMPAT: the toml key alone turns the switch on.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GATEWAY_"))
    }
    env["IHATEMONEY_SETTINGS_FILE_PATH"] = str(settings)
    server = spawn_server(
        "gateway-serve",
        [str(app_python), "-m", "gateway", "serve", str(toml)],
        env=env,
        cwd=server_dir,
    )
    # Creating the app runs its database migrations (Flask-Migrate) first.
    server.wait_ready(http_ready(port, "/plain/"), timeout=90)
    yield Browser(port)


def test_ihatemoney_serves_its_pages_at_a_prefix_beside_gateway_apps(
    site: Browser, app_python: Path
) -> None:
    # The process runs the application on gateway's core: `flask` is
    # gateway, and not one module of the real Flask was loaded.
    core = site.get("/plain/core").json()
    assert core == {"flask_is_gateway": True, "real_flask": []}

    # The prefix without its slash: gateway's mount redirects, query kept.
    bare = site.get("/money?x=1")
    assert bare.status == 308
    assert location(bare) == "/money/?x=1"

    # Home: rendered by its templates, its links and assets under the prefix,
    # its security headers (Flask-Talisman) on.
    home = site.get("/money/")
    assert home.status == 200, home.text[:2000]
    assert "I Hate Money" in home.text
    assert 'href="/money/static/css/main.css"' in home.text
    assert 'href="/money/create"' in home.text or 'action="/money/create"' in home.text
    assert "default-src 'self'" in home.headers["Content-Security-Policy"]
    assert home.headers["X-Frame-Options"] == "SAMEORIGIN"

    # A static file under the prefix is the package's file, byte for byte.
    css = site.get("/money/static/css/main.css")
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    static_dir = subprocess.run(
        [
            str(app_python),
            "-c",
            "import ihatemoney, os; print(os.path.dirname(ihatemoney.__file__))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "")},
        check=True,
    ).stdout.strip()
    assert css.body == (Path(static_dir) / "static/css/main.css").read_bytes()

    # The creation form (Flask-WTF): without the CSRF token nothing is made.
    form = {
        "name": "Raclette",
        "id": "raclette",
        "password": "secret",
        "contact_email": "raclette@example.com",
        "default_currency": "XXX",
        "project_history": "y",
    }
    page = site.get("/money/create")
    assert page.status == 200
    assert site.cookie_paths.get("session") == "/money"
    refused = site.post("/money/create", form)
    assert refused.status == 200
    assert "CSRF" in refused.text
    # (No such project yet: it offers to create one, under the prefix.)
    assert location(site.get("/money/raclette/")) == "/money/create?project_id=raclette"

    # With the token: created (Flask-SQLAlchemy), and the redirect to the
    # project carries the prefix.
    created = site.post("/money/create", {**form, "csrf_token": csrf_token(page)})
    assert created.status == 302, created.text[:2000]
    assert location(created) == "/money/raclette/"
    project = site.get("/money/raclette/")
    assert project.status == 200, project.text[:2000]
    assert "Raclette" in project.text
    assert 'href="/money/raclette/history"' in project.text

    # Its language switch (Flask-Babel, the language kept in the session).
    switched = site.get("/money/lang/fr")
    assert switched.status == 302
    assert location(switched) == "/money/"
    assert "Historique" in site.get("/money/raclette/").text

    # Its JSON API (Flask-RESTful, HTTP basic auth).
    auth = base64.b64encode(b"raclette:secret").decode()
    api = site.get(
        "/money/api/projects/raclette", headers={"Authorization": f"Basic {auth}"}
    )
    assert api.status == 200, api.text
    assert json.loads(api.body)["name"] == "Raclette"

    # Its own 404 page (its error handler, its layout, a link home under the
    # prefix) for an unknown path under the prefix.
    unknown = site.get("/money/raclette/no/such/page")
    assert unknown.status == 404
    assert 'href="/money/static/css/main.css"' in unknown.text
    assert "href='/money/'" in unknown.text

    # The gateway apps beside it still answer, with their own prefix.
    assert site.get("/").text == "the default app"
    plain = site.get("/plain/").json()
    assert plain == {"app": "plain", "script_root": "/plain", "url": "/plain/"}
    assert site.get("/no-such-mount").status == 404
    assert site.get("/_gateway/health").status == 200
