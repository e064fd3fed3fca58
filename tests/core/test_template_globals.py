"""Flattened template globals behave like Jinja's ChainMap(own, env.globals)."""

from __future__ import annotations

import gc
import random
from collections import ChainMap

import pytest

from gateway import App, render_template_string
from gateway.template_globals import EnvironmentGlobals


def apply(target: object, op: str, key: str, value: int) -> object:
    """One mutation; returns the result or the exception type it raised."""
    try:
        if op == "set":
            target[key] = value  # type: ignore[index]
        elif op == "del":
            del target[key]  # type: ignore[attr-defined]
        elif op == "pop":
            return target.pop(key)  # type: ignore[attr-defined]
        elif op == "pop-default":
            return target.pop(key, "dflt")  # type: ignore[attr-defined]
        elif op == "setdefault":
            return target.setdefault(key, value)  # type: ignore[attr-defined]
        elif op == "update":
            target.update({key: value}, extra=value)  # type: ignore[attr-defined]
        elif op == "clear":
            target.clear()  # type: ignore[attr-defined]
        elif op == "ior":
            target |= {key: value}  # type: ignore[operator]
    except KeyError:
        return KeyError
    return None


OPS = ["set", "del", "pop", "pop-default", "setdefault", "update", "clear", "ior"]


@pytest.mark.parametrize("seed", range(20))
def test_random_mutations_of_both_layers_match_a_chainmap(seed: int) -> None:
    rng = random.Random(seed)
    env_ref: dict[str, int] = {"a": 1, "b": 2}
    own_ref: dict[str, int] = {"b": 20, "c": 30}
    reference = ChainMap(own_ref, env_ref)
    env = EnvironmentGlobals(env_ref)
    flat = env.derive(dict(own_ref))
    sibling = env.derive(None)
    for _ in range(60):
        op, key, value = rng.choice(OPS), rng.choice("abcde"), rng.randrange(100)
        if rng.random() < 0.5:
            assert apply(env, op, key, value) == apply(env_ref, op, key, value)
        else:
            assert apply(flat, op, key, value) == apply(reference, op, key, value)
        assert dict(flat) == dict(reference)
        assert dict(sibling) == env_ref
        assert dict(env) == env_ref


def test_a_global_added_after_a_template_was_loaded_reaches_it() -> None:
    app = App(__name__, static_folder=None)
    source = "{{ brand | default('none') }}"
    with app.test_request_context():
        assert render_template_string(source) == "none"
        app.jinja_env.globals["brand"] = "Acme"
        assert render_template_string(source) == "Acme"
        del app.jinja_env.globals["brand"]
        assert render_template_string(source) == "none"


def test_template_globals_shadow_the_environment_and_stay_per_template() -> None:
    app = App(__name__, static_folder=None)
    env = app.jinja_env
    env.globals["who"] = "env"
    mine = env.from_string("{{ who }}", globals={"who": "mine"})
    other = env.from_string("{{ who }}!")
    assert mine.render() == "mine"
    assert other.render() == "env!"
    env.globals["who"] = "changed"
    assert mine.render() == "mine"
    assert other.render() == "changed!"
    del mine.globals["who"]
    assert mine.render() == "changed"


def test_get_template_globals_update_a_cached_template() -> None:
    from jinja2 import DictLoader

    app = App(__name__, static_folder=None)
    app.jinja_env.loader = DictLoader({"t.html": "{{ x }}"})
    assert app.jinja_env.get_template("t.html", globals={"x": 1}).render() == "1"
    assert app.jinja_env.get_template("t.html", globals={"x": 2}).render() == "2"


def test_templates_that_are_gone_are_forgotten_by_the_environment() -> None:
    env = EnvironmentGlobals({"a": 1})
    flats = [env.derive(None) for _ in range(50)]
    assert len(env._dependents) == 50
    del flats
    gc.collect()
    assert len(env._dependents) == 0
    env["a"] = 2  # nobody left to tell; must not fail
