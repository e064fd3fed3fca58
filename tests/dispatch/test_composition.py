"""The composed Gateway with real gateway.App tenants: prefixes reach url_for,
redirects, static files and cookies; per-tenant defaults; URLs across apps;
isolation of config, session and g under concurrent threads and greenlets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.routing import BuildError
from werkzeug.test import Client

import gateway
from gateway import current_app, g, redirect, request, session, url_for
from gateway.dispatch import (
    Gateway,
    Mount,
    ProxyConfig,
    current_gateway,
    derive_secret,
    url_for_app,
    url_for_tenant,
)


@pytest.fixture
def site_root(tmp_path: Path) -> Path:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("hello static")
    return tmp_path


def make_app(name: str, root: Path, **config) -> gateway.App:
    app = gateway.App(name, root_path=str(root))
    app.config.update(config)

    @app.route("/")
    def index():
        return {
            "app": name,
            "url": url_for("index"),
            "static": url_for("static", filename="hello.txt"),
            "script_root": request.script_root,
            "tenant": current_app.config.get("TENANT"),
        }

    @app.route("/go")
    def go():
        return redirect(url_for("index"))

    @app.route("/login")
    def login():
        session["user"] = name
        return "ok"

    @app.route("/whoami")
    def whoami():
        return {"user": session.get("user")}

    @app.route("/g")
    def use_g():
        g.value = name
        return {"g": g.value, "config": current_app.config["TENANT"]}

    @app.route("/links")
    def links():
        return {
            "beta": url_for_app("beta", "index"),
            "admin": url_for_app("admin", "index"),
            "admin_prefix": url_for_app("/admin", "index"),
            "beta_admin": url_for_app("beta/admin:index"),
            "main": url_for_app("", "index"),
        }

    @app.route("/tenant-links")
    def tenant_links():
        return {
            "beta": url_for_tenant("beta"),
            "ghost_login": url_for_tenant("ghost", "/login?next=/a b"),
            "same_gateway": current_gateway() is not None,
        }

    return app


@pytest.fixture
def site(site_root: Path):
    created: dict[str, gateway.App] = {}

    def make_tenant(key: str):
        if key == "ghost":
            return None
        config = {"TENANT": key}
        if key == "own":
            config["SECRET_KEY"] = "set-by-factory"
        app = make_app(f"tenant_{key}", site_root, **config)
        created[key] = app
        return app

    admin = make_app("admin", site_root, TENANT="admin")
    main = make_app("main", site_root, TENANT="main")
    status = make_app("status", site_root, TENANT="status")
    gw = Gateway(
        main,
        base_domain="example.com",
        tenants=make_tenant,
        hosts={"status.example.com": status},
        mounts=[Mount("/admin", admin, host="*"), Mount("/admin", admin)],
        secret_key="root-secret",
        proxy=ProxyConfig(x_host=1),
    )
    return gw, created, admin, main


def get(gw, path: str, host: str, **kwargs):
    client = kwargs.pop("client", None) or Client(gw)
    response = client.get(path, base_url=f"http://{host}", **kwargs)
    response.get_data()  # read the body, then close it as a server would
    response.close()
    return response


# -- prefixes reach the mounted app --------------------------------------------------


def test_url_for_redirect_and_static_carry_the_mount_prefix(site) -> None:
    gw = site[0]
    data = get(gw, "/admin/", "acme.example.com").json
    assert data == {
        "app": "admin",
        "url": "/admin/",
        "static": "/admin/static/hello.txt",
        "script_root": "/admin",
        "tenant": "admin",
    }
    response = get(gw, "/admin/go", "acme.example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert get(gw, "/admin/static/hello.txt", "acme.example.com").text == "hello static"
    response = get(gw, "/admin", "acme.example.com", query_string="next=/x")
    assert (
        response.status_code == 308
        and response.headers["Location"] == "/admin/?next=/x"
    )


def test_tenant_root_is_not_prefixed(site) -> None:
    data = get(site[0], "/", "acme.example.com").json
    assert (data["app"], data["url"], data["static"], data["tenant"]) == (
        "tenant_acme",
        "/",
        "/static/hello.txt",
        "acme",
    )


def test_session_cookie_path_is_the_mount(site) -> None:
    response = get(site[0], "/admin/login", "example.com")
    assert "Path=/admin" in response.headers["Set-Cookie"]
    response = get(site[0], "/login", "acme.example.com")
    assert "Path=/;" in response.headers["Set-Cookie"] or response.headers[
        "Set-Cookie"
    ].endswith("Path=/")


def test_script_name_from_the_front_server_is_kept(site) -> None:
    client = Client(site[0])
    response = client.get("/admin/", base_url="http://acme.example.com/gw")
    assert response.json["url"] == "/gw/admin/"


# -- per-tenant defaults ---------------------------------------------------------------


def test_each_tenant_gets_its_own_derived_secret(site) -> None:
    gw, created, admin, main = site
    for key in ("acme", "beta", "own"):
        get(gw, "/", f"{key}.example.com")
    assert created["acme"].secret_key == derive_secret("root-secret", "tenant:acme")
    assert created["beta"].secret_key == derive_secret("root-secret", "tenant:beta")
    assert created["acme"].secret_key != created["beta"].secret_key
    assert created["own"].secret_key == "set-by-factory"  # the factory's choice wins
    # mounted on every tenant first (host "*"), which names its secret
    assert admin.secret_key == derive_secret("root-secret", "mount:*/admin")
    assert admin.config["SESSION_COOKIE_PATH"] == "/admin"


def test_a_session_from_one_tenant_is_rejected_by_another(site) -> None:
    gw = site[0]
    client = Client(gw)
    client.get("/login", base_url="http://acme.example.com").close()
    cookie = client.get_cookie("session", domain="acme.example.com")
    assert cookie is not None
    assert get(gw, "/whoami", "acme.example.com", client=client).json == {
        "user": "tenant_acme"
    }
    stolen = Client(gw)
    stolen.set_cookie("session", cookie.value, domain="beta.example.com")
    assert get(gw, "/whoami", "beta.example.com", client=stolen).json == {"user": None}


def test_tenant_logger_is_named_and_tags_records(site, caplog) -> None:
    gw, created, *_ = site
    get(gw, "/", "acme.example.com")
    logger = created["acme"].logger
    assert logger.name == "gateway.tenant.acme"
    caplog.set_level(logging.INFO, "gateway.tenant")
    logger.info("hello from the tenant")
    records = [r for r in caplog.records if r.getMessage() == "hello from the tenant"]
    assert len(records) == 1 and records[0].tenant == "acme"


# -- URLs across applications ----------------------------------------------------------------


def test_url_for_app_inside_a_request(site) -> None:
    data = get(site[0], "/links", "acme.example.com:8000").json
    assert data == {
        "beta": "http://beta.example.com:8000/",
        "admin": "/admin/",
        "admin_prefix": "/admin/",
        "beta_admin": "http://beta.example.com:8000/admin/",
        "main": "http://example.com:8000/",
    }


def test_url_for_app_outside_a_request(site) -> None:
    gw = site[0]
    assert url_for_app("acme", "index", _gateway=gw) == "http://acme.example.com/"
    assert (
        url_for_app("acme:whoami", _gateway=gw, x="1")
        == "http://acme.example.com/whoami?x=1"
    )
    assert url_for_app("admin", "index", _gateway=gw) == "http://example.com/admin/"
    assert (
        url_for_app("status.example.com", "index", _gateway=gw)
        == "http://status.example.com/"
    )
    assert (
        url_for_app("acme/admin", "go", _gateway=gw, _anchor="top")
        == "http://acme.example.com/admin/go#top"
    )
    assert (
        gw.url_for_app("beta", "index", _scheme="https") == "https://beta.example.com/"
    )


def test_outside_a_request_the_gateway_must_be_passed(site) -> None:
    """No gateway is remembered from construction: outside a request the
    caller names it, and the error says how."""
    with pytest.raises(RuntimeError) as info:
        url_for_app("beta", "index")
    assert str(info.value) == (
        "url_for_app has no Gateway to build with: it was called outside a"
        " request. Pass one, url_for_app(..., _gateway=gateway), or call"
        " gateway.url_for_app(...)"
    )
    with pytest.raises(RuntimeError) as info:
        url_for_tenant("beta")
    assert str(info.value) == (
        "url_for_tenant has no Gateway to build with: it was called outside a"
        " request. Pass one, url_for_tenant(..., gateway=gateway), or call"
        " gateway.url_for_tenant(...)"
    )
    assert current_gateway() is None


def test_a_request_no_gateway_serves_must_pass_the_gateway(site) -> None:
    """A gateway.App's own request (here a test request context, not served
    through the Gateway) has no gateway in its environ either."""
    gw = site[0]
    app = gateway.App("alone")
    with app.test_request_context("/", base_url="http://acme.example.com:8000"):
        assert current_gateway() is None
        with pytest.raises(RuntimeError, match="this request is not served by a"):
            url_for_app("beta", "index")
        # Passed in, the gateway builds from this request: port kept.
        assert (
            url_for_app("beta", "index", _gateway=gw) == "http://beta.example.com:8000/"
        )


@pytest.mark.parametrize(
    ("base_url", "headers", "expected"),
    [
        pytest.param("http://acme.example.com:8000", {}, "http://", id="port-kept"),
        pytest.param(
            "http://acme.example.com:8000/app", {}, "http://", id="script-root-kept"
        ),
        pytest.param(
            "http://acme.example.com:8000",
            {"X-Forwarded-Proto": "https"},
            "https://",
            id="scheme-after-proxy-fix",
        ),
    ],
)
def test_url_for_tenant_inside_a_request_creates_no_tenant(
    site, base_url: str, headers: dict[str, str], expected: str
) -> None:
    gw, created = site[0], site[1]
    root = "/app" if base_url.endswith("/app") else ""
    response = Client(gw).get(
        "/tenant-links",
        base_url=base_url,
        headers=headers,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.json == {
        "beta": f"{expected}beta.example.com:8000{root}/",
        "ghost_login": f"{expected}ghost.example.com:8000{root}/login?next=/a%20b",
        "same_gateway": True,
    }
    assert sorted(created) == ["acme"]
    assert gw.registry.keys() == ["acme"]


def test_url_for_tenant_outside_a_request(site, site_root: Path) -> None:
    gw = site[0]
    assert url_for_tenant("acme", gateway=gw) == "http://acme.example.com/"
    assert gw.url_for_tenant("acme", "/x", scheme="https") == (
        "https://acme.example.com/x"
    )
    assert current_gateway() is None
    prefixed = Gateway(
        base_domain="example.com", tenants=lambda key: None, script_name="/app"
    )
    assert url_for_tenant("new", gateway=prefixed) == "http://new.example.com/app/"
    assert prefixed.url_for_tenant("a-b", "/é") == "http://a-b.example.com/app/%C3%A9"
    assert site[1] == {}


@pytest.mark.parametrize(
    ("key", "path", "error", "message"),
    [
        pytest.param("Acme", "/", ValueError, "not a tenant key", id="upper-case"),
        pytest.param("a.b", "/", ValueError, "not a tenant key", id="dot-not-nested"),
        pytest.param("", "/", ValueError, "not a tenant key", id="empty"),
        pytest.param("a b", "/", ValueError, "not a tenant key", id="space"),
        pytest.param("acme", "login", ValueError, "starting with '/'", id="rel-path"),
    ],
)
def test_url_for_tenant_errors(
    site, key: str, path: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        url_for_tenant(key, path, gateway=site[0])


def test_url_for_tenant_without_tenants_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="no tenants are configured"):
        Gateway(lambda e, s: [], base_domain="example.com").url_for_tenant("acme")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(("ghost", "index"), LookupError, id="unknown-tenant"),
        pytest.param(("/nowhere", "index"), LookupError, id="unknown-mount"),
        pytest.param(("acme/nowhere", "index"), LookupError, id="unknown-tenant-mount"),
        pytest.param(("acme", "no_such_endpoint"), BuildError, id="unknown-endpoint"),
        pytest.param(("acme",), ValueError, id="no-endpoint"),
    ],
)
def test_url_for_app_errors(site, args, error) -> None:
    with pytest.raises(error):
        url_for_app(*args, _gateway=site[0])


# -- the composed pipeline ----------------------------------------------------------------


def test_routing_uses_the_host_after_the_proxy_fix(site) -> None:
    gw = site[0]
    forged = {"X-Forwarded-Host": "beta.example.com"}
    client = Client(gw)
    trusted = client.get(
        "/",
        base_url="http://acme.example.com",
        headers=forged,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert trusted.json["app"] == "tenant_beta"
    untrusted = client.get(
        "/",
        base_url="http://acme.example.com",
        headers=forged,
        environ_base={"REMOTE_ADDR": "6.6.6.6"},
    )
    assert untrusted.json["app"] == "tenant_acme"


def test_gateway_status_codes(site) -> None:
    gw = site[0]
    assert get(gw, "/", "ghost.example.com").status_code == 404
    assert get(gw, "/", "evil.org").status_code == 400  # not a trusted host
    assert get(gw, "/", "status.example.com").json["app"] == "status"
    assert get(gw, "/admin/", "example.com").json["app"] == "admin"


def test_health_and_tenant_check_through_the_gateway(site) -> None:
    gw = site[0]
    get(gw, "/", "acme.example.com")
    client = Client(gw)
    health = client.get(
        "/_gateway/health",
        base_url="http://10.0.0.1",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert health.status_code == 200
    assert health.json["tenants"]["live"] == 1 and health.json["status"] == "ok"
    hidden = client.get(
        "/_gateway/health",
        base_url="http://example.com",
        environ_base={"REMOTE_ADDR": "8.8.8.8"},
    )
    assert hidden.status_code == 404
    ask = client.get(
        "/_gateway/health/tenant?domain=beta.example.com",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert ask.status_code == 200
    ask = client.get(
        "/_gateway/health/tenant?domain=ghost.example.com",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert ask.status_code == 404


@pytest.mark.parametrize(
    ("lookup", "host", "status"),
    [
        pytest.param(lambda: {"acme": 3}, "acme.example.com", 200, id="listed"),
        pytest.param(lambda: {"acme": 3}, "beta.example.com", 404, id="not-listed"),
        pytest.param(
            lambda: 1 / 0, "acme.example.com", 200, id="failing-factory-knows"
        ),
        pytest.param(lambda: 1 / 0, "ghost.example.com", 404, id="failing-factory-not"),
    ],
)
def test_tenant_check_asks_the_lookup_and_survives_its_failure(
    echo, call, make_environ, lookup, host: str, status: int
) -> None:
    gw = Gateway(
        base_domain="example.com",
        tenants=lambda key: None if key == "ghost" else echo(key),
        lookup=lookup,
    )
    environ = make_environ("/_gateway/health/tenant", query=f"host={host}")
    result = call(gw, environ)
    assert result.status == status and b"Traceback" not in result.body


def test_mounts_on_exact_and_tenant_hosts(site_root, echo, call) -> None:
    gw = Gateway(
        echo("main"),
        base_domain="example.com",
        tenants=lambda key: echo(f"tenant-{key}"),
        hosts={"docs.example.com": echo("docs")},
        mounts=[
            Mount("/api", echo("docs-api"), host="docs.example.com"),
            Mount("/vip", echo("acme-vip"), host="acme.example.com"),
            Mount("/only", echo("only"), host="only.org"),
        ],
    )
    assert call(gw, path="/api/x", host="docs.example.com").seen["app"] == "docs-api"
    assert call(gw, path="/x", host="docs.example.com").seen["app"] == "docs"
    assert call(gw, path="/vip/x", host="acme.example.com").seen["app"] == "acme-vip"
    assert call(gw, path="/vip/x", host="beta.example.com").seen["app"] == "tenant-beta"
    assert call(gw, path="/only/x", host="only.org").seen["app"] == "only"
    assert call(gw, path="/x", host="only.org").status == 404
    assert set(gw.trusted_hosts) == {"example.com", ".example.com", "only.org"}


def test_mount_at_run_time_reaches_live_tenants(echo, call) -> None:
    gw = Gateway(base_domain="example.com", tenants=lambda key: echo(f"tenant-{key}"))
    assert (
        call(gw, path="/tools/x", host="acme.example.com").seen["app"] == "tenant-acme"
    )
    gw.mount("/tools", echo("tools"), host="*")
    assert call(gw, path="/tools/x", host="acme.example.com").seen["app"] == "tools"
    with pytest.raises(ValueError, match="duplicate mount"):
        gw.mount("/tools", echo("tools"), host="*")


def test_mounts_only_gateway_serves_any_host(echo, call) -> None:
    gw = Gateway(echo("main"), mounts=[Mount("/a", echo("a"))], health=False)
    assert call(gw, path="/a/x", host="whatever.test").seen["app"] == "a"
    assert call(gw, path="/b", host="localhost:5000").seen["app"] == "main"
    assert gw.trusted_hosts == ()


def test_iter_apps_lists_everything(site) -> None:
    gw, created, admin, main = site
    get(gw, "/", "acme.example.com")
    listed = {(host, prefix) for host, prefix, app in gw.iter_apps()}
    assert listed == {
        ("example.com", ""),
        ("status.example.com", ""),
        ("*", "/admin"),
        ("example.com", "/admin"),
        ("acme.example.com", ""),
    }
    assert "example.com" in repr(gw)


def test_star_mounts_need_tenants(echo) -> None:
    with pytest.raises(ValueError, match="no tenants"):
        Gateway(echo("main"), mounts=[Mount("/a", echo("a"), host="*")])


# -- isolation under concurrency ---------------------------------------------------------------


def test_tenants_are_isolated_under_concurrent_threads(site) -> None:
    gw = site[0]
    keys = [f"t{i}" for i in range(8)]
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def worker(key: str) -> None:
        client = Client(gw)
        barrier.wait(10)
        with client.get("/login", base_url=f"http://{key}.example.com"):
            pass
        for _ in range(40):
            for path in ("/g", "/whoami", "/"):
                with client.get(path, base_url=f"http://{key}.example.com") as response:
                    data = response.json
                expected = {
                    "/g": {"g": f"tenant_{key}", "config": key},
                    "/whoami": {"user": f"tenant_{key}"},
                }.get(path)
                if expected is not None and data != expected:
                    errors.append(f"{key} {path}: {data}")
                if path == "/" and data["tenant"] != key:
                    errors.append(f"{key} /: {data}")

    threads = [threading.Thread(target=worker, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(gw.registry.keys()) == keys


GREENLET_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import json, gevent
import gateway
from gateway import g, current_app, session
from gateway.dispatch import Gateway
from werkzeug.test import Client

def make(key):
    app = gateway.App("tenant_" + key)
    app.config["TENANT"] = key

    @app.route("/login")
    def login():
        session["user"] = key
        return "ok"

    @app.route("/check")
    def check():
        g.value = key
        gevent.sleep(0)  # let every other tenant's greenlet run in between
        return {"g": g.value, "config": current_app.config["TENANT"], "user": session.get("user")}
    return app

gw = Gateway(base_domain="example.com", tenants=make, secret_key="root")
errors = []

def worker(key):
    client = Client(gw)
    client.get("/login", base_url="http://%s.example.com" % key).close()
    for _ in range(30):
        with client.get("/check", base_url="http://%s.example.com" % key) as response:
            data = response.json
        if data != {"g": key, "config": key, "user": key}:
            errors.append([key, data])

gevent.joinall([gevent.spawn(worker, "k%d" % i) for i in range(10)], timeout=60)
print(json.dumps({"errors": errors[:5], "live": len(gw.registry.keys())}))
"""


