"""The error every user-facing failure derives from.

The CLI prints a ToolsmithError as one line (exit code 1) and never a traceback
unless ``--debug`` is given; the message must say what is wrong and what to do.
"""


class ToolsmithError(Exception):
    pass
