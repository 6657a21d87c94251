"""Fill a recipe's parameter defaults from the words of the request.

"older than 30 days" gives a `days` parameter 30, "no wider than 800 pixels" a
`width` 800, "into a json file" a `save` flag. A parameter is filled only when the
words state exactly one value of its kind (see mentions); anything unclear keeps
the recipe's own default. The filled values are shown before the tool is saved.
"""

import re

import msgspec

from ..base.manifest import Parameter
from .mentions import BYTES_PER, Mentions, mentions

FORMAT_NAMES = ("to", "format", "ext", "extension", "suffix")
COUNTED = {"row": ("row",), "line": ("row", "line"), "page": ("page",), "digit": ("digit",), "character": ("char",)}


def stated(parameters: list[Parameter], description: str) -> dict[str, str | int | bool]:
    """{parameter name: value} for each option whose value the words state (even if it is the default)."""
    found = mentions(description)
    options = [p for p in parameters if not p.positional]  # a positional's default is never used
    values = {}
    for p in options:
        value = _value(p, found, {q.name for q in options})
        if value is not None:
            values[p.name] = value
    return values


def fill_parameters(parameters: list[Parameter], values: dict) -> list[Parameter]:
    """The parameters with the stated values as their defaults."""
    return [msgspec.structs.replace(p, default=values[p.name], required=False) if p.name in values else p for p in parameters]


def _one(values):
    """The value the words state, when they state exactly one."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else None


def _value(p: Parameter, m: Mentions, names: set[str]):
    name, help = p.name.lower(), (p.help or "").lower()
    if p.kind == "flag":
        if name in m.flags or (name == "save" and m.into_a_file):
            return True
        return None
    if p.kind == "int":
        return _int_value(name, help, m, names)
    if p.kind == "string":
        return _string_value(name, help, m, names)
    if p.kind in ("file", "path") and p.access == "write" and name == "output":
        return _one(m.file_names)
    return None


def _int_value(name: str, help: str, m: Mentions, names: set[str]):
    if name == "days":
        return _one(m.days)
    if name == "top":
        return _one(m.top)
    if name in ("quality", "indent", "start"):
        return _one(value for setting, value in m.settings if setting == name) or (
            _spaces(m) if name == "indent" and "spaces" in help else None)
    if "spaces" in help:
        return _spaces(m)
    if "pixel" in help or name in ("width", "height"):
        return _pixels(name, m, names)
    if "size" in name and "bytes" in help:
        size = _one(m.sizes)
        return _bytes(size) if size else None
    for noun, stems in COUNTED.items():
        if any(stem in name for stem in stems):
            return _one(value for value, counted in m.counts if counted == noun)
    return None


def _pixels(name: str, m: Mentions, names: set[str]):
    """A side's pixels go to that side's parameter, or to the only size there is."""
    if name in ("width", "height"):
        return _one(value for value, side in m.pixels if side == name)
    sided = {"width", "height"} & names
    return _one(value for value, side in m.pixels if side not in sided)


def _spaces(m: Mentions):
    return _one(value for value, counted in m.counts if counted == "space")


def _bytes(size: str) -> int:
    amount, unit = re.fullmatch(r"([\d.]+)([A-Z]+)", size).groups()
    return int(float(amount) * BYTES_PER[unit])


def _string_value(name: str, help: str, m: Mentions, names: set[str]):
    if "size" in name:
        return _one(m.sizes)
    if name in ("match", "glob"):
        return _one(m.patterns)
    if name in FORMAT_NAMES and ("format" in help or "extension" in help):
        ext = _one(m.formats)
        return f".{ext}" if ext and "extension" in help else ext
    if name == "domain":
        return _one(m.domains)
    if name == "find" and "replace" in names:
        return m.quoted[0] if len(m.quoted) in (1, 2) else None
    if name == "replace" and "find" in names:
        return m.quoted[1] if len(m.quoted) == 2 else None
    if name == "text":
        return _one(m.quoted) if m.quoted else _one(m.terms)
    if name == "pattern":
        return _one(q for q in m.quoted if "{" in q)
    return None
