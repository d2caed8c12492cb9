"""Zero-shot text classification (классификация без обучающих примеров) by embedding similarity.

Each class is *described in words*. Every description is put into a few sentence templates
("The e-mail is about {}."), all these prompts are embedded with a sentence encoder, and their
L2-normalised mean is the class prototype (template ensembling). A text gets the class whose
prototype is most similar (cosine) to the text's embedding. No labelled example is used.

Optional calibration (калибровка): the mean similarity of each class over a set of *unlabelled* texts
is subtracted from the scores, so that a class whose descriptions happen to sit close to every text
does not swallow the others. It uses no labels, but it does look at the texts to be classified (or
others like them), so it is stated wherever it is used.

For comparison, :func:`few_shot_curve` classifies with ``k`` labelled texts per class instead
(nearest class mean and logistic regression on the same embeddings).

The encoder is a :class:`tlkit.text.TextEncoder` (embedded with :func:`tlkit.text.sentence_embeddings`)
or any callable ``list[str] -> (n, dim) array`` (handy in tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .data import few_per_class
from .text import check_texts, l2_normalize

#: Templates used when none are given: the plain description and two neutral sentences.
DEFAULT_TEMPLATES: tuple[str, ...] = ("{}", "This text is about {}.", "The topic of this text is {}.")

#: Templates for customer-support e-mails (notebook 06).
EMAIL_TEMPLATES: tuple[str, ...] = ("{}", "The e-mail is about {}.", "This customer e-mail is {}.",
                                    "Customer support e-mail: {}.")

#: The course's wording of the three e-mail classes, written from the data card's class definitions
#: (data/emails/README.md). Keys are the class names of :data:`tlkit.textdata.EMAIL_CLASSES`.
EMAIL_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "refund_request": ("a refund request",
                       "a customer who wants their money back for an order",
                       "a request to return an item for a refund"),
    "quality_complaint": ("a complaint about quality",
                          "a complaint that a product is defective, broken or poor quality",
                          "a customer complaining about a faulty product"),
    "product_question": ("a question about a product",
                         "a question about the size, use or compatibility of a product",
                         "a customer asking how a product works"),
}

#: The seed's own three sentences (one description per class, no template).
SEED_DESCRIPTIONS: dict[str, str] = {
    "refund_request": "the e-mail is about a refund request",
    "quality_complaint": "the e-mail is about a complaint about quality",
    "product_question": "the e-mail is about a question about a product",
}

Encoder = Any   # a tlkit.text.TextEncoder, or a callable list[str] -> (n, dim) array


# ---------------------------------------------------------------------------------------------- checking
def check_class_descriptions(class_descriptions: Any) -> dict[str, list[str]]:
    """Normalise class descriptions to ``{class name: [description, ...]}`` or raise ValueError.

    Accepted: a mapping ``{name: "description"}`` or ``{name: ["description", ...]}``, or a list of
    strings (each string is both the class name and its only description). At least 2 classes; no
    empty or duplicate class names; no empty description; no description shared by two classes.
    """
    if isinstance(class_descriptions, str):
        raise ValueError("class_descriptions: expected a dict {class name: description(s)} or a list of "
                         "descriptions, got a single string")
    if isinstance(class_descriptions, Mapping):
        items = list(class_descriptions.items())
    else:
        try:
            seq = list(class_descriptions)
        except TypeError:
            raise ValueError("class_descriptions: expected a dict {class name: description(s)} or a list of "
                             f"descriptions, got {type(class_descriptions).__name__}") from None
        items = [(d, d) for d in seq]
    if len(items) < 2:
        raise ValueError(f"class_descriptions: zero-shot classification needs at least 2 classes, got {len(items)}")
    out: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for name, descs in items:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"class_descriptions: class names must be non-empty strings, got {name!r}")
        key = name.strip()
        if key in out:
            raise ValueError(f"class_descriptions: duplicate class name {key!r}; every class must appear once")
        if isinstance(descs, str):
            descs = [descs]
        try:
            descs = list(descs)
        except TypeError:
            raise ValueError(f"class_descriptions[{key!r}]: expected a string or a list of strings, "
                             f"got {type(descs).__name__}") from None
        if not descs:
            raise ValueError(f"class_descriptions[{key!r}]: no description given; describe the class in words")
        clean = []
        for d in descs:
            if not isinstance(d, str) or not d.strip():
                raise ValueError(f"class_descriptions[{key!r}]: every description must be a non-empty string, "
                                 f"got {d!r}")
            d = d.strip()
            low = d.lower()
            if low in owner and owner[low] != key:
                raise ValueError(f"class_descriptions: {d!r} describes both {owner[low]!r} and {key!r}; "
                                 f"the classes could not be told apart")
            owner[low] = key
            clean.append(d)
        out[key] = clean
    return out


def check_templates(templates: Any) -> tuple[str, ...]:
    """Templates: a non-empty list of distinct strings, each with exactly one ``{}`` slot."""
    if isinstance(templates, str):
        templates = [templates]
    try:
        items = list(templates)
    except TypeError:
        raise ValueError(f"templates: expected a list of strings with one '{{}}' each, "
                         f"got {type(templates).__name__}") from None
    if not items:
        raise ValueError("templates: expected at least one template such as '{}' or 'This text is about {}.'")
    for t in items:
        if not isinstance(t, str) or t.count("{}") != 1 or t.replace("{}", "").count("{") or t.replace("{}", "").count("}"):
            raise ValueError(f"templates: every template must be a string with exactly one '{{}}' slot "
                             f"(where the description goes) and no other braces, got {t!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"templates: duplicate templates in {items}")
    return tuple(items)


def _check_embeddings(e: Any, what: str, n: int | None = None, dim: int | None = None) -> np.ndarray:
    e = np.asarray(e, dtype=np.float32)
    if e.ndim != 2 or e.shape[0] == 0 or e.shape[1] == 0:
        raise ValueError(f"{what}: expected a non-empty (n, dim) array of embeddings, got shape {e.shape}")
    if n is not None and e.shape[0] != n:
        raise ValueError(f"{what}: expected {n} rows (one per text), got {e.shape[0]}")
    if dim is not None and e.shape[1] != dim:
        raise ValueError(f"{what}: expected dimension {dim} (the encoder's), got {e.shape[1]}")
    if not np.all(np.isfinite(e)):
        raise ValueError(f"{what}: embeddings contain NaN or infinity")
    zero = np.flatnonzero(~np.any(e, axis=1))
    if len(zero):   # no direction: every cosine is 0 and argmax would silently answer class 0
        raise ValueError(f"{what}: rows {zero[:5].tolist()} are all-zero embeddings; expected non-zero vectors "
                         f"(check the encoder's output for those texts)")
    return e


def embed(encoder: Encoder, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """L2-normalised embeddings of ``texts`` with a TextEncoder or a callable ``texts -> (n, dim)``."""
    texts = check_texts(texts)
    if hasattr(encoder, "embedding_dim") and hasattr(encoder, "kind"):
        from .text import sentence_embeddings

        out = sentence_embeddings(encoder, texts, batch_size=batch_size, progress=progress)
    elif callable(encoder):
        out = encoder(texts)
    else:
        raise ValueError(f"encoder: expected a tlkit TextEncoder (tlkit.text_encoder(...)) or a callable "
                         f"texts -> embeddings, got {type(encoder).__name__}")
    return l2_normalize(_check_embeddings(out, "encoder output", n=len(texts)))


# ------------------------------------------------------------------------------------------------ model
@dataclass
class ZeroShotResult:
    """Predictions of a zero-shot classifier: class ids, scores (texts x classes) and the class names."""

    labels: np.ndarray            # (n,) int class ids (argmax of scores)
    scores: np.ndarray            # (n, num_classes) cosine similarities (minus the calibration offsets)
    class_names: tuple[str, ...]
    calibrated: bool = False

    def label_names(self) -> list[str]:
        return [self.class_names[int(i)] for i in self.labels]

    def probabilities(self, temperature: float = 0.05) -> np.ndarray:
        """Softmax of ``scores / temperature``: a readable confidence, not a calibrated probability."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        z = self.scores / float(temperature)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def margin(self) -> np.ndarray:
        """Best score minus second best, per text (small margin = an uncertain decision)."""
        s = np.sort(self.scores, axis=1)
        return s[:, -1] - s[:, -2]


