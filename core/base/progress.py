"""Progress of a long step (loading a model's weights), told to whoever listens.

Code deep down (the engine's weight loader) calls `advance(done, total)`; a frontend
that draws a bar wraps the step in `listening(callback)`. Nothing listens by
default, and the listener is per thread of control (a contextvar), so two requests
never see each other's progress.
"""

import contextvars
from collections.abc import Callable
from contextlib import contextmanager

_listener: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("toolsmith_progress", default=None)


@contextmanager
def listening(callback: Callable[[int, int], None]):
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def advance(done: int, total: int) -> None:
    callback = _listener.get()
    if callback is not None:
        callback(done, total)
