"""Secrets stay secret: a whole scenario at DEBUG, and no token or signing secret in any output or error.

`switchboard serve` runs with every secret configured (both Twilio auth tokens, the API token, an
`sbt_` token from `switchboard api-tokens create`) and logging at DEBUG, then goes through good and
bad webhooks, API calls with good and bad tokens, subscriptions created and rotated, a Twilio action
(the auth token is its Basic-auth password) that succeeds and one that fails, and deliveries that
fail before they succeed. Everything the processes printed and every response body (except the two
that exist to hand a secret over: creating and rotating a subscription) is then searched for each
secret, raw and in the encodings it travels in.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from app import simulate
from tests.fake_twilio import FakeTwilio
from tests.processes import SWITCHBOARD, Server, json_records
from tests.receiver import Receiver
from tests.reliability.conftest import Figures
from tests.twilio_requests import sign

MESSAGES = "/webhooks/twilio/messages"


def _encodings(secret: str) -> set[str]:
    """The secret and the forms it travels in (only those long enough to mean anything)."""
    forms = {secret}
    if secret.startswith("whsec_"):
        forms.add(secret.removeprefix("whsec_"))  # the key material alone
    return {form for form in forms if len(form) >= 16}


@pytest.mark.slow
async def test_no_secret_appears_in_any_log_line_or_error_body_of_a_whole_debug_scenario(
    tmp_path: Path, fake_twilio: FakeTwilio, figures: Figures
) -> None:
    secondary = secrets.token_hex(16)
    api_token = "sat-" + secrets.token_urlsafe(24)
    env = {
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'secrets.db'}",
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_AUTH_TOKEN_SECONDARY": secondary,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "SWITCHBOARD_API_TOKEN": api_token,
        "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS": "true",
        "SWITCHBOARD_RETRY_SCHEDULE": "0.2,0.2,0.2",
        "SWITCHBOARD_LOG_LEVEL": "DEBUG",
    }
    created = await asyncio.to_thread(
        subprocess.run,
        [SWITCHBOARD, "api-tokens", "create", "--name", "scenario"],
        env={"PATH": str(Path(SWITCHBOARD).parent), **env}, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    sbt_token = created.stdout.strip()  # stdout is where the token is meant to be shown, once
    assert sbt_token.startswith("sbt_")
    outputs = [created.stderr]
    bodies: list[str] = []
    handed_over: list[str] = []  # bodies whose job is to carry a secret
    receiver = await Receiver(status=500).start()
    server = await asyncio.to_thread(Server, env, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:

            async def api(
                method: str, path: str, token: str | None = api_token, json: object = None
            ) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = await client.request(method, path, headers=headers, json=json)
                bodies.append(response.text)
                return response

            # Subscriptions: created (the secret handed over), read, rotated (handed over again).
            response = await client.post(
                "/api/v1/subscriptions",
                json={"events": ["messages/message_received"], "url": receiver.url},
                headers={"Authorization": f"Bearer {sbt_token}"},
            )
            assert response.status_code == 201, response.text
            handed_over.append(response.text)
            subscription = response.json()
            rotated = await client.post(
                f"/api/v1/subscriptions/{subscription['id']}/rotate-secret",
                headers={"Authorization": f"Bearer {api_token}"},
            )
            assert rotated.status_code == 200
            handed_over.append(rotated.text)
            whsec = [subscription["secret"], rotated.json()["secret"]]
            assert (await api("GET", f"/api/v1/subscriptions/{subscription['id']}")).status_code == 200
            assert (await api("GET", "/api/v1/subscriptions")).status_code == 200

            # Webhooks: signed with each token, and every way of being wrong.
            account = fake_twilio.account_sid
            statuses = [
                await _webhook(client, server.url, bodies, token, account)
                for token in (fake_twilio.auth_token, secondary, secrets.token_hex(16), None)
            ]
            statuses.append(
                await _webhook(client, server.url, bodies, fake_twilio.auth_token, "AC" + "0" * 32)
            )
            for content, content_type in ((b"%ff=%fe", "application/x-www-form-urlencoded"), (b"x", "text/plain"),
                                          (b"a=" + b"x" * 70000, "application/x-www-form-urlencoded")):  # fmt: skip
                response = await client.post(MESSAGES, content=content, headers={
                    "Content-Type": content_type, "X-Twilio-Signature": sign(server.url + MESSAGES, {}, fake_twilio.auth_token)})  # fmt: skip
                bodies.append(response.text)
                statuses.append(response.status_code)
            # primary, secondary, wrong token, no signature, other account; undecodable, type, size
            assert statuses == [200, 200, 403, 403, 403, 400, 415, 413], statuses

            # API tokens: each secret sent where it does not belong, and plain wrong ones.
            for wrong in (fake_twilio.auth_token, secondary, whsec[0], api_token + "x", "sbt_" + "x" * 40):
                assert (await api("GET", "/api/v1/events", token=wrong)).status_code == 401
            assert (await api("GET", "/api/v1/events", token=None)).status_code == 401
            basic = base64.b64encode(f"user:{api_token}".encode()).decode()
            response = await client.get("/api/v1/events", headers={"Authorization": f"Basic {basic}"})
            bodies.append(response.text)
            assert response.status_code == 401
            assert (await api("GET", "/api/v1/events", token=sbt_token)).status_code == 200

            # A Twilio action (Basic auth with the auth token), then one that Twilio refuses.
            message = {"to": "+15005550006", "from": "+15005550006", "body": "hi"}
            assert (await api("POST", "/api/v1/actions/send_sms", json=message)).status_code == 201
            fake_twilio.fail_next(401, code=20003, message="Authenticate")
            assert (await api("POST", "/api/v1/actions/send_sms", json=message)).status_code == 401

            # Deliveries: 500s first, then success; and their attempts read back through the API.
            await receiver.wait_for(4, timeout=20)
            receiver.status = 204
            for _ in range(100):
                if len((await api("GET", "/api/v1/deliveries?status=succeeded")).json()["items"]) >= 2:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the deliveries never succeeded")
            for delivery in (await api("GET", "/api/v1/deliveries")).json()["items"]:
                await api("GET", f"/api/v1/deliveries/{delivery['id']}")
            bodies.append((await client.get("/metrics")).text)
    finally:
        server.terminate()
        await receiver.stop()
    outputs.append(server.log())
    server.close()

    everything = "\n".join(outputs + bodies)
    named = {
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_AUTH_TOKEN_SECONDARY": secondary,
        "SWITCHBOARD_API_TOKEN": api_token,
        "sbt_ API token": sbt_token,
        "whsec_ secret": whsec[0],
        "rotated whsec_ secret": whsec[1],
        "Basic auth to Twilio": base64.b64encode(
            f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()
        ).decode(),
    }
    leaks = [name for name, secret in named.items() for form in _encodings(secret) if form in everything]
    assert leaks == [], f"secrets found in output or bodies: {leaks}"
    # The search was meaningful: the secrets were real and in use, and DEBUG output was there to search.
    assert all(secret in "".join(handed_over) for secret in whsec)
    records = json_records(server.log())
    assert sum(1 for r in records if r.get("level") == "debug") > 0
    assert any(r.get("status") == 403 for r in records), "the rejected webhooks were not logged"
    attempts = [r for r in records if r.get("message") == "delivery attempt"]
    assert {r.get("status_code") for r in attempts} >= {500, 204}

    figures["output_lines"] = sum(len(output.splitlines()) for output in outputs)
    figures["response_bodies"] = len(bodies)
    figures["secrets_checked"] = len(named)


async def _webhook(
    client: httpx.AsyncClient, base_url: str, bodies: list[str], token: str | None, account: str
) -> int:
    params = simulate.message(simulate.Options(account_sid=account))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["X-Twilio-Signature"] = sign(base_url + MESSAGES, params, token)
    response = await client.post(MESSAGES, content=urlencode(params), headers=headers)
    bodies.append(response.text)
    return response.status_code
