"""Many applications in one process: by subdomain, by path, behind proxies."""

from .loader import build_gateway as build_gateway
from .loader import load_config as load_config
from .settings import ConfigError as ConfigError
from .settings import GatewayConfig as GatewayConfig
