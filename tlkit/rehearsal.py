"""The full-profile rehearsal: run the ``full`` code paths offline, with every network source served locally.

``python -m tlkit rehearse [NN ...]`` runs notebooks with ``TLKIT_PROFILE=full`` and ``TLKIT_REHEARSAL``
pointing at a rehearsal folder. The notebooks then use the *full* loaders, model classes, image sizes and
sequence lengths, but:

* tensorflow-datasets (cats_vs_dogs, Imagenette) is served by ``tfds.testing.mock_data`` (random images of
  the real feature spec), switched on in the notebook kernel by :func:`tlkit.start`;
* keras.applications ResNet50 is built by keras.applications from a local weights file of the same
  architecture: **stand-in weights** (random, seeded), NOT ImageNet weights;
* keras-hub BERT presets are local preset directories of the real preset's architecture scaled down
  (2 layers, 64 units), with a real BERT vocabulary (the packaged MiniLM ``vocab.txt``), written by
  keras-hub's ``save_to_preset``: **stand-in weights** again;
* Yelp, RuReviews and NSMC are tiny fixture files in the upstream formats, downloaded through the real
  download code (``keras.utils.get_file``, MD5 / row-count checks, SHA-256 sidecars) from an
  ``http.server`` on 127.0.0.1 (:data:`URL_ENV` rewrites the upstream URLs, only in a rehearsal);
* the budget is the full budget with tiny sizes (few images and texts, one epoch, one seed), the same
  image sizes and sequence lengths (:func:`rehearsal_budget`);
* any other connection than to 127.0.0.1 is refused inside the kernel (:func:`block_network`).

Stand-in weights are not pretrained, so claims are computed and printed but not asserted
(:func:`tlkit.claims.strict` is False in a rehearsal). A rehearsal proves that the full code paths run
end to end (shapes, loaders, formats, model plumbing, memory at tiny sizes); it proves nothing about
accuracy, speed or the full-size memory and time budgets.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

#: the rehearsal folder (fixtures, stand-in models, caches); set by ``python -m tlkit rehearse``
ENV = "TLKIT_REHEARSAL"
#: ``http://127.0.0.1:<port>``: the local server that stands in for every download host
URL_ENV = "TLKIT_REHEARSAL_URL"
#: bump when the fixtures change (a folder made by another version is rebuilt)
FIXTURE_VERSION = 3
#: mock examples per tensorflow-datasets split (>= every rehearsal budget's pool)
TFDS_EXAMPLES = 24
#: the stand-in BERT size (the real preset's structure: same vocabulary, max length, segments)
STANDIN_BERT = {"num_layers": 2, "num_heads": 2, "hidden_dim": 64, "intermediate_dim": 128}
#: the real presets' casing (bert_base_multi is cased)
_LOWERCASE = {"bert_base_multi": False}
_STATE: dict[str, Any] = {"mock": None, "blocked": False}


def active() -> Path | None:
    """The rehearsal folder when a rehearsal runs (``TLKIT_REHEARSAL`` set), else None."""
    raw = os.environ.get(ENV, "").strip()
    return Path(raw).expanduser() if raw else None


def _root() -> Path:
    root = active()
    if root is None:
        raise RuntimeError(f"not in a rehearsal ({ENV} is not set); run `python -m tlkit rehearse`")
    return root


def manifest() -> dict:
    """The fixture manifest (sizes and hashes of the fixture files, recorded when they were written)."""
    p = _root() / "fixtures.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        raise RuntimeError(f"rehearsal fixtures missing in {p.parent}; run `python -m tlkit rehearse`") from None


def url(upstream: str) -> str:
    """``upstream`` outside a rehearsal; in one, the same path under the local server:
    ``https://host/a/b`` -> ``$TLKIT_REHEARSAL_URL/host/a/b``."""
    if active() is None:
        return upstream
    base = os.environ.get(URL_ENV, "").strip().rstrip("/")
    if not base:
        raise RuntimeError(f"rehearsal: {URL_ENV} is not set (the local file server); run `python -m tlkit rehearse`")
    rest = upstream.split("://", 1)[-1]
    return f"{base}/{rest}"


