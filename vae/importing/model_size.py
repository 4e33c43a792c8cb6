"""A model's size from its config alone: parameters and the largest activation, capped before it loads."""

# An uploaded `.keras` declares every layer's input shape in its config (Keras 3 writes each built layer's
# `build_config`), and Keras builds each layer from it when it loads the file, before any weight is read: a
# 2.4 MB file declaring 200 MB of Dense kernels drove an import to 6.4 GB. So the parameters are counted
# here, from the config, in this process, and a model over MAX_PARAMETERS is refused in seconds. A layer
# with weights that does not declare its input shape is refused: its size could not be known before loading.
#
# MAX_PARAMETERS fits an import into VAE_IMPORT_MEMORY_MB (2048): measured peak resident memory of the
# sandboxed child (tests/test_import_memory.py) was 974 MB for keras-io's example (134 k
# parameters), 1,361 MB for 2.9 M parameters and 2,735 MB for 10 M (about 150 bytes per parameter: Keras,
# the decoder loaded twice, the ONNX export and its check). The largest activation is capped too, per image
# (the evaluation runs 500 images at a time): 28×28×64 is a generous convolutional VAE's.

from __future__ import annotations

import math

from vae.importing.archive_check import ImportRefused

MAX_PARAMETERS = 3_000_000
MAX_ACTIVATION = 28 * 28 * 64  # numbers per image at any layer's input
# Layers that hold weights, and so need their input shape to be counted.
WEIGHTED = frozenset({"Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
                      "BatchNormalization", "LayerNormalization", "GroupNormalization", "PReLU"})
NESTED = frozenset({"Functional", "Sequential"})


def parameters_and_activation(model: dict) -> tuple[int, int]:
    """(parameters, the largest number of values per image at any layer's input) of a model's config,
    nested models included; raises ImportRefused for a weighted layer whose input shape is not declared."""
    total, largest = 0, 0
    stack = [model]
    while stack:
        obj = stack.pop()
        layers = (obj.get("config") or {}).get("layers") if isinstance(obj.get("config"), dict) else None
        for layer in layers if isinstance(layers, list) else []:
            if not isinstance(layer, dict):
                continue
            if layer.get("class_name") in NESTED:
                stack.append(layer)
                continue
            shapes = _input_shapes(layer)
            largest = max([largest, *(_values(s) for s in shapes)])
            if layer.get("class_name") in WEIGHTED:
                total += _layer_parameters(layer, shapes)
    return total, largest


def check_size(configs: dict[str, dict], names: str) -> int:
    """Refuse, in one sentence naming the files (`names`), a model whose configs (by role) declare more than
    MAX_PARAMETERS parameters, or a layer input over MAX_ACTIVATION values per image; returns the count."""
    total = 0
    for role, config in configs.items():
        try:
            params, largest = parameters_and_activation(config)
        except ImportRefused as exc:
            raise ImportRefused(f"{names}: the {role}'s {exc}") from None
        if largest > MAX_ACTIVATION:
            raise ImportRefused(f"{names}: a layer of the {role} takes {largest:,} values per image; this "
                                f"server imports models whose layers take at most {MAX_ACTIVATION:,} "
                                "(28×28×64), so that an import fits its memory")
        total += params
    if total > MAX_PARAMETERS:
        raise ImportRefused(f"{names}: the model declares {_millions(total)} parameters; this server imports "
                            f"models of at most {_millions(MAX_PARAMETERS)} (about "
                            f"{MAX_PARAMETERS * 4 // 2**20} MB of weights), so that an import fits its "
                            "memory. A VAE for 28×28 images needs far fewer: keras-io's example has 134,165")
    return total


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f} million" if n >= 1_000_000 else f"{n:,}"


def _input_shapes(layer: dict) -> list[list]:
    """The layer's declared input shape(s) (build_config), each a list; [] when none is declared."""
    shape = ((layer.get("build_config") or {}).get("input_shape")
             if isinstance(layer.get("build_config"), dict) else None)
    if not isinstance(shape, list) or not shape:
        return []
    if all(isinstance(s, list) for s in shape):  # several inputs (Add, Concatenate)
        return shape
    return [shape]


def _values(shape: list) -> int:
    """Values per image of a shape (its first axis is the batch); unknown axes count as 1."""
    return math.prod(d for d in shape[1:] if isinstance(d, int) and d > 0)


def _dim(shape: list, axis: int, name: str) -> int:
    try:
        d = shape[axis]
    except (IndexError, TypeError):
        d = None
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise ImportRefused(f"layer '{name}' does not declare the size of its input's axis {axis}")
    return d


def _layer_parameters(layer: dict, shapes: list[list]) -> int:
    """An upper bound of a weighted layer's parameters, from its config and declared input shape."""
    cls, cfg = layer["class_name"], layer.get("config") if isinstance(layer.get("config"), dict) else {}
    name = str(cfg.get("name") or layer.get("name") or cls)
    if len(shapes) != 1:
        raise ImportRefused(f"layer '{name}' ({cls}) does not declare its input shape (build_config), so its "
                            "size cannot be checked before loading")
    shape = shapes[0]
    first = cfg.get("data_format") == "channels_first"
    channels = _dim(shape, 1 if first else -1, name)

    def number(key: str, default: int = 1) -> int:
        value = cfg.get(key, default)
        if isinstance(value, list):
            return math.prod(_positive(v, key, name) for v in value)
        return _positive(value, key, name)

    if cls == "Dense":
        return number("units") * (channels + 1)
    if cls in ("Conv1D", "Conv2D", "Conv2DTranspose"):
        return number("kernel_size") * channels * number("filters") + number("filters")
    if cls == "SeparableConv2D":
        depth = channels * number("depth_multiplier")
        return number("kernel_size") * depth + depth * number("filters") + number("filters")
    if cls == "DepthwiseConv2D":
        return (number("kernel_size") + 1) * channels * number("depth_multiplier")
    if cls == "PReLU":
        return _values(shape)
    axes = cfg.get("axis", -1)  # the normalizations: BatchNormalization 4 numbers per channel, the others 2
    normalized = math.prod(_dim(shape, a, name) for a in (axes if isinstance(axes, list) else [axes]))
    return 4 * normalized


def _positive(value, key: str, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ImportRefused(f"layer '{name}' has a {key} that is not a positive whole number")
    return value

