#!/usr/bin/env python3
"""Validate the course review dataset (standard library only).

Usage:
    python data/reviews/validate_reviews.py [path/to/reviews_xx.csv ...]

Without arguments it checks ``reviews_en.csv`` next to this script. When a
translated file (e.g. ``reviews_ru.csv``) is given together with the English
one, it is also checked to have exactly the same ids, splits, labels and
product types as the English file.

Exit status is 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

HEADER = ["id", "split", "label", "product_type", "text"]
N_REVIEWS = 960
LABELS = ("negative", "neutral", "positive")
LABEL_COUNTS = {label: 320 for label in LABELS}
SPLIT_COUNTS = {"train": 600, "validation": 120, "test": 240}
SPLIT_LABEL_COUNTS = {"train": 200, "validation": 40, "test": 80}  # per label
MIN_PRODUCT_TYPES = 12
MAX_RATING_SHARE = 0.10
ID_RE = re.compile(r"^r\d{4}$")
RATING_RE = re.compile(r"\bstars?\b|\b\d+\s*/\s*(?:5|10)\b|\bout of (?:five|ten|5|10)\b", re.I)
# Length buckets in whitespace-separated words (English file only).
BUCKETS = [("short (<15 words)", 0, 14), ("medium (15-39)", 15, 39), ("long (40+)", 40, 10**9)]


def load(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = [dict(zip(header, rec)) | {"_n": str(len(rec))} for rec in reader]
    return header, rows


def bucket(n_words: int) -> str:
    for name, lo, hi in BUCKETS:
        if lo <= n_words <= hi:
            return name
    raise ValueError(n_words)


def table(title: str, counter: Counter, order=None) -> None:
    print(f"\n{title}")
    keys = order if order is not None else sorted(counter)
    width = max(len(str(k)) for k in keys)
    for k in keys:
        print(f"  {str(k):<{width}}  {counter[k]:>4}")


def validate(path: Path, english: bool) -> tuple[list[dict[str, str]], bool]:
    errors: list[str] = []
    header, rows = load(path)
    print(f"== {path} ==")

    if header != HEADER:
        errors.append(f"header is {header!r}, expected {HEADER!r}")
    bad_width = [r.get("id", "?") for r in rows if r["_n"] != str(len(HEADER))]
    if bad_width:
        errors.append(f"{len(bad_width)} rows do not have {len(HEADER)} fields: {bad_width[:5]}")

    if len(rows) != N_REVIEWS:
        errors.append(f"{len(rows)} reviews, expected {N_REVIEWS}")

    ids = [r.get("id", "") for r in rows]
    bad_ids = [i for i in ids if not ID_RE.match(i)]
    if bad_ids:
        errors.append(f"malformed ids: {bad_ids[:5]}")
    dup_ids = [i for i, c in Counter(ids).items() if c > 1]
    if dup_ids:
        errors.append(f"duplicate ids: {dup_ids[:5]}")
    expected_ids = {f"r{i:04d}" for i in range(1, N_REVIEWS + 1)}
    if set(ids) != expected_ids:
        missing = sorted(expected_ids - set(ids))[:5]
        extra = sorted(set(ids) - expected_ids)[:5]
        errors.append(f"id set is not r0001..r{N_REVIEWS:04d} (missing {missing}, extra {extra})")

    labels = Counter(r.get("label") for r in rows)
    if set(labels) - set(LABELS):
        errors.append(f"unknown labels: {sorted(set(labels) - set(LABELS), key=str)}")
    for label, n in LABEL_COUNTS.items():
        if labels[label] != n:
            errors.append(f"label {label!r}: {labels[label]} reviews, expected {n}")

    splits = Counter(r.get("split") for r in rows)
    if set(splits) - set(SPLIT_COUNTS):
        errors.append(f"unknown splits: {sorted(set(splits) - set(SPLIT_COUNTS), key=str)}")
    for split, n in SPLIT_COUNTS.items():
        if splits[split] != n:
            errors.append(f"split {split!r}: {splits[split]} reviews, expected {n}")
    split_label = Counter((r.get("split"), r.get("label")) for r in rows)
    for split, n in SPLIT_LABEL_COUNTS.items():
        for label in LABELS:
            if split_label[(split, label)] != n:
                errors.append(f"split {split!r} / label {label!r}: "
                              f"{split_label[(split, label)]} reviews, expected {n}")

    empty = [r.get("id") for r in rows if not (r.get("text") or "").strip()]
    if empty:
        errors.append(f"empty texts: {empty[:5]}")
    norm = Counter(" ".join((r.get("text") or "").casefold().split()) for r in rows)
    dups = [t for t, c in norm.items() if c > 1 and t]
    if dups:
        errors.append(f"{len(dups)} duplicated texts (case/whitespace-insensitive), e.g. {dups[0][:60]!r}")

    products = Counter(r.get("product_type") for r in rows)
    if len(products) < MIN_PRODUCT_TYPES:
        errors.append(f"only {len(products)} product types, expected at least {MIN_PRODUCT_TYPES}")
    if "" in products or None in products:
        errors.append("some rows have an empty product_type")

    rating = [r for r in rows if RATING_RE.search(r.get("text") or "")]
    if english and len(rating) > MAX_RATING_SHARE * len(rows):
        errors.append(f"{len(rating)} texts mention stars/ratings (> {MAX_RATING_SHARE:.0%})")

    # ---- statistics -------------------------------------------------------
    print(f"reviews: {len(rows)}")
    table("by label", labels, list(LABELS))
    table("by split", splits, list(SPLIT_COUNTS))
    print("\nby split x label")
    for split in SPLIT_COUNTS:
        cells = "  ".join(f"{label}={split_label[(split, label)]}" for label in LABELS)
        print(f"  {split:<10}  {cells}")
    print(f"\nby product type ({len(products)} types; negative / neutral / positive)")
    pl = Counter((r.get("product_type"), r.get("label")) for r in rows)
    width = max(len(str(p)) for p in products)
    for p in sorted(products, key=str):
        cells = " / ".join(f"{pl[(p, label)]:>2}" for label in LABELS)
        print(f"  {str(p):<{width}}  {products[p]:>3}  ({cells})")
    words = [len((r.get("text") or "").split()) for r in rows]
    chars = [len(r.get("text") or "") for r in rows]
    if words:
        if english:
            lb = Counter(bucket(n) for n in words)
            table("by length (words)", lb, [b[0] for b in BUCKETS])
            print("\nlength bucket x label")
            lbl = Counter((bucket(len((r.get("text") or "").split())), r.get("label")) for r in rows)
            for name, _, _ in BUCKETS:
                cells = "  ".join(f"{label}={lbl[(name, label)]}" for label in LABELS)
                print(f"  {name:<18}  {cells}")
            print(f"\nwords per text: min {min(words)}, median {sorted(words)[len(words) // 2]}, "
                  f"mean {sum(words) / len(words):.1f}, max {max(words)}")
        print(f"characters per text: min {min(chars)}, median {sorted(chars)[len(chars) // 2]}, "
              f"max {max(chars)}")
        print(f"texts mentioning stars/ratings: {len(rating)} ({len(rating) / len(rows):.1%})")

    if errors:
        print("\nFAILED:")
        for e in errors:
            print("  -", e)
        return rows, False
    print("\nOK: all checks passed")
    return rows, True


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    paths = [Path(a) for a in argv] or [here / "reviews_en.csv"]
    loaded = {}
    failed = False
    for path in paths:
        english = path.name.endswith("_en.csv")
        loaded[path], ok = validate(path, english)
        failed |= not ok
        print()
    # Cross-check translations against the English file when both are given.
    en = [p for p in loaded if p.name.endswith("_en.csv")]
    if en:
        key = {r["id"]: (r["split"], r["label"], r["product_type"]) for r in loaded[en[0]]}
        for path, rows in loaded.items():
            if path == en[0]:
                continue
            other = {r["id"]: (r["split"], r["label"], r["product_type"]) for r in rows}
            if other != key:
                diff = sorted(i for i in key.keys() | other.keys() if key.get(i) != other.get(i))
                print(f"FAILED: {path.name} disagrees with {en[0].name} on ids/split/label/"
                      f"product_type for {len(diff)} ids, e.g. {diff[:5]}")
                failed = True
            else:
                print(f"OK: {path.name} matches {en[0].name} on ids, split, label, product_type")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
