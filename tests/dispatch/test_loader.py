"""gateway.toml: parsing, validation with precise messages, import strings,
and building the composed gateway from a file."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from flask_switch_probe import (
    BUILD_AND_GET,
    REAL_FLASK,
    SERVED_BY,
    SWITCHED,
    run_child,
    write_probe_site,
)

from gateway import compat
from gateway.dispatch import (
    ConfigError,
    Gateway,
    HealthCheck,
    build_gateway,
    load_config,
)
from gateway.dispatch.gateway import REGISTRY_KEYS
from gateway.dispatch.limits import resolve_limit
from gateway.dispatch.loader import import_string
from gateway.toml import (
    LIMIT_KEYS,
    GatewayConfig,
    HealthConfig,
    ServerConfig,
    TenantsConfig,
    parse_config,
    parse_import_string,
    split_hostport,
)

MINIMAL = '[gateway]\nbase_domain = "example.com"\ndefault_app = "site.main:app"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(textwrap.dedent(text))
    return path


BROKEN = [
    pytest.param("", "[gateway]: missing table", id="empty-file"),
    pytest.param("[gateway\n", "invalid TOML", id="bad-toml"),
    pytest.param(
        '[gateway]\nbase_domain = "example.com"\n',
        "nothing to serve",
        id="nothing-to-serve",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nmax_instance = 10\n",
        '[tenants].max_instance: unknown key; did you mean "max_instances"?',
        id="typo-key-suggested",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nmax_instances = 'ten'\n",
        '[tenants].max_instances: expected an integer >= 1, got "ten"',
        id="string-for-int",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nmax_instances = 0\n",
        "[tenants].max_instances: expected an integer >= 1, got 0",
        id="int-below-range",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nmax_instances = true\n",
        "[tenants].max_instances: expected an integer >= 1, got true",
        id="bool-is-not-int",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nidle_timeout = -1\n",
        "[tenants].idle_timeout: expected a number of seconds >= 0, got -1",
        id="negative-seconds",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nfactory_timeout = -0.5\n",
        "[tenants].factory_timeout: expected a number of seconds >= 0, got -0.5",
        id="negative-factory-timeout",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nfactory_timeout = '30s'\n",
        '[tenants].factory_timeout: expected a number of seconds >= 0, got "30s"',
        id="string-factory-timeout",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make'\nnested = 'yes'\n",
        '[tenants].nested: expected true or false, got "yes"',
        id="string-for-bool",
    ),
    pytest.param(
        MINIMAL + "flask_compat = 'yes'\n",
        '[gateway].flask_compat: expected true or false, got "yes"',
        id="string-for-flask-compat",
    ),
    pytest.param(
        MINIMAL + "flask_compat = 1\n",
        "[gateway].flask_compat: expected true or false, got 1",
        id="int-for-flask-compat",
    ),
    pytest.param(
        MINIMAL.replace("[gateway]", "[gateway]\nflask-compat = true"),
        '[gateway].flask-compat: unknown key; did you mean "flask_compat"?',
        id="flask-compat-typo",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nmax_instances = 3\n",
        "[tenants].factory: missing required key",
        id="missing-factory",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t.make'\n",
        "[tenants].factory: expected 'module:attribute'",
        id="factory-without-colon",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site.t:make(os.environ)'\n",
        "[tenants].factory: only literal arguments are allowed",
        id="non-literal-factory-argument",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'site t:make'\n",
        "[tenants].factory: 'site t' is not a module name",
        id="bad-module-name",
    ),
    pytest.param(
        MINIMAL
        + "[tenants]\nfactory = 'site.t:make'\npattern = 'www.{tenant}.example.com'\n",
        "[tenants].pattern: the {tenant} placeholder must be the leftmost label",
        id="pattern-not-leftmost",
    ),
    pytest.param(
        '[gateway]\ndefault_app = "a:b"\n[tenants]\nfactory = "site.t:make"\n',
        "[tenants].pattern: missing: set [gateway].base_domain",
        id="tenants-without-domain",
    ),
    pytest.param(
        MINIMAL + "[tenants]\nfactory = 'a:b'\nrefresh_interval = 5\n",
        "[tenants].refresh_interval: needs [tenants].lookup",
        id="refresh-without-lookup",
    ),
    pytest.param(
        '[gateway]\nbase_domain = "example.com:80"\ndefault_app = "a:b"\n',
        "[gateway].base_domain: expected a bare domain name without port",
        id="domain-with-port",
    ),
    pytest.param(
        '[gateway]\nbase_domain = "exa mple.com"\ndefault_app = "a:b"\n',
        "[gateway].base_domain: 'exa mple.com' is not a valid domain name",
        id="domain-with-space",
    ),
    pytest.param(
        '[gateway]\nname = "my app"\ndefault_app = "a:b"\n',
        "[gateway].name: expected letters, digits",
        id="name-with-space",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "admin"\napp = "a:b"\n',
        "[[mounts]] #1 .prefix: must start with '/'",
        id="mount-without-slash",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "/admin/"\napp = "a:b"\n',
        "[[mounts]] #1 .prefix: must not end with '/'",
        id="mount-trailing-slash",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "/a//b"\napp = "a:b"\n',
        "[[mounts]] #1 .prefix: '/a//b' has an empty segment",
        id="mount-double-slash",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "/a/../b"\napp = "a:b"\n',
        "[[mounts]] #1 .prefix: '/a/../b' has a '..' segment",
        id="mount-dotdot",
    ),
    pytest.param(
        MINIMAL
        + '[[mounts]]\nprefix = "/a"\napp = "a:b"\n[[mounts]]\nprefix = "/a"\napp = "c:d"\n',
        "[[mounts]] #2 .prefix: duplicate mount '/a'",
        id="mount-duplicate",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "/a"\n',
        "[[mounts]] #1 .app: missing required key",
        id="mount-without-app",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefix = "/a"\napp = "a:b"\nhost = "*"\n',
        '[[mounts]] #1 .host: "*" mounts on every tenant, but there is no [tenants]',
        id="star-mount-without-tenants",
    ),
    pytest.param(
        MINIMAL + '[[mounts]]\nprefx = "/a"\napp = "a:b"\n',
        '[[mounts]] #1 .prefx: unknown key; did you mean "prefix"?',
        id="mount-key-typo",
    ),
    pytest.param(
        MINIMAL + '[mounts]\nprefix = "/a"\n',
        "[[mounts]]: expected an array of tables",
        id="mounts-as-table",
    ),
    pytest.param(
        MINIMAL + '[hosts]\n"status.example.com" = 3\n',
        '[hosts]."status.example.com": expected an import string, got 3',
        id="host-app-not-string",
    ),
    pytest.param(
        MINIMAL + "[hosts]\n\"bad host\" = 'a:b'\n",
        "[hosts].\"bad host\": 'bad host' is not a valid domain name",
        id="host-invalid",
    ),
    pytest.param(
        MINIMAL + "[tenant]\nfactory = 'a:b'\n",
        '[tenant]: unknown table or top-level key; did you mean "tenants"?',
        id="table-typo",
    ),
    pytest.param(
        'base_domain = "example.com"\n' + MINIMAL,
        '[base_domain]: unknown table or top-level key; did you mean to put it under "[gateway]"?',
        id="key-outside-table",
    ),
    pytest.param(
        MINIMAL + "[proxy]\ntrusted = ['10.0.0.1/8']\n",
        "[proxy].trusted: '10.0.0.1/8' is not a network",
        id="cidr-with-host-bits",
    ),
    pytest.param(
        MINIMAL + "[proxy]\ntrusted = '127.0.0.1'\n",
        '[proxy].trusted: expected an array of strings, got "127.0.0.1"',
        id="cidr-not-list",
    ),
    pytest.param(
        MINIMAL + "[proxy]\nx_for = -1\n",
        "[proxy].x_for: expected an integer >= 0, got -1",
        id="negative-hops",
    ),
    pytest.param(
        MINIMAL + "[health]\npath = 'health'\n",
        "[health].path: must start with '/'",
        id="health-path-relative",
    ),
    pytest.param(
        MINIMAL + "[server]\nadapter = 'gevnt'\n",
        "[server].adapter: expected one of dev, gevent",
        id="unknown-adapter",
    ),
    pytest.param(
        MINIMAL + "[server]\nadapter = 'gevnt'\n",
        'did you mean "gevent"?',
        id="unknown-adapter-suggestion",
    ),
    pytest.param(
        MINIMAL + "[server]\nbind = '127.0.0.1'\n",
        "[server].bind: expected 'host:port', got '127.0.0.1'",
        id="bind-without-port",
    ),
    pytest.param(
        MINIMAL + "[server]\nbind = '127.0.0.1:99999'\n",
        "[server].bind: expected a port 1-65535",
        id="bind-port-out-of-range",
    ),
    pytest.param(
        MINIMAL + "[server]\nworkers = 0\n",
        "[server].workers: expected an integer >= 1, got 0",
        id="zero-workers",
    ),
    pytest.param(
        MINIMAL + "[server]\nheader_timeout = 0\n",
        "[server].header_timeout: expected a number of seconds >= 1, got 0",
        id="zero-header-timeout",
    ),
    pytest.param(
        MINIMAL + "[server]\nkeepalive_timeout = -5\n",
        "[server].keepalive_timeout: expected a number of seconds >= 0, got -5",
        id="negative-keepalive-timeout",
    ),
    pytest.param(
        MINIMAL + "[server]\ntls_cert = 'cert.pem'\n",
        "[server].tls_key: tls_cert and tls_key must be set together",
        id="tls-half-configured",
    ),
    pytest.param(
        MINIMAL + "[server]\nserve_tls = true\n",
        "[server].serve_tls: needs tls_cert and tls_key",
        id="serve-tls-without-certificate",
    ),
    pytest.param(
        MINIMAL + "[server]\nuser = ''\n",
        "[server].user: expected a user/group name",
        id="empty-user",
    ),
    pytest.param(
        MINIMAL + "[[server.static]]\nurl = '/static'\n",
        "[[server.static]] #1 .path: missing required key",
        id="static-without-path",
    ),
    pytest.param(
        MINIMAL + "[[server.static]]\nurl = '/static'\npath = 's'\nhots = '*'\n",
        '[[server.static]] #1 .hots: unknown key; did you mean "host"?',
        id="static-key-typo",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


FULL = """
[gateway]
name = "acme-hosting"
base_domain = "Example.COM."
default_app = "site.main:app"
secret_key = "root"
debug = true

