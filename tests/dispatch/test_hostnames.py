"""Pure host-name rules: Host header parsing, tenant patterns, allow lists."""

from __future__ import annotations

import pytest
from werkzeug.sansio.utils import get_host, host_is_trusted

from gateway.hostnames import (
    HostAllowList,
    HostPattern,
    canonical_host,
    host_port,
    normalize_domain,
    parse_host,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("example.com", "example.com", id="plain"),
        pytest.param("example.com:8080", "example.com", id="port"),
        pytest.param("EXAMPLE.com", "example.com", id="upper-case"),
        pytest.param("example.com.", "example.com", id="trailing-dot"),
        pytest.param("Example.COM.:443", "example.com", id="case-dot-port"),
        pytest.param("example.com:", "example.com", id="empty-port"),
        pytest.param("acme.example.com", "acme.example.com", id="subdomain"),
        pytest.param("my-shop.example.com", "my-shop.example.com", id="hyphen"),
        pytest.param("127.0.0.1:8000", "127.0.0.1", id="ipv4"),
        pytest.param("[::1]:8000", "[::1]", id="ipv6-port"),
        pytest.param("[2001:DB8:0:0::1]", "[2001:db8::1]", id="ipv6-compressed"),
        pytest.param(
            "XN--BCHER-KVA.example.com",
            "xn--bcher-kva.example.com",
            id="punycode-upper",
        ),
        pytest.param("localhost", "localhost", id="single-label"),
    ],
)
def test_parse_host_normalises(raw: str, expected: str) -> None:
    assert parse_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("example.com@evil.tld", id="userinfo-poison"),
        pytest.param("user:pw@example.com", id="userinfo-with-colon"),
        pytest.param("example.com/evil", id="path"),
        pytest.param("example.com\\evil", id="backslash"),
        pytest.param("example.com evil", id="space"),
        pytest.param("example.com\r\nX: y", id="crlf"),
        pytest.param("example..com", id="empty-label"),
        pytest.param(".example.com", id="leading-dot"),
        pytest.param("example.com..", id="two-trailing-dots"),
        pytest.param("-acme.example.com", id="label-leading-hyphen"),
        pytest.param("acme-.example.com", id="label-trailing-hyphen"),
        pytest.param("under_score.example.com", id="underscore"),
        pytest.param("a" * 64 + ".example.com", id="label-too-long"),
        pytest.param(("a" * 60 + ".") * 5 + "com", id="name-too-long"),
        pytest.param("example.com:80:90", id="two-ports"),
        pytest.param("example.com:http", id="named-port"),
        pytest.param("example.com:65536", id="port-out-of-range"),
        pytest.param("example.com:0", id="port-zero"),
        pytest.param("example.com:0080", id="port-leading-zeros"),
        pytest.param("example.com:00", id="port-zeros"),
        pytest.param("example.com:²", id="port-non-ascii-digit"),
        pytest.param("[::1]:0", id="ipv6-port-zero"),
        pytest.param("bücher.example.com", id="utf8-text"),
        pytest.param("bücher.example.com".encode().decode("latin-1"), id="utf8-wsgi"),
        pytest.param("::1", id="ipv6-without-brackets"),
        pytest.param("[::1", id="ipv6-unclosed"),
        pytest.param("[::1]x", id="ipv6-junk-after"),
        pytest.param("[fe80::1%eth0]", id="ipv6-zone"),
        pytest.param("[not-an-ip]", id="ipv6-bad-literal"),
        pytest.param("exa\x00mple.com", id="nul"),
        pytest.param("x" * 400, id="absurdly-long"),
    ],
)
def test_parse_host_rejects(raw: str | None) -> None:
    assert parse_host(raw) is None


# The Host rule of issue 18: each value is either refused (None: a 400
# before dispatch) or accepted as (the host dispatch routes on, the Host the
# application is handed). The first four are the issue's.
CANONICAL_CASES = [
    pytest.param("localhost:0", None, id="issue-port-zero"),
    pytest.param("localhost:0080", None, id="issue-port-leading-zeros"),
    pytest.param(
        "t1.example.test:",
        ("t1.example.test", "t1.example.test"),
        id="issue-empty-port-dropped",
    ),
    pytest.param(
        "té.example.test".encode().decode("latin-1"), None, id="issue-raw-utf8"
    ),
    pytest.param("té.example.test", None, id="non-ascii-text"),
    pytest.param(
        "xn--t-bga.example.test",
        ("xn--t-bga.example.test", "xn--t-bga.example.test"),
        id="a-label",
    ),
    pytest.param(
        "XN--T-BGA.Example.Test",
        ("xn--t-bga.example.test", "xn--t-bga.example.test"),
        id="a-label-upper",
    ),
    pytest.param("localhost", ("localhost", "localhost"), id="plain"),
    pytest.param("localhost:1", ("localhost", "localhost:1"), id="port-one"),
    pytest.param(
        "localhost:65535", ("localhost", "localhost:65535"), id="port-highest"
    ),
    pytest.param("localhost:80", ("localhost", "localhost:80"), id="port-kept"),
    pytest.param("localhost:65536", None, id="port-above-range"),
    pytest.param("localhost:000", None, id="port-all-zeros"),
    pytest.param("localhost:+80", None, id="port-sign"),
    pytest.param("localhost: 80", None, id="port-space"),
    pytest.param("localhost:٨٠", None, id="port-arabic-digits"),
    pytest.param(
        "T1.Example.TEST", ("t1.example.test", "t1.example.test"), id="upper-case"
    ),
    pytest.param(
        "t1.example.test.", ("t1.example.test", "t1.example.test"), id="trailing-dot"
    ),
    pytest.param(
        "T1.example.test.:8080",
        ("t1.example.test", "t1.example.test:8080"),
        id="case-dot-port",
    ),
    pytest.param("[::1]:8000", ("[::1]", "[::1]:8000"), id="ipv6"),
    pytest.param("[0:0::1]:", ("[::1]", "[::1]"), id="ipv6-compressed-empty-port"),
    pytest.param("[::1]:08000", None, id="ipv6-port-leading-zero"),
    pytest.param("127.0.0.1:8000", ("127.0.0.1", "127.0.0.1:8000"), id="ipv4"),
    pytest.param(None, None, id="missing"),
    pytest.param("", None, id="empty"),
    pytest.param(":80", None, id="port-only"),
]


