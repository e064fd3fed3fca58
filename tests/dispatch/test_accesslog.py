"""The access log and request ids (issue 19, point 2): the id rule and the
line formats as tables, then the WSGI stage in a Gateway: one line per
request, streamed bodies logged on close, the id in the environ, the
response and the application's log records, and a failing destination that
never fails a request."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import typing as t
from pathlib import Path
from time import perf_counter_ns

import pytest
from server_harness import eventually

import gateway
from gateway.config import ConfigError
from gateway.dispatch import Gateway, Mount, logsinks
from gateway.dispatch import accesslog as al
from gateway.dispatch.accesslog import (
    REQUEST_ID_KEY,
    AccessLog,
    Record,
    RequestIdFilter,
    choose_request_id,
    current_request_id,
    format_json,
    format_ms,
    format_text,
    format_time,
    mount_of,
    new_request_id,
    valid_request_id,
)
from gateway.dispatch.forwarded import TrustedNetworks
from gateway.dispatch.logsinks import Batch, FileSink, Sink, chunks, open_sink
from gateway.toml import LoggingConfig, parse_config


@pytest.fixture(autouse=True)
def lines_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line is written as its request ends, so a test reads it at once
    (the tests of gathering set their own bounds)."""
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 0.0)


# -- the request id rule ----------------------------------------------------------------

LOOPBACK = TrustedNetworks(["127.0.0.1/32", "::1/128"])
NOBODY = TrustedNetworks([])
EVERYBODY = TrustedNetworks(None)

ID_RULE = [
    pytest.param("abc-123", "127.0.0.1", LOOPBACK, "abc-123", id="trusted-proxy-kept"),
    pytest.param("abc-123", "::1", LOOPBACK, "abc-123", id="trusted-ipv6-kept"),
    pytest.param("abc-123", "10.0.0.9", LOOPBACK, "NEW", id="untrusted-peer-replaced"),
    pytest.param("abc-123", None, LOOPBACK, "NEW", id="no-peer-replaced"),
    pytest.param("abc-123", "127.0.0.1", NOBODY, "NEW", id="no-proxy-trusts-nobody"),
    pytest.param("abc-123", "203.0.113.5", EVERYBODY, "abc-123", id="trust-all"),
    pytest.param(None, "127.0.0.1", LOOPBACK, "NEW", id="no-header-generated"),
    pytest.param("", "127.0.0.1", LOOPBACK, "NEW", id="empty-header-generated"),
    pytest.param("a b", "127.0.0.1", LOOPBACK, "NEW", id="space-refused"),
    pytest.param("a\nb", "127.0.0.1", LOOPBACK, "NEW", id="newline-refused"),
    pytest.param('a"b', "127.0.0.1", LOOPBACK, "NEW", id="quote-refused"),
    pytest.param("x" * 129, "127.0.0.1", LOOPBACK, "NEW", id="too-long-refused"),
    pytest.param("x" * 128, "127.0.0.1", LOOPBACK, "x" * 128, id="longest-kept"),
    pytest.param(
        "Root=1-67891233-abcdef012345678912345678",
        "127.0.0.1",
        LOOPBACK,
        "Root=1-67891233-abcdef012345678912345678",
        id="aws-trace-id-kept",
    ),
    pytest.param(
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "127.0.0.1",
        LOOPBACK,
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        id="uuid-kept",
    ),
]


@pytest.mark.parametrize(("header", "peer", "trusted", "expected"), ID_RULE)
def test_request_id_is_kept_only_from_a_trusted_proxy(
    header: str | None,
    peer: str | None,
    trusted: TrustedNetworks,
    expected: str,
) -> None:
    assert choose_request_id(header, peer, trusted, lambda: "NEW") == expected


def test_new_request_ids_are_unique_and_valid() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(valid_request_id(i) for i in ids)


def test_a_forked_process_numbers_its_ids_under_a_new_prefix() -> None:
    before = new_request_id().split("-")[0]
    saved = al._ids
    try:
        al._reseed()  # what os.register_at_fork runs in the child
        first = new_request_id()
        assert first.split("-")[0] != before
        assert first.endswith("-1")
        assert new_request_id() == first[:-1] + "2"
    finally:
        al._ids = saved


