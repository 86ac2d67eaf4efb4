"""Signature verification against Twilio's own test vectors and the URL the request arrived on."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from app.inbound.signature import RequestURL, compute_signature, signed_url_bases, verify

VECTORS = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "twilio_signature_vectors.json").read_text()
)["vectors"]


def _params(pairs: list[list[str]]) -> dict[str, str | list[str]]:
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key in params:
            existing = params[key]
            params[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            params[key] = value
    return params


def test_there_are_sixteen_vectors() -> None:
    assert len(VECTORS) == 16


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_verifies_from_the_url_the_request_arrived_on(vector: dict[str, Any]) -> None:
    body = vector.get("body")
    verdict = verify(
        signature=vector["expected"],
        base_urls=[vector.get("request_url") or vector["signed_url"]],
        params={} if body is not None else _params(vector["params"]),
        tokens=[vector["token"]],
        json_body=body.encode() if body is not None else None,
    )
    assert verdict.valid, verdict


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_fails_with_another_token(vector: dict[str, Any]) -> None:
    body = vector.get("body")
    verdict = verify(
        signature=vector["expected"],
        base_urls=[vector.get("request_url") or vector["signed_url"]],
        params={} if body is not None else _params(vector["params"]),
        tokens=["54321"],
        json_body=body.encode() if body is not None else None,
    )
    assert not verdict.valid


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if not v.get("body")], ids=[v["id"] for v in VECTORS if not v.get("body")]
)
def test_compute_signature_matches_the_twilio_package(vector: dict[str, Any]) -> None:
    params = _params(vector["params"])
    ours = compute_signature(vector["token"], vector["signed_url"], params)
    assert ours == vector["expected"]
    if not any(isinstance(v, list) for v in params.values()):
        assert ours == RequestValidator(vector["token"]).compute_signature(vector["signed_url"], params)


def test_json_body_with_a_wrong_hash_fails_even_with_a_valid_url_signature() -> None:
    url = "https://mycompany.com/myapp.php?bodySHA256=" + "0" * 64
    signature = compute_signature("12345", url, {})
    assert not verify(
        signature=signature, base_urls=[url], params={}, tokens=["12345"], json_body=b"{}"
    ).valid


def test_missing_signature_is_named() -> None:
    verdict = verify(signature=None, base_urls=["https://a.example/x"], params={}, tokens=["t"])
    assert not verdict.valid and verdict.reason == "missing X-Twilio-Signature header"


def _request(**overrides: Any) -> RequestURL:
    values: dict[str, Any] = {
        "scheme": "http",
        "host": "10.0.0.5:8000",
        "raw_path": "/webhooks/twilio/messages",
        "raw_query": "a=1",
        "peer": "10.0.0.1",
    }
    values.update(overrides)
    return RequestURL(**values)


TRUSTED = [ipaddress.ip_network("10.0.0.0/24")]


@pytest.mark.parametrize(
    ("request_url", "public_url", "trusted", "expected"),
    [
        (
            _request(),
            "https://hooks.example.com",
            [],
            "https://hooks.example.com/webhooks/twilio/messages?a=1",
        ),
        (_request(), None, [], "http://10.0.0.5:8000/webhooks/twilio/messages?a=1"),
        (
            _request(forwarded_proto="https, http", forwarded_host="hooks.example.com"),
            None,
            TRUSTED,
            "https://hooks.example.com/webhooks/twilio/messages?a=1",
        ),
        (
            _request(forwarded_proto="https", forwarded_host="hooks.example.com"),
            None,
            [],
            "http://10.0.0.5:8000/webhooks/twilio/messages?a=1",
        ),
        (
            _request(forwarded_proto="https", forwarded_host="hooks.example.com", forwarded_port="8443"),
            None,
            TRUSTED,
            "https://hooks.example.com:8443/webhooks/twilio/messages?a=1",
        ),
        (
            _request(peer="192.0.2.9", forwarded_proto="https", forwarded_host="evil.example"),
            None,
            TRUSTED,
            "http://10.0.0.5:8000/webhooks/twilio/messages?a=1",
        ),
    ],
    ids=["public-url", "own-url", "trusted-proxy", "no-trusted-proxies", "trusted-port", "untrusted-peer"],
)
def test_signed_url_base(
    request_url: RequestURL, public_url: str | None, trusted: Any, expected: str
) -> None:
    assert signed_url_bases(request_url, public_url, trusted) == [expected]


@pytest.mark.parametrize(
    "body",
    ["a=1&b=2", "a=1&a=2&a=3", "Body=It%27s+amazing%21&To=%2B14155552671", "empty=&=novalue&bare", "&&a=1&&",
     "k%20ey=v+a+l", "x=%E2%9C%93%F0%9F%98%80", "plus=%2B%2B+", "eq=a=b=c", "semi=a;b"],
    ids=["simple", "repeated", "escapes", "blanks", "empty-parts", "escaped-key", "utf8", "plus", "equals", "semicolon"],
)  # fmt: skip
def test_parse_form_agrees_with_parse_qsl(body: str) -> None:
    from urllib.parse import parse_qsl

    from app.inbound.payload import parse_form

    expected: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True, errors="strict"):
        expected.setdefault(key, []).append(value)
    assert parse_form(body) == {k: v[0] if len(v) == 1 else v for k, v in expected.items()}
