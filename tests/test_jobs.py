"""Training jobs (jobservice): real `python -m vae train` processes on tiny data: run, stopped, killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from jobservice import FINISHED, JobNotFound, JobSpec, LocalProcessRunner, user_models
from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    DEFAULT_MODEL,
    HISTORY,
    REPO_ROOT,
    is_bundle,
    list_bundles,
    read_json,
    read_training_config,
)

# A shared, slow machine: a tiny job is mostly TensorFlow's import, which can take a minute or more.
TIMEOUT = 900


def tiny(name: str, epochs: int = 2, **kw) -> JobSpec:
    return JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=epochs,
                   batch_size=32, max_train=256, name=name, **kw)


def wait_for(runner, job_id, until, timeout=TIMEOUT, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = runner.status(job_id)
        if until(job):
            return job
        if job.state in FINISHED:
            pytest.fail(f"job ended {job.state} before {what}: {job.message}\n{runner.log_tail(job_id)}")
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}; job is {runner.status(job_id)}\n{runner.log_tail(job_id)}")


def copy_bundle(src: Path, dst: Path) -> None:
    """Copy a bundle, retrying if it is being replaced (atomically) by a retraining meanwhile."""
    for _ in range(3):
        try:
            shutil.copytree(src, dst)
            break
        except (OSError, shutil.Error):
            shutil.rmtree(dst, ignore_errors=True)
            time.sleep(1)
    assert is_bundle(dst)


OWNER = "v-alice"


def finished(job) -> bool:
    return job.state in FINISHED


@pytest.fixture()
def runner(tmp_path):
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", threads=1)
    yield r
    # Never leave a training behind: kill what is still running from this test's jobs folder.
    for job in r.list():
        if job.pid and job.state in ("running", "stopping"):
            try:
                os.killpg(job.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- specs, dedupe and the queue (no processes) ---

@pytest.mark.parametrize("bad, says", [
    (dict(latent_dim=0), "latent_dim must be between 1 and 64"),
    (dict(latent_dim=2.5), "latent_dim must be a whole number"),
    (dict(beta=-1.0), "beta must be between"),
    (dict(beta=float("nan")), "beta must be between"),
    (dict(epochs=0), "epochs must be between 1 and 500"),
    (dict(batch_size=10_000), "batch_size must be between"),
    (dict(learning_rate=2.0), "learning_rate must be between"),
    (dict(dataset="cifar"), "Unknown dataset 'cifar'"),
    (dict(preset="huge"), "Unknown preset 'huge'"),
    (dict(max_train=0), "max_train must be"),
    (dict(dropout=0.95), "dropout must be between 0.0 and 0.9"),
    (dict(ema="yes"), "ema must be true or false"),
    (dict(encoder="huge"), "Unknown encoder 'huge'"),
    (dict(preset="course", encoder="deep"), "course preset keeps the course's encoder"),
    (dict(name="x" * 81), "name must be at most 80"),
])
def test_bad_specs_say_what_is_wrong(bad, says):
    kw = dict(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=2)
    with pytest.raises(ValueError, match=says):
        JobSpec(**{**kw, **bad})


def test_same_spec_twice_is_one_job_and_queue_positions(tmp_path):
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0)  # nothing starts
    a = r.start(tiny("a"), owner=OWNER)
    assert r.start(tiny("a"), owner=OWNER) == a  # a double-click does not start a second job
    assert r.start(tiny("  a "), owner=OWNER) == a  # names are compared with spaces normalised
    b = r.start(tiny("b"), owner=OWNER)
    assert b != a
    assert (r.status(a).state, r.status(a).queue_position) == ("queued", 1)
    assert (r.status(b).state, r.status(b).queue_position) == ("queued", 2)
    assert [j.id for j in r.list()] == [b, a]  # newest first
    r.stop(a, owner=OWNER)
    job = r.status(a)
    assert job.state == "stopped" and "Cancelled" in job.message and job.bundle is None
    assert r.status(b).queue_position == 1
    assert r.start(tiny("a"), owner=OWNER) != a  # a finished job is not reused
    with pytest.raises(JobNotFound):
        r.status("no-such-job")
    spec = json.loads((r.root / b / "spec.json").read_text())
    assert JobSpec.from_dict(spec["spec"]) == tiny("b")
    assert Path(spec["out"]) == (tmp_path / "models" / f"b-{b.rsplit('-', 1)[1]}").resolve()
    assert spec["owner"] == OWNER


# --- real trainings ---

@pytest.mark.slow
def test_tiny_job_runs_to_done_and_saves_a_bundle(runner):
    # A name that starts with "-" once made the training command reject its own arguments.
    # dropout, EMA and the deep encoder: the shipped 2-D model's parts
    job_id = runner.start(tiny("-rf", dropout=0.2, ema=True, encoder="deep"), owner=OWNER)
    job = wait_for(runner, job_id, finished, what="the job to end")
    assert job.state == "done", f"{job.message}\n{runner.log_tail(job_id)}"
    assert job.bundle == (runner.models_dir / f"rf-{job_id.rsplit('-', 1)[1]}").resolve()
    access = user_models.access(job.bundle)
    assert (access.owner, access.shared) == (OWNER, False)  # the runner gave the model its owner
    assert runner.result(job_id) == job.bundle and is_bundle(job.bundle)
    card = read_json(job.bundle / CARD_JSON)
    assert card["name"] == "-rf" and card["epochs"] == 2 and not card["stopped_early"]
    assert card["dropout"] == 0.2 and card["encoder"] == "deep"
    assert read_training_config(job.bundle) == job.spec.config  # the job's recipe, through --config
    assert "weights averaged (EMA" in (job.bundle / CARD_MD).read_text()
    assert job.progress == 1.0 and job.epoch == 2 and job.epochs == 2
    assert job.started and job.finished and job.created <= job.started <= job.finished
    for key in ("loss", "reconstruction_loss", "kl_loss",
                "val_loss", "val_reconstruction_loss", "val_kl_loss"):
        assert len(job.history[key]) == 2, key
    assert {"spec.json", "training_config.json", "pid.json", "train.log", "progress.json", "history.json",
            "status.json"} <= {p.name for p in (runner.root / job_id).iterdir()}
    assert job.log_tail == ""  # only failed jobs carry their log tail


@pytest.mark.slow
def test_stop_keeps_the_model_so_far_and_the_queue_moves_on(runner):
    long_job = runner.start(tiny("long", epochs=500), owner=OWNER)
    queued = runner.start(tiny("next", epochs=500), owner=OWNER)
    job = runner.status(queued)
    assert (job.state, job.queue_position) == ("queued", 1)
    assert runner.status(long_job).state == "running"
    seen = len(wait_for(runner, long_job, lambda j: len(j.history.get("loss", [])) >= 1, what="one epoch")
               .history["loss"])
    runner.stop(long_job, owner=OWNER)
    assert runner.status(long_job).state in ("stopping", "stopped")
    job = wait_for(runner, long_job, finished, what="the stop")
    assert job.state == "stopped", job.message
    card = read_json(runner.result(long_job) / CARD_JSON)
    assert card["stopped_early"] and seen <= card["epochs"] <= seen + 2  # within the epoch under way
    assert len(read_json(job.bundle / HISTORY)["loss"]) == card["epochs"]
    # The queued job starts once the slot is free; stopping it (before or during training) ends it.
    wait_for(runner, queued, lambda j: j.state != "queued", timeout=60, what="the queued job to start")
    runner.stop(queued, owner=OWNER)
    job = wait_for(runner, queued, finished, what="the second stop")
    assert job.state == "stopped", job.message
    assert job.bundle is None or is_bundle(job.bundle)


@pytest.mark.slow
def test_killed_process_is_failed_and_the_previous_bundle_survives(runner):
    spec = tiny("victim", epochs=500)
    previous = runner.models_dir / "victim-earlier"
    copy_bundle(DEFAULT_MODEL, previous)  # an earlier model of the visitor's
    before = (previous / CARD_JSON).read_text()
    job_id = runner.start(spec, owner=OWNER)
    job = wait_for(runner, job_id, lambda j: j.step > 0, what="training to begin")
    os.killpg(job.pid, signal.SIGKILL)
    job = wait_for(runner, job_id, finished, timeout=60, what="the kill to be noticed")
    assert job.state == "failed" and "ended unexpectedly" in job.message
    assert job.bundle is None and runner.result(job_id) is None
    assert is_bundle(previous) and (previous / CARD_JSON).read_text() == before
    assert list_bundles(runner.models_dir) == [previous]  # nothing half-written shows up
    assert runner.status(job_id).state == "failed"  # recorded, not guessed again each time
    assert json.loads((runner.root / job_id / "status.json").read_text())["state"] == "failed"


@pytest.mark.slow
def test_missing_dataset_fails_with_the_cli_message(runner, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("VAE_DATA_DIR", str(empty))
    monkeypatch.setenv("KERAS_HOME", str(empty))
    # Make Keras' downloader fail fast and offline everywhere, even on a machine with internet.
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    job_id = runner.start(JobSpec(dataset="mnist", preset="default", latent_dim=2, beta=1.0, epochs=1),
                          owner=OWNER)
    job = wait_for(runner, job_id, finished, what="the job to fail")
    assert job.state == "failed"
    # One sentence: Keras' URL and the errno stay in the log, with what to do, for whoever runs the server.
    assert job.message == "MNIST is not on this server and could not be downloaded."
    assert "error: MNIST is not on this server" in job.log_tail and "VAE_DATA_DIR" in job.log_tail
    assert str(empty) not in job.message  # the path it looked in is the server's business
    assert not runner.models_dir.exists() or not list_bundles(runner.models_dir)


def test_a_process_that_cannot_run_is_failed_with_its_log(tmp_path):
    false = shutil.which("false") or "/bin/false"
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", python=false)
    job_id = r.start(tiny("broken"), owner=OWNER)
    deadline = time.time() + 60
    while r.status(job_id).state not in FINISHED and time.time() < deadline:
        time.sleep(0.2)
    job = r.status(job_id)
    # One sentence: no page shows the log, so the message sends no one to it.
    assert job.state == "failed" and job.message == "The training process ended unexpectedly."


def test_a_crashed_import_says_so_and_a_crash_names_the_clis_error(tmp_path):
    from jobservice.state import crash_message

    log = tmp_path / "train.log"
    log.write_text("Traceback (most recent call last):\n  ...\nKilled\n")
    assert crash_message(log, imported=True) == "The import process ended unexpectedly."
    assert crash_message(tmp_path / "no.log") == "The training process ended unexpectedly."
    log.write_text("loading\nerror: the decoder has no layers\n")
    assert crash_message(log, imported=True) == "the decoder has no layers"


def test_removing_a_folder_already_gone_is_done(tmp_path):
    """A job's folder or a model removed meanwhile (another replica's clean-up, its owner in another tab)
    once raised FileNotFoundError, whose text (a server path) the Class page showed."""
    from jobservice.state import remove_job_folder

    remove_job_folder(tmp_path / "jobs" / "gone")
    user_models.remove(tmp_path / "models" / "gone")
    assert not list(tmp_path.iterdir())


RECORDER = """#!{python}
# Stands in for `python -m vae train`: records its arguments and the config file it was given.
import json, pathlib, sys
args = sys.argv[1:]
config = json.loads(pathlib.Path(args[args.index("--config") + 1]).read_text())
pathlib.Path({record!r}).write_text(json.dumps({{"args": args, "config": config}}))
"""


def test_a_job_hands_the_trainer_one_config_file(tmp_path):
    from vae.model.training_config import TrainingConfig

    recorder = tmp_path / "recorder"
    recorder.write_text(RECORDER.format(python=sys.executable, record=str(tmp_path / "record.json")))
    recorder.chmod(0o755)
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", python=str(recorder), threads=2)
    spec = tiny("Recorded", dropout=0.2, ema=True, encoder="deep", learning_rate=3e-4)
    job_id = r.start(spec, owner=OWNER)
    deadline = time.time() + 60
    while not (tmp_path / "record.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    record = json.loads((tmp_path / "record.json").read_text())
    assert TrainingConfig.from_dict(record["config"]) == spec.config
    config_file = str((r.root / job_id / "training_config.json").resolve())
    assert record["args"] == ["-m", "vae", "train", "--config", config_file, "--name=Recorded",
                              "--threads", "2",
                              "--out", str((tmp_path / "models" / f"recorded-{job_id[-6:]}").resolve()),
                              "--job-dir", str((r.root / job_id).resolve())]


def test_job_folders_of_older_and_newer_runners_are_listed(tmp_path):
    """A folder written by the runner that passed 15 flags (its spec has no format_version) still lists;
    a newer runner's spec with a field this one does not know lists too; a foreign one is skipped."""
    root = tmp_path / "jobs"
    old = {"dataset": "digits", "preset": "default", "latent_dim": 2, "beta": 1.0, "epochs": 2,
           "batch_size": 32, "learning_rate": 0.001, "dropout": 0.0, "ema": False, "encoder": "wide",
           "name": "old", "max_train": 256}
    from vae.model.training_config import FORMAT_VERSION

    newer = {**old, "name": "newer", "format_version": FORMAT_VERSION + 1, "warp_drive": True}
    specs = {"1-old": old, "2-newer": newer,
             "3-foreign": {"recipe": "secret"}}
    for job_id, spec in specs.items():
        (root / job_id).mkdir(parents=True)
        (root / job_id / "spec.json").write_text(json.dumps({"spec": spec, "created": 1.0, "out": "/x"}))
        status = {"state": "done", "message": "ok", "bundle": None, "finished": 2.0}
        (root / job_id / "status.json").write_text(json.dumps(status))
    jobs = {j.id: j for j in LocalProcessRunner(root, tmp_path / "models", max_running=0).list()}
    assert set(jobs) == {"1-old", "2-newer"}
    assert jobs["1-old"].spec == tiny("old") and jobs["2-newer"].spec.name == "newer"


