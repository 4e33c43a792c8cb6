"""A class on one server (jobservice, its user_models): owners, limits, a fair queue, clean-up, no paths."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from jobservice import (
    JobSpec,
    LimitReached,
    Limits,
    LocalProcessRunner,
    NotYours,
    public_message,
    user_models,
)
from vae.bundles.bundle import (
    CARD_MD,
    DEFAULT_MODEL,
    MANIFEST,
    REQUIRED,
    WEIGHTS,
    BundleError,
    has_symlinks,
    is_bundle,
)

A, B_ = "v-alice", "v-bob"

SLEEPER = """#!{python}
# Stands in for `python -m vae train`: notes that it started, then trains "for ever" (until killed).
import pathlib, sys, time
args = sys.argv[1:]
pathlib.Path(args[args.index("--job-dir") + 1], "started").touch()
time.sleep(600)
"""


def spec(name: str = "", epochs: int = 1, dataset: str = "digits", **kw) -> JobSpec:
    return JobSpec(dataset=dataset, preset="default", latent_dim=2, beta=1.0, epochs=epochs, name=name, **kw)


@pytest.fixture()
def queued(tmp_path):
    """A runner that starts nothing (max_running=0): jobs stay queued, no process runs."""
    return LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0)


@pytest.fixture()
def sleeper(tmp_path):
    path = tmp_path / "sleeper"
    path.write_text(SLEEPER.format(python=sys.executable))
    path.chmod(0o755)
    yield str(path)
    for job in LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0).list():
        if job.pid and job.state in ("running", "stopping"):
            try:
                os.killpg(job.pid, 9)
            except ProcessLookupError:
                pass


def fake_bundle(folder: Path, owner: str | None, size: int = 0) -> Path:
    """Just enough of a bundle for listing and quotas (no real model)."""
    folder.mkdir(parents=True)
    for name in (*REQUIRED, MANIFEST):
        (folder / name).write_text("{}")
    if size:
        (folder / WEIGHTS).write_bytes(b"\0" * size)
    if owner:
        user_models.set_owner(folder, owner)
    return folder


# --- who may do what ---

def test_only_the_owner_sees_stops_and_removes_a_job(queued):
    a = queued.start(spec("mine"), owner=A)
    b = queued.start(spec("mine"), owner=B_)  # the same name and settings, by someone else: another job
    assert a != b
    assert [j.id for j in queued.list(A)] == [a] and [j.id for j in queued.list(B_)] == [b]
    assert {j.id for j in queued.list()} == {a, b}  # the operator sees all
    with pytest.raises(NotYours):
        queued.stop(a, owner=B_)
    with pytest.raises(NotYours):
        queued.delete(a, owner=B_)
    assert queued.status(a).state == "queued"
    queued.stop(a, owner=A)
    assert queued.status(a).state == "stopped"
    queued.delete(a, owner=A)
    assert [j.id for j in queued.list()] == [b]


def test_every_job_saves_to_a_folder_of_its_own(queued):
    outs = {queued.status(queued.start(spec(name), owner=who)).out
            for name, who in [("Same", A), ("Same", B_), ("ΩΩΩ", A), ("..", B_), ("-rf", A)]}
    assert len(outs) == 5
    assert all(o.parent == queued.models_dir.resolve() and not o.name.startswith(".") for o in outs)


def test_a_finished_bundle_gets_its_owner_and_only_the_owner_shares_or_deletes_it(tmp_path):
    bundle = fake_bundle(tmp_path / "models" / "m-123456", owner=None)
    assert user_models.visible(tmp_path / "models", A) == []  # nobody's: listed for nobody
    user_models.set_owner(bundle, A)
    assert [p for p, _ in user_models.visible(tmp_path / "models", A)] == [bundle]
    assert user_models.visible(tmp_path / "models", B_) == []
    with pytest.raises(NotYours):
        user_models.set_shared(bundle, B_, True)
    user_models.set_shared(bundle, A, True)
    assert [p for p, _ in user_models.visible(tmp_path / "models", B_)] == [bundle]
    with pytest.raises(NotYours):
        user_models.delete(bundle, B_)
    user_models.delete(bundle, A)
    assert not bundle.exists() and not list((tmp_path / "models").iterdir())


# --- limits ---

def test_per_visitor_and_queue_limits_refuse_with_a_clear_message(tmp_path):
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0,
                           limits=Limits(active_per_owner=3, queue=4))
    for i in range(3):
        r.start(spec(f"a{i}"), owner=A)
    with pytest.raises(LimitReached, match="You already have 3 jobs queued or running"):
        r.start(spec("a3"), owner=A)
    r.start(spec("b0"), owner=B_)
    with pytest.raises(LimitReached, match=r"The server's queue is full \(4 jobs"):
        r.start(spec("c0"), owner="v-carol")
    r.stop(r.list(A)[0].id, owner=A)  # a cancelled job frees its place
    r.start(spec("a3"), owner=A)


def test_a_job_too_large_is_refused(queued):
    with pytest.raises(LimitReached, match=r"500 epochs × 60,000 images = 30,000,000 image passes; the limit "
                                           r"is 3,000,000 \(about 50 epochs of MNIST\)"):
        queued.start(spec(epochs=500, dataset="mnist"), owner=A)
    queued.start(spec(epochs=500, dataset="digits"), owner=A)  # 500 × 1,437: small
    queued.start(spec(epochs=500, dataset="mnist", max_train=1000), owner=A)  # counted on what it uses


def test_storage_quota_in_models_and_bytes(tmp_path):
    models = tmp_path / "models"
    r = LocalProcessRunner(tmp_path / "jobs", models, max_running=0,
                           limits=Limits(models_per_owner=2, bytes_per_owner=10_000))
    fake_bundle(models / "one", A)
    r.start(spec("second"), owner=A)
    with pytest.raises(LimitReached, match="You have 1 saved model and 1 job under way; each visitor may "
                                           "keep 2. Delete a model on Home"):
        r.start(spec("third"), owner=A)
    fake_bundle(models / "big", B_, size=20_000)
    with pytest.raises(LimitReached, match="Your saved models take 0 MB; each visitor may keep 0 MB"):
        r.start(spec("more"), owner=B_)
    assert user_models.usage(models, B_).bytes >= 20_000


# --- the queue ---

def test_the_queue_is_fair_one_running_job_per_visitor(tmp_path, sleeper):
    jobs, models = tmp_path / "jobs", tmp_path / "models"
    hold = LocalProcessRunner(jobs, models, max_running=0)
    a1 = hold.start(spec("a1"), owner=A)
    time.sleep(0.01)
    a2 = hold.start(spec("a2"), owner=A)
    time.sleep(0.01)
    b1 = hold.start(spec("b1"), owner=B_)
    r = LocalProcessRunner(jobs, models, max_running=2, python=sleeper)
    r.reconcile()
    state = {j.id: j.state for j in r.list()}
    # Two slots: Alice's first job and Bob's, not Alice's two (though a2 was queued before b1).
    assert (state[a1], state[a2], state[b1]) == ("running", "queued", "running")
    assert r.status(a2).queue_position == 1


def test_the_queue_moves_when_a_job_ends_and_nobody_watches(tmp_path, sleeper):
    """What the keeper thread does every 2 s: reconcile() alone starts the next job."""
    from explorer import keeper

    jobs, models = tmp_path / "jobs", tmp_path / "models"
    r = LocalProcessRunner(jobs, models, max_running=1, python=sleeper)
    first = r.start(spec("first"), owner=A)
    second = r.start(spec("second"), owner=B_)
    assert r.status(second).state == "queued"
    os.killpg(r.status(first).pid, 9)  # the first job ends (here: it dies)
    deadline = time.time() + 30
    while not (jobs / second / "started").exists() and time.time() < deadline:
        keeper_runner = LocalProcessRunner(jobs, models, max_running=1, python=sleeper)
        keeper_runner.reconcile()
        time.sleep(0.2)
    assert (jobs / second / "started").exists()
    assert r.status(first).state == "failed" and r.status(second).state == "running"
    assert keeper.TICK_S <= 5


def test_old_finished_job_folders_are_removed_and_their_models_kept(queued, tmp_path):
    old, new, active = (queued.start(spec(n), owner=A) for n in ("old", "new", "active"))
    queued.stop(old, owner=A)
    queued.stop(new, owner=A)
    status = queued.root / old / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "finished": time.time() - 8 * 86400}))
    assert queued.clean_up(7) == [old]
    assert {j.id for j in queued.list()} == {new, active}
    assert queued.clean_up(0) == []  # 0 keeps everything


def test_idle_visitors_unshared_models_are_removed(tmp_path):
    models = tmp_path / "models"
    idle = fake_bundle(models / "idle", A)
    shared = fake_bundle(models / "shared", A)
    user_models.set_shared(shared, A, True)
    active = fake_bundle(models / "active", B_)
    ownerless = fake_bundle(models / "ownerless", None)
    user_models.touch_visitor(models, B_)
    later = time.time() + 31 * 86400
    user_models.touch_visitor(models, B_)
    os.utime(models / user_models.VISITORS / B_, (later, later))  # Bob came back a month later
    assert user_models.remove_idle(models, 30, now=later + 60) == [idle]
    assert shared.exists() and active.exists() and ownerless.exists()


def test_the_keepers_clean_up_removes_published_decoders_no_model_has(tmp_path, monkeypatch):
    """Its hourly round: a published decoder that is no model's any more goes (an idle visitor's model
    removed, a bundle deleted by hand); the shipped models' stay."""
    from explorer import keeper
    from live_decoder import model_id_of_file, publish_decoder
    from vae.bundles.bundle import DECODER_ONNX, DEFAULT_MODEL

    monkeypatch.setenv("VAE_HOME", str(tmp_path))
    monkeypatch.delenv("VAE_JOBS_DIR", raising=False)
    monkeypatch.delenv("VAE_USER_MODELS", raising=False)
    shipped = model_id_of_file(DEFAULT_MODEL / DECODER_ONNX)
    publish_decoder(b"a decoder", shipped)  # (named as the default's: what the name says is what counts)
    publish_decoder(b"another", "feedfacefeedface")
    folder = tmp_path / "decoders" / "models"
    hour_ago = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (hour_ago, hour_ago))
    assert keeper.tick(time.time(), last_clean=0.0) > 0
    assert sorted(p.name for p in folder.iterdir()) == [f"{shipped}.onnx.gz"]