# ----------------------------------------------------------------------------------------------- budget
def rehearsal_budget(full):
    """The full budget with tiny sizes: same models, image sizes and sequence lengths; few examples,
    one epoch, one seed, few steps."""
    from dataclasses import replace

    return replace(
        full, profile="full",
        fe_train_pool=TFDS_EXAMPLES, fe_test_size=TFDS_EXAMPLES, fe_labels_per_class=(1, 2), fe_seeds=(0,),
        fe_head_steps=2, fe_scratch_steps=2, fe_timing_images=8, fe_timing_batch=4, fe_timing_epochs=2,
        batch_size=8, fe_head_epochs=1, fe_twin_k=2, fe_twin_steps=1, fe_twin_seeds=(0,),
        ft_train_images=12, ft_head_epochs=1, ft_finetune_epochs=1, ft_naive_epochs=1, ft_sweep_blocks=(),
        ft_probe_train=20, ft_probe_test=8, ft_sweep_epochs=1, ft_timing_rounds=1,
        txt_batch_size=8, txt_epochs=1, txt_scratch_epochs=1, txt_seeds=(0,), txt_train_per_class=20,
        txt_val_per_class=2, txt_test_per_class=4, txt_embed_batch=16, txt_timing_rounds=1, txt_timing_steps=1,
        txt_lora_trained_ranks=(full.txt_lora_rank,),
        xl_source_per_class=6, xl_target_pool_per_class=26, xl_val_per_class=2, xl_test_per_class=4,
        xl_ns=(0, 50, None), xl_seeds=(0,), xl_ft_ns=(0, 2), xl_ft_seeds=(0,), xl_pairs_shown=6,
        da_steps=4, da_batch_size=8, da_target_labels=2, da_seeds=(0,), da_sweep=(0.0, 1.0), da_tsne_points=16,
        zs_few_shot_k=(1,), zs_seeds=(0,), ts_gold_few=2, ts_student_epochs=1, ts_seeds=(0,),
        sp_train_per_word=5, sp_test_per_word=2, sp_real_variants=1, sp_shots=(1, 5), sp_seeds=(0,),
        sp_val_per_word=1, sp_lang_train_per_word=5, sp_learning_rates=(1e-3, 1e-2), sp_step_grid=(2, 4),
        sp_page_epochs=1, sp_finetune_epochs=(1,),
        extra={**full.extra, "rehearsal": True})


# ----------------------------------------------------------------------------------------------- kernel side
def block_network() -> None:
    """Refuse every socket connection except to the loopback interface (the rehearsal's file server), so a
    rehearsal that reached a hub would fail loudly instead of passing by luck."""
    import socket

    if _STATE["blocked"]:
        return
    original = socket.socket.connect

    def connect(self, address):  # noqa: ANN001 - socket's own signature
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host in ("localhost", "::1") or host.startswith("127.")
                                          or self.family == getattr(socket, "AF_UNIX", None)):
            raise ConnectionRefusedError(f"rehearsal: network blocked (connection to {host}); only 127.0.0.1 "
                                         f"is served")
        return original(self, address)

    socket.socket.connect = connect
    _STATE["blocked"] = True


def activate() -> bool:
    """Inside a notebook kernel (called by :func:`tlkit.start`): block the network and serve
    tensorflow-datasets from ``tfds.testing.mock_data``. False outside a rehearsal."""
    if active() is None:
        return False
    block_network()
    if _STATE["mock"] is None:
        import tensorflow_datasets as tfds

        cm = tfds.testing.mock_data(num_examples=TFDS_EXAMPLES)
        cm.__enter__()                   # kept for the kernel's lifetime
        _STATE["mock"] = cm
    return True


def tfds_mocked() -> bool:
    """True when tensorflow-datasets is served by the rehearsal's mock (no download needed)."""
    return _STATE["mock"] is not None


# ----------------------------------------------------------------------------------------------- stand-in models
def _atomic_dir_ready(path: Path) -> bool:
    return (path / ".complete").exists()


def resnet50_standin_weights(image_size: int = 160) -> Path:
    """A ResNet50 (notop) weights file of the keras.applications architecture with random, seeded
    STAND-IN weights (not ImageNet), written once per rehearsal folder."""
    path = _root() / "models" / "resnet50_standin_notop.weights.h5"
    if path.exists():
        return path
    import keras

    path.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(include_top=False, weights=None, pooling="avg",
                                        input_shape=(image_size, image_size, 3))
    tmp = path.with_name(".tmp-" + path.name)
    model.save_weights(tmp)
    os.replace(tmp, path)
    return path


