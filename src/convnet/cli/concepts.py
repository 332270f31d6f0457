"""``convnet concepts [TERM]``: the lecture notes' terms -> convnet names and site pages.

    convnet concepts                 # the whole index, one line per term
    convnet concepts toeplitz        # the matching rows
"""
from __future__ import annotations

import argparse


def run_concepts(args):
    from ..concepts import CONCEPTS, find, format_row
    from .main import CLIError

    rows = find(args.term) if args.term else CONCEPTS
    if not rows:
        raise CLIError(f"no concept matches {args.term!r}; 'convnet concepts' lists all {len(CONCEPTS)} terms")
    print(format_row(type(rows[0])("term", "", "convnet name", "page", "")))
    for c in rows:
        print(format_row(c))
    return 0


def add_parser(sub):
    p = sub.add_parser(
        "concepts", help="look up a lecture term: the convnet name and the page",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the concept index: each term of the lecture notes, the convnet function or\n"
                    "class that computes it, and the documentation page that shows it (docs/<page>.md).",
        epilog="examples:\n  convnet concepts\n  convnet concepts toeplitz\n  convnet concepts \"receptive field\"")
    p.add_argument("term", metavar="TERM", nargs="?",
                   help="a term, alias or API name (case-insensitive substring); omit to list all")
    p.set_defaults(func=run_concepts)
