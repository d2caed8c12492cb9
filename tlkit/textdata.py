"""Text datasets of the course: product reviews (3-class sentiment) and customer-support e-mails.

* quick: the course-authored reviews ``data/reviews/reviews_{lang}.csv`` (960 English reviews with a
  fixed train/validation/test split) and e-mails ``data/emails/emails_{lang}.csv`` - offline.
* full:  real Yelp reviews (``yelp_review_full_csv.tgz``, 650k reviews with 1-5 stars; the same
  archive fast.ai and torchtext use), downloaded once with an MD5 check and mapped to three classes:
  1-2 stars -> negative, 3 -> neutral, 4-5 -> positive; a balanced subsample per the profile's budget.
* full, Russian and Korean (notebook 05): RuReviews (Smetanin & Komarov 2019; 90k women's clothing and
  accessories reviews in Russian, negative / neutral / positive) and NSMC (Naver sentiment movie corpus;
  150k + 50k Korean movie reviews, negative / positive), downloaded once from their GitHub repositories.

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
from .sources import source

REVIEW_CLASSES = ("negative", "neutral", "positive")
EMAIL_CLASSES = ("refund_request", "quality_complaint", "product_question")
SPLITS = ("train", "validation", "test")

# Download URLs, the Yelp MD5 and per-star counts, the RuReviews / NSMC row counts: the sources table
# (tlkit.sources: "yelp", "rureviews", "nsmc_train", "nsmc_test", "course_data").
#: stars (1..5) -> class id of REVIEW_CLASSES
YELP_STARS_TO_CLASS = {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}
#: the labels RuReviews uses (its file spells neutral "neautral") -> class names
RUREVIEWS_LABELS = {"negative": "negative", "neautral": "neutral", "neutral": "neutral", "positive": "positive"}
NSMC_CLASSES = ("negative", "positive")


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
    src = source("course_data")
    if src.host:
        net.require_online(src.host, f"course data file {folder}/{filename}")
    import keras

    with net.download_guard(f"course data file {folder}/{filename}"):
        path = keras.utils.get_file(f"tlkit_{folder}_{filename}", f"{src.url}/{folder}/{filename}",
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
    src = source("yelp")
    what = src.what
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    found = list(cache.glob("yelp_review_full_csv*/**/train.csv")) if cache.exists() else []
    if found:
        return found[0].parent
    url, md5 = src.url, src.md5
    net.require_url(url, what)
    import keras

    with net.download_guard(what):
        path = keras.utils.get_file("yelp_review_full_csv.tgz", url, file_hash=md5, hash_algorithm="md5",
                                    extract=True, cache_dir=str(cache.parent), cache_subdir="datasets")
    root = Path(path)
    hits = list(root.glob("**/train.csv")) if root.is_dir() else list(root.parent.glob("yelp_review_full_csv*/**/train.csv"))
    if not hits:
        raise RuntimeError(f"extracted {what} but found no train.csv under {root}")
    return hits[0].parent


def _yelp_rows(path: Path, verify: bool = False) -> tuple[list[str], np.ndarray]:
    """(texts, stars) of one Yelp CSV. ``verify``: the file must hold exactly ``source("yelp").per_split``
    reviews of every star (the published counts) - a truncated or damaged extraction is an error naming the fix."""
    texts, stars = [], []
    csv.field_size_limit(10_000_000)
    fix = (f"the extracted file {path} is truncated or damaged; delete the folder {path.parent} and run again "
           f"(the archive is MD5-checked and extracted afresh)")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                if len(row) < 2:
                    continue
                texts.append(" ".join(row[1:]).replace("\\n", " ").replace('\\"', '"').strip())
                stars.append(int(row[0]))
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise RuntimeError(f"{fix} ({type(exc).__name__}: {exc})") from None
    stars_arr = np.asarray(stars)
    if verify:
        want = source("yelp").per_split[path.name]
        counts = np.bincount(stars_arr[(stars_arr >= 1) & (stars_arr <= 5)], minlength=6)[1:].tolist()
        if len(stars_arr) != 5 * want or counts != [want] * 5:
            raise RuntimeError(f"{fix}: it has {len(stars_arr)} reviews (per star {counts}), "
                               f"expected {5 * want} ({want} per star, Zhang et al. 2015)")
    return texts, stars_arr


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
    _check_per_class(train_per_class=train_per_class, val_per_class=val_per_class, test_per_class=test_per_class)
    folder = Path(directory) if directory is not None else _yelp_dir()
    rng = np.random.default_rng(seed)
    tr_texts, tr_stars = _yelp_rows(folder / "train.csv", verify=directory is None)   # the download is verified
    te_texts, te_stars = _yelp_rows(folder / "test.csv", verify=directory is None)
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
                    source=source("yelp").label)


# ---------------------------------------------------------------------------- real Russian and Korean reviews
def _sha_sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def download_checked(filename: str, url: str, what: str, min_rows: int) -> Path:
    """Download ``url`` once into the Keras dataset cache and keep it honest.

    These corpora publish no checksum, so the first complete download (at least ``min_rows`` lines,
    the size the authors document) has its SHA-256 recorded next to it; every later load verifies
    the file against that record and deletes a file that changed (a truncated or corrupted cache),
    asking for a fresh download. Offline: :class:`tlkit.net.OfflineError` within seconds, naming
    ``TLKIT_PROFILE=quick``.
    """
    from .profile import sha256_file

    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    path = cache / filename
    side = _sha_sidecar(path)
    if path.exists() and side.exists():
        if sha256_file(path) == side.read_text().strip():
            return path
        path.unlink()
        side.unlink()
        raise RuntimeError(f"{what}: the cached file {path} changed since it was downloaded (corrupted?); "
                           f"it was deleted - run again to download it afresh")
    net.require_url(url, what)
    import keras

    with net.download_guard(what):
        # cache_dir given explicitly: Keras reads KERAS_HOME once, when it is imported
        got = Path(keras.utils.get_file(filename, url, cache_dir=str(cache.parent), cache_subdir="datasets",
                                        force_download=path.exists()))
    with open(got, encoding="utf-8", errors="replace") as f:
        rows = sum(1 for _ in f)
    if rows < min_rows:
        got.unlink()
        raise RuntimeError(f"{what}: downloaded {rows} lines from {url}, expected at least {min_rows} "
                           f"(an incomplete download?); run again")
    _sha_sidecar(got).write_text(sha256_file(got) + "\n")
    return got


def _script_ok(text: str, lang: str) -> bool:
    """The text has a letter of ``lang``'s script and at least half of its letters are in it."""
    from .crosslingual import LANG_SCRIPTS, script_counts

    counts = script_counts(text)
    ours = counts.get(LANG_SCRIPTS[lang], 0)
    return ours > 0 and ours >= 0.5 * sum(counts.values())


