"""Body and form limits enforced by dispatch before the application reads
the body (issue 18, point 5): the rule, the capped input stream, and the
limits a Gateway gives each application (gateway-wide, per mount, per
tenant, and the application's own config winning)."""

from __future__ import annotations

import io
import textwrap
import typing as t
import uuid
from pathlib import Path

import pytest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

import gateway
from gateway import request
from gateway.dispatch import Gateway, Mount, build_gateway
from gateway.dispatch.bodies import (
    BodyLimit,
    CappedInput,
    Verdict,
    apply_limits,
    body_verdict,
)
from gateway.toml import LimitsConfig, load_config

# -- the rule -------------------------------------------------------------------------

VERDICTS = [
    pytest.param("10", None, 10, Verdict.PASS, id="length-at-the-limit"),
    pytest.param("11", None, 10, Verdict.REJECT, id="length-over-the-limit"),
    pytest.param("0", None, 10, Verdict.PASS, id="empty-body"),
    pytest.param(" 11 ", None, 10, Verdict.REJECT, id="length-with-spaces"),
    pytest.param("99999999999999999999", None, 10, Verdict.REJECT, id="huge-length"),
    pytest.param(None, None, 10, Verdict.PASS, id="no-length-no-body"),
    pytest.param("", None, 10, Verdict.PASS, id="empty-length-no-body"),
    pytest.param(None, "chunked", 10, Verdict.CAP, id="chunked"),
    pytest.param("5", "chunked", 10, Verdict.CAP, id="chunked-wins-over-length"),
    pytest.param("abc", None, 10, Verdict.PASS, id="bad-length-left-to-the-app"),
    pytest.param("-1", None, 10, Verdict.PASS, id="negative-length-left-to-the-app"),
    pytest.param("11", None, None, Verdict.PASS, id="no-limit"),
    pytest.param("11", None, 0, Verdict.PASS, id="zero-limit-is-none"),
    pytest.param(None, "chunked", None, Verdict.PASS, id="chunked-without-limit"),
]


@pytest.mark.parametrize(("length", "encoding", "limit", "expected"), VERDICTS)
def test_body_verdict(
    length: str | None, encoding: str | None, limit: int | None, expected: Verdict
) -> None:
    assert body_verdict(length, encoding, limit) is expected


# -- the capped stream -------------------------------------------------------------------

READS = [
    pytest.param(lambda s: s.read(), id="read"),
    pytest.param(lambda s: s.read(None), id="read-none"),
    pytest.param(lambda s: b"".join(iter(lambda: s.read(3), b"")), id="read-in-pieces"),
    pytest.param(lambda s: b"".join(s), id="iterate"),
    pytest.param(lambda s: b"".join(s.readlines()), id="readlines"),
    pytest.param(lambda s: b"".join(iter(s.readline, b"")), id="readline"),
]


@pytest.mark.parametrize("read", READS)
def test_capped_input_delivers_a_body_of_exactly_the_limit(
    read: t.Callable[[CappedInput], bytes],
) -> None:
    body = b"ab\ncd\nefgh\n"
    assert read(CappedInput(io.BytesIO(body), len(body))) == body


@pytest.mark.parametrize("read", READS)
def test_capped_input_raises_413_past_the_limit(
    read: t.Callable[[CappedInput], bytes],
) -> None:
    body = b"ab\ncd\nefgh\n"
    with pytest.raises(RequestEntityTooLarge):
        read(CappedInput(io.BytesIO(body), len(body) - 1))


def test_capped_input_reads_at_most_one_byte_past_the_limit() -> None:
    stream = io.BytesIO(b"x" * 1000)
    with pytest.raises(RequestEntityTooLarge):
        CappedInput(stream, 10).read()
    assert stream.tell() == 11


# -- the applications' config -----------------------------------------------------------


def test_an_app_gets_the_limits_as_config_defaults() -> None:
    app = gateway.App(__name__)
    limit = apply_limits(app, LimitsConfig(2048, 1000, 7))
    assert limit == 2048
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 1000
    assert app.config["MAX_FORM_PARTS"] == 7


def test_an_app_keeps_the_limits_it_set_itself() -> None:
    app = gateway.App(__name__)
    app.config.update(MAX_CONTENT_LENGTH=5 << 20, MAX_FORM_PARTS=3)
    limit = apply_limits(app, LimitsConfig(1 << 20, 1000, 7))
    assert limit == 5 << 20
    assert app.config["MAX_CONTENT_LENGTH"] == 5 << 20
    assert app.config["MAX_FORM_PARTS"] == 3
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 1000


def test_a_zero_limit_leaves_flask_unlimited() -> None:
    app = gateway.App(__name__)
    assert apply_limits(app, LimitsConfig(0, 0, 0)) is None
    assert app.config["MAX_CONTENT_LENGTH"] is None
    assert app.config["MAX_FORM_MEMORY_SIZE"] is None
    assert app.config["MAX_FORM_PARTS"] is None


