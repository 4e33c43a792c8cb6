"""Inspecting an uploaded `.keras` archive (or `.weights.h5` file) before anything loads it."""

# Pure Python (zipfile + json): nothing here imports Keras or runs code from the upload. What is
# checked follows Keras' own security notes for loading untrusted models:
#
# * the zip holds only `config.json`, `metadata.json` and `model.weights.h5`, under those exact
#   names (no folders, no absolute or `..` paths), unencrypted, stored or deflated;
# * sizes are capped (each member and the total, uncompressed) and so is the compression ratio,
#   and the caps are enforced on the bytes actually read, not only on the sizes the zip declares;
# * every object in the model config (nested models included) is a built-in Keras class from an
#   allow-list: no Lambda, no TFSMLayer, no custom `module` / `registered_name`, no serialized
#   function (`__lambda__`, `function`), no activation or initializer looked up by a custom name.
#
# The one exception, the encoder's sampling layer, is decided by `vae.importing.plan`, which removes
# it from the graph before `check_config` sees the rest.

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
MAX_FILE_BYTES = 250 * MiB  # the archive on disk
MAX_TOTAL_BYTES = 200 * MiB  # all members, uncompressed
MAX_CONFIG_BYTES = 5 * MiB  # config.json
MAX_METADATA_BYTES = 64 * 1024  # metadata.json
MAX_RATIO = 100  # uncompressed / compressed, for members over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 64 * 1024
MAX_CONFIG_DEPTH = 64  # nesting of the JSON config

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
ALLOWED_MEMBERS = (CONFIG, METADATA, WEIGHTS)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# Built-in Keras layers an image VAE plausibly uses; none of them runs user code.
ALLOWED_LAYERS = frozenset({
    "InputLayer", "Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "Flatten", "Reshape", "Permute", "RepeatVector", "Identity",
    "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
    "UpSampling2D", "ZeroPadding2D", "Cropping2D", "Rescaling",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
})
ALLOWED_MODELS = frozenset({"Functional", "Sequential"})
MODEL_MODULES = frozenset({
    "keras", "keras.models", "keras.src.models.functional", "keras.src.models.sequential",
})
ALLOWED_BY_MODULE = {
    "keras.layers": ALLOWED_LAYERS,
    "keras.initializers": frozenset({
        "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "GlorotUniform",
        "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Identity",
        "VarianceScaling",
    }),
    "keras.regularizers": frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"}),
    "keras.constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
    "keras": frozenset({"DTypePolicy", "FloatDTypePolicy"}) | ALLOWED_MODELS,
}
for _m in MODEL_MODULES:
    ALLOWED_BY_MODULE[_m] = ALLOWED_BY_MODULE.get(_m, frozenset()) | ALLOWED_MODELS
# Serialization markers that carry data, not code.
ALLOWED_MARKERS = frozenset({"__keras_tensor__", "__tuple__"})
ALLOWED_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "tanh", "softmax", "log_softmax", "softplus", "softsign",
    "exponential",
})
_BUILTIN_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_OBJECT_KEY = re.compile(r"(_initializer|_regularizer|_constraint)$")


class ImportRefused(ValueError):
    """The uploaded model was refused; the message is one sentence saying why."""


@dataclass
class KerasArchive:
    """What inspection read from a `.keras` archive: parsed config and metadata, the weights' size."""

    path: Path
    config: dict
    metadata: dict = field(default_factory=dict)
    weights_bytes: int = 0
    shown: str = ""  # the file's name in messages: its owner's name for it, else its own

    def __post_init__(self) -> None:
        self.shown = self.shown or self.path.name


def _refuse(shown: str, why: str) -> ImportRefused:
    """A refusal about the file its owner calls `shown`."""
    return ImportRefused(f"{shown}: {why}")


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or bool(re.match(r"^[A-Za-z]:", name))


def _size(n: int) -> str:
    return f"{n // MiB} MB" if n >= MiB else f"{n // 1024} KB"


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, sink=None) -> bytes:
    """Read a member, counting real bytes: a zip that under-declares sizes still hits the cap."""
    total, chunks = 0, []
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1024 * 1024)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise ImportRefused(f"member {info.filename} is larger than its {_size(cap)} cap")
            if sink is not None:
                sink.write(chunk)
            else:
                chunks.append(chunk)
    return b"".join(chunks)


