"""Token throughput over a sliding window, shared by every backend's metrics."""

import time
from collections import deque

WINDOW_S = 10.0


class Throughput:
    """Counts generated and prompt tokens; reports tokens/s over the last `window_s`.

    `add` runs on a backend's worker thread and the rates are read from others;
    appends and copies of a deque are atomic under the GIL, so no lock is needed.
    """

    def __init__(self, window_s: float = WINDOW_S):
        self.window_s = window_s
        self.total_generated = 0
        self._samples: deque[tuple[float, int, int]] = deque()  # (time, generated, prompt tokens)

    def add(self, generated: int, prompt: int = 0) -> None:
        now = time.monotonic()
        self.total_generated += generated
        self._samples.append((now, generated, prompt))
        while self._samples and self._samples[0][0] < now - self.window_s:
            self._samples.popleft()

    def rates(self) -> tuple[float, float]:
        """(generated tokens/s, prompt tokens/s) over the window."""
        now = time.monotonic()
        samples = [s for s in list(self._samples) if s[0] >= now - self.window_s]
        if not samples:
            return 0.0, 0.0
        span = max(now - samples[0][0], 1e-9)
        return sum(s[1] for s in samples) / span, sum(s[2] for s in samples) / span
