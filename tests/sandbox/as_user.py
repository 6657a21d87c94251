"""Run a real process as an unprivileged user that the test creates with `useradd`.

Tests run as root (as CI does), often from a checkout and an interpreter under /root
(mode 700), which another user cannot walk. The process therefore starts in a
private mount namespace where each such folder is covered by a fresh tmpfs holding
binds of just the trees it needs (the interpreter, the venv, the checkout); then it
drops to the user. The user's own view of every other file is unchanged.
"""

import ctypes
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

import toolsmith.sandbox

CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 4096, 16384, 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)
CHECKOUT = str(Path(toolsmith.sandbox.__file__).resolve().parent.parent)
TREES = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, CHECKOUT)})


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _closed_ancestor(path: str) -> str | None:
    """The topmost folder above `path` that others may not search, if any."""
    found, folder = None, os.path.dirname(path)
    while folder != "/":
        if not os.stat(folder).st_mode & 0o001:
            found = folder
        folder = os.path.dirname(folder)
    return found


def reachable_and_drop(uid: int, gid: int) -> None:
    """In the forked child, before exec: make TREES reachable, then become the user."""
    hidden = {tree: top for tree in TREES if (top := _closed_ancestor(tree))}
    if hidden:
        if _libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        fds = {tree: os.open(tree, os.O_PATH) for tree in hidden}
        for top in sorted(set(hidden.values()), key=len):
            _mount("tmpfs", top, "tmpfs", 0, "mode=0755,size=64k")
        for tree, fd in fds.items():
            os.makedirs(tree, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", tree, None, MS_BIND | MS_REC)
            os.close(fd)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def run_as(user: pwd.struct_passwd, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(argv) as `user` (HOME set to theirs), with the trees reachable."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": user.pw_dir, "LANG": "C.UTF-8", **kwargs.pop("env", {})}
    return subprocess.run(argv, preexec_fn=lambda: reachable_and_drop(user.pw_uid, user.pw_gid), env=env, **kwargs)


def popen_as(user: pwd.struct_passwd, argv: list[str], **kwargs) -> subprocess.Popen:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": user.pw_dir, "LANG": "C.UTF-8", **kwargs.pop("env", {})}
    return subprocess.Popen(argv, preexec_fn=lambda: reachable_and_drop(user.pw_uid, user.pw_gid), env=env, **kwargs)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def normal_user(tmp_path_factory):
    """A fresh unprivileged user with its own home; removed after the session."""
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.getuid())  # already a normal user: that is the case under test
        return
    if not os.access("/usr/sbin/useradd", os.X_OK):
        pytest.skip("useradd is not installed here (apt-get install passwd); cannot create a normal user")
    name = next(f"tsm{os.getpid() % 100000}x{n}" for n in range(100) if not _user_exists(f"tsm{os.getpid() % 100000}x{n}"))
    home = tmp_path_factory.mktemp("normal-user-home")
    created = subprocess.run(["/usr/sbin/useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
                             capture_output=True, text=True)
    if created.returncode != 0:
        pytest.skip(f"useradd failed, cannot create a normal user: {created.stderr.strip()}")
    user = pwd.getpwnam(name)
    for path in [home, *home.parents]:
        if str(path).startswith("/tmp/") or path == home:
            os.chmod(path, os.stat(path).st_mode | 0o001)  # pytest's basetemp is 700
    os.chown(home, user.pw_uid, user.pw_gid)
    os.chmod(home, 0o755)
    try:
        yield user
    finally:
        subprocess.run(["/usr/sbin/userdel", name], capture_output=True)
