"""The lecturer's view of every notebook: what it assumes, how long it runs in the quick profile (measured), and a
suggested teaching time. :mod:`tlkit.course` writes it into each notebook's title cell ("For lecturers: ...");
a test keeps the two in step.

Run times are the seconds each notebook's cells took in the test command (``python -m pytest``, two notebooks at a
time on 2 CPU cores; the test command prints them and keeps them in ``runs/test-durations.json``), rounded up to
whole minutes. Run alone a notebook is somewhat faster; machines differ by up to about 3x. Teaching times are
suggestions for a lecture that runs the notebook live and discusses its results; they are not measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil


@dataclass(frozen=True)
class Lesson:
    """One notebook, for a lecturer."""

    assumes: tuple[str, ...]      # earlier notebooks (numbers) whose ideas this one uses
    teach_minutes: int            # suggested teaching time (not measured)
    quick_seconds: float          # measured: its cells in the test command (see MEASURED)


#: where the run times come from
MEASURED = "the test command on 2 CPU cores, 2026-12-08"
MEASURED_RU = "тестовая команда на 2 ядрах CPU, 08.12.2026"

SYLLABUS: dict[str, Lesson] = {
    "00": Lesson((), 45, 37),
    "01": Lesson(("00",), 60, 128),
    "02": Lesson(("01",), 60, 104),
    "03": Lesson(("00",), 60, 158),
    "03b": Lesson(("03",), 45, 144),
    "04": Lesson(("01", "02"), 90, 86),
    "05": Lesson(("01", "03"), 45, 88),
    "06": Lesson(("05",), 60, 44),
    "07": Lesson(("03", "06"), 75, 98),
    "08": Lesson(("01", "03"), 60, 104),
    "09": Lesson(("00", "01", "02", "03", "03b", "04", "05", "06", "07", "08", "10", "12", "13", "14"), 30, 5),
    "10": Lesson(("01", "02"), 60, 136),
    "11": Lesson(("01", "03b", "06"), 60, 144),
    "12": Lesson(("00", "01"), 60, 49),
    "13": Lesson(("01", "05", "06"), 60, 20),
    "14": Lesson(("01", "02", "03"), 45, 68),
}


def number(notebook: str) -> str:
    """``"03b"`` from ``"03b_freezing_and_lora"`` (or from ``"03b"``)."""
    return notebook.split("_", 1)[0]


def lecturer_note(notebook: str, lang: str = "en") -> str:
    """The "For lecturers" paragraph of a notebook's title cell (a Markdown block quote); ``lang="ru"``: in
    Russian, for the Russian edition."""
    key = number(notebook)
    if key not in SYLLABUS:
        raise ValueError(f"notebook {notebook!r} has no entry in tlkit.syllabus.SYLLABUS; add one")
    if lang not in ("en", "ru"):
        raise ValueError(f"lang must be 'en' or 'ru', got {lang!r}")
    lesson = SYLLABUS[key]
    minutes = max(1, ceil(lesson.quick_seconds / 60))
    if lang == "ru":
        assumes_ru = (f"опирается на ноутбук{'и' if len(lesson.assumes) > 1 else ''} {', '.join(lesson.assumes)}"
                      if lesson.assumes else "не требует предыдущих ноутбуков (Python и первая модель на Keras)")
        return (f"> **Преподавателю:** в профиле `quick` выполняется примерно за {minutes} мин (измерено: "
                f"{MEASURED_RU}); на занятие — около {lesson.teach_minutes} мин; {assumes_ru}.")
    assumes = (f"assumes notebook{'s' if len(lesson.assumes) > 1 else ''} {', '.join(lesson.assumes)}"
               if lesson.assumes else "assumes no earlier notebook (Python and a first Keras model)")
    return (f"> **For lecturers:** runs in about {max(1, ceil(lesson.quick_seconds / 60))} min in the `quick` "
            f"profile (measured: {MEASURED}); suggested teaching time about {lesson.teach_minutes} min; {assumes}.")
