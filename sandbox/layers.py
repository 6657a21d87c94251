"""The isolation layers: what each protects, what its absence exposes, how to enable it."""

from dataclasses import dataclass


@dataclass
class LayerStatus:
    name: str
    active: bool
    detail: str  # what is in force, or why the layer is missing
    exposes: str  # what a tool can do when this layer is missing
    required: bool  # a run without it is refused unless degraded runs are allowed


@dataclass(frozen=True)
class Layer:
    name: str
    required: bool
    exposes: str
    enable: str


LAYERS = (
    Layer(
        "unprivileged uid", False,
        "the tool would run with toolsmith's own uid",
        "this layer is always applied",
    ),
    Layer(
        "namespaces", True,
        "no private view of files, network, processes or hostname: loopback services, "
        "pathname sockets and same-uid processes are reachable, and a setsid() grandchild "
        "outlives the timeout",
        "allow unprivileged user namespaces (Ubuntu >= 23.10: sysctl "
        "kernel.apparmor_restrict_unprivileged_userns=0; elsewhere check user.max_user_namespaces "
        "and kernel.unprivileged_userns_clone; in a container, run it without a seccomp profile that blocks unshare)",
    ),
    Layer(
        "filesystem view", True,
        "the tool sees the host's whole filesystem, limited only by Landlock and file permissions",
        "it needs the namespaces layer",
    ),
    Layer(
        "landlock", True,
        "files are confined by the mount namespace view alone; TCP, signals and abstract "
        "sockets by the namespaces alone",
        "use Linux >= 5.13 built with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= boot parameter",
    ),
    Layer(
        "seccomp", True,
        "socket() (UDP, pathname UNIX sockets), ptrace, mount, bpf, keyctl, io_uring and "
        "TIOCSTI reach the kernel",
        "use an x86_64 kernel built with CONFIG_SECCOMP_FILTER=y (in a container, allow prctl/seccomp)",
    ),
    Layer(
        "rlimits", False,
        "no per-process memory, file-size, CPU or process limits",
        "this layer is always applied",
    ),
    Layer(
        "run memory", False,
        "memory is limited per process only (RLIMIT_AS): a run of several processes can use "
        "several times [sandbox] memory_mb",
        "run toolsmith as root on a kernel with a cgroup memory controller, or delegate the cgroup v2 "
        "memory controller to your user (systemd: `systemd-run --user --scope -p Delegate=yes toolsmith ...`)",
    ),
    Layer(
        "overlayfs", False,
        "previews copy the write paths instead of using a copy-on-write view (slower for big trees)",
        "use Linux >= 5.11 (overlayfs in user namespaces)",
    ),
)

BY_NAME = {layer.name: layer for layer in LAYERS}


def refusal(name: str, reason: str) -> str:
    """The one-line message for a run refused because a required layer is missing."""
    layer = BY_NAME[name]
    return (
        f"sandbox layer '{name}' is unavailable ({reason}); to enable it, {layer.enable}. "
        f"Without it {layer.exposes}. Pass --allow-degraded to run anyway."
    )


def statuses(found: dict) -> list[LayerStatus]:
    """Every known layer, in order, from the child's report {name: {active, detail}}."""
    result = []
    for layer in LAYERS:
        state = found.get(layer.name, {"active": False, "detail": "not reached: an earlier layer failed"})
        result.append(LayerStatus(layer.name, state["active"], state["detail"], layer.exposes, layer.required))
    return result
