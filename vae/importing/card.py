"""The model card of an imported model: card.json's fields and MODEL_CARD.md's text."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from importlib import metadata
from pathlib import Path

from vae.importing.archive_check import KerasArchive
from vae.importing.bundle import IMPORTED
from vae.importing.plan import DecoderPlan, EncoderPlan

MAX_SHOWN_NAME = 80  # characters of a visitor's file name a card keeps (the end: it holds the extension)

_GRAPH_CHECKS = [
    "the .keras archives were inspected before loading: only config.json / metadata.json / model.weights.h5, "
    "size and compression-ratio caps, no unsafe paths",
    "every layer is a built-in Keras layer from the allow-list (no Lambda, TFSMLayer or custom classes; the "
    "sampling layer was removed from the graph, never deserialized)",
    "loaded with safe_mode=True in a separate process with memory and time limits",
    "smoke test: input (None, 28, 28, 1), finite z_mean / z_log_var, decoder output 28x28 in [0, 1]",
    "ONNX exports checked against Keras (max abs diff < 1e-4)",
]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shown_file_name(name: str) -> str:
    """A file's name as its owner gave it, fit to show as plain text anywhere (a card's Markdown, a code
    span): its last path part only, letters, digits, spaces and . _ - + ( ) (anything else becomes "_"),
    at most MAX_SHOWN_NAME characters."""
    base = re.split(r"[/\\]", str(name))[-1]
    return re.sub(r"[^\w .()+-]", "_", " ".join(base.split()))[-MAX_SHOWN_NAME:].strip()


def _source(names: dict[str, str] | None = None, **files: Path) -> dict:
    """What the card says the model was imported from: each file's name (as its owner named it: `names`
    by role, else the file's own) and its sha256."""
    names = names or {}
    return {role: {"file": shown_file_name(names.get(role) or path.name), "sha256": _sha256(path)}
            for role, path in files.items()}


def _roles_note(plan: EncoderPlan) -> str:
    mean, log_var = plan.mean[0], plan.log_var[0]
    if plan.roles_from == "sampling layer":
        text = (f"z_mean is the head named `{mean}` and z_log_var the head named `{log_var}`: they are the "
                f"first and second inputs of the sampling layer `{plan.sampling_layer}` (class "
                f"`{plan.sampling_class}`) in the encoder's config.json, read as "
                f"z = z_mean + exp(0.5·z_log_var)·ε, the reparameterization convention. The sampling layer's "
                f"code was never loaded or run: it was removed from the graph, and the explorer samples with "
                f"its own layer.")
    else:
        text = (f"The encoder has no sampling layer: its two outputs are read in order as z_mean (`{mean}`) "
                f"and z_log_var (`{log_var}`).")
    # Course notebooks call the log-variance head "sigma"; say what it really is.
    if not re.search(r"log.?var", log_var, re.IGNORECASE):
        text += (f" Note: the head named {log_var} is a log-variance: it enters the sampling layer as "
                 f"exp(0.5·{log_var}).")
    return text


def _base_card(name: str | None, out: Path, description: str, dataset: str, source: dict, notes: str) -> dict:
    try:
        keras_version = metadata.version("keras")  # from package metadata: this process never imports Keras
    except metadata.PackageNotFoundError:
        keras_version = "?"
    return {
        "name": name or out.name, "description": description, "imported": True, "source": source,
        "dataset": dataset, "trained_on": "unknown (imported model; its training data is not recorded)",
        "epochs": None, "date": dt.date.today().isoformat(), "keras_version_loaded": keras_version,
        "import_checks": list(_GRAPH_CHECKS), "notes": notes,
    }


def graph_card(encoder: KerasArchive, decoder: KerasArchive, enc_plan: EncoderPlan, dec_plan: DecoderPlan, *,
               out: Path, name: str | None, description: str, dataset: str,
               file_names: dict[str, str] | None = None) -> dict:
    """The card of a `.keras` encoder + decoder import, before the sandbox adds what it measured.
    `file_names`: the files' names by role ("encoder", "decoder") as their owner gave them, if the files
    themselves were renamed (the app's uploads are)."""
    source = _source(file_names, encoder=encoder.path, decoder=decoder.path)
    description = (description or f"Imported from `{source['encoder']['file']}` and "
                                  f"`{source['decoder']['file']}`.")
    notes = (f"The decoder's output sigmoid (layer `{dec_plan.sigmoid_layer}`) is stored as logits; the "
             f"explorer applies the sigmoid, so decoded images match the original decoder. Metrics and "
             f"reference encodings are on the {dataset} test split.")
    card = _base_card(name, out, description, dataset, source, notes=notes)
    card.update(preset=IMPORTED, roles=_roles_note(enc_plan),
                keras_version_saved=encoder.metadata.get("keras_version"),
                heads={"z_mean": enc_plan.mean[0], "z_log_var": enc_plan.log_var[0],
                       "roles_from": enc_plan.roles_from, "sampling_layer": enc_plan.sampling_layer})
    return card


def weights_card(weights: Path, preset: str, latent_dim: int, *, out: Path, name: str | None,
                 description: str, dataset: str, file_names: dict[str, str] | None = None) -> dict:
    """The card of a preset's `.weights.h5` import, before the sandbox adds what it measured."""
    source = _source(file_names, weights=weights)
    description = (description
                   or f"Preset `{preset}` with weights imported from `{source['weights']['file']}`.")
    card = _base_card(name, out, description, dataset, source,
                      notes=f"Metrics and reference encodings are on the {dataset} test split.")
    card["import_checks"] = [
        "the file is an HDF5 .weights.h5 of a sane size, read only by h5py/Keras in a separate process with "
        "memory and time limits",
        f"it holds exactly the arrays of preset `{preset}` with latent_dim {latent_dim}, with matching "
        "shapes",
        "ONNX exports checked against Keras (max abs diff < 1e-4)",
    ]
    return card


def render_card(card: dict) -> str:
    """MODEL_CARD.md for an imported model: where it came from, what was checked, its test metrics."""
    m = card.get("test_metrics", {})
    src = card.get("source", {})
    files = ", ".join(f"`{v['file']}` (sha256 {v['sha256'][:12]}…)"
                      for v in src.values() if isinstance(v, dict))
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
