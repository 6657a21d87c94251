"""Parent side of the sandbox: turn a Policy into the child's plan, run it, collect the result.

The child (``child.py``) applies the isolation layers; this module decides what the
sandbox's filesystem holds, resolves the command, enforces the wall-clock timeout and
reports how the run ended. Nothing here runs untrusted code in this process.
"""

import ast
import contextlib
import functools
import marshal
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import cgroup, layers
from .errors import SandboxError
from .layers import LayerStatus
from .policy import Overlay, Policy
from .quota import LayerQuota

SANDBOX_UID = 65534  # "nobody": what a run started as root becomes
SIMULATE_ENV = "TOOLSMITH_SANDBOX_SIMULATE_MISSING"  # test hook: comma-separated layer names
ABI_CAP_ENV = "TOOLSMITH_SANDBOX_LANDLOCK_ABI"  # test hook: use at most this Landlock ABI, as older kernels do
CHILD = Path(__file__).with_name("child.py")

SYSTEM_TREES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
    "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf", "ssl", "ca-certificates",
    "ca-certificates.conf", "mime.types", "locale.alias", "alternatives", "os-release",
    "python3", "python3.11", "python3.12", "python3.13",
)
DEFAULT_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
KILLED_BY_LIMIT = (signal.SIGKILL, signal.SIGXCPU, signal.SIGXFSZ)
EXIT_TIMEOUT, EXIT_KILLED = 124, 137


class SandboxUnavailable(SandboxError):
    """A required isolation layer is missing and degraded runs were not allowed."""


@dataclass
class Usage:
    wall_seconds: float
    cpu_seconds: float
    max_rss_kb: int


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    killed: bool  # ended by a resource limit (CPU time, file size, captured output) or SIGKILL
    usage: Usage
    over_quota: str = ""  # "bytes" or "entries": the preview's layers passed Policy.preview_mb / preview_files


def execute(
    argv: list[str],
    policy: Policy,
    *,
    overlays: list[Overlay] = (),
    capture: bool = True,
    stdin: bytes | None = None,
    on_output: Callable[[str, bytes], None] | None = None,
) -> ExecResult:
    """Run ``argv`` inside the sandbox described by ``policy``.

    capture=False passes the child's stdout and stderr (and stdin, when ``stdin`` is
    None) straight through to ours; the result's streams are then b"". With capture,
    ``on_output("stdout" | "stderr", data)`` sees each piece as it arrives, so a long
    run can be shown live; the result still holds everything.
    """
    if not argv:
        raise SandboxError("no command given: say what to run after '--'")
    config = _child_config(list(argv), policy, list(overlays), probe=False)
    if config["drop_to"] is not None and overlays:
        _give_to_sandbox_uid(overlays)
    quota = LayerQuota([os.path.realpath(o.upper) for o in overlays], policy.preview_mb << 20, policy.preview_files) if overlays else None
    return _run(config, policy, capture, stdin, quota=quota, on_output=on_output)


def check_layers() -> list[LayerStatus]:
    """Apply every layer in a throwaway sandbox and report what is in force and what is missing."""
    policy = Policy(allow_degraded=True, timeout=30)
    config = _child_config(["/bin/true"], policy, [], probe=True)
    found = {}
    for message in _run(config, policy, True, None, status=True):
        found.update(message.get("layers", {}))
    return layers.statuses(found)


@functools.cache
def overlay_mode() -> str:
    """Say "overlay" when overlayfs works inside the sandbox here, else "copy" (probed once)."""
    overlay = next(s for s in check_layers() if s.name == "overlayfs")
    return "overlay" if overlay.active else "copy"


# ---------------------------------------------------------------- what the sandbox can see

def _real(path: str, what: str) -> str:
    full = os.path.realpath(os.path.expanduser(path))
    if not os.path.exists(full):
        raise SandboxError(f"{what} {path!r} does not exist; create it or fix the path")
    if full == "/":
        raise SandboxError(f"{what} '/' would expose the whole filesystem; name the folders the command needs")
    return full


