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

A high score alone is not enough to act on (`decide`): a request that names a file
type or an action a recipe's text never mentions ("pdf" against a CSV tool, "older
than" against a duplicates finder) counts against that recipe, the best recipe must
lead the runner-up by a margin, and a request to delete without saying what (no age,
no "empty", no "duplicate") is refused whatever matches. SURE, ASK and MARGIN are set
on tests/recipes/tuning_requests.txt; benchmarks/recipe_matching.py measures them on
the separate tests/recipes/heldout_requests.txt.
"""

import difflib
import functools
import math
import re
from collections import Counter
from typing import Literal

import msgspec

from .recipes import Recipe, recipes

SURE = 0.5  # at or above this, with MARGIN over the runner-up and nothing against it, a recipe is used
ASK = 0.45  # below this no recipe fits; between ASK and SURE the user picks from the top three (or is refused without a terminal)
MARGIN = 0.1  # the best must lead the runner-up by this much to be sure
AGAINST_FACTOR = 1.0  # each thing the request names that a recipe never mentions halves its score
NAMED = 0.75  # the least score of a recipe whose whole name the request says
MIN_SHARED = 2  # a sure match shares at least this many telling terms with the request ("make a website": one)
MAX_QUERY_TERMS = 64  # a request is a sentence or two; a pasted essay is cut, not slowly scored
K1, B = 1.2, 0.75
UNKNOWN_WEIGHT = 1.0  # how much a query word the catalog never uses lowers every score
MIN_WORDS = 2  # a one-word request ("rename") is too vague for a confident match

STOPWORDS = frozenset(
    """a about all an and any are as at be been by can could do does for from get got have how i
    if in into is it its just me my myself need of off on one or our please should so some that the their id im
    them then there these they this those to too up us using want was we were what when where which while
    who will with would you your yours wants like let lets make sure thing things way bunch lot lots put
    every each everything anything something else no not without""".split()
)

# Each row: the concept first, then words meaning the same here. Matched after stemming.
SYNONYMS = [
    "image photo picture pic pics img jpg jpeg snapshot photograph foto heic",
    "taken shot captured capture snapped",
    "rename name names call retitle relabel",
    "folder directory dir subfolder subdirectory subdir nested tree",
    "duplicate dupe dup dupes same identical double doubles twice redundant repeated repeat",
    "large big huge giant biggest largest massive enormous heavy",
    "delete remove erase rid purge prune trash wipe drop discard",
    "resize shrink downsize downscale scale reduce",
    "pixel pixels px dimension dimensions resolution",
    "small smaller tiny little mini miniature",
    "convert transform export turn",
    "sort organize organise arrange group categorize categorise classify tidy",
    "date dated time timestamp day",
    "zip compress archive archives pack zipped",
    "extract unzip unpack decompress uncompress unarchive pull grab harvest scrape",
    "merge combine join concatenate concat append glue stitch stack reassemble assemble",
    "split cut chop divide break",
    "part chunk piece pieces parts segment",
    "count tally many number total statistic stats",
    "find search locate look detect spot hunt scan identify",
    "list show display print view see",
    "clean sanitize sanitise fix normalize normalise",
    "disk drive storage hdd ssd",
    "empty vacant nothing",
    "recent recently latest newest lately today yesterday",
    "modified edited changed updated touched",
    "edit modify alter",
    "metadata meta exif info information",
    "location gps geotag geolocation coordinates whereabouts",
    "extension ext suffix",
    "type kind category categories",
    "lowercase lower",
    "uppercase upper capital capitals caps",
    "checksum hash hashes sha256 sha sha1 md5 sha512 digest fingerprint sum sums",
    "verify check validate confirm compare intact corrupt corrupted tamper valid invalid",
    "spreadsheet excel xlsx sheet sheets workbook",
    "thumbnail thumb thumbs preview previews icon",
    "eol newline newlines linebreak linebreaks crlf lf dos unix carriage",
    "replace substitute swap",
    "backup sync synchronize synchronise mirror",
    "bulk batch mass",
    "prefix start begin beginning front",
    "flatten flat unnest collapse",
    "move transfer relocate shift",
    "video movie film clip mp4",
    "music song songs audio mp3 track tracks id3 artist album",
    "document doc docs text txt",
    "share sharing send post upload",
    "email mail mails emails mailbox",
    "url link links hyperlink hyperlinks website web href",
    "phone telephone mobile cellphone",
    "markdown md",
    "html htm webpage",
    "old older oldest stale aged ago",
    "page pages",
    "row rows record records",
    "code source program programs script scripts programming sloc loc python javascript java",
    "rotate rotation orientation upright sideways orient",
    "pretty prettify beautify readable reformat",
    "alphabetical alphabetically alphabetize alphabetise",
    "tab tabs",
    "indent indentation indented",
    "trailing trail",
    "whitespace spaces space blank blanks",
    "contain contains containing mention mentions mentioning",
]

# What a task works on or does: a request naming one of these (or a direction such as
# csv>json) that a recipe's text never mentions is evidence against it ("pdf" against a CSV tool).
AGAINST_WORDS = (
    """image video music document pdf csv json spreadsheet markdown html email url phone zip page row line
    word old empty duplicate metadata size location checksum tab thumbnail delete merge split count extract convert
    rename resize sort move replace rotate verify backup pretty edit"""
)
# Words that say where or how much, not which files: deleting with only these is unscoped.
BROAD_WORDS = "file folder image video music document disk home computer whole entire stuff data content"


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


def _folded(text: str) -> frozenset[str]:
    return frozenset(CONCEPTS.get(stem(w), stem(w)) for w in text.split())


AGAINST_TERMS = _folded(AGAINST_WORDS)
GENERIC_TERMS = _folded("file folder")
BROAD_TERMS = _folded(BROAD_WORDS)
FORMATS = frozenset("csv json spreadsheet image pdf png webp gif bmp tiff markdown html tab whitespace".split())
PHRASES = [  # folded before splitting into words
    (re.compile(r"\bcomma[- ]separated(?: values?)?"), "csv"),
    (re.compile(r"\b[\w-]+\.([a-z0-9]{1,5})\b"), r"\1"),  # a file name stands for its type: notes.txt -> txt
]
# Actions no recipe performs: a request asking for one is never a sure match for any recipe.
UNHANDLED = frozenset("download upload encrypt decrypt transcribe translate ocr install record stream play".split())
COMPOUNDS = re.compile(r"\b(file|folder|word|line|sub)(names?|folders?|counts?|breaks?|directory|directories)\b")


REVERSED = re.compile(r"\b(?:from|instead of|out of|rather than)\b")  # "json from csv": the later format is the source
FLIP = "<"


def words(text: str, flips: bool = False) -> list[str]:
    """Lower-cased stemmed words of `text`, without stop words or bare numbers (they are values, not tasks).

    With `flips`, each word that reverses a direction ("from", "out of") is kept as FLIP.
    """
    text = COMPOUNDS.sub(lambda m: f"{m.group(1)} {m.group(2)}", text.lower().replace("'", ""))
    for phrase, replacement in PHRASES:
        text = phrase.sub(replacement, text)
    if flips:
        text = REVERSED.sub(f" {FLIP} ", text)
    return [w if w == FLIP else stem(w) for w in re.findall(rf"[a-z0-9]+|{FLIP}", text) if w == FLIP or (w not in STOPWORDS and not w.isdigit())]


def directions(line: str) -> list[str]:
    """A term for each pair of formats in the order meant, so 'csv to json' and 'json from csv' meet."""
    found, previous, flipped = [], None, False
    for term in (CONCEPTS.get(w, w) for w in words(line, flips=True)):
        if term == FLIP:
            flipped = True
        elif term in FORMATS:
            if previous and previous != term:
                found.append(f"{term}>{previous}" if flipped else f"{previous}>{term}")
            previous, flipped = term, False
    return found


def terms(text: str) -> list[str]:
    """The index terms of `text`: its words with synonyms folded into their concept, plus directions."""
    found = []
    for line in text.splitlines():
        found += [CONCEPTS.get(w, w) for w in words(line)] + directions(line)
    return found


class Match(msgspec.Struct, frozen=True):
    recipe_name: str
    score: float  # in [0, 1], lowered by AGAINST_FACTOR per term against; compare with SURE and ASK
    against: tuple[str, ...] = ()  # what the request names that the recipe never mentions
    shared: int = 0  # how many of the request's telling terms (not file/folder) the recipe has
    named: bool = False  # the request says the recipe's name, word for word ("clean up file names")


class Decision(msgspec.Struct, frozen=True):
    """What to do with a request: use `matches[0]` (sure), let the user pick (unsure), or refuse (none)."""

    verdict: Literal["sure", "unsure", "none"]
    matches: list[Match]  # best first, at most three
    reason: str = ""  # why it is not sure, in words for the user


def _plain_words(text: str) -> list[str]:
    """Every word, stemmed, stop words kept: for spotting a recipe's name said word for word."""
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def _one_way(counts: Counter) -> Counter:
    """Drop a direction the document names less often than its reverse (its help may say "from csv" once)."""
    for term in [t for t in counts if ">" in t]:
        source, target = term.split(">")
        if counts[f"{target}>{source}"] > counts[term]:
            del counts[term]
    return counts


