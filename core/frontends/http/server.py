"""The HTTP server's connection handling: read timeouts and a connection cap.

uvicorn times out only idle keep-alive connections, so a client that sends half a
header and stalls holds its connection for ever; 1,200 of them starved the server.
Here a request's headers must arrive within ``header_timeout_s`` and its body within
``body_timeout_s`` after them, and past ``max_connections`` the oldest connection
still sending its headers is dropped to make room (or, if none is, the new one).
"""

import asyncio

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ...base.config import ServerConfig


def uvicorn_config(app, settings: ServerConfig, **options) -> uvicorn.Config:
    """uvicorn's config for `app` with the guarded protocol; `options` as uvicorn.Config takes them."""
    protocol = type("GuardedH11Protocol", (GuardedH11Protocol,), {"settings": settings})
    return uvicorn.Config(app, http=protocol, **{"log_level": "warning", "timeout_graceful_shutdown": 5, **options})


class GuardedH11Protocol(H11Protocol):
    settings: ServerConfig

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._deadline: asyncio.TimerHandle | None = None
        self._reading = "headers"
        super().connection_made(transport)
        if len(self.connections) > self.settings.max_connections:
            waiting = [c for c in self.connections if c is not self and getattr(c, "_reading", None) == "headers"]
            victim = min(waiting, key=lambda c: c._started, default=self)
            victim.transport.close()
            if victim is self:
                return
        self._read_within(self.settings.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._reading == "headers":
            self._read_within(self.settings.body_timeout_s, "body")
        elif state is not h11.IDLE and state is not h11.SEND_BODY:  # the whole request is in (or the connection ends)
            self._stop_clock()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._read_within(self.settings.header_timeout_s)  # the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _read_within(self, seconds: float, reading: str = "headers") -> None:
        self._stop_clock()
        self._reading, self._started = reading, self.loop.time()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._reading = ""

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
