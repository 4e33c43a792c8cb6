"""Importing a user's own VAE (Keras 3 `.keras` encoder + decoder, or `.weights.h5` for a preset).

The upload is untrusted. What happens to it, in order:

1. In this process, without Keras: `vae.archive_check` inspects each zip (members, sizes,
   compression ratio, paths) and the allow-list runs over the whole config.
2. The encoder's graph is rewritten: the sampling layer (the one custom layer allowed) is
   DROPPED and the encoder's outputs become the sampling layer's two inputs, first = z_mean,
   second = z_log_var, read from its inbound node in config.json rather than from head names.
   Why drop rather than swap in our `vae.layers.Sampling`: the sampling layer has no trained
   weights, the project's encoder contract is exactly `x -> [z_mean, z_log_var]` (evaluation,
   ONNX export and serving all use that; `vae.models.VAE` samples itself), and a graph without
   it has no custom class at all, so it loads under `safe_mode=True` with no custom objects.
   The decoder's final sigmoid is set to `linear` in a copy of its graph, so the bundle stores a
   logits decoder like the project's presets (exact logits, no log(p/(1-p)) clipping); the
   child checks sigmoid(logits) against the original decoder.
3. A separate Python process (memory cap via RLIMIT_AS, CPU cap, wall-clock timeout) loads the
   rewritten archives with `safe_mode=True`, smoke-tests them, evaluates them on the dataset's
   test split, exports and checks ONNX, and writes the bundle's files into a scratch folder.
4. This process moves those files into `--out` with the project's atomic bundle save.

Anything unexpected is refused with `ImportRefused` (a ValueError) and one sentence.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vae import bundle as B
from vae.archive_check import (
    ALLOWED_BY_MODULE,
    ImportRefused,
    check_config,
    check_weights_file,
    inspect_archive,
    write_archive,
)

ENCODER_KERAS = "encoder.keras"
DECODER_KERAS = "decoder.keras"
IMPORTED = "imported"
IMAGE_SHAPE = (28, 28, 1)
DEFAULT_TIMEOUT_S = 1200  # wall clock; generous because TensorFlow starts slowly on a busy machine
DEFAULT_MEMORY_MB = int(os.environ.get("VAE_IMPORT_MEMORY_MB", 8192))
MAX_LATENT_DIM = 64
# Layers that only move pixels around: a sigmoid before them is still the output's sigmoid.
_PASS_THROUGH = frozenset({"Reshape", "Cropping2D", "Permute", "Identity"})
_SAMPLING_NAME = re.compile(r"sampl", re.IGNORECASE)

__all__ = ["ImportRefused", "import_graph", "import_weights", "load_imported", "is_imported"]


# --------------------------------------------------------------------------- graph analysis (no Keras)

@dataclass
class EncoderPlan:
    config: dict  # the sanitized graph: no sampling layer, outputs [z_mean, z_log_var]
    mean: tuple  # keras_history (layer, node, tensor) of z_mean
    log_var: tuple
    sampling_layer: str | None  # name of the dropped layer, if any
    sampling_class: str | None
    roles_from: str  # "sampling layer" or "output order"


@dataclass
class DecoderPlan:
    probs_config: dict  # the original graph (minus compile config)
    logits_config: dict  # the same with the output sigmoid set to linear
    sigmoid_layer: str


def _history(obj) -> tuple | None:
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        h = (obj.get("config") or {}).get("keras_history")
        if isinstance(h, list) and len(h) >= 3:
            return (str(h[0]), int(h[1]), int(h[2]))
    return None


def _tensors(obj) -> list[tuple]:
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


def _node_inputs(node) -> list[tuple]:
    """Inputs of one inbound node, Keras 3 format ({"args", "kwargs"}) or tf.keras' list format."""
    if isinstance(node, dict):
        return _tensors(node.get("args", [])) + _tensors(list((node.get("kwargs") or {}).values()))
    if isinstance(node, list):
        return [(str(e[0]), int(e[1]), int(e[2])) for e in node if isinstance(e, list) and len(e) >= 3]
    return []


