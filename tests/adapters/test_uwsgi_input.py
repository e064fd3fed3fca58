"""ChunkedInput and DecodeChunked (gateway/adapters/uwsgi_input.py): a chunked
request body read chunk by chunk through a ``read_chunk`` callable (under
uWSGI, ``uwsgi.chunked_read``; here a list of chunks). The real uWSGI runs in
tests/integration/test_malformed_body.py."""

from __future__ import annotations

import io
import sys
import typing as t

import pytest
from werkzeug.test import EnvironBuilder

from gateway import App, request
from gateway.adapters.uwsgi_input import (
    ChunkedInput,
    DecodeChunked,
    is_chunked_without_length,
)


def chunks(*parts: bytes, error: bool = False) -> t.Callable[[], bytes]:
    """``read_chunk`` giving ``parts`` then b"" (or raising OSError, as
    uwsgi.chunked_read does on a body it cannot decode)."""
    queue = list(parts)

    def read_chunk() -> bytes:
        if queue:
            return queue.pop(0)
        if error:
            raise OSError("unable to receive chunked part")
        return b""

    return read_chunk


PARTS = (b"ab", b"c\nde", b"f\n", b"gh")


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param([("read", -1)], [b"abc\ndef\ngh"], id="read-all"),
        pytest.param([("read", None)], [b"abc\ndef\ngh"], id="read-none-is-all"),
        pytest.param(
            [("read", 3), ("read", 3), ("read", 100), ("read", 1)],
            [b"abc", b"\nde", b"f\ngh", b""],
            id="read-sizes-across-chunks",
        ),
        pytest.param([("read", 0)], [b""], id="read-zero"),
        pytest.param(
            [("readline", -1)] * 4,
            [b"abc\n", b"def\n", b"gh", b""],
            id="readline",
        ),
        pytest.param(
            [("readline", 2), ("readline", 5), ("readline", -1)],
            [b"ab", b"c\n", b"def\n"],
            id="readline-limited",
        ),
        pytest.param(
            [("readlines", -1)], [[b"abc\n", b"def\n", b"gh"]], id="readlines"
        ),
        pytest.param([("readlines", 3)], [[b"abc\n"]], id="readlines-hint"),
    ],
)
def test_chunked_input_reads(
    calls: list[tuple[str, t.Any]], expected: list[t.Any]
) -> None:
    stream = ChunkedInput(chunks(*PARTS))
    assert [getattr(stream, name)(arg) for name, arg in calls] == expected


def test_chunked_input_iterates_lines() -> None:
    assert list(ChunkedInput(chunks(*PARTS))) == [b"abc\n", b"def\n", b"gh"]


def test_end_of_body_is_not_read_again() -> None:
    calls: list[int] = []

    def read_chunk() -> bytes:
        calls.append(1)
        return b""

    stream = ChunkedInput(read_chunk)
    assert stream.read() == b"" and stream.read(10) == b"" and stream.readline() == b""
    assert len(calls) == 1


def test_an_undecodable_body_raises_oserror() -> None:
    stream = ChunkedInput(chunks(b"abc", error=True))
    assert stream.read(2) == b"ab"
    with pytest.raises(OSError, match="chunked part"):
        stream.read()


@pytest.mark.parametrize(
    ("headers", "chunked"),
    [
        pytest.param({"HTTP_TRANSFER_ENCODING": "chunked"}, True, id="chunked"),
        pytest.param(
            {"HTTP_TRANSFER_ENCODING": "gzip, Chunked"}, True, id="coding-list"
        ),
        pytest.param(
            {"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": "7"},
            False,
            id="server-gave-a-length",
        ),
        pytest.param({"HTTP_TRANSFER_ENCODING": "gzip"}, False, id="not-chunked"),
        pytest.param({}, False, id="no-body"),
        pytest.param({"CONTENT_LENGTH": ""}, False, id="empty-length-no-coding"),
    ],
)
def test_is_chunked_without_length(headers: dict[str, str], chunked: bool) -> None:
    assert is_chunked_without_length(headers) is chunked


def echo_app() -> App:
    app = App(__name__)

    @app.post("/echo")
    def echo() -> dict[str, t.Any]:
        return {"form": request.form.to_dict(), "data": request.get_data(as_text=True)}

    return app


def run(app: t.Any, environ: dict[str, t.Any]) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: seen.append(s)))
    return seen[0], body


def chunked_environ(**extra: t.Any) -> dict[str, t.Any]:
    environ = EnvironBuilder(
        path="/echo",
        method="POST",
        headers={"Transfer-Encoding": "chunked"},
        content_type="application/x-www-form-urlencoded",
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(b"")  # what uWSGI gives: nothing
    environ.update(extra)
    return environ


def test_decode_chunked_gives_the_app_the_whole_body() -> None:
    app = DecodeChunked(echo_app(), chunks(b"a=1", b"&b=2"))
    status, body = run(app, chunked_environ())
    assert status == "200 OK"
    assert b'"form":{"a":"1","b":"2"}' in body.replace(b" ", b"")


def test_decode_chunked_undecodable_body_is_a_400() -> None:
    app = DecodeChunked(echo_app(), chunks(b"a=1", error=True))
    status, _ = run(app, chunked_environ())
    assert status.startswith("400")


def test_decode_chunked_keeps_max_content_length() -> None:
    inner = echo_app()
    inner.config["MAX_CONTENT_LENGTH"] = 4
    status, _ = run(DecodeChunked(inner, chunks(b"a=1", b"&b=2")), chunked_environ())
    assert status.startswith("413")


def test_decode_chunked_leaves_a_body_with_a_length_alone() -> None:
    def read_chunk() -> bytes:
        raise AssertionError("not a chunked body")

    environ = chunked_environ(CONTENT_LENGTH="3", **{"wsgi.input": io.BytesIO(b"a=1")})
    del environ["HTTP_TRANSFER_ENCODING"]  # a plain body with its length
    status, body = run(DecodeChunked(echo_app(), read_chunk), environ)
    assert status == "200 OK" and b'"a":"1"' in body.replace(b" ", b"")


def test_entry_points_decode_chunked_bodies_only_inside_uwsgi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any
) -> None:
    """``import uwsgi`` exists only inside uWSGI: a stand-in module plays it."""
    import types

    from gateway.adapters import load_application
    from gateway.adapters.uwsgi import CONFIG_ENV, application_from_environment

    toml = tmp_path / "gateway.toml"
    toml.write_text('[gateway]\ndefault_app = "test_uwsgi_input:echo_app()"\n')
    monkeypatch.setenv(CONFIG_ENV, str(toml))
    assert not isinstance(load_application(toml), DecodeChunked)
    fake = types.ModuleType("uwsgi")
    fake.chunked_read = chunks(b"a=1")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uwsgi", fake)
    for app in (load_application(toml), application_from_environment()):
        assert isinstance(app, DecodeChunked)
