"""Development run behind notebook 13's thresholds (tlkit/profile.py, rec_*): the notebook's pipeline and budget on
OTHER seeds (default 10 11 12; the notebook runs B.rec_seeds = 0 1 2). Prints the learning-curve table per seed and
the new-films table. Usage: PYTHONPATH=. python scripts/dev_rec.py [seed ...]"""
import sys
import time

import keras
import numpy as np
import pandas as pd

import tlkit
from tlkit import recsys as rs

SEEDS = [int(s) for s in sys.argv[1:]] or [10, 11, 12]
t0 = time.perf_counter()
B = tlkit.budget()
data = rs.load_movielens()
groups = {"target": B.rec_target_genres, "near": B.rec_near_genres, "far": B.rec_far_genres}
cats = rs.categories(data, groups)
split = rs.time_split(data, B.rec_val_fraction, B.rec_test_fraction)
D = {c: {p: rs.domain(data, getattr(split, p), cats[c]).by_user() for p in ("train", "val", "test")} for c in cats}
n_items = {c: len(v) for c, v in cats.items()}
elig = rs.eligible_users((D["target"]["train"], max(B.rec_ks)), (D["target"]["val"], 1), (D["target"]["test"], 1))
recipe = rs.Recipe(B.rec_dim, B.rec_learning_rate, B.rec_epochs, B.rec_batch_size)
fold = rs.Recipe(B.rec_dim, B.rec_fold_learning_rate, B.rec_fold_epochs, B.rec_fold_batch_size)
rows, new_rows, cache = [], [], {}
E = rs.title_embeddings([data.item_text(int(i)) for i in cats["target"]])
features = {"MiniLM title + genres": E, "genres only (multi-hot)": rs.genre_features(data, cats["target"])}
for seed in SEEDS:
    keras.utils.set_random_seed(seed)
    cold = np.sort(np.random.default_rng(seed).choice(elig, size=int(B.rec_cold_share * len(elig)), replace=False))
    rows += [dict(r, seed=seed) for r in rs.cross_domain_seed(data.n_users, D, n_items, cold, B.rec_ks, recipe, fold,
                                                              cache=cache, seed=seed)]
    keras.utils.set_random_seed(seed)
    new_rows += [dict(r, seed=seed) for r in rs.new_items_seed(data.n_users, D["target"], features,
                                                               B.rec_new_item_share, recipe, seed, cache)]
curve, new = pd.DataFrame(rows), pd.DataFrame(new_rows)
pd.set_option("display.width", 200)
print(curve.pivot_table(index="arm", columns=["k", "seed"], values="ndcg").round(3).to_string())
print(curve.pivot_table(index="arm", columns="k", values=["recall", "ndcg"]).round(3).to_string())
print(new.pivot_table(index="arm", columns="seed", values="recall").round(3).to_string())
print(f"{time.perf_counter() - t0:.1f} s")
