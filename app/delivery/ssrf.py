"""The SSRF guard: which callback URLs and addresses Switchboard may send deliveries to.

A subscriber chooses the callback URL, so without a guard anyone with an API token could make
Switchboard POST to its own loopback services, the private network, or a cloud metadata endpoint.
The guard has two layers, because a URL that was safe when the subscription was created can point
elsewhere when a delivery runs (DNS rebinding, a changed record, an edited hosts file):

* :func:`check_url`, at subscription create/update time: scheme, host, credentials, well-known
  internal names, and every address the host resolves to (contract section 5 → 422).
* :func:`guarded_connector`, at connection time: an aiohttp ``TCPConnector`` whose resolver drops
  forbidden addresses and whose socket factory refuses a forbidden address immediately before
  ``connect()``, so the rule is checked against the address actually connected to (section 6).

Exceptions::

    SSRFError
    ├── UnsafeURLError (also ValueError)       check_url refused the URL; the message says why
    └── ForbiddenAddressError (also OSError)   the connector refused an address; aiohttp wraps it
                                               in ClientConnectorError, available as ``.os_error``
"""

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TypeAlias

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import AddrInfoType
from yarl import URL

__all__ = [
    "ForbiddenAddressError",
    "GuardedResolver",
    "HostResolver",
    "SSRFError",
    "UnsafeURLError",
    "check_url",
    "forbidden_reason",
    "guarded_connector",
    "is_forbidden_address",
    "resolve_host",
]

IPAddress: TypeAlias = IPv4Address | IPv6Address
#: Resolves a host name to every address it has (A and AAAA), as strings; raises OSError on failure.
HostResolver: TypeAlias = Callable[[str], Awaitable[Sequence[str]]]


class SSRFError(Exception):
    """A callback URL or address was refused by the SSRF rule."""


class UnsafeURLError(SSRFError, ValueError):
    """:func:`check_url` refused a callback URL; ``str(exc)`` is a message fit for an API client."""


class ForbiddenAddressError(SSRFError, OSError):
    """The guarded connector refused to connect to an address.

    An ``OSError`` because aiohttp turns resolver and socket errors into ``ClientConnectorError``
    (keeping this as ``.os_error``); ``EACCES`` so that error's message carries our text.
    """

    def __init__(self, message: str) -> None:
        super().__init__(errno.EACCES, message)


# --- which addresses are forbidden ------------------------------------------------------------------------

# Named explicitly rather than left to ``ipaddress``'s ``is_private``/``is_global``, whose tables changed
# between 3.11 patch releases; the properties still run afterwards as a catch-all.
_METADATA: dict[IPAddress, str] = {
    IPv4Address("169.254.169.254"): "cloud metadata endpoint (AWS, GCP, Azure, OpenStack)",
    IPv4Address("169.254.170.2"): "cloud metadata endpoint (AWS ECS task)",
    IPv4Address("100.100.100.200"): "cloud metadata endpoint (Alibaba)",
    IPv4Address("192.0.0.192"): "cloud metadata endpoint (Oracle)",
    IPv6Address("fd00:ec2::254"): "cloud metadata endpoint (AWS IPv6)",
}

_IPV4_BROADCAST = IPv4Address("255.255.255.255")
_IPV4_NETWORKS: tuple[tuple[IPv4Network, str], ...] = (
    (IPv4Network("0.0.0.0/8"), "'this network' (0.0.0.0/8; 0.0.0.0 reaches the local host)"),
    (IPv4Network("10.0.0.0/8"), "private (RFC 1918)"),
    (IPv4Network("100.64.0.0/10"), "carrier-grade NAT shared space (RFC 6598)"),
    (IPv4Network("127.0.0.0/8"), "loopback"),
    (IPv4Network("169.254.0.0/16"), "link-local"),
    (IPv4Network("172.16.0.0/12"), "private (RFC 1918)"),
    (IPv4Network("192.0.0.0/24"), "IETF protocol assignments"),
    (IPv4Network("192.0.2.0/24"), "documentation (TEST-NET-1)"),
    (IPv4Network("192.88.99.0/24"), "6to4 relay anycast (deprecated)"),
    (IPv4Network("192.168.0.0/16"), "private (RFC 1918)"),
    (IPv4Network("198.18.0.0/15"), "benchmarking"),
    (IPv4Network("198.51.100.0/24"), "documentation (TEST-NET-2)"),
    (IPv4Network("203.0.113.0/24"), "documentation (TEST-NET-3)"),
    (IPv4Network("224.0.0.0/4"), "multicast"),
    (IPv4Network("240.0.0.0/4"), "reserved"),
)

