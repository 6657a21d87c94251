"""One request's outputs, handed from an engine's worker thread to its asyncio caller.

Engines step on their own thread (a blocking forward pass must not stall the event
loop); each request gets a ThreadStream that the thread `put`s outputs or an error
into and the caller iterates.
"""

import asyncio
from collections.abc import AsyncIterator


class ThreadStream:
    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.finished = False

    def put(self, item) -> None:
        """From the engine thread: an output (with `.finished`) or an exception to raise."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the caller's event loop is closed: nobody is listening
            pass

    async def outputs(self) -> AsyncIterator:
        """Outputs until the finished one; an exception put by the thread is raised here."""
        while not self.finished:
            item = await self.queue.get()
            if isinstance(item, BaseException):
                raise item
            self.finished = item.finished
            yield item
