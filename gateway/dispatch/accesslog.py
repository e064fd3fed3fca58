"""The access log: one line per request, and the request id.

:class:`AccessLog` is the outermost stage of a :class:`~gateway.dispatch.Gateway`
with ``[logging].access`` on. For each request it

- takes the request id from ``X-Request-ID`` when the peer is a trusted
  proxy (``[proxy].trusted``, the same rule as the forwarded headers) and the
  value is a plausible id, and makes a new one otherwise;
- puts it in ``environ["gateway.request_id"]``, in the context variable
  :data:`current_request_id` (so ``%(request_id)s`` works in any log format
  while the application runs, see :func:`install_record_factory`), and in the
  response's ``X-Request-ID``;
- writes one line: time, client, tenant, mount, method, path, status,
  bytes sent, duration and request id, as text or JSON
  (:func:`format_text`, :func:`format_json`).

The line of a streamed response is written when the server closes it, with
the bytes the server took from it; a buffered response (a list, what a
``gateway.App`` returns) is whole when the application returns it, and is
logged then and handed to the server unwrapped. The formatting is pure and
tested with tables; the lines go to a :class:`~gateway.dispatch.logsinks.Sink`
through a :class:`~gateway.dispatch.logsinks.Batch`.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import threading
import time
import typing as t
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii
from time import perf_counter_ns

from .forwarded import TrustedNetworks
from .logsinks import Batch, Sink, sink_for

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: The request and response header carrying the request id.
REQUEST_ID_HEADER = "X-Request-ID"
#: Where the application finds the request id.
REQUEST_ID_KEY = "gateway.request_id"
_HEADER_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
_HEADER_LOWER = REQUEST_ID_HEADER.lower()
_HEADER_LENGTH = len(REQUEST_ID_HEADER)
#: What a request id from a proxy may look like: up to 128 of these
#: characters (UUIDs, hex, base64, ``Root=1-...`` trace ids). Anything else
#: is replaced by a new id, so a header cannot forge log lines.
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")

#: The request id of the request this thread (or greenlet) serves, or served
#: last: it stays set after the application returns, so that the lines logged
#: while a streamed body is sent, and the server's own lines about the
#: request, carry it too. None before the first request.
current_request_id: ContextVar[str | None] = ContextVar(
    "gateway.request_id", default=None
)

_quote: t.Callable[[str], str] = encode_basestring_ascii

#: The line formats of ``[logging].format``.
FORMATS = ("text", "json")


# -- request ids ---------------------------------------------------------------


#: This process's ids, ``PREFIX-1``, ``PREFIX-2``..., made on its first
#: request (None until then): a server that forks its workers from C (uWSGI)
#: runs no ``os.register_at_fork`` hook, and its master, which built the
#: gateway, serves no request. An iterator whose counting, text and prefix
#: all happen in C: a request takes its id with one ``next``, a thousand
#: instructions less than adding the prefix to ``str(next(counter))``.
_ids: t.Iterator[str] | None = None
_ids_lock = threading.Lock()


def _start_ids() -> str:
    """Make this process's ids, once; return the next one."""
    global _ids
    with _ids_lock:
        if _ids is None:
            prefix = secrets.token_hex(6) + "-"
            _ids = map(prefix.__add__, map(str, itertools.count(1)))
        return next(_ids)


