"""The sandbox's child side: apply every isolation layer, then exec the command.

The launcher starts this file as ``python -I -S -B child.py CONFIG_FD``: a memfd holding
the plan as marshal data (any size, no argv limit). It imports only the standard
library, and little of it: ctypes for the system calls Python 3.11 lacks, but no json
(its regex machinery costs more start-up time than every layer together). Nothing of
the host application is loaded next to untrusted code. The steps run in the order
docs/sandbox.md gives; most are irreversible, and each needs the one before it:

  [root only] stage unreachable paths, drop to an unprivileged uid
  -> user, mount, net, pid, ipc, uts, cgroup namespaces
  -> PID 1 of the new pid namespace: minimal root (binds, tmpfs, fresh /proc), pivot_root
  -> runner: rlimits, Landlock, seccomp, clean env, closed fds -> execve

Protocol with the launcher: one Python literal (``repr``) per line on the status fd,
which is closed before the exec, so the command cannot write there. ``{"layers": ...}``
just before the exec; then, from the supervisor (PID 1), ``{"exit": N, ...usage}`` or
``{"signal": N, ...usage}``. ``{"error": {"layer", "reason"}}`` when a required layer
is missing and ``{"failure": TEXT}`` when setup broke: the command never starts. The
launcher ends a run by killing this process's group: PID 1 is in it, and when PID 1
dies the kernel kills everything in the pid namespace.
"""

import ctypes
import marshal
import os
import resource  # imported now: after a root start drops privileges its file may be out of reach
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# x86_64 system call numbers (Landlock's are the same on every architecture).
NR = dict(
    ioctl=16, socket=41, clone=56, truncate=76, ptrace=101, syslog=103, uselib=134,
    personality=135, vhangup=153, modify_ldt=154, pivot_root=155, sysctl=156, prctl=157,
    adjtimex=159, chroot=161, acct=163, settimeofday=164, mount=165, umount2=166, swapon=167,
    swapoff=168, reboot=169, iopl=172, ioperm=173, init_module=175, delete_module=176,
    quotactl=179, lookup_dcookie=212, clock_settime=227, kexec_load=246, add_key=248,
    request_key=249, keyctl=250, migrate_pages=256, unshare=272, move_pages=279,
    perf_event_open=298, fanotify_init=300, name_to_handle_at=303, open_by_handle_at=304,
    clock_adjtime=305, setns=308, process_vm_readv=310, process_vm_writev=311, kcmp=312,
    finit_module=313, seccomp=317, kexec_file_load=320, bpf=321, userfaultfd=323,
    io_uring_setup=425, io_uring_enter=426, io_uring_register=427, open_tree=428,
    move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433, clone3=435,
    pidfd_getfd=438, process_madvise=440, mount_setattr=442,
    landlock_create_ruleset=444, landlock_add_rule=445, landlock_restrict_self=446,
)
EPERM, ENOSYS, EINVAL = 1, 38, 22
AF_UNIX = 1

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x20000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEW_ANY = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
ST_NOATIME, ST_NODIRATIME, ST_RELATIME = 1024, 2048, 4096

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 36, 38
SECCOMP_MODE_FILTER = 2
SIGKILL, SIGTERM = 9, 15

# Landlock (include/uapi/linux/landlock.h)
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_MAKE_CHAR, LL_MAKE_BLOCK = 1 << 6, 1 << 11
LL_REFER, LL_TRUNCATE, LL_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
LL_FILE_RIGHTS = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV
LL_READ = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR
LL_NET_BIND_TCP, LL_NET_CONNECT_TCP = 1, 2
LL_SCOPE_ABSTRACT_UNIX_SOCKET, LL_SCOPE_SIGNAL = 1, 2
LL_RULE_PATH_BENEATH = 1

# seccomp / classic BPF
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
BPF_LD_W_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
TIOCSTI, TIOCLINUX = 0x5412, 0x541C

DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
    "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "unshare", "setns", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "acct", "swapon", "swapoff", "reboot",
    "syslog", "personality", "name_to_handle_at", "open_by_handle_at", "quotactl", "iopl",
    "ioperm", "vhangup", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "uselib",
    "sysctl", "modify_ldt", "kcmp", "pidfd_getfd", "fanotify_init", "lookup_dcookie",
    "move_pages", "migrate_pages", "process_madvise",
)

DEVICES = {"/dev/null": True, "/dev/zero": True, "/dev/full": True, "/dev/random": False, "/dev/urandom": False}