def test_tenants_are_isolated_under_greenlets() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", GREENLET_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"errors": [], "live": 10}


def test_a_real_flask_app_builds_cross_app_urls_from_its_own_request(
    site_root: Path,
) -> None:
    """A mounted app that is not a gateway.App (here stock Flask, without the
    compatibility switch) finds its request through the Gateway serving it:
    links keep the request's port and are relative on the same host."""
    flask = pytest.importorskip("flask")
    legacy = flask.Flask("legacy_flask_app")

    @legacy.route("/links")
    def legacy_links():
        return {
            "blog": url_for_app("blog", "index"),
            "tenant": url_for_tenant("acme"),
            "same_gateway": current_gateway() is gw,
        }

    gw = Gateway(
        make_app("main", site_root, TENANT="main"),
        base_domain="eco.test",
        tenants=lambda key: make_app(f"tenant_{key}", site_root, TENANT=key),
        mounts=[
            Mount("/blog", make_app("blog", site_root, TENANT="blog")),
            Mount("/legacy", legacy),
        ],
    )
    rv = Client(gw).get("/legacy/links", base_url="http://eco.test:8080/")
    assert rv.json == {
        "blog": "/blog/",
        "tenant": "http://acme.eco.test:8080/",
        "same_gateway": True,
    }
    # Outside any request the gateway is found again only when named.
    assert url_for_app("blog", "index", _gateway=gw) == "http://eco.test/blog/"
