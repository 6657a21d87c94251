"""What `toolsmith new` does without a model, on requests written as people write them.

Usage: python benchmarks/recipe_matching.py [--json] [--set heldout|tuning] [--list]

Each request in tests/recipes/heldout_requests.txt (or tuning_requests.txt) names the
recipe that should be saved, or "-" where the honest answer is no recipe. A request
is *right* when the expected recipe is saved (or, for "-", nothing is), *wrong-saved*
when another recipe would be saved, and *refused* when nothing is saved although a
recipe was expected. Among the refused, "asked" counts the requests where a terminal
user would see the right recipe among the three offered.
"""

import argparse
import json
import sys
from pathlib import Path

from toolsmith.core.tools import retrieval

SETS = Path(__file__).resolve().parent.parent / "tests" / "recipes"


def load(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            expected, request = (part.strip() for part in line.split("|", 1))
            pairs.append((expected, request))
    return pairs


def measure(name: str) -> dict:
    pairs = load(SETS / f"{name}_requests.txt")
    index = retrieval.default_index()
    rows = []
    for expected, request in pairs:
        decision = index.decide(request)
        saved = decision.matches[0].recipe_name if decision.verdict == "sure" else "-"
        outcome = "right" if saved == expected else ("refused" if saved == "-" else "wrong-saved")
        offered = [m.recipe_name for m in decision.matches] if decision.verdict == "unsure" else []
        rows.append({"request": request, "expected": expected, "verdict": decision.verdict, "saved": saved,
                     "outcome": outcome, "offered": offered, "reason": decision.reason})
    count = {key: sum(r["outcome"] == key for r in rows) for key in ("right", "wrong-saved", "refused")}
    expected_recipe = [r for r in rows if r["expected"] != "-"]
    return {
        "set": name,
        "requests": len(rows),
        "recipes": len(index.names),
        "expecting_a_recipe": len(expected_recipe),
        "expecting_no_recipe": len(rows) - len(expected_recipe),
        **count,
        "right_or_refused_share": round((count["right"] + count["refused"]) / len(rows), 4),
        "right_share": round(count["right"] / len(rows), 4),
        "refused_but_offered_the_right_one": sum(r["outcome"] == "refused" and r["expected"] in r["offered"] for r in rows),
        "thresholds": {"sure": retrieval.SURE, "ask": retrieval.ASK, "margin": retrieval.MARGIN},
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--set", choices=["heldout", "tuning"], default="heldout", help="which request set (default heldout)")
    parser.add_argument("--list", action="store_true", help="also list every request that was not right")
    args = parser.parse_args(argv)
    result = measure(args.set)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['set']} requests: {result['requests']} ({result['expecting_a_recipe']} expecting a recipe, "
          f"{result['expecting_no_recipe']} expecting none) over {result['recipes']} recipes")
    print(f"right {result['right']}, wrong-saved {result['wrong-saved']}, refused {result['refused']} "
          f"(right or honestly refused {result['right_or_refused_share']:.1%}; "
          f"{result['refused_but_offered_the_right_one']} of the refused offer the right recipe on a terminal)")
    print("thresholds: " + ", ".join(f"{k} {v}" for k, v in result["thresholds"].items()))
    if args.list:
        for row in result["rows"]:
            if row["outcome"] != "right":
                print(f"  {row['outcome']}: {row['request']!r}: expected {row['expected']}, saved {row['saved']}; "
                      f"{row['reason']}; offered {row['offered']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
