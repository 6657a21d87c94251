"""What a sandboxed run may touch and use: plain data, shared by the launcher and its callers."""

from dataclasses import dataclass, field


@dataclass
class Policy:
    """Limits of one run. Paths are host paths; the command sees them at the same place.

    The launcher adds the system directories (read-only) and the interpreter's prefix
    itself. A tool run derives read_paths/write_paths from its manifest and the actual
    arguments, so a tool touches only what the user passed to it.
    """

    read_paths: list[str] = field(default_factory=list)
    write_paths: list[str] = field(default_factory=list)
    network: bool = False
    timeout: float = 60.0  # wall seconds; then every process of the run is killed (exit 124)
    cpu_seconds: int | None = None
    memory_mb: int = 2048  # address space per process, and the whole run's memory where a cgroup can be made
    max_processes: int = 64
    max_file_mb: int = 1024
    env_allow: list[str] = field(default_factory=lambda: ["PATH", "LANG", "LC_ALL", "TZ"])
    cwd: str | None = None
    allow_degraded: bool = False
    tmp_mb: int = 256  # the private /tmp (and /dev/shm), a tmpfs
    tmp_inodes: int = 65536
    max_output_mb: int = 64  # captured stdout + stderr; beyond it the run is killed (exit 137)
    preview_mb: int = 4096  # what a preview's layers may grow by, in all; beyond it the run is killed
    preview_files: int = 100_000  # ... and how many entries they may gain


@dataclass
class Overlay:
    """Show the write path ``target`` inside the sandbox as a copy-on-write view.

    Overlay mode: changes land in ``upper`` (overlayfs upperdir, mounted with
    ``userxattr``: deletions are 0:0 character devices, replaced directories carry
    ``user.overlay.opaque``); ``work`` is the overlayfs workdir on the same filesystem.
    Copy mode (no overlayfs, or ``copy=True``): ``upper`` already holds a full copy of
    ``target`` and is bind-mounted over it. ``launcher.overlay_mode()`` says which one
    this system uses; ``copy=True`` asks for copy mode whatever it says (a tree holding
    files of other owners cannot be copied up by overlayfs).
    """

    target: str
    upper: str
    work: str
    copy: bool = False