[tenants]
factory = "site.tenants:create_tenant"
nested = true
max_instances = 10
idle_timeout = 60.5
negative_ttl = 2
retry_after = 3
max_concurrent_factories = 4
factory_timeout = 7.5
refresh_interval = 30
lookup = "site.tenants:tenant_keys"

[hosts]
"Status.Example.com" = "site.status:app"
"other.org" = "site.other:app"

[[mounts]]
prefix = "/admin"
app = "site.admin:create_app('x', debug=True)"

[[mounts]]
prefix = "/api/v1"
app = "site.api:app"
host = "*"
redirect_slash = false

[proxy]
trusted = ["10.0.0.0/8"]
x_for = 2
x_host = 1
forwarded = true

[health]
path = "/healthz"
allow = ["10.1.0.0/16"]

[server]
adapter = "gunicorn"
bind = "[::1]:9000"
backends = ["10.0.0.2:8000"]
workers = 3
threads = 2
script_name = "/app"
header_timeout = 12.5
keepalive_timeout = 0
tls_cert = "certs/cert.pem"
tls_key = "/etc/key.pem"

[[server.static]]
url = "/static"
path = "site/static"
host = ""
"""


def test_full_file_parses_every_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.name == "acme-hosting"
    assert config.root == tmp_path.resolve()
    assert config.path == (tmp_path / "gateway.toml").resolve()
    assert config.base_domain == "example.com"
    assert config.debug is True
    tenants = config.tenants
    assert tenants is not None
    assert tenants.pattern == "{tenant}.example.com"
    assert (tenants.nested, tenants.max_instances, tenants.idle_timeout) == (
        True,
        10,
        60.5,
    )
    assert (
        tenants.negative_ttl,
        tenants.retry_after,
        tenants.max_concurrent_factories,
        tenants.factory_timeout,
    ) == (2, 3, 4, 7.5)
    assert tenants.lookup == "site.tenants:tenant_keys"
    assert dict(config.hosts) == {
        "status.example.com": "site.status:app",
        "other.org": "site.other:app",
    }
    assert [(m.prefix, m.host, m.redirect_slash) for m in config.mounts] == [
        ("/admin", "", True),
        ("/api/v1", "*", False),
    ]
    assert config.proxy.trusted == ("10.0.0.0/8",)
    assert (config.proxy.x_for, config.proxy.x_proto, config.proxy.x_host) == (2, 1, 1)
    assert config.proxy.forwarded is True
    assert config.health.path == "/healthz"
    server = config.server
    assert (server.adapter, server.bind_host, server.bind_port) == (
        "gunicorn",
        "::1",
        9000,
    )
    assert server.tls and server.tls_cert == str(tmp_path.resolve() / "certs/cert.pem")
    assert server.tls_key == "/etc/key.pem"
    assert server.script_name == "/app"
    assert (server.header_timeout, server.keepalive_timeout) == (12.5, 0)
    assert server.static[0].path == tmp_path.resolve() / "site/static"
    assert server.static[0].host == ""
    # trusted hosts derived: the base domain, its subdomains, outside hosts
    assert config.trusted_hosts == ("example.com", ".example.com", "other.org")


def test_defaults_are_resolved(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.name == tmp_path.name
    assert config.tenants is None
    assert config.proxy.trusted == ("127.0.0.1/32", "::1/128")
    assert (config.proxy.x_for, config.proxy.x_proto, config.proxy.x_host) == (1, 1, 0)
    assert config.health.path == "/_gateway/health"
    assert config.server.server_name == "example.com *.example.com"
    assert config.server.workdir == str(tmp_path.resolve())
    assert config.server.python_home == sys.prefix
    assert config.server.socket == f"/run/{tmp_path.name}/{tmp_path.name}.sock"
    assert config.trusted_hosts == ("example.com", ".example.com")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("flask_compat = true\n", True, id="true"),
        pytest.param("flask_compat = false\n", False, id="false"),
        pytest.param("", False, id="missing"),
    ],
)
def test_flask_compat_key_is_read(tmp_path: Path, line: str, expected: bool) -> None:
    assert load_config(write(tmp_path, MINIMAL + line)).flask_compat is expected


def test_flask_compat_key_is_the_one_the_switch_names() -> None:
    assert compat.TOML_KEY == "flask_compat"
    assert compat.TOML_KEY in GatewayConfig.__dataclass_fields__


def test_unix_bind_is_made_absolute(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL + "[server]\nbind = 'unix:run/gw.sock'\n")
    )
    assert config.server.bind_unix == str(tmp_path.resolve() / "run/gw.sock")
    assert config.server.bind_host is None and config.server.bind_port is None


def test_explicit_empty_trusted_hosts_allows_any(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL.replace("[gateway]", "[gateway]\ntrusted_hosts = []"))
    )
    assert config.trusted_hosts == ()


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        config.name = "other"  # type: ignore[misc]
    assert config.replace(name="other").name == "other"


def test_config_can_be_built_in_python(tmp_path: Path) -> None:
    config = GatewayConfig(name="x", root=tmp_path, default_app="a:b")
    assert config.server == ServerConfig()
    assert config.proxy.x_for == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("127.0.0.1:8000", ("127.0.0.1", 8000), id="ipv4"),
        pytest.param("[::1]:80", ("::1", 80), id="ipv6"),
        pytest.param("localhost:1", ("localhost", 1), id="name"),
    ],
)
def test_split_hostport(value: str, expected: tuple[str, int]) -> None:
    assert split_hostport(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("::1:80", id="ipv6-without-brackets"),
        pytest.param("[::1]80", id="bracket-without-colon"),
        pytest.param("host:", id="empty-port"),
        pytest.param(":80", id="empty-host"),
        pytest.param("host:0", id="port-zero"),
    ],
)
def test_split_hostport_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        split_hostport(value)


# -- import strings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        pytest.param("a.b:app", ("a.b", "app", False, (), {}), id="attribute"),
        pytest.param(
            "a:obj.app", ("a", "obj.app", False, (), {}), id="dotted-attribute"
        ),
        pytest.param("a:make()", ("a", "make", True, (), {}), id="call-no-args"),
        pytest.param(
            "a:make('x', 2, debug=True)",
            ("a", "make", True, ("x", 2), {"debug": True}),
            id="call-literals",
        ),
    ],
)
def test_parse_import_string(spec: str, parsed: tuple[object, ...]) -> None:
    assert tuple(parse_import_string(spec)) == parsed


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("a", id="no-colon"),
        pytest.param("a:", id="no-attribute"),
        pytest.param("a:b[0]", id="subscript"),
        pytest.param("a:make(x)", id="name-argument"),
        pytest.param("a:make(*args)", id="star-argument"),
        pytest.param("a:make(**kw)", id="double-star-argument"),
        pytest.param("a:b +", id="syntax-error"),
        pytest.param("1a:b", id="bad-module"),
    ],
)
def test_parse_import_string_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_import_string(spec)


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, str]:
    """A uniquely named package in tmp_path, removed from sys.modules after."""
    name = f"gwpkg_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"main"]

            def create_app(label="made", upper=False):
                def made(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [(label.upper() if upper else label).encode()]
                return made

            def explode():
                raise RuntimeError("factory exploded")

            def create_tenant(key):
                if key == "ghost":
                    return None
                return create_app(key)

            not_an_app = "a string"
            """
        )
    )
    (pkg / "broken.py").write_text(
        "import json\nraise ValueError('module is broken')\n"
    )
    (pkg / "importer.py").write_text("import gw_no_such_dependency_xyz\n")
    yield tmp_path, name
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    while str(tmp_path.resolve()) in sys.path:
        sys.path.remove(str(tmp_path.resolve()))


