"""Pure forwarded-header rules: hop counting, RFC 7239, value validation,
trusted networks."""

from __future__ import annotations

import pytest

from gateway.dispatch.forwarded import (
    Forwarded,
    Hops,
    TrustedNetworks,
    clean_addr,
    clean_host,
    clean_port,
    clean_prefix,
    clean_proto,
    parse_forwarded,
    pick,
    resolve,
)


@pytest.mark.parametrize(
    ("value", "hops", "expected"),
    [
        pytest.param("1.1.1.1", 1, "1.1.1.1", id="one-value-one-hop"),
        pytest.param("6.6.6.6, 1.1.1.1", 1, "1.1.1.1", id="forged-first-value-ignored"),
        pytest.param("6.6.6.6, 1.1.1.1, 10.0.0.1", 2, "1.1.1.1", id="two-hops"),
        pytest.param("1.1.1.1", 2, None, id="fewer-values-than-hops"),
        pytest.param("1.1.1.1", 0, None, id="zero-hops"),
        pytest.param(None, 1, None, id="missing"),
        pytest.param("", 1, None, id="empty"),
        pytest.param("1.1.1.1, ", 1, None, id="empty-last-value"),
        pytest.param("  a ,  b  ", 1, "b", id="whitespace"),
    ],
)
def test_pick(value: str | None, hops: int, expected: str | None) -> None:
    assert pick(value, hops) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("for=192.0.2.60", [{"for": "192.0.2.60"}], id="single"),
        pytest.param(
            'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"',
            [
                {"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"},
                {"for": "[2001:db8:cafe::17]:4711"},
            ],
            id="rfc-example",
        ),
        pytest.param(
            'for="a,b";host=x', [{"for": "a,b", "host": "x"}], id="comma-in-quotes"
        ),
        pytest.param('for="a\\"b"', [{"for": 'a"b'}], id="escaped-quote"),
        pytest.param(
            "for=1.1.1.1 ; proto=https",
            [{"for": "1.1.1.1", "proto": "https"}],
            id="spaces",
        ),
        pytest.param("", [], id="empty"),
        pytest.param(None, [], id="missing"),
        pytest.param('for="unterminated', [], id="unclosed-quote"),
        pytest.param("for", [], id="pair-without-equals"),
        pytest.param("=x", [], id="empty-name"),
        pytest.param("for=a b", [], id="space-in-token"),
        pytest.param("for=1.1.1.1, junk", [], id="one-bad-element-voids-all"),
    ],
)
def test_parse_forwarded(value: str | None, expected: list[dict[str, str]]) -> None:
    assert parse_forwarded(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1.2.3.4", "1.2.3.4", id="ipv4"),
        pytest.param("1.2.3.4:5678", "1.2.3.4", id="ipv4-port"),
        pytest.param("2001:db8::1", "2001:db8::1", id="ipv6"),
        pytest.param("[2001:DB8::1]", "2001:db8::1", id="ipv6-brackets"),
        pytest.param("[2001:db8::1]:4711", "2001:db8::1", id="ipv6-port"),
        pytest.param("unknown", None, id="unknown"),
        pytest.param("_hidden", None, id="obfuscated"),
        pytest.param("1.2.3.4:x", None, id="bad-port"),
        pytest.param("<script>", None, id="junk"),
        pytest.param("[::1", None, id="unclosed"),
        pytest.param("[::1]x", None, id="junk-after-bracket"),
        pytest.param("", None, id="empty"),
    ],
)
def test_clean_addr(value: str, expected: str | None) -> None:
    assert clean_addr(value) == expected


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        pytest.param(clean_proto, "https", "https", id="proto-https"),
        pytest.param(clean_proto, "HTTP", "http", id="proto-upper"),
        pytest.param(clean_proto, "javascript", None, id="proto-other"),
        pytest.param(clean_proto, "", None, id="proto-empty"),
        pytest.param(
            clean_host, "acme.example.com:8443", "acme.example.com:8443", id="host-port"
        ),
        pytest.param(clean_host, "example.com@evil.tld", None, id="host-poison"),
        pytest.param(clean_host, "a b", None, id="host-space"),
        pytest.param(clean_port, "443", "443", id="port"),
        pytest.param(clean_port, "0443", "443", id="port-leading-zero"),
        pytest.param(clean_port, "0", None, id="port-zero"),
        pytest.param(clean_port, "65536", None, id="port-too-big"),
        pytest.param(clean_port, "https", None, id="port-name"),
        pytest.param(clean_port, "\xb2", None, id="port-superscript-digit"),
        pytest.param(clean_prefix, "/app", "/app", id="prefix"),
        pytest.param(clean_prefix, "/app/", "/app", id="prefix-trailing-slash"),
        pytest.param(clean_prefix, "/", "", id="prefix-root"),
        pytest.param(clean_prefix, "//app", "/app", id="prefix-double-slash"),
        pytest.param(clean_prefix, "app", None, id="prefix-relative"),
        pytest.param(clean_prefix, "/a/../b", None, id="prefix-dotdot"),
        pytest.param(clean_prefix, "/a/./b", None, id="prefix-dot"),
        pytest.param(clean_prefix, "/a?x", None, id="prefix-query"),
        pytest.param(clean_prefix, "/a\\b", None, id="prefix-backslash"),
        pytest.param(clean_prefix, "/a\nb", None, id="prefix-newline"),
        pytest.param(clean_prefix, "http://evil/", None, id="prefix-url"),
    ],
)
def test_clean_values(func, value: str, expected: str | None) -> None:
    assert func(value) == expected