def read_rureviews(path: str | Path) -> tuple[list[str], list[str]]:
    """RuReviews' tab-separated file (columns ``review``, ``sentiment``) -> texts and class names.

    Texts without Cyrillic letters (e.g. only emoji or Latin) are dropped; duplicates are kept once.
    """
    csv.field_size_limit(10_000_000)
    texts, labels, seen = [], [], set()
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in ("review", "sentiment") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; expected RuReviews' 'review' and 'sentiment'")
        for row in reader:
            lab = (row["sentiment"] or "").strip().lower()
            if lab not in RUREVIEWS_LABELS:
                raise ValueError(f"{path}: unknown label {row['sentiment']!r}; expected {sorted(RUREVIEWS_LABELS)}")
            text = " ".join((row["review"] or "").split())
            if text and text not in seen and _script_ok(text, "ru"):
                seen.add(text)
                texts.append(text)
                labels.append(RUREVIEWS_LABELS[lab])
    if not texts:
        raise ValueError(f"{path}: no Russian reviews found")
    return texts, labels


def read_nsmc(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """An NSMC file (tab-separated ``id``, ``document``, ``label`` 0/1) -> ids, texts, labels.

    Empty documents and documents without Hangul letters are dropped.
    """
    ids, texts, labels = [], [], []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:3] != ["id", "document", "label"]:
            raise ValueError(f"{path}: header {header}; expected NSMC's ['id', 'document', 'label']")
        for line_no, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[2] not in ("0", "1"):
                raise ValueError(f"{path}, line {line_no}: expected 'id<TAB>document<TAB>0|1', got {line[:80]!r}")
            text = " ".join(parts[1].split())
            if text and _script_ok(text, "ko"):
                ids.append(parts[0])
                texts.append(text)
                labels.append(int(parts[2]))
    if not texts:
        raise ValueError(f"{path}: no Korean reviews found")
    return ids, texts, np.asarray(labels, dtype=np.int64)


