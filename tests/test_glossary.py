"""One Russian term per idea, in both editions: docs/glossary.md lists the terms the course uses (with the English
term, the notebook that introduces it and definitions in both languages) and the variants it does not use.

The terms are extracted from the notebooks, not listed by hand: in the English notebooks a Russian term is the
Cyrillic text in parentheses after an English term ("fine-tuning (дообучение)"); in the Russian notebooks
(notebooks/ru/) a term where it is introduced is bold Cyrillic followed by the English term in parentheses
("**дообучение** (fine-tuning)"). Every extracted term must be in the glossary; a Russian notebook must pair it with
the glossary's English term; the notebook named as introducing a term must use it; no notebook (either edition) and
no README may use a variant listed as not used."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
RU_NOTEBOOKS = sorted((ROOT / "notebooks" / "ru").glob("[0-9][0-9]*.ipynb"))

REQUIRED = ("transfer learning", "fine-tuning", "feature extraction", "domain adaptation", "cross-lingual transfer",
            "negative transfer", "zero-shot classification", "knowledge distillation", "pretrained model", "backbone",
            "head", "freezing", "catastrophic forgetting", "LoRA", "gradient reversal", "AdaBN", "CORAL",
            "BatchNorm inference mode", "pseudo-labels")
_CYR = "А-Яа-яЁё"


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after ``## heading``."""
    part = markdown.split(f"## {heading}", 1)
    if len(part) < 2:
        raise ValueError(f"glossary has no section '## {heading}'")
    rows = []
    for line in part[1].splitlines():
        if line.startswith("## "):
            break
        if line.startswith("|") and not re.match(r"^\|[\s\-|]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:]   # without the header row


def variant_pattern(phrase: str) -> re.Pattern:
    """A phrase as a case-insensitive regex over inflected forms: long words match by their stem."""
    words = [w.rstrip(",") for w in phrase.split()]
    parts = [re.escape(w[:max(4, len(w) - 2)]) + r"\w*" if len(w) > 3 else re.escape(w) for w in words]
    return re.compile(r"(?<!\w)" + r",?\s+".join(p.rstrip(",") for p in parts), re.IGNORECASE)


def cells(path: Path, kind: str = "markdown") -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == kind]


def number(path: Path) -> str:
    return path.stem.split("_", 1)[0]


TEXT = GLOSSARY.read_text(encoding="utf-8")
TERMS = table(TEXT, "Terms used in the course")
VARIANTS = table(TEXT, "Variants not used")
COLUMNS = ("English term", "Russian term", "also written", "introduced in", "Definition", "Определение")


def forms(row: list[str]) -> list[str]:
    """The Russian forms of a glossary row: the term (each side of ' / ', with and without its parenthesis), and
    what it is also written as."""
    out = []
    for side in row[1].split(" / "):
        out += [side.strip(), re.sub(r"\s*\([^)]*\)", "", side).strip()]
        out += re.findall(rf"\(([{_CYR}][^)]*)\)", side)
    out += [f.strip() for f in row[2].split(";") if f.strip()]
    return [f for f in out if f]


def glossary_row(term: str) -> list[str] | None:
    """The glossary row whose form ``term`` is (inflected: by stems, whole words), or None."""
    pat = variant_pattern(term)
    for row in TERMS:
        for form in forms(row):
            m = pat.fullmatch(form) or (pat.search(form) if len(term.split()) < len(form.split()) else None)
            if m and (m.group(0) == form or len(term.split()) > 1 or len(term) > 6):
                return row
    return None


def english_marked_terms(text: str) -> list[str]:
    """Russian terms an English notebook marks: the Cyrillic parts of parenthesised text ("(fine-tuning,
    дообучение)", "(дообучение, файн-тюнинг)"); a Russian example in «» is not a term. Parts separated by commas
    are joined again when together they are one glossary term (e.g. a term that holds a comma)."""
    out = []
    for group in re.findall(r"\(([^()]*[А-Яа-яЁё][^()]*)\)", re.sub(r"«[^»]*»", "", text)):
        parts = [p.strip() for p in re.split(r"[,;:]", group)]
        parts = [m.group(0) for p in parts if (m := re.match(rf"^[{_CYR}][{_CYR}\- ]*[{_CYR}]", p))]
        i = 0
        while i < len(parts):
            for j in range(len(parts), i, -1):
                joined = ", ".join(parts[i:j])
                if j == i + 1 or glossary_row(joined):
                    out.append(joined)
                    i = j
                    break
    return out


def russian_marked_terms(text: str) -> list[tuple[str, str]]:
    """(Russian term, English term) pairs a Russian notebook marks: ``**термин** (English term)``."""
    return [(m.group(1).strip(), m.group(2).strip()) for m in
            re.finditer(rf"\*\*([{_CYR}][{_CYR}\- ,()A-Za-z]*?)\*\* \(([A-Za-z][^()]*)\)", text)]