def resnet50_standin_classifier_weights() -> Path:
    """Weights of the full ``keras.applications.ResNet50`` classifier (224 px, 1000-class top) with random, seeded
    STAND-IN values (not ImageNet), for notebook 08's ``keras.applications`` section; written once."""
    path = _root() / "models" / "resnet50_standin_top.weights.h5"
    if path.exists():
        return path
    import keras

    path.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    tmp = path.with_name(".tmp-" + path.name)
    model.save_weights(tmp)
    os.replace(tmp, path)
    return path


def hub_standin_feature_vector() -> Path:
    """A TF Hub-style SavedModel folder standing in for the full profile's MobileNetV2 feature vector:
    ``keras.applications.MobileNetV2`` (no top, average pooling) with random, seeded STAND-IN weights, exported
    in TF Hub's reusable format (float32 images in [0, 1]) by :func:`tlkit.hubs.write_feature_vector`."""
    out = _root() / "models" / "hub_mobilenet_v2_standin"
    if _atomic_dir_ready(out):
        return out
    import keras

    from .hubs import write_feature_vector

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg", input_shape=(224, 224, 3))
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_feature_vector(model, out)
    (out / ".complete").write_text("stand-in weights, not pretrained\n")
    return out


def bert_standin_preset(name: str) -> Path:
    """A local keras-hub preset directory for ``name``: BertBackbone of the real preset's structure scaled
    down (:data:`STANDIN_BERT`, random STAND-IN weights) with a real BERT vocabulary (the packaged MiniLM
    ``vocab.txt``, 30,522 word pieces), written with ``save_to_preset``."""
    out = _root() / "models" / "presets" / name
    if _atomic_dir_ready(out):
        return out
    import keras
    import keras_hub

    from .text import minilm_dir

    vocab = minilm_dir() / "vocab.txt"
    words = [w for w in vocab.read_text(encoding="utf-8").splitlines()]
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(words), max_sequence_length=512, **STANDIN_BERT)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=str(vocab), lowercase=_LOWERCASE.get(name, True))
    out.mkdir(parents=True, exist_ok=True)
    backbone.save_to_preset(str(out))
    tokenizer.save_to_preset(str(out))
    (out / ".complete").write_text("stand-in weights, not pretrained\n")
    return out


# ----------------------------------------------------------------------------------------------- data fixtures
_EN = {0: ["terrible", "awful", "broken", "rude", "disappointing", "cold", "dirty", "slow"],
       1: ["okay", "average", "fine", "mixed", "acceptable", "ordinary", "decent", "so-so"],
       2: ["excellent", "wonderful", "friendly", "delicious", "great", "perfect", "lovely", "fast"]}
_EN_THINGS = ["service", "food", "room", "staff", "coffee", "pizza", "delivery", "price", "table", "music"]
_RU = {"negative": ["ужасное", "плохое", "грязное", "медленное"], "neautral": ["обычное", "среднее", "нормальное",
       "простое"], "positive": ["отличное", "прекрасное", "удобное", "красивое"]}
_RU_THINGS = ["платье", "качество", "пальто", "изделие", "кольцо", "пошив"]
_KO = {0: ["최악", "지루한", "별로인", "실망스러운"], 1: ["최고", "재미있는", "감동적인", "훌륭한"]}
_KO_THINGS = ["영화", "배우", "연출", "이야기", "음악"]


def _yelp_csv(per_star: int, offset: int) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for star in range(1, 6):
        cls = 0 if star <= 2 else 1 if star == 3 else 2
        for i in range(per_star):
            j = i + offset + 100 * star         # unique per star: stars 1 and 2 (4 and 5) share a class
            w.writerow([str(star), f"The {_EN_THINGS[j % 10]} was {_EN[cls][j % 8]}.\\nWould I come back? "
                                   f"\\\"{_EN[cls][(j + 3) % 8]}\\\" sums it up, visit {j}. (An unreviewable "
                                   f"rehearsal fixture, not a real review.)"])
    return buf.getvalue()