STATUS_FD = -1
LAYERS = {}


class Missing(Exception):
    """A layer could not be applied; args: (layer, reason)."""


def report(message):
    os.write(STATUS_FD, (repr(message) + "\n").encode())


def record(cfg, layer, active, detail):
    """Note a layer's state; a missing required layer ends the run unless degraded runs are allowed."""
    LAYERS[layer] = {"active": active, "detail": detail}
    if not active and not cfg["allow_degraded"]:
        report({"error": {"layer": layer, "reason": detail}})
        os._exit(1)


def errno_text(call):
    err = ctypes.get_errno()
    return err, f"{call}: {os.strerror(err)} (errno {err})"


def syscall(name, *args):
    result = libc.syscall(ctypes.c_long(NR[name]), *args)
    if result < 0:
        err, text = errno_text(name)
        raise OSError(err, text)
    return result


def prctl(option, arg2=0, arg3=0):
    if libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err, text = errno_text(f"prctl({option})")
        raise OSError(err, text)


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err, _ = errno_text("mount")
        raise OSError(err, f"mount {source or fstype} on {target}: {os.strerror(err)}")


# ---------------------------------------------------------------- seccomp (BPF)

def bpf_program(rules, guard=True):
    """Classic BPF for seccomp: ``rules`` return their action, anything else is allowed.

    With ``guard``, foreign architectures (32-bit ``int 0x80``) and x32 numbers kill the
    process first: the rules name x86_64 numbers only.

    rules: (syscall_nr, action, condition); condition is None, ("set", arg, mask) or
    ("eq", arg, [values]) on the low 32 bits of the argument (ioctl numbers are 32-bit,
    so comparing the low word is exactly what the kernel uses).
    """
    ld = lambda off: (BPF_LD_W_ABS, 0, 0, off)  # noqa: E731
    ins = [ld(4), (BPF_JEQ, 1, 0, AUDIT_ARCH_X86_64), (BPF_RET, 0, 0, RET_KILL_PROCESS)] if guard else []
    ins += [ld(0)] + ([(BPF_JGE, 0, 1, X32_SYSCALL_BIT), (BPF_RET, 0, 0, RET_KILL_PROCESS)] if guard else [])
    for nr, action, _ in [r for r in rules if r[2] is None]:
        ins += [(BPF_JEQ, 0, 1, nr), (BPF_RET, 0, 0, action)]
    for nr, action, (op, arg, value) in [r for r in rules if r[2] is not None]:
        body = [ld(16 + 8 * arg)]
        if op == "set":
            body += [(BPF_JSET, 0, 1, value), (BPF_RET, 0, 0, action), (BPF_RET, 0, 0, RET_ALLOW)]
        else:
            body += [(BPF_JEQ, len(value) - i, 0, v) for i, v in enumerate(value)]
            body += [(BPF_RET, 0, 0, RET_ALLOW), (BPF_RET, 0, 0, action)]
        ins += [(BPF_JEQ, 0, len(body), nr)] + body
    ins.append((BPF_RET, 0, 0, RET_ALLOW))
    return b"".join(struct.pack("=HBBI", *i) for i in ins), len(ins)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(rules, guard=True):
    code, count = bpf_program(rules, guard)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = SockFprog(count, ctypes.cast(buf, ctypes.c_void_p))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog), 0, 0) != 0:
        err, text = errno_text("prctl(PR_SET_SECCOMP)")
        raise OSError(err, text)


