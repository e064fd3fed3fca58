"""Gateway: the dispatch stages composed into one WSGI application.

::

    [tracing -> AccessLog ->] ProxyFix -> HealthCheck -> [Metrics ->] TrustedHosts
        -> HostDispatcher -> PathDispatcher -> app

Every stage is optional and usable alone; ``Gateway`` wires them from Python
arguments, and :meth:`Gateway.from_config` from a ``gateway.toml``
(:class:`gateway.toml.GatewayConfig`). It also supplies the per-application
defaults of :mod:`.tenant` and builds URLs across applications
(:meth:`Gateway.url_for_app`).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing as t

from ..config import ConfigError
from ..hostnames import (
    HostAllowList,
    derive_trusted_hosts,
    normalize_domain,
    normalize_host_entry,
    parse_host,
)
from ..toml import (
    GatewayConfig,
    HealthConfig,
    LimitsConfig,
    LoggingConfig,
    MetricsConfig,
    ProxyConfig,
    ServerConfig,
    TenantsConfig,
    limit_overrides,
)
from .bodies import limit_body
from .host import HostDispatcher
from .limits import resolve_limit
from .loader import import_app, import_string
from .observe import observed, open_access_sink
from .path import Mount, PathDispatcher
from .proxy import HealthCheck, ProxyFix, TrustedHosts
from .registry import AppRegistry
from .responses import not_found
from .tenant import apply_defaults
from .urls import serving_environ

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .metrics import Recorder

#: The ``[tenants]`` keys that are :class:`AppRegistry` keyword arguments of
#: the same name, passed through as they are (``lookup`` is one too, but an
#: import string: :meth:`Gateway.from_config` imports it first).
REGISTRY_KEYS: tuple[str, ...] = tuple(
    f.name
    for f in dataclasses.fields(TenantsConfig)
    if f.name != "lookup"
    and getattr(inspect.signature(AppRegistry).parameters.get(f.name), "kind", None)
    is inspect.Parameter.KEYWORD_ONLY
)

#: Registry settings a Gateway uses unless told otherwise: gateway.toml's.
REGISTRY_DEFAULTS: dict[str, t.Any] = {
    f.name: f.default
    for f in dataclasses.fields(TenantsConfig)
    if f.name in REGISTRY_KEYS
}


def _enable_flask_compat() -> None:
    """``[gateway].flask_compat = true``: turn the switch on, or say why not."""
    from .. import compat

    try:
        compat.enable()
    except compat.FlaskAlreadyImported as e:
        raise compat.FlaskAlreadyImported(
            f"[gateway].{compat.TOML_KEY} = true cannot take effect: {e}"
        ) from None


class Gateway:
    """Many applications behind one WSGI callable.

    :param default_app: the app of the bare domain (and of every host when
        there is no ``base_domain``), and of paths outside every mount.
    :param base_domain: tenants live under it; the bare domain is
        ``default_app``; hosts outside it get a 404.
    :param tenants: tenant factory ``key -> app | None`` or an
        :class:`AppRegistry`.
    :param pattern: tenant host pattern (default ``{tenant}.<base_domain>``).
    :param nested: allow dotted tenant keys.
    :param hosts: exact host -> app, checked before tenants.
    :param mounts: :class:`Mount` objects (``Mount.host`` says where: ``""``
        bare domain, ``"*"`` every tenant, or an exact host).
    :param trusted_hosts: allowed hosts; None derives them from
        ``base_domain`` and ``hosts``; ``()`` allows any valid host.
    :param proxy: a :class:`ProxyConfig` (or a dict of :class:`ProxyFix`
        keyword arguments) to believe forwarded headers; None: do not.
    :param health: a :class:`HealthConfig`; None for the default one, False
        for no health endpoint.
    :param secret_key: shared root secret from which apps without a
        ``SECRET_KEY`` get their own (see :mod:`.tenant`).
    :param script_name: the prefix the front server serves the gateway
        under (``[server].script_name``). A mounted app's session cookie path
        defaults to ``script_name + prefix``, so it must match what the server
        really passes as ``SCRIPT_NAME``; URLs built outside a request use it.
    :param threads: the server's threads per process
        (``[server].threads``). The concurrency limits not given
        (``max_concurrent`` of the tenants and of each :class:`Mount`) are
        derived from it: :func:`gateway.dispatch.limits.default_limit`.
    :param limits: the body and form limits of every application
        (:class:`LimitsConfig`, ``[limits]``; None: its defaults), enforced
        before the application runs and given to it as config defaults (see
        :mod:`.bodies`); a :class:`Mount` overrides them with its ``limits``.
    :param tenant_limits: the limits of the tenant applications that differ
        from ``limits`` (``{"max_body": 10485760}``).
    :param metrics: a :class:`MetricsConfig` whose ``enabled`` counts every
        request per tenant and mount and answers its ``path`` to the clients
        of the health endpoint's ``allow`` (:mod:`.metrics`); None: none.
    :param registry_options: passed to :class:`AppRegistry` (max_instances,
        idle_timeout, negative_ttl, retry_after, max_concurrent, ...); those
        not given take the defaults of ``[tenants]``
        (:data:`REGISTRY_DEFAULTS`).
    :param logging: a :class:`LoggingConfig` (``[logging]``): the access log
        with request ids, and OpenTelemetry tracing; None: neither. An access
        log file that cannot be opened raises :class:`ConfigError` here.
    """

    def __init__(
        self,
        default_app: WSGIApplication | None = None,
        *,
        base_domain: str | None = None,
        tenants: AppRegistry | t.Callable[[str], t.Any] | None = None,
        pattern: str | None = None,
        nested: bool = TenantsConfig.nested,
        hosts: t.Mapping[str, WSGIApplication] | None = None,
        mounts: t.Iterable[Mount] = (),
        trusted_hosts: t.Iterable[str] | None = None,
        proxy: ProxyConfig | t.Mapping[str, t.Any] | None = None,
        health: HealthConfig | None | t.Literal[False] = None,
        secret_key: str | bytes | None = None,
        script_name: str = "",
        name: str = "gateway",
        debug: bool = False,
        threads: int = ServerConfig.threads,
        limits: LimitsConfig | None = None,
        tenant_limits: t.Mapping[str, int | None] | None = None,
        metrics: MetricsConfig | None = None,
        logging: LoggingConfig | None = None,
        **registry_options: t.Any,
    ) -> None:
        self.name = name
        self.logging = logging if logging is not None else LoggingConfig()
        self._access_sink = open_access_sink(self.logging)
        self.threads = threads
        resolve_limit(None, threads)  # a bad thread count fails here, named
        self.limits = limits if limits is not None else LimitsConfig()
        self.tenant_limits = self.limits.override(tenant_limits or {})
        # What the dispatchers call: each application behind its body limit
        # (mounts by id(); Mount.app stays the application itself).
        self._served_mounts: dict[int, Mount] = {}
        self.debug = debug
        self.secret_key = secret_key or None
        self.script_name = script_name.rstrip("/")
        self.base_domain = normalize_domain(base_domain) if base_domain else None
        self.default_app = default_app
        self._served_default: WSGIApplication | None = None
        if default_app is not None:
            apply_defaults(default_app, "default", secret=self.secret_key)
            self._served_default = limit_body(default_app, self.limits)
        self.hosts: dict[str, WSGIApplication] = {}
        self._served_hosts: dict[str, WSGIApplication] = {}
        for host, app in (hosts or {}).items():
            host = normalize_host_entry(host)
            self.hosts[host] = apply_defaults(
                app, f"host:{host}", secret=self.secret_key
            )
            self._served_hosts[host] = limit_body(app, self.limits)
        self._mounts: list[Mount] = []
        if isinstance(tenants, AppRegistry):
            self.registry: AppRegistry | None = tenants
            if tenants.prepare is None:
                tenants.prepare = self._prepare_tenant
        elif tenants is not None:
            options = {**REGISTRY_DEFAULTS, "name": "tenant", **registry_options}
            options["max_concurrent"] = resolve_limit(
                options["max_concurrent"], threads
            )
            self.registry = AppRegistry(
                tenants, prepare=self._prepare_tenant, **options
            )
        else:
            if registry_options:
                raise TypeError(
                    f"registry options {sorted(registry_options)} need tenants"
                )
            self.registry = None
        if self.registry is not None and pattern is None and self.base_domain is None:
            raise ConfigError(
                "tenants need a base_domain or a pattern such as '{tenant}.example.com'"
            )
        self.pattern = pattern
        self.nested = nested
        self._trusted_hosts = None if trusted_hosts is None else tuple(trusted_hosts)
        if isinstance(proxy, ProxyConfig):
            proxy = dataclasses.asdict(proxy)  # the ProxyFix keyword arguments
        self.proxy = dict(proxy) if proxy is not None else None
        self.health = HealthConfig() if health is None else health
        self.host_dispatcher: HostDispatcher | None = None
        self._app: WSGIApplication = not_found
        for mount in mounts:
            self._add_mount(mount)
        self.metrics = metrics if metrics is not None and metrics.enabled else None
        self._recorder: Recorder | None = None
        if self.metrics is not None:
            from .metrics_wsgi import recorder_for

            self._recorder = recorder_for(self)
        self._build()

    # -- composition -------------------------------------------------------

    @classmethod
    def from_config(cls, config: GatewayConfig) -> Gateway:
        """Import every application named in ``config`` and compose them.

        With ``config.flask_compat`` the Flask compatibility switch
        (:mod:`gateway.compat`) is turned on first, before any application,
        factory or lookup is imported. Import problems raise
        :class:`ConfigError` naming the key.

        :raises gateway.compat.FlaskAlreadyImported: ``flask_compat`` is set
            but real Flask was imported in this process already.
        """
        if config.flask_compat:
            _enable_flask_compat()
        root = config.root
        default = (
            import_app(config.default_app, root, "[gateway].default_app")
            if config.default_app
            else None
        )
        hosts = {
            host: import_app(spec, root, f'[hosts]."{host}"')
            for host, spec in config.hosts.items()
        }
        mounts = [
            Mount(
                m.prefix,
                import_app(m.app, root, f"[[mounts]] #{i} .app"),
                host=m.host,
                redirect_slash=m.redirect_slash,
                max_concurrent=m.max_concurrent,
                limits=limit_overrides(m),
            )
            for i, m in enumerate(config.mounts, 1)
        ]
        tenants = None
        options: dict[str, t.Any] = {}
        tc = config.tenants
        if tc is not None:
            tenants = import_string(tc.factory, root, "[tenants].factory")
            if not callable(tenants):
                raise ConfigError(f"[tenants].factory: {tc.factory!r} is not callable")
            lookup = (
                import_string(tc.lookup, root, "[tenants].lookup")
                if tc.lookup
                else None
            )
            if lookup is not None and not callable(lookup):
                raise ConfigError(f"[tenants].lookup: {tc.lookup!r} is not callable")
            options = {name: getattr(tc, name) for name in REGISTRY_KEYS}
            options["lookup"] = lookup
        return cls(
            default,
            base_domain=config.base_domain or None,
            tenants=tenants,
            pattern=tc.pattern if tc is not None else None,
            nested=tc.nested if tc is not None else False,
            hosts=hosts,
            mounts=mounts,
            trusted_hosts=config.trusted_hosts,
            proxy=config.proxy,
            health=config.health,
            secret_key=config.secret_key or None,
            script_name=config.server.script_name,
            name=config.name,
            debug=config.debug,
            threads=config.server.threads,
            limits=config.limits,
            tenant_limits=limit_overrides(tc) if tc is not None else None,
            metrics=config.metrics,
            logging=config.logging,
            **options,
        )

    def mount(
        self,
        prefix: str,
        app: WSGIApplication,
        *,
        host: str = "",
        redirect_slash: bool = True,
        name: str | None = None,
        max_concurrent: int | None = None,
        limits: t.Mapping[str, int | None] | None = None,
    ) -> Mount:
        """Mount ``app`` under ``prefix`` on ``host`` (``""`` bare domain,
        ``"*"`` every tenant, or an exact host) and rebuild the pipeline.
        Live tenants are retired so they pick up new ``"*"`` mounts.
        ``max_concurrent`` None is the default limit (see ``threads``);
        ``limits`` overrides the gateway's body and form limits for it."""
        mount = self._add_mount(
            Mount(
                prefix,
                app,
                host=host,
                redirect_slash=redirect_slash,
                name=name,
                max_concurrent=max_concurrent,
                limits=limits,
            )
        )
        on_tenants = mount.host == "*" or (
            self.host_dispatcher is not None
            and self.host_dispatcher.tenant_key(mount.host) is not None
        )
        if self.registry is not None and on_tenants:
            self.registry.clear()  # rebuilt with the new mount on next request
        self._build()
        return mount

    def _add_mount(self, mount: Mount) -> Mount:
        host = mount.host
        if host not in ("", "*"):
            host = normalize_host_entry(host)
            if host == self.base_domain:
                host = ""
        if host == "*" and self.registry is None:
            raise ConfigError(
                f"{mount!r}: host '*' mounts on every tenant, but there are no tenants"
            )
        mount.host = host
        for other in self._mounts:
            if other.host == host and other.prefix == mount.prefix:
                raise ConfigError(
                    f"duplicate mount {mount.prefix!r} on host {host or 'bare domain'!r}"
                )
        mount.limit(resolve_limit(mount.max_concurrent, self.threads))
        apply_defaults(
            mount.app,
            f"mount:{host}{mount.prefix}",
            secret=self.secret_key,
            cookie_path=self.script_name + mount.prefix,
        )
        self._served_mounts[id(mount)] = Mount(
            mount.prefix,
            limit_body(mount.app, self.limits.override(mount.limits)),
            host=host,
            redirect_slash=mount.redirect_slash,
            name=mount.name,
            max_concurrent=mount.max_concurrent,
        )
        self._mounts.append(mount)
        return mount

    @property
    def mounts(self) -> tuple[Mount, ...]:
        return tuple(self._mounts)

    def _mounts_for(self, host: str) -> list[Mount]:
        return [m for m in self._mounts if m.host == host]

    def _wrap(
        self, app: WSGIApplication | None, mounts: list[Mount]
    ) -> WSGIApplication:
        if not mounts:
            return app if app is not None else not_found
        return PathDispatcher(app, mounts=[self._served_mounts[id(m)] for m in mounts])

    def _prepare_tenant(self, key: str, app: WSGIApplication) -> WSGIApplication:
        """Per-tenant defaults, then the ``"*"`` and exact-host mounts."""
        apply_defaults(app, f"tenant:{key}", secret=self.secret_key, tenant=key)
        served = limit_body(app, self.tenant_limits)
        mounts = self._mounts_for("*")
        if (
            self.host_dispatcher is not None
            and self.host_dispatcher.pattern is not None
        ):
            mounts = mounts + self._mounts_for(self.host_dispatcher.host_for(key))
        return self._wrap(served, mounts)

    def _build(self) -> None:
        bare = self._wrap(self._served_default, self._mounts_for(""))
        tenant_hosts = set()
        if self.base_domain or self.registry is not None or self.hosts:
            hosts = {
                h: self._wrap(a, self._mounts_for(h))
                for h, a in self._served_hosts.items()
            }
            dispatcher = HostDispatcher(
                self.base_domain,
                self.registry,
                pattern=self.pattern,
                nested=self.nested,
                hosts=hosts,
                default=bare,
                outside=None if self.base_domain else bare,
            )
            for mount in self._mounts:
                if mount.host in ("", "*") or mount.host in hosts:
                    continue
                if dispatcher.tenant_key(mount.host) is not None:
                    tenant_hosts.add(mount.host)
                else:  # a host that exists only for its mounts
                    dispatcher.hosts[mount.host] = self._wrap(
                        None, self._mounts_for(mount.host)
                    )
            self.host_dispatcher = dispatcher
            inner: WSGIApplication = dispatcher
        else:
            self.host_dispatcher = None
            inner = bare
        self._inner = inner

        app: WSGIApplication = self._core
        allowed = self._trusted_hosts
        if allowed is None:
            allowed = self._derived_trusted_hosts()
        self.trusted_hosts = tuple(allowed)
        self._allow_list = HostAllowList(self.trusted_hosts)
        if self.trusted_hosts or self.host_dispatcher is None:
            # Without a host dispatcher nothing else reads the Host: an empty
            # list still refuses a malformed one the app could not read.
            app = TrustedHosts(app, self.trusted_hosts)
        recorder = self._recorder
        if recorder is not None and self.metrics is not None:
            from .metrics_wsgi import Metrics

            allow = self.health.allow if self.health else HealthConfig.allow
            # Its bound __call__: a call through the instance goes by a type
            # slot that costs about 650 instructions a request more (issue
            # 19, benchmarks/metrics.py).
            app = Metrics(app, recorder, self.metrics.path, allow).__call__
        if self.health:
            app = HealthCheck(
                app,
                self.health.path,
                self.health.allow,
                status=self.status,
                host_exists=self.host_exists,
            )
        if self.proxy is not None:
            app = ProxyFix(app, **self.proxy)
        self._app = observed(app, self.logging, self._access_sink, self.proxy)

    def _derived_trusted_hosts(self) -> tuple[str, ...]:
        pattern_domain = ""
        if (
            self.host_dispatcher is not None
            and self.host_dispatcher.pattern is not None
        ):
            pattern_domain = self.host_dispatcher.pattern.domain
        return derive_trusted_hosts(
            self.base_domain or "",
            [*self.hosts, *(m.host for m in self._mounts)],
            pattern_domain,
        )

    # -- the request path --------------------------------------------------

    def _core(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        environ["gateway.gateway"] = self
        environ["gateway.root"] = environ.get("SCRIPT_NAME", "")
        token = serving_environ.set(environ)
        try:
            return self._inner(environ, start_response)
        finally:
            serving_environ.reset(token)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        return self._app(environ, start_response)

    # -- introspection and cross-app helpers --------------------------------

    def status(self) -> dict[str, t.Any]:
        """What the health endpoint reports besides ``"status": "ok"``."""
        out: dict[str, t.Any] = {"name": self.name}
        if self.registry is not None:
            out["tenants"] = self.registry.stats()
        return out

    def host_exists(self, host: str) -> bool:
        """Whether ``host`` reaches an application (for TLS front ends)."""
        if self.host_dispatcher is None:
            parsed = parse_host(host)
            return parsed is not None and self._allow_list.allows(parsed)
        return self.host_dispatcher.host_exists(host)

    def iter_apps(self) -> t.Iterator[tuple[str, str, t.Any]]:
        """``(host, prefix, app)`` for every application: the default app,
        exact hosts, mounts and live tenants (``gateway routes`` uses it)."""
        bare = self.base_domain or ""
        if self.default_app is not None:
            yield bare, "", self.default_app
        for host, app in self.hosts.items():
            yield host, "", app
        for mount in self._mounts:
            host = bare if mount.host == "" else mount.host
            yield host, mount.prefix, mount.app
        if self.registry is not None and self.host_dispatcher is not None:
            for key in self.registry.keys():
                app = self.registry.peek(key)
                if app is not None:
                    yield self.host_dispatcher.host_for(key), "", app

    def url_for_app(
        self,
        target: str,
        endpoint: str | None = None,
        /,
        *,
        environ: WSGIEnvironment | None = None,
        _external: bool | None = None,
        _scheme: str | None = None,
        _anchor: str | None = None,
        _method: str | None = None,
        **values: t.Any,
    ) -> str:
        """Build a URL for ``endpoint`` of another application; see
        :func:`gateway.dispatch.urls.url_for_app`."""
        from .urls import build_url

        return build_url(
            self,
            target,
            endpoint,
            environ,
            values,
            external=_external,
            scheme=_scheme,
            anchor=_anchor,
            method=_method,
        )

    def url_for_tenant(
        self,
        key: str,
        path: str = "/",
        *,
        environ: WSGIEnvironment | None = None,
        scheme: str | None = None,
    ) -> str:
        """The URL of ``path`` on tenant ``key``'s host, without creating the
        tenant; see :func:`gateway.dispatch.urls.url_for_tenant`."""
        from .urls import tenant_url

        return tenant_url(self, key, path, environ, scheme=scheme)

    def __repr__(self) -> str:
        parts = [repr(self.name)]
        if self.base_domain:
            parts.append(f"base_domain={self.base_domain!r}")
        if self._mounts:
            parts.append(f"mounts={[m.prefix for m in self._mounts]!r}")
        return f"<Gateway {' '.join(parts)}>"
