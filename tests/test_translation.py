"""The Russian edition (tlkit/translation.py): complete, current, generated, code identical to the English; and the
staleness checks themselves, on a small fake course where each kind of drift is made on purpose."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlkit import course, syllabus, translation

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ the real edition
def test_russian_edition_is_complete_current_and_generated():
    problems = translation.check("ru")
    assert not problems, "the Russian edition is out of step with the English one:\n" + "\n".join(problems)


def test_every_english_notebook_has_a_russian_one_with_identical_code():
    for english in translation.english_notebooks():
        ru = translation.edition_path(english, "ru")
        assert ru.exists(), f"{ru} missing; fix: python -m tlkit translate --write"
        a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (english, ru))
        assert [c["source"] for c in a["cells"] if c["cell_type"] == "code"] == \
            [c["source"] for c in b["cells"] if c["cell_type"] == "code"], english.name
        assert [c["cell_type"] for c in a["cells"]] == [c["cell_type"] for c in b["cells"]]
        assert all(not c.get("outputs") for c in b["cells"] if c["cell_type"] == "code"), "stored without outputs"
        title = "".join(b["cells"][0]["source"])
        assert f"/notebooks/ru/{english.name}" in title and "**В Colab:**" in title and "Преподавателю" in title


def test_russian_notebooks_are_in_russian():
    """A translation that is mostly English (a cell copied instead of translated) is caught: every Markdown cell
    of the edition has more Cyrillic than Latin letters outside code, links and tables of numbers."""
    import re

    for english in translation.english_notebooks():
        nb = json.loads(translation.edition_path(english, "ru").read_text(encoding="utf-8"))
        for c in nb["cells"]:
            if c["cell_type"] != "markdown":
                continue
            text = re.sub(r"```.*?```|`[^`]*`|\]\([^)]*\)|<[^>]+>|\$[^$]*\$", " ", "".join(c["source"]), flags=re.S)
            cyr, lat = len(re.findall(r"[а-яё]", text, re.I)), len(re.findall(r"[a-z]", text, re.I))
            assert cyr >= lat or cyr + lat < 40, f"{english.stem} cell {c['id']}: {lat} Latin vs {cyr} Cyrillic letters"


def test_readme_links_the_russian_edition():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    ru = (ROOT / "README.ru.md").read_text(encoding="utf-8")
    assert "README.ru.md" in en.split("\n## ", 1)[0], "the English README links the Russian one at its top"
    assert "README.md" in ru.split("\n## ", 1)[0]
    assert "/notebooks/ru/" in ru and "/notebooks/00_" not in ru, "Russian README's badges open the Russian notebooks"
    for command in ("bash scripts/setup.sh", "python -m pytest"):
        assert command in ru, f"the Russian README keeps the command {command!r}"


@pytest.mark.skipif(os.environ.get("TLKIT_SKIP_RU_RUN") == "1", reason="TLKIT_SKIP_RU_RUN=1")
def test_a_russian_notebook_runs_with_tlkit_run_lang_ru(tmp_path):
    """The edition's folder layout and imports work: the shortest notebook (09) runs from notebooks/ru/."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tlkit", "run", "--lang", "ru", "09", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "1/1" in proc.stdout and "ok" in proc.stdout, proc.stdout[-2000:]
    executed = list(tmp_path.rglob("09_summary*.ipynb"))
    assert executed and "**Преподавателю:**" in executed[0].read_text(encoding="utf-8"), "the Russian notebook ran"


def test_lecturer_note_and_badge_in_russian():
    note = syllabus.lecturer_note("06_zero_shot", lang="ru")
    assert note.startswith("> **Преподавателю:**") and "quick" in note and "05" in note
    assert course.colab_url("06_zero_shot", lang="ru").endswith("/notebooks/ru/06_zero_shot.ipynb")
    with pytest.raises(ValueError):
        course.colab_url("06_zero_shot", lang="de")
    with pytest.raises(ValueError):
        syllabus.lecturer_note("06_zero_shot", lang="de")


