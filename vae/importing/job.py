"""An import run as a job: its stage in JOB_DIR/progress.json, how it ended in JOB_DIR/status.json."""

# `python -m vae import … --job-dir DIR` reports through these two files, as a training job does, so the web
# process (which never imports TensorFlow) can show where the import is and how it ended. The sandboxed child
# writes the stages it reaches itself: it is handed the progress file's path.

from __future__ import annotations

import time
from pathlib import Path

from vae.bundles.bundle import CARD_JSON, CONFIG, METRICS, read_json, write_json
from vae.importing.archive_check import ImportRefused

PROGRESS = "progress.json"
STATUS = "status.json"
# Each stage, in order, with the share of the work done when it begins (for a progress bar).
STAGES = {"checking": 0.05, "loading": 0.15, "evaluating": 0.55, "exporting": 0.75, "saving": 0.95}


def write_stage(progress: str | Path | None, stage: str) -> None:
    """Record that the import has reached `stage` (nothing without a progress file)."""
    if progress:
        Path(progress).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(progress), {"stage": stage, "fraction": STAGES[stage], "at": time.time()})


def write_done(job_dir: Path, out: Path) -> None:
    """status.json for a finished import: done, with its bundle and the test split's numbers in words."""
    config = read_json(out / CONFIG, {}) or {}
    metrics = read_json(out / METRICS, {}) or {}
    card = read_json(out / CARD_JSON, {}) or {}
    message = f"Imported: latent_dim {config.get('latent_dim')}"
    if isinstance(metrics.get("neg_elbo"), (int, float)):
        split = card.get("dataset", "test")
        message += f", test −ELBO {metrics['neg_elbo']:.1f} nats on the {split} test split"
    _write_status(job_dir, "done", message + ".", str(Path(out).resolve()))


def write_ended(job_dir: Path, exc: BaseException) -> None:
    """status.json for an import that ended without a model: refused (its checks said no) or failed."""
    if isinstance(exc, ImportRefused):
        state, message = "refused", str(exc)
    elif isinstance(exc, KeyboardInterrupt):
        state, message = "stopped", "Interrupted; no model was saved."
    elif isinstance(exc, (ValueError, RuntimeError, OSError)):
        state, message = "failed", str(exc)
    else:
        state, message = "failed", f"{type(exc).__name__}: {exc}"
    message = " ".join(message.split()) or "The import failed."
    _write_status(job_dir, state, message if message.endswith((".", "…")) else message + ".", None)


def _write_status(job_dir: Path, state: str, message: str, bundle: str | None) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    write_json(job_dir / STATUS, {"state": state, "message": message, "bundle": bundle,
                                    "finished": time.time()})