def test_runner_module_imports_neither_tensorflow_nor_streamlit():
    import subprocess

    code = ("import sys, jobservice; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'streamlit')]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_imports_file_names_are_plain_text_for_its_card(tmp_path):
    """The visitor's names for their files: recorded in the spec as plain text (the last path part, no
    Markdown or HTML, at most 80 characters) and handed to the import for its card, never as a path."""
    from jobservice import ImportSpec

    spec, uploads = ImportSpec.of_files("graph", [("C:\\fakepath\\kerasio_encoder.keras", b"e"),
                                                  ("../../x/`evil`<b>[y](z).keras", b"d")])
    assert spec.file_names == ("kerasio_encoder.keras", "_evil__b__y_(z).keras")
    [long] = ImportSpec.of_files("weights", [("a" * 200 + ".weights.h5", b"w")], preset="default",
                                 latent_dim=2)[0].file_names
    assert len(long) == 80 and long.endswith("a.weights.h5")
    runner = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0)
    command = runner._command(runner.status(runner.start(spec, owner=OWNER, uploads=uploads)))
    assert "--encoder-name=kerasio_encoder.keras" in command
    assert "--decoder-name=_evil__b__y_(z).keras" in command
    upload = Path(command[command.index("--job-dir") + 1]) / "upload"
    assert sorted(p.name for p in upload.iterdir()) == ["decoder.keras", "encoder.keras"]  # ours, not theirs
