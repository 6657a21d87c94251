"""Text from untrusted places, made safe to print on a terminal.

File names, link targets, a tool's output, the model's words and error messages come
from generated code or a model. Printed raw, an escape sequence can move the cursor
and rewrite the plan the user is about to confirm, and a bidirectional override can
make ``evil.sh\u202etxt.`` read as something else. Every printer passes such text
through `safe`, the one escaping function.
"""


def safe(text: str, lines: bool = False) -> str:
    """`text` with every character that is not printable shown as a visible escape
    (``\\x1b``, ``\\x7f``, ``\\x9b``, ``\\u202e``): C0 and C1 controls, ESC, DEL, the
    bidirectional embeddings, overrides, isolates and marks, zero-width and other
    format characters, line and paragraph separators. With `lines`, tabs, newlines
    and CRLF line ends stay (a tool's output); otherwise they are escaped too (a name
    is one line). Bytes that were not UTF-8 (kept as lone surrogates) show as ``\\xNN``."""
    if text.isprintable():
        return text
    out = []
    for i, ch in enumerate(text):
        if ch.isprintable() or (lines and (ch in "\n\t" or (ch == "\r" and text[i + 1 : i + 2] == "\n"))):
            out.append(ch)
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
