"""Sessions: per-user data kept between requests.

The default :class:`SecureCookieSessionInterface` stores the whole session in a
cookie signed with the application's secret key (via :mod:`itsdangerous`): the
client can read it but cannot change it. Any other storage plugs in by
assigning a :class:`SessionInterface` subclass to ``app.session_interface``.
"""

from __future__ import annotations

import collections.abc as cabc
import hmac
import re
import typing as t
from collections.abc import MutableMapping
from datetime import UTC, datetime

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.signer import HMACAlgorithm
from werkzeug.datastructures import CallbackDict, Headers
from werkzeug.http import dump_cookie
from werkzeug.sansio.response import Response as _SansioResponse

from .json.tag import TaggedJSONSerializer
from .signing import CookieSerializer, _lazy_sha1, hmac_digestmod

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App
    from .wrappers import Request, Response


class SessionMixin(MutableMapping[str, t.Any]):
    """The attributes every session object has on top of the mapping API."""

    @property
    def permanent(self) -> bool:
        """Whether the session outlives the browser session (lasting
        ``PERMANENT_SESSION_LIFETIME``); stored as the ``_permanent`` key.
        """
        return self.get("_permanent", False)  # type: ignore[no-any-return]

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was created for this request. Backends that cannot
    #: tell keep this ``False``.
    new = False

    #: Whether the data changed; backends that cannot tell say ``True`` so the
    #: session is always saved.
    modified = True

    #: Whether the session was read or written during the request. When set,
    #: the response gets ``Vary: Cookie`` so caches keep responses apart per
    #: user. The request context sets it whenever the session is looked up.
    accessed = False


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """The session of :class:`SecureCookieSessionInterface`: a dict that
    records writes in :attr:`modified` and reads in :attr:`accessed`.

    Only the session mapping itself is watched. After mutating a value in
    place (appending to a list stored in the session, say) set
    ``session.modified = True`` or the change is not saved.
    """

    #: Set when the session is changed; the cookie is only rewritten then
    #: (or on every request for permanent sessions with
    #: ``SESSION_REFRESH_EACH_REQUEST``).
    modified = False

    #: Set when a key is read or written.
    accessed = False

    def __init__(self, initial: cabc.Mapping[str, t.Any] | None = None) -> None:
        def on_update(self: SecureCookieSession) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().setdefault(key, default)

    # Membership, size and iteration are reads too: a page that only checks
    # ``"user" in session`` still depends on the cookie.

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> t.Iterator[str]:
        self.accessed = True
        return super().__iter__()


class NullSession(SecureCookieSession):
    """The stand-in session used when no real one can be opened, typically
    because the application has no secret key. Reading works (it is empty);
    any change raises a :exc:`RuntimeError` that says how to fix it.
    """

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set"
            " app.secret_key (the SECRET_KEY config value) to a long random"
            " string, for example the output of"
            " 'python -c \"import secrets; print(secrets.token_hex())\"'."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    del _fail


class SessionInterface:
    """How an application loads and stores sessions.

    Subclasses implement :meth:`open_session` and :meth:`save_session`; the
    cookie helpers read the ``SESSION_COOKIE_*`` settings and rarely need
    changing. The session object returned must be a mapping with the
    :class:`SessionMixin` attributes, for example::

        class Session(dict, SessionMixin):
            pass

    When :meth:`open_session` returns ``None`` the application uses
    :meth:`make_null_session` instead. Requests of one user can run
    concurrently and open/save in any order; a backend with shared storage
    has to cope with that.
    """

    #: The class :meth:`make_null_session` instantiates and
    #: :meth:`is_null_session` checks for.
    null_session_class = NullSession

    #: Tells extensions whether the backend pickles the session data.
    pickle_based = False

    def make_null_session(self, app: App) -> NullSession:
        """Create the stand-in session used when opening a real one failed."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is a null session (such sessions are never saved)."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: App) -> str:
        """The cookie's name: ``SESSION_COOKIE_NAME``."""
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]

    def get_cookie_domain(self, app: App) -> str | None:
        """The cookie's ``Domain`` attribute: ``SESSION_COOKIE_DOMAIN``.

        ``None`` (the default) leaves it out, so browsers send the cookie back
        to the exact host only; a domain also covers its subdomains.
        """
        return app.config["SESSION_COOKIE_DOMAIN"]  # type: ignore[no-any-return]

    def get_cookie_path(self, app: App) -> str:
        """The cookie's ``Path``: ``SESSION_COOKIE_PATH``, else
        ``APPLICATION_ROOT``.
        """
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]  # type: ignore[no-any-return]

    def get_cookie_httponly(self, app: App) -> bool:
        """Whether to hide the cookie from scripts: ``SESSION_COOKIE_HTTPONLY``."""
        return app.config["SESSION_COOKIE_HTTPONLY"]  # type: ignore[no-any-return]

    def get_cookie_secure(self, app: App) -> bool:
        """Whether to send the cookie over HTTPS only: ``SESSION_COOKIE_SECURE``."""
        return app.config["SESSION_COOKIE_SECURE"]  # type: ignore[no-any-return]

    def get_cookie_samesite(self, app: App) -> str | None:
        """The ``SameSite`` attribute (``"Strict"``, ``"Lax"`` or ``None``):
        ``SESSION_COOKIE_SAMESITE``.
        """
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

    def get_cookie_partitioned(self, app: App) -> bool:
        """Whether to mark the cookie ``Partitioned`` (CHIPS):
        ``SESSION_COOKIE_PARTITIONED``.
        """
        return app.config["SESSION_COOKIE_PARTITIONED"]  # type: ignore[no-any-return]

    def get_expiration_time(self, app: App, session: SessionMixin) -> datetime | None:
        """When the cookie expires: now plus ``PERMANENT_SESSION_LIFETIME`` for
        a permanent session, ``None`` (end of the browser session) otherwise.
        """
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: App, session: SessionMixin) -> bool:
        """Whether this response must carry the session cookie: when the
        session was modified, or when it is permanent and
        ``SESSION_REFRESH_EACH_REQUEST`` is on (renewing its expiry).
        """
        return session.modified or (
            session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        )

    def open_session(self, app: App, request: Request) -> SessionMixin | None:
        """Load the session for ``request``.

        Called when the request context is pushed, before URL matching.
        Return ``None`` when sessions cannot work at all (the application then
        uses :meth:`make_null_session`).
        """
        raise NotImplementedError()

    def save_session(self, app: App, session: SessionMixin, response: Response) -> None:
        """Persist ``session``, typically by setting a cookie on ``response``.

        Called after the response is built and the after-request functions
        ran; skipped for null sessions.
        """
        raise NotImplementedError()