def test_a_plain_wsgi_app_gets_the_configured_body_limit() -> None:
    def plain(environ: t.Any, start_response: t.Any) -> list[bytes]:
        return []

    assert apply_limits(plain, LimitsConfig(300, 1, 1)) == 300


# -- through a Gateway --------------------------------------------------------------------


class Recorder:
    """A ``wsgi.input`` that counts the bytes read from it."""

    def __init__(self, body: bytes) -> None:
        self._stream = io.BytesIO(body)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(size)
        self.taken += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._stream.readline(size)
        self.taken += len(data)
        return data


def post(
    app: t.Any,
    body: bytes,
    *,
    path: str = "/",
    host: str = "example.com",
    chunked: bool = False,
    content_type: str = "application/octet-stream",
) -> tuple[int, dict[str, str], bytes, Recorder]:
    """POST ``body`` through ``app``: with its Content-Length, or, with
    ``chunked``, as a server passes a chunked body (no length, the input
    terminated)."""
    environ = EnvironBuilder(
        path=path, method="POST", headers={"Host": host}, content_type=content_type
    ).get_environ()
    environ["CONTENT_TYPE"] = content_type  # as given: the builder's own boundary
    recorder = Recorder(body)
    environ["wsgi.input"] = recorder
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    seen: dict[str, t.Any] = {}

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        seen["status"], seen["headers"] = int(status[:3]), dict(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        out = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], out, recorder