@dataclass
class ZeroShotClassifier:
    """Class prototypes built from descriptions x templates with one encoder.

    ``prompts[c]`` lists the sentences embedded for class ``c``; ``prototypes`` is ``(num_classes, dim)``;
    ``offsets`` (zeros until :meth:`calibrate`) is subtracted from every score.
    """

    class_names: tuple[str, ...]
    prompts: list[list[str]]
    prototypes: np.ndarray
    encoder: Encoder = field(repr=False, default=None)
    offsets: np.ndarray | None = None

    @classmethod
    def build(cls, class_descriptions: Any, encoder: Encoder,
              templates: Sequence[str] = DEFAULT_TEMPLATES) -> "ZeroShotClassifier":
        """Embed every (template, description) prompt; average per class; L2-normalise."""
        descs = check_class_descriptions(class_descriptions)
        templates = check_templates(templates)
        prompts = [[t.format(d) for d in ds for t in templates] for ds in descs.values()]
        flat = [p for ps in prompts for p in ps]
        e = embed(encoder, flat)
        protos, s = [], 0
        for ps in prompts:
            protos.append(e[s:s + len(ps)].mean(axis=0))
            s += len(ps)
        protos = l2_normalize(np.stack(protos))
        return cls(tuple(descs), prompts, protos, encoder, np.zeros(len(descs), dtype=np.float32))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _text_embeddings(self, texts: Sequence[str] | None, embeddings: np.ndarray | None) -> np.ndarray:
        if embeddings is None:
            if texts is None:
                raise ValueError("pass texts or their embeddings")
            return embed(self.encoder, texts)
        n = None if texts is None else len(check_texts(texts))
        return l2_normalize(_check_embeddings(embeddings, "text_embeddings", n=n, dim=self.prototypes.shape[1]))

    def raw_scores(self, texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of every text with every class prototype, ``(n, num_classes)``."""
        return self._text_embeddings(texts, embeddings) @ self.prototypes.T

    def calibrate(self, texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None,
                  min_texts: int = 10) -> "ZeroShotClassifier":
        """Set ``offsets`` to each class's mean similarity over unlabelled texts (no labels are used)."""
        s = self.raw_scores(texts, embeddings)
        if len(s) < min_texts:
            raise ValueError(f"calibration needs at least {min_texts} unlabelled texts to estimate each class's "
                             f"typical score, got {len(s)}; calibrate on more texts or use calibrate=False")
        self.offsets = s.mean(axis=0).astype(np.float32)
        return self

    @property
    def calibrated(self) -> bool:
        return self.offsets is not None and bool(np.any(self.offsets != 0))

    def predict(self, texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None) -> ZeroShotResult:
        """Scores (similarity minus offsets) and the best class of every text."""
        s = self.raw_scores(texts, embeddings)
        if self.offsets is not None:
            s = s - self.offsets
        return ZeroShotResult(np.argmax(s, axis=1).astype(np.int64), s.astype(np.float32), self.class_names,
                              self.calibrated)


def zero_shot_classify(texts: Sequence[str], class_descriptions: Any, encoder: Encoder,
                       templates: Sequence[str] = DEFAULT_TEMPLATES, calibrate: bool = False,
                       text_embeddings: np.ndarray | None = None) -> ZeroShotResult:
    """Classify ``texts`` into classes described only in words (no training data).

    ``class_descriptions``: ``{class name: description or [descriptions]}`` or a list of descriptions.
    ``templates``: sentences with one ``{}`` slot; every description is put into every template and
    all the prompts of a class are averaged (template ensembling).
    ``calibrate=True`` subtracts each class's mean score over ``texts`` themselves (unlabelled; needs
    at least 10 texts). ``text_embeddings`` (optional) are the texts' embeddings, when already computed.
    Returns a :class:`ZeroShotResult` (``labels``, ``scores``, ``class_names``).
    """
    texts = check_texts(texts)
    if not isinstance(calibrate, bool):
        raise ValueError(f"calibrate must be True or False, got {calibrate!r}")
    clf = ZeroShotClassifier.build(class_descriptions, encoder, templates)
    emb = clf._text_embeddings(texts, text_embeddings)
    if calibrate:
        clf.calibrate(embeddings=emb)
    return clf.predict(embeddings=emb)


# -------------------------------------------------------------------------------------------- evaluation
def classification_report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix (rows: true, columns: predicted)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    c = len(class_names)
    if c < 2:
        raise ValueError(f"class_names: expected at least 2 classes, got {len(class_names)}")
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred: expected two non-empty 1-D arrays of the same length, "
                         f"got {y_true.shape} and {y_pred.shape}")
    for what, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= c:
            raise ValueError(f"{what}: expected integer class ids in 0..{c - 1}")
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(float)
    precision = np.divide(tp, cm.sum(0), out=np.zeros(c), where=cm.sum(0) > 0)
    recall = np.divide(tp, cm.sum(1), out=np.zeros(c), where=cm.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(c), where=(precision + recall) > 0)
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(cm[i].sum())} for i, name in enumerate(class_names)}
    return {"accuracy": float(tp.sum() / cm.sum()), "per_class": per_class, "confusion": cm,
            "class_names": tuple(class_names)}


