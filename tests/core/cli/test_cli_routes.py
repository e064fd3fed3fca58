"""``gateway routes``: the table layout, the command, and the routes of a
whole gateway.toml (gateway/cli/commands.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask_switch_probe import (
    COMMAND_SWITCH,
    REAL_FLASK,
    SWITCHED,
    run_child,
    write_probe_site,
)
from werkzeug.routing import Map, Rule

from gateway.cli import format_routes, routes_command

APPS = Path(__file__).parent / "apps"


def _rules(*specs, host_matching=False):
    url_map = Map(host_matching=host_matching)

    for endpoint, rule, methods, domain in specs:
        kwargs = {"host": domain} if host_matching else {"subdomain": domain}
        url_map.add(Rule(rule, endpoint=endpoint, methods=methods, **kwargs))

    return list(url_map.iter_rules())


PLAIN_RULES = (
    ("static", "/static/<path:filename>", ["GET"], None),
    ("index", "/", ["GET"], None),
    ("post", "/post", ["POST", "PUT"], None),
    ("api", "/api", ["DELETE", "GET"], None),
)


PLAIN_HEADER = [
    "Endpoint  Methods      Rule",
    "--------  -----------  -----------------------",
]


@pytest.mark.parametrize(
    ("sort", "body"),
    [
        pytest.param(
            "endpoint",
            [
                "api       DELETE, GET  /api",
                "index     GET          /",
                "post      POST, PUT    /post",
                "static    GET          /static/<path:filename>",
            ],
            id="endpoint",
        ),
        pytest.param(
            "methods",
            [
                "api       DELETE, GET  /api",
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
            ],
            id="methods-stable",
        ),
        pytest.param(
            "rule",
            [
                "index     GET          /",
                "api       DELETE, GET  /api",
                "post      POST, PUT    /post",
                "static    GET          /static/<path:filename>",
            ],
            id="rule",
        ),
        pytest.param(
            "match",
            [
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
                "api       DELETE, GET  /api",
            ],
            id="match-keeps-order",
        ),
        pytest.param(
            "domain",
            [
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
                "api       DELETE, GET  /api",
            ],
            id="domain-without-domains",
        ),
    ],
)
def test_format_routes_sorts_rows(sort, body):
    assert format_routes(_rules(*PLAIN_RULES), sort) == PLAIN_HEADER + body


def test_format_routes_all_methods_shows_head_and_options():
    lines = format_routes(
        _rules(("index", "/", ["GET", "OPTIONS"], None)), all_methods=True
    )
    assert lines == [
        "Endpoint  Methods             Rule",
        "--------  ------------------  ----",
        "index     GET, HEAD, OPTIONS  /",
    ]


@pytest.mark.parametrize(
    ("host_matching", "sort", "expected"),
    [
        pytest.param(
            False,
            "domain",
            [
                "Endpoint  Methods  Subdomain  Rule",
                "--------  -------  ---------  ------",
                "plain     GET                 /plain",
                "admin     GET      admin      /",
                "zeta      GET      blog       /z",
            ],
            id="subdomain",
        ),
        pytest.param(
            True,
            "endpoint",
            [
                "Endpoint  Methods  Host   Rule",
                "--------  -------  -----  ------",
                "admin     GET      admin  /",
                "plain     GET             /plain",
                "zeta      GET      blog   /z",
            ],
            id="host",
        ),
    ],
)
def test_format_routes_adds_domain_column_when_used(host_matching, sort, expected):
    rules = _rules(
        ("zeta", "/z", ["GET"], "blog"),
        ("admin", "/", ["GET"], "admin"),
        ("plain", "/plain", ["GET"], ""),
        host_matching=host_matching,
    )
    assert format_routes(rules, sort, host_matching=host_matching) == expected


def test_format_routes_rejects_unknown_sort():
    with pytest.raises(ValueError, match="sort must be one of endpoint"):
        format_routes([], "size")


def _routes_app():
    from cliapp.routesapp import app

    return app


@pytest.mark.parametrize(
    ("args", "endpoints"),
    [
        pytest.param([], ["aaa_get", "index", "static", "yyy_post"], id="default"),
        pytest.param(
            ["--sort", "rule"], ["index", "aaa_get", "yyy_post", "static"], id="rule"
        ),
        pytest.param(
            ["-s", "methods"], ["aaa_get", "static", "index", "yyy_post"], id="methods"
        ),
        pytest.param(
            ["-s", "match"], ["static", "index", "yyy_post", "aaa_get"], id="match"
        ),
    ],
)
def test_routes_sorts(args, endpoints):
    result = _routes_app().test_cli_runner().invoke(routes_command, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert [line.split()[0] for line in lines[2:]] == endpoints


def test_routes_methods_column():
    runner = _routes_app().test_cli_runner()
    rows = {
        line.split()[0]: line
        for line in runner.invoke(routes_command).output.splitlines()
    }
    assert "DELETE, GET " in rows["aaa_get"]
    assert "HEAD" not in rows["aaa_get"]
    rows = {
        line.split()[0]: line
        for line in runner.invoke(routes_command, ["--all-methods"]).output.splitlines()
    }
    assert "DELETE, GET, HEAD, OPTIONS" in rows["aaa_get"]
    assert "OPTIONS, POST, PUT" in rows["yyy_post"]


@pytest.mark.parametrize(
    ("factory", "column", "domains"),
    [
        pytest.param(
            "create_subdomain_app",
            "Subdomain",
            {"admin_index": "admin"},
            id="subdomain",
        ),
        pytest.param(
            "create_host_app",
            "Host",
            {"api_index": "api.example.test", "static": "static.example.test"},
            id="host",
        ),
    ],
)
def test_routes_domain_column(runner, group, factory, column, domains):
    args = ["--app", f"cliapp.routesapp:{factory}()", "routes", "-s", "domain"]
    result = runner.invoke(group, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", column, "Rule"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}

    for endpoint, domain in domains.items():
        assert rows[endpoint][2] == domain


def test_routes_without_rules(runner, group):
    result = runner.invoke(
        group, ["--app", "cliapp.routesapp:create_empty_app", "routes"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "No routes were registered.\n"


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_routes_in_a_real_process(run_gateway, script):
    result = run_gateway(
        "--app", "cliapp.routesapp", "routes", "--sort", "rule", script=script
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines[2:]] == [
        "/",
        "/get/<int:item>",
        "/post",
        "/static/<path:filename>",
    ]


@pytest.mark.parametrize(
    ("app", "message"),
    [
        pytest.param(
            "cliapp.nope", "Error: Could not import 'cliapp.nope'.", id="no-module"
        ),
        pytest.param(
            "cliapp.importerrorapp",
            "While importing 'cliapp.importerrorapp', an ImportError was raised",
            id="import-error",
        ),
        pytest.param(
            "cliapp.noapp",
            "Failed to find a gateway application or factory",
            id="no-app",
        ),
        pytest.param(
            "cliapp.multiapp", "Detected multiple gateway applications", id="several"
        ),
        pytest.param(
            "cliapp.factory_needs_args",
            "but could not call it without arguments",
            id="factory-args",
        ),
        pytest.param(
            "cliapp.app:nothing", "Failed to find attribute 'nothing'", id="attribute"
        ),
    ],
)
def test_routes_errors_in_a_real_process(run_gateway, app, message):
    result = run_gateway("--app", app, "routes")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_routes_uses_default_wsgi_file_in_a_real_process(run_gateway, tmp_path):
    (tmp_path / "cwd" / "wsgi.py").write_text(
        (APPS / "helloworld" / "wsgi.py").read_text()
    )
    result = run_gateway("routes")
    assert result.returncode == 0, result.stderr
    assert "index" in result.stdout


SITE_TOML = str(APPS / "gatewaysite" / "gateway.toml")


def _sections(output: str) -> dict[str, list[str]]:
    """Split ``routes --config`` output into heading -> table lines."""
    sections = {}

    for block in output.strip().split("\n\n"):
        heading, *lines = block.splitlines()
        sections[heading] = lines

    return sections


def test_routes_of_a_gateway_toml(runner, group):
    # The app named by GATEWAY_APP is broken: --config must not load it.
    env = {"GATEWAY_APP": "cliapp.broken"}
    result = runner.invoke(
        group, ["routes", "--config", SITE_TOML, "-s", "rule"], env=env
    )
    assert result.exit_code == 0, result.output
    sections = _sections(result.output)
    assert list(sections) == [
        "main at example.test/",
        "admin at example.test/admin/",
        "raw_wsgi at example.test/raw/",
        "Tenant applications are created on their first request; add '--tenant KEY'"
        " to list one.",
    ]
    assert [
        line.split()[-1] for line in sections["admin at example.test/admin/"][2:]
    ] == [
        "/admin/static/<path:filename>",
        "/admin/users",
    ]
    assert sections["raw_wsgi at example.test/raw/"] == [
        "(not a gateway application: its routes cannot be listed)"
    ]


def test_routes_of_a_gateway_toml_with_tenants(runner, group):
    args = ["routes", "--config", SITE_TOML, "--tenant", "acme", "--tenant", "beta"]
    result = runner.invoke(group, args)
    assert result.exit_code == 0, result.output
    sections = _sections(result.output)

    for key in ("acme", "beta"):
        rows = sections[f"tenant-{key} at {key}.example.test/"]
        assert rows[2].split() == ["dashboard", "GET", "/dashboard"]

    assert not any(heading.startswith("Tenant applications") for heading in sections)


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        pytest.param(
            ["--tenant", "nobody"],
            2,
            "the tenant factory has no application for 'nobody'.",
            id="unknown-tenant",
        ),
        pytest.param(
            ["--tenant", "explode"],
            1,
            "The tenant factory failed for 'explode': RuntimeError: tenant factory exploded",
            id="factory-raises",
        ),
    ],
)
def test_routes_of_a_gateway_toml_tenant_errors(
    runner, group, args, exit_code, message
):
    result = runner.invoke(group, ["routes", "--config", SITE_TOML, *args])
    assert result.exit_code == exit_code
    assert message in result.output


def test_routes_tenant_needs_config(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.app", "routes", "--tenant", "acme"])
    assert result.exit_code == 2
    assert "'--tenant' needs '--config'." in result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            '[gateway]\ndefault_app = "cliapp.app:testapp"\n',
            "has no [tenants] table",
            id="no-tenants-table",
        ),
        pytest.param("[gateway\n", "invalid TOML", id="invalid-toml"),
        pytest.param(
            '[gateway]\ndefault_app = "cliapp.nope:app"\n',
            "no module named 'cliapp.nope'",
            id="missing-app-module",
        ),
    ],
)
def test_routes_of_a_bad_gateway_toml(runner, group, tmp_path, toml, message):
    path = tmp_path / "gateway.toml"
    path.write_text(toml)
    result = runner.invoke(group, ["routes", "--config", str(path), "--tenant", "x"])
    assert result.exit_code != 0
    assert message in result.output


def test_routes_of_a_gateway_toml_in_a_real_process(run_gateway):
    args = ["routes", "--config", SITE_TOML, "--tenant", "acme"]
    result = run_gateway(*args, script=True)
    assert result.returncode == 0, result.stderr
    assert "tenant-acme at acme.example.test/" in result.stdout
    assert "/admin/users" in result.stdout


PROBE_ROUTES = ["core", "GET", "/core"]


@pytest.mark.parametrize(
    ("flask_compat", "core"),
    [
        pytest.param("true", SWITCHED, id="key-true"),
        pytest.param("false", REAL_FLASK, id="key-false"),
    ],
)
def test_routes_of_a_gateway_toml_applies_flask_compat_before_importing(
    tmp_path, flask_compat, core
):
    toml = write_probe_site(tmp_path / "site", flask_compat)
    result = run_child(
        [sys.executable, "-m", "gateway", "routes", "--config", toml], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert f"probe_app imported: {core}\n" in result.stderr
    assert PROBE_ROUTES in [line.split() for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("flask_compat", "core"),
    [
        pytest.param("true", SWITCHED, id="key-true"),
        pytest.param("false", COMMAND_SWITCH, id="key-false"),
    ],
)
def test_routes_of_an_app_applies_flask_compat_of_gateway_toml_in_cwd(
    tmp_path, flask_compat, core
):
    # `gateway routes` without --config loads one app, as `run` and `shell` do.
    site = tmp_path / "site"
    write_probe_site(site, flask_compat)
    result = run_child(
        [sys.executable, "-m", "gateway", "--app", "probe_app", "routes"], cwd=site
    )
    assert result.returncode == 0, result.stderr
    assert f"probe_app imported: {core}\n" in result.stderr
    assert PROBE_ROUTES in [line.split() for line in result.stdout.splitlines()]