def test_a_process_forked_from_c_makes_its_prefix_on_its_first_request() -> None:
    """uWSGI forks its workers from C, running no fork hook: the master,
    which built the gateway, has served nothing and so made no prefix."""
    saved = al._ids
    try:
        al._ids = None  # a fresh import, as in uWSGI's master
        log = AccessLog(hello, Lines())
        assert al._ids is None  # building the gateway makes none
        headers: list[list[tuple[str, str]]] = []
        log({}, lambda s, h, e=None: headers.append(h))
        rid = dict(headers[0])["X-Request-ID"]
        assert re.fullmatch("[0-9a-f]{12}-1", rid)
        assert new_request_id() == rid[:-1] + "2"
    finally:
        al._ids = saved


# -- the line ---------------------------------------------------------------------------

WHEN = 1796619662123  # 2026-12-07T05:01:02.123Z, in milliseconds


def record(**changes: t.Any) -> Record:
    base = Record(
        time=format_time(WHEN),
        remote_addr="10.0.0.7",
        tenant="acme",
        mount=None,
        method="GET",
        path="/",
        query="",
        protocol="HTTP/1.1",
        status=200,
        bytes=512,
        duration=format_ms(1873),
        request_id="rid-1",
    )
    return base._replace(**changes)


TEXT = [
    pytest.param(
        record(),
        '2026-12-07T05:01:02.123Z 10.0.0.7 acme - "GET / HTTP/1.1" 200 512 1.873 rid-1',
        id="tenant",
    ),
    pytest.param(
        record(tenant=None, mount="/admin", path="/admin/users", query="page=2"),
        "2026-12-07T05:01:02.123Z 10.0.0.7 - /admin"
        ' "GET /admin/users?page=2 HTTP/1.1" 200 512 1.873 rid-1',
        id="mount-and-query",
    ),
    pytest.param(
        record(remote_addr=None, tenant=None, status=404, bytes=0),
        '2026-12-07T05:01:02.123Z - - - "GET / HTTP/1.1" 404 0 1.873 rid-1',
        id="nothing-known",
    ),
    pytest.param(
        record(path='/a"b\\c'),
        '2026-12-07T05:01:02.123Z 10.0.0.7 acme - "GET /a\\x22b\\x5cc HTTP/1.1"'
        " 200 512 1.873 rid-1",
        id="quote-and-backslash-escaped",
    ),
    pytest.param(
        record(path="/a\nforged line"),
        '2026-12-07T05:01:02.123Z 10.0.0.7 acme - "GET /a\\x0aforged line HTTP/1.1"'
        " 200 512 1.873 rid-1",
        id="newline-cannot-forge-a-line",
    ),
    pytest.param(
        record(path="/caf\u00c3\u00a9"),  # UTF-8 "café" as WSGI's latin-1
        '2026-12-07T05:01:02.123Z 10.0.0.7 acme - "GET /café HTTP/1.1"'
        " 200 512 1.873 rid-1",
        id="utf8-path-readable",
    ),
    pytest.param(
        record(path="/\u00ff"),  # a byte that is not UTF-8
        '2026-12-07T05:01:02.123Z 10.0.0.7 acme - "GET /\\x5cxff HTTP/1.1"'
        " 200 512 1.873 rid-1",
        id="invalid-utf8-escaped",
    ),
]


@pytest.mark.parametrize(("rec", "line"), TEXT)
def test_text_line(rec: Record, line: str) -> None:
    assert format_text(*rec) == line


def test_json_line_has_every_field() -> None:
    line = format_json(*record(mount="/admin", path="/caf\u00c3\u00a9", query="q=1"))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-12-07T05:01:02.123Z",
        "remote_addr": "10.0.0.7",
        "tenant": "acme",
        "mount": "/admin",
        "method": "GET",
        "path": "/café",
        "query": "q=1",
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes": 512,
        "duration_ms": 1.873,
        "request_id": "rid-1",
    }


