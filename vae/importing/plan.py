"""Graph analysis of an uploaded encoder and decoder config.json, without Keras: heads, rewritten graphs."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from vae.importing.archive_check import ImportRefused, check_config, is_builtin_layer
from vae.plural import count

# Layers that only move pixels around: a sigmoid before them is still the output's sigmoid.
_PASS_THROUGH = frozenset({"Reshape", "Cropping2D", "Permute", "Identity"})
_SAMPLING_NAME = re.compile(r"sampl", re.IGNORECASE)

# A keras_history reference: (layer name, node index, tensor index).
TensorRef = tuple[str, int, int]


@dataclass
class EncoderPlan:
    config: dict  # the sanitized graph: no sampling layer, outputs [z_mean, z_log_var]
    mean: TensorRef  # keras_history of z_mean
    log_var: TensorRef
    sampling_layer: str | None  # name of the dropped layer, if any
    sampling_class: str | None
    roles_from: str  # "sampling layer" or "output order"


@dataclass
class DecoderPlan:
    probs_config: dict  # the original graph (minus compile config)
    logits_config: dict  # the same with the output sigmoid set to linear
    sigmoid_layer: str


def _history(obj) -> TensorRef | None:
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        h = (obj.get("config") or {}).get("keras_history")
        if isinstance(h, list) and len(h) >= 3:
            return (str(h[0]), int(h[1]), int(h[2]))
    return None


def _tensors(obj) -> list[TensorRef]:
    """Keras tensors referenced in an inbound node's args, in order (depth first)."""
    found, stack = [], [obj]
    while stack:
        o = stack.pop(0)
        h = _history(o)
        if h is not None:
            found.append(h)
        elif isinstance(o, list):
            stack = list(o) + stack
        elif isinstance(o, dict) and o.get("class_name") == "__tuple__":
            stack = list(o.get("config", {}).get("value", [])) + stack
    return found


def _refs(entries: list) -> list[TensorRef]:
    """[name, node, tensor, ...] lists as references; anything shorter is ignored."""
    return [(str(e[0]), int(e[1]), int(e[2])) for e in entries if isinstance(e, list) and len(e) >= 3]


def _node_inputs(node) -> list[TensorRef]:
    """Inputs of one inbound node, Keras 3 format ({"args", "kwargs"}) or tf.keras' list format."""
    if isinstance(node, dict):
        return _tensors(node.get("args", [])) + _tensors(list((node.get("kwargs") or {}).values()))
    if isinstance(node, list):
        return _refs(node)
    return []


def _output_refs(spec) -> list[TensorRef]:
    # One output may be written as a bare [name, node, tensor] rather than a list of them.
    if isinstance(spec, list) and len(spec) >= 3 and isinstance(spec[0], str):
        spec = [spec]
    return _refs(spec) if isinstance(spec, list) else []


def _layer_name(layer: dict) -> str:
    return str(layer.get("name") or (layer.get("config") or {}).get("name"))


def _functional_layers(config: dict, what: str) -> list[dict]:
    if not isinstance(config.get("config"), dict) or not isinstance(config["config"].get("layers"), list):
        raise ImportRefused(f"the {what}'s config.json does not describe a Keras model")
    return config["config"]["layers"]


def _without_compile(config: dict) -> dict:
    """A deep copy without compile configs (optimizer, losses: never needed, never deserialized)."""
    if isinstance(config, dict):
        return {k: _without_compile(v) for k, v in config.items() if k != "compile_config"}
    if isinstance(config, list):
        return [_without_compile(v) for v in config]
    return config


def _sampling_layers(layers: list) -> list[dict]:
    """Custom layers whose class or name says "sampl…" (Lambda / TFSMLayer are refused by the allow-list)."""
    custom = [layer for layer in layers if isinstance(layer, dict) and not is_builtin_layer(layer)
              and layer.get("class_name") not in ("Lambda", "TFSMLayer")]
    return [layer for layer in custom if _SAMPLING_NAME.search(str(layer.get("class_name")))
            or _SAMPLING_NAME.search(_layer_name(layer))]


def _sampling_inputs(sampling: dict, layers: list) -> tuple[TensorRef, TensorRef]:
    """The sampling layer's (z_mean, z_log_var) inputs; refuse a graph that uses its output."""
    s_name = _layer_name(sampling)
    nodes = sampling.get("inbound_nodes") or []
    inputs = _node_inputs(nodes[0]) if len(nodes) == 1 else []
    if len(inputs) != 2:
        raise ImportRefused(f"the encoder's sampling layer '{s_name}' must be called once on exactly two "
                            f"tensors (z_mean, z_log_var); found {count(len(nodes), 'call')} with "
                            f"{count(len(inputs), 'input')}")
    for layer in layers:
        if layer is not sampling and any(t[0] == s_name for n in layer.get("inbound_nodes") or []
                                         for t in _node_inputs(n)):
            raise ImportRefused(f"the encoder's sampling layer '{s_name}' feeds layer "
                                f"'{_layer_name(layer)}'; only the z_mean and z_log_var heads can be kept")
    mean, log_var = inputs
    if mean[0] == log_var[0] and mean[2] == log_var[2]:
        raise ImportRefused(f"the sampling layer '{s_name}' gets the same tensor twice")
    return mean, log_var