@pytest.mark.parametrize(("raw", "expected"), CANONICAL_CASES)
def test_canonical_host(raw: str | None, expected: tuple[str, str] | None) -> None:
    assert canonical_host(raw) == expected
    assert parse_host(raw) == (expected[0] if expected else None)


@pytest.mark.parametrize(("raw", "expected"), CANONICAL_CASES)
def test_werkzeug_reads_the_canonical_host(
    raw: str | None, expected: tuple[str, str] | None
) -> None:
    """What dispatch accepts, Werkzeug's request.host reads unchanged (minus
    the default port it drops); what it refuses here, Werkzeug would read as
    "" (dispatch refuses more elsewhere: empty labels, leading hyphens)."""
    if expected is None:
        assert not host_is_trusted(raw)
        return
    header = expected[1]
    assert host_is_trusted(header)
    assert get_host("http", header) == header.removesuffix(":80")
    assert get_host("https", header) == header


@pytest.mark.parametrize(
    ("raw", "port"),
    [
        pytest.param("example.com:8080", "8080", id="name"),
        pytest.param("[::1]:81", "81", id="ipv6"),
        pytest.param("example.com", "", id="none"),
        pytest.param(None, "", id="missing"),
        pytest.param("a:b:c", "", id="malformed"),
    ],
)
def test_host_port(raw: str | None, port: str) -> None:
    assert host_port(raw) == port


PATTERN_CASES = [
    pytest.param("acme.example.com", False, "acme", id="tenant"),
    pytest.param("example.com", False, None, id="bare-domain-is-not-a-tenant"),
    pytest.param("evilexample.com", False, None, id="suffix-without-dot"),
    pytest.param("acme.evilexample.com", False, None, id="tenant-of-lookalike"),
    pytest.param("example.com.evil.tld", False, None, id="domain-as-prefix"),
    pytest.param("a.b.example.com", False, None, id="nested-refused"),
    pytest.param("a.b.example.com", True, "a.b", id="nested-allowed"),
    pytest.param("xn--bcher-kva.example.com", False, "xn--bcher-kva", id="idna-key"),
    pytest.param("[::1]", False, None, id="ipv6"),
]


@pytest.mark.parametrize(("host", "nested", "key"), PATTERN_CASES)
def test_host_pattern_match(host: str, nested: bool, key: str | None) -> None:
    assert HostPattern("{tenant}.example.com", nested).match(host) == key


def test_host_pattern_normalises_and_builds() -> None:
    pattern = HostPattern("{tenant}.Example.COM.")
    assert pattern.pattern == "{tenant}.example.com"
    assert pattern.host_for("acme") == "acme.example.com"
    assert "example.com" in repr(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("www.{tenant}.example.com", id="not-leftmost"),
        pytest.param("{tenant}example.com", id="no-dot"),
        pytest.param("{tenant}.{tenant}.com", id="two-placeholders"),
        pytest.param("{tenant}.exa mple.com", id="bad-domain"),
        pytest.param("example.com", id="no-placeholder"),
    ],
)
def test_host_pattern_rejects(pattern: str) -> None:
    with pytest.raises(ValueError):
        HostPattern(pattern)


@pytest.mark.parametrize(
    ("entries", "host", "allowed"),
    [
        pytest.param(
            [".example.com"], "example.com", True, id="dot-entry-allows-domain"
        ),
        pytest.param(
            [".example.com"], "a.b.example.com", True, id="dot-entry-allows-subdomains"
        ),
        pytest.param(
            [".example.com"],
            "evilexample.com",
            False,
            id="dot-entry-is-not-a-suffix-match",
        ),
        pytest.param(
            ["example.com"], "acme.example.com", False, id="exact-entry-exact-only"
        ),
        pytest.param(["Example.COM."], "example.com", True, id="entries-normalised"),
        pytest.param(["localhost", "127.0.0.1"], "127.0.0.1", True, id="ip-entry"),
        pytest.param(["[::1]"], "[::1]", True, id="ipv6-entry"),
        pytest.param(["::1"], "[::1]", True, id="ipv6-entry-without-brackets"),
        pytest.param([], "anything.org", True, id="empty-allows-all"),
    ],
)
def test_allow_list(entries: list[str], host: str, allowed: bool) -> None:
    assert HostAllowList(entries).allows(host) is allowed


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("example.com:80", id="port"),
        pytest.param("exa mple.com", id="space"),
        pytest.param("[::1", id="broken-ipv6"),
        pytest.param(".", id="lone-dot"),
    ],
)
def test_allow_list_rejects_bad_entries(entry: str) -> None:
    with pytest.raises(ValueError):
        HostAllowList([entry])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Example.COM.", "example.com", id="normalised"),
        pytest.param("bücher.de", "xn--bcher-kva.de", id="idna"),
    ],
)
def test_normalize_domain(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("example.com:80", id="port"),
        pytest.param("example.com/x", id="path"),
        pytest.param("a@b", id="userinfo"),
        pytest.param("a..b", id="empty-label"),
    ],
)
def test_normalize_domain_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        normalize_domain(value)
