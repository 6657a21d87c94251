"""Summarize recent commits of a git repository by author."""

import argparse
import collections
import subprocess
import sys


def commit_authors(repo: str, since: str) -> list[str]:
    result = subprocess.run(
        ["git", "-C", repo, "log", f"--since={since}", "--format=%an"],
        capture_output=True,
        text=True,
        check=True,
        shell=False,
    )
    return [line for line in result.stdout.splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repo", nargs="?", default=".", help="repository folder")
    parser.add_argument("--since", default="1 week ago")
    args = parser.parse_args(argv)
    try:
        authors = commit_authors(args.repo, args.since)
    except subprocess.CalledProcessError as e:
        print(e.stderr.strip(), file=sys.stderr)
        return 1
    for author, count in collections.Counter(authors).most_common():
        print(f"{count:5d}  {author}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
