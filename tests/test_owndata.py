"""Your own data (tlkit.owndata): clear errors for bad folders and CSVs, a grouped split with no picture or
variant in two splits, a stratified text split without duplicate leaks, and the course's example layouts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tlkit import owndata


def _img(path, colour=(200, 10, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 12), colour).save(path)


def _folder(root, classes=("cats", "dogs"), n=6, variants=True):
    for c in classes:
        for i in range(n):
            _img(root / c / f"{c}{i}.png", (i * 20, 10, 10))
            if variants:
                _img(root / c / f"{c}{i}_mirror.png", (i * 20, 10, 11))
    return root


def test_image_group_keeps_variants_together():
    g = owndata.image_group
    assert g("x/cats/tom.png") == g("x/cats/tom_mirror.png") == g("x/cats/tom (2).png") == g("x/cats/Tom_copy.PNG")
    assert g("x/cats/tom.png") != g("x/dogs/tom.png") and g("x/cats/tom.png") != g("x/cats/tim.png")


def test_bad_folders_get_messages_that_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="IMAGE_DIR"):
        owndata.check_image_folder(tmp_path / "none")
    one = _folder(tmp_path / "one", classes=("cats",))
    with pytest.raises(ValueError, match="at least two"):
        owndata.check_image_folder(one)
    empty = _folder(tmp_path / "empty")
    (empty / "birds").mkdir()
    with pytest.raises(ValueError, match=r"fewer than 3 images.*'birds': 0"):
        owndata.check_image_folder(empty)
    junk = _folder(tmp_path / "junk")
    (junk / "cats" / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"not images \(\['cats/notes.txt'\]\)"):
        owndata.check_image_folder(junk)
    broken = _folder(tmp_path / "broken")
    (broken / "dogs" / "bad.jpg").write_bytes(b"not really a jpeg")
    with pytest.raises(ValueError, match=r"cannot be read \(\['dogs/bad.jpg'\]\)"):
        owndata.check_image_folder(broken)
    ok = _folder(tmp_path / "ok")
    (ok / ".DS_Store").write_text("")                      # hidden files are ignored
    assert owndata.check_image_folder(ok) == {"cats": 12, "dogs": 12}


def test_split_is_grouped_stratified_and_reproducible(tmp_path):
    src = _folder(tmp_path / "src", n=10)
    layout = owndata.split_image_folder(src, tmp_path / "split", seed=3)
    assert set(layout) == {"train", "validation", "test"}
    for cls in ("cats", "dogs"):
        assert sum(layout[s][cls] for s in layout) == 20 and all(layout[s][cls] >= 2 for s in layout)
    groups = {s: {owndata.image_group(p.resolve()) for p in (tmp_path / "split" / s).rglob("*.png")} for s in layout}
    assert not (groups["train"] & groups["test"]) and not (groups["validation"] & groups["test"])
    assert not (groups["train"] & groups["validation"])
    files = {s: sorted(p.name for p in (tmp_path / "split" / s).rglob("*.png")) for s in layout}
    owndata.split_image_folder(src, tmp_path / "split", seed=3)          # replaced, same result
    assert files == {s: sorted(p.name for p in (tmp_path / "split" / s).rglob("*.png")) for s in layout}
    with pytest.raises(ValueError, match="fractions"):
        owndata.split_image_folder(src, tmp_path / "x", validation=0.6, test=0.5)
    few = _folder(tmp_path / "few", n=3)
    (few / "cats" / "cats2.png").unlink()
    (few / "cats" / "cats2_mirror.png").unlink()
    (few / "cats" / "cats1_mirror.png").rename(few / "cats" / "cats1_copy.png")
    with pytest.raises(ValueError, match="'cats' has 2 distinct picture"):
        owndata.split_image_folder(few, tmp_path / "y")


def _csv(tmp_path, rows, name="t.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_bad_csvs_get_messages_that_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV_PATH"):
        owndata.check_text_csv(tmp_path / "none.csv")
    no_label = _csv(tmp_path, {"text": ["a", "b"], "stars": [1, 2]})
    with pytest.raises(ValueError, match=r"no column \['label'\] \(its columns: \['text', 'stars'\]\)"):
        owndata.check_text_csv(no_label)
    one = _csv(tmp_path, {"text": list("abcd"), "label": ["x"] * 4})
    with pytest.raises(ValueError, match="at least two"):
        owndata.check_text_csv(one)
    gap = _csv(tmp_path, {"text": ["a", "", "c", "d", "e", "f"], "label": list("xxxyyy")})
    with pytest.raises(ValueError, match="empty text or label"):
        owndata.check_text_csv(gap)
    small = _csv(tmp_path, {"text": list("abcde"), "label": list("xxxyy")})
    with pytest.raises(ValueError, match="fewer than 3 texts"):
        owndata.check_text_csv(small)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(ValueError):
        owndata.check_text_csv(tmp_path / "bin.csv")
    renamed = _csv(tmp_path, {"review": list("abcdef"), "y": list("xxxyyy")})
    assert list(owndata.check_text_csv(renamed, "review", "y").columns) == ["text", "label"]


def test_text_split_is_stratified_and_keeps_duplicates_on_one_side(tmp_path):
    texts = [f"text {i}" for i in range(40)] + ["same words"] * 5
    labels = ["a"] * 20 + ["b"] * 25
    df = owndata.check_text_csv(_csv(tmp_path, {"text": texts, "label": labels}))
    parts = owndata.split_table(df, seed=1)
    assert sum(len(p) for p in parts.values()) == 45
    assert all(set(p["label"]) == {"a", "b"} for p in parts.values())
    sides = [s for s, p in parts.items() if "same words" in set(p["text"])]
    assert len(sides) == 1
    seen = [set(p["text"]) for p in parts.values()]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_example_layouts(tmp_path):
    csv = owndata.example_reviews_csv(tmp_path / "r.csv")
    df = owndata.check_text_csv(csv)
    assert len(df) == 960 and sorted(df["label"].unique()) == ["negative", "neutral", "positive"]
    folder = owndata.example_image_folder(tmp_path / "photos", image_size=32, per_class=3)
    counts = owndata.check_image_folder(folder)
    assert len(counts) == 10 and set(counts.values()) == {3}
    first = next(folder.rglob("*.png"))
    assert np.asarray(Image.open(first)).shape == (32, 32, 3)
    with pytest.raises(ValueError, match="per_class"):
        owndata.example_image_folder(tmp_path / "p2", per_class=-1)


def test_example_reviews_subset(tmp_path):
    df = owndata.check_text_csv(owndata.example_reviews_csv(tmp_path / "r.csv", per_class=4))
    assert df["label"].value_counts().to_dict() == {"negative": 4, "neutral": 4, "positive": 4}
