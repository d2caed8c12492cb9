"""Editions of the course in other languages (today: Russian) that cannot drift from the English original.

The English notebooks and ``README.md`` are the source. A translation lives in a **catalogue** per notebook,
``translations/<lang>/<notebook>.md`` (and ``translations/<lang>/README.md`` for the README): one entry per
Markdown cell (per README section), each headed by a line

    <!-- cell edb66556 3f2a9c0e1b7d -->

that names the English cell's id and the hash of the English text it translates. ``python -m tlkit translate
--write`` builds ``notebooks/<lang>/*.ipynb`` and ``README.<lang>.md`` from the English files and the catalogues:
Markdown cells are replaced by their translations, code cells are copied byte for byte (the code, its comments and
its printed labels stay English, so a learner's code is the same in both editions), and the Colab badge and the
generated notes of the title cell are generated in the edition's language. ``python -m tlkit translate --check``
(and ``tests/test_translation.py``) fails, naming the notebook and the cell, when an English cell changed after its
translation (the hash differs), when a cell has no translation, when a translation's cell is gone, or when a
generated file is not what ``--write`` would produce now. ``--todo`` prints what needs translating, with the English
text and the hash to put in the entry's header.

Placeholders in a translation, filled when the edition is generated:

* ``{{badge}}`` - the edition's Colab badge (title cell);
* ``{{notes}}`` - the "On Colab" and "For lecturers" notes of the title cell, in the edition's language;
* ``{{table:N}}`` - the N-th Markdown table (from 1) of the English text, copied unchanged (for tables of numbers,
  such as the README's results; a table copied this way is left out of the hash, so new numbers do not make the
  translation stale, while changed prose does).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import course

ROOT = course.ROOT
NOTEBOOKS = course.NOTEBOOKS
CATALOGUES = ROOT / "translations"
LANGUAGES = ("ru",)
FIX = "python -m tlkit translate --lang {lang} --todo"
WRITE = "python -m tlkit translate --lang {lang} --write"

_HEADER_RE = re.compile(r"^<!-- cell (\S+) ([0-9a-f]{12}) -->[ \t]*$", re.M)
_TABLE_PLACEHOLDER_RE = re.compile(r"\{\{table:(\d+)\}\}")
_NOTES_START = "> **On Colab:**"


@dataclass(frozen=True)
class Entry:
    """One translated cell (or README section): the hash of the English text it translates, and the translation."""

    key: str
    english_hash: str
    text: str


# ------------------------------------------------------------------------------------------------ English side
def _tables(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the Markdown tables in ``text`` (runs of lines starting with ``|``)."""
    spans, pos, start = [], 0, None
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("|"):
            if start is None:
                start = pos
        elif start is not None:
            spans.append((start, pos))
            start = None
        pos += len(line)
    if start is not None:
        spans.append((start, pos))
    return spans


def tables(text: str) -> list[str]:
    """The Markdown tables of ``text``, in order (each without its trailing newline)."""
    return [text[a:b].rstrip("\n") for a, b in _tables(text)]


def normalised(text: str, copied_tables: frozenset[int] = frozenset(), title: bool = False) -> str:
    """The English text as a translation sees it: in a title cell the Colab badge and the generated notes become
    ``{{badge}}`` / ``{{notes}}``; the tables a translation copies become ``{{table:N}}``."""
    if copied_tables:
        spans = _tables(text)
        for n in sorted(copied_tables, reverse=True):
            if not 1 <= n <= len(spans):
                raise ValueError(f"{{{{table:{n}}}}} refers to table {n}, but the English text has {len(spans)}")
            a, b = spans[n - 1]
            text = text[:a] + f"{{{{table:{n}}}}}\n" + text[b:]
    if title:
        text = course._BADGE_RE.sub("{{badge}}", text, count=1)
        start = text.find(_NOTES_START)
        if start >= 0:
            end = text.find("\n\n", start)
            text = text[:start] + "{{notes}}" + (text[end:] if end >= 0 else "")
    return text


def text_hash(text: str) -> str:
    """12 hex digits of SHA-256 of a text (line endings and trailing spaces ignored)."""
    clean = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())
    return hashlib.sha256(clean.encode("utf-8")).hexdigest()[:12]


def copied_tables(translation: str) -> frozenset[int]:
    """The table numbers a translation copies with ``{{table:N}}``."""
    return frozenset(int(n) for n in _TABLE_PLACEHOLDER_RE.findall(translation))


