"""The replay player (explorer.replay_figure, the Latent map's "Watch it learn"): frames, traces, the page."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.replay_figure import RING_SAMPLE, map_range, project, replay_figure


def synthetic_replay(frames: int = 12, n: int = 200, d: int = 2) -> dict:
    """Clouds that start piled at the origin with z_std 1 and end apart with z_std 0.1, label by label."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), n // 10).astype(np.int16)
    centres = rng.normal(0, 2, (10, d))
    t = np.linspace(0, 1, frames)[:, None, None]
    z_mean = t * (centres[labels] + 0.2 * rng.normal(size=(n, d)))
    z_log_var = np.broadcast_to(t * 2 * np.log(0.1), (frames, n, d))
    step = np.concatenate([[0], np.geomspace(1, 1000, frames - 1).round()]).astype(np.int64)
    loss = np.linspace(550, 150, frames)
    return {"step": step, "epoch": step / 100, "indices": np.arange(n), "labels": labels,
            "z_mean": z_mean.astype(np.float16), "z_log_var": z_log_var.astype(np.float16),
            "loss": loss, "reconstruction_loss": loss - 5, "kl_loss": np.full(frames, 5.0),
            "grid_shape": np.array([5, 5]),
            "grid_decodes": rng.integers(0, 255, (frames, 25, 28, 28)).astype(np.uint8)}


def test_every_snapshot_is_a_frame_that_moves_the_map():
    replay = synthetic_replay()
    fig = replay_figure(replay, [str(i) for i in range(10)], follow=5)
    assert len(fig.frames) == 12 and [f.name for f in fig.frames] == [str(k) for k in range(12)]
    assert len(fig.layout.sliders[0].steps) == 12
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "Pause"]
    first, last = fig.frames[0].data, fig.frames[-1].data
    # Trace 0 is label 0's points: piled at the origin in frame 0, apart at the end.
    assert np.abs(np.asarray(first[0].x, float)).max() < 1e-3
    assert np.abs(np.asarray(last[0].x, float) - replay["z_mean"][-1, :20, 0]).max() < 1e-2
    # The rings (trace 10): radius 1 at the start (z_std = 1, the prior's), 0.1 at the end.
    for frame, radius in ((first, 1.0), (last, 0.1)):
        x = np.asarray(frame[10].x, float).reshape(-1, 13)[:, :12]
        assert np.median(x.max(1) - x.min(1)) / 2 == pytest.approx(radius, rel=0.05)
        assert len(x) == min(RING_SAMPLE, 200)
    # The followed digit's path grows one point a frame; the loss cursor walks the steps.
    assert len(first[11].x) == 1 + 1 + 13 and len(last[11].x) == 12 + 1 + 13
    cursors = [f.data[13].x[0] for f in fig.frames]
    assert cursors[0] == 0.5 and cursors[-1] == 1000  # step 0 sits at the log axis' left edge
    # Every frame carries its decoded grid: a layout image, which Plotly redraws in step while playing.
    pictures = [f.layout.images[0].source for f in fig.frames]
    assert all(p.startswith("data:image/png;base64,") for p in pictures) and len(set(pictures)) == 12
    assert fig.layout.images[0].source == pictures[0]
    assert {f.layout.images[0].xref for f in fig.frames} == {"x3 domain"}  # the bottom-right subplot
    assert not [t for t in fig.data if t.type == "image"]


def test_the_map_holds_every_frame_in_one_fixed_range():
    """One range for the whole replay, holding every point of every frame and the followed digit's ring:
    a digit that ends far out (here at z0 = 9 and z1 = -7) stays in view."""
    replay = synthetic_replay()
    z_mean = replay["z_mean"].astype(np.float32)
    z_mean[-1, 5] = (9.0, -7.0)  # the followed digit, in the last frame only
    z_mean[6:, 33] = (-6.0, 5.0)  # another, from the middle on
    replay["z_mean"] = z_mean.astype(np.float16)
    fig = replay_figure(replay, follow=5)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    for frame in fig.frames:  # every point, ring and path in every frame
        for trace in frame.data[:13]:
            x, y = (np.asarray(v, float) for v in (trace.x, trace.y))
            assert np.nanmin(x) >= x0 and np.nanmax(x) <= x1 and np.nanmin(y) >= y0 and np.nanmax(y) <= y1
    assert x1 < 9.0 + 0.1 * (x1 - x0) and y0 > -7.0 - 0.1 * (y1 - y0)  # and not much wider than that
    assert all(f.layout.xaxis.range is None and f.layout.yaxis.range is None for f in fig.frames)
    # Before training every digit sits within the prior's ±1.5, which the range always holds.
    assert map_range(np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), None, np.arange(3))[0][1] >= 1.5


