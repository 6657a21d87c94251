"""execute() and `toolsmith sandbox exec`: what a user relies on when the sandbox lets things through.

The control tests prove allowed reads and writes work (a sandbox that blocks everything
is not a sandbox); the CLI tests compare the sandboxed run with the same command run bare.
"""

import os
import stat
import subprocess
import sys

import pytest

from toolsmith.sandbox import launcher
from toolsmith.sandbox.errors import SandboxError
from toolsmith.sandbox.launcher import execute
from toolsmith.sandbox.policy import Overlay, Policy

from escape_harness import TOOL_UID, TOOLSMITH, listener, make_world, remove_world


@pytest.fixture
def world():
    made = make_world()
    yield made
    made.assert_host_unaffected()
    remove_world(made)


def cli(*args, stdin=None):
    return subprocess.run([TOOLSMITH, *args], input=stdin, capture_output=True, timeout=120)


# ---------------------------------------------------------------- the control


def test_allowed_reads_and_writes_work(world):
    result = world.run(
        """
        import json, shutil, subprocess
        data = open(ARGS[0] + "/data.txt").read()
        os.makedirs(ARGS[1] + "/sub/deeper")
        with open(ARGS[1] + "/sub/deeper/copy.txt", "w") as f:
            f.write(data.upper())
        open(ARGS[1] + "/gone.txt", "w").write("temporary")
        os.rename(ARGS[1] + "/gone.txt", ARGS[1] + "/moved.txt")
        os.unlink(ARGS[1] + "/moved.txt")
        os.symlink("sub/deeper/copy.txt", ARGS[1] + "/link")
        open("/tmp/scratch", "w").write("scratch")
        shutil.copy(ARGS[0] + "/data.txt", ARGS[1] + "/via-shutil.txt")
        subprocess.run(["sh", "-c", "echo from-shell > " + ARGS[1] + "/shell.txt"], check=True)
        print(json.dumps({"listing": sorted(os.listdir(ARGS[0])), "tmp": open("/tmp/scratch").read(),
                          "random": len(os.urandom(8))}))
        """, world.inbox, world.outbox,
    )
    assert result.exit_code == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == '{"listing": ["data.txt"], "tmp": "scratch", "random": 8}'
    assert (world.outbox / "sub/deeper/copy.txt").read_text() == "INPUT DATA\n"
    assert (world.outbox / "via-shutil.txt").read_text() == "input data\n"
    assert (world.outbox / "shell.txt").read_text() == "from-shell\n"
    assert os.readlink(world.outbox / "link") == "sub/deeper/copy.txt"
    assert not (world.outbox / "moved.txt").exists()
    assert (world.outbox / "sub").stat().st_uid == TOOL_UID


def test_a_single_file_can_be_granted_without_its_folder(world):
    (world.inbox / "notes.txt").write_text("notes\n")
    world.before = world.snapshot()
    got = world.report(
        """
        attempt("file", lambda: open(ARGS[0]).read())
        attempt("beside_file", lambda: open(ARGS[1]).read())
        done()
        """, world.inbox / "data.txt", world.inbox / "notes.txt", read_paths=[str(world.inbox / "data.txt")],
    )
    assert got == {"file": "ok: input data\n", "beside_file": "ENOENT"}


def test_a_write_folder_inside_a_read_folder_is_the_only_writable_part(world):
    results = world.inbox / "results"
    results.mkdir()
    os.chown(results, TOOL_UID, TOOL_UID)
    world.before = world.snapshot()
    got = world.report(
        """
        attempt("inner", lambda: open(ARGS[0] + "/out.txt", "w").write("done"))
        attempt("outer", lambda: open(ARGS[1] + "/out.txt", "w").write("done"))
        done()
        """, results, world.inbox, write_paths=[str(results)],
    )
    assert got == {"inner": "ok: 4", "outer": "EROFS"}
    assert (results / "out.txt").read_text() == "done"
    after = world.snapshot()
    assert set(after) - set(world.before) == {str(results / "out.txt")}
    world.before = after


