"""Public-domain paintings offline: the jigsaw boards of GCompris (Debian ``gcompris-qt-data``).

The package installs ``/usr/share/gcompris-qt/rcc/paintings.rcc``, a Qt resource file (format version 3): a header
(``qres``, version, offsets of the tree, the data and the names), a tree of entries (directories and files), the
names in UTF-16, and the file data, some of it zlib-compressed. It holds 22 boards: a QML file per board with the
painting's title, the board size (702 x 515) and every piece (a WebP image with transparency) with the position of
its centre as a fraction of the board. :func:`read_rcc` parses the file, :func:`load_painting` pastes the pieces back
together and crops to the painted area. The sha256 of every reassembled picture (RGB bytes) is recorded in
:data:`PAINTINGS` and checked, so a changed package or a parser bug cannot pass unnoticed.

Licence (Debian's copyright file of gcompris-qt): the images "WebMuseum, GPL-3+"; the artworks themselves are old
enough to be in the public domain. :data:`LICENCE` is the data card's text.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

APT_PACKAGE = "gcompris-qt-data"
INSTALL = f"sudo apt-get install -y --no-install-recommends {APT_PACKAGE}"
RCC_PATH = Path(os.environ.get("TLKIT_PAINTINGS_RCC", "/usr/share/gcompris-qt/rcc/paintings.rcc"))
_ROOT = "/gcompris/src/activities/paintings/resource/"
LICENCE = ("Paintings: the jigsaw boards of GCompris (Debian package gcompris-qt-data, file "
           "/usr/share/gcompris-qt/rcc/paintings.rcc), reassembled by tlkit.paintings. Debian's copyright file lists "
           "the images as \"WebMuseum, GPL-3+\" (GNU General Public License, version 3 or later); the artworks "
           "themselves are in the public domain (their painters died centuries or more than 70 years ago).")


@dataclass(frozen=True)
class Painting:
    """One reassembled board: ``key`` (short name), ``board`` (its number in the package), the artist and title as
    GCompris gives them, and the sha256 of the picture's RGB bytes (height x width x 3, uint8, row-major)."""

    key: str
    board: int
    title: str
    sha256: str


#: every board of the package, reassembled and cropped to the painted area (sha256 of the RGB array's bytes)
PAINTINGS: tuple[Painting, ...] = ()   # filled in below from _TABLE


class PaintingsError(RuntimeError):
    """The paintings file is missing, damaged, or not the one the course was written for."""


def _missing(path: Path, why: str) -> PaintingsError:
    return PaintingsError(f"the GCompris paintings could not be read from {path}: {why}. Install them offline with "
                          f"`{INSTALL}` (Debian/Ubuntu, 44 MB), or point TLKIT_PAINTINGS_RCC at a copy of "
                          f"paintings.rcc.")


