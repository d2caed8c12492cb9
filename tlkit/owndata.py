"""Your own data (notebook 14): checks that say what is wrong with a folder of images or a CSV of texts and how
to fix it, a grouped train/validation/test split of an image folder, and the course's example data laid out the
way a learner's data usually is (Tux Paint photos as one sub-folder per class; the course reviews as a CSV).

The lesson itself - ``keras.utils.image_dataset_from_directory``, augmentation layers, the frozen base and the
head, early stopping, the second stage, export - is Keras on the page of notebook 14; this module only prepares
and checks the inputs.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

#: the file types ``keras.utils.image_dataset_from_directory`` reads
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SPLITS = ("train", "validation", "test")
#: suffixes that mark a variant of another picture (a flipped, copied or augmented file): kept in its group
VARIANT_SUFFIX = re.compile(r"([_ -](mirror|mirrored|flip|flipped|copy|aug\d*|\d{1,2})| \(\d+\))$", re.IGNORECASE)


def image_group(path: str | Path) -> str:
    """The group of an image file: its class folder and file name without a variant suffix (``cat_mirror.png``,
    ``cat copy.png``, ``cat (2).jpg`` and ``cat.png`` are one group). A group never straddles two splits."""
    p = Path(path)
    stem = p.stem
    while True:
        new = VARIANT_SUFFIX.sub("", stem)
        if new == stem or not new:
            break
        stem = new
    return f"{p.parent.name}/{stem.lower()}"


def check_image_folder(folder: str | Path, min_per_class: int = 3) -> dict[str, int]:
    """``{class: number of images}`` of a folder with one sub-folder per class; a clear error otherwise:
    FileNotFoundError (no such folder), ValueError (fewer than two classes, an empty or too small class, files
    that are not images or cannot be read - each message names the files and the fix)."""
    from PIL import Image, UnidentifiedImageError

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"no image folder {root}: set IMAGE_DIR to a folder with one sub-folder per class")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    loose = sorted(f.name for f in root.iterdir() if f.is_file() and not f.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"{root} has {len(classes)} class folder(s) ({[c.name for c in classes]}); a classifier "
                         f"needs at least two: put each class's images in its own sub-folder, e.g. {root}/cats/, "
                         f"{root}/dogs/" + (f" (files found directly in the folder: {loose[:5]})" if loose else ""))
    counts, not_images, unreadable = {}, [], []
    for d in classes:
        files = sorted(f for f in d.rglob("*") if f.is_file() and not f.name.startswith("."))
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        not_images += [f.relative_to(root).as_posix() for f in files if f.suffix.lower() not in IMAGE_SUFFIXES]
        for f in images:
            try:
                with Image.open(f) as im:
                    im.verify()
            except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
                unreadable.append(f.relative_to(root).as_posix())
        counts[d.name] = len(images)
    if not_images:
        raise ValueError(f"{len(not_images)} file(s) in {root} are not images ({not_images[:5]}): "
                         f"image_dataset_from_directory reads only {', '.join(IMAGE_SUFFIXES)}; move them out")
    if unreadable:
        raise ValueError(f"{len(unreadable)} image file(s) in {root} cannot be read ({unreadable[:5]}): "
                         f"they are damaged or not what their name says; delete or re-export them")
    small = {c: n for c, n in counts.items() if n < min_per_class}
    if small:
        raise ValueError(f"class folder(s) with fewer than {min_per_class} images in {root}: {small}; every class "
                         f"needs images for training, validation and test - add images or remove the folder")
    return counts


def split_image_folder(folder: str | Path, dest: str | Path, validation: float = 0.15, test: float = 0.15,
                       seed: int = 0, group: Callable[[Path], str] = image_group) -> dict[str, dict[str, int]]:
    """Lay out ``folder`` (one sub-folder per class) as ``dest/train``, ``dest/validation`` and ``dest/test``
    (symbolic links, or copies where links are not possible), per class, by whole groups (:func:`image_group`:
    a picture and its variants stay together), shuffled with ``seed``; each split gets at least one group of every
    class. Returns ``{split: {class: images}}``. ``dest`` is replaced."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ValueError(f"validation and test must be fractions with validation + test < 1, got {validation}, {test}")
    counts = check_image_folder(folder)
    root, out = Path(folder).expanduser().resolve(), Path(dest)
    if out.exists():
        shutil.rmtree(out)
    rng = np.random.default_rng(seed)
    layout: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for cls in counts:
        files = sorted(f for f in (root / cls).rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                       and not f.name.startswith("."))
        groups: dict[str, list[Path]] = {}
        for f in files:
            groups.setdefault(group(f), []).append(f)
        if len(groups) < 3:
            raise ValueError(f"class {cls!r} has {len(groups)} distinct picture(s) (variants grouped); it needs at "
                             f"least 3, one for each of train, validation and test - add pictures")
        order = [list(groups)[i] for i in rng.permutation(len(groups))]
        n_val = max(1, round(validation * len(order)))
        n_test = max(1, round(test * len(order)))
        parts = {"validation": order[:n_val], "test": order[n_val:n_val + n_test], "train": order[n_val + n_test:]}
        for split, keys in parts.items():
            target = out / split / cls
            target.mkdir(parents=True, exist_ok=True)
            members = [f for k in keys for f in groups[k]]
            for f in members:
                link = target / f.relative_to(root / cls).as_posix().replace("/", "__")
                try:
                    os.symlink(f, link)
                except OSError:
                    shutil.copy2(f, link)
            layout[split][cls] = len(members)
    return layout


