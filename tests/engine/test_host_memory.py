"""A CPU engine keeps freed activation buffers mapped, so steps do not fault them back in."""

import subprocess
import sys

# Like model steps over a changing batch: activations of 9 to 18 MiB allocated and freed, then
# ten steps of 12 MiB. Prints the page faults those ten steps took.
PROBE = """
import resource, sys, torch
from toolsmith.core.engine.host_memory import keep_freed_buffers
if sys.argv[1] == "tuned":
    assert keep_freed_buffers()
if sys.argv[1] == "engine":
    from toolsmith.core.engine import LLMEngine
    LLMEngine(sys.argv[2], dtype="float32", device="cpu")
for mib in range(9, 19):
    torch.empty(mib << 20, dtype=torch.uint8).fill_(1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.empty(12 << 20, dtype=torch.uint8).fill_(1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(*args: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_freed_buffers_are_reused_instead_of_faulted_back_in():
    pages = (12 << 20) // 4096
    # glibc's own choice varies with the heap's layout (1 to 8 of the 10 steps refaulted here),
    # but it always refaults at least one whole step: the probe sees what tuning removes.
    assert page_faults("default") >= pages // 2
    assert page_faults("tuned") < pages // 10


def test_a_cpu_engine_keeps_freed_buffers(tiny_model):
    folder, _ = tiny_model()
    assert page_faults("engine", str(folder)) < (12 << 20) // 4096 // 10
