"""Retrieval finds recipes from paraphrases it has never seen, never saves the wrong one, and nothing for off-topic requests."""

from pathlib import Path

import pytest

from toolsmith.core.tools import retrieval
from toolsmith.core.tools.recipes import recipes
from toolsmith.core.tools.retrieval import ASK, SURE, Index, best, decide, search

HELDOUT_FILE = Path(__file__).with_name("heldout_paraphrases.txt")
REQUESTS_FILE = Path(__file__).with_name("heldout_requests.txt")
TUNING_FILE = Path(__file__).with_name("tuning_requests.txt")
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


def heldout(path: Path = HELDOUT_FILE) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, query = (part.strip() for part in line.split("|", 1))
            pairs.append((name, query))
    return pairs


HELDOUT = heldout()
REQUESTS = heldout(REQUESTS_FILE)
TUNING = heldout(TUNING_FILE)


def saved(query: str) -> str:
    """What `toolsmith new` without a model saves for `query`: a recipe name, or "-" for nothing."""
    match = best(query)
    return match.recipe_name if match else "-"


def test_request_sets_are_large_distinct_and_name_real_recipes():
    catalog = recipes()
    assert len(REQUESTS) >= 60 and sum(name == "-" for name, _ in REQUESTS) >= 15
    assert {name for name, _ in REQUESTS + TUNING} <= set(catalog) | {"-"}
    requests = {q.lower() for _, q in REQUESTS}
    assert not requests & {q.lower() for _, q in TUNING}
    assert not requests & {q.lower() for _, q in HELDOUT}
    assert not requests & {p.lower() for recipe in catalog.values() for p in recipe.phrasings}


@pytest.mark.parametrize(("expected", "query"), REQUESTS + TUNING)
def test_no_request_is_saved_as_the_wrong_recipe(expected, query):
    assert saved(query) in (expected, "-")


def test_most_heldout_requests_get_the_right_answer():
    right = sum(saved(query) == expected for expected, query in REQUESTS)
    assert right / len(REQUESTS) >= 0.8, f"{right} of {len(REQUESTS)}"


def test_the_issue_examples_are_saved_right_or_refused():
    assert saved("delete files in Downloads older than 30 days") == "delete-old-files"
    assert saved("pull all email addresses out of a text file") == "extract-emails"
    assert saved("merge several pdf files into one") == "merge-pdfs"
    assert saved("split a big csv into smaller files of 1000 rows") == "split-csv"
    assert saved("how many lines are in each of my csv files") in ("count-words", "-")


def test_evidence_against_a_recipe_blocks_a_sure_match():
    decision = decide("check my music folder for duplicate songs")
    assert decision.verdict == "unsure" and decision.matches[0].against == ("music",)
    assert "does not handle: music" in decision.reason


def test_a_close_runner_up_makes_the_match_unsure():
    decision = decide("replace underscores with spaces in all the file names")
    assert decision.verdict == "unsure" and len(decision.matches) == 3 and "about equally" in decision.reason


@pytest.mark.parametrize(
    "query",
    ["delete everything in my home folder", "wipe all my files", "remove all my photos", "format my hard drive", "rm -rf ~"],
)
def test_destructive_requests_without_a_scope_are_refused(query):
    decision = decide(query)
    assert decision.verdict == "none" and decision.matches == []

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
    assert top1 >= 0.8, f"top-1 {top1:.2%}"
    assert top3 >= 0.93, f"top-3 {top3:.2%}"


def test_few_paraphrases_are_saved_as_the_wrong_recipe():
    wrong = [(name, query) for name, query in HELDOUT if saved(query) not in (name, "-")]
    assert len(wrong) / len(HELDOUT) <= 0.05, wrong


@pytest.mark.parametrize("query", OFF_TOPIC)
def test_off_topic_requests_stay_below_the_threshold(query):
    assert best(query) is None
    assert decide(query).verdict == "none"
    assert all(m.score < ASK for m in search(query))


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
    assert match is not None and match.recipe_name == name and SURE <= match.score <= 1
    assert decide(query).verdict == "sure"


def test_direction_of_a_conversion_decides_the_recipe():
    assert search("my data is in a csv file and the web app wants json", 1)[0].recipe_name == "csv-to-json"
    assert search("the api gave me json and excel needs csv", 1)[0].recipe_name == "json-to-csv"
    assert search("make json from a csv file", 1)[0].recipe_name == "csv-to-json"  # "from" reverses the order
    assert search("use tabs instead of spaces", 1)[0].recipe_name == "spaces-to-tabs"


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


@pytest.mark.parametrize("name", sorted(recipes()))
def test_a_recipe_named_word_for_word_is_a_sure_match(name):
    decision = decide(name.replace("-", " "))
    assert decision.verdict == "sure" and decision.matches[0].recipe_name == name and decision.matches[0].named