def test_no_character_of_a_valid_request_id_needs_quoting_in_json() -> None:
    # format_json writes the request id between quotes as it is.
    allowed = [chr(c) for c in range(0x110000) if valid_request_id(chr(c))]
    assert len(allowed) == 70  # letters, digits and ._:+/=@-
    assert [json.dumps(c) for c in allowed] == [f'"{c}"' for c in allowed]


def test_json_line_of_a_forged_path_stays_one_line() -> None:
    line = format_json(*record(path='/x"\n{"status": 200}'))
    assert "\n" not in line
    assert json.loads(line)["path"] == '/x"\n{"status": 200}'


TIMES = [
    pytest.param(WHEN, "2026-12-07T05:01:02.123Z", id="milliseconds"),
    pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
    pytest.param(1796619662999, "2026-12-07T05:01:02.999Z", id="last-millisecond"),
    pytest.param(1796619663000, "2026-12-07T05:01:03.000Z", id="next-second"),
    pytest.param(1796619662005, "2026-12-07T05:01:02.005Z", id="leading-zeros"),
]


@pytest.mark.parametrize(("when", "text"), TIMES)
def test_time_is_utc_iso8601(when: int, text: str) -> None:
    assert format_time(when) == text


DURATIONS = [
    pytest.param(1873, "1.873", id="milliseconds"),
    pytest.param(0, "0.000", id="zero"),
    pytest.param(1, "0.001", id="one-microsecond"),
    pytest.param(2_500_000, "2500.000", id="seconds"),
    pytest.param(1_000_050, "1000.050", id="leading-zeros"),
]


@pytest.mark.parametrize(("us", "text"), DURATIONS)
def test_duration_in_milliseconds(us: int, text: str) -> None:
    assert format_ms(us) == text


@pytest.mark.parametrize(("when", "time_text"), TIMES)
@pytest.mark.parametrize(("us", "duration_text"), DURATIONS)
def test_render_writes_time_and_duration_as_the_formatters_do(
    monkeypatch: pytest.MonkeyPatch,
    when: int,
    time_text: str,
    us: int,
    duration_text: str,
) -> None:
    # The batch renders these inline; the clocks read as: arrival at 0 on
    # the counter, which is `when` on the wall clock.
    monkeypatch.setattr(al, "perf_counter_ns", lambda: 0)
    monkeypatch.setattr(al.time, "time_ns", lambda: when * 1_000_000)
    log = AccessLog(hello, Lines())
    line = log.render(
        [
            (0, us * 1000, "10.0.0.7", "acme", "", "", "GET", "/", "", "HTTP/1.1")
            + ("200 OK", 512, "rid-1"),
        ]
    )
    assert (
        line.decode()
        == format_text(*record(time=time_text, duration=duration_text)) + "\n"
    )


#: Counter readings as a server's uptime makes them: past 2**30, where
#: render_lines reckons from the first record (offsets in nanoseconds).
COUNTER = 47_123_456_789_012
BATCHES = [
    pytest.param([0], id="one"),
    pytest.param([0, 999_999, 1_000_000], id="within-a-millisecond"),
    pytest.param([0, 876_999_999, 877_000_000, 3_500_000_000], id="across-seconds"),
    pytest.param([0, -1, -123_000_001, -5_000_000_000], id="arrived-before-the-first"),
    pytest.param([10**9 * 3600 * 30, 0], id="a-day-apart"),
]


