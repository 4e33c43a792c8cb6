"""Shared fixtures: a tiny trained bundle (made once per test session) and paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Tests never download: point the loaders at the data on this machine, if present.
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
if SHARED_MNIST.is_dir():
    os.environ.setdefault("VAE_DATA_DIR", str(SHARED_MNIST.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def train_tiny(out: Path, *flags: str) -> Path:
    """Train the default preset on 256 scikit-learn digits for 1 epoch through the CLI into `out`."""
    proc = subprocess.run(
        [sys.executable, "-m", "vae", "train", "--dataset", "digits", "--epochs", "1",
         "--max-train", "256", "--batch-size", "32", "--threads", "1", *flags, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A real bundle: the CLI trains the default preset on 256 scikit-learn digits for 1 epoch."""
    return train_tiny(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture(scope="session")
def tiny_1d_bundle(tmp_path_factory) -> Path:
    """The same with latent_dim 1 (the Train page and the CLI allow it): a latent space of one number."""
    return train_tiny(tmp_path_factory.mktemp("bundles") / "tiny1d", "--latent-dim", "1")


@pytest.fixture(scope="session")
def default_bundle() -> Path:
    """The shipped default model (committed in models/)."""
    from vae.bundles.bundle import DEFAULT_MODEL

    return DEFAULT_MODEL


def open_page(page: str, model_path: str | None = None):
    """Run app.py in AppTest (optionally on another model), switch to `page`, and check it ran cleanly."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    if model_path:
        at.session_state["model_path"] = model_path
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at
