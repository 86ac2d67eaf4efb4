"""Background retention: while ``SWITCHBOARD_RETENTION_DAYS`` is set, prune old events every hour.

Every ``serve`` and ``worker`` process runs one, so retention works whatever the deployment's shape.
On PostgreSQL only one process prunes at a time: a round starts only if its session-level advisory
lock is free, and is skipped otherwise (another process is on it). On SQLite the batches' write lock
already keeps two pruners from stepping on each other, and there is usually one process anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.db import describe_error
from app.event import retention

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0
# Not at once: a fleet restarting together should come up and take traffic before it housekeeps.
FIRST_ROUND_AFTER_SECONDS = 60.0
_LOCK_ID = 0x5B0A2E  # any fixed number, distinct from the migrations' lock (app/migrate.py)


@contextlib.asynccontextmanager
async def exclusive(engine: AsyncEngine) -> AsyncIterator[bool]:
    """True if this process may prune now: it holds the advisory lock (PostgreSQL) or needs none."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    # Its own connection in autocommit: the lock belongs to the session, and no transaction stays
    # open on it while the batches run on other connections.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        acquired = bool(await conn.scalar(text(f"SELECT pg_try_advisory_lock({_LOCK_ID})")))
        try:
            yield acquired
        finally:
            if acquired:
                await conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ID})"))


class Pruner:
    def __init__(
        self,
        engine: AsyncEngine,
        days: int,
        *,
        interval: float = INTERVAL_SECONDS,
        first_round_after: float = FIRST_ROUND_AFTER_SECONDS,
        batch_size: int = retention.DEFAULT_BATCH_SIZE,
    ):
        self._engine = engine
        self._age = timedelta(days=days)
        self._interval = interval
        self._first_round_after = first_round_after
        self._batch_size = batch_size
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-pruner")

    def stop_soon(self) -> None:
        """Stop after the batch in progress (callable from the shutdown signal)."""
        self._stopping.set()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> retention.Counts | None:
        """One round; None when another process holds the lock."""
        cutoff = clock.utc_now() - self._age
        async with exclusive(self._engine) as acquired:
            if not acquired:
                log.debug("retention round skipped: another process is pruning")
                return None
            pruned = await retention.prune(
                self._engine, cutoff, self._batch_size, should_stop=self._stopping.is_set
            )
        if pruned.events:
            log.info(
                "retention: pruned %d events received before %s",
                pruned.events,
                cutoff.isoformat(timespec="seconds"),
                extra={"events": pruned.events, "deliveries": pruned.deliveries, "attempts": pruned.attempts},
            )
        return pruned

    async def _run(self) -> None:
        delay = self._first_round_after
        while not await self._sleep(delay):
            try:
                await self.run_once()
            except Exception as exc:
                log.warning("retention round failed (next in %.0fs): %s", self._interval, describe_error(exc))
            delay = self._interval

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True if asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()
