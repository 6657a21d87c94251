"""Text from untrusted places, made safe to print on a terminal.

File names, link targets, a tool's output and its error messages come from generated
code. Printed raw, an escape sequence can move the cursor and rewrite the plan the
user is about to confirm, and a bidirectional override can make ``evil.sh\u202etxt.``
read as something else. Every printer passes such text through `safe` once.
"""

import re

# C0 controls but tab, newline and carriage return (kept where text has lines), DEL,
# C1 controls; bidirectional embeddings, overrides and isolates, marks, and the
# Unicode line and paragraph separators (some terminals start a new line on them).
_UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_LINES = re.compile(f"\r(?!\n)|[{_UNSAFE}]")  # a CRLF line end stays; a lone CR would overwrite the line
_NAME = re.compile(f"[{_UNSAFE}\t\n\r]")
_SURROGATE = re.compile("[\udc80-\udcff]")


def safe(text: str, lines: bool = False) -> str:
    """`text` with every control character shown as a visible escape (``\\x1b``,
    ``\\u202e``); with `lines`, tabs and newlines stay (a tool's output), otherwise
    they are escaped too (a name is one line). Bytes that were not UTF-8 (kept as
    lone surrogates) show as ``\\xNN``."""
    text = _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
    return (_LINES if lines else _NAME).sub(_escape, text)


def _escape(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
