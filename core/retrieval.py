"""Finding the recipe that fits a request written in plain words.

Each recipe is indexed as one BM25 document built from its name, description,
phrasings and parameter help. Paraphrases match because words are folded before
indexing and searching: light stemming (photos -> photo), a hand-made synonym table
for this domain (picture, pic, jpg -> image; directory -> folder; remove, erase ->
delete ...), typo repair (an unknown query word maps to the closest index word),
and terms for the order formats are named in, so "csv to json" and "json to csv"
find different recipes.

Why not embeddings: no embedding model ships with Toolsmith and none may be
downloaded, while a catalog of a few dozen short, hand-written documents is where
BM25 with a domain synonym table is accurate, explainable and instant.

Scores are normalised to [0, 1] so the forge can apply one threshold to any query:
a recipe's BM25 score divided by the best score each query word gets from any
recipe, summed. 1 means no recipe matches any word of the request better; words the
index has never seen count against the score, and a request is judged as if it had
at least MIN_WORDS words, so off-topic or one-word requests stay low.
"""

import difflib
import functools
import math
import re
from collections import Counter

import msgspec

from .recipes import Recipe, recipes

THRESHOLD = 0.4  # below this no recipe fits; set on the held-out paraphrases (benchmarks/retrieval.py)
MAX_QUERY_TERMS = 64  # a request is a sentence or two; a pasted essay is cut, not slowly scored
K1, B = 1.2, 0.75
UNKNOWN_WEIGHT = 1.0  # how much a query word the catalog never uses lowers every score
MIN_WORDS = 2  # a one-word request ("rename") is too vague for a confident match

STOPWORDS = frozenset(
    """a about all an and any are as at be been by can could do does for from get got have how i
    if in into is it its just me my myself need of off on one or our please should so some that the their id im
    them then there these they this those to too up us using want was we were what when where which while
    who will with would you your yours wants like let lets make sure thing things way bunch lot lots
    every each everything anything something else no not without""".split()
)

# Each row: the concept first, then words meaning the same here. Matched after stemming.
SYNONYMS = [
    "image photo picture pic pics img jpg jpeg snapshot photograph foto",
    "taken shot captured capture snapped",
    "rename name names call retitle relabel",
    "folder directory dir subfolder subdirectory subdir nested tree",
    "duplicate dupe dup dupes same identical copies double doubles twice redundant repeated repeat",
    "large big huge giant biggest largest massive enormous heavy",
    "delete remove erase rid purge prune trash wipe drop discard",
    "resize shrink downsize downscale scale smaller reduce",
    "pixel pixels px dimension dimensions resolution",
    "small tiny little mini miniature",
    "convert transform export turn",
    "sort organize organise arrange group categorize categorise classify tidy",
    "date dated time timestamp",
    "zip compress archive archives pack zipped",
    "extract unzip unpack decompress uncompress unarchive",
    "merge combine join concatenate concat append glue stitch stack reassemble assemble",
    "split cut chop divide break",
    "part chunk piece pieces parts segment",
    "count tally many number total statistic stats",
    "find search locate look detect spot hunt scan identify",
    "list show display print view see",
    "clean sanitize sanitise fix normalize normalise",
    "disk drive storage hdd ssd",
    "empty vacant nothing",
    "recent recently latest newest lately today yesterday week",
    "modified edited changed updated touched",
    "metadata meta exif tag tags info information",
    "location gps geotag geolocation coordinates whereabouts",
    "extension ext suffix",
    "type kind category categories",
    "lowercase lower",
    "uppercase upper capital capitals caps",
    "checksum hash hashes sha256 sha sha1 md5 sha512 digest fingerprint sum sums",
    "verify check validate confirm compare intact corrupt corrupted tamper",
    "spreadsheet excel xlsx sheet table",
    "thumbnail thumb thumbs preview previews icon",
    "eol newline newlines linebreak linebreaks crlf lf dos unix carriage",
    "replace substitute swap",
    "backup sync synchronize synchronise mirror",
    "bulk batch mass",
    "prefix start begin beginning",
    "flatten flat unnest collapse",
    "move put transfer relocate shift",
    "video movie film clip mp4",
    "music song songs audio mp3 track",
    "document doc docs text txt",
    "share sharing send post upload email mail",
]


def stem(word: str) -> str:
    """Fold plurals and verb endings so that rename/renamed/renaming/renames meet."""
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            word = word[: len(word) - len(suffix)] + replacement
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _concepts() -> dict[str, str]:
    table = {}
    for row in SYNONYMS:
        concept, *words = row.split()
        for word in (concept, *words):
            table.setdefault(stem(word), concept)
    return table


CONCEPTS = _concepts()
FORMATS = frozenset("csv json spreadsheet image pdf png webp gif bmp tiff".split())
COMPOUNDS = re.compile(r"\b(file|folder|word|line|sub)(names?|folders?|counts?|breaks?|directory|directories)\b")


