"""What ``flask`` and each ``flask.*`` module are under the switch: the
gateway module behind it and the Flask names that differ from gateway's.

Pure data; :mod:`gateway.compat.finder` builds the modules from it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

#: The Flask release whose documented behaviour gateway follows; what
#: ``flask.__version__`` reports under the switch.
FLASK_VERSION = "3.1.3"


@dataclass(frozen=True)
class Alias:
    """One ``flask`` module under the switch.

    :param target: the gateway module whose names it shows, or ``None`` for
        a namespace of its own (``flask.sansio``, ``flask.ext``).
    :param renames: Flask name -> gateway name, for the renamed classes.
    :param package: whether it has submodules.
    """

    target: str | None
    renames: t.Mapping[str, str] = field(default_factory=dict)
    package: bool = False


MODULES: dict[str, Alias] = {
    "flask": Alias("gateway", {"Flask": "App"}, package=True),
    "flask.app": Alias("gateway.app", {"Flask": "App"}),
    "flask.blueprints": Alias("gateway.blueprints"),
    "flask.cli": Alias("gateway.cli", {"FlaskGroup": "GatewayGroup"}),
    "flask.config": Alias("gateway.config"),
    "flask.ctx": Alias("gateway.ctx"),
    "flask.debughelpers": Alias("gateway.debughelpers"),
    "flask.globals": Alias("gateway.globals"),
    "flask.helpers": Alias("gateway.helpers"),
    "flask.json": Alias("gateway.json", package=True),
    "flask.json.provider": Alias("gateway.json.provider"),
    "flask.json.tag": Alias("gateway.json.tag"),
    "flask.logging": Alias("gateway.logging"),
    # Flask 3 splits the I/O-free halves of Flask, Blueprint and Scaffold
    # into flask.sansio; gateway's classes are whole, so both names lead to
    # the same class.
    "flask.sansio": Alias(None, package=True),
    "flask.sansio.app": Alias("gateway.app"),
    "flask.sansio.blueprints": Alias("gateway.blueprints"),
    "flask.sansio.scaffold": Alias("gateway.scaffold"),
    "flask.sessions": Alias("gateway.sessions"),
    "flask.signals": Alias("gateway.signals"),
    "flask.templating": Alias("gateway.templating"),
    "flask.testing": Alias(
        "gateway.testing",
        {"FlaskClient": "AppClient", "FlaskCliRunner": "AppCliRunner"},
    ),
    "flask.typing": Alias("gateway.typing"),
    "flask.views": Alias("gateway.views"),
    "flask.wrappers": Alias("gateway.wrappers"),
    # `from flask.ext import foo` finds the extension Flask-Foo, as the
    # "Flask Extensions" chapter of the old docs describes.
    "flask.ext": Alias(None, package=True),
}

#: ``python -m flask`` runs this, as Flask's ``flask/__main__.py`` does.
MAIN_MODULE = "flask.__main__"

#: Where ``flask.ext.NAME`` looks, in order.
EXTENSION_MODULES = ("flask_{}", "flaskext.{}")

#: The key under ``[gateway]`` in ``gateway.toml`` that turns the switch on.
TOML_KEY = "flask_compat"
