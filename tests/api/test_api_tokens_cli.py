"""``switchboard api-tokens create``: prints a working token once, stores only its hash."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import httpx

from app.main import create_app
from tests.conftest import make_settings
from tests.processes import SWITCHBOARD


def _run(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    env["SWITCHBOARD_DATABASE_URL"] = database_url
    return subprocess.run(
        [SWITCHBOARD, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


async def test_created_token_authenticates_and_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"  # no schema yet: the command brings it up to date
    url = f"sqlite:///{database}"

    result = _run(["api-tokens", "create", "--name", "ci"], url, tmp_path)

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("sbt_")
    assert len(token.splitlines()) == 1
    assert "only" in result.stderr
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT name, token_hash FROM api_tokens").fetchall()
        dump = "\n".join(conn.iterdump())
    assert rows == [("ci", hashlib.sha256(token.encode()).hexdigest())]
    assert token not in dump

    app = create_app(make_settings(url))  # no SWITCHBOARD_API_TOKEN: only the stored token can pass
    async with app.app.router.lifespan_context(app.app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            accepted = await client.get("/api/v1/triggers", headers={"Authorization": f"Bearer {token}"})
            refused = await client.get("/api/v1/triggers", headers={"Authorization": f"Bearer {token}x"})
    assert accepted.status_code == 200
    assert refused.status_code == 401


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(["api-tokens", "create"], "sqlite:////nonexistent-directory/x.db", tmp_path)
    assert result.returncode == 2
    assert "SWITCHBOARD_DATABASE_URL" in result.stderr
    assert result.stdout == ""