@pytest.mark.parametrize("arrivals", BATCHES)
@pytest.mark.parametrize(
    "wall_offset",
    [
        pytest.param(WHEN * 1_000_000 - COUNTER + 123_456, id="mid-second"),
        pytest.param(1796619662999_999_999 - COUNTER, id="last-nanosecond"),
        pytest.param(-COUNTER, id="epoch"),
    ],
)
def test_render_lines_times_every_record_as_format_time_does(
    arrivals: list[int], wall_offset: int
) -> None:
    records = [
        (COUNTER + a, COUNTER + a + 1_873_999, "10.0.0.7", "acme", "", "")
        + ("GET", "/", "", "HTTP/1.1", "200 OK", 512, f"rid-{i}")
        for i, a in enumerate(arrivals)
    ]
    lines = al.render_lines(records, wall_offset, format_text).decode().splitlines()
    assert lines == [
        format_text(
            *record(
                time=format_time((started + wall_offset) // 1_000_000),
                duration="1.873",
                request_id=rid,
            )
        )
        for started, *_, rid in records
    ]


MOUNTS = [
    pytest.param({}, None, id="before-the-gateway"),
    pytest.param({"gateway.root": "", "SCRIPT_NAME": ""}, None, id="no-mount"),
    pytest.param({"gateway.root": "", "SCRIPT_NAME": "/admin"}, "/admin", id="mount"),
    pytest.param(
        {"gateway.root": "/site", "SCRIPT_NAME": "/site/admin"},
        "/admin",
        id="mount-under-script-name",
    ),
    pytest.param(
        {"gateway.root": "/site", "SCRIPT_NAME": "/site"}, None, id="root-only"
    ),
]


@pytest.mark.parametrize(("environ", "mount"), MOUNTS)
def test_mount_is_what_dispatch_moved_into_script_name(
    environ: dict[str, str], mount: str | None
) -> None:
    assert mount_of(environ) == mount


# -- the configuration ------------------------------------------------------------------


def config(tmp_path: Path, **logging_table: t.Any) -> t.Any:
    return parse_config(
        {"gateway": {"default_app": "x:app"}, "logging": logging_table}, tmp_path
    )


def test_logging_is_off_by_default(tmp_path: Path) -> None:
    assert config(tmp_path).logging == LoggingConfig()
    assert LoggingConfig().access == "off"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("on", "on", id="on"),
        pytest.param("stdout", "stdout", id="stdout"),
        pytest.param("stderr", "stderr", id="stderr"),
        pytest.param("logs/access.log", "ROOT/logs/access.log", id="relative-file"),
        pytest.param("/var/log/x.log", "/var/log/x.log", id="absolute-file"),
    ],
)
def test_access_destination(tmp_path: Path, given: str, expected: str) -> None:
    got = config(tmp_path, access=given).logging.access
    assert got == expected.replace("ROOT", str(tmp_path.resolve()))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param({"access": ""}, "[logging].access: expected", id="empty"),
        pytest.param({"access": True}, "[logging].access", id="not-a-string"),
        pytest.param({"format": "xml"}, "expected one of text, json", id="format"),
        pytest.param({"acess": "on"}, "access", id="misspelt-key"),
    ],
)
def test_bad_logging_table_is_refused_by_name(
    tmp_path: Path, table: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        config(tmp_path, **table)


def test_unwritable_access_log_fails_at_construction(tmp_path: Path) -> None:
    where = tmp_path / "missing" / "access.log"
    with pytest.raises(
        ConfigError, match=r"\[logging\].access: cannot open .*directory"
    ):
        Gateway(hello, logging=LoggingConfig(access=str(where)))


def test_unknown_format_is_refused_in_python() -> None:
    with pytest.raises(ValueError, match="text, json"):
        AccessLog(hello, Sink(1, "stdout"), format="csv")


# -- the WSGI stage ---------------------------------------------------------------------


def hello(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


class Lines(Sink):
    """A sink that keeps its lines."""

    def __init__(self) -> None:
        super().__init__(-1, "memory")
        self.lines: list[str] = []

    def write(self, lines: bytes) -> None:
        self.lines.extend(lines.decode().splitlines())

    def json(self) -> list[dict[str, t.Any]]:
        return [json.loads(line) for line in self.lines]


def logged_gateway(
    sink: Sink, fmt: str = "json", **kwargs: t.Any
) -> tuple[Gateway, Sink]:
    gw = Gateway(**kwargs)
    gw._app = AccessLog(gw._app, sink, format=fmt, trusted=["127.0.0.1/32"])
    return gw, sink


def test_one_line_per_request_with_tenant_status_bytes_and_id(
    call: t.Any, make_environ: t.Any, echo: t.Any
) -> None:
    lines = Lines()
    gw, _ = logged_gateway(lines, base_domain="example.com", tenants=echo)
    result = call(gw, make_environ("/x", "acme.example.com", query="a=1"))
    (entry,) = lines.json()
    assert entry["tenant"] == "acme"
    assert entry["mount"] is None
    assert (entry["method"], entry["path"], entry["query"]) == ("GET", "/x", "a=1")
    assert entry["status"] == 200
    assert entry["bytes"] == len(result.body)
    assert entry["duration_ms"] >= 0
    assert result.headers["X-Request-ID"] == entry["request_id"]


def test_mount_is_logged_with_the_full_path(call: t.Any, echo: t.Any) -> None:
    lines = Lines()
    gw, _ = logged_gateway(
        lines, default_app=echo("root"), mounts=[Mount("/admin", echo("admin"))]
    )
    call(gw, path="/admin/users")
    call(gw, path="/other")
    first, second = lines.json()
    assert (first["mount"], first["path"]) == ("/admin", "/admin/users")
    assert (second["mount"], second["path"]) == (None, "/other")


def test_requests_the_gateway_answers_itself_are_logged(
    call: t.Any, echo: t.Any
) -> None:
    lines = Lines()
    gw, _ = logged_gateway(lines, base_domain="example.com", tenants=echo)
    assert call(gw, host="evil.test").status == 400
    assert call(gw, path="/_gateway/health").status == 200
    assert [e["status"] for e in lines.json()] == [400, 200]


def test_the_application_sees_the_id_in_its_environ_and_log_records(
    call: t.Any, make_environ: t.Any
) -> None:
    app = gateway.App("rid")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    app.logger.addHandler(handler)

    @app.route("/")
    def index() -> str:
        app.logger.warning("inside")
        return gateway.request.environ[REQUEST_ID_KEY]

    lines = Lines()
    gw, _ = logged_gateway(lines, default_app=app)
    try:
        result = call(gw, make_environ("/", "example.com"))
    finally:
        app.logger.removeHandler(handler)
    rid = lines.json()[0]["request_id"]
    assert result.text == rid == result.headers["X-Request-ID"]
    assert [r.request_id for r in records] == [rid]  # type: ignore[attr-defined]
    # Still set: the server's lines about this request carry it too.
    assert current_request_id.get() == rid


def test_every_log_record_gets_a_request_id_attribute(call: t.Any) -> None:
    records: list[logging.LogRecord] = []

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        records.append(logging.makeLogRecord({}))
        records.append(
            logging.getLogger("any").makeRecord("any", 20, "f", 1, "m", (), None)
        )
        return hello(environ, start_response)

    lines = Lines()
    logged_gateway(lines)  # installs the record factory
    gw, _ = logged_gateway(lines, default_app=app)
    call(gw, path="/")
    rid = lines.json()[-1]["request_id"]
    assert records[1].request_id == rid  # type: ignore[attr-defined]
    made: list[logging.LogRecord] = []
    thread = threading.Thread(
        target=lambda: made.append(logging.makeLogRecord({}))
    )  # a thread that has served no request
    thread.start()
    thread.join(10)
    assert made[0].request_id == "-"  # type: ignore[attr-defined]


def test_trusted_proxy_id_is_kept_end_to_end(call: t.Any, make_environ: t.Any) -> None:
    lines = Lines()
    gw, _ = logged_gateway(lines, default_app=hello)
    kept = call(gw, make_environ(headers={"X-Request-ID": "from-nginx-1"}))
    replaced = call(
        gw,
        make_environ(remote_addr="10.1.1.1", headers={"X-Request-ID": "forged"}),
    )
    assert kept.headers["X-Request-ID"] == "from-nginx-1"
    assert replaced.headers["X-Request-ID"] not in ("forged", "from-nginx-1")
    assert [e["request_id"] for e in lines.json()] == [
        "from-nginx-1",
        replaced.headers["X-Request-ID"],
    ]


def test_gateway_trusts_the_request_id_of_its_proxy_config_only(
    tmp_path: Path, call: t.Any, make_environ: t.Any
) -> None:
    log = tmp_path / "a.log"
    on = LoggingConfig(access=str(log))
    with_proxy = Gateway(hello, proxy={"trusted": ["10.0.0.0/8"]}, logging=on)
    without = Gateway(hello, logging=on)

    def answered_id(gw: Gateway, peer: str) -> str:
        environ = make_environ(remote_addr=peer, headers={"X-Request-ID": "abc"})
        return t.cast(str, call(gw, environ).headers["X-Request-ID"])

    assert answered_id(with_proxy, "10.2.3.4") == "abc"
    assert answered_id(with_proxy, "127.0.0.1") != "abc"
    assert answered_id(without, "10.2.3.4") != "abc"
    assert len(log.read_text().splitlines()) == 3


def test_app_own_request_id_header_is_replaced_not_doubled(call: t.Any) -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [("x-request-id", "app's")])
        return [b""]

    captured: list[list[tuple[str, str]]] = []
    gw = AccessLog(app, Lines())
    gw({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: captured.append(h))
    names = [name.lower() for name, _ in captured[0]]
    assert names.count("x-request-id") == 1


def test_streamed_response_is_logged_on_close_with_the_bytes_sent() -> None:
    closed: list[bool] = []

    class Stream:
        def __iter__(self) -> t.Iterator[bytes]:
            yield b"a" * 10
            yield b"b" * 20
            yield b"c" * 30

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, t.Any], start_response: t.Any) -> Stream:
        start_response("200 OK", [])
        return Stream()

    lines = Lines()
    body = AccessLog(app, lines, format="json")(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/s"}, lambda s, h, e=None: None
    )
    chunks = iter(body)
    next(chunks)
    next(chunks)
    assert lines.lines == []  # nothing until the server closes it
    t.cast(t.Any, body).close()  # the client went away after two chunks
    assert closed == [True]
    (entry,) = lines.json()
    assert (entry["status"], entry["bytes"]) == (200, 30)


