import json
import threading

import pytest

from tlkit import zoo


@pytest.fixture
def fast_train(monkeypatch, tmp_cache):
    """Replace the 40-second pretraining by a tiny untrained model; count calls."""
    calls = []

    def fake(spec, log):
        calls.append(spec.name)
        return zoo.build_cnn(6, (4,), name=spec.name), {"source_test_accuracy": 0.5, "source_task": "clothing"}

    monkeypatch.setattr(zoo, "_train", fake)
    return calls


def test_unknown_zoo_model():
    with pytest.raises(ValueError, match="unknown zoo model 'vgg'"):
        zoo.pretrain("vgg")


def test_build_cnn_layers_and_bad_inputs():
    m = zoo.build_cnn(4)
    names = [layer.name for layer in m.layers]
    assert {"block1_conv", "block3_bn", "features", "head"} <= set(names)
    assert m.output.shape[-1] == 4
    with pytest.raises(ValueError, match="num_classes"):
        zoo.build_cnn(1)


def test_pretrain_writes_manifest_with_hash_and_reuses_cache(fast_train):
    man = zoo.pretrain("fashion_cnn", log=lambda s: None)
    assert zoo.cache_state("fashion_cnn") == "ok"
    assert len(man["sha256"]) == 64 and man["zoo_version"] == zoo.ZOO_VERSION
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    assert fast_train == ["fashion_cnn"]  # second call verified, did not retrain


def test_corrupt_cache_is_detected_and_rebuilt(fast_train):
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    f = zoo.zoo_dir("fashion_cnn") / "model.keras"
    f.write_bytes(b"garbage")
    assert zoo.cache_state("fashion_cnn") == "corrupt"
    zoo.load_pretrained("fashion_cnn", log=lambda s: None)
    assert fast_train == ["fashion_cnn", "fashion_cnn"] and zoo.cache_state("fashion_cnn") == "ok"


def test_stale_recipe_is_rebuilt(fast_train):
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    p = zoo.zoo_dir("fashion_cnn") / "manifest.json"
    man = json.loads(p.read_text())
    man["zoo_version"] = -1
    p.write_text(json.dumps(man))
    assert zoo.cache_state("fashion_cnn") == "stale"
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    assert len(fast_train) == 2


def test_parallel_builders_train_once(fast_train):
    errors = []

    def build():
        try:
            zoo.pretrain("fashion_cnn", log=lambda s: None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and fast_train == ["fashion_cnn"]
    assert not list(zoo.zoo_dir("fashion_cnn").glob("*.keras.*")) and not list(
        zoo.zoo_dir("fashion_cnn").glob("tmp*"))


@pytest.mark.parametrize("garbage", [bytes(range(256)) * 4, b"[1, 2, 3]", b'"a string"', b"null", b""],
                         ids=["random-bytes", "json-list", "json-string", "json-null", "empty"])
def test_corrupt_manifest_is_rebuilt_not_a_crash(fast_train, garbage):
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    (zoo.zoo_dir("fashion_cnn") / "manifest.json").write_bytes(garbage)
    assert zoo.manifest("fashion_cnn") is None and zoo.cache_state("fashion_cnn") == "corrupt"
    from tlkit import doctor

    rows = dict(doctor.report())                       # doctor names the state and the fix
    assert "corrupt" in rows["zoo: fashion_cnn"] and "pretrain" in rows["zoo: fashion_cnn"]
    zoo.pretrain("fashion_cnn", force=True, log=lambda s: None)   # the documented fix works
    assert zoo.cache_state("fashion_cnn") == "ok" and len(fast_train) == 2


def test_zoo_files_are_group_readable(fast_train):
    zoo.pretrain("fashion_cnn", log=lambda s: None)
    for f in ("model.keras", "manifest.json"):
        assert (zoo.zoo_dir("fashion_cnn") / f).stat().st_mode & 0o044 == 0o044
