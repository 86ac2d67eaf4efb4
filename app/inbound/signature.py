"""Twilio request signatures (``X-Twilio-Signature``): which URL Twilio signed, and whether it matches.

Twilio signs ``base64(HMAC-SHA1(auth_token, url + key1 + value1 + key2 + value2 …))`` with the keys
sorted by code point and a repeated key's values sorted and de-duplicated (as twilio-python does).
JSON bodies are not signed as parameters: Twilio adds ``bodySHA256`` (hex SHA-256 of the raw body)
to the URL's query instead. The URL is the one configured at Twilio, exactly as Twilio holds it:

- we rebuild it from ``SWITCHBOARD_PUBLIC_URL`` + the raw path + the raw query (never re-encoded), or
  from the request itself corrected by ``X-Forwarded-*`` when the peer is a trusted proxy;
- Twilio keeps or drops the default port depending on the product (voice over HTTPS drops it, SMS keeps
  it), so each candidate is also tried with the default port added and with the port removed;
- Twilio's signer escapes ``'`` in the query where a raw request may carry it unescaped, so the ``%27``
  spelling is tried too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit, urlunsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=8)
def _keyed(token: str) -> hmac.HMAC:
    # The keyed state is set up once per token and copied per request.
    return hmac.new(token.encode(), digestmod=hashlib.sha1)


def compute_signature(token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    parts = [url]
    for name in sorted(params):
        value = params[name]
        if isinstance(value, str):
            parts += (name, value)
        else:
            for item in sorted(set(value)):
                parts += (name, item)
    mac = _keyed(token).copy()
    mac.update("".join(parts).encode())
    return base64.b64encode(mac.digest()).decode()


def port_variants(url: str) -> list[str]:
    """``url`` as given, with its scheme's default port added, and with any port removed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    netlocs = [parts.netloc, f"{prefix}{host}:{port}" if port else parts.netloc, prefix + host]
    return list(dict.fromkeys(urlunsplit(parts._replace(netloc=n)) for n in netlocs))


def credential_variants(url: str) -> list[str]:
    """Twilio's docs say it signs without URL credentials; its Node SDK signs with them: try both."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))]


def quote_variants(url: str) -> list[str]:
    return list(dict.fromkeys([url, url.replace("'", "%27")]))


def candidate_urls(base_urls: Iterable[str]) -> Iterator[str]:
    """The bases exactly as rebuilt first (what matches nearly always), then every variant, once each."""
    bases = list(base_urls)
    seen = set(bases)
    yield from bases
    for base in bases:
        for credentials in credential_variants(base):
            for quoted in quote_variants(credentials):
                for variant in port_variants(quoted):
                    if variant not in seen:
                        seen.add(variant)
                        yield variant


@dataclass(frozen=True)
class RequestURL:
    """What the ASGI layer saw of a request, enough to rebuild the URL Twilio signed."""

    scheme: str
    host: str  # the Host header (may carry a port)
    raw_path: str
    raw_query: str
    peer: str | None
    forwarded_proto: str | None = None
    forwarded_host: str | None = None
    forwarded_port: str | None = None

    def path_and_query(self) -> str:
        return self.raw_path + (f"?{self.raw_query}" if self.raw_query else "")


def _first(header: str | None) -> str | None:
    # Chained proxies append ("https, https"); the first value is what the client used.
    if not header:
        return None
    return header.split(",")[0].strip() or None


def _is_trusted(peer: str | None, trusted: Sequence[Network]) -> bool:
    if not peer or not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def signed_url_bases(request: RequestURL, public_url: str | None, trusted: Sequence[Network]) -> list[str]:
    """The URL(s) Twilio may have signed, before port and quoting variants."""
    if public_url:
        return [public_url + request.path_and_query()]
    scheme, host = request.scheme, request.host
    if _is_trusted(request.peer, trusted):
        scheme = _first(request.forwarded_proto) or scheme
        host = _first(request.forwarded_host) or host
        port = _first(request.forwarded_port)
        if port and ":" not in host.rsplit("]", 1)[-1]:
            host = f"{host}:{port}"
    return [f"{scheme}://{host}{request.path_and_query()}"]


@dataclass(frozen=True)
class Verdict:
    valid: bool
    tried: tuple[str, ...]  # URL candidates, for the rejection log (never the token)
    reason: str | None = None


def verify(
    *,
    signature: str | None,
    base_urls: Sequence[str],
    params: Mapping[str, str | list[str]],
    tokens: Sequence[str],
    json_body: bytes | None = None,
) -> Verdict:
    """Check ``signature`` against every candidate URL and token, in constant time per comparison.

    For a JSON body, ``params`` must be empty and the URL's ``bodySHA256`` must equal the body's hash.
    """
    if not signature:
        return Verdict(False, tuple(candidate_urls(base_urls)), "missing X-Twilio-Signature header")
    if not tokens:
        return Verdict(False, tuple(candidate_urls(base_urls)), "no auth token configured")
    if json_body is not None:
        query = parse_qs(urlsplit(base_urls[0]).query) if base_urls else {}
        claimed = (query.get("bodySHA256") or [""])[0]
        if not hmac.compare_digest(claimed.lower(), hashlib.sha256(json_body).hexdigest()):
            return Verdict(
                False, tuple(candidate_urls(base_urls)), "bodySHA256 missing or not the hash of the body"
            )
        params = {}
    given = signature.encode()
    tried = []
    for url in candidate_urls(base_urls):
        tried.append(url)
        for token in tokens:
            if hmac.compare_digest(compute_signature(token, url, params).encode(), given):
                return Verdict(True, (url,))
    return Verdict(False, tuple(tried), "signature does not match")