def inspect_archive(path: str | Path, shown: str | None = None) -> KerasArchive:
    """Check a `.keras` zip's members, sizes, ratio and config; raise ImportRefused saying why, naming the
    file `shown` (its owner's name for it; default: the file's own)."""
    path = Path(path)
    shown = shown or path.name
    if not path.is_file():
        raise _refuse(shown, "no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse(shown, f"the file is {size / MiB:.0f} MB, over the {MAX_FILE_BYTES // MiB} MB cap")
    with open(path, "rb") as fh:
        signature = fh.read(8)
    if signature.startswith(HDF5_MAGIC):
        raise _refuse(shown, "this is a legacy HDF5 model (.h5); only Keras 3 .keras archives can be "
                            "imported, because loading a legacy model can run code stored in it")
    if not zipfile.is_zipfile(path):
        raise _refuse(shown, "not a .keras archive (it is not a zip file)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_members(shown, infos)
            by_name = {i.filename: i for i in infos}
            try:
                raw_config = _read_capped(zf, by_name[CONFIG], MAX_CONFIG_BYTES)
                raw_meta = (_read_capped(zf, by_name[METADATA], MAX_METADATA_BYTES)
                            if METADATA in by_name else b"{}")
                head = io.BytesIO()
                # Stream the weights through a counter (the bytes are not kept): the real size must
                # respect the caps whatever the header says, and the CRC is verified at the end.
                counter = _HeadKeeper(head)
                _read_capped(zf, by_name[WEIGHTS], MAX_TOTAL_BYTES, sink=counter)
            except ImportRefused as exc:
                raise _refuse(shown, str(exc)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError) as exc:
        if isinstance(exc, ImportRefused):
            raise
        raise _refuse(shown, f"the archive is damaged or unreadable ({type(exc).__name__})") from None
    if counter.total + len(raw_config) + len(raw_meta) > MAX_TOTAL_BYTES:
        raise _refuse(shown, f"its contents exceed the {MAX_TOTAL_BYTES // MiB} MB cap")
    if not head.getvalue().startswith(HDF5_MAGIC):
        raise _refuse(shown, f"{WEIGHTS} is not an HDF5 file")
    config = _parse_json(shown, CONFIG, raw_config)
    metadata = _parse_json(shown, METADATA, raw_meta)
    if not isinstance(config, dict) or not isinstance(metadata, dict):
        raise _refuse(shown, "config.json and metadata.json must each hold a JSON object")
    return KerasArchive(path=path, config=config, metadata=metadata, weights_bytes=counter.total, shown=shown)


class _HeadKeeper:
    """A sink that counts bytes and keeps only the first few (for the HDF5 signature)."""

    def __init__(self, head: io.BytesIO):
        self.head, self.total = head, 0

    def write(self, chunk: bytes) -> None:
        if self.total < 8:
            self.head.write(chunk[: 8 - self.total])
        self.total += len(chunk)


def _check_members(shown: str, infos: list[zipfile.ZipInfo]) -> None:
    names = [i.filename for i in infos]
    for name in names:
        if _unsafe_name(name):
            raise _refuse(shown, f"member '{name}' has an unsafe path (absolute or with '..')")
    for name in names:
        if name not in ALLOWED_MEMBERS:
            raise _refuse(shown, f"unexpected member '{name}' (a .keras archive may hold only "
                                f"{', '.join(ALLOWED_MEMBERS)})")
    if len(set(names)) != len(names):
        raise _refuse(shown, "the archive lists a member twice")
    for required in (CONFIG, WEIGHTS):
        if required not in names:
            raise _refuse(shown, f"the archive has no {required}")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse(shown, f"member {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(shown, f"member {info.filename} uses an unsupported compression method")
        total += info.file_size
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _refuse(shown, f"member {info.filename} expands {ratio:.0f}x when unpacked, over the "
                                f"{MAX_RATIO}x compression-ratio cap (a zip bomb?)")
    if total > MAX_TOTAL_BYTES:
        raise _refuse(shown, f"its members unpack to {total / MiB:.0f} MB, over the "
                            f"{MAX_TOTAL_BYTES // MiB} MB cap")


def _parse_json(shown: str, member: str, raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _refuse(shown, f"{member} is not valid JSON") from None


def check_config(config: dict, *, where: str = "the model") -> None:
    """Walk the whole config (nested models too); raise ImportRefused at the first disallowed object."""
    stack = [(config, 0)]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ImportRefused(f"{where}: the config is nested more than {MAX_CONFIG_DEPTH} levels deep")
        if isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
            continue
        if not isinstance(obj, dict):
            continue
        if "class_name" in obj:
            _check_object(obj, where)
        for key, value in obj.items():
            if isinstance(value, str):
                _check_string(key, value, where)
            elif value is not None and not isinstance(value, (int, float, bool)):
                stack.append((value, depth + 1))


def is_builtin_layer(layer: dict) -> bool:
    """True for a layer config of an allow-listed built-in class (not registered under another name)."""
    module = layer.get("module")
    allowed = ALLOWED_BY_MODULE.get(module) if isinstance(module, str) else None
    reg = layer.get("registered_name")
    cls = layer.get("class_name")
    return allowed is not None and cls in allowed and reg in (None, cls)


def _object_name(obj: dict) -> str:
    cfg = obj.get("config")
    if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
        return cfg["name"]
    return str(obj.get("name") or obj.get("class_name"))


def _check_object(obj: dict, where: str) -> None:
    cls, module, registered = obj.get("class_name"), obj.get("module"), obj.get("registered_name")
    if not isinstance(cls, str):
        raise ImportRefused(f"{where}: an object in the config has a non-text class name")
    name = _object_name(obj)
    if cls in ("__lambda__", "function"):
        raise ImportRefused(f"{where}: it contains a serialized Python function ({cls}), which would run "
                            f"code on load; only built-in Keras layers can be imported")
    if cls in ("Lambda", "TFSMLayer"):
        raise ImportRefused(f"{where}: layer '{name}' is a {cls} layer, which runs code stored in or beside "
                            f"the file; only built-in Keras layers without code can be imported")
    if cls in ALLOWED_MARKERS and module is None:
        return
    if registered is not None and registered != cls:
        raise ImportRefused(f"{where}: layer or object '{name}' is a custom class ({registered}); only "
                            f"built-in Keras layers (and the encoder's sampling layer) can be imported")
    allowed = ALLOWED_BY_MODULE.get(module) if isinstance(module, str) else None
    if allowed is None or cls not in allowed:
        kind = f"{cls} from module {module}" if module else f"custom class {cls}"
        raise ImportRefused(f"{where}: '{name}' is a {kind}, which is not on the allow-list of built-in "
                            f"Keras layers (Lambda, TFSMLayer and custom layers are refused)")


def _check_string(key: str, value: str, where: str) -> None:
    if key in ("activation", "recurrent_activation") and value not in ALLOWED_ACTIVATIONS:
        raise ImportRefused(f"{where}: activation '{value}' is not a built-in Keras activation")
    if _OBJECT_KEY.search(key) and not _BUILTIN_NAME.match(value):
        raise ImportRefused(f"{where}: {key} '{value}' names a custom object")


def check_weights_file(path: str | Path, shown: str | None = None) -> int:
    """A `.weights.h5` upload: a plain HDF5 file of a sane size (h5py parses it only in the child); a
    refusal names it `shown` (as inspect_archive)."""
    path = Path(path)
    shown = shown or path.name
    if not path.is_file():
        raise _refuse(shown, "no such file")
    if not path.name.endswith(".weights.h5"):
        raise _refuse(shown, "a weights file must be a Keras 3 '.weights.h5' file")
    size = path.stat().st_size
    if size > MAX_TOTAL_BYTES:
        raise _refuse(shown, f"the file is {size / MiB:.0f} MB, over the {MAX_TOTAL_BYTES // MiB} MB cap")
    with open(path, "rb") as fh:
        if fh.read(8) != HDF5_MAGIC:
            raise _refuse(shown, "not an HDF5 file")
    return size


def write_archive(src: KerasArchive, config: dict, dest: str | Path) -> Path:
    """A new `.keras` zip: our sanitized config, plain metadata, and the source's weights copied over."""
    dest = Path(dest)
    meta = {k: str(v) for k, v in src.metadata.items() if k in ("keras_version", "date_saved")}
    with zipfile.ZipFile(src.path) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zout:
        zout.writestr(METADATA, json.dumps(meta))
        zout.writestr(CONFIG, json.dumps(config))
        with zout.open(WEIGHTS, "w", force_zip64=True) as out:
            _read_capped(zin, zin.getinfo(WEIGHTS), MAX_TOTAL_BYTES, sink=out)
    return dest
