"""Command line: train, evaluate, encode, decode, with clear messages instead of tracebacks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from vae import cli_dataset
from vae.bundles import classifier
from vae.bundles.access import set_server_owned
from vae.bundles.bundle import (
    CARD_JSON,
    DEFAULT_MODEL,
    GALLERY,
    add_gallery,
    check_bundle,
    read_json,
)
from vae.bundles.save import load_vae
from vae.bundles.serving import ServedModel, encode_files, to_png
from vae.importing import importer
from vae.importing.job import PROGRESS, write_done, write_ended
from vae.inputs.data import DATASETS, load_dataset
from vae.model.config import ENCODERS, PRESETS
from vae.model.evaluate import evaluate
from vae.model.train import TrainingStopped, train, write_job_json
from vae.model.training_config import TrainingConfig
from vae.plural import count


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae", description="Train, evaluate and serve VAEs.")
    sub = p.add_subparsers(dest="command", required=True)

    _add_train(sub)

    e = sub.add_parser("evaluate", help="test-split metrics of a bundle, in nats per image")
    e.add_argument("--model", default=str(DEFAULT_MODEL))
    e.add_argument("--dataset", help="default: the dataset the model was trained on")
    e.add_argument("--data-dir")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    n = sub.add_parser("encode", help="encode images (served from the bundle's ONNX encoder)")
    n.add_argument("--model", default=str(DEFAULT_MODEL))
    n.add_argument("images", nargs="+", metavar="IMAGE")
    n.add_argument("--k", type=int, default=5, help="number of nearest reference encodings")
    n.add_argument("--json", action="store_true")

    d = sub.add_parser("decode", help="decode a latent vector to a PNG (ONNX decoder)")
    d.add_argument("--model", default=str(DEFAULT_MODEL))
    d.add_argument("--z", required=True, help='comma-separated latent vector, e.g. "0.5,-1.2"')
    d.add_argument("--scale", type=int, default=1, help="upscale factor for the PNG (nearest neighbour)")
    d.add_argument("--out", required=True)

    i = sub.add_parser("import",
                       help="import your own VAE (.keras encoder + decoder, or .weights.h5 for a preset)",
                       description="Import a Keras 3 encoder/decoder pair (or a preset's .weights.h5) as a "
                                   "model bundle. The files are inspected before loading and loaded with "
                                   "safe_mode in a separate, limited process; anything unexpected is refused "
                                   "with the reason.")
    i.add_argument("--encoder", help="encoder .keras (outputs [z_mean, z_log_var(, z)])")
    i.add_argument("--decoder", help="decoder .keras (z -> 28x28(x1) sigmoid probabilities)")
    i.add_argument("--weights", help="a .weights.h5 of one of our presets (with --preset and --latent-dim)")
    i.add_argument("--preset", choices=["default", "course"])
    i.add_argument("--latent-dim", type=int)
    i.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist", "digits"],
                   help="test split for the metrics and reference encodings (default: mnist)")
    i.add_argument("--data-dir")
    i.add_argument("--name", help="display name for the model card")
    for role in ("encoder", "decoder", "weights"):  # the app renames uploads; the card keeps their names
        i.add_argument(f"--{role}-name", metavar="NAME",
                       help=f"the {role} file's name as the card and a refusal give it (default: its own)")
    i.add_argument("--description", default="")
    i.add_argument("--timeout", type=int, default=1200, help="seconds allowed for loading and checking")
    i.add_argument("--memory-mb", type=int, help="MB the loading process may use")
    i.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0 = all)")
    i.add_argument("--job-dir", help="folder for progress.json (the stage) and status.json (how it ended)")
    i.add_argument("--out", required=True, help="model bundle directory to write")

    cli_dataset.add_parser(sub)

    g = sub.add_parser("add-gallery", help="give bundles a gallery of their dataset's test images",
                       description="Add gallery.npz (30 test images of each label, with labels and indices) "
                                   "to a finished bundle from its dataset on this machine, list it in the "
                                   "manifest, and say the dataset's licence in the card.")
    g.add_argument("bundles", nargs="+", metavar="BUNDLE")
    g.add_argument("--data-dir", help="folder with the IDX files (default: $VAE_DATA_DIR, Debian, Keras' "
                                      "cache; never downloaded)")
    c = sub.add_parser("add-classifier", help="give bundles a classifier of their dataset's images (ONNX)",
                       description="Train a small scikit-learn MLP on the pixels of each bundle's "
                                   "dataset's training images on this machine, export it to ONNX "
                                   "(classifier.onnx; nothing is pickled), and put its test accuracy on the "
                                   "card.")
    c.add_argument("bundles", nargs="+", metavar="MODEL",
                   help="a bundle folder, or a model id: a shipped model's (mnist-2d) or user/NAME")
    c.add_argument("--data-dir", help="folder with the IDX files (default: $VAE_DATA_DIR, Debian, Keras' "
                                      "cache; never downloaded)")
    c.add_argument("--max-train", type=int, default=classifier.MAX_TRAIN,
                   help="train on the first N training images (default: %(default)s; 0 = all)")
    return p


def _add_train(sub) -> None:
    """The train command: a flag for every training-config field (a flag given overrides --config's
    value), then where the data, the job's files and the bundle go."""
    t = sub.add_parser("train", help="train a VAE and save it as a model bundle",
                       description="Train a VAE and save it as a model bundle. The recipe is a training "
                                   "config: --config FILE (a JSON file, such as a bundle's "
                                   "training_config.json), the flags below, or both (a flag given "
                                   "overrides the file's value). Without --config, --dataset and --epochs "
                                   "are required.")
    t.add_argument("--config", metavar="FILE", help="a training-config JSON file")
    group = t.add_argument_group("the training config")
    defaults = {f.name: f.default for f in fields(TrainingConfig)}

    def recipe(flag: str, text: str = "", **kw) -> None:
        default = defaults[flag[2:].replace("-", "_")]
        if default not in (None, MISSING):  # one place for the defaults: the dataclass's
            shown = (",".join(map(str, default)) if isinstance(default, tuple)
                     else ("off", "on")[default] if isinstance(default, bool) else default)
            text = f"{text} (default: {shown})".strip()
        group.add_argument(flag, help=text or None, **kw)

    recipe("--dataset", f"{', '.join(DATASETS)}, or a prepared dataset's own/<id>")
    recipe("--latent-dim", type=int)
    recipe("--epochs", type=int)
    recipe("--beta", "weight of the KL term (1 = true ELBO)", type=float)
    recipe("--preset", "colour: for 32x32 and 64x64 images (a prepared dataset's)", choices=list(PRESETS))
    recipe("--dropout", "dropout after the hidden Dense layers (default preset)", type=float)
    recipe("--encoder-dropout", "the encoder's dropout rate, if not --dropout's", type=float)
    recipe("--input-dropout", "drop this share of the encoder's input pixels", type=float)
    recipe("--decoder-filters", "filters of the default decoder's two transposed convolutions, e.g. 128,32")
    encoders = "; ".join(f"{k}: {v}" for k, v in ENCODERS.items())
    recipe("--encoder", f"the default preset's encoder: {encoders}", choices=list(ENCODERS))
    recipe("--decoder-from", "take this trained bundle's decoder, frozen, and train only a new encoder "
           "for it", metavar="BUNDLE")
    recipe("--image-shape", "height,width,channels of the images; training always takes its dataset's")
    recipe("--augment-shift", "random shifts of up to N pixels while training", type=int)
    recipe("--batch-size", type=int)
    recipe("--learning-rate", type=float)
    recipe("--ema", "save an exponential moving average of the weights",
           action=argparse.BooleanOptionalAction)
    recipe("--ema-momentum", "EMA momentum (0.999: about 1,000 steps)", type=float)
    recipe("--weight-decay", "decoupled weight decay (AdamW); 0 = plain Adam", type=float)
    recipe("--kl-warmup", "ramp the KL weight from 0 to beta over N epochs", type=int)
    recipe("--average-last", "save the uniform average of the weights at the end of the last N epochs (SWA)",
           type=int)
    recipe("--seed", type=int)
    recipe("--max-train", "use only the first N training images", type=int)
    t.add_argument("--data-dir", help="folder with the IDX files (default: $VAE_DATA_DIR, Debian, download)")
    t.add_argument("--job-dir",
                   help="folder for progress.json / history.json; a STOP file there stops training")
    t.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0 = all)")
    t.add_argument("--replay", action=argparse.BooleanOptionalAction, default=True,
                   help="record a replay of training in the bundle (replay.npz; default: on)")
    t.add_argument("--name", help="display name for the model card")
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True, help="model bundle directory to write")
    t.add_argument("--runner", choices=["local", "ray"], default="local",
                   help="local: train in this process; ray: submit the training to a Ray cluster and wait "
                        "for it (--out and the job folder on storage every node mounts)")
    t.add_argument("--ray-address", help="the Ray job server, e.g. http://HOST:8265 (default: "
                                         "$VAE_RAY_ADDRESS)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"train": _train, "evaluate": _evaluate, "encode": _encode, "decode": _decode,
                "import": _import, "add-gallery": _add_gallery,
                "dataset": cli_dataset.run, "add-classifier": _add_classifier}[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:
        # Our own errors (bad data dir, bad bundle, bad hyperparameters) carry a message for people.
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train(args) -> int:
    if args.runner == "ray":
        # Here, not at the top: the job service's Ray runner imports Ray, which only this option needs.
        from jobservice.ray_runner import train_cli

        return train_cli(_training_config(args), args)
    job_dir = Path(args.job_dir) if args.job_dir else None
    if job_dir:
        job_dir.mkdir(parents=True, exist_ok=True)
        # Until Keras' callback takes over, SIGTERM asks for a stop the same way the STOP file does.
        signal.signal(signal.SIGTERM, lambda *_: (job_dir / "STOP").touch())
    try:
        config = _training_config(args)
        out = _run_training(config, args)
    except BaseException as exc:
        if job_dir:
            _write_status(job_dir, *_failure(exc), None)
        raise
    if job_dir:
        card = json.loads(Path(out, "card.json").read_text())
        if card.get("stopped_early"):
            message = (f"Stopped after {card['epochs']} of {count(config.epochs, 'epoch')}; the model so far "
                       "was saved.")
            _write_status(job_dir, "stopped", message, str(Path(out).resolve()))
        else:
            _write_status(job_dir, "done", f"Trained {count(card['epochs'], 'epoch')}.",
                          str(Path(out).resolve()))
    else:
        _mark_server_owned(out)
    print(Path(out, "MODEL_CARD.md").read_text())
    return 0


def _mark_server_owned(out: str | Path) -> None:
    """A bundle made at the command line (no job folder) is the operator's: if it lands among the visitors'
    models, every visitor sees it, read-only (a job's bundle gets its visitor as owner from the runner)."""
    set_server_owned(out)


def _failure(exc: BaseException) -> tuple[str, str]:
    """The job state and one-line message for an exception that ended training."""
    if isinstance(exc, (TrainingStopped, KeyboardInterrupt)):
        return "stopped", str(exc) or "Interrupted; no model was saved."
    if isinstance(exc, (ValueError, RuntimeError, OSError)):
        return "failed", str(exc)
    return "failed", f"{type(exc).__name__}: {exc}"


def _write_status(job_dir: Path, state: str, message: str, bundle: str | None) -> None:
    """JOB_DIR/status.json: how the job ended (done, stopped or failed), for whoever watches it."""
    write_job_json(job_dir, "status.json", {"state": state, "message": message, "bundle": bundle,
                                            "finished": time.time()})


def _filters(text: str) -> tuple[int, int]:
    return _numbers("--decoder-filters", text, "128,32")


def _numbers(flag: str, text: str, example: str) -> tuple[int, ...]:
    """A flag's comma-separated whole numbers; how many it takes is the training config's to check."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        count = len(example.split(","))
        raise ValueError(f"{flag} takes {('two', 'three')[count - 2]} whole numbers such as {example}; "
                         f"got {text!r}.") from None


def _training_config(args) -> TrainingConfig:
    """--config's training config with the flags given on the command line over it, checked (before the
    slow TensorFlow import, so that mistakes fail at once)."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainingConfig)}
    flags = {name: value for name, value in given.items() if value is not None}
    if "decoder_filters" in flags:
        flags["decoder_filters"] = _filters(flags["decoder_filters"])
    if "image_shape" in flags:
        flags["image_shape"] = _numbers("--image-shape", flags["image_shape"], "28,28,1")
    if args.config:
        return TrainingConfig.from_dict({**TrainingConfig.read(args.config).to_dict(), **flags})
    missing = [f"--{name.replace('_', '-')}" for name in ("dataset", "epochs") if name not in flags]
    if missing:
        raise ValueError(f"train needs {' and '.join(missing)}, or --config FILE.")
    return TrainingConfig.from_dict(flags)