# ------------------------------------------------------------------------------------------------ the mechanism
TITLE = ("# 99 · A test notebook\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         "(https://colab.research.google.com/github/a/b/blob/main/notebooks/06_zero_shot.ipynb)\n\n"
         "> **On Colab:** something generated\n> more\n\n*What it does.*")


def _nb(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _md(i, text):
    return {"cell_type": "markdown", "id": i, "metadata": {}, "source": text.splitlines(keepends=True)}


def _code(i, text):
    return {"cell_type": "code", "id": i, "metadata": {}, "source": [text], "outputs": [], "execution_count": None}


@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """A course of one notebook (06_zero_shot: a real syllabus entry) and a README, with complete translations."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    english = _nb([_md("t0", TITLE), _code("c1", "print(1)\n"),
                   _md("m2", "## The idea\n\nSome prose.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"),
                   _code("c3", "x = 2")])
    (nbdir / "06_zero_shot.ipynb").write_text(json.dumps(english), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nIntro.\n\n## Results\n\nProse 1.\n\n| n | acc |\n|---|---|\n| 01 | 0.9 |\n",
                      encoding="utf-8")
    monkeypatch.setattr(translation, "ROOT", tmp_path)
    monkeypatch.setattr(translation, "NOTEBOOKS", nbdir)
    monkeypatch.setattr(translation, "CATALOGUES", tmp_path / "translations")
    monkeypatch.setattr(course, "README", readme)
    (tmp_path / "translations" / "ru").mkdir(parents=True)
    h = translation.text_hash
    title_norm = translation.normalised(TITLE, title=True)
    assert "{{badge}}" in title_norm and "{{notes}}" in title_norm and "On Colab" not in title_norm
    md2 = "## The idea\n\nSome prose.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    cat = [translation.Entry("t0", h(title_norm), "# 99 · Тестовый ноутбук\n\n{{badge}}\n\n{{notes}}\n\n*Что он делает.*"),
           translation.Entry("m2", h(md2), "## Идея\n\nНемного текста.\n\n| а | б |\n|---|---|\n| 1 | 2 |")]
    (tmp_path / "translations" / "ru" / "06_zero_shot.md").write_text(translation.format_catalogue(cat), encoding="utf-8")
    sections = dict(translation.readme_sections(readme.read_text(encoding="utf-8")))
    res_norm = translation.normalised(sections["results"], frozenset({1}))
    rcat = [translation.Entry("intro", h(sections["intro"]), "# Заголовок\n\nВведение."),
            translation.Entry("results", h(res_norm), "## Результаты\n\nТекст 1.\n\n{{table:1}}")]
    (tmp_path / "translations" / "ru" / "README.md").write_text(translation.format_catalogue(rcat), encoding="utf-8")
    translation.write("ru")
    assert translation.check("ru") == []
    return tmp_path


def _edit_english(root: Path, cell: str, text: str):
    path = root / "notebooks" / "06_zero_shot.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    for c in nb["cells"]:
        if c["id"] == cell:
            c["source"] = text.splitlines(keepends=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_generated_edition_fills_badge_notes_and_copies_code(fake_course):
    ru = json.loads((fake_course / "notebooks" / "ru" / "06_zero_shot.ipynb").read_text(encoding="utf-8"))
    title = "".join(ru["cells"][0]["source"])
    assert "/notebooks/ru/06_zero_shot.ipynb" in title and "**В Colab:**" in title and "**Преподавателю:**" in title
    assert "".join(ru["cells"][1]["source"]) == "print(1)\n" and ru["cells"][2]["source"][0] == "## Идея\n"
    readme = (fake_course / "README.ru.md").read_text(encoding="utf-8")
    assert "| 01 | 0.9 |" in readme and "Текст 1." in readme


def test_changed_english_cell_is_stale_and_named(fake_course):
    _edit_english(fake_course, "m2", "## The idea\n\nDifferent prose.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    problems = translation.check("ru")
    assert any("06_zero_shot: cell m2" in p and "changed in English" in p for p in problems), problems
    assert any("--todo" in p for p in problems)
    assert "<!-- cell m2 " in translation.todo("ru", ("06",))


def test_generated_notes_changing_do_not_make_the_title_stale(fake_course):
    _edit_english(fake_course, "t0", TITLE.replace("something generated", "a newer generated note"))
    assert not [p for p in translation.check("ru") if "changed in English" in p]


def test_new_numbers_in_a_copied_table_are_not_stale_but_new_prose_is(fake_course):
    readme = fake_course / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("0.9", "0.8"), encoding="utf-8")
    problems = translation.check("ru")
    assert problems and all("changed in English" not in p for p in problems)     # only: README.ru.md to regenerate
    assert any("README.ru.md is not what the catalogue generates" in p for p in problems)
    translation.write("ru")
    assert translation.check("ru") == [] and "| 01 | 0.8 |" in (fake_course / "README.ru.md").read_text("utf-8")
    readme.write_text(readme.read_text(encoding="utf-8").replace("Prose 1.", "Prose 2."), encoding="utf-8")
    assert any("README: section results changed in English" in p for p in translation.check("ru"))


def test_a_cell_without_translation_and_a_translation_without_cell(fake_course):
    path = fake_course / "notebooks" / "06_zero_shot.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append(_md("new9", "## Exercises\n\nDo it."))
    nb["cells"] = [c for c in nb["cells"] if c["id"] != "m2"]
    path.write_text(json.dumps(nb), encoding="utf-8")
    problems = translation.check("ru")
    assert any("cell new9" in p and "no translation" in p for p in problems), problems
    assert any("cell m2, which the English notebook no longer has" in p for p in problems), problems


def test_edited_russian_code_or_hand_edited_edition_fails(fake_course):
    path = fake_course / "notebooks" / "ru" / "06_zero_shot.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][3]["source"] = ["x = 3"]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    problems = translation.check("ru")
    assert any("code cell c3 differs" in p for p in problems) and any("--write" in p for p in problems)


def test_title_translation_must_keep_placeholders(fake_course):
    cat = fake_course / "translations" / "ru" / "06_zero_shot.md"
    cat.write_text(cat.read_text(encoding="utf-8").replace("{{notes}}", ""), encoding="utf-8")
    assert any("{{notes}}" in p for p in translation.check("ru"))


def test_catalogue_format_errors():
    with pytest.raises(ValueError, match="before the first"):
        translation.parse_catalogue("stray\n<!-- cell a 0123456789ab -->\nx")
    with pytest.raises(ValueError, match="twice"):
        translation.parse_catalogue("<!-- cell a 0123456789ab -->\nx\n<!-- cell a 0123456789ab -->\ny")
    with pytest.raises(ValueError, match="lang"):
        translation.catalogue_path("06_zero_shot", "de")
    with pytest.raises(ValueError, match="table 3"):
        translation.normalised("| a |\n", frozenset({3}))


def test_readme_sections_ignore_headings_in_code_blocks():
    text = "# T\n\nintro\n\n## One\n\n```bash\n## not a heading\n```\n\n### Two\n\nx\n\n## One\n\ny\n"
    keys = [k for k, _ in translation.readme_sections(text)]
    assert keys == ["intro", "one", "two", "one-2"]


def test_translate_command(capsys, fake_course):
    from tlkit.__main__ import main

    assert main(["translate"]) == 0 and "complete and current" in capsys.readouterr().out
    assert main(["translate", "--todo", "06"]) == 0 and "nothing to translate" in capsys.readouterr().out
    _edit_english(fake_course, "m2", "## The idea\n\nNew prose.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert main(["translate"]) == 1
    out = capsys.readouterr().out
    assert "06_zero_shot: cell m2" in out and "--todo" in out
    assert main(["translate", "--todo", "06"]) == 0 and "New prose." in capsys.readouterr().out
    assert main(["translate", "--hash", "06", "m2"]) == 0
    assert capsys.readouterr().out.strip() == translation.text_hash(
        "## The idea\n\nNew prose.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