# --- listing cost, and what a visitor reads ---

def test_a_finished_job_is_read_once_and_again_when_its_status_changes(queued):
    job_id = queued.start(spec("x"), owner=A)
    queued.stop(job_id, owner=A)
    assert queued.status(job_id).message == "Cancelled before it started."
    status = queued.root / job_id / "status.json"
    time.sleep(0.01)
    status.write_text(json.dumps({**json.loads(status.read_text()), "message": "Rewritten."}))
    os.utime(status, (time.time() + 5, time.time() + 5))
    assert queued.status(job_id).message == "Rewritten."


@pytest.mark.parametrize("text, shown", [
    ("Dataset 'mnist' is not available (no IDX files for it in /srv/data/mnist).",
     "Dataset 'mnist' is not available (no IDX files for it in …)."),
    ("Permission denied: '/home/svc/.keras/datasets'", "Permission denied: '…'"),
    ("see ~/secret/file", "see …"),
    ("epoch 3/10 at https://example.org/a/b", "epoch 3/10 at https://example.org/a/b"),
])
def test_messages_name_no_server_path(text, shown):
    assert public_message(text) == shown


def test_a_failed_download_reads_as_one_sentence(tmp_path):
    """A crashed job's `error:` line with Keras' URL and an errno (what a trainer printed before it said
    this itself) reaches the visitor as a sentence with neither."""
    from jobservice.state import crash_message

    log = tmp_path / "train.log"
    log.write_text("Traceback (most recent call last):\n  ...\nerror: Dataset 'mnist' is not available "
                   "(download failed: Exception: URL fetch failure on https://storage.googleapis.com/"
                   "tensorflow/tf-keras-datasets/mnist.npz: None -- [Errno -2] Name or service not known). "
                   "Pass --data-dir (or set VAE_DATA_DIR) to a folder holding the four IDX files.\n")
    shown = public_message(crash_message(log))
    assert shown == "MNIST is not on this server and could not be downloaded."
    assert public_message("OSError: [Errno 28] No space left on device") == "OSError: No space left on device"


