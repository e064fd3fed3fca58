"""Sessions: the signed cookie interface, its settings, and the test client's
session_transaction, through real requests."""

from __future__ import annotations

import threading
import time
import typing as t
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from compat_support import FRAMEWORKS
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import parse_date

import gateway
from gateway.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
    session_json_serializer,
)

COOKIE = "session"


def set_cookie_headers(rv: t.Any, name: str = COOKIE) -> list[str]:
    return [h for h in rv.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def parse_set_cookie(header: str) -> tuple[str, dict[str, str | None]]:
    """Split one Set-Cookie header into its value and lower-cased attributes."""
    first, *params = header.split(";")
    value = first.partition("=")[2]
    attrs: dict[str, str | None] = {}
    for param in params:
        key, sep, val = param.strip().partition("=")
        attrs[key.lower()] = val if sep else None
    return value, attrs


def the_cookie(rv: t.Any, name: str = COOKIE) -> tuple[str, dict[str, str | None]]:
    headers = set_cookie_headers(rv, name)
    assert len(headers) == 1, rv.headers.getlist("Set-Cookie")
    return parse_set_cookie(headers[0])


def make_serializer(
    secret: str, signer: type[TimestampSigner] = TimestampSigner
) -> URLSafeTimedSerializer:
    """An independent signer with the documented cookie settings."""
    import hashlib

    return URLSafeTimedSerializer(
        secret,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer=signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


@pytest.fixture
def session_app(app: gateway.App) -> gateway.App:
    """Routes that set, read, clear and inspect the session."""

    @app.route("/set/<key>/<value>")
    def set_value(key: str, value: str) -> str:
        gateway.session[key] = value
        return "set"

    @app.route("/get/<key>")
    def get_value(key: str) -> str:
        return repr(gateway.session.get(key))

    @app.route("/clear")
    def clear() -> str:
        gateway.session.clear()
        return "cleared"

    @app.route("/permanent")
    def permanent() -> str:
        gateway.session["p"] = 1
        gateway.session.permanent = True
        return "permanent"

    @app.route("/untouched")
    def untouched() -> str:
        return "untouched"

    return app


# -- the session objects ------------------------------------------------------


def test_secure_cookie_session_tracks_modified_and_accessed() -> None:
    s = SecureCookieSession({"a": 1})
    assert not s.modified and not s.accessed
    assert s["a"] == 1
    assert s.accessed and not s.modified

    s = SecureCookieSession()
    s.get("x")
    assert s.accessed and not s.modified

    s = SecureCookieSession()
    assert "x" not in s
    assert s.accessed

    s = SecureCookieSession()
    s["x"] = 1
    assert s.modified and s.accessed

    for mutate in (
        lambda s: s.update(b=2),
        lambda s: s.pop("a"),
        lambda s: s.setdefault("c", 3),
        lambda s: s.clear(),
        lambda s: s.__delitem__("a"),
        lambda s: s.popitem(),
    ):
        s = SecureCookieSession({"a": 1})
        mutate(s)
        assert s.modified


def test_permanent_is_stored_in_the_data() -> None:
    s = SecureCookieSession()
    assert s.permanent is False
    s.permanent = 1  # type: ignore[assignment]
    assert s["_permanent"] is True
    assert s.permanent is True
    assert s.modified


def test_mixin_defaults() -> None:
    class DictSession(dict, SessionMixin):  # type: ignore[type-arg]
        pass

    s = DictSession()
    assert (s.new, s.modified, s.accessed, s.permanent) == (False, True, False, False)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s.__setitem__("a", 1), id="setitem"),
        pytest.param(lambda s: s.__delitem__("a"), id="delitem"),
        pytest.param(lambda s: s.clear(), id="clear"),
        pytest.param(lambda s: s.pop("a", None), id="pop"),
        pytest.param(lambda s: s.popitem(), id="popitem"),
        pytest.param(lambda s: s.update(a=1), id="update"),
        pytest.param(lambda s: s.setdefault("a", 1), id="setdefault"),
    ],
)
def test_null_session_refuses_changes_and_names_the_fix(
    mutate: t.Callable[[NullSession], t.Any],
) -> None:
    s = NullSession()
    assert s.get("a") is None and len(s) == 0
    with pytest.raises(RuntimeError, match="no secret key was set.*SECRET_KEY"):
        mutate(s)