def words(text: str) -> list[str]:
    """Lower-cased stemmed words of `text`, without stop words or bare numbers (they are values, not tasks)."""
    text = COMPOUNDS.sub(lambda m: f"{m.group(1)} {m.group(2)}", text.lower().replace("'", ""))
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text) if w not in STOPWORDS and not w.isdigit()]


def with_directions(line_terms: list[str]) -> list[str]:
    """Add a term for each pair of formats in the order named, so 'csv to json' differs from 'json to csv'."""
    formats = [t for t in line_terms if t in FORMATS]
    return line_terms + [f"{a}>{b}" for a, b in zip(formats, formats[1:]) if a != b]


def terms(text: str) -> list[str]:
    """The index terms of `text`: its words with synonyms folded into their concept, plus directions."""
    found = []
    for line in text.splitlines():
        found += with_directions([CONCEPTS.get(w, w) for w in words(line)])
    return found


class Match(msgspec.Struct, frozen=True):
    recipe_name: str
    score: float  # in [0, 1]; compare with THRESHOLD


class Index:
    """A BM25 index over named documents (recipe name -> text)."""

    def __init__(self, documents: dict[str, str]):
        self.names = list(documents)
        self.counts = [Counter(terms(text)) for text in documents.values()]
        self.lengths = [sum(c.values()) for c in self.counts]
        self.average_length = sum(self.lengths) / max(1, len(self.lengths))
        frequency = Counter(term for c in self.counts for term in c)
        n = len(self.names)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        # an unknown word weighs UNKNOWN_WEIGHT times a rare word that a recipe names a couple of times
        self.unknown_weight = UNKNOWN_WEIGHT * math.log(1 + (n - 0.5) / 1.5) * 2 * (K1 + 1) / (2 + K1)
        self.vocabulary = sorted({w for text in documents.values() for w in words(text)} | set(CONCEPTS))

    @classmethod
    def from_recipes(cls, catalog: dict[str, Recipe]) -> "Index":
        return cls({name: document(recipe) for name, recipe in catalog.items()})

    def search(self, query: str, limit: int = 5) -> list[Match]:
        """The best `limit` documents for `query`, best first; empty when nothing matches."""
        known, unknown = self.query_terms(query)
        if not known:
            return []
        contributions = [[self._contribution(i, t) for t in known] for i in range(len(self.names))]
        ideal = sum(max(column) for column in zip(*contributions)) + unknown * self.unknown_weight
        ideal = max(ideal, MIN_WORDS * self.unknown_weight)
        scored = [
            Match(name, round(sum(row) / ideal, 4))
            for name, row in zip(self.names, contributions)
            if sum(row) > 0
        ]
        scored.sort(key=lambda m: (-m.score, m.recipe_name))
        return scored[:limit]

    def query_terms(self, query: str) -> tuple[list[str], int]:
        """Distinct known terms of the query (typos repaired) and how many words stayed unknown."""
        found, unknown = [], 0
        for word in list(dict.fromkeys(words(query)))[:MAX_QUERY_TERMS]:
            term = CONCEPTS.get(word, word)
            term = term if term in self.idf else self._repair(word)
            if term is None:
                unknown += 1
            else:
                found.append(term)
        known = [t for t in dict.fromkeys(with_directions(found)) if t in self.idf]
        return known, unknown

    def _repair(self, word: str) -> str | None:
        """The index term of the closest vocabulary word, for a misspelt word of 4+ letters."""
        if len(word) < 4:
            return None
        close = difflib.get_close_matches(word, self.vocabulary, n=1, cutoff=0.8)
        term = CONCEPTS.get(close[0], close[0]) if close else None
        return term if term in self.idf else None

    def _contribution(self, i: int, term: str) -> float:
        tf = self.counts[i][term]
        return self.idf[term] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[i] / self.average_length))


def document(recipe: Recipe) -> str:
    """The text a recipe is found by; the name counts twice, as it is the most telling."""
    name = recipe.name.replace("-", " ")
    helps = " ".join(p.help for p in recipe.manifest.parameters)
    return "\n".join([name, name, recipe.manifest.description, *recipe.phrasings, helps])


@functools.cache
def default_index() -> Index:
    """The index of the installed catalog, built once per process."""
    return Index.from_recipes(recipes())


def search(query: str, limit: int = 5) -> list[Match]:
    """The recipes that best fit `query`, best first, with scores in [0, 1]."""
    return default_index().search(query, limit)


def best(query: str, threshold: float = THRESHOLD) -> Match | None:
    """The best recipe for `query` if its score reaches `threshold`, else None."""
    found = search(query, limit=1)
    return found[0] if found and found[0].score >= threshold else None
