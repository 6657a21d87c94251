"""The online engine: a background thread steps the model; each request is an async stream.

The thread owns all engine state. Callers only enqueue (`add_request`,
`abort_request` are safe from any thread) and receive outputs through their
stream's asyncio queue. Leaving a stream early (break, cancel, disconnect) aborts
its request, and its KV blocks are freed at the next step boundary.
"""

import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from ..inference.errors import EngineDeadError, RequestError
from ..inference.outputs import EngineMetrics, RequestOutput
from ..inference.protocol import TemplatedChat
from ..inference.sampling import SamplingParams
from ..inference.thread_stream import ThreadStream
from .llm_engine import LLMEngine

IDLE_WAIT_S = 1.0


class AsyncEngine(TemplatedChat):
    constraints = frozenset({"json", "lark"})  # llguidance enforces both inside the sampler

    def __init__(self, model_dir: str | Path | None = None, *, engine: LLMEngine | None = None, **engine_options):
        self.engine = engine if engine is not None else LLMEngine(model_dir, **engine_options)
        self._streams: dict[str, ThreadStream] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="toolsmith-engine", daemon=True)
        self._thread.start()

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    @property
    def max_model_len(self) -> int:
        """The longest prompt + output a request may have, in tokens."""
        return self.engine.max_model_len

    async def generate(
        self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]:
        """Stream outputs until the request finishes; bad input raises before the first output."""
        self._raise_if_dead()
        request_id = request_id or uuid.uuid4().hex
        if request_id in self._streams:
            raise RequestError(f"request id {request_id!r} is already in use")
        stream = self._streams[request_id] = ThreadStream()
        try:
            self.engine.add_request(prompt, params, request_id)
        except BaseException:
            del self._streams[request_id]
            raise
        self._wake.set()
        try:
            async for item in stream.outputs():
                yield item
        finally:
            self._streams.pop(request_id, None)
            if not stream.finished:
                self.abort(request_id)

    def abort(self, request_id: str) -> None:
        self.engine.abort_request(request_id)
        self._wake.set()

    def metrics(self) -> EngineMetrics:
        return self.engine.metrics()

    def shutdown(self) -> None:
        """Stop the step thread; streams still open get EngineDeadError."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._fail_all(EngineDeadError("the engine was shut down"))

    def _run(self) -> None:
        while not self._stopping:
            if not self.engine.has_unfinished():
                self._wake.wait(IDLE_WAIT_S)
                self._wake.clear()
                continue
            try:
                outputs = self.engine.step()
            except Exception as e:  # a bug or out-of-memory: fail loudly rather than hang every stream
                self._error = e
                self._fail_all(EngineDeadError(f"the engine stopped: {type(e).__name__}: {e}"))
                return
            for output in outputs:
                self._deliver(output.request_id, output)

    def _deliver(self, request_id: str, item) -> None:
        stream = self._streams.get(request_id)
        if stream is not None:
            stream.put(item)

    def _fail_all(self, error: EngineDeadError) -> None:
        for request_id in list(self._streams):
            self._deliver(request_id, error)

    def _raise_if_dead(self) -> None:
        if self._error is not None or self._stopping:
            raise EngineDeadError(f"the engine is not running ({self._error or 'shut down'}); restart it")
