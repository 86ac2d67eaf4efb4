"""Switchboard as a user runs it: ``switchboard serve`` / ``worker`` / ``db upgrade`` as child processes,
with the service's defaults (SQLite ``synchronous=FULL``, INFO logs) and its REST API for subscriptions."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from harness.context import Bench
from harness.procs import SERVER_CORE, Child, clean_env, executable, wait_http
from harness.twilio_requests import ACCOUNT_SID, AUTH_TOKEN

API_TOKEN = "sbt_bench_" + "7" * 32
EVENT_TYPE = "messages/message_received"


def env(bench: Bench, database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return clean_env(
        {
            **(extra or {}),
            "SWITCHBOARD_DATABASE_URL": database_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_PUBLIC_URL": bench.base_url,
            "SWITCHBOARD_API_TOKEN": API_TOKEN,
            # The bench's receivers listen on 127.0.0.1.
            "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS": "true",
        }
    )


def db_upgrade(bench: Bench, database_url: str) -> None:
    argv = [executable("switchboard"), "db", "upgrade"]
    bench.procs.run("db-upgrade", argv, core=None, env=env(bench, database_url), timeout=120)


def serve(bench: Bench, name: str, database_url: str, *, worker: bool) -> Child:
    """``switchboard serve`` on the server core, answering ``/readyz`` (schema migrated at start)."""
    argv = [executable("switchboard"), "serve", "--port", str(bench.port)]
    if not worker:
        argv.append("--no-worker")
    child = bench.procs.start(name, argv, core=SERVER_CORE, env=env(bench, database_url), cwd=bench.tmp)
    wait_http(child, f"{bench.base_url}/readyz", expect_ok=True)
    return child


def worker(bench: Bench, name: str, database_url: str, extra: Mapping[str, str] | None = None) -> Child:
    argv = [executable("switchboard"), "worker"]
    child_env = env(bench, database_url, extra)
    return bench.procs.start(name, argv, core=SERVER_CORE, env=child_env, cwd=bench.tmp)


def api(bench: Bench, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{bench.base_url}/api/v1{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def subscribe(bench: Bench, callback_url: str) -> dict[str, Any]:
    """A subscription to every received message, made through the REST API."""
    body = {"events": [EVENT_TYPE], "url": callback_url, "description": "bench"}
    subscription: dict[str, Any] = api(bench, "POST", "/subscriptions", body)
    return subscription
