"""Group commit: concurrent webhooks share one transaction, and each is answered only after it commits.

Why: a durable commit costs an fsync (SQLite ``synchronous=FULL``, PostgreSQL's WAL flush). Paying it
once per batch instead of once per request keeps full durability at high request rates, and the one
writer per process is also the natural shape for SQLite's single-writer lock. Under light load a batch
is a single event, committed at once: there is no timer adding latency.

In the same transaction as the events, the writer adds one pending delivery per matching subscription
(the transactional outbox): a 200 to Twilio means the deliveries exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app import clock
from app.db import Transactor, describe_error
from app.delivery import repository as delivery_repository
from app.errors import ServiceUnavailable
from app.event import repository as event_repository
from app.event.envelope import Event
from app.subscription import matching
from app.subscription import repository as subscription_repository
from app.subscription.matching import Matcher

log = logging.getLogger(__name__)

MAX_BATCH = 256


@dataclass(frozen=True)
class Stored:
    created: bool  # False: the same event (type + dedupe key) was already stored
    event_id: str | None = None  # the new event's id, when created (for the access log)


_DUPLICATE = Stored(created=False)


class EventWriter:
    """Stores events in batches, one transaction each.

    The batch is one sync transaction run by the process's ``Transactor``: on SQLite's writer thread
    (one hand-off per batch, no lock contention with this process's other writers) or on
    PostgreSQL's async engine.
    """

    def __init__(self, transactor: Transactor, on_deliveries: Callable[[int], None] | None = None):
        self._transactor = transactor.for_one_caller()  # batches run one at a time
        self._on_deliveries = on_deliveries
        self._matcher = Matcher()
        self._queue: list[tuple[Event, asyncio.Future[Stored]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        await self._transactor.release()

    async def store(self, event: Event) -> Stored:
        """Durably store ``event``; raises ServiceUnavailable when the database cannot commit it."""
        if self._task is None or self._stopping:
            raise ServiceUnavailable("the service is stopping; Twilio will retry")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit_batch(batch)
            if self._stopping:
                return

    async def _commit_batch(self, batch: list[tuple[Event, asyncio.Future[Stored]]]) -> None:
        try:
            results = await self._commit([event for event, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and _is_data_error(exc):
                # One bad row must not fail its neighbours: retry them one by one.
                for item in batch:
                    await self._commit_batch([item])
                return
            log.error("event batch of %d not stored: %s", len(batch), describe_error(exc))
            error = ServiceUnavailable("the database is unavailable; Twilio will retry")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), stored in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(stored)

    async def _commit(self, batch: Sequence[Event]) -> list[Stored]:
        # A duplicate inside the batch (50 identical concurrent requests) is inserted once.
        unique = list({(e.type, e.dedupe_key): e for e in reversed(batch)}.values())
        now = clock.utc_now()
        inserted, created = await self._transactor.run(self._write, unique, now)
        if created and self._on_deliveries is not None:
            self._on_deliveries(created)
        return [Stored(True, event.id) if event.id in inserted else _DUPLICATE for event in batch]

    def _write(self, conn: Connection, batch: Sequence[Event], now: datetime) -> tuple[set[str], int]:
        """The batch's SQL, the same on both stores: new events, then their outbox deliveries."""
        inserted = event_repository.insert_new(conn, batch)
        new_events = [e for e in batch if e.id in inserted]
        if not new_events:
            return inserted, 0
        targets = self._matcher.targets(subscription_repository.enabled_for_matching(conn))
        wanted = matching.pairs(new_events, targets)
        return inserted, len(delivery_repository.insert_pending(conn, wanted, now))


def _is_data_error(exc: Exception) -> bool:
    """A statement the database refused for its content, as opposed to the database being away."""
    return (
        isinstance(exc, DBAPIError)
        and not exc.connection_invalidated
        and type(exc).__name__
        in (
            "DataError",
            "IntegrityError",
            "ProgrammingError",
        )
    )