def test_write_callable_bytes_are_counted() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        write = start_response("200 OK", [])
        write(b"12345")
        return [b"678"]

    lines = Lines()
    body = AccessLog(app, lines, format="json")({}, lambda s, h, e=None: len)
    assert body == [b"678"]
    assert lines.json()[0]["bytes"] == 8


def test_a_buffered_body_is_logged_at_once_and_handed_over_as_it_is() -> None:
    answer = [b"hello", b" there"]

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        start_response("201 Created", [])
        return answer

    lines = Lines()
    body = AccessLog(app, lines, format="json")({}, lambda s, h, e=None: None)
    assert body is answer  # servers send a list in one piece
    (entry,) = lines.json()
    assert (entry["status"], entry["bytes"]) == (201, 11)


@pytest.mark.parametrize(
    ("chunks", "written", "sent"),
    [
        pytest.param([], b"", 0, id="empty"),
        pytest.param([b""], b"", 0, id="one-empty-chunk"),
        pytest.param([b"hello"], b"", 5, id="one-chunk"),
        pytest.param([b"he", b"llo", b""], b"", 5, id="chunks"),
        pytest.param([b"lo"], b"hel", 5, id="written-and-returned"),
    ],
)
def test_the_bytes_of_a_buffered_body_are_counted(
    chunks: list[bytes], written: bytes, sent: int
) -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        write = start_response("200 OK", [])
        if written:
            write(written)
        return chunks

    lines = Lines()
    AccessLog(app, lines, format="json")({}, lambda s, h, e=None: len)
    assert lines.json()[0]["bytes"] == sent