class Counted:
    """A plain WSGI app that reads its whole body and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ: t.Any, start_response: t.Any) -> list[bytes]:
        self.calls += 1
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(body)]


def flask_app(**config: t.Any) -> gateway.App:
    """A gateway.App whose form view counts how often it ran."""
    app = gateway.App(f"limits_{uuid.uuid4().hex[:6]}")
    app.config.update(config)
    app.extensions["calls"] = 0

    @app.post("/")
    def form() -> str:
        app.extensions["calls"] += 1
        return f"fields {len(request.form)} bytes {len(request.get_data())}"

    return app


def test_a_length_over_the_limit_is_413_before_the_app_or_the_body_is_touched() -> None:
    plain = Counted()
    gw = Gateway(plain, limits=LimitsConfig(max_body=1000))
    status, headers, out, recorder = post(gw, b"x" * 1001)
    assert status == 413
    assert b"larger than 1000 bytes" in out
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert plain.calls == 0
    assert recorder.taken == 0


def test_a_length_at_the_limit_reaches_the_app() -> None:
    plain = Counted()
    gw = Gateway(plain, limits=LimitsConfig(max_body=1000))
    status, _, out, _ = post(gw, b"x" * 1000)
    assert (status, out) == (200, b"read 1000")


def test_the_default_limit_is_one_mebibyte() -> None:
    gw = Gateway(Counted())
    assert post(gw, b"x" * (1 << 20))[0] == 200
    assert post(gw, b"x" * ((1 << 20) + 1))[0] == 413


def test_a_chunked_body_over_the_limit_is_413_after_one_byte_too_many() -> None:
    plain = Counted()
    gw = Gateway(plain, limits=LimitsConfig(max_body=1000))
    status, headers, _, recorder = post(gw, b"x" * 5000, chunked=True)
    assert status == 413
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert recorder.taken == 1001


def test_a_chunked_body_at_the_limit_is_read_whole() -> None:
    gw = Gateway(Counted(), limits=LimitsConfig(max_body=1000))
    status, _, out, _ = post(gw, b"x" * 1000, chunked=True)
    assert (status, out) == (200, b"read 1000")


def test_an_urlencoded_form_over_the_limit_never_reaches_the_form_parser() -> None:
    app = flask_app()
    gw = Gateway(app, limits=LimitsConfig(max_body=1 << 20))
    body = b"f=" + b"x" * (4 << 20)
    status, _, _, recorder = post(
        gw, body, content_type="application/x-www-form-urlencoded"
    )
    assert status == 413
    assert app.extensions["calls"] == 0
    assert recorder.taken == 0


def test_a_chunked_form_over_the_limit_is_413_from_the_app() -> None:
    app = flask_app()
    gw = Gateway(app, limits=LimitsConfig(max_body=1000))
    status, _, _, recorder = post(
        gw,
        b"f=" + b"x" * 5000,
        chunked=True,
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 413
    assert recorder.taken <= 1001


def multipart(*fields: bytes) -> bytes:
    """A multipart/form-data body (boundary ``b``) of text fields."""
    parts = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n%s\r\n' % (i, v)
        for i, v in enumerate(fields)
    )
    return parts + b"--b--\r\n"


def test_max_form_memory_and_parts_reach_the_form_parser() -> None:
    """Werkzeug applies both to multipart forms only (an urlencoded body is
    bounded by max_body alone)."""
    form = "multipart/form-data; boundary=b"
    gw = Gateway(flask_app(), limits=LimitsConfig(max_form_memory=100))
    assert post(gw, multipart(b"x" * 40), content_type=form)[2].startswith(b"fields 1")
    assert post(gw, multipart(b"x" * 200), content_type=form)[0] == 413
    gw = Gateway(flask_app(), limits=LimitsConfig(max_form_parts=3))
    assert post(gw, multipart(*[b"v"] * 2), content_type=form)[2].startswith(
        b"fields 2"
    )
    assert post(gw, multipart(*[b"v"] * 5), content_type=form)[0] == 413


def test_a_mount_overrides_the_gateway_limit_both_ways() -> None:
    root, big, small = Counted(), Counted(), Counted()
    gw = Gateway(
        root,
        limits=LimitsConfig(max_body=1000),
        mounts=[
            Mount("/big", big, limits={"max_body": 5000}),
            Mount("/small", small, limits={"max_body": 10}),
        ],
    )
    assert post(gw, b"x" * 3000, path="/big/")[0] == 200
    assert post(gw, b"x" * 3000, path="/")[0] == 413
    assert post(gw, b"x" * 11, path="/small/")[0] == 413
    assert post(gw, b"x" * 11, path="/")[0] == 200
    assert (root.calls, big.calls, small.calls) == (1, 1, 0)


def test_a_mount_keeps_its_own_app_object() -> None:
    app = Counted()
    gw = Gateway(Counted(), mounts=[Mount("/a", app, limits={"max_body": 5})])
    assert gw.mounts[0].app is app
    assert [a for _, prefix, a in gw.iter_apps() if prefix == "/a"] == [app]


def test_tenants_take_their_own_limits_and_a_factory_setting_wins() -> None:
    made: dict[str, gateway.App] = {}

    def factory(key: str) -> gateway.App:
        config = {"MAX_CONTENT_LENGTH": 100} if key == "strict" else {}
        made[key] = app = flask_app(**config)
        return app

    gw = Gateway(
        Counted(),
        base_domain="example.com",
        tenants=factory,
        limits=LimitsConfig(max_body=1000),
        tenant_limits={"max_body": 2000},
    )
    assert post(gw, b"x" * 1500, host="acme.example.com")[0] == 200
    assert post(gw, b"x" * 2001, host="acme.example.com")[0] == 413
    assert post(gw, b"x" * 1500, host="example.com")[0] == 413
    assert post(gw, b"x" * 101, host="strict.example.com")[0] == 413
    assert made["acme"].config["MAX_CONTENT_LENGTH"] == 2000
    assert made["strict"].config["MAX_CONTENT_LENGTH"] == 100
    assert made["acme"].extensions["calls"] == 1
    assert made["strict"].extensions["calls"] == 0


def test_a_tenant_app_that_raised_its_own_limit_is_served_past_the_gateway_one() -> (
    None
):
    def factory(key: str) -> gateway.App:
        return flask_app(MAX_CONTENT_LENGTH=5000)

    gw = Gateway(
        base_domain="example.com", tenants=factory, limits=LimitsConfig(max_body=1000)
    )
    status, _, out, _ = post(gw, b"x" * 3000, host="acme.example.com")
    assert (status, out) == (200, b"fields 0 bytes 3000")


def test_no_limit_means_no_wrapper() -> None:
    app = Counted()
    gw = Gateway(app, limits=LimitsConfig(max_body=0))
    assert post(gw, b"x" * (2 << 20))[0] == 200
    assert not isinstance(gw._served_default, BodyLimit)


def test_gateway_toml_limits_reach_every_kind_of_app(tmp_path: Path) -> None:
    name = f"gwlimits_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                body = environ["wsgi.input"].read()
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"read %d" % len(body)]

            def create_tenant(key):
                return app
            """
        )
    )
    (tmp_path / "gateway.toml").write_text(
        textwrap.dedent(
            f"""
            [gateway]
            base_domain = "example.com"
            default_app = "{name}:app"

            [limits]
            max_body = "1K"

            [tenants]
            factory = "{name}:create_tenant"
            max_body = "2K"

            [[mounts]]
            prefix = "/upload"
            app = "{name}:app"
            max_body = "4K"
            """
        )
    )
    gw = build_gateway(load_config(tmp_path / "gateway.toml"))
    cases = [
        ("example.com", "/", 1024),
        ("acme.example.com", "/", 2048),
        ("example.com", "/upload/", 4096),
    ]
    for host, path, limit in cases:
        assert post(gw, b"x" * limit, host=host, path=path)[0] == 200, (host, path)
        assert post(gw, b"x" * (limit + 1), host=host, path=path)[0] == 413, (
            host,
            path,
        )


def test_werkzeug_s_own_limit_cannot_cut_a_capped_body_short() -> None:
    """The application's request reads through LimitedStream(is_max=True),
    which stops at the limit without looking further: the capped input must
    find the excess itself when a read reaches the limit."""
    from werkzeug.wsgi import LimitedStream

    over = LimitedStream(CappedInput(io.BytesIO(b"x" * 5000), 1000), 1000, is_max=True)
    with pytest.raises(RequestEntityTooLarge):
        over.readall()
    exact = LimitedStream(CappedInput(io.BytesIO(b"x" * 1000), 1000), 1000, is_max=True)
    assert exact.readall() == b"x" * 1000
