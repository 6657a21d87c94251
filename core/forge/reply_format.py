"""The forge's reply format as a grammar, so a constrained model's every reply parses.

A reply is a ```toml manifest block, then one ```python (or ```bash) block, then
nothing. The grammar writes the manifest's keys in a fixed order with values that
`extract` and the manifest's own validation accept (a tool-name pattern, the known
parameter kinds, `access` exactly for path kinds), and bounds every free string and
list (at most four parameters, three requirements), so even a random model finishes the
manifest in about a thousand tokens; the source
is any text without a ``` fence. Python syntax, argparse and the rest stay with the
checks: the repair loop spends its attempts on those real errors.

Engines that enforce Lark grammars (the native one) get it through
`SamplingParams.constraint`; the others generate freely.
"""

from ..inference.sampling import Constraint

# llguidance's Lark dialect. Strings are TOML basic strings without escapes.
GRAMMAR = r"""
start: "```toml\n" manifest "```\n\n```" LANGUAGE "\n" SOURCE "```"
manifest: name description requires network (parameter (parameter (parameter parameter?)?)?)?
name: "name = \"" TOOL_NAME "\"\n"
description: "description = \"" TEXT "\"\n"
requires: "requires = [" (module (", " module (", " module)?)?)? "]\n"
module: "\"" MODULE "\""
network: "network = " BOOL "\n"
parameter: "\n[[parameters]]\nname = \"" PARAMETER_NAME "\"\n" kind "positional = " BOOL "\nrequired = " BOOL "\nhelp = \"" HELP "\"\n"
kind: "kind = \"" PATH_KIND "\"\naccess = \"" ACCESS "\"\n" | "kind = \"" OTHER_KIND "\"\n"

LANGUAGE: "python" | "bash"
TOOL_NAME: /[a-z][a-z0-9-]{0,31}/
TEXT: /[^"`\\\x00-\x1f\x7f]{1,80}/
MODULE: /[A-Za-z_][A-Za-z0-9_.]{0,23}/
PARAMETER_NAME: /[a-z_][a-z0-9_]{0,19}/
HELP: /[^"`\\\x00-\x1f\x7f]{0,60}/
PATH_KIND: "path" | "dir" | "file"
ACCESS: "read" | "write"
OTHER_KIND: "string" | "int" | "flag"
BOOL: "true" | "false"
SOURCE: /(([^`\n]|`[^`\n]|``[^`\n])*`{0,2}\n)*/
"""


def reply_constraint() -> Constraint:
    return Constraint(lark=GRAMMAR, source="the forge's reply format")


def enforces_grammars(engine) -> bool:
    """Whether `engine` can hold a reply to a Lark grammar (`Engine.constraints`)."""
    return "lark" in getattr(engine, "constraints", ())