def read_rcc(path: str | Path | None = None) -> dict[str, bytes]:
    """Every file in a Qt resource (``.rcc``) file: path inside the resource -> bytes (zlib entries inflated).

    Raises :class:`PaintingsError` naming the install command when the file is missing, is not a Qt resource
    file, or is truncated or damaged."""
    path = Path(path) if path is not None else RCC_PATH
    try:
        d = path.read_bytes()
    except OSError as exc:
        raise _missing(path, f"{type(exc).__name__}: {exc}") from exc
    if len(d) < 20 or d[:4] != b"qres":
        raise _missing(path, "not a Qt resource file (no 'qres' header)")
    version, tree, data, names = struct.unpack(">IIII", d[4:20])
    if version not in (1, 2, 3):
        raise _missing(path, f"unsupported Qt resource format version {version}")
    entry = 14 if version == 1 else 22          # version 2+ adds a last-modified time (8 bytes) per entry
    out: dict[str, bytes] = {}

    def u32(at: int) -> int:
        if at + 4 > len(d):
            raise _missing(path, "truncated (an offset points past the end of the file)")
        return struct.unpack(">I", d[at:at + 4])[0]

    def name(offset: int) -> str:
        at = names + offset
        n = struct.unpack(">H", d[at:at + 2])[0]
        return d[at + 6:at + 6 + 2 * n].decode("utf-16-be")

    def walk(index: int, prefix: str, depth: int) -> None:
        if depth > 32:
            raise _missing(path, "damaged tree (too deep)")
        at = tree + index * entry
        if at + 14 > len(d):
            raise _missing(path, "truncated tree")
        name_offset, flags = struct.unpack(">IH", d[at:at + 6])
        here = prefix + (name(name_offset) if index else "")
        if flags & 2:                            # a directory: child count, first child
            count, first = struct.unpack(">II", d[at + 6:at + 14])
            for child in range(first, first + count):
                walk(child, here + "/", depth + 1)
            return
        offset = u32(at + 10)
        size = u32(data + offset)
        blob = d[data + offset + 4:data + offset + 4 + size]
        if len(blob) != size:
            raise _missing(path, f"truncated data of {here}")
        if flags & 1:                            # zlib: 4-byte uncompressed size, then the zlib stream
            try:
                blob = zlib.decompress(blob[4:])
            except zlib.error as exc:
                raise _missing(path, f"damaged compressed entry {here} ({exc})") from exc
        elif flags & 4:
            raise _missing(path, f"entry {here} is zstd-compressed (not supported)")
        out[here] = blob

    try:
        walk(0, "", 0)
    except (struct.error, UnicodeDecodeError) as exc:
        raise _missing(path, f"damaged resource tree ({exc})") from exc
    return out


def boards(files: dict[str, bytes]) -> dict[int, dict]:
    """Board number -> ``{"title", "width", "height", "pieces": [(file, x, y), ...]}`` from the board QML files."""
    out = {}
    for p, blob in files.items():
        m = re.fullmatch(re.escape(_ROOT) + r"board/board(\d+)_0\.qml", p)
        if not m:
            continue
        q = blob.decode("utf-8")
        title = re.search(r'qsTr\("(.*)"\)', q)
        width, height = re.search(r'"width"\s*:\s*(\d+)', q), re.search(r'"height"\s*:\s*(\d+)', q)
        pieces = re.findall(r'"pixmapfile"\s*:\s*"(image/[^"]+\.webp)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,'
                            r'\s*"y"\s*:\s*"([\d.]+)"', q)
        if not (title and width and height and pieces):
            raise PaintingsError(f"board {m.group(1)} ({p}) does not have the expected layout")
        out[int(m.group(1))] = {"title": title.group(1), "width": int(width.group(1)),
                                "height": int(height.group(1)),
                                "pieces": [(f, float(x), float(y)) for f, x, y in pieces]}
    return out


def assemble(files: dict[str, bytes], board: dict) -> np.ndarray:
    """Paste a board's pieces at their centres and crop to the painted area: ``(h, w, 3)`` uint8."""
    from PIL import Image

    w, h = board["width"], board["height"]
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    for f, x, y in board["pieces"]:
        try:
            piece = Image.open(io.BytesIO(files[_ROOT + f])).convert("RGBA")
        except KeyError as exc:
            raise PaintingsError(f"piece {f} is missing from the resource file") from exc
        canvas.alpha_composite(piece, (round(x * w - piece.size[0] / 2), round(y * h - piece.size[1] / 2)))
    rgba = np.asarray(canvas)
    rows, cols = np.flatnonzero(rgba[..., 3].max(axis=1)), np.flatnonzero(rgba[..., 3].max(axis=0))
    return np.ascontiguousarray(rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1, :3])