# ------------------------------------------------------------------------------------------------ the glossary
def test_glossary_rows_are_complete():
    header = TEXT.split("## Terms used in the course", 1)[1].split("\n|---", 1)[0].strip().splitlines()[-1]
    assert tuple(c.strip() for c in header.strip("|").split("|")) == COLUMNS
    for row in TERMS:
        assert len(row) == len(COLUMNS), f"row {row[:2]}: {len(row)} cells, want {len(COLUMNS)}"
        english, russian, _, introduced, definition, ru_definition = row
        assert english and russian and definition and ru_definition, f"row {row[:2]}: an empty cell"
        assert re.search(rf"[{_CYR}]", ru_definition) and not re.search(rf"[{_CYR}]", definition.replace(russian, "")), \
            f"{english}: the Russian definition is Russian, the English one English"
        assert (ROOT / "notebooks").glob(f"{introduced}_*.ipynb"), f"{english}: no notebook {introduced}"
    english = {r[0] for r in TERMS}
    missing = [t for t in REQUIRED if t not in english]
    assert not missing, f"docs/glossary.md lacks {missing}"
    assert len(english) == len(TERMS), "one row per English term"
    russian = {r[1] for r in TERMS}
    assert len(VARIANTS) >= 5 and all(r[1] in russian for r in VARIANTS), \
        "every variant not used must point to a term of the first table"


def test_chosen_terms_and_their_forms_are_not_rejected_variants():
    for row in TERMS:
        for form in forms(row):
            hits = [v for v, _ in VARIANTS if variant_pattern(v).search(form)]
            assert not hits, f"the chosen form {form!r} matches the rejected variant(s) {hits}"


def test_variant_pattern_matches_inflected_forms_only():
    p = variant_pattern("доменная адаптация")
    assert p.search("методы доменной адаптации") and p.search("Доменная  адаптация")
    assert not p.search("адаптация предметной области")
    assert variant_pattern("обучение с переносом").search("обучения с переносом")
    assert not variant_pattern("обучение с переносом").search("обучение со скоростью")


def test_term_extraction():
    text = ("fine-tuning (дообучение, файн-тюнинг), an example («возврат» / «жалоба»), the teacher (the teacher, "
            "учитель), (разбиение на обучающую, валидационную и тестовую выборки), (негативный перенос: worse)")
    assert english_marked_terms(text) == ["дообучение", "файн-тюнинг", "учитель",
                                          "разбиение на обучающую, валидационную и тестовую выборки",
                                          "негативный перенос"]
    assert russian_marked_terms("**Дообучение** (fine-tuning) и **Цели** и **голова** (head).") == [
        ("Дообучение", "fine-tuning"), ("голова", "head")]
    assert glossary_row("дообучения")[0] == "fine-tuning" and glossary_row("предобученной модели")[0] == \
        "pretrained model"
    assert glossary_row("квантование весов") is None


# ------------------------------------------------------------------------------------------------ the notebooks
def _english_uses() -> dict[str, list[str]]:
    """English term -> the notebooks (numbers, course order) that mark it, in either edition."""
    uses: dict[str, list[str]] = {}
    for path in NOTEBOOKS:
        for term in english_marked_terms("\n".join(cells(path))):
            row = glossary_row(term)
            if row:
                uses.setdefault(row[0], []).append(number(path))
    for path in RU_NOTEBOOKS:
        for term, _ in russian_marked_terms("\n".join(cells(path))):
            row = glossary_row(term)
            if row:
                uses.setdefault(row[0], []).append(number(path))
    return uses


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_russian_term_of_an_english_notebook_is_in_the_glossary(nb):
    missing = sorted({t for t in english_marked_terms("\n".join(cells(nb))) if glossary_row(t) is None})
    assert not missing, f"{nb.name} uses Russian terms docs/glossary.md lacks: {missing}"


@pytest.mark.parametrize("nb", RU_NOTEBOOKS, ids=[p.name for p in RU_NOTEBOOKS])
def test_every_term_a_russian_notebook_introduces_is_in_the_glossary_with_its_english_term(nb):
    problems = []
    for term, english in russian_marked_terms("\n".join(cells(nb))):
        row = glossary_row(term)
        if row is None:
            problems.append(f"'{term}' ({english}) is not in docs/glossary.md")
        elif not any(english.lower() == e.strip().lower() or english.lower() in row[0].lower()
                     for e in row[0].split(" / ")):
            problems.append(f"'{term}' is paired with '{english}', the glossary's English term is '{row[0]}'")
    assert not problems, f"notebooks/ru/{nb.name}: " + "; ".join(problems)


def test_introduced_in_names_a_notebook_that_uses_the_term():
    """The notebook named in "introduced in" marks the term (either edition) or, for a term no notebook marks,
    uses it in its Russian text; and no earlier notebook marks it."""
    uses = _english_uses()
    order = [number(p) for p in NOTEBOOKS]
    problems = []
    for row in TERMS:
        english, introduced = row[0], row[3]
        marked = sorted(set(uses.get(english, [])), key=order.index)
        if marked:
            if marked[0] != introduced:
                problems.append(f"{english}: introduced in {introduced}, but first marked in {marked[0]}")
            continue
        ru = ROOT / "notebooks" / "ru"
        texts = [p for p in ru.glob(f"{introduced}_*.ipynb")] + [p for p in NOTEBOOKS if number(p) == introduced]
        if not any(variant_pattern(f).search("\n".join(cells(p))) for p in texts for f in forms(row)):
            problems.append(f"{english}: notebook {introduced} does not use '{row[1]}'")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS + RU_NOTEBOOKS + [ROOT / "README.md", ROOT / "README.ru.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_rejected_variant_is_used(path):
    if not path.exists():
        pytest.fail(f"{path.name} missing; fix: python -m tlkit translate --write")
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else "\n".join(cells(path) + cells(path, "code"))
    found = [(m.group(0), use) for v, use in VARIANTS if (m := variant_pattern(v).search(text))]
    assert not found, f"{path.name}: " + "; ".join(f"'{g}' -> use '{use}'" for g, use in found)
