"""Layer detection, degraded-mode refusal and --allow-degraded.

Missing layers are simulated the way a kernel without them behaves: the test hook
TOOLSMITH_SANDBOX_SIMULATE_MISSING makes the child install a seccomp filter first
that answers Landlock's syscalls with ENOSYS, unshare(CLONE_NEWUSER) with EPERM, or
seccomp installation with EINVAL, so detection runs on real kernel answers.
"""

import json
import subprocess
import time

import pytest

from toolsmith.sandbox import launcher
from toolsmith.sandbox.launcher import SandboxUnavailable, check_layers, execute
from toolsmith.sandbox.layers import LAYERS
from toolsmith.sandbox.policy import Overlay

from escape_harness import TOOLSMITH, make_world, remove_world

REQUIRED = {layer.name for layer in LAYERS if layer.required}


@pytest.fixture
def world():
    made = make_world()
    yield made
    made.assert_host_unaffected()
    remove_world(made)


def simulate(monkeypatch, *layers):
    monkeypatch.setenv(launcher.SIMULATE_ENV, ",".join(layers))


def test_every_layer_this_kernel_offers_is_active():
    # Kernel >= 6.12 with Landlock and unprivileged user namespaces (CI and this machine):
    # a missing layer here is a regression, so this fails instead of skipping.
    statuses = {s.name: s for s in check_layers()}
    assert list(statuses) == [layer.name for layer in LAYERS]
    missing = {name: s.detail for name, s in statuses.items() if not s.active}
    assert missing == {}
    assert "scopes" in statuses["landlock"].detail and "TCP" in statuses["landlock"].detail


