"""The Flask compatibility switch: unmodified Flask applications and Flask
extensions run on gateway's core.

With the switch on, ``import flask`` and every ``flask.*`` module resolve to
gateway's modules (``flask.Flask is gateway.App``), so an extension's
``from flask import current_app`` reads gateway's context, and Flask's names
(``FLASK_APP``, ``.flaskenv``, the ``FLASK`` config prefix) come first. Three
ways turn it on, all ending here:

- ``import gateway.flask_compat`` first in the application's entry module;
- ``GATEWAY_FLASK_COMPAT=1`` in the environment (a ``.pth`` file installed
  with gateway reads it when any Python process of the environment starts);
- ``flask_compat = true`` under ``[gateway]`` in ``gateway.toml``.

It is per process and cannot be turned off again: objects made by one core
must not meet the other's.
"""

from __future__ import annotations

import os
import sys
import types

from _gateway_flask_compat import ENV_VAR as ENV_VAR
from _gateway_flask_compat import _TurnOnAtFirstFlaskImport as _Arming
from _gateway_flask_compat import switch_requested as switch_requested

from .. import _names
from .finder import AliasModule, FlaskFinder, install
from .names import FLASK_VERSION as FLASK_VERSION
from .names import TOML_KEY as TOML_KEY

__all__ = [
    "ENV_VAR",
    "FLASK_VERSION",
    "TOML_KEY",
    "FlaskAlreadyImported",
    "enable",
    "enable_from_toml",
    "is_enabled",
    "switch_requested",
]


class FlaskAlreadyImported(RuntimeError):
    """Real Flask was imported before the switch: turning it on now would
    leave a process with two cores, half of it bound to each."""


def enable(flask_names: bool = True) -> None:
    """Turn the switch on in this process; idempotent.

    :param flask_names: also make Flask's names primary (``FLASK_APP``,
        ``.flaskenv``, the ``FLASK`` config prefix, ``flask`` in messages).
        The ``gateway`` command passes False when it turns the switch on
        itself, to run an app or plug-in command that uses Flask extensions;
        ``GATEWAY_FLASK_COMPAT`` set in the environment still asks for them.
    :raises FlaskAlreadyImported: real Flask is already imported; the
        message names the module that imported it first.
    """
    existing = sys.modules.get("flask")
    if existing is not None and not isinstance(existing, AliasModule):
        raise FlaskAlreadyImported(_already_imported_message(existing))
    if flask_names or switch_requested(os.environ.get(ENV_VAR)):
        _names.use_flask_names()
    install()
    # The .pth's arming finder, if any, has nothing left to do.
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Arming)]


def enable_from_toml(path: str | os.PathLike[str]) -> bool:
    """Turn the switch on if the ``gateway.toml`` at ``path`` has
    ``flask_compat = true`` under ``[gateway]``; return whether it did.

    For the commands that load one application rather than a gateway.toml
    (``gateway run``, ``shell``, ``routes`` without ``--config``), which look
    for the file in the working directory. Only this key is read: a file that
    is missing, unreadable or not valid TOML changes nothing, so a broken or
    unrelated gateway.toml never stops them. (``gateway serve`` and the entry
    files read the whole file with :func:`gateway.dispatch.load_config`, where
    every error counts.)

    :raises gateway.dispatch.ConfigError: the key is there but not true or
        false; the message names the file and the key.
    :raises FlaskAlreadyImported: the key is true, but real Flask was imported
        first.
    """
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    table = data.get("gateway")
    if not isinstance(table, dict) or TOML_KEY not in table:
        return False
    value = table[TOML_KEY]
    if not isinstance(value, bool):
        import json

        from ..config import ConfigError

        raise ConfigError(
            f"{os.fspath(path)}: [gateway].{TOML_KEY}: expected true or false,"
            f" got {json.dumps(value, default=str)}"
        )
    if value:
        try:
            enable()
        except FlaskAlreadyImported as e:
            raise FlaskAlreadyImported(
                f"{os.fspath(path)}: [gateway].{TOML_KEY} = true cannot take"
                f" effect: {e}"
            ) from None
    return value


def is_enabled() -> bool:
    """Whether ``import flask`` resolves to gateway in this process."""
    return any(isinstance(finder, FlaskFinder) for finder in sys.meta_path)


def _already_imported_message(flask: types.ModuleType) -> str:
    importer = _first_importer(flask)
    where = (
        f"first by module {importer.__name__!r}"
        + (f" ({importer.__file__})" if getattr(importer, "__file__", None) else "")
        if importer is not None
        else "by a module that kept no reference to it"
    )
    return (
        f"Flask was imported ({flask.__file__}) before gateway's Flask"
        f" compatibility switch was turned on, {where}. Turn the switch on before"
        " anything imports flask: 'import gateway.flask_compat' as the first line"
        f" of the entry module, {ENV_VAR}=1 in the environment, or"
        " 'flask_compat = true' under [gateway] in gateway.toml."
    )


def _first_importer(flask: types.ModuleType) -> types.ModuleType | None:
    # sys.modules keeps insertion order, and a module is inserted when its
    # import starts: the earliest module holding something of Flask's is the
    # one whose import pulled Flask in.
    for name, module in list(sys.modules.items()):
        if module is None or name == "flask" or name.startswith("flask."):
            continue
        try:
            values = list(vars(module).values())
        except TypeError:
            continue
        for value in values:
            if value is flask or _is_flasks(value):
                return module
    return None


def _is_flasks(value: object) -> bool:
    try:
        owner = getattr(value, "__module__", None)
    except Exception:
        return False
    if isinstance(value, types.ModuleType):
        owner = value.__name__
    return isinstance(owner, str) and (owner == "flask" or owner.startswith("flask."))
