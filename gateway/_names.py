"""The names the core shows and reads: environment variables, dotenv files,
the command and the product in messages.

gateway's own names are ``GATEWAY_*``, ``.gatewayenv`` and ``gateway``. With
the Flask compatibility switch on (:mod:`gateway.compat`) the process runs
unmodified Flask code, so Flask's names come first (``FLASK_APP``,
``.flaskenv``, the ``FLASK`` config prefix, ``flask --app`` in messages) and
gateway's are still honoured after them. Every reader goes through here, so
one call switches them all.
"""

from __future__ import annotations

import os

#: Environment variable prefixes, the first one the primary (written, shown).
_prefixes: list[str] = ["GATEWAY"]
#: The command name and the product name messages use.
_command = "gateway"
_product = "gateway"
#: The package the application's code imports the core as (reprs, and the
#: module warnings raised on the core's behalf are attributed to).
_package = "gateway"


def use_flask_names() -> None:
    """Make Flask's names primary, keeping gateway's as a fallback."""
    global _command, _product, _package
    _prefixes[:] = ["FLASK", "GATEWAY"]
    _command, _product, _package = "flask", "Flask", "flask"


def prefix() -> str:
    """The primary environment prefix: ``"GATEWAY"``, or ``"FLASK"``."""
    return _prefixes[0]


def var(suffix: str) -> str:
    """The primary name of the variable ``suffix``: ``var("APP")`` is
    ``"GATEWAY_APP"`` (``"FLASK_APP"`` under the switch)."""
    return f"{_prefixes[0]}_{suffix}"


def getenv(suffix: str) -> str | None:
    """The value of ``PREFIX_suffix`` for the first prefix that is set."""
    for p in _prefixes:
        value = os.environ.get(f"{p}_{suffix}")
        if value is not None:
            return value
    return None


def dotenv_files() -> tuple[str, ...]:
    """Default dotenv files, lowest precedence first; ``.env`` wins."""
    return (*(f".{p.lower()}env" for p in reversed(_prefixes)), ".env")


def command() -> str:
    """The command line's name in messages: ``gateway`` or ``flask``."""
    return _command


def product() -> str:
    """What an application is called in messages: ``gateway`` or ``Flask``."""
    return _product


def package() -> str:
    """The core's package as the application imports it: ``gateway`` or
    ``flask``."""
    return _package
