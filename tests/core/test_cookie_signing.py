"""gateway.signing.CookieSerializer against itsdangerous: the same cookies, and
for every cookie the same answer (the data, or the same error)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import typing as t
import uuid
from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes
from markupsafe import Markup

from gateway.sessions import SecureCookieSessionInterface, session_json_serializer
from gateway.signing import CookieSerializer

NOW = 1_800_000_000
MAX_AGE = 31 * 86400
SALT = "cookie-session"


def reference(keys: list[str]) -> URLSafeTimedSerializer:
    """itsdangerous as Flask configures it for the session cookie."""
    return URLSafeTimedSerializer(
        keys,
        salt=SALT,
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def ours(keys: list[str]) -> CookieSerializer:
    """gateway's serializer, built as the session interface builds it."""
    app = t.cast(t.Any, type("A", (), {}))()
    app.secret_key = keys[-1]
    app.config = {"SECRET_KEY_FALLBACKS": keys[:-1]}
    rv = SecureCookieSessionInterface().get_signing_serializer(app)
    assert isinstance(rv, CookieSerializer)
    return rv


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW + 0.25)


def outcome(
    fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
) -> tuple[str, t.Any]:
    """What ``fn(*args, **kwargs)`` answers: its data, or its error's class
    and message."""
    try:
        return ("data", fn(*args, **kwargs))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def sign_raw(key: str, payload: bytes, stamp: bytes | None = None) -> str:
    """A cookie with any payload and timestamp bytes, correctly signed under
    ``key``."""
    derived = hmac.digest(key.encode(), SALT.encode(), "sha1")
    if stamp is None:
        stamp = base64_encode(int_to_bytes(NOW))
    value = payload + b"." + stamp
    return (value + b"." + base64_encode(hmac.digest(derived, value, "sha1"))).decode()


