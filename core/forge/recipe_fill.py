"""Fill a recipe's parameter defaults from the words of the request.

"resize my photos to 800 pixels" should give the recipe's width parameter a default
of 800, and "convert to png" its format parameter "png". Only unambiguous cues are
used; anything unclear keeps the recipe's own default.
"""

import re

import msgspec

from ..base.manifest import Parameter

NUMBER = re.compile(r"(?<![\w.])(\d{1,9})(?![\w.])")
FORMATS = "jpg|jpeg|png|gif|webp|bmp|tiff?|heic|pdf|csv|json|txt|md|html|xml|zip|tar|gz|mp3|wav|flac|mp4|mov"
EXTENSION = re.compile(rf"(?<![\w/])\.({FORMATS})\b|\b(?:to|into|as)\s+({FORMATS})\b", re.IGNORECASE)
QUOTED = re.compile(r"[\"“']([^\"”']{1,200})[\"”']")
FORMAT_WORDS = ("format", "ext", "extension", "suffix", "type")


def fill_parameters(parameters: list[Parameter], description: str) -> list[Parameter]:
    ints = [p for p in parameters if p.kind == "int" and not p.positional]
    numbers = [int(n) for n in NUMBER.findall(description)]
    strings = [p for p in parameters if p.kind == "string" and not p.positional]
    formats = [p for p in strings if any(word in p.name.lower() for word in FORMAT_WORDS)]
    extensions = [a or b for a, b in EXTENSION.findall(description)]
    quoted = QUOTED.findall(description)
    filled = {}
    if len(ints) == 1 and len(numbers) == 1:
        filled[ints[0].name] = numbers[0]
    if len(formats) == 1 and len(extensions) == 1:
        filled[formats[0].name] = extensions[0].lower()
    others = [p for p in strings if p not in formats]
    if len(others) == 1 and len(quoted) == 1:
        filled[others[0].name] = quoted[0]
    return [msgspec.structs.replace(p, default=filled[p.name], required=False) if p.name in filled else p for p in parameters]