@pytest.mark.parametrize(
    ("networks", "addr", "trusted"),
    [
        pytest.param(["127.0.0.1/32"], "127.0.0.1", True, id="exact"),
        pytest.param(["10.0.0.0/8"], "10.20.30.40", True, id="inside-cidr"),
        pytest.param(["10.0.0.0/8"], "11.0.0.1", False, id="outside-cidr"),
        pytest.param(["::1/128"], "::1", True, id="ipv6"),
        pytest.param(["127.0.0.0/8"], "::ffff:127.0.0.1", True, id="ipv4-mapped"),
        pytest.param(["fe80::/10"], "fe80::1%eth0", True, id="ipv6-zone"),
        pytest.param(["127.0.0.1/32"], "localhost", False, id="name-is-not-address"),
        pytest.param(["127.0.0.1/32"], "", False, id="empty"),
        pytest.param(["127.0.0.1/32"], None, False, id="missing"),
        pytest.param([], "127.0.0.1", False, id="no-networks-trust-none"),
        pytest.param(None, "6.6.6.6", True, id="none-trusts-all"),
    ],
)
def test_trusted_networks(
    networks: list[str] | None, addr: str | None, trusted: bool
) -> None:
    nets = TrustedNetworks(networks)
    assert (addr in nets) is trusted
    assert (addr in nets) is trusted  # cached answer is the same


def test_trusted_networks_cache_is_bounded() -> None:
    nets = TrustedNetworks(["10.0.0.0/8"], cache_size=8)
    for i in range(100):
        assert f"11.0.0.{i}" not in nets
    assert len(nets._cache) <= 8


def test_trusted_networks_rejects_bad_entries() -> None:
    with pytest.raises(ValueError, match="not a network"):
        TrustedNetworks(["10.0.0.300/8"])


@pytest.mark.parametrize(
    ("headers", "hops", "rfc", "expected"),
    [
        pytest.param(
            {
                "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.1.1.1",
                "HTTP_X_FORWARDED_PROTO": "https",
            },
            Hops(),
            False,
            Forwarded("1.1.1.1", "https", None, None, None),
            id="defaults-for-and-proto",
        ),
        pytest.param(
            {"HTTP_X_FORWARDED_HOST": "evil.tld", "HTTP_X_FORWARDED_PREFIX": "/x"},
            Hops(),
            False,
            Forwarded(None, None, None, None, None),
            id="host-and-prefix-off-by-default",
        ),
        pytest.param(
            {
                "HTTP_X_FORWARDED_HOST": "acme.example.com",
                "HTTP_X_FORWARDED_PORT": "8443",
                "HTTP_X_FORWARDED_PREFIX": "/app/",
            },
            Hops(x_host=1, x_port=1, x_prefix=1),
            False,
            Forwarded(None, None, "acme.example.com", "8443", "/app"),
            id="host-port-prefix",
        ),
        pytest.param(
            {"HTTP_X_FORWARDED_PROTO": "gopher", "HTTP_X_FORWARDED_FOR": "not-an-ip"},
            Hops(),
            False,
            Forwarded(None, None, None, None, None),
            id="invalid-values-ignored",
        ),
        pytest.param(
            {
                "HTTP_FORWARDED": 'for=6.6.6.6, for="[2001:db8::9]:1";proto=https;host=acme.example.com:8443'
            },
            Hops(x_host=1, x_port=1),
            True,
            Forwarded("2001:db8::9", "https", "acme.example.com:8443", "8443", None),
            id="rfc7239",
        ),
        pytest.param(
            {"HTTP_FORWARDED": "for=1.1.1.1", "HTTP_X_FORWARDED_FOR": "2.2.2.2"},
            Hops(),
            True,
            Forwarded("1.1.1.1", None, None, None, None),
            id="rfc7239-ignores-x-forwarded",
        ),
        pytest.param(
            {"HTTP_FORWARDED": "for=1.1.1.1", "HTTP_X_FORWARDED_FOR": "2.2.2.2"},
            Hops(),
            False,
            Forwarded("2.2.2.2", None, None, None, None),
            id="x-forwarded-ignores-rfc7239",
        ),
        pytest.param(
            {"HTTP_FORWARDED": "for=1.1.1.1;host=example.com"},
            Hops(x_port=1),
            True,
            Forwarded("1.1.1.1", None, None, None, None),
            id="rfc7239-host-without-port",
        ),
    ],
)
def test_resolve(
    headers: dict[str, str], hops: Hops, rfc: bool, expected: Forwarded
) -> None:
    assert resolve(headers, hops, rfc) == expected