def signed_at(key: str, data: t.Any, when: int) -> str:
    """A cookie signed by itsdangerous at time ``when``."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(time, "time", lambda: when)
        return reference([key]).dumps(data)


def flip(token: str, index: int) -> str:
    """``token`` with the character at ``index`` changed."""
    char = "B" if token[index] != "B" else "C"
    return token[:index] + char + token[index + 1 :]


def cookie(case: str) -> str:
    """The cookie each row of the table presents."""
    good = reference(["new"]).dumps({"user": 7})
    payload, stamp, signature = good.split(".")
    big = {"text": "x" * 500, "n": list(range(50))}
    return {
        "current key": good,
        "old key, still a fallback": reference(["old"]).dumps({"user": 7}),
        "unknown key": reference(["stranger"]).dumps({"user": 7}),
        "compressed payload": reference(["new"]).dumps(big),
        "tampered payload": f"{flip(payload, 3)}.{stamp}.{signature}",
        "tampered timestamp": f"{payload}.{flip(stamp, 1)}.{signature}",
        "tampered signature": f"{payload}.{stamp}.{flip(signature, 5)}",
        "truncated signature": good[:-4],
        "signature not base64": f"{payload}.{stamp}.!!!",
        "signature not ascii": f"{payload}.{stamp}.é{signature}",
        "no separator": payload,
        "no timestamp": sign_raw("new", payload.encode()).split(".", 1)[1],
        "empty": "",
        "only dots": "..",
        "expired": signed_at("new", {"user": 7}, NOW - MAX_AGE - 1),
        "exactly max age": signed_at("new", {"user": 7}, NOW - MAX_AGE),
        "from the future": signed_at("new", {"user": 7}, NOW + 60),
        "timestamp too long": sign_raw("new", b"e30", base64_encode(b"\x01" * 12)),
        "timestamp not base64": sign_raw("new", b"e30", b"A"),
        "payload not base64": sign_raw("new", b"@@@@"),
        "payload not zlib": sign_raw("new", b"." + base64_encode(b"not zlib")),
        "payload not JSON": sign_raw("new", base64_encode(b"{nope")),
        "payload a list": sign_raw("new", base64_encode(b"[1,2]")),
        "other salt": URLSafeTimedSerializer("new", salt="other").dumps({"u": 1}),
    }[case]


CASES = [
    "current key",
    "old key, still a fallback",
    "unknown key",
    "compressed payload",
    "tampered payload",
    "tampered timestamp",
    "tampered signature",
    "truncated signature",
    "signature not base64",
    "signature not ascii",
    "no separator",
    "no timestamp",
    "empty",
    "only dots",
    "expired",
    "exactly max age",
    "from the future",
    "timestamp too long",
    "timestamp not base64",
    "payload not base64",
    "payload not zlib",
    "payload not JSON",
    "payload a list",
    "other salt",
]

KEYRINGS = [
    pytest.param(["new"], id="one key"),
    pytest.param(["old", "new"], id="rotated, old as fallback"),
    pytest.param(["new", "old"], id="rolled back, new as fallback"),
]


@pytest.mark.parametrize("keys", KEYRINGS)
@pytest.mark.parametrize("case", CASES)
def test_loads_answers_as_itsdangerous(case: str, keys: list[str]) -> None:
    token = cookie(case)
    for max_age in (MAX_AGE, None):
        expected = outcome(reference(keys).loads, token, max_age=max_age)
        assert outcome(ours(keys).loads, token, max_age=max_age) == expected
        assert outcome(ours(keys).loads, token.encode(), max_age=max_age) == expected


def test_loads_table_covers_acceptance_and_each_error() -> None:
    """The table above is not vacuous: it has cookies accepted and cookies
    refused for each reason itsdangerous gives."""
    kinds = {
        outcome(reference(["old", "new"]).loads, cookie(c), max_age=MAX_AGE)[0]
        for c in CASES
    }
    assert kinds == {
        "data",
        "BadSignature",
        "BadTimeSignature",
        "SignatureExpired",
        "BadPayload",
    }


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="empty"),
        pytest.param({"count": 1}, id="small"),
        pytest.param({"_permanent": True, "user": "ü"}, id="unicode"),
        pytest.param({"t": (1, 2), "b": b"\x00\xff", "m": Markup("<b>")}, id="tagged"),
        pytest.param(
            {"u": uuid.UUID(int=5), "d": datetime(2026, 1, 2, tzinfo=UTC)},
            id="uuid and datetime",
        ),
        pytest.param({"text": "x" * 500}, id="compressed"),
    ],
)
@pytest.mark.parametrize("keys", KEYRINGS)
def test_dumps_is_byte_for_byte_itsdangerous(data: t.Any, keys: list[str]) -> None:
    token = ours(keys).dumps(data)
    assert token == reference(keys).dumps(data)
    assert ours(keys).loads(token, max_age=MAX_AGE) == data


def test_other_salts_and_timestamps_go_through_itsdangerous() -> None:
    s = ours(["new"])
    other = URLSafeTimedSerializer(
        "new",
        salt="elsewhere",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    token = s.dumps({"a": 1}, salt="elsewhere")
    assert token == other.dumps({"a": 1})
    assert s.loads(token, salt="elsewhere") == {"a": 1}
    data, when = s.loads(s.dumps({"a": 1}), return_timestamp=True)
    assert (data, when) == ({"a": 1}, datetime.fromtimestamp(NOW, UTC))


def test_signature_is_hmac_sha1_of_the_derived_key() -> None:
    """The format itself, spelled out without itsdangerous."""
    token = ours(["new"]).dumps({"a": 1})
    payload, stamp, signature = token.split(".")
    assert base64.urlsafe_b64decode(payload + "==") == b'{"a":1}'
    assert int.from_bytes(base64.urlsafe_b64decode(stamp + "===="), "big") == NOW
    key = hmac.digest(b"new", SALT.encode(), "sha1")
    mac = hmac.digest(key, f"{payload}.{stamp}".encode(), "sha1")
    assert signature == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
