"""Per-application defaults the gateway supplies to the apps it composes.

For an application with a ``config`` mapping (a :class:`gateway.App`, or a
Flask-style app), when the factory left them unset:

- ``SECRET_KEY``: an HMAC-SHA256 of the gateway's shared secret and the
  app's label (``tenant:acme``, ``mount:/admin``...), so every app signs its
  sessions with its own key and a cookie from one tenant is rejected by
  another. A factory that sets ``SECRET_KEY`` itself (even the same value
  for several apps, to share sessions on purpose) is left alone.
- ``SESSION_COOKIE_PATH``: the mount's full prefix, so two apps mounted on
  one host do not overwrite each other's session cookie.
- the logger of a tenant: ``gateway.tenant.<key>`` (configure handlers and
  levels on ``gateway.tenant``), whose records carry ``record.tenant``. These
  loggers are not registered with :mod:`logging`'s manager, so evicted
  tenants do not leave loggers behind.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import typing as t

_parent_logger_ready = False


def derive_secret(shared: str | bytes, label: str) -> str:
    """A per-application secret: hex HMAC-SHA256 of ``label`` keyed by ``shared``."""
    key = shared.encode("utf-8") if isinstance(shared, str) else shared
    return hmac.new(
        key, b"gateway.secret:" + label.encode("utf-8"), hashlib.sha256
    ).hexdigest()


class _TenantFilter(logging.Filter):
    """Tag every record with the tenant key."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant = self.key
        return True


class TenantLogger(logging.Logger):
    """A logger owned by one tenant app, outside the logging manager.

    It propagates to ``gateway.tenant`` and is garbage collected with its
    app. Enabled-level checks are not cached, because the manager, which
    clears such caches when levels change, does not know this logger.
    """

    def isEnabledFor(self, level: int) -> bool:
        if self.disabled or self.manager.disable >= level:
            return False
        return level >= self.getEffectiveLevel()


def tenant_logger(key: str, debug: bool = False) -> logging.Logger:
    """The ``gateway.tenant.<key>`` logger for a tenant app."""
    parent = logging.getLogger("gateway.tenant")
    _ensure_parent_handler(parent)
    logger = TenantLogger(f"gateway.tenant.{key}")
    logger.parent = parent
    if debug:
        logger.setLevel(logging.DEBUG)
    logger.addFilter(_TenantFilter(key))
    return logger


def _ensure_parent_handler(parent: logging.Logger) -> None:
    """Give ``gateway.tenant`` the app's default handler (to the WSGI error
    stream) once, unless logging is already configured to emit its records."""
    global _parent_logger_ready
    if _parent_logger_ready:
        return
    _parent_logger_ready = True
    try:
        from ..logging import default_handler, has_level_handler
    except ImportError:  # pragma: no cover - the core is always present
        return
    if not has_level_handler(parent):
        handler = logging.StreamHandler(default_handler.stream)
        handler.setFormatter(
            logging.Formatter(
                "[%(asctime)s] %(levelname)s in tenant %(tenant)s: %(message)s",
                defaults={"tenant": "-"},
            )
        )
        parent.addHandler(handler)


def apply_defaults(
    app: t.Any,
    label: str,
    *,
    secret: str | bytes | None = None,
    cookie_path: str | None = None,
    tenant: str | None = None,
) -> t.Any:
    """Fill in the per-application defaults on ``app`` (see module docs).

    Apps without a ``config`` mapping (plain WSGI callables) are returned
    untouched. Returns ``app``.
    """
    config = getattr(app, "config", None)
    if not isinstance(config, t.MutableMapping):
        return app
    if secret and not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = derive_secret(secret, label)
    if cookie_path and not config.get("SESSION_COOKIE_PATH"):
        config["SESSION_COOKIE_PATH"] = cookie_path
    if tenant is not None and hasattr(type(app), "logger"):
        try:
            app.logger = tenant_logger(tenant, bool(config.get("DEBUG")))
        except AttributeError:  # a read-only logger property: leave it
            pass
    return app