def test_sandbox_check_reports_every_layer_as_text_and_json():
    text = subprocess.run([TOOLSMITH, "sandbox", "check"], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0
    for layer in LAYERS:
        assert layer.name in text.stdout
    as_json = subprocess.run([TOOLSMITH, "sandbox", "check", "--json"], capture_output=True, timeout=60)
    rows = json.loads(as_json.stdout)
    assert [r["name"] for r in rows] == [layer.name for layer in LAYERS]
    assert all(set(r) == {"name", "active", "detail", "exposes", "required"} for r in rows)


@pytest.mark.parametrize(
    "layer,reason",
    [
        ("landlock", "not built into this kernel (ENOSYS)"),
        ("namespaces", "Operation not permitted"),
        ("seccomp", "Invalid argument"),
    ],
)
def test_a_missing_layer_is_detected_with_its_reason_and_exposure(monkeypatch, layer, reason):
    simulate(monkeypatch, layer)
    statuses = {s.name: s for s in check_layers()}
    assert not statuses[layer].active and reason in statuses[layer].detail
    assert statuses[layer].exposes
    needs_it = {"filesystem view", "overlayfs"} if layer == "namespaces" else set()
    assert all(s.active for name, s in statuses.items() if name != layer and name not in needs_it)


@pytest.mark.parametrize(
    "layer,how",
    [("landlock", "lsm= boot parameter"), ("namespaces", "apparmor_restrict_unprivileged_userns"),
     ("seccomp", "CONFIG_SECCOMP_FILTER")],
)
def test_a_run_without_a_required_layer_is_refused_with_how_to_enable_it(world, monkeypatch, layer, how):
    simulate(monkeypatch, layer)
    with pytest.raises(SandboxUnavailable) as refused:
        execute(["true"], world.policy())
    message = str(refused.value)
    assert f"'{layer}' is unavailable" in message and how in message and "--allow-degraded" in message


def test_the_cli_reports_a_missing_layer_and_refuses_to_run_without_it(monkeypatch):
    simulate(monkeypatch, "landlock")
    check = subprocess.run([TOOLSMITH, "sandbox", "check", "--json"], capture_output=True, timeout=60)
    assert check.returncode == 1
    assert {r["name"]: r["active"] for r in json.loads(check.stdout)}["landlock"] is False
    done = subprocess.run([TOOLSMITH, "sandbox", "exec", "--", "true"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "'landlock' is unavailable" in done.stderr


def test_without_landlock_a_degraded_run_still_hides_secrets_behind_the_namespaces(world, monkeypatch):
    simulate(monkeypatch, "landlock")
    got = world.report(
        """
        attempt("secret", lambda: open(ARGS[0], "rb").read())
        attempt("input", lambda: open(ARGS[1], "rb").read())
        done()
        """, world.secret(), world.inbox / "data.txt", allow_degraded=True,
    )
    assert got == {"secret": "ENOENT", "input": "ok: b'input data\\n'"}
    done = subprocess.run([TOOLSMITH, "sandbox", "exec", "--allow-degraded", "--", "echo", "ran"],
                          capture_output=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, b"ran\n")


def test_without_seccomp_a_degraded_run_can_make_sockets_but_keeps_the_rest(world, monkeypatch):
    simulate(monkeypatch, "seccomp")
    got = world.report(
        """
        attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
        attempt("secret", lambda: open(ARGS[0], "rb").read())
        done()
        """, world.secret(), allow_degraded=True,
    )
    assert got == {"socket": "ok: None", "secret": "ENOENT"}  # the filter that refuses socket() is gone


def test_without_namespaces_landlock_alone_still_guards_the_files(world, monkeypatch):
    # /bin/cat, not the venv's python: a root start drops to uid 65534, which cannot
    # reach an interpreter under /root without the namespaces' filesystem view.
    simulate(monkeypatch, "namespaces")
    secret = execute(["cat", str(world.secret())], world.policy(allow_degraded=True))
    assert secret.exit_code == 1 and secret.stdout == b"" and b"Permission denied" in secret.stderr
    allowed = execute(["cat", str(world.inbox / "data.txt")], world.policy(allow_degraded=True))
    assert (allowed.exit_code, allowed.stdout) == (0, b"input data\n")
    write = execute(["sh", "-c", f"echo made > {world.outbox}/f"], world.policy(allow_degraded=True))
    assert write.exit_code == 0 and (world.outbox / "f").read_text() == "made\n"


@pytest.mark.parametrize("ending", ["exit", "timeout"])
def test_without_namespaces_a_setsid_grandchild_is_still_killed(world, monkeypatch, ending):
    # No pid namespace: the child, as subreaper, hunts down what the command left behind.
    simulate(monkeypatch, "namespaces")
    late = world.outbox / "late"
    script = f"setsid sh -c 'sleep 1; echo escaped > {late}' & " + ("exit 0" if ending == "exit" else "sleep 30")
    result = execute(["sh", "-c", script], world.policy(allow_degraded=True, timeout=0.5))
    assert result.timed_out == (ending == "timeout")
    time.sleep(1.5)
    assert not late.exists()


def test_a_preview_is_refused_without_namespaces_even_when_degraded(world, monkeypatch, tmp_path):
    simulate(monkeypatch, "namespaces")
    (tmp_path / "upper").mkdir()
    (tmp_path / "work").mkdir()
    preview = Overlay(str(world.outbox), str(tmp_path / "upper"), str(tmp_path / "work"))
    with pytest.raises(SandboxUnavailable, match="a preview needs a mount namespace"):
        execute(["sh", "-c", f"echo x > {world.outbox}/f"], world.policy(allow_degraded=True), overlays=[preview])
    assert not (world.outbox / "f").exists()


@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5, 6, 7])
def test_older_landlock_abis_still_confine_files(world, monkeypatch, abi):
    # Ubuntu 22.04 has ABI 1, Debian 12 ABI 2, Ubuntu 24.04 ABI 4: the ruleset must be
    # built from only what each knows, and seccomp must cover truncate() below ABI 3.
    monkeypatch.setenv(launcher.ABI_CAP_ENV, str(abi))
    landlock = next(s for s in check_layers() if s.name == "landlock")
    assert landlock.active and landlock.detail.startswith(f"ABI {abi}:")
    assert ("TCP" in landlock.detail) == (abi >= 4) and ("scopes" in landlock.detail) == (abi >= 6)
    got = world.report(
        """
        open(ARGS[1] + "/out.txt", "w").write("made from " + open(ARGS[0]).read())
        attempt("truncate", lambda: os.truncate(ARGS[1] + "/out.txt", 4))
        attempt("secret", lambda: open(ARGS[2]).read())
        done()
        """, world.inbox / "data.txt", world.outbox, world.secret(),
    )
    assert got["secret"] == "ENOENT"
    assert got["truncate"] == ("EPERM" if abi < 3 else "ok: None")
    assert (world.outbox / "out.txt").read_text() == ("made from input data\n" if abi < 3 else "made")


def test_without_overlayfs_previews_use_copy_mode(monkeypatch):
    simulate(monkeypatch, "overlayfs")
    launcher.overlay_mode.cache_clear()
    try:
        assert launcher.overlay_mode() == "copy"
    finally:
        launcher.overlay_mode.cache_clear()