#: The serializer of the session payload, shared by every interface instance.
session_json_serializer = TaggedJSONSerializer()


class _SessionHMAC(HMACAlgorithm):
    """HMAC signatures computed by :func:`hmac.digest` (one C call)."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, hmac_digestmod(self.digest_method))


def _bounded_put(
    cache: dict[t.Any, t.Any], key: t.Any, value: t.Any, size: int
) -> None:
    """Store ``key`` and drop the oldest entries beyond ``size``.

    Safe without a lock: concurrent callers may at worst drop one entry too
    many, which only costs a rebuild.
    """
    cache[key] = value
    while len(cache) > size:
        try:
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):
            break


# Derived signing keys, shared by every signer: deriving one costs an HMAC,
# and the same few (secret key, salt) pairs are used on every request.
_derived_keys: dict[tuple[t.Any, ...], bytes] = {}
_DERIVED_KEYS_MAX = 1024


class _SessionSigner(TimestampSigner):
    """A :class:`~itsdangerous.TimestampSigner` that derives each key once.

    Signatures are byte-for-byte those of the plain signer.
    """

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        if secret_key is None:
            secret_key = self.secret_keys[-1]
        elif isinstance(secret_key, str):
            secret_key = secret_key.encode("utf-8")
        cache_key = (secret_key, self.salt, self.key_derivation, self.digest_method)
        rv = _derived_keys.get(cache_key)
        if rv is None:
            if self.key_derivation == "hmac":
                rv = hmac.digest(
                    secret_key, self.salt, hmac_digestmod(self.digest_method)
                )
            else:
                rv = super().derive_key(secret_key)
            _bounded_put(_derived_keys, cache_key, rv, _DERIVED_KEYS_MAX)
        return rv


def _vary_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``.

    When the response has no ``Vary`` header yet (nearly always) that call
    appends ``("Vary", "Cookie")`` to the header list, after two failed
    lookups that each build a ``BadRequestKeyError`` and a header set that is
    parsed and serialised again: about 250 bytecodes, 5% of a session round
    trip. The header is appended directly then; anything else goes through
    Werkzeug."""
    headers = response.headers
    if type(headers) is Headers and type(response).vary is _SansioResponse.vary:
        for key, _value in headers._list:
            if key.lower() == "vary":
                break
        else:
            headers._list.append(("Vary", "Cookie"))
            return
    response.vary.add("Cookie")


# Values dump_cookie leaves as they are (a subset of what it does not quote):
# a signed session cookie is URL-safe base64 and dots.
_PLAIN_COOKIE_VALUE = re.compile(r"[\w.\-]*", re.ASCII)
# (name and attributes) -> the Set-Cookie header around the value, or None
# when Werkzeug must build it (see _set_cookie).
_cookie_frames: dict[tuple[t.Any, ...], tuple[str, str] | None] = {}


