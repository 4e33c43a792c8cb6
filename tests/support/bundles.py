"""Bundles for tests: a tiny one trained through the CLI on scikit-learn's digits (offline, seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def train_tiny(out: Path, *flags: str) -> Path:
    """Train the default preset on 256 scikit-learn digits for 1 epoch through the CLI into `out`."""
    proc = subprocess.run(
        [sys.executable, "-m", "vae", "train", "--dataset", "digits", "--epochs", "1",
         "--max-train", "256", "--batch-size", "32", "--threads", "1", *flags, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out
