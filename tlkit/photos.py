"""Real photos offline: the Tux Paint stamp photos (Debian ``tuxpaint-stamps-default``, GPL-2).

The package installs ~800 cut-out pictures (PNG with transparency) in topic folders under
``/usr/share/tuxpaint/stamps/``; most are real photos. :func:`photo_task` turns 10 topic folders into a
labelled task (cartoon and toy sub-folders skipped): each picture is composited on a plain mid-grey
background (127: zero after EfficientNet's input scaling), padded to a square (aspect ratio kept) and
resized to ``image_size``. The train/test split is fixed and
stratified: the first half of every class (sorted by path, rounded up) trains, the rest tests.
:func:`heldout_photos` gives pictures of *other* topics (no labels), never used for training.
"""
from __future__ import annotations

import os
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


def photo_task(image_size: int = 96, background: int = 127) -> ImageTask:
    """The 10-class photo task (``mammal`` ... ``vehicle``), fixed stratified train/test split."""
    root = stamps_dir()
    xa, ya, xb, yb = [], [], [], []
    for c, folder in enumerate(PHOTO_CLASSES.values()):
        files = _files(root / folder)
        if len(files) < 4:
            raise FileNotFoundError(f"{root / folder} holds {len(files)} pictures; reinstall with `{INSTALL}`")
        images = [load_photo(f, image_size, background) for f in files]
        cut = _split(len(images))
        xa += images[:cut]
        ya += [c] * cut
        xb += images[cut:]
        yb += [c] * (len(images) - cut)
    return ImageTask("tuxpaint_photos", np.stack(xa), np.array(ya, np.int64), np.stack(xb), np.array(yb, np.int64),
                     tuple(PHOTO_CLASSES))


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
