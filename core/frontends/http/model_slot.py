"""The model the server serves: loaded in the background so /health can say "loading"."""

import asyncio
import logging
from collections.abc import Callable

from .errors import ApiError

log = logging.getLogger("toolsmith.http")


class ModelSlot:
    """Holds the engine once `load` has built it; `ready()` is what routes call."""

    def __init__(self, name: str | None, open_engine: Callable[[], object] | None):
        self.name = name or "none"
        self._open = open_engine
        self.engine = None
        self.error: str | None = None
        self.loading = open_engine is not None

    @property
    def configured(self) -> bool:
        """Whether a model is (or is being) served at all."""
        return self._open is not None

    async def load(self) -> None:
        """Build the engine in a worker thread; a failure is kept and reported by every route."""
        try:
            self.engine = await asyncio.to_thread(self._open)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}" if not str(e) else str(e)
            log.error("the model failed to load: %s", self.error)
        finally:
            self.loading = False

    def ready(self):
        if self.engine is not None:
            return self.engine
        if self.loading:
            raise ApiError(503, f"the model {self.name} is still loading; try again in a moment")
        if self.error:
            raise ApiError(503, f"the model failed to load: {self.error}")
        raise ApiError(503, "no model is served; restart with `toolsmith serve --model NAME` or add one with `toolsmith models add PATH`")

    def context_length(self) -> int | None:
        """The served model's context window, when the engine tells (`max_model_len`)."""
        value = getattr(self.engine, "max_model_len", None)
        return value if isinstance(value, int) else None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None