def _inside(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _interpreter_trees() -> list[str]:
    """Where this Python and its venv live, so ``python3`` starts inside (e.g. under /root on CI)."""
    trees = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    trees.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(t for t in trees if not _inside(t, SYSTEM_TREES))


def _copied(o: Overlay) -> bool:
    return o.copy or overlay_mode() == "copy"


def _binds(policy: Policy, overlays: list[Overlay]) -> list[dict]:
    binds = []
    for tree in SYSTEM_TREES:
        if os.path.islink(tree):
            binds.append({"dst": tree, "symlink": os.readlink(tree)})
        elif os.path.isdir(tree):
            binds.append({"src": tree, "dst": tree, "write": False})
    for name in ETC_ENTRIES:
        entry = os.path.join("/etc", name)
        if os.path.exists(entry):
            binds.append({"src": os.path.realpath(entry), "dst": entry, "write": False})
    for tree in _interpreter_trees():
        binds.append({"src": tree, "dst": tree, "write": False})
    writes = {_real(p, "write path") for p in policy.write_paths}
    for path in sorted({_real(p, "read path") for p in policy.read_paths} - writes):
        binds.append({"src": path, "dst": path, "write": False})
    targets = {}
    for o in overlays:
        target = _real(o.target, "overlay target")
        if target not in writes:
            raise SandboxError(f"overlay target {o.target!r} is not one of the policy's write paths")
        if any(c in target for c in ",:\\"):
            raise SandboxError(f"cannot preview {target!r}: ',', ':' and '\\' are not allowed in its path")
        targets[target] = o
    for path in sorted(writes):
        o = targets.get(path)
        if o is None:
            binds.append({"src": path, "dst": path, "write": True})
        elif _copied(o):
            binds.append({"src": os.path.realpath(o.upper), "dst": path, "write": True, "preview": True})
        else:  # overlay: the real tree, read-only, becomes the lower layer
            binds.append({"src": path, "dst": path, "write": False})
    return binds


def _visible_roots(binds: list[dict]) -> list[str]:
    return [b["dst"] for b in binds if "src" in b]


def _sandbox_path(policy: Policy, roots: list[str]) -> list[str]:
    """PATH inside: this interpreter's bin first, then the host's PATH entries that exist inside."""
    host = os.environ.get("PATH", "").split(":") if "PATH" in policy.env_allow else []
    dirs = [os.path.dirname(sys.executable), *host, *DEFAULT_PATH]
    return list(dict.fromkeys(d for d in dirs if d and os.path.isabs(d) and _inside(os.path.realpath(d), roots)))


def _resolve_command(name: str, path: list[str], roots: list[str]) -> tuple[str, dict | None]:
    """The command's absolute path inside the sandbox, plus a bind when it lives outside every tree."""
    found = os.path.abspath(name) if "/" in name else shutil.which(name, path=":".join(path))
    if not found or not os.path.isfile(found):
        raise SandboxError(f"command not found: {name!r} (searched {':'.join(path)})")
    real = os.path.realpath(found)
    if _inside(real, roots) and _inside(os.path.realpath(os.path.dirname(found)), roots):
        return found, None
    return real, {"src": real, "dst": real, "write": False}


def _environment(policy: Policy, path: list[str]) -> dict:
    env = {name: os.environ[name] for name in policy.env_allow if name in os.environ}
    env.update(PATH=":".join(path), HOME="/tmp", TMPDIR="/tmp", PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _give_to_sandbox_uid(overlays: list[Overlay]) -> None:
    """Started as root: the dropped uid must write the preview's upper and work dirs.

    It must also reach them from their common parent (overlayfs wants both on one mount,
    so the launcher binds that parent): the folders in between become searchable (o+x).
    """
    for o in overlays:
        parent = os.path.commonpath([os.path.realpath(o.upper), os.path.realpath(o.work)])
        for top in (o.upper, o.work):
            folder = os.path.dirname(os.path.realpath(top))
            while len(folder) >= len(parent):
                os.chmod(folder, os.stat(folder).st_mode | stat.S_IXOTH)
                folder = os.path.dirname(folder)
            for path in [top, *(os.path.join(folder, name) for folder, dirs, files in os.walk(top) for name in dirs + files)]:
                st = os.lstat(path)
                if (st.st_uid, st.st_gid) != (SANDBOX_UID, SANDBOX_UID):  # a chown would move the copy's ctime
                    os.chown(path, SANDBOX_UID, SANDBOX_UID, follow_symlinks=False)


def _child_config(argv: list[str], policy: Policy, overlays: list[Overlay], probe: bool) -> dict:
    simulated = [s.strip() for s in os.environ.get(SIMULATE_ENV, "").split(",") if s.strip()]
    binds = _binds(policy, overlays)
    roots = _visible_roots(binds)
    path = _sandbox_path(policy, roots)
    command, extra = _resolve_command(argv[0], path, roots)
    if extra:
        binds.append(extra)
    cwd = _real(policy.cwd, "working directory") if policy.cwd else os.getcwd()
    if cwd != "/tmp" and not _inside(cwd, roots):
        if policy.cwd:
            raise SandboxError(f"working directory {policy.cwd!r} is not among the read or write paths")
        cwd = "/tmp"  # the sandbox's own
    return {
        "executable": command,
        "argv": argv,
        "env": _environment(policy, path),
        "cwd": cwd,
        "binds": binds,
        "overlays": [{"target": _real(o.target, "overlay target"), "upper": os.path.realpath(o.upper),
                      "work": os.path.realpath(o.work)} for o in overlays if not _copied(o)],
        "drop_to": SANDBOX_UID if os.geteuid() == 0 else None,
        "network": policy.network,
        "memory_mb": policy.memory_mb,
        "max_file_mb": policy.max_file_mb,
        "max_processes": policy.max_processes,
        "cpu_seconds": policy.cpu_seconds,
        "tmp_mb": policy.tmp_mb,
        "tmp_inodes": policy.tmp_inodes,
        "allow_degraded": policy.allow_degraded,
        "simulate_missing": simulated,
        "landlock_abi_cap": int(os.environ.get(ABI_CAP_ENV) or 0),
        "probe": probe,
        "launcher_pid": os.getpid(),
    }


# ---------------------------------------------------------------- running and collecting

def _run(config: dict, policy: Policy, capture: bool, stdin: bytes | None, status: bool = False, quota: LayerQuota | None = None,
         on_output: Callable[[str, bytes], None] | None = None):
    group, why = cgroup.create(policy.memory_mb)
    config["cgroup_procs"] = group.procs if group else None
    config["run_memory"] = group.describe(policy.memory_mb) if group else f"not limited per run: {why}"
    try:
        return _run_in(config, policy, capture, stdin, status, quota, on_output)
    finally:
        if group:
            group.remove()


def _run_in(config: dict, policy: Policy, capture: bool, stdin: bytes | None, status: bool, quota: LayerQuota | None,
            on_output: Callable[[str, bytes], None] | None):
    status_r, status_w = os.pipe()
    config["status_fd"] = status_w
    plan = os.memfd_create("toolsmith-sandbox-plan")
    os.write(plan, marshal.dumps(config))
    os.lseek(plan, 0, os.SEEK_SET)
    stream = subprocess.PIPE if capture else None
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(CHILD), str(plan)],
            stdin=subprocess.PIPE if stdin is not None else (subprocess.DEVNULL if capture else None),
            stdout=stream, stderr=stream, pass_fds=(status_w, plan), start_new_session=True, env={},
        )
    except OSError:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
        os.close(plan)
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    try:
        streams, stopped = _collect(proc, status_r, started + policy.timeout, policy.max_output_mb << 20, quota, on_output)
    finally:
        _kill(proc)
        os.close(status_r)
    _, wait_status = os.waitpid(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    if quota and not stopped and (over := quota.exceeded(float("inf"))):  # what it wrote between two checks
        stopped = f"quota:{over}"
    messages = _messages(streams.pop(status_r))
    if status:
        failure = next((m["failure"] for m in messages if "failure" in m), None)
        if failure:
            raise SandboxError(f"the sandbox could not start: {failure}")
        return messages
    for message in messages:
        if "error" in message:
            error = message["error"]
            raise SandboxUnavailable(layers.refusal(error["layer"], error["reason"]))
        if "failure" in message:
            raise SandboxError(f"the sandbox could not start the command: {message['failure']}")
    out = bytes(streams.get(proc.stdout.fileno(), b"")) if capture else b""
    err = bytes(streams.get(proc.stderr.fileno(), b"")) if capture else b""
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()
    usage = _usage(messages, time.monotonic() - started)
    code, killed = _ending(messages, wait_status)
    if stopped == "timeout":
        code, killed = EXIT_TIMEOUT, False
    elif stopped:  # the captured output or the preview's layers passed their limit
        code, killed = EXIT_KILLED, True
    over = stopped.removeprefix("quota:") if stopped and stopped.startswith("quota:") else ""
    return ExecResult(code, out, err, stopped == "timeout", killed, usage, over)


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError):
        pass