def test_an_application_that_raises_is_logged_as_500_and_the_error_goes_on() -> None:
    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        raise RuntimeError("boom")

    lines = Lines()
    with pytest.raises(RuntimeError, match="boom"):
        AccessLog(app, lines, format="json")({}, lambda s, h, e=None: None)
    assert lines.json()[0]["status"] == 500


def test_a_formatter_that_fails_leaves_a_line_saying_so(call: t.Any) -> None:
    def broken(*fields: t.Any) -> str:
        raise ValueError("bad field")

    lines = Lines()
    log = AccessLog(hello, lines)
    log.formatter = broken
    assert call(log, path="/").body == b"hello"
    (line,) = lines.lines
    assert "access log formatting failed: ValueError('bad field')" in line


def test_text_format_through_the_gateway(call: t.Any, echo: t.Any) -> None:
    lines = Lines()
    gw, _ = logged_gateway(lines, "text", base_domain="example.com", tenants=echo)
    result = call(gw, host="acme.example.com", path="/p")
    (line,) = lines.lines
    fields = line.split(" ")
    assert fields[1:4] == ["127.0.0.1", "acme", "-"]
    assert line.endswith(f" {result.headers['X-Request-ID']}")
    assert f'"GET /p HTTP/1.1" 200 {len(result.body)} ' in line


