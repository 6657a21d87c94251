"""Every hook a Toolsmith plugin can implement.

Plugins implement hooks with ``@toolsmith.core.hookimpl`` on module-level functions
(or methods of a registered object). An implementation may accept any subset of
the arguments listed here. Collection hooks receive a ``register`` callback instead
of returning lists, so the host knows which plugin supplied what.

Every hook here has a section in ``docs/plugin-hooks.md``; a test enforces it.
"""

from pluggy import HookspecMarker

hookspec = HookspecMarker("toolsmith")


@hookspec
def toolsmith_register_commands(cli):
    """Add commands to the ``toolsmith`` command line.

    Called once, when the CLI is built, before arguments are parsed.

    :param cli: the root ``click.Group``; call ``cli.add_command(...)`` or decorate
        new commands with ``@cli.command()``.
    :return: nothing.
    """


@hookspec
def toolsmith_register_languages(register):
    """Add a language that tools can be written in.

    Called whenever the host needs the table of languages (checking, importing,
    running a tool).

    :param register: call ``register(language)`` with an object that satisfies
        ``toolsmith.core.tools.languages.Language``: ``name``, ``source_file``,
        ``check(source, manifest, settings)``, ``infer_parameters(source)`` and
        ``command(source_path)``. A later registration of the same name wins.
    :return: nothing.
    """


@hookspec
def toolsmith_register_recipes(register):
    """Add vetted tools (recipes) to the catalog.

    Called when the catalog is first needed, e.g. by ``toolsmith new`` or
    ``toolsmith recipes``.

    :param register: call ``register(recipe)`` with a
        ``toolsmith.core.tools.recipes.Recipe``.
    :return: nothing.
    """


@hookspec
def toolsmith_register_engines(register):
    """Add an inference backend that the forge and the HTTP API can use.

    Called when the host lists or opens engines (``toolsmith plugins``,
    ``toolsmith models``, generation).

    :param register: call ``register(backend)`` with a
        ``toolsmith.core.inference.backends.Backend``: a name, a description, a ``create``
        factory returning an object that satisfies the ``Engine`` protocol, and an
        ``unavailable`` callable that returns ``None`` when the backend can run here,
        or a one-line reason when it cannot (e.g. no CUDA device).
    :return: nothing.
    """


@hookspec
def toolsmith_check_source(source, manifest, language):
    """Add diagnostics to the checks every tool passes before it is saved.

    Called after the language's own checks, for every tool that is checked.

    :param source: the tool's source text (``str``).
    :param manifest: the tool's ``toolsmith.core.base.manifest.Manifest``.
    :param language: the language's name, e.g. ``"python"``.
    :return: a list of ``toolsmith.core.base.diagnostics.Diagnostic`` (empty or
        ``None`` when there is nothing to report). Results of all plugins are
        concatenated.
    """


@hookspec
def toolsmith_forge_context(description, task):
    """Add text to the instructions the forge gives the model.

    Called once per ``toolsmith new`` or ``toolsmith edit`` that uses a model, while
    the prompt is built.

    :param description: what the user asked for (the tool, or the change).
    :param task: ``"new"`` or ``"edit"``.
    :return: a string appended to the system prompt, or ``None`` to add nothing.
        Results of all plugins are appended in order.
    """


@hookspec
def toolsmith_register_routes(register):
    """Add HTTP routes to the server ``toolsmith serve`` runs.

    Called once per server start, while the Litestar app is built.

    :param register: call ``register(handler)`` with a Litestar route handler
        (a function decorated with ``@get``/``@post``/...), a ``Controller``
        subclass or a ``Router``. The routes get the same API-key and Host checks
        as the built-in ones; ``request.app.state.slot.ready()`` gives the engine.
    :return: nothing.
    """
