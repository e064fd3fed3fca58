"""Random environs through the whole composed gateway: whatever arrives, the
answer is a well-formed HTTP response, never an exception or a server error."""

from __future__ import annotations

import re
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gateway
from gateway.dispatch import Gateway, Mount, ProxyConfig

STATUS_LINE = re.compile(r"\A[1-5]\d\d [\x20-\x7e]*\Z")
TOKEN = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")

# WSGI strings: bytes decoded as latin-1, including controls and high bytes.
wsgi_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40
)
segments = st.sampled_from(
    [
        "",
        ".",
        "..",
        "admin",
        "api",
        "v2",
        "acme",
        "x",
        "%2e",
        "café",
        "_gateway",
        "health",
        "tenant",
    ]
)
paths = st.one_of(
    st.lists(segments, max_size=6).map(lambda parts: "/" + "/".join(parts)),
    wsgi_text,
    st.just(""),
)
valid_hosts = st.sampled_from(
    [
        "example.com",
        "acme.example.com",
        "ACME.example.com.:8080",
        "beta.example.com:80",
        "ghost.example.com",
        "boom.example.com",
        "status.example.com",
    ]
)
bad_hosts = st.sampled_from(
    [
        "evilexample.com",
        "example.com@evil.tld",
        "a.b.example.com",
        "[::1]:80",
        "",
        ":",
        "[",
    ]
)
# Mostly hosts that reach an application, so the paths get exercised too.
hosts = st.one_of(
    valid_hosts,
    valid_hosts,
    valid_hosts,
    st.none(),
    bad_hosts,
    wsgi_text,
    st.builds(lambda key: f"{key}.example.com", wsgi_text),
)
addresses = st.one_of(
    st.sampled_from(["127.0.0.1", "10.1.2.3", "::1", "6.6.6.6", "", "junk"]), wsgi_text
)
optional_text = st.one_of(
    st.none(),
    wsgi_text,
    st.sampled_from(["https", "http", "/app", "/a/../b", "8443", "acme.example.com"]),
)


def make_tenant(key: str) -> t.Any:
    if key == "ghost":
        return None
    if key == "boom":
        raise RuntimeError("factory failure")
    app = gateway.App(f"tenant_{key}")

    @app.route("/")
    def index() -> str:
        return key

    @app.route("/items/<int:item>")
    def item(item: int) -> str:
        return str(item)

    return app


def plain(name: str) -> t.Any:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]

    return app


@pytest.fixture(scope="module")
def composed() -> Gateway:
    return Gateway(
        plain("main"),
        base_domain="example.com",
        tenants=make_tenant,
        hosts={"status.example.com": plain("status")},
        mounts=[
            Mount("/admin", plain("admin")),
            Mount("/api/v2", plain("api"), host="*"),
        ],
        proxy=ProxyConfig(
            trusted=("127.0.0.0/8", "10.0.0.0/8"),
            x_for=1,
            x_proto=1,
            x_host=1,
            x_port=1,
            x_prefix=1,
        ),
        secret_key="root",
    )


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=paths,
    host=hosts,
    script_name=st.one_of(st.just(""), wsgi_text),
    query=wsgi_text,
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "BREW"]),
    remote_addr=addresses,
    xff=optional_text,
    xproto=optional_text,
    xhost=optional_text,
    xport=optional_text,
    xprefix=optional_text,
    forwarded=optional_text,
)
def test_any_environ_gets_a_well_formed_response(
    composed: Gateway,
    make_environ: t.Callable[..., dict[str, t.Any]],
    path: str,
    host: str | None,
    script_name: str,
    query: str,
    method: str,
    remote_addr: str,
    xff: str | None,
    xproto: str | None,
    xhost: str | None,
    xport: str | None,
    xprefix: str | None,
    forwarded: str | None,
) -> None:
    environ = make_environ(
        path,
        host,
        query=query,
        remote_addr=remote_addr,
        script_name=script_name,
        method=method,
    )
    for key, value in (
        ("HTTP_X_FORWARDED_FOR", xff),
        ("HTTP_X_FORWARDED_PROTO", xproto),
        ("HTTP_X_FORWARDED_HOST", xhost),
        ("HTTP_X_FORWARDED_PORT", xport),
        ("HTTP_X_FORWARDED_PREFIX", xprefix),
        ("HTTP_FORWARDED", forwarded),
    ):
        if value is not None:
            environ[key] = value
    captured: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        captured.append((status, headers))
        return lambda data: None

    result = composed(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    assert isinstance(body, bytes)
    status, headers = captured[-1]
    assert STATUS_LINE.match(status), status
    assert int(status[:3]) < 500 or status.startswith("503"), (status, body[:200])
    for name, value in headers:
        assert TOKEN.match(name), name
        assert "\r" not in value and "\n" not in value, (name, value)
        value.encode("latin-1")  # a header must be sendable as latin-1
    assert b"Traceback" not in body