def _reseed() -> None:
    """A child forked from Python makes its own ids on its first request."""
    global _ids
    _ids = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A fresh id: 12 random hex digits per process, then a counter
    (``"3f9a1c2b7d4e-42"``). Unique across processes and cheaper than a
    UUID, which a request pays for on every line."""
    return next(_ids) if _ids is not None else _start_ids()


def valid_request_id(value: str) -> bool:
    """Whether ``value`` is acceptable as a request id from a proxy."""
    return _VALID_ID.fullmatch(value) is not None


def choose_request_id(
    header: str | None,
    peer: str | None,
    trusted: TrustedNetworks,
    new: t.Callable[[], str] = new_request_id,
) -> str:
    """The request's id: ``header`` (the ``X-Request-ID`` value) when
    ``peer`` (``REMOTE_ADDR`` before any proxy fix) is trusted and the value
    is :func:`valid_request_id`, else ``new()``."""
    if header is not None and peer in trusted and _VALID_ID.fullmatch(header):
        return header
    return new()


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` to the current request's id (``"-"``
    before the thread's first request); add it to a handler to use ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


_factory_installed = False


def install_record_factory() -> None:
    """Give every log record of this process a ``request_id`` attribute
    (``"-"`` before the thread's first request), once, keeping the current record factory."""
    global _factory_installed
    if _factory_installed:
        return
    _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get() or "-"
        return record

    logging.setLogRecordFactory(factory)


# -- the line ------------------------------------------------------------------------


class Record(t.NamedTuple):
    """What one line says about one request."""

    #: When the request arrived, in UTC to the millisecond
    #: (:func:`format_time`).
    time: str
    #: The client (``REMOTE_ADDR`` after the proxy fix).
    remote_addr: str | None
    tenant: str | None
    #: The mount's prefix when a mounted application answered.
    mount: str | None
    method: str
    #: ``SCRIPT_NAME + PATH_INFO`` as the request arrived (WSGI's latin-1).
    path: str
    query: str
    protocol: str
    status: int
    #: Response body bytes the server took from the application.
    bytes: int
    #: Milliseconds from arrival to the close of the response, three
    #: decimals (:func:`format_ms`).
    duration: str
    request_id: str


#: The last second formatted: (seconds since the epoch, its text); replaced
#: as a whole, so threads never see half of it.
_second: tuple[int, str] = (-1, "")
_DIGITS3 = tuple(f"{n:03d}" for n in range(1000))
_MILLIS = tuple(f".{n}Z" for n in _DIGITS3)


def format_ms(us: int) -> str:
    """A duration of ``us`` microseconds in milliseconds with three
    decimals (``"1.873"``), with integer operations: formatting a float
    costs twice as much."""
    return f"{us // 1000}.{_DIGITS3[us % 1000]}"


def format_time(ms: int) -> str:
    """``ms`` milliseconds since the epoch in UTC ISO 8601:
    ``2026-12-07T05:01:02.123Z``."""
    second = ms // 1000
    return _format_second(second) + _MILLIS[ms - second * 1000]


def _format_second(second: int) -> str:
    """The ISO 8601 text of ``second`` to the second, formatted once per
    second: the lines of one batch mostly share it."""
    global _second
    cached = _second
    if cached[0] != second:
        cached = _second = (
            second,
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)),
        )
    return cached[1]


def _decode(value: str) -> str:
    """WSGI's latin-1 string as the UTF-8 the client most likely sent."""
    if value.isascii():
        return value
    return value.encode("latin-1", "replace").decode("utf-8", "backslashreplace")


def _escape(value: str) -> str:
    """Client-sent text for the text format: printable, ``"`` and ``\\``
    escaped, so a line stays one line and its quoted field parses."""
    return "".join(
        c
        if c.isprintable() and c not in '"\\'
        else f"\\x{ord(c):02x}"
        if ord(c) < 256
        else f"\\u{ord(c):04x}"
        for c in _decode(value)
    )