def test_network_is_reachable_only_when_the_policy_allows_it(world):
    server = listener()
    port = server.getsockname()[1]
    program = """
        s = socket.create_connection(("127.0.0.1", ARGS[0]), timeout=5)
        s.sendall(b"hello from the sandbox")
        s.close()
        """
    assert world.run(program, port).exit_code != 0
    result = world.run(program, port, network=True)
    assert result.exit_code == 0, result.stderr.decode()
    server.setblocking(True)
    conn, _ = server.accept()
    assert conn.recv(100) == b"hello from the sandbox"
    conn.close()
    server.close()


def test_the_working_directory_is_the_policys(world):
    result = world.run("open('relative.txt', 'w').write(os.getcwd())", cwd=str(world.outbox))
    assert result.exit_code == 0, result.stderr.decode()
    assert (world.outbox / "relative.txt").read_text() == str(world.outbox)


def test_stdin_bytes_reach_the_command(world):
    result = execute(["python3", "-c", "import sys; sys.stdout.write(sys.stdin.read()[::-1])"],
                     world.policy(), stdin=b"abc\n")
    assert result.stdout == b"\ncba"


def test_resource_usage_is_measured(world):
    result = world.run("block = bytearray(80 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096])")
    assert result.exit_code == 0
    assert result.usage.max_rss_kb > 80 * 1024
    assert result.usage.cpu_seconds > 0 and result.usage.wall_seconds > 0


# ---------------------------------------------------------------- previews: what part B relies on


def test_an_overlay_keeps_the_real_files_and_records_every_change_in_upper(tmp_path, world):
    target = world.outbox
    (target / "keep.txt").write_text("keep")
    (target / "edit.txt").write_text("old")
    (target / "delete.txt").write_text("bye")
    (target / "folder").mkdir()
    (target / "folder" / "inner.txt").write_text("inner")
    for path in target.rglob("*"):
        os.chown(path, TOOL_UID, TOOL_UID)
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    launcher.overlay_mode.cache_clear()
    assert launcher.overlay_mode() == "overlay"  # this kernel supports unprivileged overlayfs

    result = execute(
        ["python3", "-c", """
import os, shutil, sys
t = sys.argv[1]
open(t + "/edit.txt", "w").write("new")
open(t + "/created.txt", "w").write("fresh")
os.unlink(t + "/delete.txt")
shutil.rmtree(t + "/folder")
os.mkdir(t + "/folder")
open(t + "/folder/other.txt", "w").write("other")
print(sorted(os.listdir(t)))
""", str(target)],
        world.policy(), overlays=[Overlay(str(target), str(upper), str(work))],
    )
    assert result.exit_code == 0, result.stderr.decode()
    assert result.stdout == b"['created.txt', 'edit.txt', 'folder', 'keep.txt']\n"
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert (upper / "edit.txt").read_text() == "new" and (upper / "created.txt").read_text() == "fresh"
    whiteout = (upper / "delete.txt").lstat()
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(upper / "folder", "user.overlay.opaque") == b"y"
    assert (upper / "folder" / "other.txt").read_text() == "other"
    assert not (upper / "keep.txt").exists()


def test_copy_mode_binds_the_prepared_copy_over_the_target(tmp_path, world, monkeypatch):
    monkeypatch.setattr(launcher, "overlay_mode", lambda: "copy")
    target = world.outbox
    (target / "real.txt").write_text("real")
    upper, work = tmp_path / "copy", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    (upper / "real.txt").write_text("real")
    result = execute(
        ["sh", "-c", f"cat {target}/real.txt; echo changed > {target}/real.txt; touch {target}/new"],
        world.policy(), overlays=[Overlay(str(target), str(upper), str(work))],
    )
    assert result.exit_code == 0, result.stderr.decode()
    assert result.stdout == b"real"
    assert (target / "real.txt").read_text() == "real" and not (target / "new").exists()
    assert (upper / "real.txt").read_text() == "changed\n" and (upper / "new").exists()


