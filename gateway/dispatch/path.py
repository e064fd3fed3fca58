"""PathDispatcher and mounts: pick the application from the path prefix.

Static mounts match the longest prefix on a segment boundary; dynamic
prefixes (the documented ``PathDispatcher(default_app, create_app)``) take the
first segment as a registry key. Either way the matched prefix moves from
``PATH_INFO`` to ``SCRIPT_NAME``, so the mounted app's ``url_for``, redirects,
static URLs and cookie paths carry it. The match is made on the canonical
path (dot and empty segments resolved), and the very same canonical split is
what the app sees. A bare ``/prefix`` is redirected (308) to ``/prefix/``
with the query string kept, or served as ``/`` when ``redirect_slash`` is off.

:class:`DispatcherMiddleware` is the drop-in face of Werkzeug's class.
"""

from __future__ import annotations

import typing as t
from collections import Counter

from ..prefixes import (
    PrefixTable,
    canonical_path,
    is_canonical,
    normalize_prefix,
    to_wsgi,
)
from .limits import check_limit, limited
from .registry import AppRegistry, FactoryFailed
from .responses import not_found, redirect

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class Mount:
    """An application mounted under a path prefix.

    :param prefix: ``/admin`` style; a trailing slash is removed, ``//``,
        ``..`` and a missing leading slash are errors.
    :param app: the WSGI application.
    :param redirect_slash: ``/admin`` -> 308 ``/admin/``; False serves
        ``/admin`` as ``/``.
    :param name: the name used by ``url_for_app("name:endpoint")``; default
        the prefix without its leading slash.
    :param host: which host the mount belongs to in a :class:`Gateway`
        (``""`` bare domain, ``"*"`` every tenant, or an exact host).
    :param max_concurrent: requests the app serves at once in this process
        (0 = no limit); more are answered 503 with ``Retry-After``
        (:mod:`.limits`). None: no limit here, and in a :class:`Gateway` the
        gateway's default, derived from the server's threads.
    :param limits: in a :class:`Gateway`, the body and form limits of this
        mount that differ from the gateway's (``{"max_body": 10485760}``,
        the keys of :class:`gateway.toml.LimitsConfig`).
    """

    __slots__ = (
        "prefix",
        "app",
        "redirect_slash",
        "name",
        "host",
        "wsgi_prefix",
        "bare_path",
        "max_concurrent",
        "served",
        "limits",
    )

    def __init__(
        self,
        prefix: str,
        app: WSGIApplication,
        *,
        redirect_slash: bool = True,
        name: str | None = None,
        host: str = "",
        max_concurrent: int | None = None,
        limits: t.Mapping[str, int | None] | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError(f"the app mounted at {prefix!r} is not callable: {app!r}")
        self.prefix = normalize_prefix(prefix)
        self.app = app
        self.redirect_slash = redirect_slash
        self.name = name if name is not None else self.prefix[1:]
        self.host = host
        self.wsgi_prefix = to_wsgi(self.prefix)
        self.bare_path = "/"
        #: What requests call: ``app``, behind a limit when there is one.
        self.served: WSGIApplication = app
        self.max_concurrent: int | None = None
        self.limits = dict(limits or {})
        self.limit(max_concurrent)

    def limit(self, max_concurrent: int | None) -> None:
        """Set the limit (see the class); before the mount serves."""
        if max_concurrent is not None:
            check_limit(max_concurrent, f"max_concurrent of mount {self.prefix!r}")
            self.served = limited(self.app, max_concurrent)
        else:
            self.served = self.app
        self.max_concurrent = max_concurrent

    def __repr__(self) -> str:
        host = f" host={self.host!r}" if self.host else ""
        return f"<Mount {self.prefix!r} -> {self.app!r}{host}>"


#: The environ keys a dynamic segment moves between.
_MOVED = ("SCRIPT_NAME", "PATH_INFO")


def _first_segment(path: str) -> str:
    """The first segment of an absolute path, without its slash."""
    return path.split("/", 2)[1]


def _enter(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    app: WSGIApplication,
    prefix: str,
    rest: str,
    redirect_slash: bool,
    bare_path: str = "/",
) -> t.Iterable[bytes]:
    """Call ``app`` with ``prefix`` moved from the path into ``SCRIPT_NAME``
    (``rest`` is what follows it); a bare prefix redirects to ``prefix/``
    or is served as ``bare_path``."""
    script = environ.get("SCRIPT_NAME", "") + prefix
    if not rest:
        if redirect_slash:
            return redirect(environ, start_response, script + "/")
        rest = bare_path
    environ["SCRIPT_NAME"] = script
    environ["PATH_INFO"] = rest
    return app(environ, start_response)


class PathDispatcher:
    """Dispatch on path prefixes: static :class:`Mount` objects, then an
    optional dynamic first segment, then ``default_app``.

    ``PathDispatcher(default_app, create_app)`` is the documented pattern:
    ``create_app(segment)`` is called with the first path segment and a None
    result falls back to ``default_app``. Here the factory runs once per
    segment (single flight), a None result is remembered for
    ``negative_ttl`` seconds, and a raising factory answers 503.
    """

    def __init__(
        self,
        default_app: WSGIApplication | None = None,
        create_app: AppRegistry | t.Callable[[str], t.Any] | None = None,
        *,
        mounts: t.Iterable[Mount] | t.Mapping[str, WSGIApplication] = (),
        redirect_slash: bool = True,
        **registry_options: t.Any,
    ) -> None:
        self.default_app = default_app if default_app is not None else not_found
        self.redirect_slash = redirect_slash
        if isinstance(create_app, AppRegistry) or create_app is None:
            if registry_options:
                raise TypeError(
                    f"registry options {sorted(registry_options)} need a create_app factory"
                )
            self.registry = create_app
        else:
            registry_options.setdefault("name", "prefix")
            self.registry = AppRegistry(create_app, **registry_options)
        self.create_app = create_app
        self._mounts: dict[str, Mount] = {}
        self._table: PrefixTable[Mount] = PrefixTable()
        # First segment -> (app, "/segment") of a one-segment mount.
        self._single: dict[str, tuple[WSGIApplication, str]] = {}
        self._firsts: frozenset[str] = frozenset()
        # What a moved dynamic segment without an app falls back to, bound
        # once (a bound method made for each request costs 500 instructions).
        self._fallback = self._unmoved
        if isinstance(mounts, t.Mapping):
            mounts = [
                Mount(p, a, redirect_slash=redirect_slash) for p, a in mounts.items()
            ]
        for mount in mounts:
            self.add(mount)

    # -- registration ------------------------------------------------------

    def add(self, mount: Mount) -> Mount:
        """Register a mount; a duplicate prefix is an error."""
        if mount.prefix in self._mounts:
            raise ValueError(
                f"duplicate mount {mount.prefix!r}: already {self._mounts[mount.prefix]!r}"
            )
        mounts = dict(self._mounts)
        mounts[mount.prefix] = mount
        # Swap in whole new tables: readers never see a half-built one.
        self._table = PrefixTable((m.wsgi_prefix, m) for m in mounts.values())
        # One-segment prefixes alone on their first segment: one dict lookup.
        firsts = Counter(_first_segment(m.wsgi_prefix) for m in mounts.values())
        self._single = {
            m.wsgi_prefix[1:]: (m.served, m.wsgi_prefix)
            for m in mounts.values()
            if firsts[m.wsgi_prefix[1:]] == 1
        }
        # First segments some mount starts with: such a path needs the table.
        self._firsts = frozenset(firsts)
        self._mounts = mounts
        return mount

    def mount(self, prefix: str, app: WSGIApplication, **options: t.Any) -> Mount:
        """Create and register a :class:`Mount`."""
        options.setdefault("redirect_slash", self.redirect_slash)
        return self.add(Mount(prefix, app, **options))

    @property
    def mounts(self) -> tuple[Mount, ...]:
        return tuple(self._mounts.values())

    def match(self, path: str) -> tuple[Mount, str] | None:
        """The mount for a WSGI path and the rest of the canonical path."""
        if not is_canonical(path):
            path = canonical_path(path)
        found = self._table.match(path)
        return (found[0], found[2]) if found is not None else None

    # -- the request path --------------------------------------------------

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # Subscripts, not .get(), as in HostDispatcher.__call__ (the two
        # reads: 170 instructions a request); PEP 3333 lets a server omit
        # PATH_INFO and SCRIPT_NAME when empty.
        try:
            path = environ["PATH_INFO"]
        except KeyError:
            path = ""
        if "/." not in path and "//" not in path:
            # Fast paths for a canonical absolute path below its first
            # segment: a one-segment mount, or a dynamic segment no static
            # mount shares (without them a dynamic segment costs 3,700
            # instructions more, a third of what it adds). One split gives
            # the segment and what follows it: finding the slash and slicing
            # three times cost 1,300 instructions more.
            parts = path.split("/", 2)
            if len(parts) == 3 and not parts[0]:
                _, first, rest = parts
                try:
                    script = environ["SCRIPT_NAME"]
                except KeyError:
                    script = ""
                if self._firsts:  # there are static mounts
                    single = self._single.get(first)
                    if single is not None:
                        # The mount's own "/first", not "/" + first: one
                        # string less a request (370 instructions).
                        app, prefix = single
                        environ["SCRIPT_NAME"] = script + prefix
                        environ["PATH_INFO"] = "/" + rest
                        return app(environ, start_response)
                    if first in self._firsts:
                        return self._dispatch(environ, start_response, path)
                registry = self.registry
                if registry is not None:
                    # The segment moves into SCRIPT_NAME before the registry
                    # knows whether it has an app, which it then calls
                    # directly; without one, _unmoved moves it back for the
                    # default app. (A wrapper around each app that moved it
                    # once the app was known cost 460 instructions more.) A
                    # 503 of the registry (the factory failed, or the app is
                    # at its limit) sees the segment moved too.
                    environ["SCRIPT_NAME"] = script + "/" + first
                    environ["PATH_INFO"] = "/" + rest
                    return registry.serve(
                        first, environ, start_response, self._fallback
                    )
        return self._dispatch(environ, start_response, path)

    def _unmoved(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """The default app, for a canonical path whose first segment
        ``__call__`` moved into ``SCRIPT_NAME``: moved back first."""
        script = environ["SCRIPT_NAME"]
        cut = script.rfind("/")
        environ["PATH_INFO"] = script[cut:] + environ["PATH_INFO"]
        environ["SCRIPT_NAME"] = script[:cut]
        return self.default_app(environ, start_response)

    def _dispatch(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> t.Iterable[bytes]:
        if not is_canonical(path):
            path = canonical_path(path)
        found = self._table.match(path)
        if found is not None:
            mount, prefix, rest = found
            return _enter(
                environ,
                start_response,
                mount.served,
                prefix,
                rest,
                mount.redirect_slash,
                mount.bare_path,
            )
        if self.registry is not None and len(path) > 1 and path[0] == "/":
            return self._serve_segment(environ, start_response, path)
        return self.default_app(environ, start_response)

    def _serve_segment(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> t.Iterable[bytes]:
        """Serve the app of the first segment of a canonical ``path`` (not
        a static mount's), entered with the segment moved into
        ``SCRIPT_NAME``; the default app gets the environ as it came."""
        registry: AppRegistry = self.registry  # type: ignore[assignment]
        end = path.find("/", 1)
        if end == -1:
            end = len(path)
        segment, rest = path[1:end], path[end:]
        script = environ.get("SCRIPT_NAME", "")
        if not rest:  # the bare segment: redirected, or served as "/"
            if self.redirect_slash:
                try:
                    app = registry.get(segment)
                except FactoryFailed as e:
                    return e.respond(environ, start_response)
                if app is None:
                    return self.default_app(environ, start_response)
                return redirect(environ, start_response, f"{script}/{segment}/")
            rest = "/"
        original = {name: environ[name] for name in _MOVED if name in environ}

        def unmoved(
            environ: WSGIEnvironment, start_response: StartResponse
        ) -> t.Iterable[bytes]:
            for name in _MOVED:
                environ.pop(name, None)
            environ.update(original)
            return self.default_app(environ, start_response)

        environ["SCRIPT_NAME"] = f"{script}/{segment}"
        environ["PATH_INFO"] = rest
        return registry.serve(segment, environ, start_response, unmoved)

    def get_application(self, prefix: str) -> t.Any:
        """The application for a first segment, as in the documented class
        (None when ``create_app`` has none)."""
        if self.registry is None:
            return None
        return self.registry.get(prefix)

    def __repr__(self) -> str:
        parts = [repr(m.prefix) for m in self._mounts.values()]
        if self.registry is not None:
            parts.append("/<dynamic>")
        return f"<PathDispatcher {' '.join(parts)} default={self.default_app!r}>"


class DispatcherMiddleware(PathDispatcher):
    """Werkzeug's ``DispatcherMiddleware(app, mounts)``, checked and faster.

    ``mounts`` maps prefixes to apps; the longest matching prefix wins. As in
    Werkzeug, ``/prefix`` reaches the app with an empty ``PATH_INFO`` (no
    redirect). Unlike Werkzeug, prefixes are validated when registered and
    matched on the canonical path, so ``/./api`` and ``/api`` agree.
    """

    def __init__(
        self,
        app: WSGIApplication,
        mounts: t.Mapping[str, WSGIApplication] | None = None,
    ) -> None:
        super().__init__(app, redirect_slash=False)
        for prefix, mounted in (mounts or {}).items():
            mount = Mount(prefix, mounted, redirect_slash=False)
            mount.bare_path = ""
            self.add(mount)

    @property
    def app(self) -> WSGIApplication:
        """The application for paths outside every mount."""
        return self.default_app

    @property
    def mounts(self) -> dict[str, WSGIApplication]:  # type: ignore[override]
        """Prefix -> application, as Werkzeug exposes it."""
        return {prefix: mount.app for prefix, mount in self._mounts.items()}