def simulate_missing(layers):
    """Test hook: make the kernel refuse what a machine without these layers refuses."""
    rules = []
    if "landlock" in layers:
        rules += [(NR[n], RET_ERRNO | ENOSYS, None) for n in
                  ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self")]
    if "namespaces" in layers:
        rules += [(NR["unshare"], RET_ERRNO | EPERM, ("set", 0, CLONE_NEWUSER)),
                  (NR["clone"], RET_ERRNO | EPERM, ("set", 0, CLONE_NEWUSER))]
    if "seccomp" in layers:
        rules += [(NR["seccomp"], RET_ERRNO | ENOSYS, None),
                  (NR["prctl"], RET_ERRNO | EINVAL, ("eq", 0, [PR_SET_SECCOMP]))]
    if rules:
        install_filter(rules, guard=False)  # a machine without these layers has no arch guard either


def apply_seccomp(cfg, landlock_abi):
    if os.uname().machine != "x86_64":
        raise Missing("seccomp", f"no syscall table for {os.uname().machine} (only x86_64 is supported)")
    names = list(DENIED_SYSCALLS)
    if not cfg["network"]:
        names.append("socket")
    if landlock_abi < 3:
        names.append("truncate")
    rules = [(NR[n], RET_ERRNO | EPERM, None) for n in names]
    rules += [
        (NR["clone3"], RET_ERRNO | ENOSYS, None),  # its flags live in memory BPF cannot read; libc falls back to clone
        (NR["clone"], RET_ERRNO | EPERM, ("set", 0, CLONE_NEW_ANY)),
        (NR["ioctl"], RET_ERRNO | EPERM, ("eq", 1, [TIOCSTI, TIOCLINUX])),
    ]
    if cfg["network"]:  # network means IP: UNIX sockets (D-Bus, ssh-agent, docker.sock, abstract names) stay closed
        rules.append((NR["socket"], RET_ERRNO | EPERM, ("eq", 0, [AF_UNIX])))
    try:
        install_filter(rules)
    except OSError as e:
        raise Missing("seccomp", e.strerror) from None
    denied = "socket(), " if not cfg["network"] else "UNIX sockets, "
    return f"{len(rules)} rules: {denied}ptrace, mount, unshare, bpf, keyctl, io_uring, TIOCSTI, ... denied"


# ---------------------------------------------------------------- Landlock

def landlock_abi():
    abi = libc.syscall(ctypes.c_long(NR["landlock_create_ruleset"]), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 0:
        err = ctypes.get_errno()
        why = {38: "not built into this kernel (ENOSYS)", 95: "built but disabled at boot (EOPNOTSUPP)"}
        raise Missing("landlock", why.get(err, f"landlock_create_ruleset: {os.strerror(err)}"))
    return abi


def apply_landlock(cfg, abi, readable, writable, files):
    """Restrict the filesystem to the given trees, deny TCP, scope signals and abstract sockets."""
    fs = (1 << 13) - 1
    fs |= (LL_REFER if abi >= 2 else 0) | (LL_TRUNCATE if abi >= 3 else 0) | (LL_IOCTL_DEV if abi >= 5 else 0)
    net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP if abi >= 4 and not cfg["network"] else 0
    scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL if abi >= 6 else 0
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = struct.pack("=QQQ", fs, net, scoped)[:size]
    ruleset = syscall("landlock_create_ruleset", ctypes.c_char_p(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    write = fs & ~(LL_MAKE_CHAR | LL_MAKE_BLOCK)
    rules = [(p, LL_READ) for p in readable] + [(p, write) for p in writable]
    rules += [(p, LL_READ_FILE | (LL_WRITE_FILE | LL_TRUNCATE if rw else 0)) for p, rw in files.items()]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:  # absent, or out of the dropped uid's reach: nothing to allow
            continue
        if not os.path.isdir(path):
            access &= LL_FILE_RIGHTS
        rule = struct.pack("=Qi", access & fs, fd)
        syscall("landlock_add_rule", ctypes.c_int(ruleset), ctypes.c_int(LL_RULE_PATH_BENEATH),
                ctypes.c_char_p(rule), ctypes.c_uint32(0))
        os.close(fd)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    syscall("landlock_restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0))
    os.close(ruleset)
    parts = ["filesystem"] + (["TCP"] if net else []) + (["signal and abstract-socket scopes"] if scoped else [])
    return f"ABI {abi}: " + ", ".join(parts)


# ---------------------------------------------------------------- root: stage, then drop

def reachable_sources(cfg):
    """Host paths the mounts need, with the directory to stage for each (root only)."""
    sources = {b["src"]: b["src"] for b in cfg["binds"] if "src" in b}
    for o in cfg["overlays"]:
        parent = os.path.commonpath([o["upper"], o["work"]])  # overlayfs wants upper and work on one mount
        sources[o["upper"]] = sources[o["work"]] = parent
    return sources


def searchable_by_anyone(path):
    """Can any uid walk down to ``path`` (every folder above it has o+x)?"""
    folder = os.path.dirname(path)
    while True:
        if not os.stat(folder).st_mode & 0o001:
            return False
        if folder == "/":
            return True
        folder = os.path.dirname(folder)


def stage_as_root(sources):
    """Bind the sources the unprivileged uid could not reach under a fresh tmpfs.

    Root's own folders (e.g. /root, mode 700) hold the interpreter on CI; after the drop
    the uid cannot traverse them, but it can reach these binds. Returns src -> path to use.
    """
    hidden = {src: root for src, root in sources.items() if not searchable_by_anyone(src)}
    if not hidden:
        return {src: src for src in sources}
    if libc.unshare(CLONE_NEWNS) != 0:
        raise Missing("namespaces", errno_text("unshare(CLONE_NEWNS) as root")[1])
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    roots = sorted(set(hidden.values()))
    fds = [os.open(r, os.O_PATH | os.O_CLOEXEC) for r in roots]
    # /dev/shm: shadowing it (in this private mount namespace) harms nothing, even in degraded mode
    stage = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    staged = {}
    for i, (root, fd) in enumerate(zip(roots, fds, strict=True)):
        spot = f"{stage}/s{i}"
        make_mountpoint(spot, os.path.isdir(f"/proc/self/fd/{fd}"))
        mount(f"/proc/self/fd/{fd}", spot, None, MS_BIND | MS_REC)
        os.close(fd)
        staged[root] = spot
    reachable = {src: src for src in sources if src not in hidden}
    for src, root in hidden.items():
        reachable[src] = os.path.normpath(os.path.join(staged[root], os.path.relpath(src, root)))
    return reachable


def drop_privileges(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


# ---------------------------------------------------------------- namespaces and the new root

def enter_namespaces(cfg):
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    if not cfg["network"]:
        flags |= CLONE_NEWNET
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(ctypes.c_int(flags)) != 0:
        raise Missing("namespaces", errno_text("unshare(CLONE_NEWUSER|...)")[1])
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    prctl(PR_SET_DUMPABLE, 0)  # PID 1 keeps its capabilities: nothing may attach to it (exec resets this)
    net = "" if cfg["network"] else "network, "
    return f"user ({uid} mapped to itself), mount, {net}pid, ipc, uts, cgroup"


def make_mountpoint(path, is_dir):
    os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
    if not is_dir and not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def locked_flags(path):
    """Flags a bind remount inside a user namespace must keep (the kernel refuses to drop them)."""
    f = os.statvfs(path).f_flag
    atime = MS_NOATIME if f & ST_NOATIME else MS_RELATIME if f & ST_RELATIME else MS_STRICTATIME
    return (f & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | atime | (MS_NODIRATIME if f & ST_NODIRATIME else 0)


def bind(fd, dst, writable):
    src = f"/proc/self/fd/{fd}"
    make_mountpoint(dst, os.path.isdir(src))
    mount(src, dst, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | locked_flags(dst) | (0 if writable else MS_RDONLY)
    mount(None, dst, None, flags)


def build_root(cfg, fds, new_root="/tmp"):
    """Assemble the sandbox's whole filesystem on a tmpfs and pivot into it."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    r = lambda p: new_root + p  # noqa: E731
    for d in ("/proc", "/dev", "/tmp", "/run", "/sys"):
        os.mkdir(r(d), 0o755)
    tmp = f"mode=1777,size={cfg['tmp_mb']}m,nr_inodes={cfg['tmp_inodes']}"
    mount("tmpfs", r("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, tmp)
    mount("tmpfs", r("/run"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k")
    mount("tmpfs", r("/dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for dev in DEVICES:
        make_mountpoint(r(dev), False)
        mount(dev, r(dev), None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, r(f"/dev/{name}"))
    os.mkdir(r("/dev/shm"), 0o1777)
    mount("tmpfs", r("/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={cfg['tmp_mb']}m")
    for b in sorted(cfg["binds"], key=lambda b: b["dst"].count("/")):
        if "symlink" in b:
            os.makedirs(os.path.dirname(r(b["dst"])), exist_ok=True)
            os.symlink(b["symlink"], r(b["dst"]))
        else:
            bind(fds[b["src"]], r(b["dst"]), b["write"])
    for o in cfg["overlays"]:
        mount("overlay", r(o["target"]), "overlay", MS_NOSUID | MS_NODEV,
              f"lowerdir={r(o['target'])},upperdir=/proc/self/fd/{fds[o['upper']]},"
              f"workdir=/proc/self/fd/{fds[o['work']]},userxattr,volatile")
    if cfg["probe"]:
        record(cfg, "overlayfs", *probe_overlay(cfg, r("/tmp")))
    # while the host's /proc is still visible: the kernel refuses a new procfs in a namespace that has none
    mount("proc", r("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(new_root)
    syscall("pivot_root", ctypes.c_char_p(b"."), ctypes.c_char_p(b"."))
    if libc.umount2(b".", MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), "umount2 of the old root")
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return f"minimal root, fresh /proc, private /tmp ({cfg['tmp_mb']} MiB), /run, /dev"


def probe_overlay(cfg, scratch):
    """Can overlayfs be mounted here (unprivileged overlay needs Linux >= 5.11)?"""
    if "overlayfs" in cfg["simulate_missing"]:
        return False, "overlay mount refused (simulated by TOOLSMITH_SANDBOX_SIMULATE_MISSING)"
    dirs = [os.path.join(scratch, d) for d in ("lower", "upper", "work")]
    for d in dirs:
        os.mkdir(d)
    try:
        mount("overlay", dirs[0], "overlay", 0, f"lowerdir={dirs[0]},upperdir={dirs[1]},workdir={dirs[2]},userxattr")
    except OSError as e:
        return False, e.strerror
    libc.umount2(dirs[0].encode(), MNT_DETACH)
    return True, "copy-on-write preview with userxattr"


def join_run_cgroup(cfg):
    """Move into the run's memory cgroup before anything else, so every process of the run counts."""
    detail = cfg["run_memory"]
    if cfg["cgroup_procs"]:
        try:
            with open(cfg["cgroup_procs"], "w") as procs:
                procs.write("0")
        except OSError as e:
            LAYERS["run memory"] = {"active": False, "detail": f"not limited per run: cannot join its cgroup ({e.strerror})"}
            return
    LAYERS["run memory"] = {"active": bool(cfg["cgroup_procs"]), "detail": detail}


def open_sources(cfg, reachable):
    return {src: os.open(path, os.O_PATH | os.O_CLOEXEC) for src, path in reachable.items()}


# ---------------------------------------------------------------- the runner

def set_limits(cfg, namespaced):
    mib = 1024 * 1024
    limits = {
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NOFILE: 1024,
        resource.RLIMIT_FSIZE: cfg["max_file_mb"] * mib,
        resource.RLIMIT_AS: cfg["memory_mb"] * mib,
    }
    if cfg["cpu_seconds"]:
        limits[resource.RLIMIT_CPU] = cfg["cpu_seconds"]
    if namespaced:  # outside a user namespace NPROC counts every process of the uid
        limits[resource.RLIMIT_NPROC] = cfg["max_processes"]
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    nproc = f", {cfg['max_processes']} processes" if namespaced else ""
    return f"address space {cfg['memory_mb']} MiB, file size {cfg['max_file_mb']} MiB{nproc}, no core dumps"


def landlock_paths(cfg, namespaced):
    readable = [b["dst"] for b in cfg["binds"] if "src" in b and not b["write"]]
    writable = [b["dst"] for b in cfg["binds"] if "src" in b and b["write"]]
    writable += [o["target"] for o in cfg["overlays"]]
    if namespaced:  # these are the sandbox's own, not the host's
        readable.append("/proc")
        writable += ["/tmp", "/dev/shm"]
    return readable, writable, DEVICES


def run_command(cfg, namespaced):
    """Last steps in the runner: limits, Landlock, seccomp, clean process state, exec."""
    os.umask(0o022)
    record(cfg, "rlimits", True, set_limits(cfg, namespaced))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    abi = 0
    try:
        abi = min(landlock_abi(), cfg["landlock_abi_cap"] or 1 << 16)
        record(cfg, "landlock", True, apply_landlock(cfg, abi, *landlock_paths(cfg, namespaced)))
    except Missing as e:
        record(cfg, e.args[0], False, e.args[1])
    try:
        record(cfg, "seccomp", True, apply_seccomp(cfg, abi))
    except Missing as e:
        record(cfg, e.args[0], False, e.args[1])
    report({"layers": LAYERS})
    if cfg["probe"]:
        os._exit(0)
    try:
        os.chdir(cfg["cwd"])
    except OSError as e:
        os.write(2, f"toolsmith sandbox: working directory {cfg['cwd']}: {e.strerror}\n".encode())
        os._exit(126)
    os.closerange(3, 1 << 16)
    try:
        os.execve(cfg["executable"], cfg["argv"], cfg["env"])
    except OSError as e:
        os.write(2, f"toolsmith sandbox: {cfg['executable']}: {e.strerror}\n".encode())
        os._exit(126 if e.errno in (1, 13) else 127)


def run_without_namespaces(cfg):
    """Degraded mode: Landlock, seccomp and rlimits on the host's own filesystem view."""
    if cfg["overlays"] or any(b.get("preview") for b in cfg["binds"]):
        cfg["allow_degraded"] = False  # a preview must never write through to the real files
        record(cfg, "filesystem view", False, "a preview needs a mount namespace")
    record(cfg, "filesystem view", False, "needs the namespaces")
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the command, setsid() or not, come back here
    runner = os.fork()
    if runner == 0:
        run_command(cfg, namespaced=False)
    # the builtin half of `signal`: no file to reach after the drop, no enum import to pay for
    import _signal

    _signal.signal(SIGTERM, lambda *_: (kill_descendants(), os._exit(128 + SIGTERM)))
    supervise(runner, kill_descendants)


def kill_descendants():
    """Without a pid namespace, end the run by hand: as the subreaper, kill every child,
    reap it, and repeat with the orphans its death hands to us, until none is left."""
    while True:
        try:
            with open(f"/proc/self/task/{os.getpid()}/children") as f:
                children = [int(pid) for pid in f.read().split()]
        except OSError:  # kernel without CONFIG_PROC_CHILDREN: nothing more can be done
            return
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, SIGKILL)
                os.waitpid(pid, 0)
            except (ChildProcessError, ProcessLookupError):  # reaped already
                pass


def init(cfg, fds):
    """PID 1 of the sandbox: build the filesystem, start the runner, reap, relay its end."""
    prctl(PR_SET_PDEATHSIG, SIGKILL)
    try:
        detail = build_root(cfg, fds)
    except OSError as e:
        cfg["allow_degraded"] = False  # a half-built view is never acceptable
        record(cfg, "filesystem view", False, e.strerror or str(e))
    record(cfg, "filesystem view", True, detail)
    libc.sethostname(b"sandbox", 7)
    runner = os.fork()
    if runner == 0:
        run_command(cfg, namespaced=True)
    supervise(runner)


def supervise(runner, cleanup=None):
    """Reap until the runner ends, ``cleanup``, report how it ended and what it used, exit the same way.

    The usage is this process's reaped children's, so it excludes the launcher (whose
    memory a vfork'ed child would otherwise count as its own peak).
    """
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == runner:
            break
    if cleanup:
        cleanup()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = {"cpu_seconds": used.ru_utime + used.ru_stime, "max_rss_kb": used.ru_maxrss}
    if os.WIFSIGNALED(status):
        report({"signal": os.WTERMSIG(status), **usage})
        os._exit(128 + os.WTERMSIG(status))
    report({"exit": os.WEXITSTATUS(status), **usage})
    os._exit(os.WEXITSTATUS(status))


def read_all(fd):
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def main():
    global STATUS_FD
    config_fd = int(sys.argv[1])
    cfg = marshal.loads(read_all(config_fd))
    os.close(config_fd)
    STATUS_FD = cfg["status_fd"]
    os.set_inheritable(STATUS_FD, False)
    join_run_cgroup(cfg)
    simulate_missing(cfg["simulate_missing"])
    reachable = {src: src for src in reachable_sources(cfg)}
    try:
        if cfg["drop_to"] is not None:
            reachable = stage_as_root(reachable_sources(cfg))
    except Missing as e:
        missing = e
    else:
        missing = None
    if cfg["drop_to"] is not None:
        drop_privileges(cfg["drop_to"])
        prctl(PR_SET_DUMPABLE, 1)  # setuid made us undumpable: /proc/self/uid_map would be root's
    started = " (toolsmith was started as root)" if cfg["drop_to"] is not None else ""
    record(cfg, "unprivileged uid", True, f"runs as uid {os.getuid()}{started}")
    prctl(PR_SET_PDEATHSIG, SIGKILL)
    if os.getppid() != cfg["launcher_pid"]:
        os._exit(1)  # the launcher is gone already
    try:
        if missing:
            raise missing
        record(cfg, "namespaces", True, enter_namespaces(cfg))
    except Missing as e:
        record(cfg, e.args[0], False, e.args[1])
        run_without_namespaces(cfg)
    fds = open_sources(cfg, reachable)
    pid = os.fork()
    if pid == 0:
        init(cfg, fds)
    _, status = os.waitpid(pid, 0)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001 - any process of the tree: report, never run on
        if STATUS_FD >= 0:
            report({"failure": f"{type(e).__name__}: {e}"})
        os._exit(1)