# ------------------------------------------------------------------------------------------------ catalogues
def parse_catalogue(text: str, where: str = "catalogue") -> dict[str, Entry]:
    """The entries of a catalogue file; ValueError on a repeated key or text before the first header."""
    parts = _HEADER_RE.split(text)
    if parts[0].strip():
        raise ValueError(f"{where}: text before the first '<!-- cell <id> <hash> -->' line")
    out: dict[str, Entry] = {}
    for i in range(1, len(parts), 3):
        key, digest, body = parts[i], parts[i + 1], parts[i + 2].strip("\n")
        if key in out:
            raise ValueError(f"{where}: cell {key} is translated twice")
        out[key] = Entry(key, digest, body)
    return out


def format_catalogue(entries: list[Entry]) -> str:
    """A catalogue file's text (entries in the given order)."""
    return "".join(f"<!-- cell {e.key} {e.english_hash} -->\n{e.text.strip()}\n\n" for e in entries).rstrip() + "\n"


def catalogue_path(name: str, lang: str) -> Path:
    return CATALOGUES / _check_lang(lang) / f"{name}.md"


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


def load_catalogue(name: str, lang: str) -> dict[str, Entry]:
    path = catalogue_path(name, lang)
    if not path.exists():
        return {}
    return parse_catalogue(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


# ------------------------------------------------------------------------------------------------ notebooks
def english_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))


def edition_path(english: Path, lang: str) -> Path:
    return english.parent / _check_lang(lang) / english.name


def _markdown_cells(nb: dict) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "markdown"]


def english_units(nb: dict) -> list[tuple[str, str, bool]]:
    """(cell id, English text, is the title cell) of a notebook's Markdown cells."""
    return [(c["id"], "".join(c["source"]), i == 0) for i, c in _markdown_cells(nb)]


def _fill(translation: str, english: str, title: bool, fills: dict[str, str]) -> str:
    out = _TABLE_PLACEHOLDER_RE.sub(lambda m: _table_or_raise(english, int(m.group(1))), translation)
    if title:
        for name in ("badge", "notes"):
            if f"{{{{{name}}}}}" not in out:
                raise ValueError(f"a title cell's translation must hold {{{{{name}}}}}")
            out = out.replace(f"{{{{{name}}}}}", fills[name])
    return out


def _table_or_raise(english: str, n: int) -> str:
    found = tables(english)
    if not 1 <= n <= len(found):
        raise ValueError(f"{{{{table:{n}}}}}: the English text has {len(found)} table(s)")
    return found[n - 1]


def colab_note(lang: str) -> str:
    """The "On Colab" note of a title cell in ``lang``."""
    _check_lang(lang)
    return COLAB_NOTE_RU


COLAB_NOTE_RU = """\
> **В Colab:** выполняйте ячейки сверху вниз. Первая ячейка с кодом скачивает и устанавливает курс (несколько
> минут); её поля задают адрес и версию курса, а `CACHE_ON_DRIVE` сохраняет загрузки, подготовленные наборы данных и
> обученные модели на вашем Google Диске, чтобы следующему ноутбуку не пришлось скачивать и готовить их заново.
> Следующая ячейка печатает, какой профиль работает: `quick` (маленький, без сети, минуты на CPU) или `full`
> (настоящие данные и модели побольше, рассчитан на GPU). Чтобы выбрать профиль, выполните `%env TLKIT_PROFILE=quick`
> (или `full`) в новой ячейке перед ячейкой установки. Для GPU: *Среда выполнения → Сменить среду выполнения → T4 GPU*,
> затем снова запустите всё сверху."""


def _title_fills(name: str, lang: str) -> dict[str, str]:
    from .syllabus import lecturer_note

    badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"({course.colab_url(name, lang=lang)})")
    return {"badge": badge, "notes": colab_note(lang) + "\n>\n" + lecturer_note(name, lang=lang)}


def generated_edition(english: dict, name: str, lang: str) -> tuple[dict, list[str]]:
    """The ``lang`` edition of a parsed English notebook, and the problems found (missing or stale translations,
    translations of cells that are gone). Untranslated cells keep their English text in the returned notebook."""
    catalogue = load_catalogue(name, lang)
    rel = catalogue_path(name, lang).relative_to(ROOT)
    out = json.loads(json.dumps(english))
    problems: list[str] = []
    seen = set()
    for i, cell in _markdown_cells(out):
        key, text, title = cell["id"], "".join(cell["source"]), i == 0
        seen.add(key)
        entry = catalogue.get(key)
        first = next((ln for ln in text.splitlines() if ln.strip()), "")[:70]
        if entry is None:
            problems.append(f"{name}: cell {key} ({first!r}) has no translation in {rel}")
            continue
        try:
            want = text_hash(normalised(text, copied_tables(entry.text), title))
            filled = _fill(entry.text, text, title, _title_fills(name, lang) if title else {})
        except ValueError as exc:
            problems.append(f"{name}: cell {key}: {exc}")
            continue
        if entry.english_hash != want:
            problems.append(f"{name}: cell {key} ({first!r}) changed in English after its translation "
                            f"(hash {entry.english_hash}, now {want}); translate it again in {rel}")
            continue
        cell["source"] = _one_folder_down(filled).splitlines(keepends=True)
    for key in catalogue.keys() - seen:
        problems.append(f"{name}: {rel} translates cell {key}, which the English notebook no longer has; delete it")
    return out, problems


