"""Data hygiene: find exact and near duplicates *across* splits, so no example (or a copy of it) is both trained on
and tested on.

Leakage rarely looks like the same file twice. A mirrored photo, a recoloured copy, a review with one word changed,
the same sentence in another case or with other punctuation: each lets a model "recognise" a test example it has
effectively seen. The functions here compare every example of one split with every example of another:

* :func:`exact_duplicates` - identical content (bytes of an array, or a text after :func:`normalise_text`);
* :func:`near_duplicate_texts` - Jaccard similarity of character n-gram sets (robust to small edits);
* :func:`near_duplicate_images` - correlation of small grey thumbnails, horizontal flips included.

Use them on your own data before you trust a test score (``tests/test_duplicates.py`` runs them on every course
dataset). Thresholds are arguments: what counts as "near" depends on the data; look at the pairs they return.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

Pair = tuple[int, int, float]


def normalise_text(text: str) -> str:
    """Lower case, Unicode-normalised (NFKC), every run of non-alphanumeric characters made one space."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def _key(item) -> str:
    if isinstance(item, str):
        return normalise_text(item)
    arr = np.ascontiguousarray(np.asarray(item))
    return hashlib.sha256(str((arr.shape, arr.dtype.str)).encode() + arr.tobytes()).hexdigest()


def exact_duplicates(a: Sequence, b: Sequence | None = None) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` with ``a[i]`` identical to ``b[j]`` (texts compared after :func:`normalise_text`,
    arrays by shape, dtype and bytes). With ``b=None``, pairs ``i < j`` inside ``a``."""
    keys_a = [_key(x) for x in a]
    if b is None:
        seen: dict[str, list[int]] = {}
        for i, k in enumerate(keys_a):
            seen.setdefault(k, []).append(i)
        return [(i, j) for idx in seen.values() for n, i in enumerate(idx) for j in idx[n + 1:]]
    where: dict[str, list[int]] = {}
    for j, k in enumerate(_key(x) for x in b):
        where.setdefault(k, []).append(j)
    return [(i, j) for i, k in enumerate(keys_a) for j in where.get(k, [])]


def _pairs(sim: np.ndarray, threshold: float, same: bool) -> list[Pair]:
    if same:
        sim = np.triu(sim, k=1)
    idx = np.argwhere(sim >= threshold)
    return sorted(((int(i), int(j), float(sim[i, j])) for i, j in idx), key=lambda p: -p[2])


def _check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}")
    return float(threshold)


def near_duplicate_texts(a: Sequence[str], b: Sequence[str] | None = None, threshold: float = 0.6,
                         ngram: int = 4) -> list[Pair]:
    """Pairs ``(i, j, similarity)`` of texts whose character ``ngram`` sets (after :func:`normalise_text`) have a
    Jaccard similarity >= ``threshold``, most similar first. With ``b=None``, pairs ``i < j`` inside ``a``."""
    from sklearn.feature_extraction.text import CountVectorizer

    threshold = _check_threshold(threshold)
    if isinstance(a, str) or (b is not None and isinstance(b, str)):
        raise TypeError("a and b must be sequences of texts, not one text")
    texts_a = [normalise_text(t) for t in a]
    texts_b = texts_a if b is None else [normalise_text(t) for t in b]
    if not texts_a or not texts_b:
        return []
    vec = CountVectorizer(analyzer="char", ngram_range=(ngram, ngram), binary=True, lowercase=False)
    vec.fit(texts_a + ([] if b is None else texts_b))
    xa = vec.transform(texts_a).astype(np.float32)
    xb = xa if b is None else vec.transform(texts_b).astype(np.float32)
    inter = (xa @ xb.T).toarray()
    na = np.asarray(xa.sum(axis=1)).ravel()
    nb = np.asarray(xb.sum(axis=1)).ravel()
    union = na[:, None] + nb[None, :] - inter
    sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return _pairs(sim, threshold, same=b is None)


def _thumbnails(images: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    arr = np.asarray(images)
    if arr.ndim not in (3, 4):
        raise ValueError(f"images must be (n, height, width[, channels]), got shape {arr.shape}")
    if arr.ndim == 4:
        arr = arr.astype(np.float32).mean(axis=-1)
    out = np.stack([np.asarray(Image.fromarray(x.astype(np.float32), mode="F").resize((size, size),
                                                                                      Image.Resampling.BILINEAR))
                    for x in arr]).reshape(len(arr), -1).astype(np.float64)
    out -= out.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norm > 0, norm, 1.0)


def near_duplicate_images(a: np.ndarray, b: np.ndarray | None = None, threshold: float = 0.95,
                          size: int = 16) -> list[Pair]:
    """Pairs ``(i, j, similarity)`` of images whose ``size`` x ``size`` grey thumbnails correlate >= ``threshold``,
    a horizontally flipped copy included (a mirror image is a near duplicate), most similar first. With
    ``b=None``, pairs ``i < j`` inside ``a``.

    On the course photos (16 px, 0.95) it finds every mirrored copy (0.99) and a shirt drawn from the same
    template (0.96), while different objects of similar shape stay below 0.9; a *recoloured* copy can fall below
    (the two course apples: 0.89), which is why :data:`tlkit.photos.VARIANTS` also lists variants by name."""
    threshold = _check_threshold(threshold)
    ta = _thumbnails(a, size)
    if b is None:
        tb, tb_flip = ta, _thumbnails(np.asarray(a)[:, :, ::-1], size)
    else:
        tb, tb_flip = _thumbnails(b, size), _thumbnails(np.asarray(b)[:, :, ::-1], size)
    sim = np.maximum(ta @ tb.T, ta @ tb_flip.T)
    return _pairs(sim, threshold, same=b is None)