def few_shot_predict(train_embeddings: np.ndarray, train_labels: np.ndarray, test_embeddings: np.ndarray,
                     num_classes: int, method: str = "prototype", prototypes: np.ndarray | None = None,
                     c: float = 1.0) -> np.ndarray:
    """Predict with ``k`` labelled examples per class on frozen embeddings.

    ``method``: ``"prototype"`` (nearest class mean, cosine), ``"logistic"`` (logistic regression),
    or ``"prototype+descriptions"`` (class mean of the examples plus the zero-shot ``prototypes``).
    """
    from .data import check_labels

    tr = _check_embeddings(train_embeddings, "train_embeddings")
    te = _check_embeddings(test_embeddings, "test_embeddings", dim=tr.shape[1])
    y = np.asarray(train_labels)
    check_labels(y, num_classes, n=len(tr), what="train_labels")
    missing = sorted(set(range(num_classes)) - set(y.tolist()))
    if missing:
        raise ValueError(f"train_labels: classes {missing} have no labelled example; few-shot needs >= 1 per class")
    if method in ("prototype", "prototype+descriptions"):
        means = l2_normalize(np.stack([l2_normalize(tr[y == k]).mean(0) for k in range(num_classes)]))
        if method == "prototype+descriptions":
            if prototypes is None:
                raise ValueError("method 'prototype+descriptions' needs the zero-shot prototypes")
            p = _check_embeddings(prototypes, "prototypes", n=num_classes, dim=tr.shape[1])
            means = l2_normalize(means + l2_normalize(p))
        return np.argmax(l2_normalize(te) @ means.T, axis=1).astype(np.int64)
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=c, max_iter=3000).fit(tr, y)
        return clf.predict(te).astype(np.int64)
    raise ValueError(f"method must be 'prototype', 'logistic' or 'prototype+descriptions', got {method!r}")