# -- destinations ---------------------------------------------------------------------


def test_file_destination_appends_one_line_per_request(
    tmp_path: Path, call: t.Any
) -> None:
    log = tmp_path / "access.log"
    log.write_text("earlier line\n")
    gw = Gateway(hello, logging=LoggingConfig(access=str(log), format="text"))
    for _ in range(3):
        call(gw, path="/")
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"
    assert len(lines) == 4 and all('"GET / HTTP/1.1" 200 5 ' in x for x in lines[1:])


def test_stdout_destination(capfd: pytest.CaptureFixture[str], call: t.Any) -> None:
    gw = Gateway(hello, logging=LoggingConfig(access="on", format="json"))
    call(gw, path="/")
    out = capfd.readouterr().out.splitlines()
    assert json.loads(out[-1])["status"] == 200


def test_rotated_file_is_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsinks, "REOPEN_CHECK", 0.0)
    log = tmp_path / "access.log"
    sink = FileSink(str(log))
    sink.write(b"one\n")
    log.rename(tmp_path / "access.log.1")  # what logrotate does
    sink.write(b"two\n")
    sink.close()
    assert (tmp_path / "access.log.1").read_text() == "one\n"
    assert log.read_text() == "two\n"


def test_a_full_disk_drops_lines_and_never_fails_a_request(
    call: t.Any, capfd: pytest.CaptureFixture[str]
) -> None:
    if not os.path.exists("/dev/full"):  # pragma: no cover
        pytest.skip("needs /dev/full")
    gw = Gateway(hello, logging=LoggingConfig(access="/dev/full"))
    results = [call(gw, path="/") for _ in range(3)]
    assert [r.body for r in results] == [b"hello"] * 3
    sink = gw._access_sink
    assert sink is not None and sink.dropped == 3
    err = capfd.readouterr().err
    assert err.count("gateway: access log '/dev/full'") == 1  # once, not per line
    assert "No space left on device" in err


def test_a_closed_descriptor_never_fails_a_request(call: t.Any) -> None:
    read, write = os.pipe()
    os.close(read)  # writes now fail with EPIPE
    sink = Sink(write, "pipe")
    try:
        result = call(AccessLog(hello, sink), path="/")
    finally:
        os.close(write)
    assert result.body == b"hello"
    assert sink.dropped == 1


def test_open_sink_names_the_streams() -> None:
    assert open_sink("on").fd == open_sink("stdout").fd == 1
    assert open_sink("stderr").fd == 2
    with pytest.raises(ConfigError, match="no destination"):
        open_sink("off")


# -- gathering the lines of concurrent requests -----------------------------------------


CHUNKS = [
    pytest.param(b"a\nb\n", 10, [b"a\nb\n"], id="fits"),
    pytest.param(b"aaaa\nbbbb\ncccc\n", 10, [b"aaaa\nbbbb\n", b"cccc\n"], id="cut"),
    pytest.param(b"a" * 12 + b"\nb\n", 10, [b"a" * 12 + b"\n", b"b\n"], id="long-line"),
    pytest.param(b"", 10, [], id="nothing"),
]


@pytest.mark.parametrize(("data", "size", "parts"), CHUNKS)
def test_writes_to_a_pipe_carry_whole_lines(
    data: bytes, size: int, parts: list[bytes]
) -> None:
    assert list(chunks(data, size)) == parts


@pytest.fixture
def batch(tmp_path: Path) -> t.Iterator[tuple[Batch, Path]]:
    """A batch of ready-made lines to a file."""
    path = tmp_path / "batched.log"
    sink = FileSink(str(path))
    yield Batch(sink, b"".join), path
    sink.close()