def test_above_two_dimensions_the_frames_share_one_plane():
    replay = synthetic_replay(d=16)
    xy, std, titles = project(replay)
    assert xy.shape == (12, 200, 2) and std.shape == (12, 200, 2)
    assert titles[0].startswith("PC 1")
    assert np.abs(xy[0]).max() < 1e-2  # piled at the origin before training, on the last frame's plane
    assert std[0] == pytest.approx(1.0, rel=0.01)  # a unit sphere stays unit along any unit axis


def test_the_latent_map_plays_a_trained_models_replay(tiny_bundle):
    from tests.support.pages import open_page

    at = open_page("pages/latent_map.py", str(tiny_bundle))
    assert "Watch it learn" in [h.value for h in at.subheader]
    assert not [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]  # until asked
    at.toggle(key="replay_on").set_value(True).run()
    [chart] = [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]
    spec = json.loads(chart.proto.spec)
    replay = np.load(tiny_bundle / "replay.npz")
    assert len(spec["frames"]) == len(replay["step"]) >= 5  # every step of the 8-step tiny run
    follow = at.selectbox(key="replay_follow")
    assert follow.value is not None and "of the test split" in follow.format_func(follow.value)
    # Untrained, its z_std is the prior's, about 1.
    assert any(re.search(r"The followed .* mean z_std from (0\.9\d|1\.0\d) to", c.value) for c in at.caption)


def test_a_model_without_a_replay_says_how_to_get_one(tiny_bundle, tmp_path):
    import os
    import shutil

    from explorer.sections.replay import NO_REPLAY
    from tests.support.pages import open_page

    bundle = tmp_path / "no-replay"
    shutil.copytree(tiny_bundle, bundle, copy_function=os.link)
    (bundle / "replay.npz").unlink()
    at = open_page("pages/latent_map.py", str(bundle))
    assert NO_REPLAY in [i.value for i in at.info]
    assert not [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]


SLEEPER = """#!{python}
# Stands in for a running `python -m vae train`: its replay so far is in its job folder; it trains on.
import shutil, sys, time
args = sys.argv[1:]
shutil.copy({replay!r}, args[args.index("--job-dir") + 1] + "/replay.npz")
time.sleep(300)
"""


def test_a_running_job_plays_its_replay_so_far_on_the_train_page(tiny_bundle, tmp_path, monkeypatch):
    """The trainer rewrites <job folder>/replay.npz as it goes; the Train page plays it behind a toggle."""
    import os
    import signal
    import time

    from streamlit.testing.v1 import AppTest

    from explorer.visitors import TOKEN_KEY, owner_of_token
    from jobservice import JobSpec, LocalProcessRunner

    jobs, user_models = tmp_path / "jobs", tmp_path / "models"
    monkeypatch.setenv("VAE_JOBS_DIR", str(jobs))
    monkeypatch.setenv("VAE_USER_MODELS", str(user_models))
    fake = tmp_path / "fake-trainer"
    fake.write_text(SLEEPER.format(python=sys.executable, replay=str(tiny_bundle / "replay.npz")))
    fake.chmod(0o755)
    runner = LocalProcessRunner(jobs, user_models, python=str(fake))
    job_id = runner.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1),
                          owner=owner_of_token("live-token-0123456789"))
    try:
        deadline = time.time() + 60
        while not (jobs / job_id / "replay.npz").exists() and time.time() < deadline:
            time.sleep(0.2)
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=200)
        at.session_state[TOKEN_KEY] = "live-token-0123456789"
        at.run()
        at.switch_page("pages/train.py").run()
        assert not [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]  # until asked
        at.toggle(key=f"live-{job_id}").set_value(True).run()
        [chart] = [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]
        assert len(json.loads(chart.proto.spec)["frames"]) == len(np.load(tiny_bundle / "replay.npz")["step"])
    finally:
        os.killpg(runner.status(job_id).pid, signal.SIGKILL)


def test_the_trainer_writes_the_replay_so_far_into_its_job_folder(tmp_path):
    from tests.support.bundles import train_tiny

    bundle = train_tiny(tmp_path / "m", "--job-dir", str(tmp_path / "job"))
    live = np.load(tmp_path / "job" / "replay.npz")
    final = np.load(bundle / "replay.npz")
    assert live["step"][0] == 0 and set(live["step"]) <= set(final["step"])
    assert live["z_mean"].shape[1:] == final["z_mean"].shape[1:]