def sha256_image(image: np.ndarray) -> str:
    """sha256 of an image's bytes (C order), as recorded in :data:`PAINTINGS`."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


_CACHE: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def load_all(path: str | Path | None = None, check: bool = True) -> dict[str, np.ndarray]:
    """Every painting, key -> ``(h, w, 3)`` uint8 at its native size, in :data:`PAINTINGS` order.

    With ``check`` every picture's sha256 must be the recorded one (:class:`PaintingsError` otherwise)."""
    path = Path(path) if path is not None else RCC_PATH
    key = (str(path), str(check))
    if key in _CACHE:
        return dict(_CACHE[key])
    files = read_rcc(path)
    layout = boards(files)
    out = {}
    for p in PAINTINGS:
        if p.board not in layout:
            raise _missing(path, f"board {p.board} ({p.title}) is not in the file")
        image = assemble(files, layout[p.board])
        if check and sha256_image(image) != p.sha256:
            raise PaintingsError(f"the reassembled painting {p.key!r} ({p.title}) does not have the recorded "
                                 f"sha256 (got {sha256_image(image)[:16]}…): the package {APT_PACKAGE} differs from "
                                 f"the version the course was written for (3.1-2), or the file is damaged. "
                                 f"Reinstall it with `sudo apt-get install --reinstall {APT_PACKAGE}`.")
        out[p.key] = image
    _CACHE[key] = out
    return dict(out)


def load_painting(key: str, size: int | None = None, path: str | Path | None = None) -> np.ndarray:
    """One painting as uint8 RGB: native size, or with ``size`` its central square crop resized to
    ``(size, size, 3)`` (a style is a texture: the crop keeps the strokes at their scale)."""
    if key not in BY_KEY:
        raise KeyError(f"unknown painting {key!r}; expected one of {sorted(BY_KEY)}")
    image = load_all(path)[key]
    if size is None:
        return image
    return square(image, size)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """The central square crop of ``image`` resized to ``(size, size, 3)`` uint8 (Lanczos)."""
    from PIL import Image

    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = Image.fromarray(image[top:top + s, left:left + s])
    return np.asarray(crop.resize((int(size), int(size)), Image.Resampling.LANCZOS), dtype=np.uint8)


