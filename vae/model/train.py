"""Training loop: Keras fit with a cosine-decayed Adam, progress files, a clean stop, a bundle at the end."""

from __future__ import annotations

import math
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vae.bundles.bundle import (
    CARD_JSON,
    CONFIG,
    check_bundle,
    read_json,
    read_training_config,
    recipe_text,
    write_json,
)
from vae.bundles.classifier import add_classifier_or_say_why
from vae.bundles.save import load_vae, make_card, save_bundle
from vae.inputs import prepared
from vae.inputs.data import gallery, load_dataset
from vae.model.evaluate import encode_all, evaluate
from vae.model.replay import LIVE_FILE, Recorder
from vae.model.training_config import TrainingConfig
from vae.plural import count

# Keras (TensorFlow) is imported inside the functions that train: the CLI imports this module for every
# command, and a training config's mistakes must fail before TensorFlow's seconds-long import.


class TrainingFailed(RuntimeError):
    """Training could not produce a usable model (e.g. the loss became NaN)."""


class TrainingStopped(RuntimeError):
    """A stop was requested before the first training step; nothing was trained or saved."""


def write_job_json(job_dir: Path, name: str, obj: dict) -> None:
    """Write JOB_DIR/name atomically, so a watching process never reads a half-written file."""
    job_dir.mkdir(parents=True, exist_ok=True)
    write_json(job_dir / name, obj)


def _callbacks(job_dir: Path | None, epochs: int, steps: int):
    import keras  # (see the note at the top)

    class JobFiles(keras.callbacks.Callback):
        """Writes progress.json / history.json so another process can watch, and obeys Stop."""

        def __init__(self):
            super().__init__()
            self.stop_requested = False
            self.non_finite = False  # a batch loss was NaN or infinite (TerminateOnNaN then stops)
            self.history: dict[str, list[float]] = {}
            self._last_write = 0.0
            signal.signal(signal.SIGTERM, self._on_sigterm)

        def _on_sigterm(self, *_):
            self.stop_requested = True

        def _stop_file(self) -> bool:
            return job_dir is not None and (job_dir / "STOP").exists()

        def _write(self, name: str, obj: dict) -> None:
            if job_dir is not None:
                write_job_json(job_dir, name, obj)

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.non_finite = True
            if self.stop_requested or self._stop_file():
                self.stop_requested = True
                self.model.stop_training = True
            now = time.time()
            if now - self._last_write > 0.5:
                self._last_write = now
                epoch = len(self.history.get("loss", []))
                self._write("progress.json", {
                    "epoch": epoch, "epochs": epochs, "step": batch + 1, "steps": steps,
                    "fraction": (epoch + (batch + 1) / steps) / epochs,
                    "logs": {k: float(v) for k, v in (logs or {}).items()},
                })

        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                self.history.setdefault(k, []).append(float(v))
            self._write("history.json", self.history)
            self._write("progress.json", {"epoch": epoch + 1, "epochs": epochs, "step": steps,
                                          "steps": steps, "fraction": (epoch + 1) / epochs,
                                          "logs": {k: float(v) for k, v in (logs or {}).items()}})

    return JobFiles(), keras.callbacks.TerminateOnNaN()


def weight_average(first_epoch: int):
    """A Keras callback that averages the weights from the end of epoch `first_epoch` (0-based) on; after
    training, its `apply(model)` puts the average in the model and `count` says how many epochs it took in."""
    import keras  # (see the note at the top)

    class WeightAverage(keras.callbacks.Callback):
        """Uniform average of the weights at the end of each epoch from `first_epoch` (0-based) on:
        stochastic weight averaging (Izmailov et al. 2018) over the run's last epochs. With EMA on, it
        averages the EMA weights. BatchNorm statistics (course preset) are not averaged."""

        def __init__(self):
            super().__init__()
            self.total: list[np.ndarray] | None = None
            self.count = 0

        def on_epoch_end(self, epoch, logs=None):
            if epoch < first_epoch:
                return
            opt = self.model.optimizer
            # Keras keeps the EMA in the optimizer, one variable per trainable variable, in order.
            source = opt._model_variables_moving_average if getattr(opt, "use_ema", False) \
                else self.model.trainable_variables
            values = [np.array(v, dtype=np.float64) for v in source]
            self.total = values if self.total is None else [t + v for t, v in zip(self.total, values)]
            self.count += 1

        def apply(self, model) -> None:
            for var, t in zip(model.trainable_variables, self.total):
                var.assign((t / self.count).astype(var.dtype))

    return WeightAverage()


def _decoder_source(decoder_from: str | Path, dataset: str) -> tuple[Path, dict]:
    """The bundle to take a trained decoder from, and its card, checked before any data is loaded."""
    path = check_bundle(decoder_from)
    if read_json(path / CONFIG, {}).get("preset") == "imported":
        raise ValueError(f"{path} is an imported model; a decoder can only be taken from one of our presets.")
    card = read_json(path / CARD_JSON, {})
    if card.get("dataset") not in (None, dataset):
        raise ValueError(f"The decoder in {path} was trained on {card['dataset']}; "
                         f"fit its encoder on the same dataset, not {dataset}.")
    return path, card


def _take_decoder(vae, path: Path, card: dict) -> dict:
    """Copy a trained bundle's decoder into `vae` and freeze it, so that training fits only the encoder
    to that decoder; returns what the new model card records of where the decoder came from."""
    source, _ = load_vae(path)
    try:
        vae.decoder.set_weights(source.decoder.get_weights())
    except ValueError as exc:
        raise ValueError(f"The decoder in {path} does not fit this model: preset, latent_dim and decoder "
                         f"filters must match its own ({exc}).") from None
    vae.decoder.trainable = False
    return {"name": card.get("name", path.name), "epochs": card.get("epochs"),
            "train_seconds": card.get("train_seconds"), "n_train": card.get("n_train"),
            "recipe": recipe_text(card, read_training_config(path)), "encoder": card.get("encoder", "wide"),
            "test_neg_elbo": card.get("test_metrics", {}).get("neg_elbo")}


