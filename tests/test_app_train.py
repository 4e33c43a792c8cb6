"""The Train page (Streamlit AppTest): the form, a failed job's message, and a job started from the page."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from jobservice import FINISHED, JobSpec, LocalProcessRunner
from tests.support.fake_jobs import FAKE_TRAINER
from tests.support.visitors import owner, train_page
from vae.bundles.bundle import DEFAULT_MODEL, SHIPPED_DIR, is_bundle, write_json

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_train_page_shows_the_form(dirs):
    at = train_page()
    assert [b.label for b in at.button] == ["Start training", "Prepare the dataset"]  # (own images: below)
    # The EMA toggle sits in a third of the form (a quarter cut its label short in a 1400 px window).
    ema = next(t for t in at.toggle if t.label.startswith("Average the weights"))
    assert ema.label == "Average the weights (EMA)"
    assert {s.label for s in at.selectbox} >= {"Dataset", "Architecture preset", "Batch size"}
    # Every dataset is offered; those this server lacks are marked (see test_without_data_…).
    assert [o.split(" (")[0] for o in at.selectbox[0].options] == ["mnist", "fashion_mnist", "digits"]
    assert any("survives" in c.value or "close the tab" in c.value for c in at.caption)
    assert "No training jobs yet." in [i.value for i in at.info]


def test_enter_in_a_field_of_the_form_never_starts_a_job(dirs):
    """Pressing Enter in the Epochs box submitted the form (Streamlit's default): only the button does."""
    at = train_page()
    assert [form.proto.form.enter_to_submit for form in at.get("form")] == [False, False]  # (and own images')


def test_failed_job_shows_its_message_and_no_log(dirs, tmp_path):
    jobs, models = dirs
    fake = tmp_path / "fake-python"  # stands in for a trainer that fails with the CLI's one-line error
    fake.write_text("#!/bin/sh\necho 'Traceback in /srv/secret/vae/train.py'\n"
                    "echo \"error: Dataset 'mnist' is not available (no IDX files in /srv/data/x).\" >&2\n"
                    "exit 2\n")
    fake.chmod(0o755)
    broken = LocalProcessRunner(jobs, models, python=str(fake))
    job_id = broken.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1),
                          owner=owner())
    deadline = time.time() + 60
    while broken.status(job_id).state not in FINISHED and time.time() < deadline:
        time.sleep(0.2)
    at = train_page()
    # The CLI's one line, its server path hidden; the traceback stays in the server's log.
    assert [e.value for e in at.error] == ["Dataset 'mnist' is not available (no IDX files in …)."]
    assert not at.code and not any("log" in x.label for x in at.expander)
    assert "/srv/" not in str([e.value for e in [*at.markdown, *at.caption, *at.error, *at.info]])
    # The visitor cannot fix a missing dataset; the page says who can, and how.
    assert any("VAE_DATA_DIR=" in i.value and "streamlit run app.py" in i.value for i in at.info)


def test_start_from_the_form_queues_once_and_cancel(dirs, monkeypatch):
    jobs, models = dirs
    monkeypatch.setenv("VAE_MAX_JOBS", "0")  # nothing starts: the job stays queued, no process is run
    at = train_page()
    at.selectbox[0].select("digits")
    at.number_input[2].set_value(3)  # epochs
    at.text_input[0].input("From the page")
    next(s for s in at.selectbox if s.label.startswith("Encoder")).select("deep")
    at.button[0].click().run()
    assert not at.exception, at.exception
    at.button[0].click().run()  # a second click on Start: the same job, not a second one
    runner = LocalProcessRunner(jobs, models, max_running=0)
    [job] = runner.list()
    assert job.spec == JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=3,
                               encoder="deep", name="From the page")
    assert job.owner == owner()
    assert "deep encoder" in " ".join(m.value for m in at.markdown)
    assert job.out == (models / f"from-the-page-{job.id[-6:]}").resolve()
    assert "Queued: position 1" in " ".join(i.value for i in at.info)
    cancel = [b for b in at.button if b.label == "Cancel"]
    assert cancel, [b.label for b in at.button]
    cancel[0].click().run()
    assert not at.exception, at.exception
    assert runner.status(job.id).state == "stopped"
    assert "Cancelled before it started." in [w.value for w in at.warning]


def test_finished_job_offers_its_model(dirs, tmp_path):
    jobs, models = dirs
    ready = tmp_path / "ready"
    for attempt in range(3):  # the shipped bundle is replaced atomically when it is retrained: retry a copy
        try:
            shutil.copytree(DEFAULT_MODEL, ready)
            break
        except (OSError, shutil.Error):
            shutil.rmtree(ready, ignore_errors=True)
            time.sleep(1)
    assert is_bundle(ready)
    fake = tmp_path / "fake-trainer"
    fake.write_text(FAKE_TRAINER.format(python=sys.executable, bundle=str(ready)))
    fake.chmod(0o755)
    runner = LocalProcessRunner(jobs, models, python=str(fake))
    job_id = runner.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1,
                                  name="Mine"), owner=owner())
    deadline = time.time() + 120
    while (job := runner.status(job_id)).state not in FINISHED and time.time() < deadline:
        time.sleep(0.5)
    assert job.state == "done", f"{job.message}\n{runner.log_tail(job_id)}"
    assert job.bundle == (models / f"mine-{job_id[-6:]}").resolve() and is_bundle(job.bundle)
    at = train_page()
    assert "Trained 1 epoch." in [s.value for s in at.success]
    assert f"Saved as the model `user/mine-{job_id[-6:]}`" in " ".join(c.value for c in at.caption)
    use = [b for b in at.button if b.label == "Use this model"]
    assert use, [b.label for b in at.button]
    use[0].click().run()
    assert not at.exception, at.exception
    assert at.session_state["model_path"] == str(job.bundle)
    assert any(x.label == "Model card" for x in at.expander)
    import json

    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 2  # reconstruction and KL curves
    assert all(fig["layout"]["xaxis"]["tickformat"] == "d" for fig in charts)  # whole epochs


