"""The class server's budgets (issue 25's probe): the whole queue in image passes, the server's disk, quotas
checked again when a job ends, a refused import's uploads gone at once; a teacher's pause; usage per owner."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from jobservice import ImportSpec, JobSpec, LimitReached, Limits, LocalProcessRunner, user_models
from jobservice.disk import folder_bytes
from jobservice.pause import set_paused
from jobservice.usage import by_owner, total
from vae.bundles.bundle import DEFAULT_MODEL, write_json

STUDENTS = [f"u-student{i:02d}" for i in range(10)]  # signed-in owner ids (explorer.visitors: "u-" + hash)


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    """Each test's own VAE_HOME: the disk budget counts $VAE_HOME/datasets, where other tests of the session
    (own images, colour models) leave theirs."""
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))


def mnist(name: str, epochs: int = 50) -> JobSpec:
    return JobSpec(dataset="mnist", preset="default", latent_dim=2, beta=1.0, epochs=epochs, name=name)


def runner(tmp_path: Path, **limits) -> LocalProcessRunner:
    return LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0,
                              limits=Limits(**limits) if limits else Limits())


def finished_with_bundle(r: LocalProcessRunner, owner: str, name: str) -> str:
    """A job that ended as its trainer ends one: its bundle saved where the runner said (nobody's yet), then
    status.json "done"."""
    job_id = r.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1, name=name),
                     owner=owner)
    out = r.status(job_id).out
    shutil.copytree(DEFAULT_MODEL, out, copy_function=os.link)
    (out / user_models.ACCESS).unlink(missing_ok=True)
    write_json(r.root / job_id / "pid.json", {"pid": 0, "started": time.time() - 3600, "threads": 2})
    write_json(r.root / job_id / "status.json", {"state": "done", "bundle": str(out), "message": "Trained.",
                                                 "finished": time.time()})
    return job_id


def test_ten_students_cannot_queue_sixty_cpu_hours(tmp_path):
    """The probe: ten visitors × 3 MNIST jobs of 50 epochs were all accepted, about 60 CPU-hours of queue.
    Now the whole queue has a budget in image passes (18 M by default, about 12 CPU-hours)."""
    r = runner(tmp_path)
    accepted, refusals = 0, []
    for student in STUDENTS:
        for i in range(3):
            try:
                r.start(mnist(f"{student} {i}"), owner=student)
                accepted += 1
            except LimitReached as exc:
                refusals.append(str(exc))
    assert accepted == 6  # 6 × 3,000,000 image passes fill the 18,000,000 budget
    assert refusals[0] == (
        "The server's queue already holds 18,000,000 image passes of training (about 12 CPU-hours), and this "
        "job's 3,000,000 would take it over its budget of 18,000,000 (about 12 CPU-hours). Try fewer epochs, "
        "or again when some jobs have finished.")
    r.stop(r.list(STUDENTS[0])[0].id, owner=STUDENTS[0])  # a cancelled job gives its share back
    r.start(mnist("smaller", epochs=40), owner=STUDENTS[9])


def test_the_servers_disk_budget_refuses_a_job_and_its_uploads(tmp_path):
    r = runner(tmp_path, disk_budget=3 * 2**20)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "junk").write_bytes(bytes(2 * 2**20))
    spec, uploads = ImportSpec.of_files("graph", [("e.keras", bytes(600_000)), ("d.keras", bytes(600_000))])
    with pytest.raises(LimitReached, match=r"This server's disk budget for jobs and models \(3 MB\) is used "
                                           r"up: it holds 2 MB\. Ask your teacher to make room"):
        r.start(spec, owner=STUDENTS[0], uploads=uploads)
    assert not list((tmp_path / "jobs").glob("*/spec.json"))  # no job, no uploads kept


def test_the_budget_counts_the_published_decoders(tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    (published / "abc.onnx.gz").write_bytes(bytes(2 * 2**20))
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=0,
                           limits=Limits(disk_budget=2**20), counted_dirs=[published])
    assert r.disk_use().published == 2 * 2**20
    with pytest.raises(LimitReached, match="disk budget"):
        r.start(mnist("x", epochs=1), owner=STUDENTS[0])


def test_quotas_are_checked_again_when_a_job_ends(tmp_path):
    """Three jobs accepted at once, each within the quota when it was queued: the model that would take its
    owner over the quota when it ends is not kept, and the job says why."""
    size = folder_bytes(DEFAULT_MODEL)
    r = runner(tmp_path, bytes_per_owner=int(2.5 * size))
    jobs = [finished_with_bundle(r, STUDENTS[0], f"m{i}") for i in range(3)]
    r.reconcile()
    states = [r.status(j) for j in jobs]
    assert sorted(s.state for s in states) == ["done", "done", "refused"]
    refused = next(s for s in states if s.state == "refused")
    assert refused.message.startswith("The model was not kept: it takes ")
    assert "each visitor may keep. Delete a model on Home, then try again." in refused.message
    assert refused.bundle is None and not r.status(refused.id).out.exists()
    assert user_models.usage(tmp_path / "models", STUDENTS[0]).models == 2


def test_a_model_over_the_servers_budget_at_its_end_is_not_kept(tmp_path):
    r = runner(tmp_path)
    job = finished_with_bundle(r, STUDENTS[1], "late")  # accepted; the server filled up meanwhile
    r.limits = Limits(disk_budget=folder_bytes(DEFAULT_MODEL) // 2)
    r.reconcile()
    status = r.status(job)
    assert status.state == "refused" and "this server's disk budget for jobs and models" in status.message


def test_a_refused_imports_uploads_are_deleted_at_once(tmp_path):
    r = runner(tmp_path)
    spec, uploads = ImportSpec.of_files("graph", [("e.keras", b"e" * 1000), ("d.keras", b"d" * 1000)])
    job = r.start(spec, owner=STUDENTS[0], uploads=uploads)
    assert (r.root / job / "upload" / "encoder.keras").is_file()
    write_json(r.root / job / "status.json", {"state": "refused", "bundle": None, "finished": time.time(),
                                              "message": "e.keras: not a .keras archive."})
    r.reconcile()
    assert not (r.root / job / "upload").exists()
    assert r.status(job).state == "refused"


def test_a_paused_queue_starts_nothing_until_it_is_resumed(tmp_path, monkeypatch):
    r = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=2)
    started = []
    monkeypatch.setattr(r, "_launch", lambda job: started.append(job.id))
    set_paused(r.root, True, by="u-teacher")
    job = r.start(mnist("waits", epochs=1), owner=STUDENTS[0])
    r.reconcile()
    assert started == [] and r.status(job).state == "queued"
    assert r.paused()["by"] == "u-teacher"
    set_paused(r.root, False)
    r.reconcile()
    assert started == [job] and r.paused() is None


def test_usage_per_owner_from_the_jobs_folders(tmp_path):
    r = runner(tmp_path)
    r.start(mnist("queued", epochs=10), owner=STUDENTS[0])  # 600,000 image passes at 2.4 ms: 0.4 CPU-hours
    done = finished_with_bundle(r, STUDENTS[1], "done")  # an hour on 2 threads: 2 CPU-hours
    r.reconcile()
    use = by_owner(r.list(), r.root, r.models_dir)
    assert use[STUDENTS[0]].active == 1 and use[STUDENTS[0]].queued_cpu_s == pytest.approx(1440)
    assert use[STUDENTS[1]].finished == 1 and use[STUDENTS[1]].spent_cpu_s == pytest.approx(7200, rel=0.01)
    assert use[STUDENTS[1]].models == 1
    assert use[STUDENTS[1]].model_bytes == folder_bytes(r.status(done).bundle)
    whole = total(use)
    assert whole.active == 1 and whole.finished == 1 and whole.disk_bytes >= use[STUDENTS[1]].model_bytes
    assert json.loads((r.root / done / "pid.json").read_text())["threads"] == 2


def test_a_teacher_publishes_a_students_model_and_the_student_cannot_withdraw_it(tmp_path):
    r = runner(tmp_path)
    job = finished_with_bundle(r, STUDENTS[0], "good one")
    r.reconcile()
    bundle = r.status(job).bundle
    user_models.set_published(bundle, True)
    assert [p for p, _ in user_models.visible(tmp_path / "models", STUDENTS[1])] == [bundle]
    with pytest.raises(user_models.NotYours, match="Your teacher published this model"):
        user_models.set_shared(bundle, STUDENTS[0], False)
    user_models.set_published(bundle, False)
    assert user_models.visible(tmp_path / "models", STUDENTS[1]) == []
    assert user_models.access(bundle).owner == STUDENTS[0]