def test_import_string_attribute_and_factory_call(package: tuple[Path, str]) -> None:
    root, name = package
    app = import_string(f"{name}.good:app", root)
    assert callable(app) and app.__name__ == "app"
    made = import_string(f"{name}.good:create_app('hi', upper=True)", root)
    assert made({}, lambda *a: None) == [b"HI"]
    assert sys.path[0] == str(root.resolve())


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        pytest.param(
            ".missing:app", "no module named '{name}.missing'", id="missing-module"
        ),
        pytest.param(
            ".good:ap",
            "module '{name}.good' has no attribute 'ap'; did you mean \"app\"?",
            id="missing-attr",
        ),
        pytest.param(
            ".broken:app",
            "importing '{name}.broken' failed: ValueError: module is broken",
            id="error-in-module",
        ),
        pytest.param(
            ".importer:app",
            "importing '{name}.importer' failed: ModuleNotFoundError: No module named 'gw_no_such_dependency_xyz'",
            id="missing-dependency-inside-module",
        ),
        pytest.param(
            ".good:explode()",
            "calling {name}.good:explode() raised RuntimeError: factory exploded",
            id="factory-raises",
        ),
        pytest.param(
            ".good:not_an_app()",
            "{name}.good:not_an_app is not callable",
            id="call-non-callable",
        ),
        pytest.param(
            ".good:app(1, 2, 3)", "raised TypeError", id="factory-wrong-arguments"
        ),
    ],
)
def test_import_string_errors(
    package: tuple[Path, str], suffix: str, message: str
) -> None:
    root, name = package
    with pytest.raises(ConfigError) as info:
        import_string(name + suffix, root, "[tenants].factory")
    assert str(info.value).startswith("[tenants].factory: ")
    assert message.format(name=name) in str(info.value)