def test_a_one_epoch_curve_has_one_whole_number_tick():
    """Left to itself Plotly labelled a one-epoch run's only tick "1.000000"."""
    from explorer.figures import history_figure

    fig = history_figure({"kl_loss": [3.0], "val_kl_loss": [2.5]}, "kl_loss", "KL")
    assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick == 1
    assert tuple(fig.layout.xaxis.range) == (0.5, 1.5)  # the point in the middle, one tick: "1"
    many = history_figure({"kl_loss": list(range(40))}, "kl_loss", "KL")
    assert many.layout.xaxis.tickformat == "d" and many.layout.xaxis.dtick is None


def test_a_jobs_name_is_shown_as_text_and_no_server_path_is_shown(dirs):
    """A name with Markdown must not become a picture every visitor's browser fetches, nor a link."""
    jobs, models = dirs
    runner = LocalProcessRunner(jobs, models, max_running=0)  # queued only: no process runs
    runner.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1,
                         name="![x](http://evil.example/p.png) [Login](http://evil.example)"), owner=owner())
    at = train_page()
    shown = " ".join(m.value for m in at.markdown)
    assert "\\!\\[x\\]\\(http" in shown and "](http" not in shown.replace("\\]\\(", "")
    page_text = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info] if hasattr(e, "value"))
    assert str(jobs) not in page_text and str(models) not in page_text


def finished_job(runner: LocalProcessRunner, spec: JobSpec, bundle: Path, history: dict) -> str:
    """A job that ended with a model and these per-epoch losses, faked in its folder (no training runs)."""
    job_id = runner.start(spec, owner=owner())
    out = runner.status(job_id).out
    shutil.copytree(bundle, out)
    write_json(runner.root / job_id / "history.json", history)
    write_json(runner.root / job_id / "status.json",
                 {"state": "done", "message": "Trained 1 epoch.", "bundle": str(out),
                  "finished": time.time()})
    return job_id


def test_two_jobs_with_identical_histories_both_show(dirs, monkeypatch):
    """Two trainings with the same settings and seed have equal loss curves: their charts once collided
    (StreamlitDuplicateElementId), and every job below the crash lost its buttons."""
    jobs, models = dirs
    monkeypatch.setenv("VAE_MAX_JOBS", "0")  # nothing is launched: the jobs' ends are written here
    runner = LocalProcessRunner(jobs, models, max_running=0)
    spec = JobSpec(dataset="digits", preset="course", latent_dim=2, beta=1.0, epochs=1, name="Same")
    history = {"loss": [180.0], "reconstruction_loss": [170.0], "kl_loss": [10.0],
               "val_reconstruction_loss": [171.0], "val_kl_loss": [10.5]}
    course = SHIPPED_DIR / "mnist-2d-course"
    ids = [finished_job(runner, spec, course, history) for _ in range(2)]  # one spec, one job after the other
    assert len(set(ids)) == 2
    at = train_page()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert labels.count("Use this model") == 2 and labels.count("Remove from list") == 2, labels
    assert len(at.get("plotly_chart")) == 4  # two curves per job


def test_without_data_the_form_defaults_to_digits_and_warns(dirs, tmp_path, monkeypatch):
    """A server without MNIST: the form starts on a dataset it has and says, before any job starts, that
    MNIST would have to be downloaded (the job once failed 10 s later with Keras' URL and an errno)."""
    from tests.support.data import no_local_data

    empty = no_local_data(monkeypatch, tmp_path)
    at = train_page()
    assert at.selectbox[0].label == "Dataset" and at.selectbox[0].value == "digits"
    assert at.selectbox[0].options == ["mnist (not on this server)", "fashion_mnist (not on this server)",
                                       "digits"]
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("MNIST and Fashion-MNIST are not on this server") and "internet" in warning
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):  # MNIST's four files, by name: the form looks, it does not load
        (empty / "mnist").mkdir(exist_ok=True)
        (empty / "mnist" / name).write_bytes(b"")
    at = train_page()
    assert at.selectbox[0].value == "mnist" and at.selectbox[0].options[0] == "mnist"
    assert [w.value for w in at.warning] == ["Fashion-MNIST is not on this server: a job on it would try to "
                                             "download it from the internet, and fails if this server is "
                                             "offline."]


def test_the_job_header_counts_one_epoch_and_two(dirs):
    """It once read "1 epochs"."""
    jobs, models = dirs
    runner = LocalProcessRunner(jobs, models, max_running=0)  # queued only: no process runs
    for epochs in (1, 2):
        runner.start(JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=epochs,
                             name=f"{epochs} of them"), owner=owner())
    at = train_page()
    headers = {m.value.split("**")[1]: m.value for m in at.markdown if m.value.startswith("**")}
    assert ", 1 epoch, batch 128" in headers["1 of them"] and "epochs" not in headers["1 of them"]
    assert ", 2 epochs, batch 128" in headers["2 of them"]
