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
def stage_history(history, others: dict | None = None, title: str = "", marker: str = "fine-tuning starts"):
    """Loss and accuracy per epoch across training stages, with a vertical marker where each later stage starts.

    ``history`` is a :class:`tlkit.finetune.StageHistory`; ``others`` maps a legend label to more
    histories drawn for comparison (their validation accuracy and loss, dashed).
    """
    plt = _plt()
    if history is None or history.epochs == 0:
        raise ValueError("stage_history: the history has no epochs")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    ep = np.arange(1, history.epochs + 1)
    ax_loss.plot(ep, history.loss, "o-", color="tab:blue", label="train loss")
    ax_acc.plot(ep, history.accuracy, "o:", color="tab:blue", alpha=0.6, label="train accuracy")
    if not np.all(np.isnan(history.val_accuracy)):
        ax_acc.plot(ep, history.val_accuracy, "o-", color="tab:blue", label="test accuracy")
    for i, (label, other) in enumerate((others or {}).items()):
        color = plt.cm.tab10.colors[(i + 1) % 10]
        oe = np.arange(1, other.epochs + 1)
        ax_loss.plot(oe, other.loss, "s--", color=color, label=f"{label}: train loss")
        ax_acc.plot(oe, other.val_accuracy, "s--", color=color, label=f"{label}: test accuracy")
    starts = list(history.stage_starts().items())
    for ax in (ax_loss, ax_acc):
        for k, (stage, start) in enumerate(starts[1:]):
            ax.axvline(start + 0.5, color="gray", ls="--", lw=1)
            ax.annotate(marker if k == 0 else stage, (start + 0.5, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, ha="right", va="bottom", fontsize=8, color="gray")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax_loss.set_ylabel("loss")
    ax_acc.set_ylabel("accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def unfreeze_sweep(rows: Sequence[dict], title: str = "", accuracy_label: str = "target test accuracy"):
    """Target accuracy and seconds per epoch for each unfreeze setting (rows of :func:`tlkit.finetune.unfreeze_sweep`);
    ``accuracy_label`` names the split the accuracy was measured on."""
    plt = _plt()
    if not rows:
        raise ValueError("unfreeze_sweep: no rows to plot")
    labels = [f"{r['setting']}\n{r['trainable_params']:,} trainable" for r in rows]
    fig, (ax_acc, ax_sec) = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, key, ylabel, fmt in ((ax_acc, "accuracy", accuracy_label, "{:.3f}"),
                                 (ax_sec, "seconds_per_epoch", "seconds per epoch", "{:.2f}")):
        vals = [float(r[key]) for r in rows]
        rects = ax.bar(range(len(rows)), vals, color=plt.cm.viridis(np.linspace(0.2, 0.8, len(rows))))
        for rect, v in zip(rects, vals):
            ax.annotate(fmt.format(v), (rect.get_x() + rect.get_width() / 2, rect.get_height()), ha="center",
                        va="bottom", fontsize=8)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel(ylabel)
    lo = min(float(r["accuracy"]) for r in rows)
    ax_acc.set_ylim(max(0.0, lo - 0.1), 1.0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
def layer_drift(drifts: dict[str, dict[str, float]], title: str = "", ylabel: str = "relative weight change"):
    """Grouped bars: per layer, how far each run moved its weights (``{run: {layer: drift}}``, e.g. from
    :func:`tlkit.finetune.weight_drift`)."""
    plt = _plt()
    if not drifts or not all(drifts.values()):
        raise ValueError("layer_drift: give {run label: {layer: drift}} with at least one layer per run")
    layers = list(next(iter(drifts.values())))
    fig, ax = plt.subplots(figsize=(1.5 + 1.1 * len(layers), 3.6))
    width = 0.8 / len(drifts)
    for i, (run, d) in enumerate(drifts.items()):
        ax.bar(np.arange(len(layers)) + (i - (len(drifts) - 1) / 2) * width, [d.get(n, 0.0) for n in layers],
               width, label=run)
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(layers, fontsize=8, rotation=20)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str], title: str = ""):
    """A confusion matrix: counts, with each row's share (recall of the true class) in brackets."""
    plt = _plt()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = len(class_names)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"confusion_matrix: expected two equal-length 1-D label arrays, got {y_true.shape}, {y_pred.shape}")
    if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k:
        raise ValueError(f"confusion_matrix: labels must be in 0..{k - 1} for {k} class names")
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.3 * k + 1.8, 1.2 * k + 1.2))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]}\n({share[i, j]:.0%})", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=9)
    ax.set_xticks(range(k))
    ax.set_xticklabels(class_names)
    ax.set_yticks(range(k))
    ax.set_yticklabels(class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {np.trace(cm) / cm.sum():.3f}")
    fig.tight_layout()
    return fig


def freezing_tradeoff(rows: Sequence[dict], title: str = ""):
    """Freezing sweep: test accuracy, trainable parameters and seconds per epoch, one bar per setting.

    Rows come from :func:`tlkit.text.freezing_sweep` (keys ``setting``, ``accuracy``, ``trainable``,
    ``seconds_per_epoch``); a NaN accuracy (a setting that was only timed) is labelled "not trained".
    """
    plt = _plt()
    if not rows:
        raise ValueError("freezing_tradeoff: no rows to plot")
    names = [str(r["setting"]).replace(" + ", "\n+ ") for r in rows]
    colors = plt.cm.tab10.colors[: len(rows)]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("accuracy", "test accuracy", "{:.3f}", 1.0), ("trainable", "trainable parameters (M)", "{:.1f}", 1e-6),
              ("seconds_per_epoch", "seconds per epoch", "{:.1f}", 1.0))
    for ax, (key, label, fmt, scale) in zip(axes, panels):
        vals = [float(r[key]) * scale if r.get(key) is not None else float("nan") for r in rows]
        rects = ax.bar(range(len(rows)), [v if np.isfinite(v) else 0.0 for v in vals], color=colors)
        for rect, v in zip(rects, vals):           # a setting that was only timed has no accuracy
            ax.annotate(fmt.format(v) if np.isfinite(v) else "not\ntrained",
                        (rect.get_x() + rect.get_width() / 2, rect.get_height()), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, fontsize=7)
        ax.set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
