"""URL building with ``url_for``: options, mount points and build errors."""

from __future__ import annotations

import itertools

import pytest
from werkzeug.routing import BuildError

import gateway


@pytest.fixture
def routed(app):
    @app.route("/")
    def index():
        return ""

    @app.route("/user/<name>")
    def user(name):
        return name

    @app.route("/post/<int:post_id>", methods=["GET"])
    def show_post(post_id):
        return ""

    @app.route("/post/<int:post_id>", methods=["POST"], endpoint="edit_post")
    def edit_post(post_id):
        return ""

    return app


@pytest.mark.parametrize(
    ("endpoint", "values", "expected"),
    [
        pytest.param("index", {}, "/", id="plain"),
        pytest.param("user", {"name": "ann"}, "/user/ann", id="variable"),
        pytest.param("user", {"name": "a b?"}, "/user/a%20b%3F", id="quoted"),
        pytest.param("user", {"name": "zoë"}, "/user/zo%C3%AB", id="unicode"),
        pytest.param("index", {"q": "x y", "n": 2}, "/?q=x+y&n=2", id="query-string"),
        pytest.param("index", {"skip": None, "k": "v"}, "/?k=v", id="none-dropped"),
        pytest.param("index", {"tag": ["a", "b"]}, "/?tag=a&tag=b", id="list-repeats"),
        pytest.param("index", {"_anchor": "top"}, "/#top", id="anchor"),
        pytest.param("index", {"_anchor": "a b&c"}, "/#a%20b&c", id="anchor-quoted"),
        pytest.param("show_post", {"post_id": 3}, "/post/3", id="int"),
    ],
)
def test_url_for_inside_a_request_builds_relative_urls(
    routed, endpoint, values, expected
):
    with routed.test_request_context():
        assert gateway.url_for(endpoint, **values) == expected


def test_url_for_external_uses_the_request_host(routed):
    with routed.test_request_context("/", base_url="https://shop.test:8443"):
        assert gateway.url_for("user", name="x", _external=True) == (
            "https://shop.test:8443/user/x"
        )


def test_url_for_scheme_inside_a_request_implies_external(routed):
    with routed.test_request_context():
        assert gateway.url_for("index", _scheme="https") == "https://localhost/"


def test_url_for_scheme_with_external_false_is_value_error(routed):
    with routed.test_request_context():
        with pytest.raises(ValueError, match="_scheme"):
            gateway.url_for("index", _scheme="https", _external=False)


def test_url_for_method_picks_the_rule_for_that_method(app):
    def item(n):
        return ""

    app.add_url_rule("/read/<int:n>", view_func=item, methods=["GET"])
    app.add_url_rule("/write/<int:n>", view_func=item, methods=["POST"])

    with app.test_request_context():
        assert gateway.url_for("item", n=1, _method="POST") == "/write/1"
        assert gateway.url_for("item", n=1, _method="GET") == "/read/1"


def test_url_for_honours_script_name_of_the_request(routed):
    with routed.test_request_context("/", base_url="http://localhost/mount"):
        assert gateway.request.script_root == "/mount"
        assert gateway.url_for("user", name="x") == "/mount/user/x"
        assert gateway.url_for("index", _external=True) == "http://localhost/mount/"


def test_url_for_in_a_mounted_request_via_wsgi_environ(routed):
    @routed.route("/where")
    def where():
        return gateway.url_for("user", name="me")

    rv = routed.test_client().get(
        "/where", environ_overrides={"SCRIPT_NAME": "/prefix"}
    )
    assert rv.data == b"/prefix/user/me"


def test_url_for_outside_request_without_server_name_is_runtime_error(routed, app_ctx):
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        gateway.url_for("index")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            {"SERVER_NAME": "example.test"},
            "http://example.test/user/x",
            id="server-name",
        ),
        pytest.param(
            {"SERVER_NAME": "example.test:8080", "PREFERRED_URL_SCHEME": "https"},
            "https://example.test:8080/user/x",
            id="preferred-scheme-and-port",
        ),
        pytest.param(
            {"SERVER_NAME": "example.test", "APPLICATION_ROOT": "/app"},
            "http://example.test/app/user/x",
            id="application-root",
        ),
    ],
)
def test_url_for_with_only_an_app_context_builds_external_urls(
    routed, config, expected
):
    routed.config.update(config)
    with routed.app_context():
        assert gateway.url_for("user", name="x") == expected


def test_url_for_with_app_context_can_be_made_relative(routed):
    routed.config["SERVER_NAME"] = "example.test"
    with routed.app_context():
        assert gateway.url_for("user", name="x", _external=False) == "/user/x"


def test_app_url_for_method_matches_helper(routed):
    with routed.test_request_context():
        assert routed.url_for("user", name="y") == gateway.url_for("user", name="y")


def test_url_defaults_fill_in_missing_values(app):
    @app.url_defaults
    def add_lang(endpoint, values):
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values.setdefault("lang", "en")

    app.add_url_rule("/<lang>/page", "page", lambda lang: lang)
    app.add_url_rule("/about", "about", lambda: "")

    with app.test_request_context():
        assert gateway.url_for("page") == "/en/page"
        assert gateway.url_for("page", lang="de") == "/de/page"
        assert gateway.url_for("about") == "/about"


