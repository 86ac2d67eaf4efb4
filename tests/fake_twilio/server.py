"""Running an ASGI app on a real local port, in a background thread, for tests that need a socket.

Owns the uvicorn lifecycle: bind 127.0.0.1 port 0 ourselves (so the port is known before start and no
two test runs race for one), start `uvicorn.Server` on that socket in a daemon thread with its own event
loop, wait until it accepts connections, and stop it cleanly.
"""

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT = 10.0


class ServerThread:
    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self._host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        config = uvicorn.Config(
            app,
            lifespan="off",
            ws="none",  # no websocket protocol import: websockets' legacy module warns on import
            log_config=None,  # leave the test process's logging configuration alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="fake-twilio", daemon=True
        )

    @property
    def base_url(self) -> str:
        port = self._socket.getsockname()[1]
        return f"http://{self._host}:{port}"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError("the fake Twilio server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT)
        self._socket.close()
