"""What the forge reports while it works: one tagged msgspec Struct per kind of event.

Encoded as JSON each event carries a ``type`` field (``{"type": "saved", ...}``), so
the CLI's ``--json`` output and the HTTP API's event stream are the same bytes.
"""

import msgspec

from ..base.diagnostics import Diagnostic


class Event(msgspec.Struct, kw_only=True, tag_field="type"):
    pass


class Started(Event, tag="started"):
    task: str  # "new" | "edit"
    description: str


class RecipeMatch(msgspec.Struct, frozen=True):
    name: str
    score: float
    description: str = ""


class RecipesFound(Event, tag="recipes"):
    matches: list[RecipeMatch]


class UsingRecipe(Event, tag="using_recipe"):
    name: str
    score: float
    reason: str  # why a recipe is used instead of the model


class Unsure(Event, tag="unsure"):
    """No recipe surely fits: these might (best first); `toolsmith new --recipe NAME` takes one."""

    matches: list[RecipeMatch]
    reason: str


class ParametersFilled(Event, tag="parameters"):
    """Defaults taken from the request's words ("800 pixels wide" -> width 800), shown before saving."""

    values: dict[str, str | int | bool]


class AlreadyHave(Event, tag="exists"):
    """The recipe is already saved as this tool; nothing new was saved."""

    name: str
    command: str  # how to run it


class Attempt(Event, tag="attempt"):
    number: int
    of: int


class Token(Event, tag="token"):
    text: str


class Checked(Event, tag="checked"):
    attempt: int
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class SmokeRun(Event, tag="smoke_run"):
    command: list[str]
    exit_code: int
    ok: bool
    output: str  # the end of stdout/stderr, for the user and for repairs


class Diff(Event, tag="diff"):
    name: str
    text: str


class Saved(Event, tag="saved"):
    name: str
    version: int
    origin: str
    path: str


class Planned(Event, tag="planned"):
    run_id: str
    changes: int
    summary: str


class Applied(Event, tag="applied"):
    run_id: str


class Undone(Event, tag="undone"):
    run_id: str


class Error(Event, tag="error"):
    message: str


ANY = (
    Started | RecipesFound | UsingRecipe | Unsure | ParametersFilled | AlreadyHave | Attempt | Token | Checked | SmokeRun | Diff
    | Saved | Planned | Applied | Undone | Error
)


def encode(event: Event) -> bytes:
    return msgspec.json.encode(event)


def decode(data: bytes) -> Event:
    return msgspec.json.decode(data, type=ANY)