FEW_SHOT_METHODS = ("prototype", "logistic", "prototype+descriptions")


def few_shot_curve(embeddings: np.ndarray, labels: np.ndarray, classifier: ZeroShotClassifier,
                   ks: Sequence[int], seeds: Sequence[int], methods: Sequence[str] = FEW_SHOT_METHODS,
                   test_embeddings: np.ndarray | None = None, test_labels: np.ndarray | None = None) -> list[dict]:
    """Few-shot vs zero-shot, for every ``k`` (examples per class) and seed.

    For each (k, seed), ``k`` examples per class are drawn from ``embeddings``/``labels``
    (:func:`tlkit.data.few_per_class`). Without ``test_embeddings`` every method is scored on the **remaining**
    texts of the same set; with ``test_embeddings``/``test_labels`` (a separate test part) every method is scored
    on that test part, the same for every k and seed. Zero-shot (``classifier``, which saw no labels) is scored on
    the same texts. The methods have no tuned hyper-parameters (logistic regression uses ``C=1``).
    Returns rows ``{"k", "seed", "n_test", "zero-shot", <method>...}``.
    """
    emb = _check_embeddings(embeddings, "embeddings")
    y = np.asarray(labels)
    nc = classifier.num_classes
    from .data import check_labels

    check_labels(y, nc, n=len(emb), what="labels")
    if (test_embeddings is None) != (test_labels is None):
        raise ValueError("few_shot_curve: give both test_embeddings and test_labels, or neither")
    if test_embeddings is not None:
        te = _check_embeddings(test_embeddings, "test_embeddings", dim=emb.shape[1])
        ty = np.asarray(test_labels)
        check_labels(ty, nc, n=len(te), what="test_labels")
    if not ks or not seeds:
        raise ValueError("few_shot_curve: give at least one k and one seed")
    for m in methods:
        if m not in FEW_SHOT_METHODS:
            raise ValueError(f"few_shot_curve: unknown method {m!r}; expected some of {FEW_SHOT_METHODS}")
    zs = classifier.predict(embeddings=emb).labels
    zs_test = None if test_embeddings is None else classifier.predict(embeddings=te).labels
    rows = []
    for k in ks:
        for seed in seeds:
            idx = few_per_class(y, int(k), seed=int(seed), num_classes=nc)
            if zs_test is None:
                rest = np.setdiff1d(np.arange(len(y)), idx)
                if len(rest) == 0:
                    raise ValueError(f"few_shot_curve: k={k} uses every text; nothing is left to evaluate on")
                e_eval, y_eval, z_eval = emb[rest], y[rest], zs[rest]
            else:
                e_eval, y_eval, z_eval = te, ty, zs_test
            row = {"k": int(k), "seed": int(seed), "n_test": int(len(y_eval)),
                   "zero-shot": float(np.mean(z_eval == y_eval))}
            for m in methods:
                pred = few_shot_predict(emb[idx], y[idx], e_eval, nc, method=m, prototypes=classifier.prototypes)
                row[m] = float(np.mean(pred == y_eval))
            rows.append(row)
    return rows


