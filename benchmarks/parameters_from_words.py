"""Which parameter values `toolsmith new` takes from the words of a request.

Usage: python benchmarks/parameters_from_words.py [--json] [--set heldout|tuning] [--list]

Each line of tests/forge/parameters_{heldout,tuning}.txt is `recipe | request |
name=value ...` (`-`: the words state no value). A request is *right* when exactly the
stated values are filled, *wrong* when a filled value is not one the words state (the
costly error: the saved tool does something else), *missed* when a stated value is not
filled (the recipe's default is kept, and shown).
"""

import argparse
import json
from pathlib import Path

from toolsmith.core.forge.recipe_fill import stated
from toolsmith.core.tools.recipes import recipes

SETS = Path(__file__).resolve().parent.parent / "tests" / "forge"


def cases(path: Path) -> list[tuple[str, str, dict]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            recipe, request, expected = (part.strip() for part in line.split("|"))
            rows.append((recipe, request, {} if expected == "-" else dict(_pair(item) for item in _items(expected))))
    return rows


def _items(expected: str) -> list[str]:
    """`text=invoice 2023 match=*.py`: a value runs until the next name=."""
    items = []
    for word in expected.split(" "):
        if "=" in word and not word.startswith("="):
            items.append(word)
        else:
            items[-1] += " " + word
    return items


def _pair(item: str) -> tuple[str, object]:
    key, value = item.split("=", 1)
    return key, True if value == "true" else int(value) if value.isdigit() else value


def filled(recipe: str, request: str) -> dict:
    return stated(recipes()[recipe].manifest.parameters, request)


def score(path: Path) -> dict:
    tally = {"requests": 0, "right": 0, "wrong": 0, "missed": 0, "cases": []}
    for recipe, request, expected in cases(path):
        got = filled(recipe, request)
        verdict = "right" if got == expected else "wrong" if any(expected.get(k) != v for k, v in got.items()) else "missed"
        tally["requests"] += 1
        tally[verdict] += 1
        tally["cases"].append({"recipe": recipe, "request": request, "expected": expected, "filled": got, "verdict": verdict})
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--set", choices=("heldout", "tuning"), default="heldout")
    parser.add_argument("--list", action="store_true", help="print every request that is not right")
    args = parser.parse_args()
    tally = score(SETS / f"parameters_{args.set}.txt")
    if args.json:
        print(json.dumps(tally if args.list else {k: v for k, v in tally.items() if k != "cases"}, indent=2))
        return
    n = tally["requests"]
    print(f"{args.set} requests: {n}")
    print(f"right {tally['right']} ({tally['right'] / n:.1%}), wrong {tally['wrong']}, missed {tally['missed']}")
    for case in tally["cases"] if args.list else []:
        if case["verdict"] != "right":
            print(f"  {case['verdict']}: {case['request']!r} -> {case['filled']} (expected {case['expected']})")


if __name__ == "__main__":
    main()
