"""``gateway.toml``: the schema of the file, declared once, and its loader.

Every table and key is a field of a frozen dataclass in
:mod:`gateway.toml.tables`, with its type, default, check and one line of
doc; :func:`load_config` reads a file against them, the reference table in
docs/gateway-toml.md is generated from them (:mod:`gateway.toml.reference`),
and dispatch, the adapters and deploy all import the parsed form from here.
The package depends on the standard library and the pure host and prefix
rules (:mod:`gateway.hostnames`, :mod:`gateway.prefixes`) only.
"""

from __future__ import annotations

from ..config import ConfigError as ConfigError
from .load import load_config as load_config
from .load import parse_config as parse_config
from .tables import ADAPTERS as ADAPTERS
from .tables import LIMIT_KEYS as LIMIT_KEYS
from .tables import Adapter as Adapter
from .tables import GatewayConfig as GatewayConfig
from .tables import HealthConfig as HealthConfig
from .tables import LimitsConfig as LimitsConfig
from .tables import LoggingConfig as LoggingConfig
from .tables import MetricsConfig as MetricsConfig
from .tables import MountConfig as MountConfig
from .tables import ProxyConfig as ProxyConfig
from .tables import ServerConfig as ServerConfig
from .tables import StaticConfig as StaticConfig
from .tables import TenantsConfig as TenantsConfig
from .tables import body_limit_under as body_limit_under
from .tables import larger_size as larger_size
from .tables import limit_overrides as limit_overrides
from .values import ImportSpec as ImportSpec
from .values import parse_import_string as parse_import_string
from .values import split_hostport as split_hostport
