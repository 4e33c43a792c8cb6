"""Importing a user's own VAE (a `.keras` encoder + decoder, or a preset's `.weights.h5`): entry points."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vae.importing.archive_check import ImportRefused, check_weights_file, inspect_archive, write_archive
from vae.importing.bundle import check_out, is_imported, load_imported, write_bundle
from vae.importing.card import graph_card, shown_file_name, weights_card
from vae.importing.job import write_stage
from vae.importing.model_size import check_size
from vae.importing.plan import analyze_decoder, analyze_encoder
from vae.importing.sandbox import DEFAULT_TIMEOUT_S, default_memory_mb, run_child
from vae.model.config import ModelConfig

# vae.bundles.save imports load_imported from here, and the CLI reads the defaults from here.
__all__ = ["DEFAULT_TIMEOUT_S", "default_memory_mb", "ImportRefused", "import_graph", "import_weights",
           "is_imported", "load_imported"]

T = TypeVar("T")


def import_graph(encoder: str | Path, decoder: str | Path, out: str | Path, *, dataset: str = "mnist",
                 data_dir: str | None = None, name: str | None = None, description: str = "",
                 timeout_s: int = DEFAULT_TIMEOUT_S, memory_mb: int | None = None,
                 progress: str | Path | None = None, file_names: dict[str, str] | None = None) -> Path:
    """Import a `.keras` encoder + decoder pair as a model bundle at `out`; raises ImportRefused.

    The upload is untrusted. What happens to it, in order:

    1. In this process, without Keras: `vae.importing.archive_check` inspects each zip (members, sizes,
       compression ratio, paths) and the allow-list runs over the whole config; `vae.importing.model_size`
       counts the parameters the configs declare and refuses a model over its cap.
    2. `vae.importing.plan` rewrites the graphs: the encoder loses its sampling layer and outputs
       [z_mean, z_log_var]; a copy of the decoder ends in logits instead of its sigmoid.
    3. `vae.importing.sandbox` runs `vae.importing.child` in a separate Python process (memory cap via
       RLIMIT_DATA, CPU cap, wall-clock timeout): it loads the rewritten archives with
       `safe_mode=True`, smoke-tests them, evaluates them on the dataset's test split, exports and
       checks ONNX, and writes the bundle's files into a scratch folder.
    4. This process moves those files into `out` with the project's atomic bundle save.

    Anything unexpected is refused with `ImportRefused` (a ValueError) and one sentence. With `progress` (a
    job's progress.json), each stage is recorded there as it begins (vae.importing.job). `file_names`: the
    files' names by role ("encoder", "decoder") as their owner gave them, for the card and a refusal.
    """
    write_stage(progress, "checking")
    shown = _shown_names(file_names)
    enc_archive = inspect_archive(encoder, shown.get("encoder"))
    dec_archive = inspect_archive(decoder, shown.get("decoder"))
    enc_plan = _with_file(enc_archive.shown, analyze_encoder, enc_archive.config)
    dec_plan = _with_file(dec_archive.shown, analyze_decoder, dec_archive.config)
    # Counted from the configs before anything loads: a model too large for the memory limit is refused now.
    check_size({"encoder": enc_plan.config, "decoder": dec_plan.probs_config},
               f"{enc_archive.shown} + {dec_archive.shown}")
    out = check_out(out)
    card = graph_card(enc_archive, dec_archive, enc_plan, dec_plan, out=out, name=name,
                      description=description, dataset=dataset, file_names=file_names)

    def make_job(work: Path) -> dict:
        # The child gets rewritten archives only: the upload itself is never handed to Keras.
        return {"kind": "graph", "dataset": dataset, "data_dir": _abs(data_dir), "card": card,
                "encoder": str(write_archive(enc_archive, enc_plan.config, work / "encoder.keras")),
                "decoder_probs": str(write_archive(dec_archive, dec_plan.probs_config,
                                                   work / "decoder_probs.keras")),
                "decoder_logits": str(write_archive(dec_archive, dec_plan.logits_config,
                                                    work / "decoder.keras"))}

    return _run_sandboxed(make_job, out, timeout_s, memory_mb, progress)


def import_weights(weights: str | Path, preset: str, latent_dim: int, out: str | Path, *,
                   dataset: str = "mnist", data_dir: str | None = None, name: str | None = None,
                   description: str = "", timeout_s: int = DEFAULT_TIMEOUT_S,
                   memory_mb: int | None = None, progress: str | Path | None = None,
                   file_names: dict[str, str] | None = None) -> Path:
    """Import a `.weights.h5` for one of the project's presets as an ordinary bundle at `out`
    (`file_names`: {"weights": its owner's name for it}, as import_graph's)."""
    write_stage(progress, "checking")
    ModelConfig(preset=preset, latent_dim=latent_dim)  # a ValueError here names the allowed values
    weights = Path(weights)
    shown = _shown_names(file_names).get("weights") or weights.name
    check_weights_file(weights, shown)
    out = check_out(out)
    card = weights_card(weights, preset, latent_dim, out=out, name=name, description=description,
                        dataset=dataset, file_names=file_names)

    def make_job(work: Path) -> dict:
        local = work / "upload.weights.h5"
        shutil.copyfile(weights, local)  # the child reads a private copy
        return {"kind": "weights", "weights": str(local), "weights_name": shown, "preset": preset,
                "latent_dim": latent_dim, "dataset": dataset, "data_dir": _abs(data_dir), "card": card}

    return _run_sandboxed(make_job, out, timeout_s, memory_mb, progress)


def _run_sandboxed(make_job: Callable[[Path], dict], out: Path, timeout_s: int, memory_mb: int | None,
                   progress: str | Path | None) -> Path:
    """Sandbox the job that `make_job` writes into the scratch folder `work`; move its bundle to `out`
    (memory_mb None: the server's setting, VAE_IMPORT_MEMORY_MB)."""
    memory_mb = memory_mb or default_memory_mb()
    with tempfile.TemporaryDirectory(prefix="vae-import-") as tmp:
        work = Path(tmp)
        staging = work / "staging"
        staging.mkdir()
        write_stage(progress, "loading")
        run_child({**make_job(work), "staging": str(staging), "progress": _abs(progress)}, work, timeout_s,
                  memory_mb)
        write_stage(progress, "saving")
        return write_bundle(out, staging)


def _abs(path: str | Path | None) -> str | None:
    return str(Path(path).resolve()) if path else None  # the child runs in a scratch folder


def _shown_names(file_names: dict[str, str] | None) -> dict[str, str]:
    """The files' names by role as their owner gave them, fit to show (the app's uploads are stored under
    the job folder's own names, which no message should show)."""
    return {role: shown_file_name(name) for role, name in (file_names or {}).items() if name}


def _with_file(shown: str, fn: Callable[[dict], T], config: dict) -> T:
    """Prefix an ImportRefused from graph analysis with the file it is about (`shown`: its name)."""
    try:
        return fn(config)
    except ImportRefused as exc:
        raise ImportRefused(f"{shown}: {exc}") from None