def format_text(
    when: str,
    remote_addr: str | None,
    tenant: str | None,
    mount: str | None,
    method: str,
    path: str,
    query: str,
    protocol: str,
    status: int,
    sent: int,
    duration: str,
    request_id: str,
) -> str:
    """The fields of a :class:`Record` as
    ``TIME CLIENT TENANT MOUNT "METHOD PATH PROTOCOL" STATUS BYTES MS ID``,
    ``-`` for what is absent, the duration in milliseconds::

        2026-12-07T05:01:02.123Z 10.0.0.7 acme /admin "GET /admin/?x=1 HTTP/1.1" 200 512 1.873 3f9a1c2b7d4e-42

    Only the request line comes from the client as it was sent; the client
    address, tenant and mount were checked by dispatch, and the request id
    by :func:`valid_request_id`.
    """
    request = (
        f"{method} {path}?{query} {protocol}"
        if query
        else f"{method} {path} {protocol}"
    )
    if (
        not (request.isascii() and request.isprintable())
        or '"' in request
        or "\\" in request
    ):
        request = _escape(request)
    return (
        f"{when} {remote_addr or '-'} {tenant or '-'} {mount or '-'}"
        f' "{request}" {status} {sent} {duration} {request_id}'
    )


def format_json(
    when: str,
    remote_addr: str | None,
    tenant: str | None,
    mount: str | None,
    method: str,
    path: str,
    query: str,
    protocol: str,
    status: int,
    sent: int,
    duration: str,
    request_id: str,
) -> str:
    """The fields of a :class:`Record` as one JSON object, keys in a fixed
    order, null for what is absent, path and query decoded as UTF-8. Built
    by hand with :mod:`json`'s string encoder: ``json.dumps`` of a dict
    costs several times more a request. The request id needs no quoting
    (:data:`_VALID_ID` has no character JSON escapes); the checks for None
    and non-ASCII are written out, a function call each costing more than
    the check."""
    q = _quote
    return (
        f'{{"time": "{when}",'
        f' "remote_addr": {"null" if remote_addr is None else q(remote_addr)},'
        f' "tenant": {"null" if tenant is None else q(tenant)},'
        f' "mount": {"null" if mount is None else q(mount)},'
        f' "method": {q(method)},'
        f' "path": {q(path if path.isascii() else _decode(path))},'
        f' "query": {q(query if query.isascii() else _decode(query))},'
        f' "protocol": {q(protocol)}, "status": {status:d}, "bytes": {sent:d},'
        f' "duration_ms": {duration}, "request_id": "{request_id}"}}'
    )


Formatter = t.Callable[
    [str, t.Any, t.Any, t.Any, str, str, str, str, int, int, str, str], str
]

FORMATTERS: dict[str, Formatter] = {
    "text": format_text,
    "json": format_json,
}


def mount_of(environ: WSGIEnvironment) -> str | None:
    """The prefix of the mount that served the request, from what path
    dispatch moved into ``SCRIPT_NAME`` past the gateway's root."""
    return _mount(environ.get("SCRIPT_NAME"), environ.get("gateway.root"))


def _mount(script: str | None, root: str | None) -> str | None:
    """:func:`mount_of` from the two environ values it reads."""
    if root is not None and script and len(script) > len(root):
        if script.startswith(root):
            return script[len(root) :]
    return None


def render_lines(
    records: list[tuple[t.Any, ...]], offset: int, formatter: Formatter
) -> bytes:
    """The lines of ``records`` (tuples as :meth:`AccessLog.record` makes
    them), ``offset`` nanoseconds from their ``perf_counter_ns`` readings to
    wall time, each line ending in a newline.

    What :func:`format_time`, :func:`format_ms`, :func:`_mount` and
    :func:`_status_code` do is inlined or skipped for the common case: the
    calls were a third of a line's cost. Times are reckoned from the first
    record's arrival: the counter's readings are past ``2**30``, and
    dividing such ints costs twice what dividing their small differences
    does.
    """
    base = records[0][0]
    first_ms, rest = divmod(base + offset, 1_000_000)
    base_second, first_milli = divmod(first_ms, 1000)
    codes = _codes
    millis = _MILLIS
    digits = _DIGITS3
    low = high = 0  # the milliseconds past base_second that `stamp` covers
    stamp = ""
    lines = []
    for (
        started,
        end,
        remote_addr,
        tenant,
        script,
        root,
        method,
        path,
        query,
        protocol,
        status,
        sent,
        request_id,
    ) in records:
        # Milliseconds from base_second to the arrival (negative for a
        # request that arrived before the first one of the batch).
        ms = first_milli + (rest + started - base) // 1_000_000
        if not low <= ms < high:
            second = ms // 1000
            low, high = second * 1000, second * 1000 + 1000
            stamp = _format_second(base_second + second)
        when = stamp + millis[ms - low]
        us = (end - started) // 1000
        try:
            lines.append(
                formatter(
                    when,
                    remote_addr,
                    tenant,
                    _mount(script, root) if script else None,
                    method,
                    path,
                    query,
                    protocol,
                    codes.get(status) or _status_code(status),
                    sent,
                    f"{us // 1000}.{digits[us % 1000]}",
                    request_id,
                )
            )
        except Exception as e:  # a bug here must not cost the line
            lines.append(f"{when} access log formatting failed: {e!r}")
    lines.append("")
    return "\n".join(lines).encode("utf-8", "backslashreplace")