def test_import_error_inside_module_keeps_the_cause(package: tuple[Path, str]) -> None:
    root, name = package
    with pytest.raises(ConfigError) as info:
        import_string(f"{name}.broken:app", root)
    assert isinstance(info.value.__cause__, ValueError)


def test_missing_top_level_module(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no module named 'gw_nowhere_at_all'"):
        import_string("gw_nowhere_at_all.x:app", tmp_path)


# -- build_gateway --------------------------------------------------------------


def test_build_gateway_serves_the_file(package: tuple[Path, str], call) -> None:
    root, name = package
    path = write(
        root,
        f"""
        [gateway]
        base_domain = "example.com"
        default_app = "{name}.good:app"

        [tenants]
        factory = "{name}.good:create_tenant"

        [hosts]
        "status.example.com" = "{name}.good:create_app('status')"

        [[mounts]]
        prefix = "/admin"
        app = "{name}.good:create_app('admin')"
        """,
    )
    gateway = build_gateway(load_config(path))
    assert isinstance(gateway, Gateway)
    assert call(gateway, path="/", host="example.com").text == "main"
    assert call(gateway, path="/", host="acme.example.com").text == "acme"
    assert call(gateway, path="/", host="ghost.example.com").status == 404
    assert call(gateway, path="/", host="status.example.com").text == "status"
    assert call(gateway, path="/admin/x", host="example.com").text == "admin"
    assert call(gateway, path="/", host="elsewhere.org").status == 400


def test_every_tenants_key_reaches_the_registry(package: tuple[Path, str]) -> None:
    """A [tenants] key is where the tenants live (factory, pattern, nested),
    the lookup, or an AppRegistry option of the same name: a key added to
    TenantsConfig that is none of these would be read and then dropped."""
    where = {"factory", "pattern", "nested", "lookup", *LIMIT_KEYS}
    keys = {f.name for f in dataclasses.fields(TenantsConfig)}
    assert keys - where == set(REGISTRY_KEYS)
    root, name = package
    path = write(
        root,
        f"""
        [gateway]
        base_domain = "example.com"

        [tenants]
        factory = "{name}.good:create_tenant"
        max_instances = 7
        idle_timeout = 61
        negative_ttl = 3
        retry_after = 4
        max_concurrent_factories = 2
        factory_timeout = 8
        refresh_interval = 9
        lookup = "{name}.good:create_app"
        """,
    )
    gateway = build_gateway(load_config(path))
    registry = gateway.registry
    assert registry is not None and registry.lookup is not None
    assert (
        registry.max_instances,
        registry.idle_timeout,
        registry.negative_ttl,
        registry.retry_after,
        registry.refresh_interval,
        registry.factory_timeout,
    ) == (7, 61, 3, 4, 9, 8)
    assert registry._factories.slots is not None  # max_concurrent_factories


def test_a_gateway_built_in_python_has_the_defaults_of_the_file() -> None:
    gateway = Gateway(tenants=lambda key: None, base_domain="example.com")
    defaults = TenantsConfig(factory="m:f", pattern="{tenant}.example.com")
    registry = gateway.registry
    assert registry is not None
    for key in REGISTRY_KEYS:
        if hasattr(registry, key):
            expected = getattr(defaults, key)
            if key == "max_concurrent":  # None: derived from the threads
                expected = resolve_limit(expected, ServerConfig().threads)
            assert getattr(registry, key) == expected, key
    assert gateway.nested is defaults.nested
    assert gateway.health == HealthConfig()
    health_check = inspect.signature(HealthCheck).parameters
    assert health_check["path"].default == HealthConfig().path
    assert health_check["allow"].default == HealthConfig().allow


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param(
            'default_app = "{name}.good:not_an_app"',
            "[gateway].default_app: ",
            id="default-not-wsgi",
        ),
        pytest.param(
            'default_app = "{name}.nope:app"',
            "[gateway].default_app: no module named",
            id="default-missing",
        ),
    ],
)
def test_build_gateway_import_errors_name_the_key(
    package: tuple[Path, str], entry: str, message: str
) -> None:
    root, name = package
    path = write(root, "[gateway]\n" + entry.format(name=name) + "\n")
    with pytest.raises(ConfigError) as info:
        build_gateway(load_config(path))
    assert message in str(info.value)


