"""The image's ingredients: a lock that pins every dependency with hashes, and a Dockerfile that uses it.

Building the image needs a Docker engine, which CI does not have; these checks catch what breaks a
build or a deployment without one (a dependency added to pyproject.toml but not to the lock, a
secret sent into the build context, a root user). The health check itself runs in test_compose.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def locked() -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            spec, *options = line.split()
            name, _, version = spec.partition("==")
            pins[canonicalize_name(name)] = (version, [o for o in options if o.startswith("--hash=sha256:")])
    return pins


def test_the_lock_pins_every_dependency_of_pyproject_with_hashes() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = locked()
    for line in dependencies:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: regenerate the lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), f"{name}=={version} does not satisfy {requirement}"
        for extra in requirement.extras:  # uvicorn[standard] brings uvloop and httptools
            assert extra != "standard" or {"uvloop", "httptools"} <= pins.keys()
    assert all(hashes for _, hashes in pins.values()), "every pin needs its hashes for --require-hashes"


def test_the_dockerfile_builds_from_the_lock_in_two_stages_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "COPY --from=builder /opt/switchboard /opt/switchboard" in dockerfile
    [user] = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert not user.startswith(("root", "0"))
    assert "EXPOSE 8000" in dockerfile and "HEALTHCHECK" in dockerfile
    assert 'CMD ["switchboard", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*", "ignore everything, then let in only what the image needs"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == {
        "requirements.lock",
        "pyproject.toml",
        "setup.py",
        "README.md",
        "app",
        "connectors",
        "migrations",
    }