def test_an_overlay_target_must_be_a_write_path(tmp_path, world):
    with pytest.raises(SandboxError, match="not one of the policy's write paths"):
        execute(["true"], world.policy(), overlays=[Overlay(str(world.inbox), str(tmp_path), str(tmp_path))])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "policy,argv,message",
    [
        (Policy(read_paths=["/no/such/folder"]), ["true"], "read path '/no/such/folder' does not exist"),
        (Policy(write_paths=["/"]), ["true"], "would expose the whole filesystem"),
        (Policy(), ["no-such-command-1f3a"], "command not found: 'no-such-command-1f3a'"),
        (Policy(), [], "no command given"),
        (Policy(cwd="/etc"), ["true"], "working directory '/etc' is not among the read or write paths"),
    ],
)
def test_bad_requests_get_a_clear_error(policy, argv, message):
    with pytest.raises(SandboxError, match=message):
        execute(argv, policy)


# ---------------------------------------------------------------- `toolsmith sandbox exec`


def test_exec_passes_stdout_stderr_and_exit_code_through_unchanged():
    program = "import sys; sys.stdout.write('out\\x00put\\n'); sys.stderr.write('err\\n'); sys.exit(7)"
    bare = subprocess.run([sys.executable, "-c", program], capture_output=True)
    sandboxed = cli("sandbox", "exec", "--", "python3", "-c", program)
    assert (sandboxed.returncode, sandboxed.stdout, sandboxed.stderr) == (bare.returncode, bare.stdout, bare.stderr)


def test_exec_passes_stdin_through():
    done = cli("sandbox", "exec", "--", "tr", "a-z", "A-Z", stdin=b"piped text\n")
    assert (done.returncode, done.stdout) == (0, b"PIPED TEXT\n")


def test_exec_timeout_exits_124_with_one_line():
    done = cli("sandbox", "exec", "--timeout", "1", "--", "sleep", "30")
    assert done.returncode == 124 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and "timed out after 1 s" in done.stderr.decode()


def test_exec_a_command_killed_by_sigkill_exits_137_with_one_line():
    # What the kernel does at a hard CPU limit or an OOM kill; here the command does it to itself.
    done = cli("sandbox", "exec", "--", "python3", "-c", "import os; os.kill(os.getpid(), 9)")
    assert done.returncode == 137 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and "resource limit" in done.stderr.decode()


def test_exec_shows_a_policy_violation_as_the_commands_own_error(world):
    secret = world.secret()
    done = cli("sandbox", "exec", "--read", str(world.inbox), "--", "cat", str(secret))
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode() == f"cat: {secret}: No such file or directory\n"
    done = cli("sandbox", "exec", "--read", str(world.inbox), "--", "sh", "-c", f"echo x > {world.inbox}/data.txt")
    assert done.returncode != 0 and "Read-only file system" in done.stderr.decode()
    done = cli("sandbox", "exec", "--write", str(world.outbox), "--", "sh", "-c", f"echo x > {world.outbox}/w")
    assert done.returncode == 0 and (world.outbox / "w").read_text() == "x\n"


def test_exec_reports_bad_input_in_one_line():
    done = cli("sandbox", "exec", "--read", "/no/such/path", "--", "true")
    assert done.returncode == 1 and done.stderr.decode().count("\n") == 1
    assert "read path '/no/such/path' does not exist" in done.stderr.decode()


def test_output_is_seen_while_the_command_still_runs(tmp_path_factory):
    """The command waits for a file that only our on_output callback makes on seeing its first line."""
    folder = tmp_path_factory.mktemp("live")
    folder.chmod(0o755)
    go = folder / "go"
    code = ("import os, sys, time\nprint('ready', flush=True)\ndeadline = time.monotonic() + 60\n"
            "while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
            "print('saw it' if os.path.exists(sys.argv[1]) else 'never saw it', flush=True)\n")
    seen = []

    def on_output(stream, data):
        seen.append((stream, data))
        if b"ready" in data:
            go.write_text("")

    result = execute(["python3", "-c", code, str(go)], Policy(read_paths=[str(folder)], timeout=90), on_output=on_output)
    assert result.exit_code == 0 and result.stdout == b"ready\nsaw it\n"
    assert b"".join(data for stream, data in seen if stream == "stdout") == result.stdout
