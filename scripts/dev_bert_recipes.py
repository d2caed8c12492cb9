"""Development runs behind notebooks 03 and 03b (quick profile: all-MiniLM-L6-v2, course reviews, 2 CPU cores).

Phase A - recipes chosen on the VALIDATION split (120 reviews) on the notebooks' seed 0, by
``tlkit.text.select_on_validation``; the test split is not read for these candidates:
  * full fine-tuning: peak learning rate of ``bert_optimizer`` (2 epochs: the notebooks' CI budget);
  * from scratch (03's baseline): peak learning rate x epochs;
  * LoRA rank 8 (03b): optimiser and learning rate.
Phase B - thresholds: the chosen recipes trained on development seeds other than the notebooks' (1, 2, 3);
validation and test accuracies recorded, from which profile.py's thresholds are fixed before the final runs.
``--recipes-from-profile --select`` runs phase B alone with the recipes profile.py holds (2026-12-07: the
thresholds re-derived under one thread, ``TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1``,
as in the test command, ``--out runs/dev_bert/onethread.jsonl``).

Every finished run is appended to ``runs/dev_bert/results.jsonl`` and skipped when the script runs again.
Run from the repository root:  ``PYTHONPATH=$PWD nice -n 5 python scripts/dev_bert_recipes.py [--seeds 1 2 3]``
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

OUT = Path("runs/dev_bert/results.jsonl")
FT_CANDIDATES = (5e-5, 2e-4)                                         # peak LR, 2 epochs (BERT paper grid top; incumbent)
SCRATCH_CANDIDATES = ((3e-4, 2), (1e-3, 2), (3e-4, 3), (1e-3, 3))      # (peak LR, epochs), cheaper first
LORA_CANDIDATES = (("adam", 2e-3), ("adamw_warmup", 5e-3))           # constant Adam vs 03's warmup AdamW


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--select", nargs="*", default=["ft", "lora", "scratch"], help="selections to run first")
    ap.add_argument("--out", default=str(OUT), help="results file (one JSON line per run)")
    ap.add_argument("--recipes-from-profile", action="store_true",
                    help="phase B with the profile's recipes, without re-running the selections (pass --select alone)")
    ap.add_argument("--kinds", nargs="*", default=["ft", "scratch", "half", "lora"], help="phase B models")
    args = ap.parse_args()

    import keras

    import tlkit
    from tlkit import text, textdata
    from tlkit.freeze import trainable_summary

    B = tlkit.budget()
    task = textdata.load_reviews("en")
    enc0 = text.text_encoder(B.txt_encoder)
    x_tr, y_tr = enc0.tokenize(task.train.texts), task.train.labels
    x_va, y_va = enc0.tokenize(task.val.texts), task.val.labels
    x_te, y_te = enc0.tokenize(task.test.texts), task.test.labels
    bs, ncls = B.txt_batch_size, task.num_classes
    steps_per_epoch = int(np.ceil(len(y_tr) / bs))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[r["key"]] = r

    def train(kind: str, seed: int, lr: float, epochs: int, opt: str = "adamw_warmup", read_test: bool = False):
        key = f"{kind}|seed={seed}|lr={lr}|epochs={epochs}|opt={opt}"
        if key in done and (not read_test or "test" in done[key]):
            return done[key]
        t0, c0 = time.time(), time.process_time()
        steps = epochs * steps_per_epoch
        if kind == "ft":                       # as in the notebooks: encoder first, then the seed
            enc = text.text_encoder(B.txt_encoder)
            tlkit.set_seed(seed)
        else:
            tlkit.set_seed(seed)
            enc = text.text_encoder(B.txt_encoder, pretrained=(kind != "scratch"))
        model = text.sentiment_classifier(enc.backbone, ncls)
        if kind == "half":
            text.freeze_bert_layers(enc.backbone, enc.num_layers // 2, embeddings="all")
        if kind == "lora":
            enc.backbone.enable_lora(rank=B.txt_lora_rank)
        optimizer = (keras.optimizers.Adam(learning_rate=lr) if opt == "adam" else text.bert_optimizer(lr, steps))
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        model.optimizer.build(model.trainable_variables)
        h = model.fit(text.trimmed_dataset(x_tr, y_tr, batch_size=bs, seed=seed), epochs=epochs, shuffle=False,
                      verbose=0)
        row = {"key": key, "kind": kind, "seed": seed, "lr": lr, "epochs": epochs, "opt": opt,
               "val": text.evaluate(model, x_va, y_va), "train": text.evaluate(model, x_tr, y_tr),
               "loss": [round(float(v), 4) for v in h.history["loss"]],
               "trainable": trainable_summary(model)["trainable"]}
        if read_test:
            row["test"] = text.evaluate(model, x_te, y_te)
        row.update(wall_s=round(time.time() - t0, 1), cpu_s=round(time.process_time() - c0, 1),
                   date=time.strftime("%Y-%m-%d %H:%M"))
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        done[key] = row
        print(json.dumps(row), flush=True)
        del model, enc
        keras.backend.clear_session()
        return row

    def choose(name, candidates, run):
        best, scores = text.select_on_validation(candidates, run, x_va, y_va, score=lambda r, x, y: r["val"])
        print(f"CHOSEN on validation ({name}): {best}; scores {dict(zip(map(str, candidates), scores))}", flush=True)
        return best

    selections = {
        "ft": lambda: choose("fine-tuning peak LR", FT_CANDIDATES, lambda lr: train("ft", 0, lr, B.txt_epochs)),
        "lora": lambda: choose("LoRA optimiser, LR", LORA_CANDIDATES,
                               lambda c: train("lora", 0, c[1], B.txt_epochs, opt=c[0])),
        "scratch": lambda: choose("scratch peak LR, epochs", SCRATCH_CANDIDATES,
                                  lambda c: train("scratch", 0, c[0], c[1])),
    }
    chosen = {}
    if args.recipes_from_profile:   # phase B only: the recipes the profile holds (chosen earlier, TXT_DEV_SELECTION)
        chosen = {"ft": B.txt_learning_rate, "lora": ("adam", B.txt_lora_learning_rate),
                  "scratch": (B.txt_scratch_learning_rate, B.txt_scratch_epochs)}
    for name in args.select:
        chosen[name] = selections[name]()
    for seed in args.seeds:
        for kind in args.kinds:
            need = {"ft": "ft", "half": "ft", "scratch": "scratch", "lora": "lora"}[kind]
            if need not in chosen:
                chosen[need] = selections[need]()
            c = chosen[need]
            if kind in ("ft", "half"):
                train(kind, seed, c, B.txt_epochs, read_test=True)
            elif kind == "scratch":
                train(kind, seed, c[0], c[1], read_test=True)
            else:
                train(kind, seed, c[1], B.txt_epochs, opt=c[0], read_test=True)


if __name__ == "__main__":
    main()
