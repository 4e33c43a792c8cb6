"""Configuration chooses the job runner (explorer.training.runner): local by default, Ray with VAE_RUNNER=ray,
and the web process imports Ray only once the runner talks to the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROBE = ("import sys; from explorer import training; r = training.runner(); "
         "print(type(r).__name__, getattr(r, 'address', '-'), 'ray' in sys.modules)")


def choose(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("VAE_RUNNER", "VAE_RAY_ADDRESS")}
    return subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**clean, **env})


def test_local_is_the_default_and_ray_is_chosen_by_configuration():
    assert choose().stdout.split() == ["LocalProcessRunner", "-", "False"]
    ray = choose(VAE_RUNNER="ray", VAE_RAY_ADDRESS="http://10.0.0.9:8265/")
    assert ray.stdout.split() == ["RayJobRunner", "http://10.0.0.9:8265", "False"], ray.stderr[-2000:]


def test_a_misconfigured_runner_says_what_is_wrong():
    assert "VAE_RAY_ADDRESS" in choose(VAE_RUNNER="ray").stderr
    assert "VAE_RUNNER must be 'local' or 'ray'" in choose(VAE_RUNNER="slurm").stderr