def test_interface_hooks_must_be_implemented(app: gateway.App) -> None:
    base = SessionInterface()
    with app.test_request_context():
        with pytest.raises(NotImplementedError):
            base.open_session(app, gateway.request)
        with pytest.raises(NotImplementedError):
            base.save_session(app, SecureCookieSession(), app.response_class())
    assert isinstance(base.make_null_session(app), NullSession)
    assert base.is_null_session(NullSession())
    assert not base.is_null_session(SecureCookieSession())
    assert base.pickle_based is False


# -- round trips ----------------------------------------------------------------


def test_session_survives_between_requests(
    session_app: gateway.App, client: t.Any
) -> None:
    assert client.get("/get/name").data == b"None"
    assert client.get("/set/name/ann").data == b"set"
    assert client.get("/get/name").data == b"'ann'"


def test_cookie_is_signed_with_the_documented_scheme(
    session_app: gateway.App, client: t.Any
) -> None:
    value, _ = the_cookie(client.get("/set/k/v"))
    # An independent itsdangerous serializer with salt "cookie-session",
    # HMAC key derivation and SHA-1 reads it: Flask-compatible cookies.
    assert make_serializer("test key").loads(value) == {"k": "v"}


def test_rich_values_round_trip(app: gateway.App, client: t.Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    u = uuid.uuid4()
    values = {
        "tuple": (1, "two"),
        "bytes": b"\x00\x01",
        "markup": Markup("<b>x</b>"),
        "uuid": u,
        "when": now,
        "nested": {" t": [1]},
    }

    @app.route("/store")
    def store() -> str:
        gateway.session.update(values)
        return ""

    @app.route("/load")
    def load() -> str:
        for key, expected in values.items():
            got = gateway.session[key]
            assert got == expected and type(got) is type(expected), key
        return "ok"

    client.get("/store")
    assert client.get("/load").data == b"ok"


def test_session_payload_keys_are_sorted_by_the_app_provider(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        gateway.session["b"] = 1
        gateway.session["a"] = 2
        return ""

    value, _ = the_cookie(client.get("/"))
    payload = make_serializer("test key", signer=TimestampSigner)
    raw = payload.load_payload(value.split(".")[0].encode())
    assert list(raw) == ["a", "b"]


# -- no secret key ------------------------------------------------------------------


def test_missing_secret_key_reading_gives_an_empty_session(
    session_app: gateway.App, client: t.Any
) -> None:
    session_app.secret_key = None
    rv = client.get("/get/x")
    assert rv.data == b"None"
    assert not set_cookie_headers(rv)


def test_missing_secret_key_writing_raises_a_clear_error(
    session_app: gateway.App, client: t.Any
) -> None:
    session_app.secret_key = None
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/set/a/b")


def test_missing_secret_key_gives_500_not_a_traceback_when_not_testing(
    session_app: gateway.App, client: t.Any
) -> None:
    session_app.secret_key = None
    session_app.testing = False
    rv = client.get("/set/a/b")
    assert rv.status_code == 500
    assert b"Traceback" not in rv.data
    assert b"secret" not in rv.data


def test_missing_secret_key_uses_the_null_session(app: gateway.App) -> None:
    app.secret_key = None
    with app.test_request_context():
        assert isinstance(gateway.session._get_current_object(), NullSession)


# -- bad cookies --------------------------------------------------------------------


def good_cookie(client: t.Any) -> str:
    value, _ = the_cookie(client.get("/set/user/ann"))
    return value


def flip_char(s: str, index: int) -> str:
    c = s[index]
    return s[:index] + ("A" if c != "A" else "B") + s[index + 1 :]


TAMPERINGS = [
    pytest.param(lambda v: flip_char(v, 3), id="payload-changed"),
    pytest.param(lambda v: flip_char(v, -3), id="signature-changed"),
    pytest.param(lambda v: v.rsplit(".", 1)[0], id="signature-removed"),
    pytest.param(lambda v: v + "x", id="signature-extended"),
    pytest.param(lambda v: "garbage", id="garbage"),
    pytest.param(lambda v: "....", id="only-dots"),
    pytest.param(lambda v: "é" * 10, id="non-ascii"),
    pytest.param(
        lambda v: make_serializer("other key").dumps({"user": "admin"}),
        id="signed-with-unknown-key",
    ),
    pytest.param(
        lambda v: URLSafeTimedSerializer("test key", salt="other-salt").dumps(
            {"user": "admin"}
        ),
        id="other-salt",
    ),
]


@pytest.mark.parametrize("tamper", TAMPERINGS)
def test_tampered_cookie_gives_an_empty_session(
    session_app: gateway.App, client: t.Any, tamper: t.Callable[[str], str]
) -> None:
    value = good_cookie(client)
    client.set_cookie(COOKIE, tamper(value))
    rv = client.get("/get/user")
    assert rv.status_code == 200
    assert rv.data == b"None"


def test_undecodable_payload_with_valid_signature_gives_an_empty_session(
    session_app: gateway.App, client: t.Any
) -> None:
    # Only a key holder could make this, but it still must not crash.
    bad_payload = URLSafeTimedSerializer(
        "test key",
        salt="cookie-session",
        signer_kwargs={
            "key_derivation": "hmac",
            "digest_method": __import__("hashlib").sha1,
        },
    )
    signed = bad_payload.make_signer().sign(b"not-base64-json!!")
    client.set_cookie(COOKIE, signed.decode())
    assert client.get("/get/user").data == b"None"
    client.set_cookie(COOKIE, make_serializer("test key").dumps(["not", "a", "dict"]))
    assert client.get("/get/user").data == b"None"


class PastSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


class FutureSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) + 3600


@pytest.mark.parametrize(
    ("signer", "lifetime", "loaded"),
    [
        pytest.param(
            PastSigner, timedelta(minutes=30), False, id="older-than-lifetime"
        ),
        pytest.param(PastSigner, timedelta(hours=2), True, id="within-lifetime"),
        pytest.param(FutureSigner, timedelta(days=31), False, id="from-the-future"),
    ],
)
def test_cookie_age_is_checked_against_permanent_session_lifetime(
    session_app: gateway.App,
    client: t.Any,
    signer: type[TimestampSigner],
    lifetime: timedelta,
    loaded: bool,
) -> None:
    session_app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    client.set_cookie(COOKIE, make_serializer("test key", signer).dumps({"user": "x"}))
    assert client.get("/get/user").data == (b"'x'" if loaded else b"None")


# -- key rotation ---------------------------------------------------------------------


def test_fallback_key_still_opens_old_sessions_and_resigns_them(
    session_app: gateway.App, client: t.Any
) -> None:
    client.set_cookie(COOKIE, make_serializer("old key").dumps({"user": "ann"}))
    session_app.config["SECRET_KEY_FALLBACKS"] = ["older key", "old key"]

    assert client.get("/get/user").data == b"'ann'"

    value, _ = the_cookie(client.get("/set/seen/yes"))
    assert make_serializer("test key").loads(value) == {"user": "ann", "seen": "yes"}
    with pytest.raises(Exception):  # noqa: B017 - any itsdangerous failure
        make_serializer("old key").loads(value)


def test_without_the_fallback_an_old_cookie_is_ignored(
    session_app: gateway.App, client: t.Any
) -> None:
    client.set_cookie(COOKIE, make_serializer("old key").dumps({"user": "ann"}))
    assert client.get("/get/user").data == b"None"


def test_changing_the_secret_key_invalidates_existing_cookies(
    session_app: gateway.App, client: t.Any
) -> None:
    client.get("/set/user/ann")
    assert client.get("/get/user").data == b"'ann'"
    session_app.secret_key = "rotated"
    assert client.get("/get/user").data == b"None"
    session_app.config["SECRET_KEY_FALLBACKS"] = ["test key"]
    assert client.get("/get/user").data == b"'ann'"


def test_bytes_secret_keys_work(session_app: gateway.App, client: t.Any) -> None:
    session_app.secret_key = b"\x00binary key"
    session_app.config["SECRET_KEY_FALLBACKS"] = [b"\x01old"]
    client.get("/set/a/b")
    assert client.get("/get/a").data == b"'b'"


# -- cookie attributes ----------------------------------------------------------------


def test_default_cookie_attributes(session_app: gateway.App, client: t.Any) -> None:
    value, attrs = the_cookie(client.get("/set/a/b"))
    assert value
    assert attrs == {"httponly": None, "path": "/"}


COOKIE_SETTINGS = [
    pytest.param(
        {"SESSION_COOKIE_DOMAIN": "example.com"},
        "domain",
        "example.com",
        id="domain",
    ),
    pytest.param({"SESSION_COOKIE_PATH": "/app"}, "path", "/app", id="path"),
    pytest.param({"APPLICATION_ROOT": "/root"}, "path", "/root", id="path-from-root"),
    pytest.param(
        {"APPLICATION_ROOT": "/root", "SESSION_COOKIE_PATH": "/p"},
        "path",
        "/p",
        id="path-beats-root",
    ),
    pytest.param({"SESSION_COOKIE_SECURE": True}, "secure", None, id="secure"),
    pytest.param(
        {"SESSION_COOKIE_SAMESITE": "Lax"}, "samesite", "Lax", id="samesite-lax"
    ),
    pytest.param(
        {"SESSION_COOKIE_SAMESITE": "Strict"},
        "samesite",
        "Strict",
        id="samesite-strict",
    ),
    pytest.param(
        {"SESSION_COOKIE_PARTITIONED": True, "SESSION_COOKIE_SECURE": True},
        "partitioned",
        None,
        id="partitioned",
    ),
]


@pytest.mark.parametrize(("config", "attr", "expected"), COOKIE_SETTINGS)
def test_cookie_settings_reach_the_header(
    session_app: gateway.App,
    client: t.Any,
    config: dict[str, t.Any],
    attr: str,
    expected: str | None,
) -> None:
    session_app.config.update(config)
    _, attrs = the_cookie(client.get("/set/a/b"))
    assert attr in attrs
    assert attrs[attr] == expected


@pytest.mark.parametrize(
    ("config", "absent"),
    [
        pytest.param({"SESSION_COOKIE_HTTPONLY": False}, "httponly", id="httponly-off"),
        pytest.param({}, "secure", id="secure-off"),
        pytest.param({}, "samesite", id="samesite-off"),
        pytest.param({}, "partitioned", id="partitioned-off"),
        pytest.param({}, "domain", id="no-domain"),
        pytest.param({}, "expires", id="browser-session"),
    ],
)
def test_cookie_attributes_left_out_when_off(
    session_app: gateway.App, client: t.Any, config: dict[str, t.Any], absent: str
) -> None:
    session_app.config.update(config)
    _, attrs = the_cookie(client.get("/set/a/b"))
    assert absent not in attrs


def test_cookie_name_setting(session_app: gateway.App, client: t.Any) -> None:
    session_app.config["SESSION_COOKIE_NAME"] = "sid"
    rv = client.get("/set/a/b")
    assert set_cookie_headers(rv, "sid")
    assert not set_cookie_headers(rv, COOKIE)
    assert client.get("/get/a").data == b"'b'"


# -- expiry and refresh ---------------------------------------------------------------


@pytest.mark.parametrize(
    "lifetime",
    [
        pytest.param(timedelta(days=31), id="default-timedelta"),
        pytest.param(timedelta(hours=1), id="one-hour"),
        pytest.param(600, id="seconds-as-int"),
    ],
)
def test_permanent_session_expires_after_the_lifetime(
    session_app: gateway.App, client: t.Any, lifetime: timedelta | int
) -> None:
    session_app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    seconds = lifetime if isinstance(lifetime, int) else lifetime.total_seconds()
    before = datetime.now(UTC).replace(microsecond=0)
    rv = client.get("/permanent")
    after = datetime.now(UTC)
    _, attrs = the_cookie(rv)
    expires = parse_date(attrs["expires"])
    assert expires is not None
    assert before + timedelta(seconds=seconds) <= expires
    assert expires <= after + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("refresh", "permanent", "cookie_sent"),
    [
        pytest.param(True, True, True, id="refresh-permanent"),
        pytest.param(False, True, False, id="no-refresh-permanent"),
        pytest.param(True, False, False, id="refresh-but-browser-session"),
    ],
)
def test_refresh_each_request(
    session_app: gateway.App,
    client: t.Any,
    refresh: bool,
    permanent: bool,
    cookie_sent: bool,
) -> None:
    session_app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
    client.get("/permanent" if permanent else "/set/a/b")
    rv = client.get("/get/a")  # reads only
    assert bool(set_cookie_headers(rv)) is cookie_sent


