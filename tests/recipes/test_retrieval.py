"""Retrieval finds recipes from paraphrases it has never seen, and nothing for off-topic requests."""

from pathlib import Path

import pytest

from toolsmith.core import retrieval
from toolsmith.core.recipes import recipes
from toolsmith.core.retrieval import THRESHOLD, Index, best, search

HELDOUT_FILE = Path(__file__).with_name("heldout_paraphrases.txt")
OFF_TOPIC = [
    "bake a chocolate cake",
    "what's the weather like tomorrow",
    "book a flight to paris",
    "tell me a joke",
    "write me a poem about the sea",
    "order a pizza with extra cheese",
    "send an email to my boss",
    "remind me to call mom at five",
    "translate this sentence into french",
]


def heldout() -> list[tuple[str, str]]:
    pairs = []
    for line in HELDOUT_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, query = (part.strip() for part in line.split("|", 1))
            pairs.append((name, query))
    return pairs


HELDOUT = heldout()


def test_heldout_set_is_large_covers_every_recipe_and_is_not_in_the_index():
    catalog = recipes()
    assert len(HELDOUT) >= 60
    assert {name for name, _ in HELDOUT} == set(catalog)
    indexed = {p.lower() for recipe in catalog.values() for p in recipe.phrasings}
    assert not indexed & {query.lower() for _, query in HELDOUT}
    documents = " ".join(retrieval.document(recipe).lower() for recipe in catalog.values())
    assert not [query for _, query in HELDOUT if query.lower() in documents]


def test_heldout_top1_and_top3_accuracy():
    ranked = [(name, [m.recipe_name for m in search(query, limit=3)]) for name, query in HELDOUT]
    top1 = sum(found[:1] == [name] for name, found in ranked) / len(ranked)
    top3 = sum(name in found for name, found in ranked) / len(ranked)
    assert top1 >= 0.85, f"top-1 {top1:.2%}"
    assert top3 >= 0.95, f"top-3 {top3:.2%}"


def test_most_heldout_requests_are_confident_correct_matches():
    confident = [best(query) for _, query in HELDOUT]
    right = sum(m is not None and m.recipe_name == name for m, (name, _) in zip(confident, HELDOUT))
    assert right / len(HELDOUT) >= 0.85


@pytest.mark.parametrize("query", OFF_TOPIC)
def test_off_topic_requests_stay_below_the_threshold(query):
    assert best(query) is None
    assert all(m.score < THRESHOLD for m in search(query))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("rename photos by date", "rename-photos-by-date"),
        ("find duplicate files", "find-duplicate-files"),
        ("convert csv to json", "csv-to-json"),
        ("convert json to csv", "json-to-csv"),
        ("delete empty folders", "delete-empty-folders"),
    ],
)
def test_plain_requests_pass_the_threshold(query, name):
    match = best(query)
    assert match is not None and match.recipe_name == name and THRESHOLD <= match.score <= 1


def test_direction_of_a_conversion_decides_the_recipe():
    assert search("my data is in a csv file and the web app wants json", 1)[0].recipe_name == "csv-to-json"
    assert search("the api gave me json and excel needs csv", 1)[0].recipe_name == "json-to-csv"


def test_typos_and_synonyms_still_match():
    assert search("find dupliate fotos", 1)[0].recipe_name == "find-duplicate-files"
    assert search("erase vacant directories", 1)[0].recipe_name == "delete-empty-folders"


def test_empty_and_stopword_only_queries_find_nothing():
    assert search("") == [] and search("   ") == [] and search("the and of") == []
    assert best("") is None


def test_a_huge_query_is_cut_not_rejected():
    query = "rename photos by date " + "lorem ipsum dolor sit amet " * 4000
    found = search(query, limit=2)
    assert len(found) <= 2 and all(0 <= m.score <= 1 for m in found)


def test_scores_are_normalised_and_sorted_on_any_index():
    index = Index({"one": "red apples and green pears", "two": "red cars\nfast cars", "three": "blue sky"})
    found = index.search("red cars", limit=5)
    assert [m.recipe_name for m in found] == ["two", "one"]
    assert 0 < found[1].score < found[0].score <= 1
    assert index.search("purple") == []


def test_folding_meets_inflections_and_synonyms():
    assert retrieval.terms("Renamed pictures") == retrieval.terms("rename photo")
    assert retrieval.terms("directories") == retrieval.terms("folder")
    assert retrieval.terms("filenames") == retrieval.terms("file names")
