"""The delivery worker: claims due deliveries, posts them concurrently, records every attempt.

It owns its transactions (claim, record, release), each short, and none open during an HTTP call.
It wakes on new work at once: from this process (the ingest writer and the API set ``wake``) and,
on PostgreSQL, from other processes through LISTEN/NOTIFY; a poll timed to the next due delivery is
the fallback, so a lost notification delays work by at most ``POLL_SECONDS``.
Stopping: no new claims; attempts in flight get ``grace`` seconds to finish and be recorded; whatever
is still unfinished then is cancelled and released for another worker (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
import time
from datetime import timedelta

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock, metrics
from app.config import Settings
from app.db import Transactor, describe_error
from app.delivery import queue
from app.delivery.repository import NOTIFY_CHANNEL, DeliveryStatus
from app.delivery.retry import RetryPolicy
from app.delivery.sender import Sender
from app.delivery.signing import build_headers
from app.logging import log_vetted

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECORD_LINGER_SECONDS = 0.025
RECORD_BATCH = 64
AHEAD_WINDOW_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0

# Each attempt's outcome, counted under the label it means for the delivery.
_OUTCOMES = {
    DeliveryStatus.SUCCEEDED: metrics.DELIVERY_ATTEMPTS.labels("succeeded"),
    DeliveryStatus.PENDING: metrics.DELIVERY_ATTEMPTS.labels("retry_scheduled"),
    DeliveryStatus.FAILED: metrics.DELIVERY_ATTEMPTS.labels("failed"),
}


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        wake: asyncio.Event,
        *,
        grace: float = 5.0,
        transactor: Transactor | None = None,
    ):
        self.name = worker_name()
        self._engine = engine
        # Shared with the ingest writer inside `serve`; a worker process has its own.
        self._owns_transactor = transactor is None
        self._transactor = transactor or Transactor(engine, settings)
        # Claims (with the next-due look-ups and the release at a stop) and records run in two loops,
        # each one transaction at a time: on PostgreSQL each keeps its own connection.
        self._claims = self._transactor.for_one_caller()
        self._records = self._transactor.for_one_caller()
        self._settings = settings
        self._wake = wake
        self._grace = grace
        self._policy = RetryPolicy(settings.retry_schedule)
        self._lease = timedelta(seconds=settings.delivery_lease)
        self._concurrency = settings.delivery_concurrency
        # Claim ahead: up to `concurrency` more deliveries wait claimed for a free slot, so a slot that
        # frees while a claim is in flight is filled at once instead of after the claim's round trips.
        # Only while attempts are finishing (see _room). One waits at most one attempt for its slot
        # (slots never wait on each other's queue), so only while the lease outlasts two attempts.
        lease_fits = settings.delivery_lease >= 2 * settings.delivery_timeout
        self._ahead = self._concurrency if lease_fits else 0
        self._last_finished = -math.inf  # time.monotonic() of the latest attempt's end
        self._refill_at = max(1, self._concurrency // 2)
        self._stopping = asyncio.Event()
        self._sender: Sender | None = None
        self._ready: collections.deque[queue.Claimed] = collections.deque()  # claimed, not yet started
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._outcomes: list[queue.Outcome] = []
        self._outcome_ready = asyncio.Event()
        self._recording_stops = False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        log.info("delivery worker %s started (concurrency %d)", self.name, self._concurrency)
        async with Sender(
            timeout=self._settings.delivery_timeout,
            allow_private=self._settings.allow_private_callbacks,
            concurrency=self._concurrency,
        ) as sender:
            self._sender = sender
            recorder = asyncio.create_task(self._record_loop(), name="delivery-recorder")
            listener = asyncio.create_task(self._listen(), name="delivery-listener")
            try:
                await self._claim_loop()
            finally:
                listener.cancel()
                await self._drain()
                # Not cancelled: a flush cut off mid-transaction would drop the outcomes it holds,
                # leaving those deliveries locked until their lease runs out, then sent again.
                self._recording_stops = True
                self._outcome_ready.set()
                await asyncio.gather(listener, recorder, return_exceptions=True)
                await self._flush_outcomes()
        await asyncio.gather(self._claims.release(), self._records.release(), return_exceptions=True)
        if self._owns_transactor:
            self._transactor.close()
        log.info("delivery worker %s stopped", self.name)

    # --- claiming -------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            self._wake.clear()
            room = self._room()
            timeout: float | None = None
            if self._claim_due(room):
                try:
                    claimed = await self._claim(room)
                    backoff = 0.1
                except Exception as exc:
                    log.warning(
                        "claiming deliveries failed (%s); retrying in %.1fs", describe_error(exc), backoff
                    )
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                self._ready.extend(claimed)
                self._start_ready()
                if claimed and len(claimed) == room:
                    continue  # there may be more due right now
                timeout = await self._until_next_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _start_ready(self) -> None:
        """Start claimed deliveries in the free slots."""
        assert self._sender is not None
        while self._ready and len(self._in_flight) < self._concurrency and not self._stopping.is_set():
            item = self._ready.popleft()
            task = asyncio.create_task(self._deliver(self._sender, item), name=f"deliver-{item.id}")
            self._in_flight[item.id] = task
            task.add_done_callback(functools.partial(self._finished, item.id))

    async def _claim(self, limit: int) -> list[queue.Claimed]:
        now = clock.utc_now()
        return await queue.claim(self._claims, self.name, limit, now, self._lease)

    async def _until_next_due(self) -> float:
        try:
            due = await self._claims.run(queue.next_due_at)
        except Exception:
            return POLL_SECONDS
        if due is None:
            return POLL_SECONDS
        return min(max((due - clock.utc_now()).total_seconds(), 0.01), POLL_SECONDS)

    def _room(self) -> int:
        """How many more deliveries to hold. Claiming ahead only while attempts are finishing: when
        every slot waits on a slow receiver, deliveries claimed ahead would wait with them while
        another worker sits idle."""
        turning_over = time.monotonic() - self._last_finished < AHEAD_WINDOW_SECONDS
        capacity = self._concurrency + (self._ahead if turning_over else 0)
        return capacity - len(self._in_flight) - len(self._ready)

    def _claim_due(self, room: int) -> bool:
        # Refill in batches: claiming each freed slot alone would cost a transaction per delivery.
        return room >= self._refill_at or (room > 0 and not self._in_flight and not self._ready)

    def _finished(self, delivery_id: str, _: object = None) -> None:
        self._in_flight.pop(delivery_id, None)
        self._last_finished = time.monotonic()
        self._start_ready()
        if self._claim_due(self._room()):
            self._wake.set()  # not on every attempt: a wake-up per delivery costs a loop round

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- sending --------------------------------------------------------------------------------

    async def _deliver(self, sender: Sender, item: queue.Claimed) -> None:
        timestamp = int(time.time())
        headers = build_headers(secrets=item.secrets, msg_id=item.id, timestamp=timestamp, body=item.body)
        attempted_at = clock.utc_now()
        response = await sender.post(item.url, item.body, headers)
        number = item.attempt_count + 1
        if response.ok:
            status, next_attempt_at = DeliveryStatus.SUCCEEDED, None
        else:
            delay = self._policy.next_delay(number - item.schedule_start)
            if delay is None:
                status, next_attempt_at = DeliveryStatus.FAILED, None
            else:
                status, next_attempt_at = DeliveryStatus.PENDING, clock.utc_now() + timedelta(seconds=delay)
        _OUTCOMES[status].inc()
        metrics.DELIVERY_DURATION.observe(response.duration_ms / 1000)
        fields = {
            "delivery_id": item.id,
            "event_id": item.event_id,
            "attempt": number,
            "status": str(status),
            "status_code": response.status_code,
            "duration_ms": response.duration_ms,
            "error": response.error,
        }
        level = logging.WARNING if status is DeliveryStatus.FAILED else logging.INFO
        if response.error is None:  # only our ids and numbers: nothing to mask (see vetted())
            log_vetted(log, level, "delivery attempt", fields)
        else:
            log.log(level, "delivery attempt", extra=fields)
        self._outcomes.append(
            queue.Outcome(
                delivery_id=item.id,
                number=number,
                attempted_at=attempted_at,
                status_code=response.status_code,
                duration_ms=response.duration_ms,
                error=response.error,
                response_excerpt=response.excerpt,
                status=status,
                next_attempt_at=next_attempt_at,
            )
        )
        self._outcome_ready.set()

    # --- recording ------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        """Record outcomes in batches: one transaction for everything finished since the last one.

        Returns once asked to (``_recording_stops``), after the flush in progress; ``run`` then
        makes one last flush of whatever is left.
        """
        while not self._recording_stops:
            await self._outcome_ready.wait()
            # Linger briefly so one commit (an fsync) records many attempts; the callbacks already
            # have their events, so this delays only the bookkeeping, never a delivery.
            if len(self._outcomes) < RECORD_BATCH and not self._recording_stops:
                await asyncio.sleep(RECORD_LINGER_SECONDS)
            self._outcome_ready.clear()
            if not await self._flush_outcomes() and not self._recording_stops:
                await asyncio.sleep(0.5)  # the database is away: keep the outcomes, try again
                self._outcome_ready.set()

    async def _flush_outcomes(self) -> bool:
        batch, self._outcomes = self._outcomes, []
        if not batch:
            return True
        try:
            await queue.record(self._records, self.name, batch, clock.utc_now())
        except Exception as exc:
            log.warning("recording %d delivery attempts failed: %s", len(batch), describe_error(exc))
            self._outcomes[:0] = batch
            return False
        return True

    # --- stopping -------------------------------------------------------------------------------

    async def _drain(self) -> None:
        # Claimed but never started: back to the queue at once.
        unfinished = [item.id for item in self._ready]
        self._ready.clear()
        if self._in_flight:
            _, pending = await asyncio.wait(list(self._in_flight.values()), timeout=self._grace)
            unfinished += [delivery_id for delivery_id, task in self._in_flight.items() if task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if unfinished:
            with contextlib.suppress(Exception):
                await self._claims.run(queue.release, self.name, unfinished)
            log.info("released %d unfinished deliveries for other workers", len(unfinished))

    # --- cross-process wake-ups -------------------------------------------------------------------

    async def _listen(self) -> None:
        """On PostgreSQL, LISTEN for deliveries created by other processes; reconnect when dropped."""
        if not self._engine.url.get_backend_name().startswith("postgresql"):
            return
        import asyncpg

        dsn = make_url(self._settings.database_url).set(drivername="postgresql").render_as_string(False)
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(dsn, timeout=5)
            except Exception:
                await self._sleep(2.0)
                continue
            closed = asyncio.Event()
            try:
                conn.add_termination_listener(functools.partial(_set, closed))
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # anything created while we were not listening
                await closed.wait()
            except Exception as exc:
                log.debug("LISTEN connection lost: %s", exc)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
            await self._sleep(1.0)


def _set(event: asyncio.Event, *_: object) -> None:
    event.set()