def _tgz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_fixtures(root: str | Path, per_star: int = 24, per_label: int = 40) -> dict:
    """Write the tiny data fixtures in their upstream formats under ``root/http/<host>/<path>`` and a
    manifest ``root/fixtures.json`` with the sizes and hashes the download code checks in a rehearsal."""
    from .textdata import NSMC_URL, RUREVIEWS_URL, YELP_URL

    root = Path(root)
    http = root / "http"

    def put(upstream: str, data: bytes) -> Path:
        p = http / upstream.split("://", 1)[1]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    yelp = _tgz({"yelp_review_full_csv/train.csv": _yelp_csv(per_star, 0),
                 "yelp_review_full_csv/test.csv": _yelp_csv(per_star // 2, 1000),
                 "yelp_review_full_csv/readme.txt": "Rehearsal fixture in the format of Yelp Review Full.\n"})
    put(YELP_URL, yelp)
    rows = ["review\tsentiment"]
    for lab, words in _RU.items():
        for i in range(per_label):
            rows.append(f"{_RU_THINGS[i % 6].capitalize()} {words[i % 4]}, заказ номер {i}, "
                        f"{words[(i + 1) % 4]} впечатление\t{lab}")
    ru = "\n".join(rows) + "\n"
    put(RUREVIEWS_URL, ru.encode("utf-8"))
    ko_rows = {}
    for split, n, start in (("train", per_label, 1000), ("test", per_label // 2, 5000)):
        lines = ["id\tdocument\tlabel"]
        for lab in (0, 1):
            for i in range(n):
                lines.append(f"{start + 2 * i + lab}\t{_KO_THINGS[i % 5]} 정말 {_KO[lab][i % 4]} {i}번\t{lab}")
        ko_rows[split] = len(lines)
        put(NSMC_URL.format(split=split), ("\n".join(lines) + "\n").encode("utf-8"))
    man = {"version": FIXTURE_VERSION, "yelp_md5": hashlib.md5(yelp).hexdigest(),
           "yelp_per_star": {"train.csv": per_star, "test.csv": per_star // 2},
           "min_rows": {"rureviews": len(rows), "nsmc_train": ko_rows["train"], "nsmc_test": ko_rows["test"]},
           "note": "rehearsal fixtures (not the real data): sizes and hashes of these files, not the upstream ones"}
    (root / "fixtures.json").write_text(json.dumps(man, indent=2))
    return man


def prepare(root: str | Path) -> Path:
    """Make ``root`` a fresh rehearsal folder: fixtures (rewritten), empty Keras and tlkit caches (the
    downloads and caches run as on a first visit). Stand-in models are kept (they are seeded)."""
    import shutil

    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("http", "keras_home", "cache"):
        shutil.rmtree(root / sub, ignore_errors=True)
    make_fixtures(root)
    (root / "keras_home").mkdir()
    (root / "cache").mkdir()
    return root


def serve(directory: str | Path):
    """Start a threaded ``http.server`` for ``directory`` on 127.0.0.1 (a free port); returns the server
    (``server.server_address[1]`` is the port; call ``shutdown()`` when done)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: D401 - keep the run's output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True, name="tlkit-rehearsal-http").start()
    return server


def environment(root: Path, port: int) -> dict[str, str]:
    """The environment variables of a rehearsal run (the notebook kernels inherit them)."""
    return {ENV: str(root), URL_ENV: f"http://127.0.0.1:{port}", "TLKIT_PROFILE": "full",
            "KERAS_HOME": str(root / "keras_home"), "TLKIT_CACHE": str(root / "cache"),
            "TLKIT_STRICT_CLAIMS": "0"}


def rehearse(which=(), root: str | Path | None = None, out_root: str = "runs", timeout: int = 900) -> int:
    """Run notebooks through the full code paths with local stand-ins (see the module docstring);
    0 when every notebook ran without an error (claims are printed, not asserted)."""
    from .runner import run

    root = prepare(root or Path(out_root) / "rehearsal")
    server = serve(root / "http")
    saved = {k: os.environ.get(k) for k in environment(root, 0)}
    try:
        os.environ.update(environment(root, server.server_address[1]))
        return run(which, profile="full", out_root=out_root, timeout=timeout)
    finally:
        server.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
