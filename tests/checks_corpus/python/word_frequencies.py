# -*- coding: utf-8 -*-
"""Häufigste Wörter eines Textes zählen (counts words, accents included: café, naïve, Ærø)."""

import argparse
import string
import sys
import textwrap
import unicodedata
from collections import Counter


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.casefold())
    cleaned = text.translate(str.maketrans("", "", string.punctuation + "«»„“”"))
    return cleaned.split()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=10, help="wie viele Wörter")
    parser.add_argument("--min-length", type=int, default=3)
    args = parser.parse_args()
    counts = Counter(w for w in words(sys.stdin.read()) if len(w) >= args.min_length)
    report = ", ".join(f"{w} ({n})" for w, n in counts.most_common(args.top))
    print(textwrap.fill(report or "— keine Wörter —", width=72))


if __name__ == "__main__":
    main()
