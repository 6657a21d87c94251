"""toolsmith-notes-pack: recipes for folders of notes, added through `toolsmith_register_recipes`.

Each folder under `recipes/` is one recipe, laid out exactly like a saved tool:
`tool.toml` (the manifest, `origin = "recipe"`), the source (`tool.py` or
`tool.sh`, as the manifest's language names it) and `phrasings.txt` (ways people
ask for it, one a line, which is how `toolsmith new "..."` finds it).
"""

from importlib.resources import files

from toolsmith.core import hookimpl
from toolsmith.core.base.manifest import decode
from toolsmith.core.tools.languages import get_language
from toolsmith.core.tools.recipes import Recipe


def load_recipe(folder) -> Recipe:
    manifest = decode((folder / "tool.toml").read_bytes(), f"notes-pack {folder.name}/tool.toml")
    source = (folder / get_language(manifest.language).source_file).read_text(encoding="utf-8")
    phrasings = [line.strip() for line in (folder / "phrasings.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    return Recipe(manifest=manifest, source=source, phrasings=phrasings)


@hookimpl
def toolsmith_register_recipes(register):
    for folder in sorted(files(__name__).joinpath("recipes").iterdir(), key=lambda f: f.name):
        if folder.joinpath("tool.toml").is_file():
            register(load_recipe(folder))
