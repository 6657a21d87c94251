"""What a request states in so many words: ages, sizes, pixels, counts, patterns, names.

"delete log files older than 2 weeks" states an age of 14 days and the pattern
`*.log`; "no wider than 800 pixels" states a width of 800. Each finder returns what
it is sure of and nothing else; recipe_fill decides which parameter, if any, gets it.
"""

import re

import msgspec

WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30,
}
_NUMBER = r"(\d+(?:\.\d+)?|" + "|".join(WORD_NUMBERS) + r")"
DAYS_PER = {"hour": 1 / 24, "day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
AGE = re.compile(rf"\b{_NUMBER}[\s-]*(hour|day|week|fortnight|month|year)s?\b", re.IGNORECASE)
BYTE_UNITS = {"b": "B", "byte": "B", "bytes": "B", "k": "KB", "kb": "KB", "kib": "KB", "kilobyte": "KB", "kilobytes": "KB",
              "m": "MB", "mb": "MB", "mib": "MB", "megabyte": "MB", "megabytes": "MB", "meg": "MB", "megs": "MB",
              "g": "GB", "gb": "GB", "gib": "GB", "gigabyte": "GB", "gigabytes": "GB", "gig": "GB", "gigs": "GB",
              "t": "TB", "tb": "TB", "tib": "TB", "terabyte": "TB", "terabytes": "TB"}
BYTES_PER = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
# A lone letter (50M) only when glued to the number; "5 m" could be metres.
SIZE = re.compile(r"\b(\d+(?:\.\d+)?)(?:\s*(bytes?|[kmgt]i?b|(?:kilo|mega|giga|tera)bytes?|megs?|gigs?)|([kmgt]))\b", re.IGNORECASE)
PIXELS = re.compile(r"\b(\d+)\s*(?:px|pixels?)\b", re.IGNORECASE)
WIDE = re.compile(r"\b(wide|wider|width|across|widest)\b", re.IGNORECASE)
TALL = re.compile(r"\b(tall|taller|high|higher|height|tallest)\b", re.IGNORECASE)
# "1000 rows", "every 3 pages", "2 space indent", "10 digits": a number and what it counts.
COUNT = re.compile(r"\b(\d+)[\s-]*(rows?|lines?|pages?|spaces?|digits?|characters?)\b", re.IGNORECASE)
TOP = re.compile(r"\b(?:top|first)\s+(\d+)\b|\b(\d+)\s+(?:biggest|largest|newest|latest|most recent(?:ly \w+)?|recent)\b", re.IGNORECASE)
SETTING_NAMES = {"quality": "quality", "indent": "indent", "indentation": "indent", "indented": "indent",
                 "start": "start", "starting": "start", "numbered from": "start", "beginning": "start"}
SETTING = re.compile(rf"\b({'|'.join(SETTING_NAMES)})(?:\s+(?:of|at|from|to|by|with|=))?\s+(\d+)\b", re.IGNORECASE)
QUALITY_PERCENT = re.compile(r"\b(\d{1,3})\s*%\s*quality\b", re.IGNORECASE)

EXTENSIONS = ("jpg|jpeg|png|gif|webp|bmp|tiff?|heic|pdf|csv|json|txt|md|html?|xml|zip|tar|gz|mp3|wav|flac|mp4|mov|mkv|avi"
              "|log|tmp|bak|py|js|ts|sh|c|cpp|java|go|rs|rb|php|css|docx?|xlsx?|pptx?|odt|epub|iso|dmg|exe|yaml|yml|toml|ini|srt")
FORMATS = "jpg|jpeg|png|gif|webp|bmp|tiff?|heic|pdf|csv|json|txt|md|html|xml|zip|tar|gz|mp3|wav|flac|mp4|mov"
TARGET_FORMAT = re.compile(rf"\b(?:to|into|as|in)\s+\.?({FORMATS})\b(?!\s+files?\b)", re.IGNORECASE)
DOTTED_FORMAT = re.compile(rf"(?<![\w/*])\.({FORMATS})\b", re.IGNORECASE)
KIND_WORDS = {"python": "py", "text": "txt", "markdown": "md", "javascript": "js", "typescript": "ts", "shell": "sh",
              "word": "docx", "excel": "xlsx", "log": "log", "temp": "tmp", "temporary": "tmp", "backup": "bak"}
GLOB = re.compile(r"(?<![\w/])(\*[\w.*?-]*|[\w-]+\*[\w.*?-]*)(?!\w)")
FILES_OF = re.compile(rf"(?<![\w/])(?:\.({EXTENSIONS})|\b({EXTENSIONS}|{'|'.join(KIND_WORDS)}))\s+(?:files?|documents?|scripts?|logs?)\b", re.IGNORECASE)
DOT_EXTENSION = re.compile(rf"(?<![\w/*])\.({EXTENSIONS})s?\b", re.IGNORECASE)
QUOTED = re.compile(r"(?:(?<=[\s(])|^)[\"“‘'](.{1,200}?)[\"”’'](?=[\s,.;:!?)]|$)")
THE_WORD = re.compile(r"\b(?:(?:containing|contains?|mention(?:s|ing)?|for)(?:\s+the\s+(?:word|phrase|string|text))?"
                      r"|the\s+(?:word|phrase|string|text))\s+([A-Za-z0-9_@#$-]{2,60})\b")
NOT_A_TERM = {"text", "a", "an", "the", "some", "word", "words", "certain", "specific", "this", "that", "it", "them", "all",
              "any", "my", "files", "file", "folders", "every", "each", "me", "you", "sure"}
FILE_NAME = re.compile(rf"\b(?:into|to|in|as|called|named)\s+(?:a\s+file\s+(?:called|named)\s+)?([\w.-]+\.(?:{EXTENSIONS}))\b", re.IGNORECASE)
DOMAIN = re.compile(r"(?<![\w@.])((?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|edu|gov|co|uk|de|fr|app|ai))\b", re.IGNORECASE)
INTO_A_FILE = re.compile(rf"\b(?:into|to|as|in)\s+(?:a|an|its own|their own)\s+(?:new\s+)?(?:(?:{FORMATS})\s+)?file\b"
                         rf"|\b(?:make|create|produce|want)\s+(?:a|an)\s+(?:new\s+)?(?:(?:{FORMATS})\s+)?file\b|\bsave\b|\bwrite\b", re.IGNORECASE)
FLAGS = {
    "recursive": re.compile(r"\bsub-?folders?\b|\bsub-?directories\b|\brecursive(?:ly)?\b|\bnested folders\b|\bfolders? below\b", re.IGNORECASE),
    "ignore-case": re.compile(r"\bignor\w*\s+(?:upper\s+and\s+lower\s+|the\s+)?case\b|\bcase[- ]insensitive(?:ly)?\b|\bregardless of case\b|\bany case\b", re.IGNORECASE),
    "reverse": re.compile(r"\breverse\b|\bdescending\b|\bz to a\b|\bbackwards\b", re.IGNORECASE),
    "unique": re.compile(r"\b(?:remove|drop|without|no)\s+(?:the\s+)?duplicates?\b|\bunique\b", re.IGNORECASE),
}


class Mentions(msgspec.Struct):
    """Each list holds every value of its kind found in the words, in order."""

    days: list[int]
    sizes: list[str]  # "50MB"
    pixels: list[tuple[int, str]]  # (800, "width" | "height" | "")
    counts: list[tuple[int, str]]  # (1000, "row")
    top: list[int]
    settings: list[tuple[str, int]]  # ("quality", 80)
    formats: list[str]
    patterns: list[str]  # "*.log"
    quoted: list[str]
    terms: list[str]  # unquoted: "the word password" -> password
    file_names: list[str]
    domains: list[str]
    into_a_file: bool
    flags: set[str]


def mentions(text: str) -> Mentions:
    return Mentions(
        days=_ages(text), sizes=_sizes(text), pixels=_pixels(text), counts=_counts(text), top=_top(text),
        settings=_settings(text), formats=_formats(text), patterns=_patterns(text),
        quoted=QUOTED.findall(text), terms=_terms(text), file_names=FILE_NAME.findall(text),
        domains=[d.lower() for d in DOMAIN.findall(text) if not re.search(rf"\.({EXTENSIONS})$", d, re.IGNORECASE)],
        into_a_file=bool(INTO_A_FILE.search(text)), flags={name for name, cue in FLAGS.items() if cue.search(text)},
    )


def number(word: str) -> float:
    return WORD_NUMBERS[word.lower()] if word.lower() in WORD_NUMBERS else float(word)


def _ages(text: str) -> list[int]:
    found = []
    for amount, unit in AGE.findall(text):
        days = number(amount) * DAYS_PER[unit.lower()]
        found.append(max(1, round(days)))
    return found


def _sizes(text: str) -> list[str]:
    found = []
    for amount, unit, letter in SIZE.findall(text):
        unit = BYTE_UNITS[(unit or letter).lower()]
        found.append(f"{amount}{unit}")
    return found


def _pixels(text: str) -> list[tuple[int, str]]:
    """A pixel amount with the side the words put it on, looking a few words either way."""
    found = []
    for match in PIXELS.finditer(text):
        around = text[max(0, match.start() - 30): match.end() + 12]
        wide, tall = bool(WIDE.search(around)), bool(TALL.search(around))
        found.append((int(match.group(1)), "width" if wide and not tall else "height" if tall and not wide else ""))
    return found


def _counts(text: str) -> list[tuple[int, str]]:
    return [(int(amount), noun.lower().rstrip("s") or noun) for amount, noun in COUNT.findall(text)]


def _top(text: str) -> list[int]:
    return [int(a or b) for a, b in TOP.findall(text)]


def _settings(text: str) -> list[tuple[str, int]]:
    found = [(SETTING_NAMES[word.lower()], int(value)) for word, value in SETTING.findall(text)]
    return found + [("quality", int(value)) for value in QUALITY_PERCENT.findall(text)]


def _formats(text: str) -> list[str]:
    """The format to convert to ("to png"); else the formats written as extensions (".png")."""
    return [f.lower() for f in TARGET_FORMAT.findall(text) or DOTTED_FORMAT.findall(text)]


def _patterns(text: str) -> list[str]:
    found = [g for g in GLOB.findall(text)]
    for dotted, plain in FILES_OF.findall(text):
        word = (dotted or plain).lower()
        found.append(f"*.{KIND_WORDS.get(word, word)}")
    found += [f"*.{ext.lower()}" for ext in DOT_EXTENSION.findall(text)]
    return list(dict.fromkeys(found))


def _terms(text: str) -> list[str]:
    return [t for t in THE_WORD.findall(text) if t.lower() not in NOT_A_TERM and not DOMAIN.fullmatch(t)]