def train(config: TrainingConfig, *, out: str | Path, data_dir: str | None = None,
          job_dir: str | Path | None = None, verbose: int | str = "auto", name: str | None = None,
          description: str = "", replay: bool = True) -> Path:
    """Train the VAE that `config` describes and save it as a bundle at `out`; returns the bundle's path.
    With `config.decoder_from` (a bundle), its trained decoder is copied in and frozen and only the
    encoder is trained. With `replay`, the bundle holds a replay of the training (vae.model.replay). The
    config was checked when it was made, so a mistake fails before TensorFlow."""
    import keras  # (see the note at the top)

    from vae.model.presets import build_vae  # (Keras)

    source = _decoder_source(config.decoder_from, config.dataset) if config.decoder_from else None
    data = load_dataset(config.dataset, data_dir)
    if config.image_shape != data.image_shape:  # the recipe records the images the model was made for
        config = replace(config, image_shape=data.image_shape)
    x_train = data.x_train[:config.max_train] if config.max_train else data.x_train
    keras.utils.set_random_seed(config.seed)
    vae = build_vae(config.model_config, seed=config.seed)
    decoder_source = _take_decoder(vae, *source) if source else None  # before compile: it freezes
    steps = math.ceil(len(x_train) / config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=config.epochs * steps,
                                                      alpha=0.01)
    # EMA: the saved weights are an exponential moving average of the last ~1 / (1 - momentum) steps'
    # weights (Polyak averaging), which generalise better than the last step's; validation uses them too.
    ema_args = {"use_ema": config.ema, "ema_momentum": config.ema_momentum}
    # Weight decay is decoupled from the gradient (AdamW), so it shrinks weights the same whatever the
    # loss scale.
    optimizer = (keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay, **ema_args)
                 if config.weight_decay else keras.optimizers.Adam(schedule, **ema_args))
    vae.compile(optimizer=optimizer)
    vae.kl_warmup_steps = config.kl_warmup * steps
    job_dir = Path(job_dir) if job_dir else None
    if job_dir:
        job_dir.mkdir(parents=True, exist_ok=True)
    job_files, nan_guard = _callbacks(job_dir, config.epochs, steps)
    if job_dir and (job_dir / "STOP").exists():
        raise TrainingStopped("Stopped before training began; no model was saved.")

    start = time.time()
    # SwapEMAWeights first, so that the history sees the EMA weights' metrics.
    swap = [keras.callbacks.SwapEMAWeights()] if config.ema else []
    averager = weight_average(config.epochs - config.average_last) if config.average_last else None
    recorder = Recorder(data.x_test, data.y_test, latent_dim=config.latent_dim, steps_per_epoch=steps,
                        epochs=config.epochs, batch_size=config.batch_size,
                        live=job_dir / LIVE_FILE if job_dir else None) if replay else None
    vae.fit(x_train, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
            validation_data=(data.x_test, None), verbose=verbose,
            callbacks=[*swap, *([averager] if averager else []), job_files, nan_guard,
                       *([recorder.callback()] if recorder else [])])
    seconds = time.time() - start
    history = job_files.history
    if (job_files.non_finite or not history.get("loss") or not np.isfinite(history["loss"]).all()
            or not all(np.isfinite(w).all() for w in vae.get_weights())):
        raise TrainingFailed(
            "Training stopped with a NaN or infinite loss; the model was not saved. "
            "Try a smaller learning rate or beta."
        )
    if averager is not None and averager.count:
        averager.apply(vae)  # after fit: the EMA values are in the model by now and are replaced
    metrics = evaluate(vae, data.x_test, seed=0)
    z_mean, z_log_var = encode_all(vae.encoder, data.x_test)
    if recorder is not None:  # the replay ends on the model as saved: the map that reference.npz draws
        recorder.finish(vae, int(vae.optimizer.iterations), z_mean, z_log_var)
    epochs_done = len(history["loss"])
    stopped = job_files.stop_requested
    card = make_card(
        name=name or Path(out).name, training=config, n_train=len(x_train), source=data.origin,
        epochs=epochs_done, train_seconds=seconds, description=description, stopped_early=stopped,
        notes=(f"Stopped by request after {epochs_done} of {count(config.epochs, 'epoch')}." if stopped
               else ""),
    )
    # What the run did beyond its recipe: the recipe itself is the bundle's training_config.json.
    card["averaged_epochs"] = averager.count if averager is not None else 0
    if recorder is not None:
        card["replay_seconds"] = round(recorder.seconds, 1)  # of train_seconds, and the last snapshot's
    if decoder_source:
        card["decoder_from"] = decoder_source
    if data.labels:  # a prepared dataset's labels and name: the pages say them, not "digit" and a number
        card["labels"], card["dataset_title"] = list(data.labels), data.title
    if prepared.is_prepared_name(config.dataset):  # how its images were squared, so Encode squares alike
        card["fit"] = prepared.read_meta(config.dataset).get("fit", "crop")
    reference = {"z_mean": z_mean, "z_log_var": z_log_var, "labels": data.y_test.astype(np.int16)}
    path = save_bundle(vae, config, out, history=history, metrics=metrics, card=card, reference=reference,
                       sample_images=data.x_test[:64], replay=recorder.arrays() if recorder else None,
                       gallery=gallery(data))
    add_classifier_or_say_why(path, data=data, max_train=config.max_train)
    return path
