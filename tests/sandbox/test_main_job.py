"""The main job through the real command line, as root on root's own files and as a
normal user on theirs: `toolsmith new "rename photos by date"`, `toolsmith run --yes`,
`toolsmith undo`; and the recipes that rename, move or delete, as root."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from as_user import normal_user, run_as  # noqa: F401 (fixture)
from preview_trees import snapshot

EXIF_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x9003
ROOT = os.geteuid() == 0


def photo(path: Path, taken: str) -> None:
    image = Image.new("RGB", (16, 12), (200, 120, 40))
    exif = image.getexif()
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
    image.save(path, exif=exif)


def owners(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.lstat().st_uid, p.lstat().st_gid) for p in [folder, *folder.rglob("*")]}


class Session:
    """A toolsmith home and a user's folder, used through the CLI as `user` (None: as we are)."""

    def __init__(self, user):
        self.user = user
        self.base = Path(tempfile.mkdtemp(prefix="main-job-"))
        self.base.chmod(0o755)
        self.home, self.folder = self.base / "home", self.base / "Pictures"
        self.home.mkdir()
        self.folder.mkdir()

    def own(self) -> None:
        if self.user is not None:
            for path in [self.home, self.folder, *self.home.rglob("*"), *self.folder.rglob("*")]:
                os.chown(path, self.user.pw_uid, self.user.pw_gid, follow_symlinks=False)

    def cli(self, *args) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "toolsmith.core.frontends.cli", *map(str, args)]
        kwargs = dict(capture_output=True, text=True, timeout=180, cwd="/")
        if self.user is None:
            return subprocess.run(argv, env={**os.environ, "TOOLSMITH_HOME": str(self.home)}, **kwargs)
        return run_as(self.user, argv, env={"TOOLSMITH_HOME": str(self.home)}, **kwargs)

    def job(self, request: str, tool: str, *args) -> tuple[dict, dict]:
        """new → run --yes → undo; the snapshots after the run and after the undo."""
        made = self.cli("new", request)
        assert made.returncode == 0, made.stderr
        assert f"saved {tool}" in made.stdout
        ran = self.cli("run", "--yes", "--json", tool, self.folder, *args)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        last = json.loads(ran.stdout.splitlines()[-1])
        assert last["type"] == "applied", last
        applied = snapshot(self.folder)
        undone = self.cli("undo", last["run_id"])
        assert undone.returncode == 0, undone.stderr
        return applied, snapshot(self.folder)


@pytest.fixture(params=["root", "normal user"])
def session(request):
    if request.param == "root" and not ROOT:
        pytest.skip("root's run: this session is not root (the normal-user run covers it)")
    user = request.getfixturevalue("normal_user") if request.param == "normal user" and ROOT else None
    s = Session(user)
    yield s
    subprocess.run(["rm", "-rf", str(s.base)])


def test_rename_photos_by_date_previews_applies_and_undoes_exactly(session):
    photo(session.folder / "IMG_0001.jpg", "2021:07:04 10:11:12")
    photo(session.folder / "IMG_0002.jpg", "2023:01:02 08:00:00")
    (session.folder / "notes.txt").write_text("not a photo\n")
    session.own()
    before, before_owners = snapshot(session.folder), owners(session.folder)

    applied, undone = session.job("rename photos by date", "rename-photos-by-date")

    assert sorted(applied) == ["2021-07-04_10-11-12.jpg", "2023-01-02_08-00-00.jpg", "notes.txt"]
    assert applied["2021-07-04_10-11-12.jpg"][2] == before["IMG_0001.jpg"][2]
    assert undone == before  # names, contents, modes and mtimes
    assert owners(session.folder) == before_owners
    assert {uid for uid, _ in before_owners.values()} == {session.user.pw_uid if session.user else os.getuid()}


@pytest.mark.skipif(not ROOT, reason="root's run of the recipes that rename, move or delete: this session is not root")
@pytest.mark.parametrize(
    "request_text, tool, make, after",
    [
        ("sort files by type", "sort-files-by-type",
         {"a.jpg": b"jpg", "b.pdf": b"pdf", "c.mp3": b"mp3"}, {"Images", "Documents", "Music"}),
        ("clean up file names", "clean-up-file-names",
         {"My Holiday Photo.JPG": b"x", "Résumé (final).pdf": b"y"}, None),
        ("delete empty folders", "delete-empty-folders",
         {"keep/file.txt": b"k", "empty/": None, "nested/empty/": None}, {"keep", "keep/file.txt"}),
    ],
)
def test_recipes_that_rename_move_or_delete_work_as_root_on_roots_files(request_text, tool, make, after):
    s = Session(None)
    try:
        for name, data in make.items():
            path = s.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir() if data is None else path.write_bytes(data)
        before = snapshot(s.folder)
        applied, undone = s.job(request_text, tool)
        assert applied != before
        if after is not None:
            assert after <= set(applied)
        assert undone == before
        assert {uid for uid, _ in owners(s.folder).values()} == {0}
    finally:
        subprocess.run(["rm", "-rf", str(s.base)])