def test_unmodified_session_sets_no_cookie(
    session_app: gateway.App, client: t.Any
) -> None:
    client.get("/set/a/b")
    assert not set_cookie_headers(client.get("/get/a"))
    assert not set_cookie_headers(client.get("/untouched"))


def test_in_place_change_needs_modified_flag(app: gateway.App, client: t.Any) -> None:
    @app.route("/init")
    def init() -> str:
        gateway.session["items"] = []
        return ""

    @app.route("/append/<flag>")
    def append(flag: str) -> str:
        gateway.session["items"].append(flag)
        if flag == "marked":
            gateway.session.modified = True
        return ""

    @app.route("/items")
    def items() -> str:
        return ",".join(gateway.session["items"])

    client.get("/init")
    client.get("/append/silent")
    assert client.get("/items").data == b""
    client.get("/append/marked")
    assert client.get("/items").data == b"marked"


# -- deletion and Vary ----------------------------------------------------------------


def test_emptied_session_deletes_the_cookie(
    session_app: gateway.App, client: t.Any
) -> None:
    session_app.config.update(
        SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN="example.com"
    )
    client.get("/set/a/b", base_url="http://x.example.com")
    rv = client.get("/clear", base_url="http://x.example.com")
    value, attrs = the_cookie(rv)
    assert value == ""
    assert attrs["max-age"] == "0"
    assert parse_date(attrs["expires"]) < datetime.now(UTC)
    assert attrs["domain"] == "example.com"
    assert attrs["path"] == "/"
    assert "Cookie" in rv.headers["Vary"]
    assert client.get_cookie(COOKIE, domain="example.com") is None


