"""Server-sent events framed as OpenAI frames them, and noticing clients that leave.

Frames are ``data: <json>\\n\\n`` (LF, not Litestar's CRLF) ending with
``data: [DONE]\\n\\n``: hand-written clients that split on ``\\n`` and compare
lines see exactly what OpenAI sends.
"""

import asyncio
from collections.abc import Awaitable

import msgspec
from litestar import Request
from litestar.response import Stream

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


def frame(payload: object) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


class EventStream(Stream):
    """A Stream that stays ``text/event-stream`` when returned by a route whose default is JSON."""

    def to_asgi_response(self, *args, **kwargs):
        kwargs["media_type"] = "text/event-stream"
        return super().to_asgi_response(*args, **kwargs)


def event_stream(frames) -> EventStream:
    return EventStream(frames, media_type="text/event-stream", headers=SSE_HEADERS, status_code=200)


async def unless_disconnected(request: Request, work: Awaitable):
    """Await `work`, or cancel it and raise ClientGone when the client hangs up first.

    Cancelling closes the engine stream `work` is reading, which aborts the
    request and frees its KV blocks, so an abandoned request costs nothing.
    """
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watch.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise ClientGone


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