def _output_refs(spec) -> list[tuple]:
    if isinstance(spec, list) and len(spec) >= 3 and isinstance(spec[0], str):
        spec = [spec]
    if not isinstance(spec, list):
        return []
    return [(str(s[0]), int(s[1]), int(s[2])) for s in spec if isinstance(s, list) and len(s) >= 3]


def _is_builtin(layer: dict) -> bool:
    allowed = ALLOWED_BY_MODULE.get(layer.get("module")) if isinstance(layer.get("module"), str) else None
    reg = layer.get("registered_name")
    return allowed is not None and layer.get("class_name") in allowed and reg in (None, layer.get("class_name"))


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


def analyze_encoder(config: dict) -> EncoderPlan:
    """Find z_mean / z_log_var by the sampling layer's inputs; return the graph without that layer."""
    if config.get("class_name") != "Functional":
        raise ImportRefused("the encoder must be a functional Keras model (keras.Model(inputs, outputs)) whose "
                            f"outputs include z_mean and z_log_var; this one is a {config.get('class_name')}")
    layers = _functional_layers(config, "encoder")
    custom = [l for l in layers if isinstance(l, dict) and not _is_builtin(l)
              and l.get("class_name") not in ("Lambda", "TFSMLayer")]
    sampling = [l for l in custom if _SAMPLING_NAME.search(str(l.get("class_name"))) or
                _SAMPLING_NAME.search(_layer_name(l))]
    if len(sampling) > 1:
        raise ImportRefused(f"the encoder has {len(sampling)} sampling-like custom layers; expected one")
    outputs = _output_refs(config["config"].get("output_layers"))
    sanitized = _without_compile(config)
    if sampling:  # never deserialized: every other object must pass the allow-list first
        s_name = _layer_name(sampling[0])
        sanitized["config"]["layers"] = [l for l in sanitized["config"]["layers"] if _layer_name(l) != s_name]
    check_config(sanitized, where="encoder")
    if sampling:
        s = sampling[0]
        nodes = s.get("inbound_nodes") or []
        inputs = _node_inputs(nodes[0]) if len(nodes) == 1 else []
        if len(inputs) != 2:
            raise ImportRefused(f"the encoder's sampling layer '{s_name}' must be called once on exactly two "
                                f"tensors (z_mean, z_log_var); found {len(nodes)} call(s) with {len(inputs)} inputs")
        for layer in layers:
            if layer is not s and any(t[0] == s_name for n in layer.get("inbound_nodes") or []
                                      for t in _node_inputs(n)):
                raise ImportRefused(f"the encoder's sampling layer '{s_name}' feeds layer '{_layer_name(layer)}'; "
                                    f"only the z_mean and z_log_var heads can be kept")
        mean, log_var = inputs
        if mean[0] == log_var[0] and mean[2] == log_var[2]:
            raise ImportRefused(f"the sampling layer '{s_name}' gets the same tensor twice")
        roles_from, s_class = "sampling layer", str(s.get("class_name"))
    else:
        if len(outputs) != 2:
            raise ImportRefused(f"the encoder has {len(outputs)} outputs and no sampling layer, so its z_mean and "
                                f"z_log_var cannot be told apart (expected [z_mean, z_log_var] or "
                                f"[z_mean, z_log_var, z] with a sampling layer)")
        mean, log_var = outputs
        s_name = s_class = None
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
            return _find_output_layer(layer) if layer.get("class_name") in ("Functional", "Sequential") else layer
        raise ImportRefused("the decoder has no layers")
    outputs = _output_refs(model["config"].get("output_layers"))
    if len(outputs) != 1:
        raise ImportRefused(f"the decoder must have exactly one output (the image); it has {len(outputs)}")
    by_name = {_layer_name(l): l for l in layers}
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
    """Check the decoder and derive a logits decoder by turning its output sigmoid into `linear`."""
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


