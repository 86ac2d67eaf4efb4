"""The SSRF guard: address rules, check_url, and refusal at connection time against a real local server."""

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from app.delivery.ssrf import (
    ForbiddenAddressError,
    GuardedResolver,
    HostResolver,
    UnsafeURLError,
    _guarded_socket,
    check_url,
    forbidden_reason,
    guarded_connector,
    is_forbidden_address,
    resolve_host,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

# What the fake DNS knows. Anything else does not resolve.
DNS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC_V4],
    "dual.example.com": [PUBLIC_V4, PUBLIC_V6],
    "xn--bcher-kva.example": [PUBLIC_V4],  # bücher.example, as yarl IDNA-encodes it
    "rebind.example.com": ["127.0.0.1"],
    "mixed.example.com": [PUBLIC_V4, "10.0.0.5"],
    "mixed6.example.com": [PUBLIC_V4, "::1"],
    "metadata.example.com": ["169.254.169.254"],
    "ula.example.com": [PUBLIC_V6, "fd12:3456::1"],
    "mapped.example.com": ["::ffff:192.168.0.1"],
    "garbage.example.com": ["not-an-address"],
    "empty.example.com": [],
}


def fake_dns(table: dict[str, list[str]]) -> HostResolver:
    async def resolve(host: str) -> Sequence[str]:
        try:
            return table[host.rstrip(".")]  # as DNS does: "name." is the fully qualified "name"
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    return resolve


async def no_dns(host: str) -> Sequence[str]:
    raise AssertionError(f"resolver must not be called, was asked for {host!r}")


# --- is_forbidden_address ---------------------------------------------------------------------------------