def _one_folder_down(text: str) -> str:
    """Relative links of a notebook moved from ``notebooks/`` to ``notebooks/<lang>/``: ``../docs/x`` becomes
    ``../../docs/x``; links to sibling notebooks stay (the edition's notebooks are siblings too)."""
    return re.sub(r"\]\(\.\./", "](../../", text)


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------------ README
README_NAME = "README"


def readme_sections(text: str) -> list[tuple[str, str]]:
    """(key, text) of the README's sections: ``intro`` before the first heading, then one per ``##``/``###``
    heading (key: the heading's words, lower-case, joined by ``-``). Headings inside code blocks are text."""
    sections: list[tuple[str, list[str]]] = [("intro", [])]
    fence = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(##|###) (.+)$", line.rstrip("\n"))
        if m:
            key = re.sub(r"[^\w]+", "-", m.group(2).lower()).strip("-") or "section"
            n, base = 2, key
            while key in {k for k, _ in sections}:
                key, n = f"{base}-{n}", n + 1
            sections.append((key, [line]))
        else:
            sections[-1][1].append(line)
    return [(k, "".join(lines)) for k, lines in sections if "".join(lines).strip() or k != "intro"]


def _edition_links(text: str, lang: str) -> str:
    """Links and Colab badges to the English notebooks pointed at the edition's notebooks."""
    return re.sub(r"(?<![\w/])notebooks/(\d\d[a-z]?_[a-z0-9_]+\.ipynb)", rf"notebooks/{lang}/\1",
                  re.sub(r"/notebooks/(\d\d[a-z]?_[a-z0-9_]+\.ipynb)", rf"/notebooks/{lang}/\1", text))


def generated_readme(lang: str) -> tuple[str, list[str]]:
    """``README.<lang>.md`` as ``--write`` would write it, and the problems found."""
    english = course.README.read_text(encoding="utf-8")
    catalogue = load_catalogue(README_NAME, lang)
    rel = catalogue_path(README_NAME, lang).relative_to(ROOT)
    parts, problems, seen = [], [], set()
    for key, text in readme_sections(english):
        seen.add(key)
        entry = catalogue.get(key)
        if entry is None:
            problems.append(f"README: section {key} has no translation in {rel}")
            parts.append(text)
            continue
        try:
            want = text_hash(normalised(text, copied_tables(entry.text)))
            filled = _fill(entry.text, text, False, {})
        except ValueError as exc:
            problems.append(f"README: section {key}: {exc}")
            parts.append(text)
            continue
        if entry.english_hash != want:
            problems.append(f"README: section {key} changed in English after its translation (hash "
                            f"{entry.english_hash}, now {want}); translate it again in {rel}")
        parts.append(filled.strip("\n") + "\n\n")
    for key in catalogue.keys() - seen:
        problems.append(f"README: {rel} translates section {key}, which the English README no longer has; delete it")
    return _edition_links("".join(parts).rstrip("\n") + "\n", lang), problems


def readme_path(lang: str) -> Path:
    return ROOT / f"README.{_check_lang(lang)}.md"


# ------------------------------------------------------------------------------------------------ check / write
def check(lang: str = "ru") -> list[str]:
    """Every problem of the ``lang`` edition (empty: complete, current, and generated). Each names the file and the
    cell or section, and how to fix it."""
    problems: list[str] = []
    for path in english_notebooks():
        english = json.loads(path.read_text(encoding="utf-8"))
        edition, found = generated_edition(english, path.stem, lang)
        problems += found
        target = edition_path(path, lang)
        if not target.exists():
            problems.append(f"{path.stem}: {target.relative_to(ROOT)} is missing; run {WRITE.format(lang=lang)}")
            continue
        current = json.loads(target.read_text(encoding="utf-8"))
        problems += code_differences(english, current, path.stem)
        if not found and target.read_text(encoding="utf-8") != _dump(edition):
            problems.append(f"{path.stem}: {target.relative_to(ROOT)} is not what the catalogue generates; run "
                            f"{WRITE.format(lang=lang)}")
    english_names = {p.name for p in english_notebooks()}
    for extra in sorted((NOTEBOOKS / lang).glob("*.ipynb")):
        if extra.name not in english_names:
            problems.append(f"{extra.relative_to(ROOT)} has no English original; delete it")
    text, found = generated_readme(lang)
    problems += found
    target = readme_path(lang)
    if not found and (not target.exists() or target.read_text(encoding="utf-8") != text):
        problems.append(f"{target.name} is not what the catalogue generates; run {WRITE.format(lang=lang)}")
    if problems:
        problems.append(f"to see what to translate (English text and the hash for each header): "
                        f"{FIX.format(lang=lang)}")
    return problems


def code_differences(english: dict, edition: dict, name: str) -> list[str]:
    """Code cells of the edition that differ from the English notebook's (by position, id and source)."""
    ours = [(c.get("id"), "".join(c["source"])) for c in english["cells"] if c.get("cell_type") == "code"]
    theirs = [(c.get("id"), "".join(c["source"])) for c in edition["cells"] if c.get("cell_type") == "code"]
    if len(ours) != len(theirs):
        return [f"{name}: the edition has {len(theirs)} code cells, the English notebook {len(ours)}"]
    return [f"{name}: code cell {a[0]} differs from the English notebook's" for a, b in zip(ours, theirs) if a != b]


def write(lang: str = "ru") -> list[str]:
    """Generate every edition notebook and the README of ``lang`` (cells without a current translation stay
    English and are reported by :func:`check`); returns the files changed."""
    changed = []
    (NOTEBOOKS / lang).mkdir(exist_ok=True)
    for path in english_notebooks():
        english = json.loads(path.read_text(encoding="utf-8"))
        edition, _ = generated_edition(english, path.stem, lang)
        target = edition_path(path, lang)
        text = _dump(edition)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(str(target.relative_to(ROOT)))
    text, _ = generated_readme(lang)
    target = readme_path(lang)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        changed.append(target.name)
    return changed


def todo(lang: str = "ru", names: tuple[str, ...] = ()) -> str:
    """What needs translating: for each missing or stale cell, its header line (with the current hash) and the
    English text. ``names``: notebook stems or numbers (``06``) and/or ``README``; empty: everything."""
    def wanted(stem: str) -> bool:
        return not names or stem in names or stem.split("_", 1)[0] in names

    out = []
    for path in english_notebooks():
        if not wanted(path.stem):
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        catalogue = load_catalogue(path.stem, lang)
        for key, text, title in english_units(nb):
            entry = catalogue.get(key)
            copied = copied_tables(entry.text) if entry else frozenset()
            try:
                norm = normalised(text, copied, title)
            except ValueError:
                norm = normalised(text, frozenset(), title)
            if entry is None or entry.english_hash != text_hash(norm):
                state = "missing" if entry is None else "stale"
                out.append(f"### {path.stem} ({state})\n<!-- cell {key} {text_hash(norm)} -->\n{norm}\n")
        try:
            _, problems = generated_edition(nb, path.stem, lang)
        except ValueError as exc:
            problems = [f"{path.stem}: {exc}"]
        out += [f"### problem: {p}\n" for p in problems if "has no translation" not in p and "changed in English" not in p]
    if wanted(README_NAME):
        catalogue = load_catalogue(README_NAME, lang)
        for key, text in readme_sections(course.README.read_text(encoding="utf-8")):
            entry = catalogue.get(key)
            copied = copied_tables(entry.text) if entry else frozenset()
            norm = normalised(text, copied)
            if entry is None or entry.english_hash != text_hash(norm):
                state = "missing" if entry is None else "stale"
                out.append(f"### README ({state})\n<!-- cell {key} {text_hash(norm)} -->\n{norm}\n")
    return "\n".join(out)


def entry_hash(name: str, key: str, lang: str = "ru") -> str:
    """The header hash that the translation of cell ``key`` of notebook ``name`` (a stem or number; ``README``:
    a section key) needs, given the ``{{table:N}}`` placeholders its current catalogue entry uses."""
    if name == README_NAME:
        sections = dict(readme_sections(course.README.read_text(encoding="utf-8")))
        if key not in sections:
            raise ValueError(f"the README has no section {key!r}; sections: {list(sections)}")
        entry = load_catalogue(README_NAME, lang).get(key)
        return text_hash(normalised(sections[key], copied_tables(entry.text) if entry else frozenset()))
    path = next((p for p in english_notebooks() if name in (p.stem, p.stem.split("_", 1)[0])), None)
    if path is None:
        raise ValueError(f"no English notebook {name!r}")
    units = {k: (t, title) for k, t, title in english_units(json.loads(path.read_text(encoding="utf-8")))}
    if key not in units:
        raise ValueError(f"{path.stem} has no Markdown cell {key!r}")
    entry = load_catalogue(path.stem, lang).get(key)
    text, title = units[key]
    return text_hash(normalised(text, copied_tables(entry.text) if entry else frozenset(), title))
