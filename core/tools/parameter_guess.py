"""Guessing what a tool's argument is from its name and help text.

Used when adopting a hand-written script (`toolsmith import`): the manifest must
say which parameters are paths and whether the tool reads or writes there, so the
sandbox can mount them. A wrong guess is visible and editable in tool.toml.
"""

import re

_PATH_WORDS = {
    "path", "paths", "file", "files", "filename", "dir", "directory", "folder", "src", "source",
    "dest", "destination", "input", "output", "infile", "outfile", "outdir", "indir", "archive",
}
_DIR_WORDS = {"dir", "directory", "folder", "outdir", "indir", "root"}
_FILE_WORDS = {"file", "files", "filename", "infile", "outfile", "archive"}
_WRITE_WORDS = {"output", "out", "dest", "destination", "target", "outdir", "outfile", "write", "save"}
_READ_WORDS = {"input", "in", "src", "source", "infile", "indir", "read"}


def words(text: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", text.lower())) - {""}


def looks_like_path(name: str) -> bool:
    return bool(words(name) & _PATH_WORDS)


def path_kind(name: str, help: str = "") -> str:
    """Return "dir", "file" or "path" from the words of the name, else of the help."""
    for text in (name, help):
        found = words(text)
        if found & _DIR_WORDS:
            return "dir"
        if found & _FILE_WORDS:
            return "file"
    return "path"


def path_access(name: str, help: str = "") -> str:
    """Return "write" when the name (else the help) says output or destination, else "read"."""
    for text in (name, help):
        found = words(text)
        if found & _WRITE_WORDS:
            return "write"
        if found & _READ_WORDS:
            return "read"
    return "read"
