"""Command line: train, evaluate, encode, decode, with clear messages instead of tracebacks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from vae.bundle import DEFAULT_MODEL
from vae.config import ENCODERS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae", description="Train, evaluate and serve VAEs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a VAE and save it as a model bundle")
    t.add_argument("--dataset", required=True, choices=["mnist", "fashion_mnist", "digits"])
    t.add_argument("--latent-dim", type=int, default=2)
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (1 = true ELBO)")
    t.add_argument("--preset", default="default", choices=["default", "course"])
    t.add_argument("--dropout", type=float, default=0.0, help="dropout after the hidden Dense layers (default preset)")
    t.add_argument("--encoder-dropout", type=float, help="the encoder's dropout rate, if not --dropout's")
    t.add_argument("--input-dropout", type=float, default=0.0, help="drop this share of the encoder's input pixels")
    t.add_argument("--decoder-filters", default="64,32",
                   help="filters of the default decoder's two transposed convolutions, e.g. 128,32")
    t.add_argument("--encoder", default="wide", choices=list(ENCODERS),
                   help="the default preset's encoder: "
                        + "; ".join(f"{k}: {v}" for k, v in ENCODERS.items()))
    t.add_argument("--decoder-from", metavar="BUNDLE",
                   help="take this trained bundle's decoder, frozen, and train only a new encoder for it")
    t.add_argument("--augment-shift", type=int, default=0, help="random shifts of up to N pixels while training")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--learning-rate", type=float, default=1e-3)
    t.add_argument("--ema", action="store_true", help="save an exponential moving average of the weights")
    t.add_argument("--ema-momentum", type=float, default=0.999, help="EMA momentum (0.999: about 1,000 steps)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="decoupled weight decay (AdamW); 0 = plain Adam")
    t.add_argument("--kl-warmup", type=int, default=0, help="ramp the KL weight from 0 to beta over N epochs")
    t.add_argument("--average-last", type=int, default=0,
                   help="save the uniform average of the weights at the end of the last N epochs (SWA)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", help="folder with the IDX files (default: $VAE_DATA_DIR, Debian, download)")
    t.add_argument("--job-dir", help="folder for progress.json / history.json; a STOP file there stops training")
    t.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0 = all)")
    t.add_argument("--name", help="display name for the model card")
    t.add_argument("--description", default="")
    t.add_argument("--max-train", type=int, help="use only the first N training images")
    t.add_argument("--out", required=True, help="model bundle directory to write")

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

    i = sub.add_parser("import", help="import your own VAE (.keras encoder + decoder, or .weights.h5 for a preset)",
                       description="Import a Keras 3 encoder/decoder pair (or a preset's .weights.h5) as a model "
                                   "bundle. The files are inspected before loading and loaded with safe_mode in a "
                                   "separate, limited process; anything unexpected is refused with the reason.")
    i.add_argument("--encoder", help="encoder .keras (outputs [z_mean, z_log_var(, z)])")
    i.add_argument("--decoder", help="decoder .keras (z -> 28x28(x1) sigmoid probabilities)")
    i.add_argument("--weights", help="a .weights.h5 of one of our presets (with --preset and --latent-dim)")
    i.add_argument("--preset", choices=["default", "course"])
    i.add_argument("--latent-dim", type=int)
    i.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist", "digits"],
                   help="test split for the metrics and reference encodings (default: mnist)")
    i.add_argument("--data-dir")
    i.add_argument("--name", help="display name for the model card")
    i.add_argument("--description", default="")
    i.add_argument("--timeout", type=int, default=1200, help="seconds allowed for loading and checking")
    i.add_argument("--memory-mb", type=int, help="address-space limit of the loading process")
    i.add_argument("--out", required=True, help="model bundle directory to write")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"train": _train, "evaluate": _evaluate, "encode": _encode, "decode": _decode,
                "import": _import}[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:
        # Our own errors (bad data dir, bad bundle, bad hyperparameters) carry a message for people.
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train(args) -> int:
    job_dir = Path(args.job_dir) if args.job_dir else None
    if job_dir:
        job_dir.mkdir(parents=True, exist_ok=True)
        # Until Keras' callback takes over, SIGTERM asks for a stop the same way the STOP file does.
        signal.signal(signal.SIGTERM, lambda *_: (job_dir / "STOP").touch())
    try:
        out = _run_training(args)
    except BaseException as exc:
        if job_dir:
            _write_status(job_dir, *_failure(exc), None)
        raise
    if job_dir:
        card = json.loads(Path(out, "card.json").read_text())
        if card.get("stopped_early"):
            message = f"Stopped after {card['epochs']} of {args.epochs} epochs; the model so far was saved."
            _write_status(job_dir, "stopped", message, str(Path(out).resolve()))
        else:
            _write_status(job_dir, "done", f"Trained {card['epochs']} epochs.", str(Path(out).resolve()))
    print(Path(out, "MODEL_CARD.md").read_text())
    return 0


def _failure(exc: BaseException) -> tuple[str, str]:
    """The job state and one-line message for an exception that ended training."""
    from vae.train import TrainingStopped

    if isinstance(exc, (TrainingStopped, KeyboardInterrupt)):
        return "stopped", str(exc) or "Interrupted; no model was saved."
    if isinstance(exc, (ValueError, RuntimeError, OSError)):
        return "failed", str(exc)
    return "failed", f"{type(exc).__name__}: {exc}"


def _write_status(job_dir: Path, state: str, message: str, bundle: str | None) -> None:
    """JOB_DIR/status.json: how the job ended (done, stopped or failed), for whoever watches it."""
    from vae.train import write_job_json

    write_job_json(job_dir, "status.json", {"state": state, "message": message, "bundle": bundle,
                                            "finished": time.time()})


def _filters(text: str) -> tuple[int, int]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--decoder-filters takes two whole numbers such as 128,32; got {text!r}.") from None


def _run_training(args) -> Path:
    from vae.config import ModelConfig, check_range

    # Check every hyperparameter before the slow TensorFlow import, so mistakes fail at once.
    for name in ("latent_dim", "beta", "epochs", "batch_size", "learning_rate", "weight_decay", "kl_warmup"):
        check_range(name, getattr(args, name))
    if args.max_train is not None and args.max_train < 1:
        raise ValueError(f"--max-train must be at least 1; got {args.max_train}.")
    if args.threads < 0:
        raise ValueError(f"--threads must be 0 (all cores) or more; got {args.threads}.")
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vae.train import train

    cfg = ModelConfig(preset=args.preset, latent_dim=args.latent_dim, beta=args.beta,
                      augment_shift=args.augment_shift, dropout=args.dropout,
                      encoder_dropout=args.encoder_dropout, input_dropout=args.input_dropout,
                      decoder_filters=_filters(args.decoder_filters), encoder=args.encoder)
    out = train(cfg, dataset=args.dataset, epochs=args.epochs, out=args.out, data_dir=args.data_dir,
                batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                job_dir=args.job_dir, name=args.name, description=args.description,
                max_train=args.max_train, ema=args.ema, ema_momentum=args.ema_momentum,
                weight_decay=args.weight_decay, kl_warmup=args.kl_warmup,
                average_last=args.average_last, decoder_from=args.decoder_from,
                verbose=1 if sys.stdout.isatty() else 2)
    return Path(out)


def _evaluate(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vae.bundle import read_json, CARD_JSON, check_bundle
    from vae.data import load_dataset

    path = check_bundle(args.model)
    dataset = args.dataset or read_json(path / CARD_JSON, {}).get("dataset", "mnist")
    data = load_dataset(dataset, args.data_dir)
    from vae.evaluate import evaluate
    from vae.save import load_vae

    vae, _ = load_vae(path)
    metrics = {"model": str(path), "dataset": dataset, **evaluate(vae, data.x_test, seed=0)}
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:>28}: {v}")
    return 0


def _encode(args) -> int:
    from vae.serving import encode_files

    results = encode_files(args.model, args.images, k=args.k)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['file']}: error: {r['error']}")
            else:
                print(f"{r['file']}: z_mean={r['z_mean']} z_std={r['z_std']} nearest_label={r.get('nearest_label')}")
    return 2 if any("error" in r for r in results) else 0


def _decode(args) -> int:
    import numpy as np

    from vae.serving import ServedModel, to_png

    model = ServedModel(args.model)
    try:
        z = np.array([float(v) for v in args.z.split(",")], np.float32)
    except ValueError:
        raise ValueError(f'--z must be comma-separated numbers, e.g. "0.5,-1.2"; got "{args.z}".') from None
    if z.shape[0] != model.latent_dim:
        raise ValueError(f"--z has {z.shape[0]} values but the model's latent_dim is {model.latent_dim}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("--z values must be finite numbers.")
    Path(args.out).write_bytes(to_png(model.decode(z[None])[0], scale=args.scale))
    print(args.out)
    return 0


def _import(args) -> int:
    from vae import importer

    limits = {"timeout_s": args.timeout, "memory_mb": args.memory_mb or importer.DEFAULT_MEMORY_MB}
    common = {"dataset": args.dataset, "data_dir": args.data_dir, "name": args.name,
              "description": args.description, **limits}
    if args.weights:
        if args.encoder or args.decoder:
            raise ValueError("give either --weights (with --preset and --latent-dim) or --encoder and --decoder, "
                             "not both.")
        if not args.preset or args.latent_dim is None:
            raise ValueError("--weights needs --preset and --latent-dim.")
        out = importer.import_weights(args.weights, args.preset, args.latent_dim, args.out, **common)
    elif args.encoder and args.decoder:
        out = importer.import_graph(args.encoder, args.decoder, args.out, **common)
    else:
        raise ValueError("give --encoder and --decoder (.keras files), or --weights with --preset and --latent-dim.")
    print(Path(out, "MODEL_CARD.md").read_text())
    return 0