# --------------------------------------------------------------------------- the isolated child process

def _set_limits(memory_mb: int, cpu_s: int) -> None:
    import resource

    limit = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_child(job: dict, work: Path, timeout_s: int, memory_mb: int) -> dict:
    """Run `_child_main` in a fresh interpreter with limits; return its result or raise ImportRefused."""
    job_path = work / "job.json"
    result_path = work / "result.json"
    job = {**job, "result": str(result_path), "memory_mb": memory_mb, "cpu_s": int(timeout_s) * 4}
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MALLOC_ARENA_MAX": "2", "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join([str(B.REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.Popen([sys.executable, "-m", "vae.importer", "--child", str(job_path)], cwd=str(work),
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ImportRefused(f"loading and checking the model took longer than the {timeout_s} s limit") from None
    result = B.read_json(result_path)
    if result is None:
        tail = (log or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if proc.returncode < 0:
            why = f"was killed by {signal.Signals(-proc.returncode).name}"
        else:
            why = f"exited with status {proc.returncode}"
        if proc.returncode == -signal.SIGXCPU:
            hint = " (over its CPU-time limit)"
        elif "MemoryError" in tail[0] or proc.returncode in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
            hint = " (probably over its memory limit)"
        else:
            hint = ""
        raise ImportRefused(f"the process that loads the model {why}{hint} without a result "
                            f"(memory limit {memory_mb} MB): {_one_line(tail[0])}")
    if result.get("status") == "refused":
        raise ImportRefused(result["message"])
    if result.get("status") != "ok":
        raise RuntimeError(result.get("message", "the import failed"))
    return result


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _child_main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    _set_limits(job["memory_mb"], job["cpu_s"])
    result_path = Path(job["result"])
    try:
        result = _child_graph(job) if job["kind"] == "graph" else _child_weights(job)
        result = {"status": "ok", **result}
    except ImportRefused as exc:
        result = {"status": "refused", "message": _one_line(exc)}
    except MemoryError:
        result = {"status": "refused", "message": f"loading the model needs more than the {job['memory_mb']} MB "
                                                  f"memory limit"}
    except _Failed as exc:
        result = {"status": "error", "message": _one_line(exc)}
    except Exception as exc:  # anything else while handling an untrusted model is a refusal, with a reason
        result = {"status": "refused", "message": _one_line(f"the model could not be used: {type(exc).__name__}: "
                                                            f"{str(exc).splitlines()[0] if str(exc) else ''}")}
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=B._json_default))
    os.replace(tmp, result_path)
    return 0


class _Failed(RuntimeError):
    """A failure after the model was accepted (data, export): reported as an error, not a refusal."""


def _load(path: str, what: str, memory_mb: int):
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, MemoryError) or "ResourceExhausted" in type(exc).__name__ or "OOM when allocating" in msg:
            raise ImportRefused(f"the {what} needs more memory than the {memory_mb} MB limit for loading "
                                f"an uploaded model") from None
        raise ImportRefused(f"Keras could not load the {what} safely: {msg}") from None


def _finite(name: str, arr) -> None:
    import numpy as np

    if not np.all(np.isfinite(np.asarray(arr))):
        raise ImportRefused(f"the {name} produces NaN or infinite values on test inputs")


def _smoke_inputs():
    import numpy as np

    rng = np.random.default_rng(0)
    return np.concatenate([np.zeros((1, *IMAGE_SHAPE)), np.ones((1, *IMAGE_SHAPE)),
                           rng.uniform(size=(4, *IMAGE_SHAPE))]).astype(np.float32)


def _smoke_encoder(encoder) -> int:
    import numpy as np

    if tuple(encoder.input_shape) != (None, *IMAGE_SHAPE):
        raise ImportRefused(f"the encoder's input shape is {tuple(encoder.input_shape)}; it must be "
                            f"(None, 28, 28, 1) (28x28 grayscale images)")
    shapes = [tuple(s) for s in encoder.output_shape] if isinstance(encoder.output_shape, list) else []
    if len(shapes) != 2 or shapes[0] != shapes[1] or len(shapes[0]) != 2:
        raise ImportRefused(f"the encoder's z_mean and z_log_var must be vectors of the same size; got {shapes}")
    latent = shapes[0][1]
    if not isinstance(latent, int) or not 1 <= latent <= MAX_LATENT_DIM:
        raise ImportRefused(f"the latent size is {latent}; it must be between 1 and {MAX_LATENT_DIM}")
    x = _smoke_inputs()
    z_mean, z_log_var = encoder(x, training=False)
    for name, arr in (("encoder's z_mean", z_mean), ("encoder's z_log_var", z_log_var)):
        if np.shape(arr) != (len(x), latent):
            raise ImportRefused(f"the {name} has shape {np.shape(arr)} on {len(x)} images")
        _finite(name, arr)
    return latent


def _smoke_decoder(probs, logits, latent: int, z_extra) -> tuple:
    import numpy as np

    if tuple(probs.input_shape) != (None, latent):
        raise ImportRefused(f"the decoder's input shape is {tuple(probs.input_shape)}, but the encoder's latent "
                            f"size is {latent}")
    out_shape = tuple(probs.output_shape)
    if out_shape[1:] not in ((28, 28), (28, 28, 1)):
        raise ImportRefused(f"the decoder's output shape is {out_shape}; it must be 28x28 or 28x28x1")
    rng = np.random.default_rng(1)
    z = np.concatenate([np.zeros((1, latent)), rng.normal(size=(4, latent)) * 3, z_extra]).astype(np.float32)
    p = np.asarray(probs(z, training=False))
    _finite("decoder", p)
    if p.min() < 0 or p.max() > 1:
        raise ImportRefused(f"the decoder's outputs range over [{p.min():.3g}, {p.max():.3g}], not [0, 1]")
    lg = np.asarray(logits(z, training=False), np.float64)
    diff = float(np.max(np.abs(1 / (1 + np.exp(-lg)) - p)))
    if not diff < 1e-5:
        raise ImportRefused(f"the decoder without its final sigmoid does not reproduce it (differs by {diff:.1e})")
    return out_shape, diff


def _child_graph(job: dict) -> dict:
    import keras
    import numpy as np

    from vae.models import VAE

    encoder = _load(job["encoder"], "encoder", job["memory_mb"])
    probs = _load(job["decoder_probs"], "decoder", job["memory_mb"])
    logits = _load(job["decoder_logits"], "decoder", job["memory_mb"])
    latent = _smoke_encoder(encoder)
    z_mean, _ = encoder(_smoke_inputs(), training=False)
    out_shape, sigmoid_diff = _smoke_decoder(probs, logits, latent, np.asarray(z_mean))
    if out_shape[1:] == (28, 28):  # the project's decoders output (n, 28, 28, 1)
        z_in = keras.Input((latent,), name="z")
        logits = keras.Model(z_in, keras.layers.Reshape(IMAGE_SHAPE)(logits(z_in)), name="decoder")
    vae = VAE(encoder, logits, beta=1.0, name="vae_imported")
    vae(np.zeros((1, *IMAGE_SHAPE), np.float32))
    config = {"preset": IMPORTED, "latent_dim": latent, "beta": 1.0, "image_shape": list(IMAGE_SHAPE),
              "encoder": ENCODER_KERAS, "decoder": DECODER_KERAS, "decoder_output": "logits"}
    card = {**job["card"], "latent_dim": latent, "sigmoid_check_max_abs_diff": sigmoid_diff}

    def save_graphs(tmp: Path) -> None:
        vae.encoder.save(tmp / ENCODER_KERAS)
        vae.decoder.save(tmp / DECODER_KERAS)

    return _finish(job, vae, config, card, save_graphs)


def _child_weights(job: dict) -> dict:
    import h5py
    import numpy as np

    from vae.config import ModelConfig
    from vae.models import build_vae

    try:
        cfg = ModelConfig(preset=job["preset"], latent_dim=int(job["latent_dim"]))
    except ValueError as exc:
        raise ImportRefused(str(exc)) from None
    vae = build_vae(cfg)
    try:
        with h5py.File(job["weights"], "r") as f:
            # A trained model's file also holds optimizer state; only the model's arrays must match.
            n_stored = []
            f.visititems(lambda name, obj: n_stored.append(name) if isinstance(obj, h5py.Dataset)
                         and name.split("/")[0] in ("encoder", "decoder") else None)
    except OSError:
        raise ImportRefused(f"{Path(job['weights']).name} is not a readable HDF5 file") from None
    expected = len(vae.encoder.weights) + len(vae.decoder.weights)
    if len(n_stored) != expected:
        raise ImportRefused(f"the weights file holds {len(n_stored)} arrays, but preset '{cfg.preset}' with "
                            f"latent_dim {cfg.latent_dim} has {expected}")
    try:
        vae.load_weights(job["weights"])
    except Exception as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first if "expected" in line.lower()), first[0] if first else "")
        raise ImportRefused(f"the weights do not fit preset '{cfg.preset}' with latent_dim {cfg.latent_dim}: "
                            f"{detail}") from None
    if not all(np.isfinite(w).all() for w in vae.get_weights()):
        raise ImportRefused("the weights file contains NaN or infinite values")
    _smoke_encoder(vae.encoder)
    card = {**job["card"], "preset": cfg.preset, "latent_dim": cfg.latent_dim, "beta": cfg.beta}
    return _finish(job, vae, json.loads(cfg.to_json()), card, None)