def test_build_gateway_mount_error_names_the_entry(package: tuple[Path, str]) -> None:
    root, name = package
    path = write(
        root,
        f'[gateway]\ndefault_app = "{name}.good:app"\n'
        f'[[mounts]]\nprefix = "/a"\napp = "{name}.good:app"\n'
        f'[[mounts]]\nprefix = "/b"\napp = "{name}.good:explode()"\n',
    )
    with pytest.raises(
        ConfigError, match=r"\[\[mounts\]\] #2 \.app: calling .* raised RuntimeError"
    ):
        build_gateway(load_config(path))


def test_build_gateway_with_flask_compat_refuses_a_process_with_real_flask(
    tmp_path: Path,
) -> None:
    # The suite imported the real Flask (conftest.py): the switch cannot be
    # turned on, and nothing may be imported half-switched. The module named
    # does not exist, so reaching the imports would be a ConfigError instead.
    config = GatewayConfig(
        name="x", root=tmp_path, default_app="gw_never_imported:app", flask_compat=True
    )
    with pytest.raises(compat.FlaskAlreadyImported) as info:
        Gateway.from_config(config)
    message = str(info.value)
    assert message.startswith("[gateway].flask_compat = true cannot take effect: ")
    assert "Flask was imported" in message
    assert "before gateway's Flask compatibility switch was turned on" in message
    assert "gw_never_imported" not in sys.modules
    assert not compat.is_enabled()


