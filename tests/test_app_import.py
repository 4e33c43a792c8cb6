"""The Import page (Streamlit AppTest): the upload form and its size limit, an import started from the page as
this visitor's job, and a refusal shown as one sentence."""

from __future__ import annotations

import re
import time

from jobservice import FINISHED, UPLOADS, ImportSpec, LocalProcessRunner, upload_digest
from tests.support.visitors import import_page, owner

BOB = "bob-token-0123456789ab"


def shown(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.error, *at.success,
                                           *at.warning])


def test_import_page_offers_uploads_and_states_the_size_limit(dirs):
    import streamlit as st

    at = import_page()
    assert [u.proto.label for u in at.get("file_uploader")] == ["Encoder (.keras)", "Decoder (.keras)"]
    limit = st.get_option("server.maxUploadSize")
    assert limit == 10  # .streamlit/config.toml
    assert any(f"at most **{limit} MB** (this server's upload limit)" in c.value for c in at.caption)
    assert "safe_mode" in shown(at) and "Lambda" in shown(at)
    assert "No imports yet." in [i.value for i in at.info]
    at.radio(key="import_source").set_value("weights").run()
    assert not at.exception, at.exception
    assert [u.proto.label for u in at.get("file_uploader")] == ["Weights (.weights.h5)"]
    assert {s.label for s in at.selectbox} == {"Preset it was built with", "Dataset"}
    # Enter in the Name or Latent dimensions box does not start the import: only the button does.
    assert [f.proto.form.enter_to_submit for f in at.get("form")] == [False]


def test_started_import_is_this_visitors_job_and_a_second_click_is_the_same_job(dirs, monkeypatch):
    jobs, models = dirs
    monkeypatch.setenv("VAE_MAX_JOBS", "0")  # nothing starts: the job stays queued, no process runs
    at = import_page()
    at.button[0].click().run()  # Import with no files: a word, no job
    assert "Choose both files, the encoder and the decoder, first." in [w.value for w in at.warning]
    enc, dec = b"PK-not-really-an-encoder", b"PK-not-really-a-decoder"
    at.file_uploader(key="import_encoder").upload("my enc.keras", enc, "application/octet-stream")
    at.file_uploader(key="import_decoder").upload("my dec.keras", dec, "application/octet-stream")
    at.selectbox(key="import_dataset").select("digits")
    at.text_input[0].input("Mine from Keras")
    at.button[0].click().run()
    assert not at.exception, at.exception
    at.button[0].click().run()  # a double-click: the same job
    runner = LocalProcessRunner(jobs, models, max_running=0)
    [job] = runner.list()
    assert job.kind == "import" and job.owner == owner() and job.state == "queued"
    uploads = {"encoder.keras": enc, "decoder.keras": dec}
    assert job.spec == ImportSpec(source="graph", dataset="digits", name="Mine from Keras",
                                  file_names=("my enc.keras", "my dec.keras"), digest=upload_digest(uploads))
    # The files are in the job's folder under the folder's own names, never the browser's.
    assert {p.name: p.read_bytes() for p in (jobs / job.id / UPLOADS).iterdir()} == uploads
    command = runner._command(job)
    assert command[:3] == ["-m", "vae", "import"] and "--job-dir" in command and "--out" in command
    assert str(jobs / job.id / UPLOADS / "encoder.keras") in command and "my enc.keras" not in command
    assert job.out == (models / f"mine-from-keras-{job.id[-6:]}").resolve()
    assert "Queued: position 1" in shown(at) and "my enc\\.keras" in shown(at)
    # Another visitor sees none of it; the Train page lists trainings only.
    assert "No imports yet." in [i.value for i in import_page(BOB).info]
    train = import_page()
    train.switch_page("pages/train.py").run()
    assert "No training jobs yet." in [i.value for i in train.info]


def test_a_refusal_is_one_sentence_without_traceback_or_path(dirs, monkeypatch):
    """A real import job (the CLI in its own process) refuses a file that is not a .keras archive."""
    jobs, models = dirs
    monkeypatch.setenv("VAE_MAX_JOBS", "1")
    at = import_page()
    binary = "application/octet-stream"
    at.file_uploader(key="import_encoder").upload("enc.keras", b"hello, not a zip", binary)
    at.file_uploader(key="import_decoder").upload("dec.keras", b"nor this", binary)
    at.selectbox(key="import_dataset").select("digits")
    at.button[0].click().run()
    assert not at.exception, at.exception
    runner = LocalProcessRunner(jobs, models)
    [job] = runner.list(owner())
    deadline = time.time() + 90
    while (job := runner.status(job.id)).state not in FINISHED and time.time() < deadline:
        time.sleep(0.3)
    assert job.state == "refused", f"{job.state}: {job.message}\n{runner.log_tail(job.id)}"
    at = import_page()
    [error] = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # as read: Markdown's escapes resolved
    # Named as the visitor named it (the job's folder holds it as encoder.keras).
    assert error == "Refused: enc.keras: not a .keras archive (it is not a zip file).", error
    assert "Traceback" not in shown(at) and str(jobs) not in shown(at) and "/tmp" not in shown(at)
    assert not list(models.glob("*")), "no model was saved"
    assert [b.label for b in at.button if "remove-import" in (b.key or "")] == ["Remove from list"]


def test_a_finished_import_offers_its_model_on_the_decoder(dirs, tmp_path):
    """The finished-job row the Train page shares: use the model, open it on the Decoder, when it ended."""
    import shutil
    import sys

    from tests.support.fake_jobs import FAKE_TRAINER
    from vae.bundles.bundle import DEFAULT_MODEL

    jobs, models = dirs
    ready = tmp_path / "ready"
    shutil.copytree(DEFAULT_MODEL, ready)
    fake = tmp_path / "fake-importer"  # stands in for `python -m vae import`, as for a training
    fake.write_text(FAKE_TRAINER.format(python=sys.executable, bundle=str(ready)))
    fake.chmod(0o755)
    runner = LocalProcessRunner(jobs, models, python=str(fake))
    uploads = {"encoder.keras": b"e", "decoder.keras": b"d"}
    spec = ImportSpec(source="graph", file_names=("enc.keras", "dec.keras"), digest=upload_digest(uploads),
                      dataset="digits", name="Imported")
    job_id = runner.start(spec, owner=owner(), uploads=uploads)
    deadline = time.time() + 60
    while (job := runner.status(job_id)).state not in FINISHED and time.time() < deadline:
        time.sleep(0.3)
    assert job.state == "done", f"{job.message}\n{runner.log_tail(job_id)}"
    at = import_page()
    assert f"Saved as the model `user/imported-{job_id[-6:]}`" in shown(at)
    assert any(x.label == "Model card" for x in at.expander)
    at.button(key=f"decoder-import-{job_id}").click().run()
    assert not at.exception, at.exception
    assert at.session_state["model_path"] == str(job.bundle)