def _collect(proc: subprocess.Popen, status_r: int, deadline: float, output_limit: int,
             quota: LayerQuota | None, on_output: Callable[[str, bytes], None] | None = None) -> tuple[dict, str | None]:
    """Read every stream until the run ends; kill the whole run at the deadline, when
    the captured output passes ``output_limit`` bytes or the layers pass the quota.
    Returns the streams and why the run was stopped ("timeout", "output",
    "quota:bytes", "quota:entries" or None)."""
    streams = {status_r: bytearray()}
    names = {}
    for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if pipe:
            streams[pipe.fileno()] = bytearray()
            names[pipe.fileno()] = name
    pidfd = os.pidfd_open(proc.pid)
    selector = selectors.DefaultSelector()
    for fd in [*streams, pidfd]:
        selector.register(fd, selectors.EVENT_READ)
    open_fds, exited, stopped, drain_until, captured, kill_at = set(streams), False, None, None, 0, None
    try:
        while open_fds or not exited:
            now = time.monotonic()
            if not exited and not stopped and now >= deadline:
                stopped, kill_at = "timeout", _stop(proc)
            if not exited and not stopped and quota and (over := quota.exceeded(now)):
                stopped, kill_at = f"quota:{over}", _stop(proc)
            if not exited and kill_at and now >= kill_at:
                _kill(proc)
                kill_at = now + 1.0
            if exited and drain_until is None:
                _kill(proc)  # anything the command left behind outside a pid namespace
                drain_until = now + 1.0
            if drain_until is not None and now >= drain_until:
                break
            wake = drain_until or kill_at or min(deadline, quota.next_check if quota and not stopped else deadline)
            for key, _ in selector.select(max(0.0, wake - now)):
                if key.fd == pidfd:
                    exited = True
                    selector.unregister(pidfd)
                    continue
                data = os.read(key.fd, 1 << 16)
                if not data:
                    selector.unregister(key.fd)
                    open_fds.discard(key.fd)
                elif key.fd == status_r or captured + len(data) <= output_limit:
                    streams[key.fd] += data
                    captured += len(data) if key.fd != status_r else 0
                    if on_output and key.fd != status_r:
                        on_output(names[key.fd], data)
                elif not stopped:
                    stopped, kill_at = "output", _stop(proc)
    finally:
        selector.close()
        os.close(pidfd)
    return streams, stopped


