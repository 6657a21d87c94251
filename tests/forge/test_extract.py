"""Getting a manifest and source out of a model's reply."""

from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Parameter
from toolsmith.core.forge.extract import Extracted, extract
from toolsmith.core.forge.recipe_fill import fill_parameters, stated

SOURCE = 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n'


def test_manifest_and_source():
    reply = f'```toml\nname = "x-tool"\ndescription = "does x"\nrequires = ["PIL"]\n```\n```python\n{SOURCE}```'
    found = extract(reply, default_name="fallback", default_description="d")
    assert isinstance(found, Extracted)
    assert (found.manifest.name, found.manifest.description, found.manifest.requires) == ("x-tool", "does x", ["PIL"])
    assert found.manifest.origin == "model" and found.source == SOURCE


def test_missing_manifest_uses_defaults():
    found = extract(f"```py\n{SOURCE}```", default_name="fallback", default_description="what the user said")
    assert (found.manifest.name, found.manifest.description, found.manifest.language) == ("fallback", "what the user said", "python")


def test_unterminated_fence_still_yields_code():
    found = extract(f"```python\n{SOURCE}", default_name="n", default_description="d")
    assert found.source == SOURCE


def test_no_code_is_a_diagnostic():
    (d,) = extract("Sure! First, open your folder...", default_name="n", default_description="d")
    assert isinstance(d, Diagnostic) and d.rule == "no-code"


def test_bad_manifest_is_a_diagnostic():
    (d,) = extract(f'```toml\nname = "x"\npermisions = 1\n```\n```python\n{SOURCE}```', default_name="n", default_description="d")
    assert d.rule == "manifest" and "permisions" in d.message
    (d,) = extract(f'```toml\nname = "../../etc"\n```\n```python\n{SOURCE}```', default_name="n", default_description="d")
    assert d.rule == "manifest" and "name" in d.message


def test_bash_block():
    found = extract('```bash\nmain() { echo hi; }\nmain "$@"\n```', default_name="n", default_description="d")
    assert found.manifest.language == "bash"


def test_fill_parameters_from_the_request():
    params = [
        Parameter(name="folder", kind="dir", access="write", positional=True),
        Parameter(name="width", kind="int", default=1024),
        Parameter(name="format", kind="string", default="jpg", help="image format"),
    ]
    values = stated(params, "resize my photos to 800 pixels wide and save them as png")
    assert values == {"width": 800, "format": "png"}
    filled = {p.name: p.default for p in fill_parameters(params, values)}
    assert filled == {"folder": None, "width": 800, "format": "png"}
    assert stated(params, "resize photos from 2019 to 800 px") == {}  # no side named: not the width