FORBIDDEN_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("0.0.0.0", "this network"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.0.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("169.254.1.1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("100.100.100.200", "metadata endpoint (Alibaba)"),
    ("192.0.0.192", "metadata endpoint (Oracle)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped address of 127.0.0.1, loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped address of 10.0.0.1, private"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("::ffff:0:7f00:1", "IPv4-translated"),
    ("64:ff9b::7f00:1", "NAT64 address of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address of 169.254.169.254"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::", "6to4 address of 127.0.0.1"),
    ("2002:a00:1::1", "6to4 address of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("fd00:ec2::254", "metadata endpoint (AWS IPv6)"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN_ADDRESSES, ids=[a for a, _ in FORBIDDEN_ADDRESSES])
def test_forbidden_address_is_refused_with_its_reason(address: str, reason: str) -> None:
    ip = ip_address(address)
    assert is_forbidden_address(ip)
    assert reason in (forbidden_reason(ip) or "")


PUBLIC_ADDRESSES = [
    "8.8.8.8",
    "1.1.1.1",
    PUBLIC_V4,
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",  # just below 172.16/12
    "172.32.0.0",  # just above 172.16/12
    PUBLIC_V6,
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # mapped public: the kernel connects to 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES, ids=PUBLIC_ADDRESSES)
def test_public_address_is_allowed(address: str) -> None:
    assert forbidden_reason(ip_address(address)) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv6_forms_embedding_an_ipv4_address_are_judged_by_it(value: int) -> None:
    v4 = IPv4Address(value)
    embedded = [
        IPv6Address(0xFFFF_0000_0000 | value),  # ::ffff:a.b.c.d
        IPv6Address((0x64_FF9B << 96) | value),  # 64:ff9b::a.b.c.d
        IPv6Address((0x2002 << 112) | (value << 80)),  # 2002:aabb:ccdd::
    ]
    assert [is_forbidden_address(ip) for ip in embedded] == [is_forbidden_address(v4)] * 3


@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10"]))
def test_every_address_of_a_private_range_is_forbidden(network: str) -> None:
    from ipaddress import IPv4Network

    net = IPv4Network(network)
    for ip in (net.network_address, net.network_address + 1, net.broadcast_address):
        assert is_forbidden_address(ip)


# --- check_url ------------------------------------------------------------------------------------------

REFUSED_URLS = [
    # IPv4 literals, in every spelling the socket layer accepts
    ("decimal-ipv4", "http://2130706433/", "127.0.0.1: loopback"),
    ("hex-ipv4", "http://0x7f000001/", "127.0.0.1: loopback"),
    ("octal-ipv4", "http://0177.0.0.1/", "127.0.0.1: loopback"),
    ("short-ipv4", "http://127.1/", "127.0.0.1: loopback"),
    ("mixed-hex-short-ipv4", "http://0x7f.1/", "127.0.0.1: loopback"),
    ("loopback", "http://127.0.0.1:8080/hook", "loopback"),
    ("loopback-trailing-dot", "http://127.0.0.1./", "loopback"),
    ("fullwidth-digits", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),
    ("zero-address", "http://0.0.0.0/", "this network"),
    ("zero-decimal", "http://0/", "this network"),
    ("private-10", "http://10.0.0.1/", "private"),
    ("private-172-16", "http://172.16.0.1/", "private"),
    ("private-172-31", "http://172.31.255.255/", "private"),
    ("private-192-168", "https://192.168.1.1/", "private"),
    ("cgnat", "http://100.64.0.1/", "carrier-grade NAT"),
    ("link-local", "http://169.254.10.10/", "link-local"),
    ("aws-metadata", "http://169.254.169.254/latest/meta-data", "metadata"),
    ("alibaba-metadata", "http://100.100.100.200/latest/meta-data", "metadata"),
    ("multicast", "http://224.0.0.1/", "multicast"),
    ("broadcast", "http://255.255.255.255/", "broadcast"),
    ("documentation", "http://192.0.2.10/", "documentation"),
    # IPv6 literals
    ("ipv6-unspecified", "http://[::]/", "unspecified"),
    ("ipv6-loopback", "http://[::1]:8080/", "loopback"),
    ("ipv4-mapped-dotted", "http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
    ("ipv4-mapped-hex", "http://[::ffff:7f00:1]/", "IPv4-mapped"),
    ("ipv4-compatible", "http://[::127.0.0.1]/", "IPv4-compatible"),
    ("nat64-loopback", "http://[64:ff9b::7f00:1]/", "NAT64"),
    ("6to4-private", "http://[2002:c0a8:101::1]/", "6to4"),
    ("aws-metadata-ipv6", "http://[fd00:ec2::254]/latest/meta-data", "metadata"),
    ("ipv6-ula", "http://[fd12:3456::1]/", "unique local"),
    ("ipv6-link-local-zone", "http://[fe80::1%25eth0]/", "link-local"),
    ("ipv6-site-local", "http://[fec0::1]/", "site-local"),
    ("ipv6-multicast", "http://[ff02::1]/", "multicast"),
    ("ipv6-invalid", "http://[::ffff:zzzz]/", "not a valid"),
    # internal names, refused without a lookup
    ("localhost", "http://localhost/", "internal name"),
    ("localhost-trailing-dot", "http://localhost./", "internal name"),
    ("localhost-uppercase", "http://LOCALHOST:8080/", "internal name"),
    ("localhost-subdomain", "http://foo.localhost/", "internal name"),
    ("gcp-metadata-name", "http://metadata.google.internal/computeMetadata/v1/", "internal name"),
    # names resolving somewhere forbidden
    ("resolves-to-loopback", "https://rebind.example.com/hook", "resolves to 127.0.0.1"),
    ("one-public-one-private-record", "https://mixed.example.com/hook", "resolves to 10.0.0.5"),
    ("public-a-loopback-aaaa", "https://mixed6.example.com/hook", "resolves to ::1"),
    ("resolves-to-metadata", "https://metadata.example.com/", "metadata"),
    ("resolves-to-ula", "https://ula.example.com/", "unique local"),
    ("resolves-to-mapped-private", "https://mapped.example.com/", "IPv4-mapped"),
    ("resolves-to-garbage", "https://garbage.example.com/", "not an IP address"),
    ("resolves-to-nothing", "https://empty.example.com/", "resolves to no address"),
    ("does-not-resolve", "https://nxdomain.example.com/", "does not resolve"),
    # the URL itself
    ("non-canonical-public-ipv4", "http://134744072/", "non-canonical IPv4 address: write it as 8.8.8.8"),
    ("ftp-scheme", "ftp://hooks.example.com/x", "scheme 'ftp' is not allowed"),
    ("file-scheme", "file:///etc/passwd", "scheme 'file' is not allowed"),
    ("gopher-scheme", "gopher://hooks.example.com:70/_x", "scheme 'gopher' is not allowed"),
    ("no-scheme", "hooks.example.com/x", "scheme '(none)' is not allowed"),
    ("credentials", "https://user:pass@hooks.example.com/x", "credentials"),
    ("username-only", "https://user@hooks.example.com/x", "credentials"),
    ("credentials-disguise", "https://hooks.example.com@127.0.0.1/x", "credentials"),
    ("no-host", "http:///x", "no host"),
    ("bad-port", "https://hooks.example.com:99999/", "not a valid URL"),
    ("backslash-authority", "http://hooks.example.com\\@127.0.0.1/", "not a valid URL"),
]


@pytest.mark.parametrize(("url", "reason"), [r[1:] for r in REFUSED_URLS], ids=[r[0] for r in REFUSED_URLS])
async def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        await check_url(url, allow_private=False, resolver=fake_dns(DNS))
    assert reason in str(info.value)


ACCEPTED_URLS = [
    ("public-name", "https://hooks.example.com/x"),
    ("public-name-with-port-and-query", "https://hooks.example.com:8443/x?a=1#f"),
    ("public-name-trailing-dot", "https://hooks.example.com./x"),
    ("public-name-a-and-aaaa", "https://dual.example.com/x"),
    ("idn-name", "https://bücher.example/x"),
    ("public-ipv4", f"http://{PUBLIC_V4}/x"),
    ("public-ipv6", f"http://[{PUBLIC_V6}]:8080/x"),
    ("ipv4-mapped-public", f"http://[::ffff:{PUBLIC_V4}]/x"),
    ("nat64-public", "http://[64:ff9b::5db8:d70e]/x"),
]


@pytest.mark.parametrize("url", [u for _, u in ACCEPTED_URLS], ids=[i for i, _ in ACCEPTED_URLS])
async def test_check_url_accepts_public(url: str) -> None:
    await check_url(url, allow_private=False, resolver=fake_dns(DNS))


async def test_check_url_does_not_resolve_ip_literals() -> None:
    await check_url(f"https://{PUBLIC_V4}/x", allow_private=False, resolver=no_dns)


async def test_resolve_host_returns_every_address_from_getaddrinfo() -> None:
    # The default resolver of check_url; "localhost" comes from the hosts file, so no network is needed.
    addresses = await resolve_host("localhost")
    assert "127.0.0.1" in addresses
    assert len(addresses) == len(set(addresses))


PRIVATE_URLS = [
    ("loopback", "http://127.0.0.1:8080/hook"),
    ("localhost", "http://localhost:8080/hook"),
    ("ipv6-loopback", "http://[::1]:8080/hook"),
    ("private-10", "http://10.0.0.1/hook"),
    ("metadata", "http://169.254.169.254/latest/meta-data"),
    ("resolves-to-loopback", "https://rebind.example.com/hook"),
]


@pytest.mark.parametrize("url", [u for _, u in PRIVATE_URLS], ids=[i for i, _ in PRIVATE_URLS])
async def test_allow_private_lifts_the_address_rules_without_resolving(url: str) -> None:
    await check_url(url, allow_private=True, resolver=no_dns)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/", "scheme"),
        ("http:///x", "no host"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http://127.1/", "non-canonical"),
    ],
    ids=["scheme", "no-host", "credentials", "non-canonical-ipv4"],
)
async def test_allow_private_still_requires_a_well_formed_url(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        await check_url(url, allow_private=True, resolver=no_dns)


def test_unsafe_url_error_is_a_value_error() -> None:
    # So a schema validator that converts ValueError into a 422 handles it without special casing.
    assert issubclass(UnsafeURLError, ValueError)


# --- GuardedResolver ------------------------------------------------------------------------------------


class StaticResolver(AbstractResolver):
    """An aiohttp resolver answering from a table, counting the questions."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        pass


async def test_guarded_resolver_drops_forbidden_addresses() -> None:
    resolver = GuardedResolver(
        StaticResolver({"h": [PUBLIC_V4, "10.0.0.5", "::1", PUBLIC_V6]}), allow_private=False
    )
    results = await resolver.resolve("h", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in results] == [PUBLIC_V4, PUBLIC_V6]


async def test_guarded_resolver_refuses_when_only_forbidden_addresses_remain() -> None:
    resolver = GuardedResolver(StaticResolver({"h": ["127.0.0.1", "::1"]}), allow_private=False)
    with pytest.raises(ForbiddenAddressError, match=r"127\.0\.0\.1 \(loopback\)") as info:
        await resolver.resolve("h", 443, socket.AF_UNSPEC)
    assert isinstance(info.value, OSError)


async def test_guarded_resolver_reports_an_empty_answer_as_a_lookup_failure() -> None:
    resolver = GuardedResolver(StaticResolver({"h": []}), allow_private=False)
    with pytest.raises(OSError, match="no address"):
        await resolver.resolve("h", 443, socket.AF_UNSPEC)


async def test_guarded_resolver_passes_everything_with_allow_private() -> None:
    resolver = GuardedResolver(StaticResolver({"h": ["127.0.0.1", PUBLIC_V4]}), allow_private=True)
    results = await resolver.resolve("h", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in results] == ["127.0.0.1", PUBLIC_V4]


async def test_guarded_resolver_wraps_the_default_resolver() -> None:
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(ForbiddenAddressError):
            await resolver.resolve("localhost", 80, socket.AF_UNSPEC)
    finally:
        await resolver.close()


# --- connect time, against a real local server ----------------------------------------------------------


@dataclass
class LocalServer:
    """A raw TCP HTTP server on 127.0.0.1 that counts every connection it accepts."""

    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.requests.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def local_server() -> AsyncIterator[LocalServer]:
    state = LocalServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


async def post(connector: aiohttp.TCPConnector, url: str) -> int:
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(url, json={"hello": "world"}, allow_redirects=False) as response,
    ):
        return response.status


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"],
    ids=["ipv4-literal", "ipv4-mapped-literal", "ipv6-literal"],
)
async def test_connector_refuses_forbidden_ip_literal_without_connecting(
    local_server: LocalServer, host: str
) -> None:
    # aiohttp skips the resolver for literals: this is the socket factory's refusal.
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(guarded_connector(allow_private=False, limit=4), f"http://{host}:{local_server.port}/")
    assert isinstance(info.value.os_error, ForbiddenAddressError)
    assert "loopback" in str(info.value)
    assert local_server.connections == 0


async def test_connector_refuses_localhost_without_connecting(local_server: LocalServer) -> None:
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(guarded_connector(allow_private=False, limit=4), f"http://localhost:{local_server.port}/")
    assert isinstance(info.value.os_error, ForbiddenAddressError)
    assert local_server.connections == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["ipv4-literal", "localhost"])
async def test_connector_with_allow_private_connects(local_server: LocalServer, host: str) -> None:
    status = await post(guarded_connector(allow_private=True, limit=4), f"http://{host}:{local_server.port}/")
    assert status == 204
    assert len(local_server.requests) == 1
    assert local_server.requests[0].endswith(b'{"hello": "world"}')


async def test_dns_rebinding_is_refused_at_connect_time(local_server: LocalServer) -> None:
    url = f"http://hooks.example.com:{local_server.port}/hook"
    # At subscription time the name answered with a public address...
    await check_url(url, allow_private=False, resolver=fake_dns({"hooks.example.com": [PUBLIC_V4]}))
    # ...by delivery time it answers with loopback.
    rebound = StaticResolver({"hooks.example.com": ["127.0.0.1"]})
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(guarded_connector(allow_private=False, limit=4, resolver=rebound), url)
    assert isinstance(info.value.os_error, ForbiddenAddressError)
    assert rebound.asked == ["hooks.example.com"]
    assert local_server.connections == 0


def test_socket_factory_creates_the_socket_for_a_public_address() -> None:
    # The one branch a network-free test cannot reach through a real connection.
    addr_info = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC_V4, 443))
    with _guarded_socket(addr_info) as sock:
        assert (sock.family, sock.type) == (socket.AF_INET, socket.SOCK_STREAM)


@pytest.mark.parametrize(
    ("address", "reason"),
    [("169.254.169.254", "metadata"), ("hooks.example.com", "not a numeric address")],
    ids=["metadata", "name-instead-of-address"],
)
def test_socket_factory_refuses_before_creating_a_socket(address: str, reason: str) -> None:
    addr_info = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 80))
    with pytest.raises(ForbiddenAddressError, match=reason):
        _guarded_socket(addr_info)


async def test_connector_keeps_its_limit() -> None:
    connector = guarded_connector(allow_private=False, limit=7)
    try:
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector.limit == 7
    finally:
        await connector.close()