# key, board, title (as GCompris gives it), sha256 of the reassembled RGB picture (gcompris-qt-data 3.1-2)
_TABLE: tuple[tuple[str, int, str, str], ...] = (
    ("renoir_moulin", 1, "Pierre-Auguste Renoir, Bal du moulin de la Galette - 1876",   # 602x445
     "6e76c4dc9e5b7130eb225c17b672f33b0a76ee2112d6796cad3f1f4c0c8b94be"),
    ("arcimboldo_spring", 2, "Giuseppe Arcimboldo, Spring - 1573",   # 347x421
     "bd15cf0170402173d3bf61840d456b9fe9c72a2f6a74e9c04d4dd8722db7ab2d"),
    ("arcimboldo_librarian", 3, "Giuseppe Arcimboldo, The Librarian - 1566",   # 304x421
     "d0afa528a469b3af40dff99e66281a50cac2753e1beb3b9a14c20ab63d65d8a0"),
    ("hokusai_oiran", 4, "Katsushika Hokusai, Oiran and Kamuro",   # 306x449
     "b617f9ca9e1a0db5213d5125238828ac331afe20382f8e4c7e33f31b1662dad7"),
    ("hokusai_fan", 5, "Katsushika Hokusai, Woman holding a fan",   # 308x450
     "41b62e6eb9ac43fa53d409bc2531b0e79f3d12f84da693f6e41d6514e63a1b9f"),
    ("hokusai_ejiri", 6, "Katsushika Hokusai, Ejiri in Suruga Province - 1830-1833",   # 662x450
     "d9783c9db1524e4bd7c0b31ec4348f1f8fc0296cdb37d48e8a424bb7ef4189f7"),
    ("great_wave", 7, "Katsushika Hokusai, The Great Wave off Kanagawa - 1823-1829",   # 665x450
     "595b5273d080d00311d44212fdd8bd776f665bb82ed60b1f1361b435dd81259c"),
    ("hiroshige_snow", 8, "Utagawa Hiroshige, The Benzaiten Shrine at Inokashira in Snow - 1760-70",   # 699x450
     "d9b1ccaf320a83ee262bd9c931067a749089ba2e2045d368387f86a1e3f6ed31"),
    ("hiroshige_fish", 9, "Utagawa Hiroshige, Horse-mackerel and Prawn - 1840",   # 702x499
     "8434ed8ecb981293e8c36216d1e647f3d0d55bc2e6f4bf11e1edd652d359ae2e"),
    ("hokusai_bridge", 10, "Katsushika Hokusai, Viewing Sunset over the Ryogoku Bridge from the Ommaya Embankment - 1830",   # 661x450
     "a91a425d07b95bd3e4ea65c15b35b082f767010ba18910a2d557434e00478f54"),
    ("hokusai_poppies", 11, "Katsushika Hokusa, Poppies - 1833-1834",   # 655x451
     "a1cdad33cdc80a6b988f18016fe775f177915ad3a980e0ea73680406493b1822"),
    ("hokusai_kazusa", 12, "Katsushika Hokusai, Kazusa sea Route - 1830.",   # 683x451
     "cdb91f817945b1ea1661493cca75faba0b6bdb940c8037b4277bf64bb452c8f0"),
    ("michelangelo_pieta", 13, "Michelangelo, Pieta - 1499",   # 477x499
     "8babe3ed4de19e8ab7134d867a00929d3788a468e3fe7d2a3abe97c0fd94f78c"),
    ("mona_lisa", 14, "Leonardo da Vinci, Mona Lisa - 1503-19",   # 322x500
     "178b65d18a3187f7c82f62e458dfda8ad221283acd51db9854f4f54bfbcd9edb"),
    ("bellini_pesaro", 15, "Giovanni Bellini, La Pala di Pesaro - 1475-85",   # 680x368
     "d199fcff986fb6a2fbd209ced48ea3a3a7243791596a5fd6e93e72a391f6fb0c"),
    ("durer_lion", 16, "Albrecht Dürer, Lion - 1494",   # 697x500
     "c8abc3b3da48f9d501f492d19ebaef96b5b5bd497ebd950f776be1420bcb3abc"),
    ("bruegel_harvesters", 17, "Pieter Brugel, The Harvesters - 1565",   # 686x500
     "05ad771d0dfff0c1b6b480449ad3a4267a28a404ea99cecbb2e8b7a0a68a3836"),
    ("renoir_piano", 18, "Pierre-Auguste Renoir, Girls At The Piano - 1892",   # 356x483
     "a2ee17a406114693677f5ea149b66becddf15911c7b4dd9b933913564b64d9ff"),
    ("kandinsky", 19, "Wassily Kandinsky, Composition VIII - 1923",   # 667x460
     "1d57e9b8f96c67b9702c41b1c89dacc2b377c716809c3f81c41f593138fdc46a"),
    ("bazille_ramparts", 20, "Bazille, The Ramparts at Aigues-Mortes - 1867",   # 610x363
     "94288537b85ee371fec8f582b0cb1ae2ff0ca6fdcdb662b9ba4c3f72c8570217"),
    ("cassatt_summertime", 21, "Mary Cassatt, Summertime - 1894",   # 598x442
     "fc95f15fe7d5625f95beaf8b418434fab51040d6ead8d640d8fa6c4e45ca3c49"),
    ("van_gogh_auvers", 22, "Vincent Van Gogh, Village Street in Auvers - 1890",   # 600x469
     "2ed98b45c0600f506fda199c5ea45d2eca67748323e07341bad86139c08882d4"),
)
PAINTINGS = tuple(Painting(*row) for row in _TABLE)
BY_KEY: dict[str, Painting] = {p.key: p for p in PAINTINGS}