class Index:
    """A BM25 index over named documents (recipe name -> text)."""

    def __init__(self, documents: dict[str, str]):
        self.names = list(documents)
        self.counts = [_one_way(Counter(terms(text))) for text in documents.values()]
        self.lengths = [sum(c.values()) for c in self.counts]
        self.average_length = sum(self.lengths) / max(1, len(self.lengths))
        frequency = Counter(term for c in self.counts for term in c)
        n = len(self.names)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        # an unknown word weighs UNKNOWN_WEIGHT times a rare word that a recipe names a couple of times
        self.unknown_weight = UNKNOWN_WEIGHT * math.log(1 + (n - 0.5) / 1.5) * 2 * (K1 + 1) / (2 + K1)
        self.name_words = [_plain_words(name) for name in self.names]
        self.vocabulary = sorted({w for text in documents.values() for w in words(text)} | set(CONCEPTS))

    @classmethod
    def from_recipes(cls, catalog: dict[str, Recipe]) -> "Index":
        return cls({name: document(recipe) for name, recipe in catalog.items()})

    def search(self, query: str, limit: int = 5) -> list[Match]:
        """The best `limit` documents for `query`, best first; empty when nothing matches."""
        known, unknown, guessed = self.query_terms(query)
        said = " ".join(_plain_words(query))
        unhandled = tuple(sorted(UNHANDLED & set(re.findall(r"[a-z]+", query.lower()))))  # "download", not "Downloads"
        if not known:
            return []
        contributions = [[self._contribution(i, t) for t in known] for i in range(len(self.names))]
        ideal = sum(max(column) for column in zip(*contributions)) + unknown * self.unknown_weight
        ideal = max(ideal, MIN_WORDS * self.unknown_weight)
        scored = []
        for i, row in enumerate(contributions):
            if sum(row) > 0:
                counts = self.counts[i]
                against = tuple(t for t in known if (t in AGAINST_TERMS or ">" in t) and not counts[t] and t not in guessed)
                against += unhandled
                shared = sum(1 for t in known if counts[t] and t not in GENERIC_TERMS)
                named = f" {' '.join(self.name_words[i])} " in f" {said} "
                score = round(sum(row) / ideal * AGAINST_FACTOR ** len(against), 4)
                scored.append(Match(self.names[i], max(score, NAMED) if named else score, against, shared, named))
        scored.sort(key=lambda m: (-m.score, m.recipe_name))
        return scored[:limit]

    def decide(self, query: str, sure: float = SURE, ask: float = ASK, margin: float = MARGIN) -> Decision:
        """Whether one recipe surely fits `query`, a few might, or none does (see the module docstring)."""
        matches = self.search(query, limit=3)
        if unscoped_deletion(self.query_terms(query)[0], query):
            return Decision("none", [], "it deletes without saying which files (an age, empty folders, duplicates, a name pattern)")
        if not matches or matches[0].score < ask:
            return Decision("none", matches, "no recipe fits these words")
        top, runner_up = matches[0], (matches[1].score if len(matches) > 1 else 0.0)
        if top.named and not top.against and not (len(matches) > 1 and matches[1].named):
            return Decision("sure", matches)
        if top.against:
            reason = f"{top.recipe_name} does not handle: {', '.join(top.against)}"
        elif top.score < sure:
            reason = f"the best match is weak ({top.score:.2f})"
        elif top.shared < MIN_SHARED:
            reason = f"{top.recipe_name} shares only one telling word with the request"
        elif top.score - runner_up < margin:
            reason = f"{top.recipe_name} and {matches[1].recipe_name} fit about equally"
        else:
            return Decision("sure", matches)
        return Decision("unsure", matches, reason)

    def query_terms(self, query: str) -> tuple[list[str], int, set[str]]:
        """Distinct known terms of the query, how many words stayed unknown, and which terms are typo guesses."""
        found, unknown, guessed = [], 0, set()
        for word in list(dict.fromkeys(words(query)))[:MAX_QUERY_TERMS]:
            term = CONCEPTS.get(word, word)
            if term not in self.idf:
                term = self._repair(word)
                guessed.add(term)
            if term is None:
                unknown += 1
            else:
                found.append(term)
        known = [t for t in dict.fromkeys(found + [d for line in query.splitlines() for d in directions(line)]) if t in self.idf]
        return known, unknown, guessed

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


def decide(query: str, sure: float = SURE) -> Decision:
    """Whether a recipe surely fits `query` (see `Index.decide`)."""
    return default_index().decide(query, sure=sure)


def best(query: str, sure: float = SURE) -> Match | None:
    """The recipe for `query` when one surely fits, else None."""
    decision = decide(query, sure)
    return decision.matches[0] if decision.verdict == "sure" else None


FORMAT_DISK = re.compile(r"\b(format|reformat|wipe|erase)\b.*\b(disk|drive|partition|ssd|hdd|computer|laptop|pc)\b", re.IGNORECASE)


def unscoped_deletion(known: list[str], query: str) -> bool:
    """A request to delete (or format a drive) that names nothing narrowing which files."""
    if FORMAT_DISK.search(query) or re.search(r"\brm\s+-\w*r", query):
        return True
    return "delete" in known and not [t for t in known if t != "delete" and t not in BROAD_TERMS]