def test_a_bundle_with_a_symlink_is_not_loaded(tmp_path):
    from explorer.models import served_model

    bundle = tmp_path / "linked"
    shutil.copytree(DEFAULT_MODEL, bundle)
    (bundle / CARD_MD).unlink()
    secret = tmp_path / "secret.txt"
    secret.write_text("the operator's private notes")
    (bundle / CARD_MD).symlink_to(secret)
    assert is_bundle(bundle) and has_symlinks(bundle)
    with pytest.raises(BundleError, match="symbolic links"):
        served_model(bundle)  # the app's loader: the card is never read
    assert not has_symlinks(DEFAULT_MODEL)
    assert has_symlinks(tmp_path / "alias") is False  # no such folder: nothing to follow
    (tmp_path / "alias").symlink_to(DEFAULT_MODEL)
    assert has_symlinks(tmp_path / "alias")


def test_threads_per_job_default_to_half_the_cores(monkeypatch, tmp_path):
    from jobservice import LocalProcessRunner

    def threads() -> int:
        return LocalProcessRunner(tmp_path / "jobs", tmp_path / "models").threads

    monkeypatch.delenv("VAE_TRAIN_THREADS", raising=False)
    assert threads() == max(1, (os.cpu_count() or 2) // 2)
    monkeypatch.setenv("VAE_TRAIN_THREADS", "3")
    assert threads() == 3
