"""Recipe retrieval on the held-out paraphrase set: top-1/top-3 accuracy and query latency.

Usage: python benchmarks/retrieval.py [--json] [--misses]

The paraphrases (tests/recipes/heldout_paraphrases.txt) are never part of the
index, so accuracy here estimates how well a new user's wording finds its recipe.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from toolsmith.core.tools import retrieval

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "recipes" / "heldout_paraphrases.txt"
OFF_TOPIC = ["bake a chocolate cake", "what's the weather like tomorrow", "write me a poem about the sea"]


def load_heldout(path: Path = HELDOUT) -> list[tuple[str, str]]:
    """(expected recipe, query) pairs from the 'name | query' lines of the file."""
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, query = (part.strip() for part in line.split("|", 1))
            pairs.append((name, query))
    return pairs


def measure() -> dict:
    started = time.perf_counter()
    index = retrieval.default_index()
    build_ms = (time.perf_counter() - started) * 1000
    pairs = load_heldout()
    top1 = top3 = 0
    latencies, misses, correct_scores = [], [], []
    for expected, query in pairs:
        started = time.perf_counter()
        found = index.search(query, limit=3)
        latencies.append((time.perf_counter() - started) * 1000)
        names = [m.recipe_name for m in found]
        top1 += names[:1] == [expected]
        top3 += expected in names
        if names[:1] == [expected]:
            correct_scores.append(found[0].score)
        else:
            misses.append({"query": query, "expected": expected, "got": [[m.recipe_name, m.score] for m in found]})
    off_topic = {q: (index.search(q, 1) or [retrieval.Match("", 0.0)])[0].score for q in OFF_TOPIC}
    return {
        "queries": len(pairs),
        "recipes": len(index.names),
        "top1_accuracy": round(top1 / len(pairs), 4),
        "top3_accuracy": round(top3 / len(pairs), 4),
        "threshold": retrieval.SURE,
        "correct_and_above_threshold": round(sum(x >= retrieval.SURE for x in correct_scores) / len(pairs), 4),
        "correct_top1_score_min": min(correct_scores, default=0.0),
        "correct_top1_score_median": statistics.median(correct_scores) if correct_scores else 0.0,
        "off_topic_best_scores": off_topic,
        "index_build_ms": round(build_ms, 2),
        "query_ms_median": round(statistics.median(latencies), 3),
        "query_ms_p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 3),
        "query_ms_max": round(max(latencies), 3),
        "misses": misses,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--misses", action="store_true", help="also list the queries whose top match was wrong")
    args = parser.parse_args(argv)
    result = measure()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"held-out queries: {result['queries']} over {result['recipes']} recipes")
    print(f"top-1 accuracy:   {result['top1_accuracy']:.1%}")
    print(f"top-3 accuracy:   {result['top3_accuracy']:.1%}")
    print(f"correct and above the threshold {result['threshold']} (what `toolsmith new` uses): "
          f"{result['correct_and_above_threshold']:.1%}")
    print(f"correct top-1 scores min {result['correct_top1_score_min']:.3f}, "
          f"median {result['correct_top1_score_median']:.3f}")
    print("off-topic best scores: " + ", ".join(f"{q!r} {s:.3f}" for q, s in result["off_topic_best_scores"].items()))
    print(f"index build {result['index_build_ms']:.1f} ms (catalog load included); per query median "
          f"{result['query_ms_median']:.2f} ms, p95 {result['query_ms_p95']:.2f} ms, max {result['query_ms_max']:.2f} ms")
    if args.misses:
        for miss in result["misses"]:
            print(f"  miss: {miss['query']!r}: expected {miss['expected']}, got {miss['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