def domain_rows(rows: dict[str, np.ndarray], n: int = 8, title: str = ""):
    """Images side by side, one row per domain (e.g. ``{"source": x_s, "target": x_t}``)."""
    plt = _plt()
    if not rows:
        raise ValueError("domain_rows: no rows to show")
    n = min([n] + [len(x) for x in rows.values()])
    if n == 0:
        raise ValueError("domain_rows: every row needs at least one image")
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.45 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            im = images[c]
            ax.imshow(im[..., 0] if im.shape[-1] == 1 else im, cmap="gray" if im.shape[-1] == 1 else None,
                      vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def domain_embedding(panels: dict[str, tuple[np.ndarray, np.ndarray]], labels: np.ndarray | None = None,
                     title: str = ""):
    """2-D embeddings (t-SNE) of features, one panel per model, coloured by domain (0 source, 1 target).

    ``panels`` maps a panel title to ``(points (n, 2), domain (n,))``; with ``labels`` the class id of
    every point is written on it, so one sees whether the classes of both domains meet.
    """
    plt = _plt()
    if not panels:
        raise ValueError("domain_embedding: no panels to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (name, (pts, dom)) in zip(axes[0], panels.items()):
        pts, dom = np.asarray(pts), np.asarray(dom)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) != len(dom):
            raise ValueError(f"domain_embedding: panel {name!r} needs (n, 2) points and n domain ids")
        for d, color, label in ((0, "tab:blue", "source"), (1, "tab:red", "target")):
            m = dom == d
            ax.scatter(pts[m, 0], pts[m, 1], s=7, alpha=0.5, color=color, label=label)
            if labels is not None:
                for (x, y), c in list(zip(pts[m], np.asarray(labels)[m]))[::6]:
                    ax.annotate(str(int(c)), (x, y), fontsize=6, color=color)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def strength_sweep(rows: Sequence[dict], series: dict[str, str], title: str = "", xlabel: str = "degradation strength"):
    """Accuracy against degradation strength; ``series`` maps a row key to its legend label."""
    plt = _plt()
    if not rows:
        raise ValueError("strength_sweep: no rows to plot")
    xs = [r["strength"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for key, label in series.items():
        ax.plot(xs, [r[key] for r in rows], "o-", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
def cross_lingual_curve(rows: Sequence[dict], series: dict[str, str] | None = None, title: str = "",
                        all_label: str = "all", chance: float | None = None):
    """Target accuracy against target labels ``N`` (rows of :func:`tlkit.crosslingual.transfer_curve`):
    mean over seeds with a min..max band; ``N`` on evenly spaced ticks (0, 10, 50, ..., all)."""
    plt = _plt()
    if not rows:
        raise ValueError("cross_lingual_curve: no rows to plot")
    series = series or {"source_then_target": "source first, then target", "target_only": "target only (same encoder)",
                        "scratch": "target only, from scratch (char n-grams)"}
    ns = list(dict.fromkeys(r["n"] for r in rows))
    xs = np.arange(len(ns))
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in series.items():
        vals = [[r[key] for r in rows if r["n"] == n and r.get(key) is not None] for n in ns]
        if not all(vals):
            continue
        ax.plot(xs, [np.mean(v) for v in vals], "o-", label=label)
        ax.fill_between(xs, [min(v) for v in vals], [max(v) for v in vals], alpha=0.2)
    if chance is not None:
        ax.axhline(chance, color="gray", ls=":", label=f"chance ({chance:.2f})")
    ax.set_xticks(xs)
    ax.set_xticklabels([all_label if n is None else str(n) for n in ns])
    ax.set_xlabel("labelled target-language examples N")
    ax.set_ylabel("target test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def parallel_pairs(points_a: np.ndarray, points_b: np.ndarray, labels: Sequence[int] | None = None,
                   class_names: Sequence[str] | None = None, names: tuple[str, str] = ("source", "target"),
                   title: str = ""):
    """2-D points of parallel texts (row ``i`` of ``a`` translates row ``i`` of ``b``), a line per pair;
    circles for language ``a``, triangles for ``b``, colour = class."""
    plt = _plt()
    a, b = np.asarray(points_a), np.asarray(points_b)
    if a.ndim != 2 or a.shape != b.shape or a.shape[1] != 2 or len(a) == 0:
        raise ValueError(f"parallel_pairs: expected two (n, 2) arrays of the same shape, got {a.shape}, {b.shape}")
    lab = np.zeros(len(a), dtype=int) if labels is None else np.asarray(labels, dtype=int)
    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(6, 5))
    for i in range(len(a)):
        ax.plot([a[i, 0], b[i, 0]], [a[i, 1], b[i, 1]], color="gray", lw=0.6, alpha=0.6)
    for c in np.unique(lab):
        m = lab == c
        cname = class_names[c] if class_names is not None else str(c)
        ax.scatter(a[m, 0], a[m, 1], marker="o", s=22, color=colors(int(c)), label=f"{names[0]} · {cname}")
        ax.scatter(b[m, 0], b[m, 1], marker="^", s=26, color=colors(int(c)), label=f"{names[1]} · {cname}")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title)
    fig.tight_layout()
    return fig
def accuracy_vs_speed(rows: Sequence[dict], title: str = ""):
    """Accuracy against throughput (texts/s, log x), one labelled point per model: ``{"name", "accuracy", "throughput"}``."""
    plt = _plt()
    if not rows:
        raise ValueError("accuracy_vs_speed: no rows to plot")
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ax.scatter(r["throughput"], r["accuracy"], s=40)
        ax.annotate(r["name"], (r["throughput"], r["accuracy"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("throughput (texts/s, log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig
