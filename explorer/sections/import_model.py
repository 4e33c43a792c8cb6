"""The Import page's sections: what can be imported, the upload form, and each import with its outcome."""

from __future__ import annotations

import streamlit as st

from explorer import models, training, visitors
from explorer.sections import train as jobs_ui  # the job list and its actions, shared with the Train page
from vae.plural import count

SOURCES = {"graph": "An encoder and a decoder (.keras)",
           "weights": "Weights of one of this app's presets (.weights.h5)"}
# What each stage an import job records (vae.importing.job.STAGES) means, for the visitor.
STAGES = {
    "checking": "Checking the files without loading them (archive members and sizes, every layer against the "
                "allow-list)…",
    "loading": "Loading the model with safe_mode, in a separate process with memory and time limits…",
    "evaluating": "Measuring it on the {dataset} test split…",
    "exporting": "Exporting it to ONNX and checking the export against Keras…",
    "saving": "Saving the model…",
}
INTRO = """Explore a VAE you trained elsewhere. Two shapes can be imported:

- **An encoder and a decoder**, each saved with `model.save("….keras")` (Keras 3). The encoder takes 28×28×1
  images and outputs `[z_mean, z_log_var]`, or `[z_mean, z_log_var, z]` with a sampling layer, as in the Keras
  example (keras-io, *Variational AutoEncoder*) and the course notebook; the decoder takes z and ends in a
  sigmoid (28×28 or 28×28×1 pixels).
- **A weights file** saved with `vae.save_weights("….weights.h5")` from a model built with one of this app's
  presets (`default` or `course`), with its latent size.

The import runs in its own process on this server. The files are inspected before anything loads them: only
built-in Keras layers are accepted, so a Lambda layer or other code in a file is refused and never runs. The
model is then loaded with `safe_mode` in a process with memory and time limits, measured on the dataset's test
split and exported to ONNX. It is yours: only you see it, unless you share it on Home."""


def upload_limit_mb() -> int:
    """The server's upload limit per file, in MB (server.maxUploadSize in .streamlit/config.toml)."""
    return int(st.get_option("server.maxUploadSize"))


def intro(runner: training.LocalProcessRunner) -> None:
    st.markdown(INTRO)
    lim = runner.limits
    st.caption(f"Each file may be at most **{upload_limit_mb()} MB** (this server's upload limit): a "
               "Keras-example pair takes well under 1 MB, a default-preset weights file about 10 MB. Imports "
               f"share the Train page's queue and limits: {count(lim.running_per_owner, 'job')} running and "
               f"{lim.active_per_owner - lim.running_per_owner} queued per visitor, "
               f"{count(lim.models_per_owner, 'model')} ({lim.bytes_per_owner / 2**30:g} GB) each.")


def form(runner: training.LocalProcessRunner) -> None:
    """The upload form: the files, the dataset, a name; a submitted import is queued as the visitor's job.
    In class mode an anonymous visitor gets a sign-in button instead (and no uploader)."""
    if visitors.sign_in_prompt("import a model", key="sign_in_import"):
        return
    source = st.radio("What you have", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                      key="import_source")
    preset = latent_dim = None
    here = jobs_ui.data_warning()
    with st.form("import_form", enter_to_submit=False):  # Enter in a field never starts a job
        if source == "graph":
            c1, c2 = st.columns(2)
            chosen = [c1.file_uploader("Encoder (.keras)", type=["keras"], key="import_encoder",
                                       help="28×28×1 image → z_mean, z_log_var (and z, after a sampling "
                                            "layer)"),
                      c2.file_uploader("Decoder (.keras)", type=["keras"], key="import_decoder",
                                       help="z → a 28×28 (or 28×28×1) image, ending in a sigmoid")]
        else:
            chosen = [st.file_uploader("Weights (.weights.h5)", type=["h5"], key="import_weights")]
            c1, c2 = st.columns(2)
            preset = c1.selectbox("Preset it was built with", ["default", "course"])
            latent_dim = int(c2.number_input("Latent dimensions", 1, 64, 2))
        c1, c2 = st.columns(2)
        dataset = jobs_ui.dataset_picker(c1, here, key="import_dataset",
                                         help="The test split it is measured on and drawn on the Latent map "
                                              "with; digits: scikit-learn's small digits, always here")
        name = c2.text_input("Name (optional)", max_chars=80, placeholder="e.g. my Keras VAE")
        submitted = st.form_submit_button("Import", type="primary")
    if submitted:
        start(runner, source, chosen, dataset=dataset, name=name, preset=preset, latent_dim=latent_dim)


def start(runner: training.LocalProcessRunner, source: str, chosen: list, **settings) -> None:
    """Queue the import of the chosen files (Streamlit's uploads), or say why not."""
    if any(f is None for f in chosen):
        st.warning("Choose " + ("both files, the encoder and the decoder," if len(chosen) > 1 else "the file")
                   + " first.")
        return
    jobs_ui.submit(runner, "import a model", lambda owner: training.ImportSpec.of_files(
        source, [(f.name, f.getvalue()) for f in chosen], **settings))


def what(spec: training.ImportSpec) -> str:
    """The import in a few words: its files (as the visitor named them) and what they are."""
    files = ", ".join(models.plain_text(n, 60) for n in spec.file_names)
    kind = ("encoder + decoder" if spec.source == "graph"
            else f"{spec.preset} preset weights, latent_dim {spec.latent_dim}")
    return f"{kind} ({files}), measured on {spec.dataset}"


def show_import(runner: training.LocalProcessRunner, job: training.JobStatus) -> None:
    s = job.spec
    with st.container(border=True):
        st.markdown(f"**{models.plain_text(s.display_name)}** · `{job.state}` — {what(s)}")
        if job.state == "queued":
            st.info(f"Queued: position {job.queue_position} on this server; it starts in turn, one job per "
                    "visitor at a time, whether or not this page is open.")
        elif job.active:
            text = STAGES.get(job.stage, "Starting…").format(dataset=s.dataset)
            st.progress(min(max(job.progress, 0.0), 1.0), text=text)
        elif job.state == "done":
            st.success(job.message)
        elif job.state == "refused":
            st.error(f"Refused: {models.plain_text(job.message, 400)}")
        else:
            st.error(models.plain_text(job.message, 400))
            st.caption("The full log is in the server's log, for whoever runs this server.")
        if job.state == "queued" and st.button("Cancel", key=f"cancel-import-{job.id}"):
            jobs_ui.act(lambda: runner.stop(job.id, owner=visitors.owner()))
        if job.active:
            return
        jobs_ui.finished(runner, job, key="-import", decoder=True, remove_help="Removes the import from this "
                         "list; its model stays (delete models on Home).")


def job_list(runner: training.LocalProcessRunner) -> None:
    """This visitor's imports, newest first, refreshed every 2 s while one of them is queued or running."""
    jobs_ui.job_list(runner, kind="import", show=show_import, empty="No imports yet.")