# -- the WSGI stage ------------------------------------------------------------------


class AccessLog:
    """Log every request of ``app`` to ``destination`` and give it an id.

    :param destination: ``"on"``/``"stdout"``, ``"stderr"``, a file path,
        or a :class:`~gateway.dispatch.logsinks.Sink`. A file that cannot be
        opened raises :class:`~gateway.config.ConfigError` here.
    :param format: ``"text"`` or ``"json"``.
    :param trusted: CIDRs of the proxies whose ``X-Request-ID`` is kept
        (``[proxy].trusted``); None trusts nobody.

    A request leaves a record (a tuple of what the line says, read from the
    environ when the response is done); the records are formatted into lines
    when the :class:`~gateway.dispatch.logsinks.Batch` writes them.
    """

    def __init__(
        self,
        app: WSGIApplication,
        destination: str | Sink = "stdout",
        *,
        format: str = "text",
        trusted: t.Iterable[str] | TrustedNetworks | None = None,
    ) -> None:
        if format not in FORMATTERS:
            raise ValueError(
                f"access log format must be one of {', '.join(FORMATS)}, got {format!r}"
            )
        self.app = app
        self.format = format
        self.formatter = FORMATTERS[format]
        self.trusted = (
            trusted
            if isinstance(trusted, TrustedNetworks)
            else TrustedNetworks(list(trusted or ()))
        )
        self.sink = sink_for(destination)
        self.batch = Batch(self.sink, self.render)
        install_record_factory()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        header = environ.get(_HEADER_KEY)
        if header is None:  # new_request_id(), inlined: most requests
            rid = next(_ids) if _ids is not None else _start_ids()
        else:
            rid = choose_request_id(header, environ.get("REMOTE_ADDR"), self.trusted)
        environ[REQUEST_ID_KEY] = rid
        # Dispatch moves a mount's prefix from PATH_INFO to SCRIPT_NAME: the
        # path as it arrived is read now (method, query and protocol stay).
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        request = _Request(start_response, rid)
        current_request_id.set(rid)  # not reset: see current_request_id
        started = perf_counter_ns()
        try:
            body = self.app(environ, request.start_response)
        except BaseException:
            self.record(environ, path, "500", 0, started, rid)
            raise
        if type(body) is list:
            # A buffered response is whole: logged now, and handed to the
            # server as the list it is, which servers send in one piece
            # (granian iterates anything else chunk by chunk).
            # self.record(), inlined: the call is a tenth of the log's cost.
            get = environ.get
            end = perf_counter_ns()
            self.batch.add(
                (
                    started,
                    end,
                    get("REMOTE_ADDR"),
                    get("gateway.tenant"),
                    get("SCRIPT_NAME"),
                    get("gateway.root"),
                    get("REQUEST_METHOD", ""),
                    path,
                    get("QUERY_STRING", ""),
                    get("SERVER_PROTOCOL", ""),
                    request.status,
                    # One chunk, as a rule: len() of it is 800 instructions
                    # less than summing a map.
                    request.sent
                    + (len(body[0]) if len(body) == 1 else sum(map(len, body))),
                    rid,
                ),
                end,
            )
            return body
        return _Streamed(self, request, body, environ, path, started)

    def record(
        self,
        environ: WSGIEnvironment,
        path: str,
        status: str,
        sent: int,
        started: float,
        request_id: str,
    ) -> None:
        """Hand the record of a finished request to the batch."""
        get = environ.get
        end = perf_counter_ns()
        self.batch.add(
            (
                started,
                end,
                get("REMOTE_ADDR"),
                get("gateway.tenant"),
                get("SCRIPT_NAME"),
                get("gateway.root"),
                get("REQUEST_METHOD", ""),
                path,
                get("QUERY_STRING", ""),
                get("SERVER_PROTOCOL", ""),
                status,
                sent,
                request_id,
            ),
            end,
        )

    def render(self, records: list[tuple[t.Any, ...]]) -> bytes:
        """The lines of ``records``, as :meth:`record` made them."""
        # Records hold perf_counter_ns readings; one reading of both clocks
        # turns them into wall time (a time.time() per request would cost
        # more than the rest of its record).
        return render_lines(records, time.time_ns() - perf_counter_ns(), self.formatter)

    def flush(self) -> None:
        """Write the lines that wait now (they are written within
        :data:`~gateway.dispatch.logsinks.BATCH_SECONDS` anyway)."""
        self.batch.flush()

    def __repr__(self) -> str:
        return f"<AccessLog {self.sink.name} format={self.format!r}>"