def _run_training(config: TrainingConfig, args) -> Path:
    if args.threads < 0:
        raise ValueError(f"--threads must be 0 (all cores) or more; got {args.threads}.")
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = train(config, out=args.out, data_dir=args.data_dir, job_dir=args.job_dir, name=args.name,
                description=args.description, verbose=1 if sys.stdout.isatty() else 2, replay=args.replay)
    return Path(out)


def _evaluate(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    path = check_bundle(args.model)
    dataset = args.dataset or read_json(path / CARD_JSON, {}).get("dataset", "mnist")
    data = load_dataset(dataset, args.data_dir)
    vae, _ = load_vae(path)
    metrics = {"model": str(path), "dataset": dataset, **evaluate(vae, data.x_test, seed=0)}
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:>28}: {v}")
    return 0


def _encode(args) -> int:
    results = encode_files(args.model, args.images, k=args.k)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['file']}: error: {r['error']}")
            else:
                print(f"{r['file']}: z_mean={r['z_mean']} z_std={r['z_std']} "
                      f"nearest_label={r.get('nearest_label')}")
    return 2 if any("error" in r for r in results) else 0


def _decode(args) -> int:
    model = ServedModel(args.model)
    try:
        z = np.array([float(v) for v in args.z.split(",")], np.float32)
    except ValueError:
        raise ValueError(f'--z must be comma-separated numbers, e.g. "0.5,-1.2"; got "{args.z}".') from None
    if z.shape[0] != model.latent_dim:
        raise ValueError(f"--z has {count(z.shape[0], 'value')} but the model's latent_dim is "
                         f"{model.latent_dim}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("--z values must be finite numbers.")
    Path(args.out).write_bytes(to_png(model.decode(z[None])[0], scale=args.scale))
    print(args.out)
    return 0


def _import(args) -> int:
    job_dir = Path(args.job_dir) if args.job_dir else None
    try:
        out = _run_import(args, importer, job_dir / PROGRESS if job_dir else None)
        # An imported model gets its classifier as a trained one does (the Latent map's overlay, the Decoder's
        # probabilities), before the job says done.
        classifier.add_classifier_or_say_why(Path(out), data_dir=args.data_dir)
    except BaseException as exc:
        if job_dir:
            write_ended(job_dir, exc)
        raise
    if job_dir:
        write_done(job_dir, Path(out))
    else:
        _mark_server_owned(out)
    print(Path(out, "MODEL_CARD.md").read_text())
    return 0


def _run_import(args, importer, progress: Path | None) -> Path:
    if args.threads < 0:
        raise ValueError(f"--threads must be 0 (all cores) or more; got {args.threads}.")
    if args.threads:  # the sandboxed child inherits them
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    limits = {"timeout_s": args.timeout, "memory_mb": args.memory_mb or importer.default_memory_mb()}
    names = {role: getattr(args, f"{role}_name") for role in ("encoder", "decoder", "weights")}
    common = {"dataset": args.dataset, "data_dir": args.data_dir, "name": args.name,
              "description": args.description, "progress": progress,
              "file_names": {role: name for role, name in names.items() if name}, **limits}
    if args.weights:
        if args.encoder or args.decoder:
            raise ValueError("give either --weights (with --preset and --latent-dim) or --encoder and "
                             "--decoder, not both.")
        if not args.preset or args.latent_dim is None:
            raise ValueError("--weights needs --preset and --latent-dim.")
        out = importer.import_weights(args.weights, args.preset, args.latent_dim, args.out, **common)
    elif args.encoder and args.decoder:
        out = importer.import_graph(args.encoder, args.decoder, args.out, **common)
    else:
        raise ValueError("give --encoder and --decoder (.keras files), or --weights with --preset and "
                         "--latent-dim.")
    return out


def _add_gallery(args) -> int:
    for path in args.bundles:
        arrays = add_gallery(path, args.data_dir)
        size = (Path(path) / GALLERY).stat().st_size
        labels = arrays["labels"]
        print(f"{Path(path) / GALLERY}: {count(len(labels), 'image')} of {count(len(set(labels)), 'label')}, "
              f"{size / 1024:.0f} KiB")
    return 0


def _add_classifier(args) -> int:
    if args.max_train < 0:
        raise ValueError(f"--max-train must be 0 (all) or more; got {args.max_train}.")
    for model in args.bundles:
        path = classifier.bundle_of(model)
        info = classifier.add_classifier(path, args.data_dir, args.max_train or None)
        size = (path / classifier.CLASSIFIER_ONNX).stat().st_size
        print(f"{model}: {classifier.CLASSIFIER_ONNX}, {size / 1024:.0f} KiB, trained on "
              f"{info['trained_on']}; "
              f"test accuracy {100 * info['test_accuracy']:.1f} % on {info['test_images']:,} test images")
    return 0
