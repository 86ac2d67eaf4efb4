"""Stopping and starting the local PostgreSQL cluster under a test, and always bringing it back.

The cluster is found by the port of the test database's URL (``pg_lsclusters``), and driven with
``pg_ctlcluster`` as root. ``outage()`` restarts it in a ``finally`` (and waits until it answers),
so a failing test cannot leave PostgreSQL stopped for the tests after it; an ``atexit`` hook covers an
interpreter that exits while it is down.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", None}


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    database_url: str

    def _ctl(self, action: str, *options: str) -> subprocess.CompletedProcess[str]:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *options]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def stop(self) -> None:
        # fast: disconnect clients and shut down now (smart would wait for our own service to leave).
        result = self._ctl("stop", "-m", "fast")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctlcluster stop failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """Start it (if it is not running) and wait until it answers queries, for up to 60 s."""
        deadline = time.monotonic() + 60
        while True:
            result = self._ctl("start")
            if asyncio.run(answers(self.database_url)):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not come back: {result.stdout}{result.stderr}")
            time.sleep(0.2)


async def answers(database_url: str, timeout: float = 2.0) -> bool:
    import asyncpg

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        await conn.fetchval("SELECT 1")
        return True
    except (OSError, asyncpg.PostgresError):
        return False
    finally:
        await conn.close()


def local_cluster(database_url: str) -> Cluster | str:
    """The cluster serving ``database_url``, or why it cannot be stopped from here."""
    url = make_url(database_url)
    if url.host not in LOCAL_HOSTS:
        return f"PostgreSQL at {url.host} is not local"
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        return "pg_ctlcluster is not installed"
    if os.geteuid() != 0:
        return "stopping PostgreSQL needs root"
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    port = str(url.port or 5432)
    for line in listing.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return Cluster(version, name, database_url)
    return f"no local cluster listens on port {port}"


@asynccontextmanager
async def outage(cluster: Cluster) -> AsyncIterator[None]:
    """PostgreSQL stopped for the body of the block; running again (and answering) after it, always."""
    atexit.register(cluster.start)
    try:
        await asyncio.to_thread(cluster.stop)
        yield
    finally:
        await asyncio.to_thread(cluster.start)
        atexit.unregister(cluster.start)
