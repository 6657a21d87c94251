"""The per-run quota of a preview: bytes and entries the tool may add to its layers.

Each file a tool writes is capped by RLIMIT_FSIZE, but not their sum: a preview could
fill the disk that holds toolsmith's data. The launcher measures the layers while
the tool runs and ends the run when they pass the quota. A copy-mode layer starts
as a full copy of the write root: only what the tool adds beyond it counts.
"""

import os
import stat
import time


class LayerQuota:
    """Measures `uppers` (walks, never following symlinks) every so often."""

    def __init__(self, uppers: list[str], max_bytes: int, max_entries: int):
        self.uppers, self.max_bytes, self.max_entries = uppers, max_bytes, max_entries
        self.base_bytes, self.base_entries = self.usage()
        self.next_check, self.interval = 0.0, 0.25

    def usage(self) -> tuple[int, int]:
        """Allocated bytes and entries below every upper."""
        used = entries = 0
        for upper in self.uppers:
            for folder, dirs, files in os.walk(upper):
                for name in dirs + files:
                    entries += 1
                    try:
                        st = os.lstat(os.path.join(folder, name))
                    except FileNotFoundError:  # the tool removed it meanwhile
                        continue
                    used += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode) and not os.access(os.path.join(folder, name), os.R_OK | os.X_OK):
                        os.chmod(os.path.join(folder, name), stat.S_IMODE(st.st_mode) | 0o500)  # ours: it must be measured
        return used, entries

    def exceeded(self, now: float) -> str | None:
        """"bytes" or "entries" when the layers passed the quota, else None (checked
        at most every interval, which grows with the cost of a walk)."""
        if now < self.next_check:
            return None
        started = time.monotonic()
        used, entries = self.usage()
        self.next_check = now + max(self.interval, 10 * (time.monotonic() - started))
        if used - self.base_bytes > self.max_bytes:
            return "bytes"
        if entries - self.base_entries > self.max_entries:
            return "entries"
        return None
