"""The forge's two jobs, `new` and `edit`, as generators of events.

Nothing is saved until a tool has passed the checks and its smoke run, so an
interrupted forge (Ctrl-C, a crash, a failed repair) leaves the library untouched.
"""

import difflib
import re
import shlex
from collections.abc import Callable, Iterator

import msgspec

from ..base.config import Config
from ..base.errors import ToolsmithError
from ..base.manifest import check_name, now
from ..inference.protocol import Engine
from ..tools.checks import check_source
from ..tools.library import Library
from ..tools.recipes import recipes
from ..tools.retrieval import ASK, SURE, default_index, search
from . import prompt
from .events import (
    AlreadyHave,
    Attempt,
    Checked,
    Diff,
    Error,
    Event,
    ParametersFilled,
    RecipeMatch,
    RecipesFound,
    Saved,
    Started,
    Token,
    Unsure,
    UsingRecipe,
)
from .extract import Extracted, extract
from .generate import stream_deltas
from .recipe_fill import fill_parameters, stated
from .session_log import recorded
from .smoke import smoke_run

MAX_DESCRIPTION = 4000
EXAMPLES = 2


class ForgeError(ToolsmithError):
    pass


def check_description(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ForgeError('the description is empty; say what the tool should do, e.g. toolsmith new "rename photos by date"')
    if len(text) > MAX_DESCRIPTION:
        raise ForgeError(f"the description is {len(text):,} characters; keep it under {MAX_DESCRIPTION:,} (a few sentences)")
    return text


def slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    return "-".join(words)[:64].strip("-") or "tool"


def forge_new(
    description: str,
    config: Config,
    *,
    engine: Engine | None = None,
    name: str | None = None,
    choose_name: Callable[[str], str | None] | None = None,
    library: Library | None = None,
    recipe: str | None = None,
    generate: bool = False,
    choose_recipe: Callable[[list[RecipeMatch]], str | None] | None = None,
) -> Iterator[Event]:
    """Make and save a tool: a vetted recipe when one surely fits, else the model, else an honest no.

    `recipe` names the recipe to use; `generate` asks the model even when a recipe fits;
    `choose_recipe` (a terminal) picks among the likely recipes when none is sure. The
    session is logged (see session_log) unless `[forge] log = false`.
    """
    yield from recorded(config.forge.log, "new", description, _model(config, engine), None, lambda log: _new(
        description, config, engine, name, choose_name, library, recipe, generate, choose_recipe, log))


def _model(config: Config, engine) -> str | None:
    return (config.engine.model or config.engine.url or config.engine.backend) if engine is not None else None


def _new(description, config, engine, name, choose_name, library, recipe, generate, choose_recipe, log) -> Iterator[Event]:
    library = library or Library()
    description = check_description(description)
    if name is not None:
        check_name(name)
    catalog = recipes()
    if recipe is not None and recipe not in catalog:
        close = difflib.get_close_matches(recipe, list(catalog), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ForgeError(f"no recipe named {recipe!r}; {hint}see `toolsmith recipes list`")
    if generate and engine is None:
        raise ForgeError("--generate needs a model: add one with `toolsmith models add PATH` (or configure a remote server)")
    yield Started(task="new", description=description)
    sure = config.forge.recipe_threshold if config.forge.recipe_threshold is not None else SURE
    decision = default_index().decide(description, sure=sure)
    found = [RecipeMatch(m.recipe_name, round(m.score, 3), catalog[m.recipe_name].manifest.description) for m in decision.matches]
    yield RecipesFound(matches=found)
    if recipe is not None:
        yield from _save_recipe(catalog[recipe], description, "chosen with --recipe", 1.0, name, choose_name, library)
        return
    if not generate and decision.verdict == "sure":
        reason = "no model installed" if engine is None else "a vetted recipe fits (checked, tested and instant; --generate asks the model instead)"
        yield from _save_recipe(catalog[found[0].name], description, reason, found[0].score, name, choose_name, library)
        return
    if engine is None:
        yield from _without_model(decision, found, description, name, choose_name, choose_recipe, library)
        return
    examples = [catalog[m.recipe_name] for m in search(description, limit=EXAMPLES)]
    messages = prompt.new_messages(description, examples)
    for event in _generate_until_valid(engine, messages, config, slug(description), description, log):
        if isinstance(event, Extracted):
            target = _free_name(name or event.manifest.name, name is not None, choose_name, library)
            if target is None:
                yield Error(message=f"a tool named {event.manifest.name!r} already exists; pass --name to save this one under another name")
                return
            manifest = _renamed(event.manifest, target)
            version = library.save(manifest, event.source, new=True)
            yield Saved(name=target, version=version, origin="model", path=str(library.load(target).path))
            return
        if isinstance(event, Error) and found and found[0].score >= ASK:
            yield from _offer_instead(event, found, description, name, choose_name, choose_recipe, library)
            return
        yield event


def _without_model(decision, found, description, name, choose_name, choose_recipe, library):
    """No model: a sure recipe was already used, so ask (on a terminal) or refuse, listing the candidates."""
    if decision.verdict == "unsure":
        yield Unsure(matches=found, reason=decision.reason)
        chosen = choose_recipe(found) if choose_recipe else None
        if chosen:
            yield from _save_recipe(recipes()[chosen], description, "chosen by you", _score(found, chosen), name, choose_name, library)
            return
        listed = "; ".join(f"{m.name} ({m.score:.2f})" for m in found)
        yield Error(message=f"not sure which recipe fits ({decision.reason}); nothing was saved. Likely: {listed}. "
                    f'Take one with `toolsmith new --recipe NAME "{description}"`, or add a model with `toolsmith models add PATH`')
        return
    why = f" ({decision.reason})" if decision.reason else ""
    yield Error(message=f"no model installed and no built-in recipe fits this description{why}; nothing was saved. "
                "Add a model with `toolsmith models add PATH` (or see `toolsmith recipes list`)")


def _offer_instead(error: Error, found, description, name, choose_name, choose_recipe, library):
    """The model failed: offer the closest vetted recipe rather than nothing."""
    yield Unsure(matches=found, reason=error.message)
    chosen = choose_recipe(found) if choose_recipe else None
    if chosen:
        yield from _save_recipe(recipes()[chosen], description, "the model failed; chosen by you", _score(found, chosen), name, choose_name, library)
        return
    yield Error(message=f"{error.message}. The closest vetted recipe is {found[0].name} ({found[0].description}): "
                f'`toolsmith new --recipe {found[0].name} "{description}"`')


def _score(found, chosen: str) -> float:
    return next((m.score for m in found if m.name == chosen), 0.0)


def forge_edit(tool_name: str, change: str, config: Config, *, engine: Engine | None = None, library: Library | None = None) -> Iterator[Event]:
    """Regenerate a tool with the change applied; saved as a new version with a diff (and logged)."""
    yield from recorded(config.forge.log, "edit", change, _model(config, engine), tool_name,
                        lambda log: _edit(tool_name, change, config, engine, library, log))


def _edit(tool_name: str, change: str, config: Config, engine, library: Library | None, log) -> Iterator[Event]:
    library = library or Library()
    change = check_description(change)
    current = library.load(tool_name)
    if engine is None:
        raise ForgeError("editing a tool needs a model: add one with `toolsmith models add PATH` (or configure a remote server)")
    yield Started(task="edit", description=change)
    catalog = recipes()
    examples = [catalog[m.recipe_name] for m in search(change, limit=1)]
    messages = prompt.edit_messages(change, prompt.proposal_text(current.manifest), current.source, examples)
    for event in _generate_until_valid(engine, messages, config, current.manifest.name, current.manifest.description, log):
        if isinstance(event, Extracted):
            try:  # the model does not see the trigger; keep it (its parameter must still exist)
                manifest = msgspec.structs.replace(
                    event.manifest, name=current.manifest.name, created=current.manifest.created, trigger=current.manifest.trigger
                )
            except ValueError as e:
                yield Error(message=f"the edited tool no longer fits its [trigger]: {e}; nothing was saved")
                return
            yield Diff(name=tool_name, text=_diff(current.source, event.source, tool_name))
            version = library.save(manifest, event.source)
            yield Saved(name=tool_name, version=version, origin="model", path=str(current.path))
            return
        yield event


def _generate_until_valid(engine, messages, config: Config, default_name: str, description: str, log):
    """Generate, check and smoke-run, feeding problems back, up to `max_attempts` times.

    Yields events, and finally the `Extracted` tool that passed (or an `Error`).
    """
    attempts = config.forge.max_attempts
    logged = 0
    for number in range(1, attempts + 1):
        yield Attempt(number=number, of=attempts)
        log.sent(number, [m for m in messages[logged:] if m["role"] != "assistant"])  # the replies are logged as they stream
        logged = len(messages)
        reply = []
        for delta in stream_deltas(engine, messages, config.forge):
            reply.append(delta)
            yield Token(text=delta)
        reply_text = "".join(reply)
        messages = [*messages, {"role": "assistant", "content": reply_text}]
        found = extract(reply_text, default_name=default_name, default_description=description)
        if isinstance(found, list):
            yield Checked(attempt=number, diagnostics=found)
            messages.append(prompt.repair_message(found))
            continue
        diagnostics = check_source(found.source, found.manifest, found.manifest.language, config.checks)
        yield Checked(attempt=number, diagnostics=diagnostics)
        if any(d.severity == "error" for d in diagnostics):
            messages.append(prompt.repair_message(diagnostics))
            continue
        smoke = smoke_run(found.manifest, found.source, config.sandbox)
        yield smoke
        if not smoke.ok:
            messages.append(prompt.repair_message([], smoke))
            continue
        yield found
        return
    yield Error(message=f"the model did not produce a working tool in {attempts} attempts; nothing was saved (try rephrasing, or a larger model)")


def _save_recipe(recipe, description, reason, score, name, choose_name, library: Library):
    """Save `recipe` with defaults from the request's words; if it is already saved, say how to run it."""
    yield UsingRecipe(name=recipe.name, score=round(score, 2), reason=reason)
    filled = stated(recipe.manifest.parameters, description)
    parameters = fill_parameters(recipe.manifest.parameters, filled)
    if filled:
        yield ParametersFilled(values=filled)
    if name is None and library.exists(recipe.name) and library.load(recipe.name).source == recipe.source:
        yield AlreadyHave(name=recipe.name, command=_run_command(recipe.name, parameters, filled))
        return
    target = _free_name(name or recipe.name, name is not None, choose_name, library)
    if target is None:
        yield Error(message=f"a tool named {name or recipe.name!r} already exists; pass --name to save another copy")
        return
    stamp = now()
    manifest = msgspec.structs.replace(recipe.manifest, name=target, parameters=parameters, created=stamp, updated=stamp)
    version = library.save(manifest, recipe.source, new=True)
    yield Saved(name=target, version=version, origin="recipe", path=str(library.load(target).path))


def _run_command(name: str, parameters, filled: dict) -> str:
    """`toolsmith run NAME FOLDER --width 800`: the positional placeholders, then what the words asked for."""
    words = [p.name.upper() for p in parameters if p.positional and p.required]
    for key, value in filled.items():
        words += [f"--{key}"] if value is True else [] if value is False else [f"--{key}", shlex.quote(str(value))]
    return " ".join(["toolsmith", "run", name, *words])


def _free_name(wanted: str, explicit: bool, choose_name, library: Library) -> str | None:
    """`wanted` if free; otherwise ask (when we can) or give up."""
    if not library.exists(wanted):
        return wanted
    if explicit or choose_name is None:
        return None
    other = choose_name(wanted)
    return check_name(other) if other and not library.exists(other) else None


def _renamed(manifest, name: str):
    return manifest if manifest.name == name else msgspec.structs.replace(manifest, name=name)


def _diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{name} (current)", f"{name} (edited)"))