def _set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    expires: datetime | None,
    **attributes: t.Any,
) -> None:
    """``response.set_cookie(name, value, expires=expires, **attributes)``.

    For a cookie without expiry (not permanent) and a plain value, the header
    is the value between a head and a tail that depend only on the name and
    attributes, so Werkzeug's ``dump_cookie`` builds them once and they are
    reused (building the header each time was about 230 bytecodes, 5% of a
    session round trip). The same header; anything else (expiry, a value to
    quote, a header over ``max_cookie_size``, which Werkzeug warns about, an
    overridden ``set_cookie`` or header class) goes through Werkzeug."""
    headers = response.headers
    if (
        expires is None
        and type(headers) is Headers
        and type(response).set_cookie is _SansioResponse.set_cookie
        and _PLAIN_COOKIE_VALUE.fullmatch(value) is not None
    ):
        key = (name, *sorted(attributes.items()))
        try:
            frame = _cookie_frames[key]
        except KeyError:
            header = dump_cookie(name, "", max_size=0, **attributes)
            head = name.encode().decode("latin1") + "="
            frame = None
            if header.startswith(head) and "\n" not in header and "\r" not in header:
                frame = (head, header[len(head) :])
            _bounded_put(_cookie_frames, key, frame, 256)
        if frame is not None:
            header = frame[0] + value + frame[1]
            max_size = response.max_cookie_size
            if not max_size or len(header) <= max_size:
                headers._list.append(("Set-Cookie", header))
                return
    response.set_cookie(name, value, expires=expires, **attributes)


class SecureCookieSessionInterface(SessionInterface):
    """Sessions stored in a cookie signed by :mod:`itsdangerous`.

    The payload is tagged JSON (:class:`~gateway.json.tag.TaggedJSONSerializer`)
    with a timestamp, signed with HMAC-SHA1 under a key derived from
    ``SECRET_KEY`` and :attr:`salt`. Cookies signed with one of
    ``SECRET_KEY_FALLBACKS`` still load (key rotation) and are re-signed with
    the current key when next saved. A cookie that does not verify, does not
    parse, or is older than ``PERMANENT_SESSION_LIFETIME`` gives an empty
    session, never an error.
    """

    #: Mixed into the key so the session signature is useless anywhere else.
    salt = "cookie-session"
    #: The hash used by the signature (SHA-1, looked up lazily).
    digest_method = staticmethod(_lazy_sha1)
    #: The itsdangerous key derivation method.
    key_derivation = "hmac"
    #: Serializes the payload: JSON plus tuples, bytes, Markup, UUID, datetime.
    serializer = session_json_serializer
    #: The class of the sessions this interface opens.
    session_class = SecureCookieSession

    # Building a serializer (key list, signer options) on every request is
    # measurable; identical settings give identical serializers, so they are
    # kept per settings. Many applications (tenants) may share this interface,
    # hence the bound.
    _serializer_cache_size = 256

    def get_signing_serializer(self, app: App) -> URLSafeTimedSerializer | None:
        """The serializer that signs and verifies this application's cookies,
        or ``None`` when the application has no secret key.
        """
        secret_key = app.secret_key
        if not secret_key:
            return None

        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        cache_key = (
            secret_key,
            tuple(fallbacks),
            self.salt,
            self.key_derivation,
            self.digest_method,
            self.serializer,
        )
        cache: dict[tuple[t.Any, ...], URLSafeTimedSerializer]
        cache = self.__dict__.get("_serializers")  # type: ignore[assignment]  # None is handled next
        if cache is None:
            cache = self.__dict__["_serializers"] = {}
        else:
            rv = cache.get(cache_key)
            if rv is not None:
                return rv

        # itsdangerous signs with the last key and verifies with all of them.
        keys: list[str | bytes] = [*fallbacks, secret_key]
        rv = CookieSerializer(
            keys,
            salt=self.salt,
            serializer=self.serializer,
            signer=_SessionSigner,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
                "algorithm": _SessionHMAC(self.digest_method),
            },
        )
        _bounded_put(cache, cache_key, rv, self._serializer_cache_size)
        return rv

    def open_session(self, app: App, request: Request) -> SecureCookieSession | None:
        """Load the session from the request's cookie; an absent, forged,
        corrupt or expired cookie gives a new empty session.
        """
        s = self.get_signing_serializer(app)
        if s is None:
            return None

        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()

        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = s.loads(val, max_age=max_age)
        except BadData:
            # Bad signature, expired timestamp, or a payload that does not
            # decode: the client gets a fresh session.
            return self.session_class()
        if not isinstance(data, dict):
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: App, session: SessionMixin, response: Response) -> None:
        """Write the session cookie, delete it when the session was emptied,
        and add ``Vary: Cookie`` whenever the session was used.
        """
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        # Read before anything below touches the session (which counts as use).
        # ``Vary`` comes before ``Set-Cookie`` when the view used the session,
        # the header order the reference framework produces.
        accessed = session.accessed
        if accessed:
            _vary_cookie(response)

        if not session:
            # An emptied session removes the cookie; one that was always empty
            # sets nothing.
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                if not accessed:
                    _vary_cookie(response)
        elif self.should_set_cookie(app, session):
            expires = self.get_expiration_time(app, session)
            # A session is only saved when open_session found a secret key.
            val = self.get_signing_serializer(app).dumps(dict(session))  # type: ignore[union-attr]
            _set_cookie(
                response,
                name,
                val,
                expires=expires,
                httponly=httponly,
                domain=domain,
                path=path,
                secure=secure,
                partitioned=partitioned,
                samesite=samesite,
            )
            if not accessed:
                _vary_cookie(response)
        if not accessed:
            # Saving reads the session (its length, its items), which the
            # session records as use; the app did not use it, and code that
            # looks at ``accessed`` after the response must see that.
            session.accessed = False