#: Status lines seen, and their codes: a handful in practice.
_codes: dict[str, int] = {}


def _status_code(status: str) -> int:
    """The code of a status line, 0 when there is none or it is not one."""
    code = _codes.get(status)
    if code is None:
        try:
            code = int(status[:3])
        except ValueError:
            code = 0
        if len(_codes) < 1000:  # a misbehaving application's lines stop here
            _codes[status] = code
    return code


class _Request:
    """The ``start_response`` and ``write`` the application gets: they add
    the request id header, and keep the status line and the bytes written."""

    __slots__ = (
        "server_start_response",
        "server_write",
        "request_id",
        "status",
        "sent",
    )

    def __init__(self, start_response: StartResponse, request_id: str) -> None:
        self.server_start_response = start_response
        self.request_id = request_id
        self.status = ""
        self.sent = 0

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
    ) -> t.Callable[[bytes], object]:
        self.status = status
        # The application's own X-Request-ID gives way. Only a name of its
        # length is lowered: a third of the cost of lowering every name.
        for name, _ in headers:
            if len(name) == _HEADER_LENGTH and name.lower() == _HEADER_LOWER:
                headers = [h for h in headers if h[0].lower() != _HEADER_LOWER]
                break
        headers.append((REQUEST_ID_HEADER, self.request_id))
        self.server_write = self.server_start_response(status, headers, exc_info)
        return self.write

    def write(self, data: bytes) -> object:
        """The ``write`` callable the application gets, counting."""
        self.sent += len(data)
        return self.server_write(data)


class _Streamed:
    """A streamed response body as the server iterates it: counts the
    bytes, and records the request when the server closes it."""

    __slots__ = ("log", "request", "body", "environ", "path", "started", "done")

    def __init__(
        self,
        log: AccessLog,
        request: _Request,
        body: t.Iterable[bytes],
        environ: WSGIEnvironment,
        path: str,
        started: float,
    ) -> None:
        self.log = log
        self.request = request
        self.body = body
        self.environ = environ
        self.path = path
        self.started = started
        self.done = False

    def __iter__(self) -> t.Iterator[bytes]:
        request = self.request
        for chunk in self.body:
            request.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            request = self.request
            self.log.record(
                self.environ,
                self.path,
                request.status,
                request.sent,
                self.started,
                request.request_id,
            )
