"""Run a real process on a pseudo-terminal and capture what it shows there."""

import os
import pty
import select
import subprocess


def run_in_pty(argv: list[str], env: dict, answer: bytes = b"") -> tuple[int, bytes]:
    """Run `argv` with a pty as stdin, stdout and stderr; type `answer`; everything it printed."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    if answer:
        os.write(master, answer)
    captured = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for 120 s; so far: {captured!r}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every process holding the pty is gone
            break
        if not chunk:
            break
        captured += chunk
    os.close(master)
    return process.wait(), captured
