"""Many applications in one process: by subdomain, by path, behind proxies.

The stages (each a plain WSGI callable, usable alone) and their composition:
:class:`ProxyFix`, :class:`TrustedHosts`, :class:`HealthCheck`,
:class:`HostDispatcher`, :class:`PathDispatcher` with :class:`Mount`, the
:class:`AppRegistry` behind them, :class:`BodyLimit` around every
application, :class:`AccessLog` in front of them all, and :class:`Gateway`.
The documented patterns keep their names and signatures: :class:`SubdomainDispatcher`,
:class:`PathDispatcher`, :class:`DispatcherMiddleware`, :class:`ProxyFix`.
``gateway.toml`` is read by :func:`load_config` (from :mod:`gateway.toml`,
where its schema is declared) and built by :func:`build_gateway`. Inside a request, :func:`current_gateway` is the
gateway serving it, and :func:`url_for_app` / :func:`url_for_tenant` build
URLs to the other applications (this package is their public home; outside
a request they need the gateway passed in).

This layer uses only the public API of the core, which never imports it
(docs/architecture.md, "The layers and what may import what").
"""

from ..toml import ConfigError as ConfigError
from ..toml import GatewayConfig as GatewayConfig
from ..toml import HealthConfig as HealthConfig
from ..toml import LimitsConfig as LimitsConfig
from ..toml import LoggingConfig as LoggingConfig
from ..toml import MountConfig as MountConfig
from ..toml import ProxyConfig as ProxyConfig
from ..toml import ServerConfig as ServerConfig
from ..toml import StaticConfig as StaticConfig
from ..toml import TenantsConfig as TenantsConfig
from ..toml import load_config as load_config
from .accesslog import AccessLog as AccessLog
from .accesslog import RequestIdFilter as RequestIdFilter
from .bodies import BodyLimit as BodyLimit
from .gateway import Gateway as Gateway
from .host import HostDispatcher as HostDispatcher
from .host import SubdomainDispatcher as SubdomainDispatcher
from .loader import build_gateway as build_gateway
from .loader import import_string as import_string
from .path import DispatcherMiddleware as DispatcherMiddleware
from .path import Mount as Mount
from .path import PathDispatcher as PathDispatcher
from .proxy import HealthCheck as HealthCheck
from .proxy import ProxyFix as ProxyFix
from .proxy import TrustedHosts as TrustedHosts
from .registry import AppRegistry as AppRegistry
from .registry import FactoryFailed as FactoryFailed
from .registry import FactoryTimeout as FactoryTimeout
from .tenant import derive_secret as derive_secret
from .urls import current_gateway as current_gateway
from .urls import url_for_app as url_for_app
from .urls import url_for_tenant as url_for_tenant