def _stop(proc: subprocess.Popen) -> float:
    """Ask the child to end the run (SIGTERM: with a pid namespace it simply dies and takes
    the namespace along; without one it first kills every process of the run). Returns
    when to stop asking and SIGKILL the group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    return time.monotonic() + 1.0


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the launcher's process group: its PID 1 dies, and with it the whole pid namespace."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _messages(raw: bytes) -> list[dict]:
    messages = []
    for line in bytes(raw).splitlines():
        try:
            message = ast.literal_eval(line.decode())
        except (ValueError, SyntaxError, UnicodeDecodeError):
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


def _usage(messages: list[dict], wall: float) -> Usage:
    """What the command used, as its supervisor counted it (zero if it never started)."""
    end = next((m for m in messages if "exit" in m or "signal" in m), {})
    return Usage(wall, float(end.get("cpu_seconds", 0.0)), int(end.get("max_rss_kb", 0)))


def _ending(messages: list[dict], wait_status: int) -> tuple[int, bool]:
    """(exit code, killed by a limit) from PID 1's report, or from the wait status without one."""
    sig = next((m["signal"] for m in messages if isinstance(m.get("signal"), int)), None)
    code = next((m["exit"] for m in messages if isinstance(m.get("exit"), int)), None)
    if sig is None and code is None:
        if os.WIFSIGNALED(wait_status):
            sig = os.WTERMSIG(wait_status)
        else:
            code = os.WEXITSTATUS(wait_status)
    if sig is not None:
        return (EXIT_KILLED, True) if sig in KILLED_BY_LIMIT else (128 + sig, False)
    return code, False
