"""What a plain ``import gateway``, ``from gateway import App`` and creating
an app load (issue 20, benchmarks/imports.py), what first use of a deferred
feature loads, and that every name the package exports is still there,
deferred or not.

Each check runs in a fresh interpreter: in this one, other tests have already
imported the deferred modules and bound the lazy names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import typing as t

import pytest

#: What ``gateway`` exported before its application classes were deferred,
#: and the module each name comes from.
EXPORTED: dict[str, str] = {
    "json": "gateway",
    "App": "gateway.app",
    "Blueprint": "gateway.blueprints",
    "Config": "gateway.config",
    "after_this_request": "gateway.ctx",
    "copy_current_request_context": "gateway.ctx",
    "has_app_context": "gateway.ctx",
    "has_request_context": "gateway.ctx",
    "current_app": "gateway.globals",
    "g": "gateway.globals",
    "request": "gateway.globals",
    "session": "gateway.globals",
    "abort": "gateway.helpers",
    "flash": "gateway.helpers",
    "get_flashed_messages": "gateway.helpers",
    "get_template_attribute": "gateway.helpers",
    "make_response": "gateway.helpers",
    "redirect": "gateway.helpers",
    "send_file": "gateway.helpers",
    "send_from_directory": "gateway.helpers",
    "stream_with_context": "gateway.helpers",
    "url_for": "gateway.helpers",
    "jsonify": "gateway.json",
    "appcontext_popped": "gateway.signals",
    "appcontext_pushed": "gateway.signals",
    "appcontext_tearing_down": "gateway.signals",
    "before_render_template": "gateway.signals",
    "got_request_exception": "gateway.signals",
    "message_flashed": "gateway.signals",
    "request_finished": "gateway.signals",
    "request_started": "gateway.signals",
    "request_tearing_down": "gateway.signals",
    "template_rendered": "gateway.signals",
    "Request": "gateway.wrappers",
    "Response": "gateway.wrappers",
    "render_template": "gateway.templating",
    "render_template_string": "gateway.templating",
    "stream_template": "gateway.templating",
    "stream_template_string": "gateway.templating",
    "Unavailable": "gateway.unavailable",
    "unavailable_handler": "gateway.unavailable",
}

#: Modules a plain ``import gateway`` must not load, and the name whose first
#: use loads each: the application classes (werkzeug.routing and what it
#: pulls), templating (Jinja), the toml schema, the CLI, sessions.
DEFERRED: dict[str, str] = {
    "gateway.app": "App",
    "gateway.blueprints": "Blueprint",
    "gateway.config": "Config",
    "werkzeug.routing": "App",
    "uuid": "App",
    "difflib": "App",
    "gateway.templating": "render_template",
    "jinja2": "render_template",
    "gateway.unavailable": "Unavailable",
    "gateway.toml": "Unavailable",
}

#: Never loaded by ``import gateway``, nor by any name above.
NEVER = ("click", "gateway.cli", "gateway.dispatch", "gateway.adapters")


def run(code: str) -> t.Any:
    """Run ``code`` in a fresh interpreter (the switch off) and return what
    it printed as JSON."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GATEWAY_"))
    }
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def test_plain_import_loads_none_of_the_deferred_modules() -> None:
    loaded = run(
        """
        import json, sys
        import gateway
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "gateway" in loaded and "werkzeug.local" in loaded
    assert not [m for m in [*DEFERRED, *NEVER] if m in loaded]


@pytest.mark.parametrize("name", sorted(set(DEFERRED.values())))
def test_first_use_of_a_lazy_name_loads_its_modules(name: str) -> None:
    loaded = run(
        f"""
        import json, sys
        import gateway
        gateway.{name}
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert {m for m, n in DEFERRED.items() if n == name} <= set(loaded)
    assert not [m for m in NEVER if m in loaded]


def test_every_exported_name_is_reachable() -> None:
    result = run(
        f"""
        import importlib, json
        import gateway
        exported = {EXPORTED!r}
        bad = []
        star = {{}}
        exec("from gateway import *", star)
        listed = dir(gateway)
        for name, module in exported.items():
            value = getattr(importlib.import_module(module), name)
            namespace = {{}}
            exec(f"from gateway import {{name}}", namespace)
            if not (
                namespace[name] is value
                and getattr(gateway, name) is value
                and star.get(name) is value
                and name in listed
            ):
                bad.append(name)
        print(json.dumps({{"bad": bad, "all": sorted(gateway.__all__)}}))
        """
    )
    assert result == {"bad": [], "all": sorted(EXPORTED)}


def test_unknown_name_is_still_an_attribute_error() -> None:
    import gateway

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        gateway.nope  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'nope'"):
        exec("from gateway import nope", {})


#: Modules that neither ``from gateway import App`` nor creating an app loads,
#: and the first use that loads each: the CLI, templating, sessions, the test
#: helpers, blueprints. Expressions run with ``app = App(__name__)`` and
#: ``gateway`` in scope.
APP_DEFERRED: dict[str, str] = {
    "click": "app.cli",
    "gateway.cli": "app.cli",
    "jinja2": "app.jinja_env",
    "gateway.templating": "app.jinja_env",
    "itsdangerous": "app.session_interface",
    "gateway.sessions": "app.session_interface",
    "gateway.testing": "app.test_client()",
    "gateway.blueprints": "gateway.Blueprint",
}


def test_app_import_and_creation_load_none_of_the_deferred_modules() -> None:
    loaded = run(
        """
        import json, sys
        from gateway import App
        imported = sorted(sys.modules)
        app = App(__name__)
        app.add_url_rule("/", "index", lambda: "")
        created = sorted(sys.modules)
        from gateway import Blueprint
        app.register_blueprint(Blueprint("bp", __name__))
        print(json.dumps({
            "imported": imported, "created": created, "blueprint": sorted(sys.modules)
        }))
        """
    )
    for stage in ("imported", "created"):
        assert "gateway.app" in loaded[stage]
        assert not [m for m in [*APP_DEFERRED, *NEVER] if m in loaded[stage]], stage
    # A blueprint without commands does not make the CLI groups either.
    assert "gateway.blueprints" in loaded["blueprint"]
    assert not [m for m in ("click", "gateway.cli") if m in loaded["blueprint"]]


@pytest.mark.parametrize("use", sorted(set(APP_DEFERRED.values())))
def test_first_use_on_an_app_loads_its_modules(use: str) -> None:
    loaded = run(
        f"""
        import json, sys
        import gateway
        from gateway import App
        app = App(__name__)
        {use}
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert {m for m, u in APP_DEFERRED.items() if u == use} <= set(loaded)


def test_cli_group_made_on_first_use_is_the_apps() -> None:
    from gateway import App, Blueprint
    from gateway.cli import AppGroup

    app = App("some_app")
    group = app.cli
    assert isinstance(group, AppGroup) and group.name == app.name == "some_app"
    assert app.cli is group
    bp = Blueprint("bp", __name__)
    assert isinstance(bp.cli, AppGroup) and bp.cli.name is None

    replacement = AppGroup("other")
    app.cli = replacement
    assert app.cli is replacement


def test_cli_group_used_while_the_app_is_made_is_named_after_it() -> None:
    from gateway import App

    class EarlyCliApp(App):
        def add_url_rule(self, *args: t.Any, **kwargs: t.Any) -> None:
            self.cli  # noqa: B018
            super().add_url_rule(*args, **kwargs)

    app = EarlyCliApp("early_app", static_folder="static")
    assert app.cli.name == "early_app"


def test_blueprint_commands_still_reach_the_app() -> None:
    from gateway import App, Blueprint

    app = App("some_app")
    quiet = Blueprint("quiet", __name__)
    loud = Blueprint("loud", __name__)

    @loud.cli.command("shout")
    def shout() -> None: ...

    app.register_blueprint(quiet)
    app.register_blueprint(loud)
    assert list(app.cli.commands) == ["loud"]
    assert list(app.cli.commands["loud"].commands) == ["shout"]  # type: ignore[attr-defined]