def wording_table(embeddings: np.ndarray, labels: np.ndarray, variants: Mapping[str, tuple[Any, Sequence[str]]],
                  encoder: Encoder, calibrate: bool = False) -> list[dict]:
    """Accuracy of zero-shot classification for several wordings of the classes.

    ``variants``: ``{name: (class_descriptions, templates)}``. Returns rows ``{"wording", "prompts per
    class", "accuracy", "calibrated accuracy"}`` (the latter only with ``calibrate=True``) plus per-class recall.
    """
    emb = _check_embeddings(embeddings, "embeddings")
    y = np.asarray(labels)
    if not variants:
        raise ValueError("wording_table: no variants given")
    rows = []
    for name, (descs, templates) in variants.items():
        clf = ZeroShotClassifier.build(descs, encoder, templates)
        if len(y) != len(emb):
            raise ValueError(f"wording_table: {len(emb)} embeddings but {len(y)} labels")
        pred = clf.predict(embeddings=emb).labels
        row = {"wording": name, "prompts per class": len(clf.prompts[0]), "accuracy": float(np.mean(pred == y))}
        for i, c in enumerate(clf.class_names):
            row[f"recall {c}"] = float(np.mean(pred[y == i] == i)) if np.any(y == i) else float("nan")
        if calibrate:
            row["calibrated accuracy"] = float(np.mean(clf.calibrate(embeddings=emb).predict(embeddings=emb).labels == y))
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------- validation / test protocol
def evaluation_split(labels: Sequence[int], strata: Sequence[Any] | None = None, validation_fraction: float = 0.5,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, stratified split of an evaluation set into a **validation** part and a **test** part.

    Every stratum (the class, crossed with ``strata`` when given, e.g. the ``ambiguous`` flag) is shuffled with
    ``seed`` and its first ``round(validation_fraction * size)`` members go to validation. Returns the sorted
    index arrays ``(validation, test)``: disjoint, together every index once. Choices (encoder, wording, few-shot
    examples) are made on the validation part; the test part is read once, to report.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) < 2 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels: expected a 1-D array of >= 2 integer class ids, got shape {y.shape}")
    if not 0.0 < float(validation_fraction) < 1.0:
        raise ValueError(f"validation_fraction must be strictly between 0 and 1, got {validation_fraction}")
    if strata is not None and len(strata) != len(y):
        raise ValueError(f"strata: expected {len(y)} values (one per text), got {len(strata)}")
    keys = [(int(c),) if strata is None else (int(c), str(s)) for c, s in zip(y, strata if strata is not None else y)]
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for key in sorted(set(keys)):
        members = np.flatnonzero([k == key for k in keys])
        members = members[rng.permutation(len(members))]
        val.extend(members[:int(round(float(validation_fraction) * len(members)))].tolist())
    v = np.sort(np.asarray(val, dtype=np.int64))
    t = np.setdiff1d(np.arange(len(y)), v)
    if len(v) == 0 or len(t) == 0:
        raise ValueError("evaluation_split: one part is empty; use more texts or another validation_fraction")
    return v, t


