"""The GCompris paintings (tlkit.paintings): Qt resource parser, reassembly with recorded hashes, clear errors;
notebook 12's Gram matrix reference and budget."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from tlkit import paintings, style

REAL = paintings.RCC_PATH.exists()
needs_real = pytest.mark.skipif(not REAL, reason=f"{paintings.APT_PACKAGE} is not installed")


def _write_rcc(path: Path, files: dict[str, tuple[bytes, bool]]) -> Path:
    """A minimal Qt resource file (format 3) holding ``files`` (path -> (bytes, zlib-compress?))."""
    tree: dict = {}
    for p, v in files.items():
        node = tree
        parts = p.strip("/").split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = v
    names, offsets = bytearray(), {}

    def name(n: str) -> int:
        if n not in offsets:
            offsets[n] = len(names)
            names.extend(struct.pack(">HI", len(n), 0) + n.encode("utf-16-be"))
        return offsets[n]

    data, entries = bytearray(), [b""]
    pending = [(0, "", tree)]                # breadth first: a directory's children are consecutive entries
    while pending:
        index, dir_name, node = pending.pop(0)
        first, children = len(entries), sorted(node.items())
        entries.extend([b""] * len(children))
        for k, (n, v) in enumerate(children):
            if isinstance(v, dict):
                pending.append((first + k, n, v))
                continue
            blob, compress = v
            flags = 0
            if compress:
                blob, flags = struct.pack(">I", len(blob)) + zlib.compress(blob), 1
            entries[first + k] = struct.pack(">IHHHI", name(n), flags, 0, 0, len(data)) + b"\0" * 8
            data.extend(struct.pack(">I", len(blob)) + blob)
        entries[index] = struct.pack(">IHII", name(dir_name), 2, len(children), first) + b"\0" * 8
    tree_bytes = b"".join(entries)
    tree_off = 24
    data_off = tree_off + len(tree_bytes)
    names_off = data_off + len(data)
    path.write_bytes(b"qres" + struct.pack(">IIIII", 3, tree_off, data_off, names_off, 0) + tree_bytes + bytes(data)
                     + bytes(names))
    return path


def _piece(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", size, colour + (255,)).save(buf, format="WEBP", lossless=True)
    return buf.getvalue()


_ROOT = "gcompris/src/activities/paintings/resource/"
_BOARD = """QtObject {
   property string instruction: qsTr("Test Painter, Two squares - 2026")
   property var levels : [
      { "pixmapfile" : "image/bg.svg", "type" : "SHAPE_BACKGROUND_IMAGE", "width": 40, "height": 20 },
      { "pixmapfile" : "image/t_a1.webp", "x" : "0.25", "y" : "0.5" },
      { "pixmapfile" : "image/t_b1.webp", "x" : "0.75", "y" : "0.5" }
   ]
}
"""


def _fake(tmp_path: Path) -> Path:
    return _write_rcc(tmp_path / "paintings.rcc", {
        _ROOT + "board/board1_0.qml": (_BOARD.encode(), True),
        _ROOT + "image/t_a1.webp": (_piece((255, 0, 0), (10, 10)), False),
        _ROOT + "image/t_b1.webp": (_piece((0, 0, 255), (10, 10)), False)})


def test_parser_reads_raw_and_zlib_entries_and_reassembles(tmp_path):
    files = paintings.read_rcc(_fake(tmp_path))
    assert set(files) == {"/" + _ROOT + p for p in ("board/board1_0.qml", "image/t_a1.webp", "image/t_b1.webp")}
    board = paintings.boards(files)[1]
    assert board["title"] == "Test Painter, Two squares - 2026"
    assert (board["width"], board["height"]) == (40, 20)
    image = paintings.assemble(files, board)
    # pieces centred at x = 10 and 30 (of 40), y = 10 (of 20), 10 px wide: painted columns 5..14 and 25..34,
    # rows 5..14; the crop keeps the bounding box (transparent gap in between is black)
    assert image.shape == (10, 30, 3)
    assert tuple(image[5, 0]) == (255, 0, 0) and tuple(image[5, -1]) == (0, 0, 255)
    assert tuple(image[5, 15]) == (0, 0, 0)


def test_missing_file_names_the_install_command(tmp_path):
    with pytest.raises(paintings.PaintingsError, match="sudo apt-get install -y --no-install-recommends "
                                                       "gcompris-qt-data"):
        paintings.read_rcc(tmp_path / "nope.rcc")


@pytest.mark.parametrize("content", [b"", b"not a resource file at all", b"qres" + b"\0" * 4])
def test_garbage_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "bad.rcc"
    bad.write_bytes(content)
    with pytest.raises(paintings.PaintingsError, match="gcompris-qt-data"):
        paintings.read_rcc(bad)


def test_truncated_or_damaged_file_is_a_clear_error(tmp_path):
    good = _fake(tmp_path).read_bytes()
    cut = tmp_path / "cut.rcc"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(paintings.PaintingsError, match="gcompris-qt-data"):
        paintings.read_rcc(cut)
    damaged = bytearray(good)
    i = damaged.index(b"x\x9c")                      # the zlib stream of the board file
    damaged[i + 2:i + 12] = b"\xff" * 10
    (tmp_path / "damaged.rcc").write_bytes(bytes(damaged))
    with pytest.raises(paintings.PaintingsError, match="gcompris-qt-data"):
        paintings.read_rcc(tmp_path / "damaged.rcc")


def test_table_is_complete_and_unique():
    assert len(paintings.PAINTINGS) == 22
    assert len(paintings.BY_KEY) == 22
    assert sorted(p.board for p in paintings.PAINTINGS) == list(range(1, 23))
    assert all(len(p.sha256) == 64 for p in paintings.PAINTINGS)


@needs_real
def test_real_file_reassembles_to_the_recorded_hashes():
    images = paintings.load_all(check=False)
    assert list(images) == [p.key for p in paintings.PAINTINGS]
    for p in paintings.PAINTINGS:
        image = images[p.key]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert 290 <= image.shape[1] <= 702 and 360 <= image.shape[0] <= 515, (p.key, image.shape)
        assert paintings.sha256_image(image) == p.sha256, p.key
    assert paintings.load_painting("great_wave", 64).shape == (64, 64, 3)
    assert paintings.boards(paintings.read_rcc())[7]["title"].startswith("Katsushika Hokusai, The Great Wave")


@needs_real
def test_changed_hash_is_a_clear_error(monkeypatch):
    first = paintings.PAINTINGS[0]
    monkeypatch.setattr(paintings, "PAINTINGS", (paintings.Painting(first.key, first.board, first.title, "0" * 64),))
    monkeypatch.setattr(paintings, "_CACHE", {})
    with pytest.raises(paintings.PaintingsError, match="sha256.*--reinstall gcompris-qt-data"):
        paintings.load_all()


def test_unknown_painting_and_bad_size():
    with pytest.raises(KeyError, match="great_wave"):
        paintings.load_painting("no_such_painting")
    with pytest.raises(ValueError, match="size"):
        paintings.square(np.zeros((10, 12, 3), np.uint8), 4)


def test_gram_of_a_known_tensor():
    # one image, 2 x 1 positions, 2 channels: position 1 = (1, 2), position 2 = (3, 4)
    f = np.array([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    g = style.gram_numpy(f)
    assert g.shape == (1, 2, 2)
    np.testing.assert_allclose(g[0], [[(1 + 9) / 2, (2 + 12) / 2], [(2 + 12) / 2, (4 + 16) / 2]])
    with pytest.raises(ValueError, match="batch"):
        style.gram_numpy(np.zeros((2, 3, 4)))


def test_gram_in_keras_ops_matches_numpy():
    from keras import ops

    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype("float32")
    b, h, w, c = x.shape
    f = ops.reshape(x, (b, h * w, c))
    keras_gram = np.asarray(ops.einsum("bnc,bnd->bcd", f, f)) / (h * w)
    np.testing.assert_allclose(keras_gram, style.gram_numpy(x), rtol=1e-5, atol=1e-5)


def test_budget_of_notebook_12():
    from tlkit.profile import _BUDGETS
    from tlkit.rehearsal import rehearsal_budget

    quick, full = _BUDGETS["quick"], _BUDGETS["full"]
    assert quick.st_size <= 160 and full.st_size > quick.st_size
    assert len(quick.st_stylizer_seeds) >= 3
    for b in (quick, full, rehearsal_budget(full)):
        assert b.st_painting in paintings.BY_KEY and all(k in paintings.BY_KEY for k in b.st_grid_paintings)
        assert 1 <= b.st_opt_photos <= b.st_eval_photos
    assert 0 < quick.st_opt_ratio_max < 1 and 0 < quick.st_stylizer_ratio_max < 1 and quick.st_stylizer_drop_min > 0
    assert quick.st_top5_kept_min >= 0.5


def test_style_layers_exist_in_the_loss_networks():
    from tlkit.effnet import build_efficientnet_lite0

    names = {layer.name for layer in build_efficientnet_lite0(None).layers}
    for n in style.QUICK_STYLE_LAYERS + (style.QUICK_CONTENT_LAYER,) + style.QUICK_HELDOUT_LAYERS:
        assert n in names
    assert not set(style.QUICK_HELDOUT_LAYERS) & set(style.QUICK_STYLE_LAYERS + (style.QUICK_CONTENT_LAYER,))
