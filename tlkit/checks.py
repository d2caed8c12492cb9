"""Input checks shared by tlkit's public functions: bad input -> ValueError/TypeError naming the
argument and what was expected (never a cryptic error deep inside TensorFlow, never a silent result)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

#: pixel values every image backbone expects (the rescaling lives inside the model)
PIXEL_RANGE = (0.0, 255.0)


def check_pixels(x: np.ndarray, what: str = "images") -> None:
    """Raise unless ``x`` holds pixel values the backbones expect: ``uint8`` (or integers / floats) in 0..255,
    without NaN or infinity. A float array whose values all lie in 0..1 is rejected: it is almost surely
    scaled already, and the backbones would see near-black images (features collapse to ~0)."""
    if x.dtype == bool or x.dtype.kind not in "uif":
        raise TypeError(f"{what}: expected pixel values as uint8 (or a float array in 0..255), got dtype {x.dtype}")
    if x.size == 0 or x.dtype == np.uint8:   # uint8 is 0..255 by construction
        return
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"{what}: {bad} pixel value(s) are NaN or infinite; expected finite values in 0..255 "
                         f"(check the step that produced these images)")
    lo, hi = float(x.min()), float(x.max())
    if lo < PIXEL_RANGE[0] or hi > PIXEL_RANGE[1]:
        raise ValueError(f"{what}: pixel values range {lo:g}..{hi:g}; expected 0..255 (uint8 images, the "
                         f"backbone rescales them itself)")
    if x.dtype.kind == "f" and 0.0 < hi <= 1.0:
        raise ValueError(f"{what}: float pixel values in 0..{hi:g} look already scaled to 0..1, but the backbone "
                         f"expects 0..255 (it rescales internally): pass (images * 255) or the uint8 images")


def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False) -> int | None:
    """``value`` as an int, or TypeError/ValueError naming ``name`` (a float such as 2.5 is refused, never floored)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name}: expected an integer{' or None' if allow_none else ''}, "
                            f"got {type(value).__name__} {value!r:.40}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {value}")
    return value


def check_positive(value: Any, name: str) -> float:
    """``value`` as a finite float > 0 (a learning rate, a temperature), or TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__} {value!r:.40}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return v