@pytest.mark.parametrize(
    ("served_by", "flask_compat", "page", "switched"),
    [
        pytest.param("default_app", "true", SWITCHED, True, id="default-app"),
        pytest.param("mount", "true", SWITCHED, True, id="mount"),
        pytest.param("host", "true", SWITCHED, True, id="host"),
        pytest.param("tenants", "true", SWITCHED, True, id="tenant-factory"),
        pytest.param("default_app", "false", REAL_FLASK, False, id="key-false"),
        pytest.param("default_app", None, REAL_FLASK, False, id="key-missing"),
    ],
)
def test_build_gateway_turns_the_switch_on_before_importing_the_apps(
    tmp_path: Path,
    served_by: str,
    flask_compat: str | None,
    page: str,
    switched: bool,
) -> None:
    toml = write_probe_site(tmp_path / "site", flask_compat, served_by)
    _, _, host, path = SERVED_BY[served_by]
    result = run_child(
        [sys.executable, "-c", BUILD_AND_GET, toml, host, path], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"200 {page}",
        f"flask.Flask is gateway.App: {switched}",
    ]


def test_parse_config_accepts_a_dict(tmp_path: Path) -> None:
    config = parse_config({"gateway": {"default_app": "a:b", "name": "n"}}, tmp_path)
    assert config.name == "n" and config.path is None and config.base_domain == ""
