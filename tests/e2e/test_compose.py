"""docker-compose.yml, checked two ways without a Docker engine.

1. ``docker-compose config -q`` accepts it (CI installs the tool, so this never skips there).
2. Each service's command runs as a plain process with that service's environment, as compose would
   give it (the file's ``${VAR:-default}`` filled from .env.example), with only the addresses moved
   onto this machine: the database is the test PostgreSQL, ports are free local ones, and callbacks
   may go to loopback. migrate exits 0, the api answers /readyz, the workers run, and a signed
   webhook in comes out as a verified callback.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from app import simulate
from app.db import create_engine
from tests.conftest import _truncate, make_settings
from tests.factories import create_subscription
from tests.processes import SWITCHBOARD, Process, Server, free_port
from tests.receiver import Receiver
from tests.twilio_requests import sign

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = "/webhooks/twilio/messages"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    return None


@pytest.mark.parametrize("with_env_file", [False, True], ids=["no-.env", ".env-from-example"])
def test_docker_compose_accepts_the_file(tmp_path: Path, with_env_file: bool) -> None:
    command = compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but docker-compose is not installed: .ci/run should have installed it")
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    if with_env_file:
        shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [*command, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is not set" not in result.stderr  # every variable has a default


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}``."""

    def one(match: re.Match[str]) -> str:
        name, op, default = match.group("name"), match.group("op"), match.group("default") or ""
        if name in variables and (variables[name] or op != ":-"):
            return variables[name]
        return default if op else ""

    return _VARIABLE.sub(one, value)


def test_every_variable_the_app_reads_is_in_env_example_and_passed_by_compose() -> None:
    from app.config import Settings

    example = env_file(ROOT / ".env.example") | {
        # Commented out in the example (compose builds it); documented there all the same.
        "SWITCHBOARD_DATABASE_URL": "",
    }
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    passed = compose["services"]["api"]["environment"]
    for field in Settings.model_fields.values():
        variable = field.validation_alias.choices[0]  # type: ignore[union-attr]
        assert variable in example, f"{variable} is not documented in .env.example"
        assert variable in passed, f"{variable} is not passed to the services by docker-compose.yml"
    assert "SWITCHBOARD_DATABASE_URL" in (ROOT / ".env.example").read_text()


class Service:
    """One compose service as a local process: its command and environment, moved onto this machine."""

    def __init__(self, name: str, spec: dict[str, Any], variables: dict[str, str], database_url: str):
        self.name = name
        self.environment = {k: interpolate(str(v), variables) for k, v in spec.get("environment", {}).items()}
        self.environment |= {
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_ALLOW_PRIVATE_CALLBACKS": "true",  # the test's callback server is on loopback
        }
        self.command = [str(part) for part in spec["command"]]
        self.replicas = int(spec.get("deploy", {}).get("replicas", 1))
        self.healthcheck = spec.get("healthcheck", {}).get("test")

    def args(self, ports: dict[str, str]) -> list[str]:
        """The command after `switchboard`, listening on 127.0.0.1 and on the given free ports."""
        assert self.command[0] == "switchboard"
        args = [ports.get(a, a) for a in self.command[1:]]
        return ["127.0.0.1" if a == "0.0.0.0" else a for a in args]


@pytest.fixture
def services(postgres_url: str) -> dict[str, Service]:
    asyncio.run(_truncate(postgres_url))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    variables = env_file(ROOT / ".env.example")
    return {
        name: Service(name, spec, variables, postgres_url)
        for name, spec in compose["services"].items()
        if name != "postgres"
    }


async def test_each_compose_service_runs_as_configured(
    services: dict[str, Service], postgres_url: str, tmp_path: Path
) -> None:
    migrate, api, worker = services["migrate"], services["api"], services["worker"]
    assert migrate.args({}) == ["db", "upgrade"]
    result = await asyncio.to_thread(
        subprocess.run, [SWITCHBOARD, *migrate.args({})], env=_env(migrate), cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    receiver = await Receiver().start()
    engine = create_engine(make_settings(postgres_url))
    processes: list[Process] = []
    try:
        subscription = await create_subscription(engine, receiver.url)
        api_port = free_port()
        api_args = api.args({"8000": str(api_port)})
        assert api_args[:2] == ["serve", "--no-worker"]
        # (Server puts its own --port first; the command's, the same port, comes after and wins.)
        server = await asyncio.to_thread(Server, api.environment, tmp_path, *api_args[1:], port=api_port)
        processes.append(server)
        metrics_ports = [free_port() for _ in range(worker.replicas)]
        assert worker.replicas == 2
        for n, port in enumerate(metrics_ports):
            processes.append(
                Process(worker.args({"9100": str(port)}), worker.environment, tmp_path, f"w{n}.log")
            )

        # The containers' own health checks, pointed at the moved ports.
        await _wait_healthy(worker.healthcheck, "9100", metrics_ports)
        dockerfile_check = _dockerfile_healthcheck()
        await _wait_healthy(dockerfile_check, "8000", [api_port])
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/readyz")).status_code == 200
            # Signed as Twilio would for the configured public URL, with the example's account and token.
            env = api.environment
            params = simulate.message(
                simulate.Options(account_sid=env["TWILIO_ACCOUNT_SID"], body="via compose")
            )
            signature = sign(env["SWITCHBOARD_PUBLIC_URL"] + MESSAGES, params, env["TWILIO_AUTH_TOKEN"])
            response = await client.post(MESSAGES, data=params, headers={"X-Twilio-Signature": signature})
            assert response.status_code == 200, response.text
        [request] = await receiver.wait_for(1, timeout=20)
        # The workers' own /metrics (--metrics-port) count the attempt one of them made.
        assert await _succeeded_attempts(metrics_ports) == 1
    finally:
        stopped_at = time.monotonic()
        for process in processes:
            process.popen.terminate()
        codes = [process.popen.wait(15) for process in processes]
        took = time.monotonic() - stopped_at
        for process in processes:
            process.close()
        await receiver.stop()
        await engine.dispose()
    assert (
        Webhook(subscription["secret"]).verify(request.body, request.headers)["data"]["body"] == "via compose"
    )
    # Idle, every process stops at once and cleanly (under load: tests/e2e/test_shutdown.py).
    assert codes == [0, 0, 0] and took < 3.0, (codes, took)


def _env(service: Service) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))},
        **service.environment,
    }


def _dockerfile_healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (exec form), as the image runs it."""
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", text)
    assert match, "the Dockerfile has a HEALTHCHECK in exec form"
    return ["CMD", *yaml.safe_load(match.group(1))]


async def _wait_healthy(test: list[str], port: str, local_ports: list[int], timeout: float = 30) -> None:
    assert test[0] == "CMD" and test[1] == "python", test
    for local in local_ports:
        command = [sys.executable, *[part.replace(f":{port}/", f":{local}/") for part in test[2:]]]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = await asyncio.to_thread(subprocess.run, command, capture_output=True, check=False)
            if result.returncode == 0:
                break
            assert asyncio.get_running_loop().time() < deadline, result.stderr
            await asyncio.sleep(0.2)


async def _succeeded_attempts(ports: list[int], timeout: float = 10) -> float:
    """Succeeded attempts summed over the workers' /metrics, once they add up to something."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            total = 0.0
            for port in ports:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "switchboard_delivery_attempts_total" and sample.labels == {
                            "outcome": "succeeded"
                        }:
                            total += sample.value
            if total or asyncio.get_running_loop().time() > deadline:
                return total
            await asyncio.sleep(0.1)
