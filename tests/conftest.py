"""Shared fixtures: tiny trained bundles (made once per test session), the shipped default, scratch jobs and
models folders. Helpers with public names live in tests/support/."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Tests never download: point the loaders at the data on this machine, if present.
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
if SHARED_MNIST.is_dir():
    os.environ.setdefault("VAE_DATA_DIR", str(SHARED_MNIST.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The runtime data of every app the tests run (jobs, visitors' models, published decoders, caches) goes to a
# scratch $VAE_HOME, never to the tester's own; the app servers the browser tests start inherit it.
_HOME = tempfile.TemporaryDirectory(prefix="latent-explorer-tests-")
os.environ["VAE_HOME"] = _HOME.name
for _moved in ("VAE_JOBS_DIR", "VAE_USER_MODELS"):  # a tester's own folders are not the tests'
    os.environ.pop(_moved, None)

from tests.support.bundles import train_tiny  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A real bundle: the CLI trains the default preset on 256 scikit-learn digits for 1 epoch."""
    return train_tiny(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture(scope="session")
def tiny_1d_bundle(tmp_path_factory) -> Path:
    """The same with latent_dim 1 (the Train page and the CLI allow it): a latent space of one number."""
    return train_tiny(tmp_path_factory.mktemp("bundles") / "tiny1d", "--latent-dim", "1")


@pytest.fixture(scope="session")
def colour_bundle(tmp_path_factory) -> Path:
    """A real colour bundle: the colour preset trained through the CLI for 1 epoch on 256 coloured shapes at
    32x32x3 that the tests drew (a prepared dataset, own/shapes32)."""
    from tests.support.colour import make_shapes_dataset, train_colour

    dataset = make_shapes_dataset("shapes32", 32, n_train=256, n_test=64)
    # 16 steps at a higher learning rate: enough for its decodes to take the shapes' colours (not grey).
    return train_colour(tmp_path_factory.mktemp("bundles") / "colour32", dataset, "--batch-size", "16",
                        "--learning-rate", "0.003")


@pytest.fixture(scope="session")
def default_bundle() -> Path:
    """The shipped default model (committed in models/)."""
    from vae.bundles.bundle import DEFAULT_MODEL

    return DEFAULT_MODEL


@pytest.fixture()
def no_reference_bundle(tmp_path) -> Path:
    """The shipped 2-D bundle without its reference encodings (copied: bundles with symlinks are refused)."""
    import shutil

    src = REPO / "models" / "mnist-2d"
    dst = tmp_path / "no-ref"
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "reference.npz":
            shutil.copy(f, dst / f.name)
    return dst


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """Jobs and user models in temporary folders, for the runner and for the app alike (settings reads them
    when asked)."""
    jobs, models = tmp_path / "jobs", tmp_path / "models"
    monkeypatch.setenv("VAE_JOBS_DIR", str(jobs))
    monkeypatch.setenv("VAE_USER_MODELS", str(models))
    yield jobs, models
    from jobservice import LocalProcessRunner

    for job in LocalProcessRunner(jobs, models, max_running=0).list():
        if job.pid and job.state in ("running", "stopping"):
            try:
                os.killpg(job.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture()
def server(tmp_path, monkeypatch):
    """This test's jobs and visitors' models folders, for the runner and the app alike; nothing trains."""
    from explorer import models as app_models  # (imported here, after the environment above is set)
    from jobservice import LocalProcessRunner

    jobs, models = tmp_path / "jobs", tmp_path / "models"
    monkeypatch.setenv("VAE_JOBS_DIR", str(jobs))
    monkeypatch.setenv("VAE_USER_MODELS", str(models))
    monkeypatch.setenv("VAE_MAX_JOBS", "0")  # jobs stay queued: no process runs
    app_models.forget_models()
    return LocalProcessRunner(jobs, models, max_running=0)
