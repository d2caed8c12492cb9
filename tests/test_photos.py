"""The Tux Paint photo loader: compositing, fixed stratified split, clear error when not installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tlkit import photos


def _fake_stamps(root, per_class: int = 4):
    from PIL import Image

    for c, folder in enumerate(photos.PHOTO_CLASSES.values()):
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            im = Image.new("RGBA", (40, 20), (0, 0, 0, 0))           # transparent, wide
            im.paste((c * 20, 100, 200, 255), (10, 5, 30, 15))       # an opaque coloured patch
            im.save(d / f"s{i}.png")
        (d / "cartoon").mkdir(exist_ok=True)
        Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(d / "cartoon" / "skip.png")
    (root / "town").mkdir(exist_ok=True)
    Image.new("RGBA", (8, 8), (0, 255, 0, 255)).save(root / "town" / "house.png")


def test_fake_stamps_split_and_composite(tmp_path, monkeypatch):
    _fake_stamps(tmp_path, per_class=5)
    monkeypatch.setattr(photos, "STAMPS_DIR", tmp_path)
    task = photos.photo_task(image_size=16, background=255)
    assert task.x_train.shape == (30, 16, 16, 3) and task.x_test.shape == (20, 16, 16, 3)   # 3 + 2 per class
    assert task.class_names == tuple(photos.PHOTO_CLASSES)
    assert photos.class_counts(task)["mammal"] == (3, 2)
    corner = task.x_train[0, 0, 0]
    assert tuple(corner) == (255, 255, 255)        # transparent padding became the plain background
    assert task.x_train.dtype == np.uint8
    again = photos.photo_task(image_size=16, background=255)
    np.testing.assert_array_equal(again.x_test, task.x_test)   # the split is fixed
    assert photos.heldout_photos(16).shape == (1, 16, 16, 3)


def test_missing_package_names_the_apt_command(tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "STAMPS_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as err:
        photos.photo_task(32)
    assert "apt-get install" in str(err.value) and photos.APT_PACKAGE in str(err.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        photos.load_photo(tmp_path / "x.png", 4)
    with pytest.raises(ValueError, match="background"):
        photos.load_photo(tmp_path / "x.png", 32, background=300)


@pytest.mark.skipif(not (photos.STAMPS_DIR / "animals").is_dir(), reason=photos.INSTALL)
def test_real_photo_task_counts():
    task = photos.photo_task(32)
    counts = photos.class_counts(task)
    assert len(counts) == 10 and sum(a + b for a, b in counts.values()) == 238
    assert min(a for a, _ in counts.values()) >= 5          # k = 5 labels per class is drawable
    assert len(photos.heldout_photos(32)) >= 50


def test_variants_stay_in_one_group_and_one_side():
    root = Path("/s")
    files = [root / "v" / n for n in ("a.png", "b.png", "b_mirror.png", "c.png", "d.png")]
    assert photos.photo_group(files[2], root) == photos.photo_group(files[1], root) == "v/b"
    train, test = photos.grouped_split(files, root)
    assert [f.name for f in train] == ["a.png", "b.png", "b_mirror.png"]   # 3 = half of 5 rounded up
    assert [f.name for f in test] == ["c.png", "d.png"]
    # the cut would fall between b and b_mirror if groups were ignored (2 of 4 files)
    train, test = photos.grouped_split(files[:4], root)
    assert {f.name for f in train} >= {"b.png", "b_mirror.png"} or {f.name for f in test} >= {"b.png", "b_mirror.png"}
    assert photos.photo_group(root / "food/fruit/apple_red.png", root) == "food/fruit/apple_green"