def analyze_encoder(config: dict) -> EncoderPlan:
    """Find z_mean / z_log_var by the sampling layer's inputs; return the graph without that layer.

    The sampling layer (the one custom layer allowed) is dropped, and the encoder's outputs become
    its two inputs, first = z_mean, second = z_log_var, read from its inbound node rather than from
    head names. Why drop rather than swap in our `vae.model.layers.Sampling`: the sampling layer has no
    trained weights, the project's encoder contract is exactly `x -> [z_mean, z_log_var]`
    (evaluation, ONNX export and serving all use that; `vae.model.presets.VAE` samples itself), and a graph
    without it has no custom class at all, so it loads under `safe_mode=True` with no custom objects.
    """
    if config.get("class_name") != "Functional":
        raise ImportRefused("the encoder must be a functional Keras model (keras.Model(inputs, outputs)) "
                            "whose outputs include z_mean and z_log_var; this one is a "
                            f"{config.get('class_name')}")
    layers = _functional_layers(config, "encoder")
    sampling = _sampling_layers(layers)
    if len(sampling) > 1:
        raise ImportRefused(f"the encoder has {len(sampling)} sampling-like custom layers; expected one")
    outputs = _output_refs(config["config"].get("output_layers"))
    sanitized = _without_compile(config)
    s_name = s_class = None
    if sampling:  # never deserialized: every other object must pass the allow-list first
        s_name, s_class = _layer_name(sampling[0]), str(sampling[0].get("class_name"))
        sanitized["config"]["layers"] = [layer for layer in sanitized["config"]["layers"]
                                         if _layer_name(layer) != s_name]
    check_config(sanitized, where="encoder")
    if sampling:
        mean, log_var = _sampling_inputs(sampling[0], layers)
        roles_from = "sampling layer"
    elif len(outputs) != 2:
        raise ImportRefused(f"the encoder has {count(len(outputs), 'output')} and no sampling layer, so its "
                            f"z_mean and z_log_var cannot be told apart (expected [z_mean, z_log_var] or "
                            f"[z_mean, z_log_var, z] with a sampling layer)")
    else:
        mean, log_var = outputs
        roles_from = "output order"
    sanitized["config"]["output_layers"] = [list(mean), list(log_var)]
    inputs = _output_refs(sanitized["config"].get("input_layers"))
    if len(inputs) != 1:
        raise ImportRefused(f"the encoder must have one image input; it has {len(inputs)}")
    return EncoderPlan(sanitized, mean, log_var, s_name, s_class, roles_from)


def _find_output_layer(model: dict) -> dict:
    """The layer config whose activation produces the model's output (through reshapes, nested models)."""
    layers = _functional_layers(model, "decoder")
    if model.get("class_name") == "Sequential":
        for layer in reversed(layers):
            if layer.get("class_name") in _PASS_THROUGH or layer.get("class_name") == "InputLayer":
                continue
            nested = layer.get("class_name") in ("Functional", "Sequential")
            return _find_output_layer(layer) if nested else layer
        raise ImportRefused("the decoder has no layers")
    outputs = _output_refs(model["config"].get("output_layers"))
    if len(outputs) != 1:
        raise ImportRefused(f"the decoder must have exactly one output (the image); it has {len(outputs)}")
    by_name = {_layer_name(layer): layer for layer in layers}
    name, node_index = outputs[0][0], outputs[0][1]
    for _ in range(len(layers) + 1):
        layer = by_name.get(name)
        if layer is None:
            raise ImportRefused(f"the decoder's output refers to a missing layer '{name}'")
        if layer.get("class_name") in ("Functional", "Sequential"):
            return _find_output_layer(layer)
        if layer.get("class_name") not in _PASS_THROUGH:
            return layer
        nodes = layer.get("inbound_nodes") or []
        ins = _node_inputs(nodes[node_index]) if node_index < len(nodes) else []
        if len(ins) != 1:
            return layer
        name, node_index = ins[0][0], ins[0][1]
    raise ImportRefused("the decoder's graph has a cycle")


def analyze_decoder(config: dict) -> DecoderPlan:
    """Check the decoder and derive a logits decoder by turning its output sigmoid into `linear`.

    The bundle then stores a logits decoder like the project's presets (exact logits, no
    log(p/(1-p)) clipping); the sandbox checks sigmoid(logits) against the original decoder.
    """
    if config.get("class_name") not in ("Functional", "Sequential"):
        raise ImportRefused(f"the decoder must be a functional or Sequential Keras model; this one is a "
                            f"{config.get('class_name')}")
    probs = _without_compile(config)
    check_config(probs, where="decoder")
    logits = copy.deepcopy(probs)
    out = _find_output_layer(logits)
    cfg = out.get("config") or {}
    if cfg.get("activation") != "sigmoid":
        raise ImportRefused(f"the decoder's output layer '{_layer_name(out)}' has activation "
                            f"'{cfg.get('activation')}', but the import needs a sigmoid output (pixel "
                            f"probabilities in [0, 1])")
    cfg["activation"] = "linear"
    return DecoderPlan(probs, logits, _layer_name(out))
