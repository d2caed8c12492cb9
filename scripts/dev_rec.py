"""Development runs behind notebook 13 (tlkit/profile.py, rec_*), never on the notebook's seeds (B.rec_seeds).

  PYTHONPATH=. python scripts/dev_rec.py --select [seed ...]   # each arm's recipe (vector size x learning rate),
                                                                 # scored on the VALIDATION interactions (default seed 10)
  PYTHONPATH=. python scripts/dev_rec.py [seed ...]            # thresholds: the notebook's pipeline and recipes on
                                                                 # development seeds (default 10 11 12), test scores
"""
import itertools
import sys
import time

import keras
import numpy as np
import pandas as pd

import tlkit
from tlkit import recsys as rs

SELECT = "--select" in sys.argv
SEEDS = [int(s) for s in sys.argv[1:] if not s.startswith("--")] or ([10] if SELECT else [10, 11, 12])
t0 = time.perf_counter()
B = tlkit.budget()
data = rs.load_movielens()
groups = {"target": B.rec_target_genres, "near": B.rec_near_genres, "far": B.rec_far_genres}
cats = rs.categories(data, groups)
split = rs.time_split(data, B.rec_val_fraction, B.rec_test_fraction)
D = {c: {p: rs.domain(data, getattr(split, p), cats[c]).by_user() for p in ("train", "val", "test")} for c in cats}
n_items = {c: len(v) for c, v in cats.items()}
elig = rs.eligible_users((D["target"]["train"], max(B.rec_ks)), (D["target"]["val"], 1), (D["target"]["test"], 1))
fold = rs.Recipe(B.rec_dim, B.rec_fold_learning_rate, B.rec_fold_epochs, B.rec_fold_batch_size)
pd.set_option("display.width", 200)
cache: dict = {}


def cold_users(seed):
    return np.sort(np.random.default_rng(seed).choice(elig, size=int(B.rec_cold_share * len(elig)), replace=False))


if SELECT:
    rows = []
    for dim, lr in itertools.product(B.rec_dim_candidates, B.rec_lr_candidates):
        r = rs.Recipe(dim, lr, B.rec_epochs, B.rec_batch_size)
        for seed in SEEDS:
            keras.utils.set_random_seed(seed)
            out = rs.cross_domain_seed(data.n_users, D, n_items, cold_users(seed), B.rec_ks,
                                       {"target-only": r, "near": r, "far": r}, fold, cache=cache, seed=seed,
                                       score_on="val", log=lambda s: None)
            rows += [dict(x, dim=dim, lr=lr, seed=seed) for x in out]
        print(f"dim {dim}, lr {lr}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    df["family"] = df.arm.str.replace(" frozen", "").str.replace(" fine-tuned", "")
    table = df[df.arm != "popularity"].groupby(["family", "dim", "lr"])["ndcg"].mean().unstack("family")
    print("validation NDCG@10 (mean over k, arms of the family and seeds):")
    print(table.round(4).to_string())
    for fam in table.columns:
        print(f"chosen for {fam}: dim, lr = {table[fam].idxmax()}")
    sys.exit(0)

recipes = {a: rs.Recipe(*getattr(B, f"rec_recipe_{a.replace('-', '_')}"), B.rec_epochs, B.rec_batch_size)
           for a in ("target-only", "near", "far")}
rows, new_rows = [], []
E = rs.title_embeddings([data.item_text(int(i)) for i in cats["target"]])
features = {"MiniLM title + genres": E, "genres only (multi-hot)": rs.genre_features(data, cats["target"])}
for seed in SEEDS:
    keras.utils.set_random_seed(seed)
    rows += [dict(r, seed=seed) for r in rs.cross_domain_seed(data.n_users, D, n_items, cold_users(seed), B.rec_ks,
                                                              recipes, fold, cache=cache, seed=seed)]
    keras.utils.set_random_seed(seed)
    new_rows += [dict(r, seed=seed) for r in rs.new_items_seed(data.n_users, D["target"], features,
                                                               B.rec_new_item_share, recipes["target-only"], seed,
                                                               cache)]
curve, new = pd.DataFrame(rows), pd.DataFrame(new_rows)
print(curve.pivot_table(index="arm", columns=["k", "seed"], values="ndcg").round(3).to_string())
print(curve.pivot_table(index="arm", columns="k", values=["recall", "ndcg"]).round(3).to_string())
print(new.pivot_table(index="arm", columns="seed", values="recall").round(3).to_string())
print(f"{time.perf_counter() - t0:.1f} s")