_IPV6_COMPATIBLE = IPv6Network("::/96")
_IPV6_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
_IPV6_NETWORKS: tuple[tuple[IPv6Network, str], ...] = (
    (IPv6Network("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"),
    (IPv6Network("100::/64"), "discard-only (RFC 6666)"),
    (IPv6Network("2001::/23"), "IETF protocol assignments"),
    (IPv6Network("2001:db8::/32"), "documentation"),
    (IPv6Network("3fff::/20"), "documentation"),
    (IPv6Network("5f00::/16"), "SRv6 SIDs (RFC 9602)"),
    (IPv6Network("fc00::/7"), "unique local (private)"),
    (IPv6Network("fe80::/10"), "link-local"),
    (IPv6Network("fec0::/10"), "site-local (deprecated)"),
    (IPv6Network("ff00::/8"), "multicast"),
)


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why Switchboard must not connect to ``ip``, or ``None`` for a public unicast address."""
    if isinstance(ip, IPv6Address):
        return _ipv6_reason(ip)
    return _ipv4_reason(ip)


def is_forbidden_address(ip: IPAddress) -> bool:
    """True for any address that is not public unicast: see :func:`forbidden_reason`."""
    return forbidden_reason(ip) is not None


def _ipv4_reason(ip: IPv4Address) -> str | None:
    if ip in _METADATA:
        return _METADATA[ip]
    if ip == _IPV4_BROADCAST:
        return "broadcast"
    for network, reason in _IPV4_NETWORKS:
        if ip in network:
            return reason
    if not ip.is_global:
        return "not globally routable"
    return None


def _ipv6_reason(ip: IPv6Address) -> str | None:
    # A zone id (fe80::1%eth0) picks an interface, not a different address; compare without it
    # (scoped addresses are unequal to their unscoped form, so a set lookup would miss them).
    ip = IPv6Address(int(ip))
    if ip in _METADATA:
        return _METADATA[ip]
    # Addresses that carry an IPv4 address are judged by it: the kernel (mapped) or a translator
    # (NAT64, 6to4) delivers them to that IPv4 address. Decided here, before the catch-all below,
    # because ``ipaddress`` calls all of ::/8 (which holds NAT64) "reserved".
    if (mapped := ip.ipv4_mapped) is not None:
        return _embedded_reason("IPv4-mapped", mapped)
    if ip.is_unspecified:
        return "unspecified (:: reaches the local host)"
    if ip.is_loopback:
        return "loopback"
    if ip in _IPV6_COMPATIBLE:
        # Deprecated and unused on the public internet; some stacks route ::a.b.c.d to a.b.c.d.
        return "IPv4-compatible (deprecated)"
    if ip in _IPV6_TRANSLATED:
        return "IPv4-translated (SIIT)"
    if ip in _NAT64_WELL_KNOWN:
        return _embedded_reason("NAT64", IPv4Address(int(ip) & 0xFFFF_FFFF))
    if (sixtofour := ip.sixtofour) is not None:
        return _embedded_reason("6to4", sixtofour)
    if ip.teredo is not None:
        # The client address is obfuscated and the relay arbitrary: nothing to check, no reason to allow.
        return "Teredo tunnel"
    for network, reason in _IPV6_NETWORKS:
        if ip in network:
            return reason
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def _embedded_reason(kind: str, embedded: IPv4Address) -> str | None:
    reason = _ipv4_reason(embedded)
    return None if reason is None else f"{kind} address of {embedded}, {reason}"


def _parse_ip(text: str) -> IPAddress | None:
    """A numeric address as a resolver or socket gives it (zone id allowed), or None."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


# --- check_url: at subscription time --------------------------------------------------------------------

# Names that reach the local host or a metadata service without needing DNS (hosts files, resolver
# special cases, cloud search domains). Refused by name so the message is clear and no lookup runs.
_INTERNAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "ip6-localhost",
        "ip6-loopback",
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
# Characters of the legacy numeric IPv4 forms inet_aton accepts (0x7f.1, 0177.0.0.1, 2130706433).
_NUMERIC_HOST_CHARS = frozenset("0123456789abcdefx.")


async def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), via the event loop's ``getaddrinfo``."""
    # No AI_ADDRCONFIG: we want every record, including IPv6 ones on an IPv4-only machine,
    # since another worker (or a later network) could connect to any of them.
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: str, *, allow_private: bool, resolver: HostResolver = resolve_host) -> None:
    """Refuse a callback URL that is malformed or could reach a forbidden address.

    Requires http or https, a host, and no ``user:password@``. The host is read the way aiohttp will
    read it (yarl's ``raw_host``, IDNA-encoded, IPv6 brackets removed), and an all-numeric host the
    way the socket layer would (``inet_aton``: ``2130706433``, ``0x7f000001``, ``0177.0.0.1``,
    ``127.1``). Internal names (``localhost``, ``*.localhost``, metadata hosts) are refused without a
    lookup; any other name must resolve, and to no forbidden address at all.

    ``allow_private`` (``SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS``) skips every address rule and the lookup.
    Raises :class:`UnsafeURLError` with a message naming the reason.
    """
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise UnsafeURLError(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "(none)"
        raise UnsafeURLError(f"URL scheme {shown!r} is not allowed: use http or https")
    host = parsed.raw_host
    if not host:
        raise UnsafeURLError("URL has no host")
    # Credentials would be sent as basic auth and stored in plain text with the subscription, and
    # "https://trusted.example@evil.example/" style URLs exist to mislead whoever reads them.
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UnsafeURLError("URL must not contain credentials (user:password@)")

    literal = _literal_address(host)
    if literal is not None:
        address, canonical = literal
        if not allow_private and (reason := forbidden_reason(address)) is not None:
            raise UnsafeURLError(f"host {host!r} is the address {address}: {reason}")
        if not canonical:
            # aiohttp 3.14 refuses to connect to these forms, and other parsers disagree on them.
            raise UnsafeURLError(f"host {host!r} is a non-canonical IPv4 address: write it as {address}")
        return
    if allow_private:
        return

    name = host.rstrip(".")
    if name in _INTERNAL_NAMES or name.endswith(".localhost"):
        raise UnsafeURLError(f"host {host!r} is an internal name")
    try:
        addresses = await resolver(host)
    except OSError as exc:
        raise UnsafeURLError(f"host {host!r} does not resolve ({exc})") from exc
    if not addresses:
        raise UnsafeURLError(f"host {host!r} resolves to no address")
    # ANY forbidden record refuses the URL: the connection may pick any of them, in any order.
    for text in addresses:
        ip = _parse_ip(text)
        if ip is None:
            raise UnsafeURLError(f"host {host!r} resolves to {text!r}, which is not an IP address")
        if (reason := forbidden_reason(ip)) is not None:
            raise UnsafeURLError(f"host {host!r} resolves to {ip}: {reason}")


def _literal_address(host: str) -> tuple[IPAddress, bool] | None:
    """The address a URL's raw host denotes and whether it is written canonically; None for a name."""
    if ":" in host:
        # yarl has already split off the port, so a colon means a bracketed IPv6 literal.
        ip = _parse_ip(host)
        if ip is None:
            raise UnsafeURLError(f"host {host!r} is not a valid IPv6 address")
        return ip, True
    try:
        return IPv4Address(host), True
    except ValueError:
        pass
    # The legacy forms: getaddrinfo() hands numeric-looking hosts to inet_aton, which reads
    # 127.1, 0x7f.0.0.1, 0177.0.0.1 and 2130706433 all as 127.0.0.1. A trailing dot does not make
    # them names. The character filter keeps inet_aton's tolerance of trailing junk out.
    numeric = host.rstrip(".")
    if not numeric or not set(numeric) <= _NUMERIC_HOST_CHARS:
        return None
    try:
        packed = socket.inet_aton(numeric)
    except OSError:
        return None
    return IPv4Address(packed), False


# --- connect time ----------------------------------------------------------------------------------------


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops forbidden addresses from another resolver's answer.

    Raises :class:`ForbiddenAddressError` (an ``OSError``; aiohttp reports it as
    ``ClientConnectorDNSError``) when no allowed address remains. With ``allow_private`` it passes
    every answer through. Wraps aiohttp's ``DefaultResolver`` unless ``inner`` is given, and closes
    only a resolver it created.
    """

    def __init__(self, inner: AbstractResolver | None = None, *, allow_private: bool) -> None:
        self._owns_inner = inner is None
        self._inner: AbstractResolver = inner if inner is not None else aiohttp.DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        allowed: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            ip = _parse_ip(result["host"])
            reason = "not a numeric address" if ip is None else forbidden_reason(ip)
            if reason is None:
                allowed.append(result)
            else:
                refused.append(f"{result['host']} ({reason})")
        if allowed:
            return allowed
        if not refused:
            # aiohttp asserts on an empty answer rather than reporting it; fail as a lookup would.
            raise OSError(errno.ENOENT, f"{host!r} resolved to no address")
        raise ForbiddenAddressError(f"{host!r} resolves only to forbidden addresses: {', '.join(refused)}")

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()


def _guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """aiohttp ``socket_factory``: refuse a forbidden address right before it is connected to."""
    family, type_, proto, _, sockaddr = addr_info
    host = str(sockaddr[0])
    ip = _parse_ip(host)
    if ip is None:
        # asyncio's sock_connect would resolve a name itself, behind our back: fail closed.
        raise ForbiddenAddressError(f"refusing to connect to {host!r}: not a numeric address")
    if (reason := forbidden_reason(ip)) is not None:
        raise ForbiddenAddressError(f"refusing to connect to {ip}: {reason}")
    return socket.socket(family=family, type=type_, proto=proto)


class _GuardedTCPConnector(aiohttp.TCPConnector):
    # TCPConnector never closes a resolver it was handed; this one was made for the connector alone.
    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            await self._resolver.close()


def guarded_connector(
    *, allow_private: bool, limit: int, resolver: AbstractResolver | None = None
) -> aiohttp.TCPConnector:
    """An aiohttp connector that will not connect to a forbidden address (contract section 6).

    Create it inside the running event loop. ``resolver`` replaces aiohttp's default (tests).

    Where the check hooks in, and why there: aiohttp skips the resolver for IP-literal hosts, caches
    resolutions, and tries several addresses per host (happy eyeballs), so a resolver-only guard
    would miss literals and a ``_resolve_host``/trace hook would sit on private API or before the
    real choice. The ``socket_factory`` hook (public, aiohttp >= 3.12) is called by aiohappyeyeballs
    with the exact ``(family, type, proto, _, sockaddr)`` about to be ``connect()``-ed, for every
    address, literal or resolved, cached or fresh, so refusing there checks the address actually
    connected to, and nothing is sent. The :class:`GuardedResolver` stays as the first layer: it
    filters a mixed answer down to its public addresses and fails early with a clearer error.

    Do not use it with an HTTP proxy: the proxy, not this connector, would pick the final address.
    """
    guarded = GuardedResolver(resolver, allow_private=allow_private)
    if allow_private:
        return _GuardedTCPConnector(limit=limit, resolver=guarded)
    return _GuardedTCPConnector(limit=limit, resolver=guarded, socket_factory=_guarded_socket)
