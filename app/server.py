"""``switchboard serve`` under uvicorn, with a shutdown that fits in 10 seconds and exits 0.

On SIGTERM (or SIGINT) uvicorn stops accepting connections, lets requests in flight finish for up
to ``DRAIN_SECONDS``, then runs the lifespan's shutdown (the event writer commits what it holds,
the in-process delivery worker finishes). Two changes to uvicorn's own handling:

- the delivery worker and the retention pruner are told to stop when the signal arrives, not
  after the drain, so the worker's grace period (5 s) runs alongside it: the whole stop takes
  about max(drain, grace), inside the 10 s orchestrators wait before SIGKILL;
- the signal is not raised again after a graceful stop (uvicorn does that for embedders), so
  the process exits 0 rather than dying of its own SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn

# Requests in flight get this long to finish. Webhooks take milliseconds; the margin is for API
# calls that wait on Twilio. With the worker's 5 s grace running alongside, stop stays under 10 s.
DRAIN_SECONDS = 8
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]):
        super().__init__(config)
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first and self._loop is not None:
            # A signal handler interrupts the loop between two bytecodes: hand over, do not act here.
            self._loop.call_soon_threadsafe(self._on_exit)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn's, minus re-raising the signal after the graceful stop."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
    Server(config, on_exit).run()
