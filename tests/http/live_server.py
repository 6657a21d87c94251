"""The HTTP tests' shared pieces: the key, a tiny-model engine opener, and a real uvicorn server."""

import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).parent.parent / "engine"))

from toolsmith.core.base.config import Config, ForgeConfig, ServerConfig  # noqa: E402
from toolsmith.core.engine import AsyncEngine  # noqa: E402
from toolsmith.core.frontends.http.server import uvicorn_config  # noqa: E402

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MODEL = "tiny"
CONTEXT = 8192


def open_tiny(folder: Path):
    return lambda: AsyncEngine(folder, dtype="float32", max_num_seqs=32, kv_cache_tokens=2 * CONTEXT)


def small_config(**server) -> Config:
    """Small caps so random-input tests (schemathesis) stay fast; a one-attempt forge."""
    return Config(server=ServerConfig(**{"max_tokens": 448, **server}), forge=ForgeConfig(max_attempts=1, max_tokens=64))


class Server:
    """uvicorn serving `app` on a free loopback port, in a background thread."""

    def __init__(self, app, healthy: bool = True):
        self.app = app
        self.healthy = healthy  # False: wait only until the model has finished loading (or failed to)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(app, app.state.settings, timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(self.url + "/health")
                if response.status_code == 200 or (not self.healthy and "loading" not in response.text):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the test server did not become healthy in 60 s")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def metrics(self) -> dict[str, float]:
        text = httpx.get(self.url + "/metrics", headers=AUTH).text
        return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}

    def wait_idle(self, timeout: float = 30) -> dict[str, float]:
        """Metrics once nothing runs or waits and no KV block is held."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if m["toolsmith_requests_running"] == 0 and m["toolsmith_requests_waiting"] == 0 and m["toolsmith_kv_blocks_used"] == 0:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"the engine is not idle: {m}")
            time.sleep(0.05)


def collect(stream):
    """Every output of an engine's async stream, from synchronous test code."""

    async def main():
        return [out async for out in stream]

    return asyncio.run(main())