@pytest.mark.parametrize(
    ("path", "vary"),
    [
        pytest.param("/get/a", True, id="read"),
        pytest.param("/set/a/b", True, id="write"),
        pytest.param("/contains", True, id="membership-test"),
        pytest.param("/untouched", False, id="not-used"),
    ],
)
def test_vary_cookie_when_the_session_was_used(
    session_app: gateway.App, client: t.Any, path: str, vary: bool
) -> None:
    @session_app.route("/contains")
    def contains() -> str:
        return str("a" in gateway.session)

    rv = client.get(path)
    assert ("Cookie" in rv.headers.get("Vary", "")) is vary


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_accessed_and_modified_after_the_response_tell_what_the_view_did(fw):
    # Saving reads the session (its length, its items); that is no use by the
    # app: after the response ``accessed`` says whether the view read it, as
    # in Flask, where code (Flask's own tests) looks at it through the kept
    # request context.
    app = fw.App("flags")
    app.secret_key = "test key"
    app.add_url_rule("/untouched", "untouched", lambda: "")
    app.add_url_rule("/read", "read", lambda: fw.F.session.get("k", "-"))

    @app.route("/write")
    def write() -> str:
        fw.F.session["k"] = "v"
        return ""

    request_ctx = fw.sub("globals").request_ctx
    client = app.test_client()
    seen = []
    for path in ["/untouched", "/write", "/read", "/untouched"]:
        with client:
            rv = client.get(path)
            sess = request_ctx._session
            seen.append((path, sess.accessed, sess.modified, "cookie" in rv.vary))
    assert seen == [
        ("/untouched", False, False, False),
        ("/write", True, True, True),
        ("/read", True, False, True),
        ("/untouched", False, False, False),
    ]