def test_unknown_endpoint_raises_build_error(routed):
    with routed.test_request_context():
        with pytest.raises(BuildError):
            gateway.url_for("nope")


def test_missing_required_value_raises_build_error(routed):
    with routed.test_request_context():
        with pytest.raises(BuildError, match="name"):
            gateway.url_for("user")


def test_url_build_error_handler_can_supply_a_url(routed):
    calls = []

    def fallback(error, endpoint, values):
        calls.append((endpoint, dict(values)))
        if endpoint == "external_docs":
            return "https://docs.example/"
        return None

    routed.url_build_error_handlers.append(fallback)
    with routed.test_request_context():
        assert gateway.url_for("external_docs", page=1) == "https://docs.example/"
        with pytest.raises(BuildError):
            gateway.url_for("still_missing")
    assert calls[0][0] == "external_docs"
    assert calls[0][1]["page"] == 1


def test_url_build_error_handlers_are_tried_in_order(routed):
    def raises(error, endpoint, values):
        raise error

    def answers(error, endpoint, values):
        return "/from-second"

    routed.url_build_error_handlers.extend([raises, answers])
    with routed.test_request_context():
        assert gateway.url_for("nope") == "/from-second"


def test_handle_url_build_error_can_be_overridden(tmp_path):
    class Lenient(gateway.App):
        def handle_url_build_error(self, error, endpoint, values):
            return f"/missing/{endpoint}"

    app = Lenient("lenient", root_path=str(tmp_path))
    with app.test_request_context():
        assert gateway.url_for("ghost") == "/missing/ghost"


def test_url_for_outside_any_context_is_runtime_error():
    with pytest.raises(RuntimeError):
        gateway.url_for("index")


def test_url_for_static_file(tmp_path):
    (tmp_path / "static").mkdir()
    app = gateway.App("static_urls", root_path=str(tmp_path))
    with app.test_request_context():
        assert gateway.url_for("static", filename="css/site.css") == (
            "/static/css/site.css"
        )


def test_server_name_is_used_for_external_urls_inside_a_request(routed):
    routed.config["SERVER_NAME"] = "example.test"
    with routed.test_request_context("/", base_url="http://other.test"):
        assert gateway.url_for("index", _external=True) == "http://example.test/"


def test_server_name_does_not_restrict_accepted_hosts(routed):
    # Flask 3.1: without subdomain/host matching, SERVER_NAME only feeds URL
    # building; requests for other hosts are still routed.
    routed.config["SERVER_NAME"] = "example.test"
    assert routed.test_client().get("http://foreign.test/user/x").status_code == 200


def test_create_url_adapter_without_request(routed):
    assert routed.create_url_adapter(None) is None
    routed.config["SERVER_NAME"] = "example.test"
    adapter = routed.create_url_adapter(None)
    assert adapter.build("user", {"name": "n"}) == "/user/n"


def _host_environ(
    scheme: str, host: str | None, upgrade: bool, port: str = "8080"
) -> dict[str, str]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "fallback.test",
        "SERVER_PORT": port,
        "wsgi.url_scheme": scheme,
    }
    if host is not None:
        environ["HTTP_HOST"] = host
    if upgrade:
        environ.update(HTTP_CONNECTION="Upgrade", HTTP_UPGRADE="websocket")
    return environ


HOSTS = [
    pytest.param("example.com", id="plain"),
    pytest.param("EXAMPLE.com", id="upper-case"),
    pytest.param("example.com:80", id="port-80"),
    pytest.param("example.com:443", id="port-443"),
    pytest.param("example.com:8443", id="other-port"),
    pytest.param("[::1]:8080", id="ipv6"),
    pytest.param("b\xc3\xbccher.example", id="utf8-as-latin1"),
    pytest.param("bad host", id="invalid-characters"),
    pytest.param("example.com:99999", id="port-out-of-range"),
    pytest.param("", id="empty"),
    pytest.param(None, id="absent"),
]


@pytest.mark.parametrize("host", HOSTS)
def test_request_binds_to_the_host_werkzeug_derives(routed, host):
    # The app caches a Host header's IDNA form by header and scheme. One app
    # sees every scheme, twice: computed, then cached, binding like Werkzeug.
    from werkzeug.routing import Map as WerkzeugMap

    for _ in range(2):
        for scheme, upgrade, port in itertools.product(
            ("http", "https"), (False, True), ("80", "8080")
        ):
            environ = _host_environ(scheme, host, upgrade, port)
            expected = WerkzeugMap().bind_to_environ(dict(environ))
            with routed.request_context(dict(environ)) as ctx:
                adapter = ctx.url_adapter
                assert (adapter.server_name, adapter.url_scheme) == (
                    expected.server_name,
                    expected.url_scheme,
                ), (scheme, upgrade, port)


def test_host_cache_stays_bounded_when_clients_vary_the_host_header(routed):
    variants = (
        "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("example.com"))
        for n in range(1000)
    )
    for host in variants:
        with routed.request_context(_host_environ("http", host, False)) as ctx:
            assert ctx.url_adapter.server_name == "example.com"
    assert len(routed._idna_cache) <= 256