def _check_per_class(**sizes: int) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _subset(texts: Sequence[str], y: np.ndarray, ids: Sequence[str], idx: np.ndarray,
            classes: tuple[str, ...]) -> TextSet:
    return TextSet([texts[i] for i in idx], y[idx], [ids[i] for i in idx], classes)


def rureviews(train_per_class: int, val_per_class: int, test_per_class: int,
              classes: Sequence[str] = REVIEW_CLASSES, seed: int = 0, path: str | Path | None = None) -> TextTask:
    """Real Russian product reviews (RuReviews), a balanced subsample with disjoint train / validation / test.

    ``classes`` picks and orders the classes, e.g. ``("negative", "positive")`` to match a two-class
    target language (the neutral reviews are then left out). ``path``: a local copy of the file (tests).
    """
    _check_per_class(train_per_class=train_per_class, val_per_class=val_per_class, test_per_class=test_per_class)
    classes = tuple(classes)
    bad = [c for c in classes if c not in REVIEW_CLASSES]
    if len(classes) < 2 or bad or len(set(classes)) != len(classes):
        raise ValueError(f"classes: expected two or three distinct names of {REVIEW_CLASSES}, got {classes}")
    ru = source("rureviews")
    src = Path(path) if path is not None else download_checked(
        "rureviews_women_clothing_3class_balanced.csv", ru.url, ru.what, ru.min_rows)
    texts, names = read_rureviews(src)
    keep = [i for i, n in enumerate(names) if n in classes]
    texts = [texts[i] for i in keep]
    y = _to_ids([names[i] for i in keep], classes, str(src))
    ids = [f"rureviews-{i}" for i in keep]
    rng = np.random.default_rng(seed)
    pick = _balanced(y, train_per_class + val_per_class + test_per_class, rng, len(classes))
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in range(len(classes)):
        mine = pick[y[pick] == c]
        parts["test"].append(mine[:test_per_class])
        parts["val"].append(mine[test_per_class:test_per_class + val_per_class])
        parts["train"].append(mine[test_per_class + val_per_class:])
    sets = {k: _subset(texts, y, ids, rng.permutation(np.concatenate(v)), classes) for k, v in parts.items()}
    return TextTask("rureviews_ru", "ru", classes, sets["train"], sets["val"], sets["test"],
                    source=ru.label)


def nsmc(train_per_class: int, val_per_class: int, test_per_class: int, seed: int = 0,
         directory: str | Path | None = None) -> TextTask:
    """Real Korean movie reviews (NSMC, negative / positive), a balanced subsample.

    Train and validation come from ``ratings_train.txt``, test from ``ratings_test.txt``.
    ``directory``: a folder holding local copies of both files (tests).
    """
    _check_per_class(train_per_class=train_per_class, val_per_class=val_per_class, test_per_class=test_per_class)
    files = {}
    for split in ("train", "test"):
        if directory is not None:
            files[split] = Path(directory) / f"ratings_{split}.txt"
        else:
            src = source(f"nsmc_{split}")
            files[split] = download_checked(f"nsmc_ratings_{split}.txt", src.url, src.what, src.min_rows)
    rng = np.random.default_rng(seed)
    tr_ids, tr_texts, tr_y = read_nsmc(files["train"])
    te_ids, te_texts, te_y = read_nsmc(files["test"])
    pick = _balanced(tr_y, train_per_class + val_per_class, rng, 2)
    val_idx = np.concatenate([pick[tr_y[pick] == c][:val_per_class] for c in range(2)])
    train_idx = np.setdiff1d(pick, val_idx)
    test_idx = _balanced(te_y, test_per_class, rng, 2)
    tr_ids = [f"nsmc-{i}" for i in tr_ids]
    te_ids = [f"nsmc-{i}" for i in te_ids]
    return TextTask("nsmc_ko", "ko", NSMC_CLASSES, _subset(tr_texts, tr_y, tr_ids, rng.permutation(train_idx), NSMC_CLASSES),
                    _subset(tr_texts, tr_y, tr_ids, rng.permutation(val_idx), NSMC_CLASSES),
                    _subset(te_texts, te_y, te_ids, test_idx, NSMC_CLASSES),
                    source=source("nsmc_test").label)


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