def test_vary_cookie_when_a_template_reads_the_session(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        return gateway.render_template_string("{{ session.get('user') }}")

    assert "Cookie" in client.get("/").headers["Vary"]


def test_vary_cookie_is_added_to_an_existing_vary(
    session_app: gateway.App, client: t.Any
) -> None:
    @session_app.route("/accept")
    def accept() -> t.Any:
        gateway.session.get("x")
        return "", {"Vary": "Accept-Encoding"}

    vary = client.get("/accept").headers["Vary"]
    assert {v.strip() for v in vary.split(",")} == {"Accept-Encoding", "Cookie"}


# -- session_transaction ----------------------------------------------------------------


def test_session_transaction_sets_values_for_the_next_request(
    session_app: gateway.App, client: t.Any
) -> None:
    with client.session_transaction() as sess:
        sess["user"] = "from-test"
    assert client.get("/get/user").data == b"'from-test'"


def test_session_transaction_reads_what_requests_stored(
    session_app: gateway.App, client: t.Any
) -> None:
    client.get("/set/user/ann")
    with client.session_transaction() as sess:
        assert sess["user"] == "ann"
        sess["user"] = "bob"
        sess.permanent = True
    assert client.get("/get/user").data == b"'bob'"


def test_session_transaction_without_secret_key_fails_clearly(
    session_app: gateway.App, client: t.Any
) -> None:
    session_app.secret_key = None
    with pytest.raises(RuntimeError, match="[Ss]ession"):
        with client.session_transaction():
            pass


def test_session_is_visible_after_request_with_kept_context(
    session_app: gateway.App, client: t.Any
) -> None:
    with client:
        client.get("/set/user/ann")
        assert gateway.session["user"] == "ann"


# -- custom interfaces ------------------------------------------------------------------


def test_custom_session_interface_is_used(app: gateway.App, client: t.Any) -> None:
    """A server-side store keyed by an unsigned id, as the interface allows."""

    class ServerSession(dict, SessionMixin):  # type: ignore[type-arg]
        def __init__(self, sid: str, data: dict[str, t.Any] | None = None) -> None:
            super().__init__(data or {})
            self.sid = sid

    store: dict[str, dict[str, t.Any]] = {}

    class StoreInterface(SessionInterface):
        def open_session(self, app: t.Any, request: t.Any) -> ServerSession:
            sid = request.cookies.get("sid") or uuid.uuid4().hex
            return ServerSession(sid, store.get(sid))

        def save_session(self, app: t.Any, session: t.Any, response: t.Any) -> None:
            store[session.sid] = dict(session)
            response.set_cookie("sid", session.sid)

    app.session_interface = StoreInterface()

    @app.route("/<n>")
    def bump(n: str) -> str:
        gateway.session["n"] = gateway.session.get("n", 0) + int(n)
        return str(gateway.session["n"])

    assert client.get("/2").data == b"2"
    assert client.get("/3").data == b"5"
    assert list(store.values()) == [{"n": 5}]


def test_open_session_returning_none_gives_a_null_session(
    app: gateway.App, client: t.Any
) -> None:
    class Refusing(SecureCookieSessionInterface):
        def open_session(self, app: t.Any, request: t.Any) -> None:
            return None

    app.session_interface = Refusing()

    @app.route("/")
    def index() -> str:
        return type(gateway.session._get_current_object()).__name__

    assert client.get("/").data == b"NullSession"


def test_subclass_can_change_salt(app: gateway.App, client: t.Any) -> None:
    class Salted(SecureCookieSessionInterface):
        salt = "tenant-a"

    app.session_interface = Salted()

    @app.route("/")
    def index() -> str:
        gateway.session["x"] = 1
        return ""

    value, _ = the_cookie(client.get("/"))
    with pytest.raises(Exception):  # noqa: B017
        make_serializer("test key").loads(value)
    assert Salted().get_signing_serializer(app).loads(value) == {"x": 1}  # type: ignore[union-attr]


def test_signing_serializer_is_reused_for_the_same_settings(app: gateway.App) -> None:
    iface = SecureCookieSessionInterface()
    first = iface.get_signing_serializer(app)
    assert iface.get_signing_serializer(app) is first
    app.config["SECRET_KEY_FALLBACKS"] = ["old"]
    assert iface.get_signing_serializer(app) is not first
    app.secret_key = ""
    assert iface.get_signing_serializer(app) is None


def test_apps_sharing_the_interface_keep_their_own_keys() -> None:
    apps = []
    for key in ("key-a", "key-b"):
        a = gateway.App(__name__)
        a.secret_key = key

        @a.route("/set")
        def set_user() -> str:
            gateway.session["user"] = gateway.current_app.secret_key
            return ""

        @a.route("/get")
        def get_user() -> str:
            return str(gateway.session.get("user"))

        apps.append(a)

    assert apps[0].session_interface is apps[1].session_interface
    c = apps[0].test_client()
    c.get("/set")
    cookie = c.get_cookie(COOKIE).value
    other = apps[1].test_client()
    other.set_cookie(COOKIE, cookie)
    assert other.get("/get").data == b"None"
    assert c.get("/get").data == b"key-a"


def test_concurrent_clients_keep_separate_sessions(session_app: gateway.App) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        c = session_app.test_client()
        for i in range(20):
            c.get(f"/set/who/{n}-{i}")
            got = c.get("/get/who").data
            if got != f"'{n}-{i}'".encode():
                errors.append(f"{n}: {got!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_serializer_cache_stays_bounded_and_correct() -> None:
    iface = SecureCookieSessionInterface()
    iface._serializer_cache_size = 2
    apps = []
    for n in range(4):
        a = gateway.App(f"bounded_{n}")
        a.secret_key = f"key-{n}"
        apps.append(a)
    tokens = [
        iface.get_signing_serializer(a).dumps({"n": n}) for n, a in enumerate(apps)
    ]  # type: ignore[union-attr]
    assert len(iface._serializers) == 2  # type: ignore[attr-defined]
    for n, a in enumerate(apps):
        assert iface.get_signing_serializer(a).loads(tokens[n]) == {"n": n}  # type: ignore[union-attr]


def test_other_digest_methods_sign_like_plain_itsdangerous(
    app: gateway.App, client: t.Any
) -> None:
    import hashlib

    class Sha256(SecureCookieSessionInterface):
        digest_method = staticmethod(hashlib.sha256)

    app.session_interface = Sha256()

    @app.route("/<v>")
    def store(v: str) -> str:
        old = gateway.session.get("v")
        gateway.session["v"] = v
        return str(old)

    value, _ = the_cookie(client.get("/one"))
    plain = URLSafeTimedSerializer(
        "test key",
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    assert plain.loads(value) == {"v": "one"}
    client.set_cookie(COOKIE, plain.dumps({"v": "from-plain"}))
    assert client.get("/two").data == b"from-plain"


class _OwnVary(gateway.Response):
    @property
    def vary(self):  # type: ignore[no-untyped-def,override]
        from werkzeug.datastructures import HeaderSet

        return HeaderSet(
            ["Own"], on_update=lambda s: self.headers.set("Vary", "Own, Cookie")
        )


@pytest.mark.parametrize(
    ("make", "headers"),
    [
        pytest.param(gateway.Response, [], id="no headers"),
        pytest.param(gateway.Response, [("X-A", "1")], id="no Vary"),
        pytest.param(gateway.Response, [("Vary", "Accept")], id="Vary: Accept"),
        pytest.param(gateway.Response, [("vary", "cookie")], id="vary: cookie"),
        pytest.param(gateway.Response, [("VARY", "*")], id="VARY: *"),
        pytest.param(gateway.Response, [("Vary", "")], id="an empty Vary"),
        pytest.param(
            gateway.Response,
            [("Vary", "Accept"), ("X", "1"), ("Vary", "Origin")],
            id="two Vary headers",
        ),
        pytest.param(_OwnVary, [], id="a response class with its own vary"),
    ],
)
def test_vary_cookie_is_werkzeugs(make: t.Any, headers: list[tuple[str, str]]) -> None:
    from gateway.sessions import _vary_cookie

    fast, slow = make("x", headers=headers), make("x", headers=headers)
    _vary_cookie(fast)
    slow.vary.add("Cookie")
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()


def test_vary_cookie_with_a_headers_subclass_goes_through_werkzeug() -> None:
    from werkzeug.datastructures import Headers

    from gateway.sessions import _vary_cookie

    class Recording(Headers):
        sets: t.ClassVar[list[tuple[str, str]]] = []

        def set(self, key: str, value: t.Any, /, **kw: t.Any) -> None:
            self.sets.append((key, value))
            super().set(key, value, **kw)

    response = gateway.Response("x")
    response.headers = Recording(response.headers)
    _vary_cookie(response)
    assert Recording.sets == [("Vary", "Cookie")]
    assert response.headers["Vary"] == "Cookie"


class _OwnSetCookie(gateway.Response):
    def set_cookie(self, key: str, value: str = "", **kwargs: t.Any) -> None:  # type: ignore[override]
        super().set_cookie(key, value.upper(), **kwargs)


_ATTRS: dict[str, t.Any] = {
    "httponly": True,
    "domain": None,
    "path": "/",
    "secure": False,
    "partitioned": False,
    "samesite": None,
}


@pytest.mark.parametrize(
    ("cls", "name", "value", "changes"),
    [
        pytest.param(
            gateway.Response, "session", "eyJhIjoxfQ.Z1.x-_y", {}, id="a session"
        ),
        pytest.param(gateway.Response, "session", "", {}, id="empty value"),
        pytest.param(gateway.Response, "session", "a b;c", {}, id="value to quote"),
        pytest.param(gateway.Response, "session", "ü", {}, id="non-ascii value"),
        pytest.param(gateway.Response, "sessión", "v", {}, id="non-ascii name"),
        pytest.param(
            gateway.Response,
            "s",
            "v",
            {
                "domain": ".Example.com:8000",
                "path": "/a b/ü",
                "secure": True,
                "httponly": False,
                "samesite": "lax",
                "partitioned": True,
            },
            id="every attribute",
        ),
        pytest.param(
            gateway.Response,
            "s",
            "v",
            {"expires": datetime(2030, 1, 2, tzinfo=UTC)},
            id="permanent",
        ),
        pytest.param(_OwnSetCookie, "s", "v", {}, id="a class with its own set_cookie"),
    ],
)
def test_session_cookie_header_is_werkzeugs(
    cls: t.Any, name: str, value: str, changes: dict[str, t.Any]
) -> None:
    from gateway.sessions import _set_cookie

    attrs = {**_ATTRS, **changes}
    expires = attrs.pop("expires", None)
    for _ in range(2):  # building the cached frame, then using it
        fast, slow = cls("x"), cls("x")
        _set_cookie(fast, name, value, expires=expires, **attrs)
        slow.set_cookie(name, value, expires=expires, **attrs)
        assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()


def test_session_cookie_over_the_size_limit_warns_as_werkzeug() -> None:
    from gateway.sessions import _set_cookie

    fast, slow = gateway.Response("x"), gateway.Response("x")
    with pytest.warns(UserWarning, match="cookie is too large") as ours:
        _set_cookie(fast, "s", "v" * 5000, expires=None, **_ATTRS)
    with pytest.warns(UserWarning, match="cookie is too large") as theirs:
        slow.set_cookie("s", "v" * 5000, **_ATTRS)
    assert str(ours[0].message) == str(theirs[0].message)
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()


def test_session_cookie_with_a_bad_samesite_fails_as_werkzeug() -> None:
    from gateway.sessions import _set_cookie

    attrs = {**_ATTRS, "samesite": "sometimes"}
    with pytest.raises(ValueError, match="SameSite") as ours:
        _set_cookie(gateway.Response("x"), "s", "v", expires=None, **attrs)
    with pytest.raises(ValueError, match="SameSite") as theirs:
        gateway.Response("x").set_cookie("s", "v", **attrs)
    assert str(ours.value) == str(theirs.value)