def example_image_folder(dest: str | Path, image_size: int = 160, per_class: int = 0) -> Path:
    """The course's Tux Paint photos (10 topics) written as ``dest/<class>/<name>.png`` - the layout of a
    learner's own folder: composited on grey, square, ``image_size`` pixels; ``_mirror`` copies kept under their
    names (:func:`image_group` keeps them with their original), the two recoloured copies whose names do not say
    so left out. ``per_class`` > 0 keeps only the first pictures of each class (a quick rehearsal)."""
    from PIL import Image

    from .photos import PHOTO_CLASSES, VARIANTS, _files, load_photo, stamps_dir

    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
        raise ValueError(f"per_class must be an int >= 0, got {per_class!r}")
    root, out = stamps_dir(), Path(dest)
    for cls, sub in PHOTO_CLASSES.items():
        (out / cls).mkdir(parents=True, exist_ok=True)
        files = [f for f in _files(root / sub) if f.relative_to(root).as_posix() not in VARIANTS]
        for f in files[:per_class or None]:
            target = out / cls / f"{f.relative_to(root / sub).as_posix().replace('/', '__')}"
            if not target.exists():
                Image.fromarray(load_photo(f, image_size)).save(target)
    return out


def check_text_csv(path: str | Path, text_column: str = "text", label_column: str = "label"):
    """The CSV as a pandas DataFrame with the two columns (texts stripped); a clear error otherwise:
    FileNotFoundError, ValueError (not a CSV, a missing column - naming the columns it has -, empty texts or
    labels, fewer than two classes, a class with fewer than 3 texts)."""
    import pandas as pd

    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"no CSV file {p}: set CSV_PATH to a CSV with a text column and a label column")
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{p} cannot be read as a CSV ({exc}); save it as comma-separated UTF-8") from exc
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise ValueError(f"{p} has no column {missing} (its columns: {list(df.columns)}); name the columns "
                         f"TEXT_COLUMN / LABEL_COLUMN, or rename them in the file")
    df = df[[text_column, label_column]].rename(columns={text_column: "text", label_column: "label"})
    empty = df["text"].isna() | (df["text"].astype(str).str.strip() == "") | df["label"].isna()
    if empty.any():
        raise ValueError(f"{p}: {int(empty.sum())} row(s) with an empty text or label (first: rows "
                         f"{list(df.index[empty][:5] + 2)} counting the header as row 1); fill or delete them")
    df["text"] = df["text"].astype(str).str.strip()
    df["label"] = df["label"].astype(str)
    counts = df["label"].value_counts()
    if len(counts) < 2:
        raise ValueError(f"{p} has {len(counts)} class(es) in column {label_column!r} ({list(counts.index)}); "
                         f"a classifier needs at least two")
    small = counts[counts < 3]
    if len(small):
        raise ValueError(f"{p}: class(es) with fewer than 3 texts: {small.to_dict()}; every class needs texts for "
                         f"training, validation and test")
    return df.reset_index(drop=True)


def split_table(df, validation: float = 0.15, test: float = 0.15, seed: int = 0) -> dict:
    """``{"train"|"validation"|"test": DataFrame}``: stratified by ``label``, shuffled with ``seed``, each split
    holding at least one row of every class; identical texts are kept on one side (no duplicate leaks)."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ValueError(f"validation and test must be fractions with validation + test < 1, got {validation}, {test}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {s: [] for s in SPLITS}
    for _, rows in df.groupby("label", sort=True):
        groups = rows.groupby(rows["text"].str.lower(), sort=True).groups   # identical texts: one group
        keys = [list(groups)[i] for i in rng.permutation(len(groups))]
        n_val, n_test = max(1, round(validation * len(keys))), max(1, round(test * len(keys)))
        for split, ks in (("validation", keys[:n_val]), ("test", keys[n_val:n_val + n_test]),
                          ("train", keys[n_val + n_test:])):
            parts[split] += [int(i) for k in ks for i in groups[k]]
    return {s: df.loc[sorted(idx)].reset_index(drop=True) for s, idx in parts.items()}


def example_reviews_csv(dest: str | Path, lang: str = "en", per_class: int = 0) -> Path:
    """The course reviews (all 960 of a language) written as a plain CSV with ``text`` and ``label`` columns;
    ``per_class`` > 0 keeps only the first reviews of each class (a quick rehearsal)."""
    import pandas as pd

    from .textdata import course_reviews

    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
        raise ValueError(f"per_class must be an int >= 0, got {per_class!r}")
    task = course_reviews(lang)
    texts = [t for part in (task.train, task.val, task.test) for t in part.texts]
    labels = np.concatenate([task.train.labels, task.val.labels, task.test.labels])
    if per_class:
        keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)])
        keep.sort()
        texts, labels = [texts[i] for i in keep], labels[keep]
    out = Path(dest)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": texts, "label": [task.class_names[i] for i in labels]}).to_csv(out, index=False)
    return out
