"""The course's plots. Each returns the matplotlib Figure; :func:`save` also files it for the run report."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from .claims import current_notebook, record_figure, results_dir


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "inline"):
        try:
            from IPython import get_ipython

            if get_ipython() is None:
                matplotlib.use("Agg")
        except ImportError:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, name: str) -> Path:
    """Save ``fig`` as PNG under the results dir (``<notebook>__<name>.png``) and record it."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise ValueError(f"figure name must be letters, digits, '_', '-', '.', got {name!r}")
    path = results_dir() / f"{current_notebook()}__{name}.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    record_figure(path)
    return path


def sample_grid(images: np.ndarray, labels: Sequence[int] | None = None,
                class_names: Sequence[str] | None = None, n: int = 12, cols: int = 6, title: str = ""):
    """A grid of the first ``n`` images with their class names."""
    plt = _plt()
    n = min(n, len(images))
    if n == 0:
        raise ValueError("sample_grid: no images to show")
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        im = images[i]
        ax.imshow(im[..., 0] if im.shape[-1] == 1 else im, cmap="gray" if im.shape[-1] == 1 else None)
        if labels is not None:
            lab = int(labels[i])
            ax.set_title(class_names[lab] if class_names else str(lab), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curve(rows: Sequence[dict], title: str = "Transfer vs scratch", all_per_class: int | None = None):
    """Accuracy vs labels per class (log x): mean over seeds with a min..max band.

    Rows come from :func:`tlkit.train.learning_curve`; ``k=None`` ("all") is drawn at ``all_per_class``.
    """
    plt = _plt()
    if not rows:
        raise ValueError("learning_curve: no rows to plot")
    def x_of(r: dict) -> int:
        if r["k"] is not None:
            return int(r["k"])
        if all_per_class is None:
            raise ValueError("rows contain k=None ('all'): pass all_per_class")
        return int(all_per_class)
    ks = sorted({x_of(r) for r in rows})
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, color, label in (("transfer", "tab:blue", "transfer (frozen pretrained features)"),
                              ("scratch", "tab:orange", "from scratch (same data)")):
        vals = [[r[key] for r in rows if x_of(r) == k] for k in ks]
        ax.plot(ks, [np.mean(v) for v in vals], "o-", color=color, label=label)
        ax.fill_between(ks, [min(v) for v in vals], [max(v) for v in vals], color=color, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([f"all ({k})" if k == all_per_class and any(r["k"] is None for r in rows) else str(k)
                        for k in ks])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def bars(values: dict[str, float], title: str = "", ylabel: str = "", log: bool = False, fmt: str = "{:.3g}"):
    """A labelled bar chart of named values."""
    plt = _plt()
    if not values:
        raise ValueError("bars: nothing to plot")
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(values), 3.6))
    names, vals = list(values), [float(v) for v in values.values()]
    rects = ax.bar(names, vals, color=plt.cm.tab10.colors[: len(vals)])
    for r, v in zip(rects, vals):
        ax.annotate(fmt.format(v), (r.get_x() + r.get_width() / 2, r.get_height()), ha="center", va="bottom")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def filters(kernels: np.ndarray, title: str = "", cols: int = 8):
    """Show conv kernels ``(kh, kw, in, out)`` (first input channel, or RGB when in == 3)."""
    plt = _plt()
    k = np.asarray(kernels)
    if k.ndim != 4:
        raise ValueError(f"kernels: expected (kh, kw, in, out), got shape {k.shape}")
    n = k.shape[-1]
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            w = k[..., i]
            if w.shape[-1] == 3:
                w = (w - w.min()) / (np.ptp(w) + 1e-8)
                ax.imshow(w)
            else:
                ax.imshow(w[..., 0], cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def feature_maps(maps: np.ndarray, title: str = "", cols: int = 8, n: int = 16):
    """Show the first ``n`` channels of one activation map ``(h, w, channels)``."""
    plt = _plt()
    m = np.asarray(maps)
    if m.ndim != 3:
        raise ValueError(f"maps: expected (height, width, channels), got shape {m.shape}")
    n = min(n, m.shape[-1])
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.0), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(m[..., i], cmap="viridis")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# Plots of notebooks 02-07