def test_a_line_is_written_at_once_when_the_last_write_is_old(
    batch: tuple[Batch, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 60.0)
    b, path = batch
    b.add(b"one\n", perf_counter_ns())  # nothing written for 60 s: sparse traffic
    assert path.read_bytes() == b"one\n"


def test_lines_soon_after_a_write_wait_and_are_written_together(
    batch: tuple[Batch, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 0.2)
    b, path = batch
    b.add(b"first\n", perf_counter_ns())
    b.add(b"second\n", perf_counter_ns())
    b.add(b"third\n", perf_counter_ns())
    assert path.read_bytes() == b"first\n"  # the others wait ...
    # ... for the timer thread, which writes them in one call
    assert eventually(lambda: path.read_bytes() == b"first\nsecond\nthird\n", timeout=5)


def test_gathered_lines_are_written_at_the_line_bound(
    batch: tuple[Batch, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 60.0)
    monkeypatch.setattr(logsinks, "BATCH_LINES", 3)
    b, path = batch
    for line in (b"a\n", b"b\n", b"c\n"):
        b.add(line, perf_counter_ns())
    assert path.read_bytes() == b"a\n"
    b.add(b"d\n", perf_counter_ns())  # three wait: written without the timer
    assert path.read_bytes() == b"a\nb\nc\nd\n"


def test_lines_are_formatted_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 60.0)
    lines = Lines()
    log = AccessLog(hello, lines, format="json")
    rendered: list[int] = []
    render = log.batch.render
    log.batch.render = lambda records: rendered.append(len(records)) or render(records)
    for _ in range(3):
        log({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda s, h, e=None: None)
    assert rendered == [1] and len(lines.lines) == 1
    log.flush()
    assert rendered == [1, 2] and len(lines.lines) == 3
    assert [e["path"] for e in lines.json()] == ["/"] * 3


def test_a_failed_batch_counts_every_line_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.exists("/dev/full"):  # pragma: no cover
        pytest.skip("needs /dev/full")
    monkeypatch.setattr(logsinks, "BATCH_SECONDS", 60.0)
    sink = FileSink("/dev/full")
    b = Batch(sink, b"".join)
    for line in (b"a\n", b"b\n", b"c\n"):
        b.add(line, perf_counter_ns())
    b.flush()
    sink.close()
    assert sink.dropped == 3


EXITS = {
    "returns": "",
    "sys.exit": "sys.exit(0)",
}


def _log_and_exit(path: str, ending: str) -> None:
    """In a child: two requests 60 s apart at most, so the second waits."""
    logsinks.BATCH_SECONDS = 60.0
    log = AccessLog(hello, str(path), format="text")
    for _ in range(2):
        log({"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, lambda s, h, e=None: None)
    if ending:
        exec(ending)


@pytest.mark.parametrize("ending", EXITS.values(), ids=EXITS.keys())
def test_a_multiprocessing_worker_writes_what_waits_when_it_exits(
    tmp_path: Path, ending: str
) -> None:
    """granian's workers are multiprocessing processes: they end with
    os._exit, running multiprocessing's finalizers but not atexit."""
    path = tmp_path / "access.log"
    child = multiprocessing.get_context("fork").Process(
        target=_log_and_exit, args=(str(path), ending)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert path.read_text().count('"GET /x ') == 2


def test_a_process_that_exits_writes_what_waits(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    script = f"""
from gateway.dispatch import AccessLog, logsinks
logsinks.BATCH_SECONDS = 60.0
log = AccessLog(lambda e, s: (s("200 OK", []), [b"hi"])[1], {str(path)!r})
for _ in range(2):
    log({{"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}}, lambda s, h, e=None: None)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], timeout=60, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert path.read_text().count('"GET /x ') == 2


def test_a_long_batch_reaches_a_pipe_whole() -> None:
    read, write = os.pipe()
    sink = Sink(write, "pipe")
    data = b"".join(b"%05d " % i + b"x" * 94 + b"\n" for i in range(60))  # 6 KB
    try:
        sink.write(data)
        os.close(write)
        got = b""
        while chunk := os.read(read, 65536):
            got += chunk
    finally:
        os.close(read)
    assert got == data and sink.dropped == 0
