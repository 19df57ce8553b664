#!/usr/bin/env python3
"""Summarise a py-spy ``--format raw`` (collapsed stacks) profile as text.

    .venv/bin/python benchmarks/profile_summary.py PROFILE.txt      # inclusive and own time
    .venv/bin/python benchmarks/profile_summary.py PROFILE.txt --under "Publisher.publish_once"

``--under FRAME`` shows where the time below the first frame containing FRAME
goes (its direct callees, with file:line), which is how the findings in
docs/performance.md were read.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_PATH = re.compile(r" \(/.*?/(?:site-packages|src)/")


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    return [_PATH.sub(" (", f) for f in stack.split(";")], int(count)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile")
    parser.add_argument("--under", default="", help="break down the time below this frame")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    below: Counter[str] = Counter()
    total = under_total = 0
    with open(args.profile) as f:
        for line in f:
            if not line.strip():
                continue
            stack, n = frames(line)
            total += n
            for name in set(stack):
                inclusive[name] += n
            own[stack[-1]] += n
            if args.under:
                for i, name in enumerate(stack):
                    if args.under in name:
                        under_total += n
                        below[stack[i + 1] if i + 1 < len(stack) else "<self>"] += n
                        break
    print(f"{total} samples")
    if args.under:
        print(f"\nbelow {args.under!r}: {under_total / total:.1%} of all samples")
        for name, n in below.most_common(args.top):
            print(f"  {n / total:6.1%}  {name}")
        return
    print("\ninclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")
    print("\nown:")
    for name, n in own.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
