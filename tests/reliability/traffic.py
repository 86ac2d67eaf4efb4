"""Webhook traffic for the fault-injection tests: signed as Twilio signs, sent (and retried) as Twilio sends.

Twilio retries a webhook on a connection error, a timeout or a 5xx by sending the same request again;
``TwilioLikeSender`` does the same (bounded in attempts and time), keeping every answer it got, so a
test can say afterwards which requests were answered 200 and when.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from app import simulate
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.twilio_requests import sign

MESSAGES = "/webhooks/twilio/messages"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass(frozen=True)
class SignedWebhook:
    """An inbound SMS webhook, ready to send: its MessageSid, path, form body and Twilio headers."""

    sid: str
    path: str
    body: bytes
    headers: dict[str, str]


def inbound_sms(
    signed_base_url: str, number: int, *, token: str = AUTH_TOKEN, tag: str = "", text: str = "message"
) -> SignedWebhook:
    """The ``number``-th distinct inbound SMS (``tag``: a hex prefix for its MessageSid), signed for
    ``signed_base_url`` + the messages path."""
    sid = f"SM{tag}{number:0{32 - len(tag)}d}"
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, sid=sid, body=f"{text} {number}"))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(signed_base_url + MESSAGES, params, token),
        "User-Agent": "TwilioProxy/1.1",
    }
    return SignedWebhook(sid, MESSAGES, urlencode(params).encode(), headers)


def inbound_sms_batch(
    signed_base_url: str, count: int, *, tag: str = "", start: int = 0
) -> list[SignedWebhook]:
    return [inbound_sms(signed_base_url, start + n, tag=tag) for n in range(count)]


@dataclass(frozen=True)
class Answer:
    """One try of one request: the status, or the transport error that stood in for one."""

    status: int | None
    error: str | None
    body: str
    sent_at: float  # time.monotonic()
    answered_at: float

    @property
    def seconds(self) -> float:
        return self.answered_at - self.sent_at


async def send_once(
    session: aiohttp.ClientSession, base_url: str, webhook: SignedWebhook, *, timeout: float = 10.0
) -> Answer:
    sent_at = time.monotonic()
    try:
        async with session.post(
            base_url + webhook.path,
            data=webhook.body,
            headers=webhook.headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.text()
            return Answer(response.status, None, body, sent_at, time.monotonic())
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Answer(None, type(exc).__name__, "", sent_at, time.monotonic())


@dataclass
class History:
    """Every answer one webhook got, in order."""

    webhook: SignedWebhook
    answers: list[Answer] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return bool(self.answers) and self.answers[-1].status == 200


def new_session(concurrency: int) -> aiohttp.ClientSession:
    # A connection per concurrent sender and no reuse across a dead server's sockets beyond one try.
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    return aiohttp.ClientSession(connector=connector)


class TwilioLikeSender:
    """Sends webhooks ``concurrency`` at a time; each is sent again on a connection error, timeout or
    5xx until it gets a 200 (at most ``max_tries`` tries, and never past ``deadline`` seconds).

    ``send_all`` sends a fixed batch. A test that needs traffic for as long as it lasts instead
    ``add``s webhooks while ``run`` is going and ends it with ``finish``."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int = 16,
        retry_delay: float = 0.05,
        max_tries: int = 400,
        deadline: float = 180.0,
    ):
        self.base_url = base_url
        self.concurrency = concurrency
        self.retry_delay = retry_delay
        self.max_tries = max_tries
        self.deadline = deadline
        self.histories: dict[str, History] = {}
        self.in_flight = 0
        self.accepted = 0
        self._progress = asyncio.Condition()
        self._queue: asyncio.Queue[SignedWebhook | None] = asyncio.Queue()

    @property
    def queued(self) -> int:
        """Webhooks added that no lane has taken yet."""
        return self._queue.qsize()

    def add(self, webhooks: Iterable[SignedWebhook]) -> None:
        for webhook in webhooks:
            self._queue.put_nowait(webhook)

    def finish(self, *, drop_queued: bool = False) -> None:
        """No more webhooks: the lanes end once the queue is empty, or at once with ``drop_queued``
        (webhooks no lane has taken are then never sent and have no history)."""
        while drop_queued and not self._queue.empty():
            self._queue.get_nowait()
        for _ in range(self.concurrency):
            self._queue.put_nowait(None)

    async def send_all(self, webhooks: Iterable[SignedWebhook]) -> dict[str, History]:
        self.add(webhooks)
        self.finish()
        return await self.run()

    async def run(self) -> dict[str, History]:
        stop_at = time.monotonic() + self.deadline
        async with new_session(self.concurrency) as session:
            await asyncio.gather(*(self._lane(session, stop_at) for _ in range(self.concurrency)))
        return self.histories

    async def _lane(self, session: aiohttp.ClientSession, stop_at: float) -> None:
        # Past the deadline a lane still takes each webhook, so every one added gets its (empty) history.
        while (webhook := await self._queue.get()) is not None:
            history = self.histories[webhook.sid] = History(webhook)
            while len(history.answers) < self.max_tries and time.monotonic() < stop_at:
                self.in_flight += 1
                try:
                    answer = await send_once(session, self.base_url, webhook)
                finally:
                    self.in_flight -= 1
                history.answers.append(answer)
                if answer.status is not None and answer.status < 500:
                    break  # a 200, or a 4xx that Twilio would not retry either (the test says which)
                await asyncio.sleep(self.retry_delay)
            if history.accepted:
                async with self._progress:
                    self.accepted += 1
                    self._progress.notify_all()

    async def wait_accepted(self, count: int) -> None:
        async with self._progress:
            await self._progress.wait_for(lambda: self.accepted >= count)


class Stream:
    """A stream of new, distinct webhooks: ``lanes`` senders each send one, keep its answer, pause, send
    the next, until ``stop()``. Nothing is retried here; a test resends what it has to."""

    def __init__(
        self, base_url: str, make: Callable[[int], SignedWebhook], *, lanes: int = 8, pause: float = 0.0
    ):
        self.base_url = base_url
        self.lanes = lanes
        self.pause = pause
        self.sent: list[tuple[SignedWebhook, Answer]] = []
        self._make = make
        self._next = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> list[tuple[SignedWebhook, Answer]]:
        async with new_session(self.lanes) as session:
            await asyncio.gather(*(self._lane(session) for _ in range(self.lanes)))
        return self.sent

    async def _lane(self, session: aiohttp.ClientSession) -> None:
        while not self._stopping.is_set():
            webhook = self._make(self._next)
            self._next += 1
            answer = await send_once(session, self.base_url, webhook)
            self.sent.append((webhook, answer))
            if self.pause:
                await asyncio.sleep(self.pause)


def statuses(histories: Iterable[History]) -> dict[str, int]:
    """How many tries ended in each status (or transport error), over all histories."""
    counts: dict[str, int] = {}
    for history in histories:
        for answer in history.answers:
            key = str(answer.status) if answer.status is not None else answer.error or "error"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