def _finish(job: dict, vae, config: dict, card: dict, save_graphs) -> dict:
    """Evaluate, encode the reference split, export ONNX and write every bundle file into job['staging']."""
    import numpy as np

    from vae.data import load_dataset
    from vae.evaluate import encode_all, evaluate
    from vae.export import export_pair
    from vae.models import probability_decoder

    try:
        data = load_dataset(job["dataset"], job.get("data_dir"))
    except Exception as exc:
        raise _Failed(str(exc)) from None
    metrics = evaluate(vae, data.x_test, seed=0)
    for k in ("neg_elbo", "reconstruction_loss", "kl_loss"):
        if not np.isfinite(metrics[k]):
            raise ImportRefused(f"the model's {k} on the {job['dataset']} test split is not finite")
    z_mean, z_log_var = encode_all(vae.encoder, data.x_test)
    tmp = Path(job["staging"])
    (tmp / B.CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    vae.save_weights(str(tmp / B.WEIGHTS))
    if save_graphs is not None:
        save_graphs(tmp)
    try:
        diffs = export_pair(vae.encoder, probability_decoder(vae.decoder), tmp, data.x_test[:64])
    except Exception as exc:
        raise _Failed(f"the ONNX export failed: {_one_line(exc)}") from None
    card = {**card, "onnx_check": diffs, "parameters": int(vae.encoder.count_params() + vae.decoder.count_params()),
            "test_metrics": metrics, "test_split": f"{job['dataset']} test split, {len(data.x_test)} images"}
    B.write_json(tmp / B.METRICS, metrics)
    B.write_json(tmp / B.CARD_JSON, card)
    (tmp / B.CARD_MD).write_text(render_card(card))
    np.savez_compressed(tmp / B.REFERENCE, z_mean=z_mean, z_log_var=z_log_var, labels=data.y_test.astype(np.int16))
    return {"latent_dim": config["latent_dim"], "metrics": metrics}


# --------------------------------------------------------------------------- the model card

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _roles_note(plan: EncoderPlan) -> str:
    mean, log_var = plan.mean[0], plan.log_var[0]
    if plan.roles_from == "sampling layer":
        text = (f"z_mean is the head named `{mean}` and z_log_var the head named `{log_var}`: they are the first and "
                f"second inputs of the sampling layer `{plan.sampling_layer}` (class `{plan.sampling_class}`) in "
                f"the encoder's config.json, read as z = z_mean + exp(0.5·z_log_var)·ε, the reparameterization "
                f"convention. The sampling layer's code was never loaded or run: it was removed from the graph, "
                f"and the explorer samples with its own layer.")
    else:
        text = (f"The encoder has no sampling layer: its two outputs are read in order as z_mean (`{mean}`) and "
                f"z_log_var (`{log_var}`).")
    if not re.search(r"log.?var", log_var, re.IGNORECASE):
        text += (f" Note: the head named {log_var} is a log-variance: it enters the sampling layer as "
                 f"exp(0.5·{log_var}).")
    return text


def render_card(card: dict) -> str:
    """MODEL_CARD.md for an imported model: where it came from, what was checked, its test metrics."""
    m = card.get("test_metrics", {})
    src = card.get("source", {})
    files = ", ".join(f"`{v['file']}` (sha256 {v['sha256'][:12]}…)" for v in src.values() if isinstance(v, dict))
    lines = [
        f"# {card.get('name', 'Imported VAE')}", "",
        card.get("description", ""), "",
        f"- **Imported from:** {files}",
        f"- **Architecture:** `{card.get('preset')}` — latent_dim {card.get('latent_dim')}",
        f"- **Trained on:** {card.get('trained_on')}",
        f"- **Imported:** {card.get('date')} with Keras {card.get('keras_version_loaded', '?')}"
        + (f" (saved with Keras {card['keras_version_saved']})" if card.get("keras_version_saved") else ""),
    ]
    if isinstance(card.get("parameters"), int):
        lines.append(f"- **Parameters:** {card['parameters']:,}")
    if card.get("roles"):
        lines += ["", "## Encoder heads", "", card["roles"]]
    if m:
        lines += [
            "", f"## Test metrics ({card.get('test_split', 'test split')}, nats per image)", "",
            "| negative ELBO | reconstruction | KL | negative ELBO at z_mean | active units |",
            "|---|---|---|---|---|",
            f"| {m.get('neg_elbo', float('nan')):.2f} | {m.get('reconstruction_loss', float('nan')):.2f} | "
            f"{m.get('kl_loss', float('nan')):.2f} | {m.get('neg_elbo_at_mean', float('nan')):.2f} | "
            f"{m.get('active_units')} / {card.get('latent_dim')} |",
        ]
    if card.get("import_checks"):
        lines += ["", "## Import checks", ""] + [f"- {c}" for c in card["import_checks"]]
    if card.get("notes"):
        lines += ["", "## Notes", "", card["notes"]]
    return "\n".join(lines) + "\n"


_CHECKS = [
    "the .keras archives were inspected before loading: only config.json / metadata.json / model.weights.h5, "
    "size and compression-ratio caps, no unsafe paths",
    "every layer is a built-in Keras layer from the allow-list (no Lambda, TFSMLayer or custom classes; the "
    "sampling layer was removed from the graph, never deserialized)",
    "loaded with safe_mode=True in a separate process with memory and time limits",
    "smoke test: input (None, 28, 28, 1), finite z_mean / z_log_var, decoder output 28x28 in [0, 1]",
    "ONNX exports checked against Keras (max abs diff < 1e-4)",
]


def _base_card(name: str | None, out: Path, description: str, dataset: str, source: dict, notes: str) -> dict:
    import importlib.metadata as md

    try:
        keras_version = md.version("keras")
    except md.PackageNotFoundError:
        keras_version = "?"
    return {
        "name": name or out.name, "description": description, "imported": True, "source": source,
        "dataset": dataset, "trained_on": "unknown (imported model; its training data is not recorded)",
        "epochs": None, "date": dt.date.today().isoformat(), "keras_version_loaded": keras_version,
        "import_checks": list(_CHECKS), "notes": notes,
    }


# --------------------------------------------------------------------------- public entry points

def _check_out(out: str | Path) -> Path:
    """`--out` may be a new path or an existing bundle (replaced atomically), never another folder."""
    out = Path(out)
    if out.exists() and not (out.is_dir() and (out / B.MANIFEST).is_file()):
        raise ValueError(f"{out} exists and is not a model bundle; choose a new --out path.")
    return out


def _write_bundle(out: str | Path, staging: Path) -> Path:
    """Move the child's files into `out` with the project's atomic bundle save."""
    allowed = set(B.REQUIRED) | {B.METRICS, B.REFERENCE, B.CARD_MD, ENCODER_KERAS, DECODER_KERAS}
    names = sorted(p.name for p in staging.iterdir())
    unexpected = [n for n in names if n not in allowed]
    missing = [n for n in B.REQUIRED if n not in names]
    if unexpected or missing:
        raise RuntimeError(f"the import produced an incomplete bundle (missing {missing}, unexpected {unexpected})")
    with B.atomic_bundle_dir(out) as tmp:
        for n in names:
            shutil.move(str(staging / n), str(tmp / n))
    return B.check_bundle(out)


def import_graph(encoder: str | Path, decoder: str | Path, out: str | Path, *, dataset: str = "mnist",
                 data_dir: str | None = None, name: str | None = None, description: str = "",
                 timeout_s: int = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB) -> Path:
    """Import a `.keras` encoder + decoder pair as a model bundle at `out`; raises ImportRefused."""
    enc_archive = inspect_archive(encoder)
    dec_archive = inspect_archive(decoder)
    enc_plan = _with_file(enc_archive.path, analyze_encoder, enc_archive.config)
    dec_plan = _with_file(dec_archive.path, analyze_decoder, dec_archive.config)
    out = _check_out(out)
    source = {"encoder": {"file": enc_archive.path.name, "sha256": _sha256(enc_archive.path)},
              "decoder": {"file": dec_archive.path.name, "sha256": _sha256(dec_archive.path)}}
    card = _base_card(name, out, description or f"Imported from {enc_archive.path.name} and {dec_archive.path.name}.",
                      dataset, source, notes=(
                          f"The decoder's output sigmoid (layer `{dec_plan.sigmoid_layer}`) is stored as logits; the "
                          f"explorer applies the sigmoid, so decoded images match the original decoder. Metrics and "
                          f"reference encodings are on the {dataset} test split."))
    card.update(preset=IMPORTED, roles=_roles_note(enc_plan), keras_version_saved=enc_archive.metadata.get(
        "keras_version"), heads={"z_mean": enc_plan.mean[0], "z_log_var": enc_plan.log_var[0],
                                 "roles_from": enc_plan.roles_from, "sampling_layer": enc_plan.sampling_layer})
    with tempfile.TemporaryDirectory(prefix="vae-import-") as work:
        work = Path(work)
        staging = work / "staging"
        staging.mkdir()
        job = {"kind": "graph", "dataset": dataset, "data_dir": _abs(data_dir), "staging": str(staging), "card": card,
               "encoder": str(write_archive(enc_archive, enc_plan.config, work / "encoder.keras")),
               "decoder_probs": str(write_archive(dec_archive, dec_plan.probs_config, work / "decoder_probs.keras")),
               "decoder_logits": str(write_archive(dec_archive, dec_plan.logits_config, work / "decoder.keras"))}
        _run_child(job, work, timeout_s, memory_mb)
        return _write_bundle(out, staging)


def import_weights(weights: str | Path, preset: str, latent_dim: int, out: str | Path, *, dataset: str = "mnist",
                   data_dir: str | None = None, name: str | None = None, description: str = "",
                   timeout_s: int = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB) -> Path:
    """Import a `.weights.h5` for one of the project's presets as an ordinary bundle at `out`."""
    from vae.config import ModelConfig

    ModelConfig(preset=preset, latent_dim=latent_dim)  # a ValueError here names the allowed values
    weights = Path(weights)
    check_weights_file(weights)
    out = _check_out(out)
    source = {"weights": {"file": weights.name, "sha256": _sha256(weights)}}
    card = _base_card(name, out, description or f"Preset `{preset}` with weights imported from {weights.name}.",
                      dataset, source, notes=f"Metrics and reference encodings are on the {dataset} test split.")
    card["import_checks"] = [
        "the file is an HDF5 .weights.h5 of a sane size, read only by h5py/Keras in a separate process with "
        "memory and time limits",
        f"it holds exactly the arrays of preset `{preset}` with latent_dim {latent_dim}, with matching shapes",
        "ONNX exports checked against Keras (max abs diff < 1e-4)",
    ]
    with tempfile.TemporaryDirectory(prefix="vae-import-") as work:
        work = Path(work)
        staging = work / "staging"
        staging.mkdir()
        local = work / "upload.weights.h5"
        shutil.copyfile(weights, local)  # the child reads a private copy
        job = {"kind": "weights", "weights": str(local), "preset": preset, "latent_dim": latent_dim,
               "dataset": dataset, "data_dir": _abs(data_dir), "staging": str(staging), "card": card}
        _run_child(job, work, timeout_s, memory_mb)
        return _write_bundle(out, staging)


def _abs(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None  # the child runs in a scratch folder


def _with_file(path: Path, fn, *args):
    """Prefix an ImportRefused from graph analysis with the file it is about."""
    try:
        return fn(*args)
    except ImportRefused as exc:
        msg = str(exc)
        raise ImportRefused(msg if msg.startswith(path.name) else f"{path.name}: {msg}") from None


# --------------------------------------------------------------------------- loading an imported bundle

@dataclass(frozen=True)
class ImportedConfig:
    """The config of an imported bundle, shaped like `vae.config.ModelConfig` where it matters."""

    preset: str
    latent_dim: int
    beta: float = 1.0
    image_shape: tuple = IMAGE_SHAPE

    def to_dict(self) -> dict:
        return {"preset": self.preset, "latent_dim": self.latent_dim, "beta": self.beta,
                "image_shape": list(self.image_shape)}


def is_imported(path: str | Path) -> bool:
    return (B.read_json(Path(path) / B.CONFIG, {}) or {}).get("preset") == IMPORTED


def load_imported(path: str | Path):
    """(VAE, ImportedConfig) for an imported bundle: its re-saved graphs, then its combined weights.

    Our own re-saved archives are still checked against the allow-list before Keras loads them.
    """
    import keras

    from vae.models import VAE

    path = B.check_bundle(path)
    raw = B.read_json(path / B.CONFIG)
    models = []
    for f in (ENCODER_KERAS, DECODER_KERAS):
        archive = inspect_archive(path / f)
        check_config(archive.config, where=f)
        models.append(keras.saving.load_model(str(path / f), safe_mode=True, compile=False))
    vae = VAE(*models, beta=float(raw.get("beta", 1.0)), name="vae_imported")
    vae(keras.ops.zeros((1, *IMAGE_SHAPE)))
    vae.load_weights(str(path / B.WEIGHTS))
    return vae, ImportedConfig(preset=IMPORTED, latent_dim=int(raw["latent_dim"]), beta=float(raw.get("beta", 1.0)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    print("usage: python -m vae import … (this module's own entry point is internal)", file=sys.stderr)
    sys.exit(2)
