"""Training on a real local Ray head: the RayJobRunner (owners, a stop mid-run, a visitor's name that is no
shell code) and the CLI contract (`python -m vae train … --runner ray`: progress, exit 0 with a complete
bundle, or the job's error in one line). Marked `ray`: skip them with `-m "not ray"`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobservice import JobSpec, NotYours
from scripts.ray_head import RayHead
from vae.bundles.bundle import is_bundle

pytest.importorskip("ray.job_submission", reason="pip install -r requirements-ray.txt")
pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
TINY = {"dataset": "digits", "epochs": 1, "max_train": 256, "batch_size": 32}


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory):
    """A Ray head with 2 CPUs on free ports, shut down (its own processes, by id) even when a test fails."""
    head = RayHead(num_cpus=2, log_path=REPO / "test-output" / "ray_head.log")
    try:
        yield head.start()
    finally:
        head.stop()


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_runner_trains_and_stops_on_ray(ray_address, tmp_path):
    from ray.job_submission import JobSubmissionClient

    from jobservice.ray_runner import PREFIX, RayJobRunner

    runner = RayJobRunner(ray_address, root=tmp_path / "jobs", models_dir=tmp_path / "models", threads=1,
                          python=sys.executable, memory_mb=256, max_running=4)
    marker = Path(f"/tmp/le-pwned-{secrets.token_hex(3)}")
    name = f"tiny $(touch {marker}) '; touch {marker} #"
    tiny = runner.start(JobSpec(**TINY, name=name), owner="alice")
    # Long enough to be stopped mid-run (200 epochs of 256 images).
    long = runner.start(JobSpec(**{**TINY, "epochs": 200}, name="long"), owner="bob")

    client = JobSubmissionClient(ray_address)
    ids = {j.submission_id for j in client.list_jobs()}
    assert {PREFIX + tiny, PREFIX + long} <= ids
    assert client.get_job_info(PREFIX + long).metadata == {"app": "latent-explorer", "job": long}

    # The long job reports progress through the shared job folder; only its owner may stop it.
    wait_for(lambda: runner.status(long).step > 0 or runner.status(long).epoch > 0, 180, "progress")
    assert runner.status(long).state == "running"
    with pytest.raises(NotYours):
        runner.stop(long, owner="alice")
    runner.stop(long, owner="bob")
    assert runner.status(long).state == "stopping"

    done = wait_for(lambda: (s := runner.status(tiny)).state not in ("queued", "running") and s, 300, "tiny")
    assert done.state == "done", runner.log_tail(tiny)
    assert runner.result(tiny) is not None and is_bundle(done.bundle)
    assert json.loads((done.bundle / "card.json").read_text())["name"] == name  # a name, not shell code
    assert not marker.exists()

    stopped = wait_for(lambda: (s := runner.status(long)).state not in ("running", "stopping") and s, 300,
                       "the stopped job")
    assert stopped.state == "stopped", runner.log_tail(long)
    assert 0 < stopped.epoch < 200
    # The trainer honoured STOP, saved, and exited 0; its log is Ray's.
    wait_for(lambda: client.get_job_status(PREFIX + long).value == "SUCCEEDED", 60, "Ray's status")
    assert "Stopped by request" in runner.log_tail(long)


def run_cli(ray_address: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VAE_JOBS_DIR": str(tmp_path / "jobs"), "VAE_RAY_PYTHON": sys.executable}
    return subprocess.run(
        [sys.executable, "-m", "vae", "train", "--dataset", "digits", "--epochs", "1", "--max-train", "256",
         "--batch-size", "32", "--threads", "1", "--runner", "ray", "--ray-address", ray_address, *flags],
        cwd=REPO, capture_output=True, text=True, timeout=400, env=env)


def test_cli_trains_on_ray(ray_address, tmp_path):
    from ray.job_submission import JobSubmissionClient

    out = tmp_path / "models" / "cli-tiny"
    proc = run_cli(ray_address, tmp_path, "--name", "cli tiny", "--no-replay", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert is_bundle(out)
    assert "epoch 1/1" in proc.stdout and f"The bundle is complete at {out}" in proc.stdout
    assert not (out / "replay.npz").exists()  # the trainer's own flags reach it
    [job] = [j for j in JobSubmissionClient(ray_address).list_jobs() if str(out) in j.entrypoint]
    assert job.status.value == "SUCCEEDED"


def test_cli_reports_the_jobs_error_in_one_line(ray_address, tmp_path):
    (tmp_path / "not-a-bundle").mkdir()
    proc = run_cli(ray_address, tmp_path, "--decoder-from", str(tmp_path / "not-a-bundle"),
                   "--out", str(tmp_path / "models" / "never"))
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "not a model bundle" in last, proc.stderr[-2000:]
    assert not (tmp_path / "models" / "never").exists()
