"""Real photos offline: the Tux Paint stamp photos (Debian ``tuxpaint-stamps-default``, GPL-2).

The package installs ~800 cut-out pictures (PNG with transparency) in topic folders under
``/usr/share/tuxpaint/stamps/``; most are real photos. :func:`photo_task` turns 10 topic folders into a
labelled task (cartoon and toy sub-folders skipped): each picture is composited on a plain mid-grey
background (127: zero after EfficientNet's input scaling), padded to a square (aspect ratio kept) and
resized to ``image_size``. The train/test split is fixed, stratified and **grouped**: a picture and its
variants (a ``_mirror`` copy, a recoloured copy: :func:`photo_group`) always land on the same side; in every
class the first groups by path train until they hold half of the class's pictures (rounded up), the rest test.
:func:`heldout_photos` gives pictures of *other* topics (no labels), never used for training.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .data import ImageTask

APT_PACKAGE = "tuxpaint-stamps-default"
INSTALL = f"sudo apt-get install -y --no-install-recommends {APT_PACKAGE}"
STAMPS_DIR = Path(os.environ.get("TLKIT_TUXPAINT_STAMPS", "/usr/share/tuxpaint/stamps"))

#: class name -> stamp folder (relative to STAMPS_DIR)
PHOTO_CLASSES: dict[str, str] = {
    "mammal": "animals/mammals", "bird": "animals/birds", "fish": "animals/fish", "insect": "animals/insects",
    "fruit": "food/fruit", "vegetable": "food/vegetables", "flower": "plants/flowers", "clothing": "clothes",
    "tool": "household/tools", "vehicle": "vehicles",
}
#: folders of the held-out pictures (topics that are not classes of the task)
HELDOUT_FOLDERS = ("town", "food/dessert", "household/dishes", "hobbies/music", "sports", "medical",
                   "plants/trees", "plants/mushrooms", "animals/shellfish", "animals/amphibians", "animals/lizards")
SKIP_PARTS = ("cartoon", "toys")
#: pictures that are variants of another one although their names do not say so (the same cut-out recoloured,
#: or the same template drawing), found by the flip-invariant near-duplicate search of
#: ``tests/test_duplicates.py``: variant -> the picture whose group it joins (paths relative to STAMPS_DIR)
VARIANTS: dict[str, str] = {
    "food/fruit/apple_red.png": "food/fruit/apple_green.png",      # the same apple, recoloured
    "clothes/t_tshirt.png": "clothes/t_poloshirt.png",             # the same shirt template without a collar
}


def stamps_dir() -> Path:
    """The stamp folder, or FileNotFoundError naming the install command."""
    if not (STAMPS_DIR / "animals").is_dir():
        raise FileNotFoundError(
            f"the Tux Paint stamp photos are not installed (looked in {STAMPS_DIR}). Install them offline with "
            f"`{INSTALL}` (218 MB, GPL-2), or point TLKIT_TUXPAINT_STAMPS at a copy of the stamps folder.")
    return STAMPS_DIR


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.png") if not any(s in p.relative_to(folder).parts for s in SKIP_PARTS))


def load_photo(path: str | Path, image_size: int, background: int = 127) -> np.ndarray:
    """One stamp as ``(image_size, image_size, 3)`` uint8: alpha composited on a plain grey ``background``,
    padded to a square (aspect ratio kept), resized with a high-quality filter."""
    from PIL import Image

    if not isinstance(image_size, (int, np.integer)) or isinstance(image_size, bool) or image_size < 8:
        raise ValueError(f"image_size must be an integer >= 8, got {image_size!r}")
    if not 0 <= int(background) <= 255:
        raise ValueError(f"background must be a grey level 0..255, got {background}")
    im = Image.open(path).convert("RGBA")
    side = max(im.size)
    canvas = Image.new("RGBA", (side, side), (background,) * 3 + (255,))
    canvas.alpha_composite(im, ((side - im.size[0]) // 2, (side - im.size[1]) // 2))
    rgb = canvas.convert("RGB").resize((int(image_size), int(image_size)), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


def _split(n: int) -> int:
    """Training images of a class with ``n`` pictures: the first half, rounded up."""
    return (n + 1) // 2


def photo_group(path: str | Path, root: str | Path | None = None) -> str:
    """The group of a picture: its path relative to ``root`` without a ``_mirror`` suffix, or the picture it is
    a listed variant of (:data:`VARIANTS`). A group never straddles the train/test split."""
    p = Path(path)
    rel = p.relative_to(root).as_posix() if root is not None else p.as_posix()
    rel = VARIANTS.get(rel, rel)
    stem = re.sub(r"_mirror$", "", Path(rel).stem)
    return (Path(rel).parent / stem).as_posix()


def grouped_split(files: list[Path], root: str | Path | None = None) -> tuple[list[Path], list[Path]]:
    """``(train, test)`` of one class: whole groups (:func:`photo_group`) in order of their first picture by path
    go to train until it holds half the pictures (rounded up); every later group tests."""
    groups: dict[str, list[Path]] = {}
    for f in sorted(files):
        groups.setdefault(photo_group(f, root), []).append(f)
    train: list[Path] = []
    test: list[Path] = []
    want = _split(len(files))
    for members in groups.values():
        (train if len(train) < want else test).extend(members)
    return train, test


def photo_task(image_size: int = 96, background: int = 127) -> ImageTask:
    """The 10-class photo task (``mammal`` ... ``vehicle``), fixed stratified train/test split."""
    root = stamps_dir()
    xa, ya, xb, yb = [], [], [], []
    for c, folder in enumerate(PHOTO_CLASSES.values()):
        files = _files(root / folder)
        if len(files) < 4:
            raise FileNotFoundError(f"{root / folder} holds {len(files)} pictures; reinstall with `{INSTALL}`")
        train, test = grouped_split(files, root)
        xa += [load_photo(f, image_size, background) for f in train]
        ya += [c] * len(train)
        xb += [load_photo(f, image_size, background) for f in test]
        yb += [c] * len(test)
    return ImageTask("tuxpaint_photos", np.stack(xa), np.array(ya, np.int64), np.stack(xb), np.array(yb, np.int64),
                     tuple(PHOTO_CLASSES))


def photo_groups(split: str = "train") -> np.ndarray:
    """The group (:func:`photo_group`) of every picture of :func:`photo_task`'s ``split``, in the task's order: a
    validation split carved from the training photos keeps each group on one side."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = stamps_dir()
    out: list[str] = []
    for folder in PHOTO_CLASSES.values():
        train, test = grouped_split(_files(root / folder), root)
        out += [photo_group(f, root) for f in (train if split == "train" else test)]
    return np.array(out)


def heldout_photos(image_size: int = 96, background: int = 127) -> np.ndarray:
    """Pictures of other topics (town, desserts, dishes, music, sports, ...): never a class, never trained on."""
    root = stamps_dir()
    files = [f for d in HELDOUT_FOLDERS if (root / d).is_dir() for f in _files(root / d)]
    if not files:
        raise FileNotFoundError(f"no held-out pictures under {root}; reinstall with `{INSTALL}`")
    return np.stack([load_photo(f, image_size, background) for f in files])


def class_counts(task: ImageTask) -> dict[str, tuple[int, int]]:
    """``{class: (train images, test images)}``: for the data card."""
    return {name: (int(np.sum(task.y_train == c)), int(np.sum(task.y_test == c)))
            for c, name in enumerate(task.class_names)}