@dataclass
class ZeroShotSelection:
    """The configuration chosen on validation data: encoder name, wording name, its validation accuracy, and
    the table of every candidate (rows ``{"encoder", "wording", "prompts per class", "validation accuracy", ...}``)."""

    encoder: str
    wording: str
    validation_accuracy: float
    table: list[dict]


def select_zero_shot(validation_embeddings: Mapping[str, np.ndarray], validation_labels: Sequence[int],
                     encoders: Mapping[str, Encoder],
                     variants: Mapping[str, tuple[Any, Sequence[str]]], calibrate: bool = False) -> ZeroShotSelection:
    """Choose the encoder and the class wording (descriptions x templates) by accuracy on **validation** e-mails.

    ``validation_embeddings[name]`` are the validation texts embedded by ``encoders[name]``; ``variants`` is
    ``{wording name: (class_descriptions, templates)}`` as in :func:`wording_table`. Every (encoder, wording) pair
    is scored; the highest validation accuracy wins, ties going to the earlier encoder, then the earlier wording
    (the order given is the order of preference). ``calibrate=True`` adds a "calibrated accuracy" column (offsets
    from the validation texts) for reading; the choice is made on the uncalibrated accuracy. The function sees no
    test data, so the test labels cannot influence the choice.
    """
    if not encoders or not variants:
        raise ValueError("select_zero_shot: give at least one encoder and one wording")
    missing = sorted(set(encoders) - set(validation_embeddings))
    if missing:
        raise ValueError(f"select_zero_shot: no validation embeddings for encoders {missing}")
    table: list[dict] = []
    best: tuple[float, str, str] | None = None
    for enc_name, enc in encoders.items():
        rows = wording_table(validation_embeddings[enc_name], validation_labels, variants, enc, calibrate=calibrate)
        for row in rows:
            row = {"encoder": enc_name, **row}
            row["validation accuracy"] = row.pop("accuracy")
            table.append(row)
            if best is None or row["validation accuracy"] > best[0]:
                best = (row["validation accuracy"], enc_name, row["wording"])
    assert best is not None
    return ZeroShotSelection(encoder=best[1], wording=best[2], validation_accuracy=float(best[0]), table=table)
