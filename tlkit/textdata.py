"""Text datasets of the course: product reviews (3-class sentiment) and customer-support e-mails.

* quick: the course-authored reviews ``data/reviews/reviews_{lang}.csv`` (960 English reviews with a
  fixed train/validation/test split) and e-mails ``data/emails/emails_{lang}.csv`` - offline.
* full:  real Yelp reviews (``yelp_review_full_csv.tgz``, 650k reviews with 1-5 stars; the same
  archive fast.ai and torchtext use), downloaded once with an MD5 check and mapped to three classes:
  1-2 stars -> negative, 3 -> neutral, 4-5 -> positive; a balanced subsample per the profile's budget.

Every loader returns texts as plain Python strings and labels as integer class ids.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import net
from .profile import budget, get_profile

REVIEW_CLASSES = ("negative", "neutral", "positive")
EMAIL_CLASSES = ("refund_request", "quality_complaint", "product_question")
SPLITS = ("train", "validation", "test")

#: Yelp Review Full (Zhang, Zhao & LeCun 2015), as mirrored by fast.ai; MD5 from torchtext/fast.ai.
YELP_URL = "https://s3.amazonaws.com/fast-ai-nlp/yelp_review_full_csv.tgz"
YELP_MD5 = "a4acce1892d0f927165488f62860cabe"
#: stars (1..5) -> class id of REVIEW_CLASSES
YELP_STARS_TO_CLASS = {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}
#: where the course files live on GitHub (used only when the repository's data/ folder is absent, e.g. Colab)
RAW_DATA_URL = "https://raw.githubusercontent.com/transfer-learning-course/transfer-learning-course/main/data"


@dataclass
class TextSet:
    """Texts with integer labels (and their ids): one split of a dataset, or a whole evaluation set."""

    texts: list[str]
    labels: np.ndarray
    ids: list[str]
    class_names: tuple[str, ...]
    extra: dict[str, list] = field(default_factory=dict)   # further columns, e.g. product_type

    def __len__(self) -> int:
        return len(self.texts)

    def label_names(self) -> list[str]:
        return [self.class_names[int(i)] for i in self.labels]


@dataclass
class TextTask:
    """A text classification task with fixed train / validation / test splits."""

    name: str
    lang: str
    class_names: tuple[str, ...]
    train: TextSet
    val: TextSet
    test: TextSet
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.val), "test": len(self.test)}


def data_dir() -> Path:
    """The course's ``data/`` folder: ``TLKIT_DATA_DIR`` or the repository's own ``data/``."""
    env = os.environ.get("TLKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "data"


def _check_lang(lang: str) -> str:
    if not isinstance(lang, str) or not lang.isalpha() or not 2 <= len(lang) <= 3:
        raise ValueError(f"lang must be a language code such as 'en' or 'ru', got {lang!r}")
    return lang.lower()


def _course_file(folder: str, filename: str) -> Path:
    """A course data file: from the repository, else downloaded from GitHub (full profile only)."""
    local = data_dir() / folder / filename
    if local.exists():
        return local
    if get_profile() == "quick":
        available = sorted(p.name for p in (data_dir() / folder).glob("*.csv")) if (data_dir() / folder).exists() else []
        raise ValueError(f"no course data file {local} (available: {available or 'none'}); "
                         f"run from a clone of the course repository or set TLKIT_DATA_DIR")
    net.require_online("raw.githubusercontent.com", f"course data file {folder}/{filename}")
    import keras

    with net.download_guard(f"course data file {folder}/{filename}"):
        path = keras.utils.get_file(f"tlkit_{folder}_{filename}", f"{RAW_DATA_URL}/{folder}/{filename}",
                                    cache_subdir="datasets")
    return Path(path)


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; expected {list(required)}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def _to_ids(names: Sequence[str], class_names: Sequence[str], where: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(class_names)}
    bad = sorted({n for n in names if n not in index})
    if bad:
        raise ValueError(f"{where}: unknown labels {bad}; expected {list(class_names)}")
    return np.array([index[n] for n in names], dtype=np.int64)


def course_reviews(lang: str = "en") -> TextTask:
    """The course-authored reviews ``data/reviews/reviews_{lang}.csv`` with their fixed split."""
    lang = _check_lang(lang)
    path = _course_file("reviews", f"reviews_{lang}.csv")
    rows = _read_csv(path, ("id", "split", "label", "product_type", "text"))
    bad = sorted({r["split"] for r in rows} - set(SPLITS))
    if bad:
        raise ValueError(f"{path}: unknown splits {bad}; expected {list(SPLITS)}")
    sets = {}
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        sets[split] = TextSet(texts=[r["text"] for r in part],
                              labels=_to_ids([r["label"] for r in part], REVIEW_CLASSES, str(path)),
                              ids=[r["id"] for r in part], class_names=REVIEW_CLASSES,
                              extra={"product_type": [r["product_type"] for r in part]})
    return TextTask(f"course_reviews_{lang}", lang, REVIEW_CLASSES, sets["train"], sets["validation"],
                    sets["test"], source=f"course-authored reviews ({path.name}, CC BY 4.0)")


def _yelp_dir() -> Path:
    """Download (once, MD5-checked) and extract the Yelp archive; the folder holding train.csv/test.csv."""
    what = "the Yelp Review Full dataset (yelp_review_full_csv.tgz, 196 MB)"
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    found = list(cache.glob("yelp_review_full_csv*/**/train.csv")) if cache.exists() else []
    if found:
        return found[0].parent
    net.require_online("s3.amazonaws.com", what)
    import keras

    with net.download_guard(what):
        path = keras.utils.get_file("yelp_review_full_csv.tgz", YELP_URL, file_hash=YELP_MD5,
                                    hash_algorithm="md5", extract=True)
    root = Path(path)
    hits = list(root.glob("**/train.csv")) if root.is_dir() else list(root.parent.glob("yelp_review_full_csv*/**/train.csv"))
    if not hits:
        raise RuntimeError(f"extracted {what} but found no train.csv under {root}")
    return hits[0].parent


def _yelp_rows(path: Path) -> tuple[list[str], np.ndarray]:
    texts, stars = [], []
    csv.field_size_limit(10_000_000)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            if len(row) < 2:
                continue
            texts.append(" ".join(row[1:]).replace("\\n", " ").replace('\\"', '"').strip())
            stars.append(int(row[0]))
    return texts, np.asarray(stars)


def stars_to_class(stars: Sequence[int]) -> np.ndarray:
    """Star ratings 1..5 -> class ids of :data:`REVIEW_CLASSES` (1-2 negative, 3 neutral, 4-5 positive)."""
    s = np.asarray(stars)
    if s.ndim != 1 or not np.issubdtype(s.dtype, np.integer) or (len(s) and (s.min() < 1 or s.max() > 5)):
        raise ValueError(f"stars: expected a 1-D array of integers 1..5, got {s!r:.80}")
    return np.array([YELP_STARS_TO_CLASS[int(v)] for v in s], dtype=np.int64)


def _balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator, num_classes: int) -> np.ndarray:
    idx = []
    for c in range(num_classes):
        pool = np.flatnonzero(labels == c)
        if len(pool) < per_class:
            raise ValueError(f"class {c} has only {len(pool)} examples, {per_class} requested")
        idx.append(rng.choice(pool, per_class, replace=False))
    out = np.concatenate(idx)
    rng.shuffle(out)
    return out


def yelp_reviews(train_per_class: int, val_per_class: int, test_per_class: int, seed: int = 0,
                 directory: str | Path | None = None) -> TextTask:
    """Real Yelp reviews mapped to 3 classes, a balanced subsample (validation is carved out of train).

    ``directory`` may point at an extracted ``yelp_review_full_csv`` folder (used by the tests).
    """
    for name, v in (("train_per_class", train_per_class), ("val_per_class", val_per_class),
                    ("test_per_class", test_per_class)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    folder = Path(directory) if directory is not None else _yelp_dir()
    rng = np.random.default_rng(seed)
    tr_texts, tr_stars = _yelp_rows(folder / "train.csv")
    te_texts, te_stars = _yelp_rows(folder / "test.csv")
    tr_y, te_y = stars_to_class(tr_stars), stars_to_class(te_stars)
    k = len(REVIEW_CLASSES)
    pick = _balanced(tr_y, train_per_class + val_per_class, rng, k)
    # split the pick by class so validation is balanced too
    val_idx = np.concatenate([pick[tr_y[pick] == c][:val_per_class] for c in range(k)])
    val_set = set(val_idx.tolist())
    train_idx = np.array([i for i in pick if i not in val_set])
    test_idx = _balanced(te_y, test_per_class, rng, k)

    def subset(texts, y, idx, prefix):
        return TextSet([texts[i] for i in idx], y[idx], [f"{prefix}{i}" for i in idx], REVIEW_CLASSES)

    return TextTask("yelp_reviews_en", "en", REVIEW_CLASSES, subset(tr_texts, tr_y, train_idx, "yelp-train-"),
                    subset(tr_texts, tr_y, val_idx, "yelp-train-"), subset(te_texts, te_y, test_idx, "yelp-test-"),
                    source="Yelp Review Full (Zhang et al. 2015) via fast.ai, stars 1-2/3/4-5")


def load_reviews(lang: str = "en", source: str | None = None, profile: str | None = None) -> TextTask:
    """3-class review sentiment (negative / neutral / positive) with fixed splits.

    ``source``: ``"course"`` (the course-authored reviews, offline) or ``"yelp"`` (real Yelp reviews,
    English only, downloaded). Default: ``course`` in the quick profile; ``yelp`` in the full profile
    for English, ``course`` for other languages (Yelp has none).
    """
    lang = _check_lang(lang)
    prof = profile or get_profile()
    if source is None:
        source = "yelp" if (prof == "full" and lang == "en") else "course"
    if source not in ("course", "yelp"):
        raise ValueError(f"source must be 'course' or 'yelp', got {source!r}")
    if source == "course":
        return course_reviews(lang)
    if lang != "en":
        raise ValueError(f"the Yelp reviews are English only, got lang={lang!r}; use source='course'")
    b = budget(prof)
    return yelp_reviews(b.txt_train_per_class, b.txt_val_per_class, b.txt_test_per_class, seed=0)


def load_emails(lang: str = "en") -> TextSet:
    """The course's customer-support e-mails (evaluation set; classes :data:`EMAIL_CLASSES`).

    ``texts`` are the subject and body joined by a blank line (body only when there is no subject);
    ``extra`` holds ``subject``, ``body``, ``ambiguous`` (0/1) and ``product_type``.
    """
    lang = _check_lang(lang)
    path = _course_file("emails", f"emails_{lang}.csv")
    rows = _read_csv(path, ("id", "label", "ambiguous", "product_type", "subject", "body"))
    texts = [f"{r['subject']}\n\n{r['body']}" if r["subject"].strip() else r["body"] for r in rows]
    return TextSet(texts=texts, labels=_to_ids([r["label"] for r in rows], EMAIL_CLASSES, str(path)),
                   ids=[r["id"] for r in rows], class_names=EMAIL_CLASSES,
                   extra={"subject": [r["subject"] for r in rows], "body": [r["body"] for r in rows],
                          "ambiguous": [int(r["ambiguous"]) for r in rows],
                          "product_type": [r["product_type"] for r in rows]})
