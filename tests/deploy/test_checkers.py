"""Every kind of generated file passes its own server's checker, for every
gateway.toml shape: tenants only, mounts only, both (under a sub-path), TLS,
and several backends behind a second proxy."""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import deploy_checks as checks
import pytest

from gateway.deploy import render

SHAPES = ("tenants", "mounts", "both", "tls", "backends")

#: (kind, adapter, shapes the kind can express, extra render options)
CASES: list[tuple[str, str, tuple[str, ...], dict[str, t.Any]]] = [
    ("nginx", "gunicorn", SHAPES, {}),
    ("nginx", "gevent", ("tenants", "both", "tls"), {"standalone": True}),
    ("nginx", "uwsgi", ("tenants", "mounts", "both", "tls", "backends"), {}),
    (
        "nginx",
        "fastcgi",
        ("tenants", "mounts", "both", "tls", "backends"),
        {"standalone": True},
    ),
    ("nginx", "cgi", ("tenants", "both", "tls"), {}),
    ("apache", "mod_wsgi", ("tenants", "mounts", "both", "tls"), {}),
    ("apache", "mod_wsgi", ("tenants", "both", "tls"), {"standalone": True}),
    ("apache-proxy", "gunicorn", SHAPES, {}),
    ("apache-proxy", "tornado", ("both", "tls", "backends"), {"standalone": True}),
    ("apache-fcgid", "fastcgi", ("tenants", "mounts", "both", "tls"), {}),
    ("apache-fcgid", "fastcgi", ("both",), {"standalone": True}),
    ("apache-cgi", "cgi", ("tenants", "mounts", "both", "tls"), {}),
    ("apache-cgi", "cgi", ("mounts",), {"standalone": True}),
    ("lighttpd", "fastcgi", ("tenants", "mounts", "both", "tls"), {}),
    ("lighttpd", "fastcgi", ("tenants", "both", "tls"), {"standalone": True}),
]

APACHE_MODES = {
    "apache": "wsgi",
    "apache-proxy": "proxy",
    "apache-fcgid": "fcgid",
    "apache-cgi": "cgi",
}


def _params() -> list[t.Any]:
    params = []
    for kind, adapter, shapes, options in CASES:
        for shape in shapes:
            mode = "standalone" if options.get("standalone") else "site"
            params.append(
                pytest.param(
                    kind, adapter, shape, options, id=f"{kind}-{adapter}-{shape}-{mode}"
                )
            )
    return params


@pytest.mark.parametrize(("kind", "adapter", "shape", "options"), _params())
def test_front_server_config_passes_its_checker(
    kind: str,
    adapter: str,
    shape: str,
    options: dict[str, t.Any],
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
) -> None:
    config = make_config(shape, adapter)
    out = tmp_path / "out"
    options = dict(options)
    if options.get("standalone"):
        options.update(
            runtime_dir=str(tmp_path / "run"), http_port=18080, https_port=18443
        )
        (tmp_path / "run").mkdir()
    files = render(kind, config, log_dir=str(tmp_path / "logs"), **options)
    (tmp_path / "logs").mkdir()
    if kind == "nginx":
        checks.check_nginx(out, files)
    elif kind == "lighttpd":
        checks.check_lighttpd(out, files)
    else:
        checks.check_apache(out, files, APACHE_MODES[kind], tls=shape == "tls")


@pytest.mark.parametrize(
    ("kind", "adapter", "suffix"),
    [
        pytest.param("htaccess-fcgi", "fastcgi", ".fcgi", id="fcgi"),
        pytest.param("htaccess-cgi", "cgi", ".cgi", id="cgi"),
    ],
)
@pytest.mark.parametrize("shape", ["mounts", "both"])
def test_htaccess_passes_apache_checker_in_directory_context(
    kind: str,
    adapter: str,
    suffix: str,
    shape: str,
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
) -> None:
    config = make_config(shape, adapter)
    # One .htaccess serves one directory of one site: keep the routes for
    # every host (host-specific ones are refused, see test_kinds).
    shared = tuple(s for s in config.server.static if s.host == "*")
    config = config.replace(server=dataclasses.replace(config.server, static=shared))
    files = render(kind, config)
    assert set(files) == {".htaccess", config.name + suffix}
    checks.check_htaccess(tmp_path, files, "fcgid" if adapter == "fastcgi" else "cgi")
    entry = config.name + suffix
    checks.check_python_entry(tmp_path / "entries", {entry: files[entry]})


@pytest.mark.parametrize(
    "adapter", ["gunicorn", "gevent", "tornado", "uwsgi", "fastcgi"]
)
@pytest.mark.parametrize("shape", ["tenants", "mounts", "both"])
def test_systemd_units_pass_systemd_analyze_verify(
    adapter: str, shape: str, make_config: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    files = render("systemd", make_config(shape, adapter))
    name = {"tenants": "acme", "mounts": "paths", "both": "both-site"}[shape]
    units = {f"{name}.service"} | (
        {f"{name}.socket"} if adapter == "gunicorn" else set()
    )
    assert set(files) == units
    # systemctl reload: a graceful reload with every service adapter.
    assert "\nExecReload=/bin/kill -s HUP $MAINPID\n" in files[f"{name}.service"]
    checks.check_systemd(tmp_path, files)


@pytest.mark.parametrize(
    "adapter", ["gunicorn", "gevent", "tornado", "uwsgi", "fastcgi"]
)
def test_supervisor_program_passes_supervisord_parser(
    adapter: str, make_config: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    config = make_config("tenants", adapter)
    (group,) = checks.check_supervisor(tmp_path, render("supervisor", config))
    (process,) = group.process_configs
    assert group.name == "acme"
    assert process.stopsignal.name == "SIGTERM"
    assert process.stopasgroup and process.killasgroup
    if adapter == "fastcgi":
        assert type(group).__name__ == "FastCGIGroupConfig"
        assert group.socket_config.url == f"unix://{config.server.socket}"
        assert process.command.endswith("/acme.fcgi")
    else:
        assert process.command.endswith(f"gateway.toml --adapter {adapter}")


@pytest.mark.parametrize("shape", ["tenants", "mounts", "both"])
@pytest.mark.parametrize("http", [False, True], ids=["uwsgi-protocol", "http-socket"])
def test_uwsgi_ini_is_accepted_by_uwsgi(
    shape: str, http: bool, make_config: t.Callable[..., t.Any], tmp_path: Path
) -> None:
    files = render("uwsgi", make_config(shape, "uwsgi"), uwsgi_http=http)
    checks.check_uwsgi(tmp_path, files)


@pytest.mark.parametrize(
    ("kind", "adapter", "suffix"),
    [
        pytest.param("wsgi-file", "mod_wsgi", ".wsgi", id="wsgi"),
        pytest.param("fcgi-file", "fastcgi", ".fcgi", id="fcgi"),
        pytest.param("cgi-file", "cgi", ".cgi", id="cgi"),
    ],
)
def test_entry_files_compile_and_name_the_toml_by_absolute_path(
    kind: str,
    adapter: str,
    suffix: str,
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
) -> None:
    config = make_config("tenants", adapter)
    files = render(kind, config)
    assert list(files) == [f"acme{suffix}"]
    assert repr(str(config.path.resolve())) in files[f"acme{suffix}"]
    checks.check_python_entry(tmp_path, files)
