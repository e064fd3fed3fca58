"""gateway: a Flask-compatible web framework, and a gateway that hosts many
of its applications in one process and deploys them anywhere."""

from __future__ import annotations

import typing as t

from . import json as json
from .ctx import after_this_request as after_this_request
from .ctx import copy_current_request_context as copy_current_request_context
from .ctx import has_app_context as has_app_context
from .ctx import has_request_context as has_request_context
from .globals import current_app as current_app
from .globals import g as g
from .globals import request as request
from .globals import session as session
from .helpers import abort as abort
from .helpers import flash as flash
from .helpers import get_flashed_messages as get_flashed_messages
from .helpers import get_template_attribute as get_template_attribute
from .helpers import make_response as make_response
from .helpers import redirect as redirect
from .helpers import send_file as send_file
from .helpers import send_from_directory as send_from_directory
from .helpers import stream_with_context as stream_with_context
from .helpers import url_for as url_for
from .json import jsonify as jsonify
from .signals import appcontext_popped as appcontext_popped
from .signals import appcontext_pushed as appcontext_pushed
from .signals import appcontext_tearing_down as appcontext_tearing_down
from .signals import before_render_template as before_render_template
from .signals import got_request_exception as got_request_exception
from .signals import message_flashed as message_flashed
from .signals import request_finished as request_finished
from .signals import request_started as request_started
from .signals import request_tearing_down as request_tearing_down
from .signals import template_rendered as template_rendered
from .wrappers import Request as Request
from .wrappers import Response as Response

__version__ = "0.1.0"

# What ``from gateway import *`` binds: the names above and the lazy ones
# below, which are not in the namespace until first used.
__all__ = [
    "json",
    "after_this_request",
    "copy_current_request_context",
    "has_app_context",
    "has_request_context",
    "current_app",
    "g",
    "request",
    "session",
    "abort",
    "flash",
    "get_flashed_messages",
    "get_template_attribute",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
    "jsonify",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
    "Request",
    "Response",
    "App",
    "Blueprint",
    "Config",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
    "Unavailable",
    "unavailable_handler",
]

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App as App
    from .blueprints import Blueprint as Blueprint
    from .config import Config as Config
    from .templating import render_template as render_template
    from .templating import render_template_string as render_template_string
    from .templating import stream_template as stream_template
    from .templating import stream_template_string as stream_template_string
    from .unavailable import Unavailable as Unavailable
    from .unavailable import unavailable_handler as unavailable_handler

# Imported on first use (issue 20, benchmarks/imports.py). The application
# classes load werkzeug.routing (with uuid, platform, difflib, pprint), about
# a tenth of ``import gateway``: a module that only reads the context
# (``from gateway import request, current_app``), an extension, the CLI or a
# test collector does not pay for it. Jinja is only loaded when an app
# renders templates.
_lazy = {
    "App": ".app",
    "Blueprint": ".blueprints",
    "Config": ".config",
    "render_template": ".templating",
    "render_template_string": ".templating",
    "stream_template": ".templating",
    "stream_template_string": ".templating",
    # 503 + Retry-After for a store that is down (loads the toml schema).
    "Unavailable": ".unavailable",
    "unavailable_handler": ".unavailable",
}

# Names that live in a layer above the core, which the core never imports
# (docs/architecture.md): asking for them here says where they are.
_elsewhere = {
    "url_for_app": "gateway.dispatch",
    "url_for_tenant": "gateway.dispatch",
}


# ``globals`` names the gateway.globals submodule in this namespace.
_namespace = vars()


def __getattr__(name: str) -> t.Any:
    module = _lazy.get(name)
    if module is None:
        if name in _elsewhere:
            raise AttributeError(
                f"module 'gateway' has no attribute {name!r}: it is in"
                f" {_elsewhere[name]} (from {_elsewhere[name]} import {name})"
            )
        raise AttributeError(f"module 'gateway' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    _namespace[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_namespace, *_lazy])
