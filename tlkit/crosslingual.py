"""Cross-lingual transfer (межъязыковой трансфер): learn a task in one language, use it in another.

The recipe of notebook 05, on a *frozen multilingual sentence encoder* (quick: Google's multilingual
USE; full: a keras-hub multilingual preset):

1. embed texts of both languages once (the encoder maps a sentence and its translation close together);
2. train a small Keras head on the **source** language ("many" labels, e.g. Russian);
3. test it on the **target** language with zero target labels (zero-shot cross-lingual transfer);
4. continue training the same head on ``N`` target examples (e.g. Korean) and compare it with a head
   trained on the ``N`` target examples alone, and with a model trained from scratch on them
   (a character n-gram model that knows nothing but those ``N`` texts).

Also here: language checks (script detection: ``ru`` = Cyrillic, ``ko`` = Hangul, ``en`` = Latin) that
catch mixed-up language codes and texts without a letter of the language, the parallel-pair
nearest-neighbour test of a multilingual embedding space, the data of each profile
(:func:`load_language_pair`: the course's parallel reviews in quick, real RuReviews -> NSMC in full)
and, for the full profile, the same curve with the whole multilingual transformer fine-tuned
(:func:`fine_tune_curve`) instead of a frozen encoder.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .profile import set_seed

# ------------------------------------------------------------------------------------------- languages
#: language code -> the script its letters are written in
LANG_SCRIPTS = {"en": "Latin", "ru": "Cyrillic", "ko": "Hangul"}
LANG_NAMES = {"en": "English", "ru": "Russian", "ko": "Korean"}
#: common wrong codes -> the ISO 639-1 code the course uses
LANG_ALIASES = {"kr": "ko", "kor": "ko", "korean": "ko", "rus": "ru", "russian": "ru", "eng": "en",
                "english": "en", "ua": "uk"}
_SCRIPT_OF_LANG_REVERSED = {v: k for k, v in LANG_SCRIPTS.items()}


def char_script(ch: str) -> str | None:
    """The script of one letter: ``"Latin"``, ``"Cyrillic"``, ``"Hangul"``, ``"other"``; ``None`` for a non-letter."""
    if not ch.isalpha():
        return None
    o = ord(ch)
    if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0xA960 <= o <= 0xA97F:
        return "Hangul"
    if 0x0400 <= o <= 0x052F or 0x1C80 <= o <= 0x1C8F or 0x2DE0 <= o <= 0x2DFF or 0xA640 <= o <= 0xA69F:
        return "Cyrillic"
    if o < 0x0250 or 0x1E00 <= o <= 0x1EFF or 0xFF21 <= o <= 0xFF5A:
        return "Latin"
    return "other"


def script_counts(text: str) -> dict[str, int]:
    """How many letters of each script ``text`` contains (digits, punctuation and spaces are ignored)."""
    counts: dict[str, int] = {}
    for ch in unicodedata.normalize("NFC", text):
        s = char_script(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    return counts


def dominant_script(text: str) -> str | None:
    """The script with the most letters in ``text`` (``None`` if it has no letters at all)."""
    counts = script_counts(text)
    return max(counts, key=counts.get) if counts else None


def check_lang_code(lang: Any) -> str:
    """Return a supported language code (``en``, ``ru``, ``ko``) or raise ValueError naming the right one."""
    if not isinstance(lang, str):
        raise ValueError(f"lang must be a language code string, one of {sorted(LANG_SCRIPTS)}, got {lang!r}")
    code = lang.strip().lower()
    if code in LANG_SCRIPTS:
        return code
    hint = f"; did you mean {LANG_ALIASES[code]!r}?" if code in LANG_ALIASES else ""
    raise ValueError(f"unsupported language code {lang!r}: expected one of {sorted(LANG_SCRIPTS)} "
                     f"(ISO 639-1){hint}")


def guess_language(text: str) -> str | None:
    """The course language whose script dominates ``text`` (``None`` if no letters or another script)."""
    return _SCRIPT_OF_LANG_REVERSED.get(dominant_script(text) or "")


def check_language(texts: Any, lang: str, what: str = "texts", min_share: float = 0.5) -> list[str]:
    """Check that ``texts`` are written in ``lang``; return them as a list of strings.

    Raises ValueError (saying what was expected) when ``lang`` is not a supported code, when ``texts``
    is empty (an empty split) or holds an empty string, when a text has **no letter** of the language's
    script (e.g. Korean text passed as ``lang="ru"`` - mixed-up language codes), or when fewer than
    ``min_share`` of all letters are in that script. A few foreign letters (``USB-C``, ``GPS``) are fine.
    """
    from .text import check_texts

    code = check_lang_code(lang)
    items = check_texts(texts, what)
    script = LANG_SCRIPTS[code]
    total = ours = 0
    for i, t in enumerate(items):
        counts = script_counts(t)
        n = sum(counts.values())
        if counts.get(script, 0) == 0:
            found = max(counts, key=counts.get) if counts else None
            if found is None:
                raise ValueError(f"{what}: item {i} ({t!r:.60}) has no letters at all; expected "
                                 f"{LANG_NAMES[code]} text ({script} script)")
            other = _SCRIPT_OF_LANG_REVERSED.get(found)
            mixed = (f"; it looks like {LANG_NAMES[other]} (lang={other!r}) - are the language codes mixed up?"
                     if other else "")
            raise ValueError(f"{what}: item {i} ({t!r:.60}) has no {script} letters, expected "
                             f"{LANG_NAMES[code]} text (lang={code!r}); found {found} letters{mixed}")
        total += n
        ours += counts.get(script, 0)
    share = ours / max(total, 1)
    if share < min_share:
        raise ValueError(f"{what}: only {share:.0%} of the letters are {script}, expected >= {min_share:.0%} "
                         f"for {LANG_NAMES[code]} (lang={code!r}); are the texts or the language code mixed up?")
    return items


# ------------------------------------------------------------------------------------------------ data
@dataclass
class LabelledTexts:
    """Texts of one language with integer labels (and ids, which pair translations across languages)."""

    texts: list[str]
    labels: np.ndarray
    ids: list[str]
    lang: str

    def __len__(self) -> int:
        return len(self.texts)


def labelled_texts(lang: str, *sets: Any, what: str = "") -> LabelledTexts:
    """Join splits (objects with ``texts``, ``labels``, ``ids``: e.g. a TextTask's ``train`` and ``val``)
    into one :class:`LabelledTexts`, checking the language of every text and that the result is not empty."""
    code = check_lang_code(lang)
    if not sets:
        raise ValueError("labelled_texts: pass at least one split")
    texts: list[str] = []
    labels: list[np.ndarray] = []
    ids: list[str] = []
    for s in sets:
        if len(s.texts) != len(s.labels) or len(s.texts) != len(s.ids):
            raise ValueError(f"a split has {len(s.texts)} texts, {len(s.labels)} labels, {len(s.ids)} ids")
        texts += list(s.texts)
        labels.append(np.asarray(s.labels, dtype=np.int64))
        ids += list(s.ids)
    name = what or f"{LANG_NAMES[code]} texts"
    if not texts:
        raise ValueError(f"{name}: the split is empty; expected at least one labelled text")
    check_language(texts, code, name)
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: ids are not unique (the same review appears twice)")
    return LabelledTexts(texts, np.concatenate(labels), ids, code)


def check_parallel(a: Any, b: Any, what: str = "parallel sets") -> None:
    """Raise ValueError unless ``a`` and ``b`` hold the same ids in the same order with the same labels."""
    if len(a.ids) == 0 or len(b.ids) == 0:
        raise ValueError(f"{what}: empty split ({len(a.ids)} and {len(b.ids)} items)")
    if list(a.ids) != list(b.ids):
        diff = next(i for i, (x, y) in enumerate(zip(list(a.ids) + [None], list(b.ids) + [None])) if x != y)
        raise ValueError(f"{what}: ids differ (first at position {diff}); expected the same ids in the same order")
    if not np.array_equal(np.asarray(a.labels), np.asarray(b.labels)):
        raise ValueError(f"{what}: the same ids carry different labels")


def disjoint_ids(train_ids: Sequence[str], test_ids: Sequence[str], what: str = "source training set") -> None:
    """Raise ValueError if a test id is in the training ids (a translation of a test text would leak)."""
    leak = sorted(set(train_ids) & set(test_ids))
    if leak:
        raise ValueError(f"{what} contains {len(leak)} ids of the test set (e.g. {leak[:3]}): their "
                         f"translations are test texts, so the test would leak; use train/validation only")


def sample_n(labels: np.ndarray, n: int | None, seed: int = 0, num_classes: int | None = None) -> np.ndarray:
    """Indices of ``n`` examples drawn without replacement, spread as evenly as possible over the classes.

    ``n=None`` means all. With ``n`` not divisible by the number of classes the remainder goes to
    randomly chosen classes (10 examples of 3 classes: 4 + 3 + 3).
    """
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"labels: expected a non-empty 1-D array, got shape {y.shape}")
    k = int(num_classes if num_classes is not None else max(int(y.max()) + 1, 2))
    from .data import check_labels

    check_labels(y, k, what="sample_n labels")   # -1 or out-of-range ids would never be drawn
    if n is None:
        return np.arange(len(y))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer or None (all), got {n!r}")
    if n > len(y):
        raise ValueError(f"n={n} but only {len(y)} examples are available")
    rng = np.random.default_rng(seed)
    per = np.full(k, n // k)
    per[rng.choice(k, n % k, replace=False)] += 1
    pools = [rng.permutation(np.flatnonzero(y == c)) for c in range(k)]
    for c in range(k):   # a class short of examples hands its quota to the others
        if per[c] > len(pools[c]):
            spare, per[c] = per[c] - len(pools[c]), len(pools[c])
            for d in rng.permutation(k):
                take = max(0, min(spare, len(pools[d]) - per[d]))   # a class still over quota gives, never takes
                per[d] += take
                spare -= take
    idx = np.concatenate([pools[c][:per[c]] for c in range(k)])
    return rng.permutation(idx)


# --------------------------------------------------------------------------------------------- heads
def _check_xy(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{what}: expected a non-empty (n, dim) embedding array, got shape {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"{what}: {len(x)} embeddings but labels of shape {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what}: embeddings contain NaN or inf")
    return x, y.astype(np.int64)


def language_mean(x: np.ndarray) -> np.ndarray:
    """The mean embedding of a language's (unlabelled) texts: the "language direction" of the space."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"language_mean: expected a non-empty (n, dim) array, got shape {x.shape}")
    return x.mean(axis=0)


def center_language(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Subtract a language's mean embedding and re-normalise (language centring).

    Multilingual encoders put every language at its own offset; a head trained on Russian then sees
    Korean shifted. Centring each language on the mean of its own *unlabelled* texts removes that
    offset (it needs no target labels, so the transfer stays zero-shot).
    """
    x, mean = np.asarray(x, dtype=np.float32), np.asarray(mean, dtype=np.float32)
    if x.ndim != 2 or mean.shape != (x.shape[1],):
        raise ValueError(f"center_language: expected (n, dim) and (dim,), got {x.shape}, {mean.shape}")
    c = x - mean
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def embedding_head(dim: int, num_classes: int, dropout: float = 0.1, l2: float = 5e-3):
    """The classifier on frozen sentence embeddings: Dropout -> Dense(softmax).

    Deliberately without a Normalization layer: its mean and variance would be measured on the
    source language and applied unchanged to the target language.
    """
    import keras

    if dim < 1 or num_classes < 2:
        raise ValueError(f"need dim >= 1 and num_classes >= 2, got {dim}, {num_classes}")
    inp = keras.Input((dim,), name="sentence_embedding")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inp)
    out = keras.layers.Dense(num_classes, activation="softmax", name="head",
                             kernel_regularizer=keras.regularizers.L2(l2))(x)
    return keras.Model(inp, out, name="embedding_head")


def fit_head(head, x: np.ndarray, y: np.ndarray, steps: int, learning_rate: float, batch_size: int = 32,
             seed: int = 0):
    """Train ``head`` (in place, fresh Adam) for about ``steps`` optimiser steps; returns it.

    A fixed number of *steps* rather than epochs gives 10 examples and 600 examples a comparable
    amount of training.
    """
    from .train import compile_classifier

    x, y = _check_xy(x, y, "fit_head")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    from .checks import check_int

    check_int(batch_size, "batch_size", minimum=1)
    set_seed(seed)
    compile_classifier(head, learning_rate)
    bs = int(min(batch_size, len(x)))
    order = pass_order(len(x), steps, bs, seed)
    head.fit(x[order], y[order], epochs=1, batch_size=bs, shuffle=False, verbose=0)
    return head


def pass_order(n: int, steps: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """Example indices for about ``steps`` optimiser steps over ``n`` examples: whole shuffled passes, concatenated.

    Equivalent to ``fit(epochs=passes, shuffle=True)``, but as one epoch: with 10 examples and 200 steps,
    Keras would otherwise run 200 one-step epochs, and their per-epoch overhead costs more than the steps.
    """
    from .checks import check_int

    n, steps, batch_size = (check_int(v, name, minimum=1) for v, name in
                            ((n, "n"), (steps, "steps"), (batch_size, "batch_size")))
    passes = max(1, int(round(steps / np.ceil(n / min(batch_size, n)))))
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(n) for _ in range(passes)])


def copy_head(head):
    """A new head with the same architecture and weights (the original stays untouched)."""
    import keras

    new = keras.models.clone_model(head)
    new.set_weights(head.get_weights())
    return new


def _predicted_classes(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``argmax`` of ``model``'s outputs, batch by batch, by calling it (``training=False``).

    The same numbers as ``model.predict``, without tracing a predict function for every new model: a curve
    scores dozens of freshly trained heads once each, and each trace costs more than the call (measured
    2026-12-07: ~0.07 CPU-s per head on 240 reviews, identical outputs).
    """
    import tensorflow as tf

    return np.concatenate([np.argmax(np.asarray(model(tf.constant(x[s:s + batch_size]), training=False)), axis=1)
                           for s in range(0, len(x), batch_size)])


def head_accuracy(head, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a head on embeddings."""
    x, y = _check_xy(x, y, "head_accuracy")
    return float(np.mean(_predicted_classes(head, x, 1024) == y))


@dataclass(frozen=True)
class HeadBudget:
    """How long each head trains (optimiser steps) and how fast."""

    source_steps: int = 300
    source_lr: float = 1e-2
    target_steps: int = 20        # continuing on target examples: at least this many steps, gently (a large
    target_lr: float = 1e-3       # learning rate on tiny N overwrites what the source taught) ...
    target_epochs: int = 10       # ... and more steps for more examples: this many passes over the N examples
    target_only_steps: int = 200  # a fresh head on target examples only
    target_only_lr: float = 1e-2
    scratch_steps: int = 200      # the character n-gram model from scratch
    scratch_lr: float = 1e-2
    batch_size: int = 32


def train_source_head(x_src: np.ndarray, y_src: np.ndarray, num_classes: int, hb: HeadBudget = HeadBudget(),
                      seed: int = 0):
    """Step 1: a head trained on the source language's embeddings only."""
    x_src, y_src = _check_xy(x_src, y_src, "source embeddings")
    set_seed(seed)
    head = embedding_head(x_src.shape[1], num_classes)
    return fit_head(head, x_src, y_src, hb.source_steps, hb.source_lr, hb.batch_size, seed)


def continue_on_target(source_head, x_tgt, y_tgt, hb=HeadBudget(), seed=0):
    """Step 3: a copy of the source head, trained further on ``N`` target examples (smaller learning rate).

    The step budget grows with ``N`` (``hb.target_epochs`` passes, at least ``hb.target_steps`` steps):
    a fixed small budget would leave the head where the source put it however many target labels it gets.
    The passes are concatenated into one ``fit`` epoch (:func:`pass_order`).
    """
    import keras

    x_tgt, y_tgt = np.asarray(x_tgt, dtype=np.float32), np.asarray(y_tgt).astype(np.int64)
    head = keras.models.clone_model(source_head)                    # the same layers, new weights ...
    head.set_weights(source_head.get_weights())                     # ... set to the source head's: it continues
    steps = max(hb.target_steps, hb.target_epochs * int(np.ceil(len(x_tgt) / hb.batch_size)))
    set_seed(seed)
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=hb.target_lr),   # smaller than the source's
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batch_size = min(hb.batch_size, len(x_tgt))
    order = pass_order(len(x_tgt), steps, batch_size, seed)         # shuffled passes over the N examples
    head.fit(x_tgt[order], y_tgt[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    return head


def train_target_only_head(x_tgt: np.ndarray, y_tgt: np.ndarray, num_classes: int,
                           hb: HeadBudget = HeadBudget(), seed: int = 0):
    """Baseline: a fresh head on the same encoder, trained on the ``N`` target examples alone."""
    x_tgt, y_tgt = _check_xy(x_tgt, y_tgt, "target embeddings")
    set_seed(seed)
    head = embedding_head(x_tgt.shape[1], num_classes)
    return fit_head(head, x_tgt, y_tgt, hb.target_only_steps, hb.target_only_lr, hb.batch_size, seed)


def char_ngram_model(train_texts: Sequence[str], num_classes: int, ngrams: int = 3, max_tokens: int = 20000):
    """From scratch: character n-grams (1..``ngrams``, TF-IDF) -> Dense(softmax), vocabulary from ``train_texts``.

    Knows nothing but its training texts - no pretrained weights, no other language.
    """
    import keras
    import tensorflow as tf

    from .text import check_texts

    train_texts = check_texts(train_texts, "scratch training texts")
    vec = keras.layers.TextVectorization(max_tokens=max_tokens, standardize="lower", split="character",
                                         ngrams=ngrams, output_mode="tf_idf", name="char_ngrams")
    vec.adapt(tf.constant(train_texts))
    inp = keras.Input((), dtype="string", name="text")
    x = vec(inp)
    out = keras.layers.Dense(num_classes, activation="softmax", name="head",
                             kernel_regularizer=keras.regularizers.L2(1e-4))(x)
    return keras.Model(inp, out, name="char_ngram_scratch")


def train_scratch(train_texts: Sequence[str], y: np.ndarray, num_classes: int, hb: HeadBudget = HeadBudget(),
                  seed: int = 0):
    """Baseline: :func:`char_ngram_model` trained on the ``N`` target texts."""
    from .train import compile_classifier

    y = np.asarray(y, dtype=np.int64)
    if len(y) != len(train_texts):
        raise ValueError(f"{len(train_texts)} texts but {len(y)} labels")
    set_seed(seed)
    model = char_ngram_model(train_texts, num_classes)
    compile_classifier(model, hb.scratch_lr)
    bs = int(min(hb.batch_size, len(y)))
    order = pass_order(len(y), hb.scratch_steps, bs, seed)
    x = np.array(list(train_texts), dtype=object)
    model.fit(x[order], y[order], epochs=1, batch_size=bs, shuffle=False, verbose=0)
    return model


def text_accuracy(model, texts: Sequence[str], y: np.ndarray) -> float:
    """Accuracy of a model that takes raw strings (the scratch model)."""
    x = np.array(list(texts), dtype=object)
    return float(np.mean(_predicted_classes(model, x, 512) == np.asarray(y)))


# ---------------------------------------------------------------------------------- data per profile
def load_language_pair(profile: str | None = None) -> tuple[Any, Any]:
    """``(source, target)`` review tasks of notebook 05 for the profile (languages: ``xl_source``, ``xl_target``).

    * quick: the course's reviews in Russian and Korean (parallel: same ids and labels, 3 classes).
    * full:  real reviews - RuReviews (Russian products) and NSMC (Korean movies), both as
      negative / positive (NSMC has no neutral class), balanced subsamples of the profile's budget.
    """
    from .profile import budget, get_profile
    from .textdata import course_reviews, nsmc, rureviews

    prof = profile or get_profile()
    b = budget(prof)
    src, tgt = check_lang_code(b.xl_source), check_lang_code(b.xl_target)
    if b.xl_data == "course":
        return course_reviews(src), course_reviews(tgt)
    if b.xl_data != "real" or (src, tgt) != ("ru", "ko"):
        raise ValueError(f"xl_data={b.xl_data!r} for {src}->{tgt}: expected 'course', or 'real' for ru->ko")
    ru = rureviews(b.xl_source_per_class, b.xl_val_per_class, b.xl_test_per_class,
                   classes=("negative", "positive"), seed=0)
    ko = nsmc(b.xl_target_pool_per_class, b.xl_val_per_class, b.xl_test_per_class, seed=0)
    return ru, ko


def parallel_pairs(source_lang: str = "ru", target_lang: str = "ko", limit: int = 0) -> tuple[Any, Any]:
    """The course's parallel test reviews in two languages (same ids, checked), for the embedding-space
    checks; available in both profiles (real corpora are not translations of each other). ``limit`` > 0: only
    the first ``limit`` pairs (0: all of them)."""
    from .textdata import TextSet, course_reviews

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be an integer >= 0 (0 = all pairs), got {limit!r}")
    a, b = course_reviews(check_lang_code(source_lang)).test, course_reviews(check_lang_code(target_lang)).test
    check_parallel(a, b, f"{source_lang} / {target_lang} course test reviews")
    if limit:
        a, b = (TextSet(s.texts[:limit], s.labels[:limit], s.ids[:limit], s.class_names,
                        {k: v[:limit] for k, v in s.extra.items()}) for s in (a, b))
    return a, b


# ---------------------------------------------------------------------------------------- the curve
def transfer_curve(x_src: np.ndarray, y_src: np.ndarray, x_tgt: np.ndarray, y_tgt: np.ndarray,
                   x_test: np.ndarray, y_test: np.ndarray, num_classes: int, ns: Sequence[int | None],
                   seeds: Sequence[int], hb: HeadBudget = HeadBudget(),
                   tgt_texts: Sequence[str] | None = None, test_texts: Sequence[str] | None = None,
                   progress: bool = True) -> list[dict]:
    """Source-then-target vs target-only (same encoder) vs scratch over ``N`` target labels and seeds.

    ``x_*`` are sentence embeddings: source training pool, target training pool (``N`` examples are
    drawn from it per seed by :func:`sample_n`), target test set. ``N=0`` is the zero-shot transfer
    (the target-only models then have nothing to learn from: they score chance, ``1/num_classes``).
    ``N=None`` uses the whole target pool. The scratch baseline runs only when ``tgt_texts`` and
    ``test_texts`` are given. Returns one row per (N, seed):
    ``{"n", "seed", "source_then_target", "target_only", "scratch", "source_test"?}``.
    """
    from tqdm.auto import tqdm

    x_src, y_src = _check_xy(x_src, y_src, "source embeddings")
    x_tgt, y_tgt = _check_xy(x_tgt, y_tgt, "target embeddings")
    x_test, y_test = _check_xy(x_test, y_test, "target test embeddings")
    from .checks import check_int
    from .data import check_labels

    num_classes = check_int(num_classes, "num_classes", minimum=2)
    for what, y in (("y_src", y_src), ("y_tgt", y_tgt), ("y_test", y_test)):
        check_labels(y, num_classes, what=f"transfer_curve {what}")
    for n in ns:
        check_int(n, "ns (target labels N)", minimum=0, allow_none=True)
    if not (x_src.shape[1] == x_tgt.shape[1] == x_test.shape[1]):
        raise ValueError(f"embedding sizes differ: source {x_src.shape[1]}, target {x_tgt.shape[1]}, "
                         f"test {x_test.shape[1]} (same encoder for all three?)")
    if not len(ns) or not len(seeds):
        raise ValueError("ns and seeds must be non-empty")
    scratch = tgt_texts is not None and test_texts is not None
    if scratch and (len(tgt_texts) != len(x_tgt) or len(test_texts) != len(x_test)):
        raise ValueError("tgt_texts/test_texts must match the target embeddings row for row")
    chance = 1.0 / num_classes
    rows = []
    jobs = [(s, n) for s in seeds for n in ns]
    bar = tqdm(total=len(jobs), desc="transfer curve", disable=not progress, leave=False)
    for seed in seeds:
        src_head = train_source_head(x_src, y_src, num_classes, hb, seed)
        zero = head_accuracy(src_head, x_test, y_test)
        for n in ns:
            row: dict[str, Any] = {"n": n, "seed": int(seed)}
            if n == 0:
                row.update(n_used=0, source_then_target=zero, target_only=chance,
                           scratch=chance if scratch else None)
            else:
                idx = sample_n(y_tgt, n, seed=seed, num_classes=num_classes)
                row["n_used"] = int(len(idx))
                row["source_then_target"] = head_accuracy(
                    continue_on_target(src_head, x_tgt[idx], y_tgt[idx], hb, seed), x_test, y_test)
                row["target_only"] = head_accuracy(
                    train_target_only_head(x_tgt[idx], y_tgt[idx], num_classes, hb, seed), x_test, y_test)
                if scratch:
                    texts = [tgt_texts[i] for i in idx]
                    row["scratch"] = text_accuracy(train_scratch(texts, y_tgt[idx], num_classes, hb, seed),
                                                   test_texts, y_test)
                else:
                    row["scratch"] = None
            rows.append(row)
            bar.update(1)
    bar.close()
    return rows


def curve_table(rows: Sequence[dict], all_label: str = "all") -> "Any":
    """Mean over seeds per ``N`` (a pandas DataFrame) with the gain of source-then-target over target-only
    and its smallest value over seeds."""
    import pandas as pd

    if not rows:
        raise ValueError("curve_table: no rows")
    df = pd.DataFrame(rows)
    df["N"] = pd.Series([all_label if r["n"] is None else int(r["n"]) for r in rows], dtype=object)
    order = list(dict.fromkeys(df["N"]))
    df["gain"] = df["source_then_target"] - df["target_only"]
    cols = [c for c in ("n_used", "source_then_target", "target_only", "scratch") if df[c].notna().any()]
    table = df.groupby("N", sort=False)[cols].mean()
    table["gain (points)"] = 100 * df.groupby("N", sort=False)["gain"].mean()
    table["min gain over seeds"] = 100 * df.groupby("N", sort=False)["gain"].min()
    return table.loc[order]


# ------------------------------------------------------------------------------------ embedding space
def parallel_retrieval(a: np.ndarray, b: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Nearest-neighbour test of a multilingual space on parallel pairs (row ``i`` of ``a`` = row ``i`` of ``b``).

    For every ``a_i`` all ``b_j`` are ranked by cosine similarity; ``top{k}`` is the share of ``a_i``
    whose own translation ``b_i`` is among the ``k`` nearest (chance: ``k / n``); another ``b_j`` exactly as
    similar counts against it (identical embeddings score 0, not 1). Also returns the mean
    cosine of true pairs and of random (non-matching) pairs, and ``chance_top1 = 1 / n``.
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"expected two (n, dim) arrays of the same shape with n >= 2, got {a.shape}, {b.shape}")
    for name, x in (("a", a), ("b", b)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"parallel_retrieval {name}: embeddings contain NaN or infinity")
        zero = np.flatnonzero(np.linalg.norm(x, axis=1) == 0)
        if len(zero):
            raise ValueError(f"parallel_retrieval {name}: rows {zero[:5].tolist()} are all-zero embeddings "
                             f"(no direction, no nearest neighbour); expected non-zero vectors")
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    sim = a @ b.T
    diag = np.diag(sim)
    rank = (sim >= diag[:, None]).sum(axis=1) - 1     # 0 = the translation is the nearest; a tie is a miss
    n = len(a)
    out = {f"top{k}": float(np.mean(rank < k)) for k in ks}
    out.update(mean_rank=float(np.mean(rank) + 1), pair_cosine=float(diag.mean()),
               random_cosine=float((sim.sum() - diag.sum()) / (n * n - n)), chance_top1=1.0 / n)
    return out


def project_2d(x: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """2-D projection of embeddings: ``"pca"`` (linear, fast) or ``"tsne"`` (keeps neighbours)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"expected an (n, dim) array with n >= 3, got shape {x.shape}")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        # exact t-SNE for small sets: Barnes-Hut's threads cost far more than they save below ~1000 points
        return TSNE(2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed, metric="cosine",
                    method="exact" if len(x) <= 1000 else "barnes_hut").fit_transform(x)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


# ---------------------------------------------------------------------------------- cached embeddings
#: sentence vectors :func:`embed` has given in this process: (encoder cache key, weights key) -> {text: vector}
_EMBEDDED: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def _encoder_key(encoder: Any) -> tuple[str, str]:
    """The encoder's name and weights (a hash of a Keras backbone's weights: fine-tuning changes it)."""
    if getattr(encoder, "kind", None) == "bert":
        from .features import weights_fingerprint

        return encoder.cache_key, weights_fingerprint(encoder.backbone)
    return encoder.cache_key, "files"


def embed(encoder: Any, texts: Sequence[str], lang: str, what: str = "", cache: bool = True,
          progress: bool = True) -> np.ndarray:
    """Language-checked, cached sentence embeddings: :func:`tlkit.text.sentence_embeddings` after
    :func:`check_language`. The first run computes them (USE: ~350 texts per CPU second); later runs load
    them from the tlkit cache.

    With ``cache=True``, texts this encoder (same weights) has already embedded in this process are not
    embedded again: their vectors are reused (notebook 05's parallel test reviews are, in quick, the target
    task's test split, embedded a moment before). A text embedded among other texts can differ from the
    same text embedded alone in the last float digits (~1e-7), never more.
    """
    from .text import sentence_embeddings

    name = what or f"{LANG_NAMES[check_lang_code(lang)]} texts"
    texts = check_language(texts, lang, name)
    if not cache:
        return sentence_embeddings(encoder, texts, cache=False, progress=progress, desc=f"embedding {name}")
    seen = _EMBEDDED.setdefault(_encoder_key(encoder), {})
    if all(t in seen for t in texts):
        return np.stack([seen[t] for t in texts])
    out = sentence_embeddings(encoder, texts, cache=True, progress=progress, desc=f"embedding {name}")
    seen.update(zip(texts, out.copy()))          # a copy: the caller may change the returned array in place
    return out


def embed_task(encoder: Any, task: Any, progress: bool = True) -> dict[str, np.ndarray]:
    """Embeddings of a TextTask's three splits (``{"train", "val", "test"}``), computed in one cached call."""
    parts = [("train", task.train), ("val", task.val), ("test", task.test)]
    texts = [t for _, s in parts for t in s.texts]
    e = embed(encoder, texts, task.lang, what=f"{LANG_NAMES.get(task.lang, task.lang)} reviews ({encoder.name})",
              progress=progress)
    out, start = {}, 0
    for name, s in parts:
        out[name] = e[start:start + len(s)]
        start += len(s)
    return out


# ------------------------------------------------------------------------- full: fine-tune the encoder
@dataclass(frozen=True)
class FineTuneBudget:
    """How the whole encoder is fine-tuned in :func:`fine_tune_curve` (small learning rates throughout)."""

    source_epochs: int = 2            # step 1: encoder + new head on the source language
    learning_rate: float = 3e-5
    target_steps: int = 30            # continuing on N target examples: few steps, a smaller rate
    target_lr: float = 1e-5
    target_only_steps: int = 60       # the pretrained encoder fine-tuned on the N target examples alone
    target_only_lr: float = 3e-5
    batch_size: int = 32


def _take(x: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in x.items()}


def _epochs_for(steps: int, n: int, batch_size: int) -> int:
    return max(1, int(round(steps / np.ceil(n / min(batch_size, n)))))


def fine_tune_curve(encoder_name: str, source: Any, target_pool: Any, test: Any, num_classes: int,
                    ns: Sequence[int | None], seeds: Sequence[int], fb: FineTuneBudget = FineTuneBudget(),
                    source_lang: str = "ru", target_lang: str = "ko", sequence_length: int | None = None,
                    progress: bool = True) -> list[dict]:
    """:func:`transfer_curve` with the whole transformer fine-tuned instead of a frozen encoder (full profile).

    ``source``, ``target_pool``, ``test``: labelled texts (objects with ``texts`` and ``labels``, e.g.
    :func:`labelled_texts` or a TextTask split). Per seed: the pretrained ``encoder_name`` with a new
    head is fine-tuned on the source language (step 1) and tested on the target (``N = 0``); for every
    ``N`` a copy continues on ``N`` target examples, and a fresh pretrained encoder is fine-tuned on the
    same ``N`` examples alone. Returns rows in :func:`transfer_curve`'s format (``scratch`` is ``None``).
    """
    import gc

    import keras
    from tqdm.auto import tqdm

    from .text import TEXT_ENCODERS, USE_MULTILINGUAL, evaluate, fine_tune, text_encoder
    from .train import compile_classifier

    if encoder_name not in TEXT_ENCODERS:
        raise ValueError(f"unknown text encoder {encoder_name!r}; expected one of {TEXT_ENCODERS}")
    if encoder_name == USE_MULTILINGUAL:
        raise ValueError(f"{encoder_name!r} is a frozen encoder; fine_tune_curve needs a BERT-family encoder "
                         f"(e.g. 'bert_base_multi'); use transfer_curve on its embeddings instead")

    src_texts = check_language(source.texts, source_lang, "source texts")
    pool_texts = check_language(target_pool.texts, target_lang, "target texts")
    test_texts = check_language(test.texts, target_lang, "target test texts")
    y_src, y_pool, y_test = (np.asarray(s.labels, dtype=np.int64) for s in (source, target_pool, test))
    for name, t, y in (("source", src_texts, y_src), ("target", pool_texts, y_pool), ("test", test_texts, y_test)):
        if len(t) != len(y):
            raise ValueError(f"{name}: {len(t)} texts but {len(y)} labels")
    if not len(ns) or not len(seeds):
        raise ValueError("ns and seeds must be non-empty")
    enc = text_encoder(encoder_name, sequence_length=sequence_length)
    x_src, x_pool, x_test = enc.tokenize(src_texts), enc.tokenize(pool_texts), enc.tokenize(test_texts)
    chance = 1.0 / num_classes
    rows: list[dict] = []
    bar = tqdm(total=len(seeds) * (1 + len(ns)), desc="fine-tune curve", disable=not progress, leave=False)
    for seed in seeds:
        if seed != seeds[0]:
            enc = text_encoder(encoder_name, sequence_length=sequence_length)
        model = fine_tune(enc, x_src, y_src, num_classes, epochs=fb.source_epochs, learning_rate=fb.learning_rate,
                          batch_size=fb.batch_size, seed=int(seed))["model"]
        bar.update(1)
        after_source = [w.copy() for w in model.get_weights()]
        zero = evaluate(model, x_test, y_test)
        for n in ns:
            row: dict[str, Any] = {"n": n, "seed": int(seed), "scratch": None}
            if n == 0:
                row.update(n_used=0, source_then_target=zero, target_only=chance)
            else:
                idx = sample_n(y_pool, n, seed=int(seed), num_classes=num_classes)
                row["n_used"] = int(len(idx))
                set_seed(int(seed))
                model.set_weights(after_source)            # every N starts from the source model
                compile_classifier(model, fb.target_lr)
                model.fit(_take(x_pool, idx), y_pool[idx], epochs=_epochs_for(fb.target_steps, len(idx), fb.batch_size),
                          batch_size=min(fb.batch_size, len(idx)), shuffle=True, verbose=0)
                row["source_then_target"] = evaluate(model, x_test, y_test)
                alone = fine_tune(text_encoder(encoder_name, sequence_length=sequence_length), _take(x_pool, idx),
                                  y_pool[idx], num_classes,
                                  epochs=_epochs_for(fb.target_only_steps, len(idx), fb.batch_size),
                                  learning_rate=fb.target_only_lr, batch_size=min(fb.batch_size, len(idx)),
                                  seed=int(seed))["model"]
                row["target_only"] = evaluate(alone, x_test, y_test)
                del alone
                gc.collect()                               # the N-only model goes before the next N builds one
            rows.append(row)
            bar.update(1)
        del model, enc, after_source          # one seed's models are freed before the next seed builds its own
        keras.backend.clear_session()         # (with a garbage collection): nothing of this seed is referenced now
    bar.close()
    return rows
