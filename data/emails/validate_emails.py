"""Validate the course's customer-support e-mail evaluation set and print statistics.

Standard library only. Usage:

    python data/emails/validate_emails.py            # files next to this script
    python data/emails/validate_emails.py some/dir   # files in another directory

Exits with status 1 (and lists every problem) if a check fails.
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

COLUMNS = ["id", "label", "ambiguous", "product_type", "subject", "body"]
LABELS = ["refund_request", "quality_complaint", "product_question"]
N_EN, N_RU = 300, 60
AMBIGUOUS_SHARE = (0.10, 0.15)
MIN_PRODUCT_TYPES = 10
# The notebook uses this seed example separately; it must not leak into the data.
SEED_SENTENCE = "hello, i want to return a defective item"

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN = re.compile(r"[A-Za-z]")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def load(path: Path, errors: list[str]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            errors.append(f"{path.name}: columns {reader.fieldnames} != {COLUMNS}")
        return list(reader)


def check_common(name: str, rows: list[dict[str, str]], errors: list[str]) -> None:
    ids = [r["id"] for r in rows]
    for i, n in Counter(ids).items():
        if n > 1:
            errors.append(f"{name}: duplicate id {i}")
    bodies = Counter(norm(r["body"]) for r in rows)
    for body, n in bodies.items():
        if n > 1:
            errors.append(f"{name}: duplicate body ({n}x): {body[:60]!r}")
    for r in rows:
        if not re.fullmatch(r"e\d{3}", r["id"]):
            errors.append(f"{name}: malformed id {r['id']!r}")
        if r["label"] not in LABELS:
            errors.append(f"{name} {r['id']}: unknown label {r['label']!r}")
        if r["ambiguous"] not in ("0", "1"):
            errors.append(f"{name} {r['id']}: ambiguous must be 0/1, got {r['ambiguous']!r}")
        if not r["body"].strip():
            errors.append(f"{name} {r['id']}: empty body")
        if not r["product_type"].strip():
            errors.append(f"{name} {r['id']}: empty product_type")
        if SEED_SENTENCE in norm(r["body"]):
            errors.append(f"{name} {r['id']}: contains the notebook's seed sentence")


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    errors: list[str] = []

    # ---------------- English ----------------
    en = load(folder / "emails_en.csv", errors)
    check_common("en", en, errors)
    expected_ids = [f"e{i:03d}" for i in range(1, N_EN + 1)]
    if [r["id"] for r in en] != expected_ids:
        errors.append(f"en: ids must be exactly e001..e{N_EN:03d} in order")
    per_label = Counter(r["label"] for r in en)
    for lab in LABELS:
        if per_label[lab] != N_EN // len(LABELS):
            errors.append(f"en: {lab} has {per_label[lab]} rows, expected {N_EN // len(LABELS)}")
    amb_share = sum(r["ambiguous"] == "1" for r in en) / max(len(en), 1)
    if not AMBIGUOUS_SHARE[0] <= amb_share <= AMBIGUOUS_SHARE[1]:
        errors.append(f"en: ambiguous share {amb_share:.1%} outside {AMBIGUOUS_SHARE}")
    types = sorted({r["product_type"] for r in en})
    if len(types) < MIN_PRODUCT_TYPES:
        errors.append(f"en: only {len(types)} product types, need >= {MIN_PRODUCT_TYPES}")
    type_label = Counter((r["product_type"], r["label"]) for r in en)
    for t in types:
        counts = [type_label[(t, lab)] for lab in LABELS]
        if min(counts) == 0 or max(counts) > 2 * min(counts):
            errors.append(f"en: product type {t!r} unbalanced across classes {counts}")
    for r in en:
        if CYRILLIC.search(r["body"]):
            errors.append(f"en {r['id']}: body contains Cyrillic")

    # ---------------- Russian ----------------
    ru = load(folder / "emails_ru.csv", errors)
    check_common("ru", ru, errors)
    en_by_id = {r["id"]: r for r in en}
    if len(ru) != N_RU:
        errors.append(f"ru: {len(ru)} rows, expected {N_RU}")
    ru_label = Counter(r["label"] for r in ru)
    for lab in LABELS:
        if ru_label[lab] != N_RU // len(LABELS):
            errors.append(f"ru: {lab} has {ru_label[lab]} rows, expected {N_RU // len(LABELS)}")
    for r in ru:
        src = en_by_id.get(r["id"])
        if src is None:
            errors.append(f"ru {r['id']}: no English row with this id")
            continue
        for col in ("label", "ambiguous", "product_type"):
            if r[col] != src[col]:
                errors.append(f"ru {r['id']}: {col} {r[col]!r} != English {src[col]!r}")
        cyr = len(CYRILLIC.findall(r["body"]))
        lat = len(LATIN.findall(r["body"]))
        if cyr == 0 or cyr < 3 * lat:
            errors.append(f"ru {r['id']}: body is not mainly Cyrillic ({cyr} Cyrillic vs {lat} Latin letters)")
        if r["subject"] and not CYRILLIC.search(r["subject"]):
            errors.append(f"ru {r['id']}: subject has no Cyrillic")

    # ---------------- statistics ----------------
    def words(r: dict[str, str]) -> int:
        return len(r["body"].split())

    print(f"emails_en.csv: {len(en)} rows, {len(types)} product types")
    print(f"  {'label':<18} {'n':>4} {'ambig':>6} {'no subj':>8} {'words min/med/max':>18}")
    for lab in LABELS:
        rs = [r for r in en if r["label"] == lab]
        if not rs:
            continue
        w = [words(r) for r in rs]
        print(f"  {lab:<18} {len(rs):>4} {sum(r['ambiguous'] == '1' for r in rs):>6} "
              f"{sum(not r['subject'] for r in rs):>8} "
              f"{min(w):>8}/{statistics.median(w):g}/{max(w)}")
    print(f"  ambiguous share: {amb_share:.1%}; empty subject share: "
          f"{sum(not r['subject'] for r in en) / max(len(en), 1):.1%}")
    print("  product_type x label (refund / complaint / question):")
    for t in types:
        print(f"    {t:<20} " + " / ".join(f"{type_label[(t, lab)]:>2}" for lab in LABELS))
    print(f"emails_ru.csv: {len(ru)} rows; per label: "
          + ", ".join(f"{lab}={ru_label[lab]}" for lab in LABELS)
          + f"; ambiguous={sum(r['ambiguous'] == '1' for r in ru)}")

    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
