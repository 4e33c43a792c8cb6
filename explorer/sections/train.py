"""The Train page's sections: the training form, and each job with its progress, curves and model."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import streamlit as st

from explorer import icons, models, notices, training, visitors
from explorer.figures import history_figure
from explorer.models import Handle
from explorer.sections import replay
from jobservice import datasets
from vae.plural import count

INTRO = ("Training runs in its own process on this server: it keeps going if you switch pages or close the "
         "tab, and queued jobs start in turn with no page open. You see your own jobs only.")


def limits(runner: training.LocalProcessRunner) -> None:
    st.caption(training.limits_text(runner.limits))
    if runner.paused():
        st.info("Your teacher has paused the queue: queued jobs wait until it is resumed (running ones go "
                "on). You can still queue a job.", icon=icons.PAUSE)


def form(runner: training.LocalProcessRunner) -> None:
    """The training form: dataset, architecture and hyperparameters; a submitted job is queued. In class
    mode an anonymous visitor gets a sign-in button instead."""
    if visitors.sign_in_prompt("train a model", key="sign_in_train"):
        return
    here = data_warning()
    with st.form("train_form", enter_to_submit=False):  # Enter in a field never starts a job
        c1, c2, c3 = st.columns(3)
        dataset = dataset_picker(c1, here, own=own_datasets(visitors.owner()),
                                 help="digits: scikit-learn's 1,797 small digits, quick to train; own/…: a "
                                      "dataset of your own images (below)")
        preset = c2.selectbox("Architecture preset", ["default", "course", "colour"],
                              help="colour: for 32×32 and 64×64 images (your own, in colour)")
        name = c3.text_input("Name (optional)", max_chars=80, placeholder="e.g. my fashion 2-D")
        c1, c2, c3, c4 = st.columns(4)
        latent_dim = c1.number_input("Latent dimensions", 1, 64, 2)
        beta = c2.number_input("β (weight of the KL term)", 0.0, 100.0, 1.0, step=0.1)
        epochs = c3.number_input("Epochs", 1, 500, 10)
        batch_size = c4.selectbox("Batch size", [32, 64, 128, 256, 512], index=2)
        c1, c2, c3 = st.columns(3)  # a third of the form each: the toggle's label is shown whole
        dropout = c1.number_input("Dropout (default preset)", 0.0, 0.9, 0.0, step=0.05,
                                  help="Dropout after the 512-unit Dense layers: less memorising of the "
                                       "training images. The shipped 2-D model uses 0.15.")
        ema = c2.toggle("Average the weights (EMA)", value=False,
                        help="Save an exponential moving average of the weights over the last ~1,000 steps "
                             "(Polyak averaging); the shipped MNIST models use it.")
        encoder = c3.selectbox("Encoder (default preset)", list(training.ENCODERS),
                               help=" ".join(f"{k}: {v}." for k, v in training.ENCODERS.items())
                               + " The deep one's codes carry over better to new images (the encoder of the "
                                 "shipped MNIST models).")
        if st.form_submit_button("Start training", type="primary"):
            def make(owner: str):
                spec = training.JobSpec(dataset=dataset, preset=preset, latent_dim=int(latent_dim),
                                        beta=float(beta), epochs=int(epochs), batch_size=int(batch_size),
                                        dropout=float(dropout), ema=bool(ema),
                                        encoder=encoder if preset == "default" else "wide", name=name)
                datasets.check_use(dataset, owner)  # by its id, here: the job never sees another's dataset
                return spec, None

            submit(runner, "train a model", make)


def data_warning() -> list[str]:
    """Say, before a job starts, which datasets this server lacks; returns those it has (digits always)."""
    here = training.datasets_here()
    missing = training.missing_data_warning(here)
    if missing:
        st.warning(missing)
    return here


def own_datasets(owner: str | None) -> dict[str, str]:
    """The prepared datasets this visitor may train on (theirs, shared, the server's), by name (own/<id>),
    with their titles as text."""
    # (a select box shows its options as text: nothing to escape)
    return {d.name: f"{' '.join(d.title.split())[:60]} ({d.meta.get('size_text', '')}, "
                    f"{count(d.images, 'image')})" for d in datasets.visible(owner)}


def dataset_picker(container, here: list[str], own: dict[str, str] | None = None, **kwargs) -> str:
    """The Dataset box of a job's form: every dataset, those this server lacks marked, one it has chosen;
    then the visitor's `own` prepared datasets (name: title)."""
    own = own or {}
    return container.selectbox("Dataset", [*training.DATASETS, *own], index=training.DATASETS.index(here[0]),
                               format_func=lambda name: own.get(name) or training.dataset_label(name, here),
                               **kwargs)


def loss_charts(history: dict, job_id: str) -> None:
    """Reconstruction and KL side by side, train and validation, as on Home (whole-number epochs).

    Keyed by the job: two jobs with the same settings and seed have equal curves, and unkeyed equal charts
    collide (StreamlitDuplicateElementId), taking down every job below them."""
    terms = [("reconstruction_loss", "Reconstruction loss"), ("kl_loss", "KL divergence")]
    figs = [(col, term, history_figure(history, term, title))
            for col, (term, title) in zip(st.columns(2), terms)]
    for col, term, fig in figs:
        if fig is not None:
            col.plotly_chart(fig, key=f"loss-{term}-{job_id}", config={"displayModeBar": False})


def show_job(runner: training.LocalProcessRunner, job: training.JobStatus,
             current: Handle | None = None) -> None:
    """One job: its state, losses and buttons; done, its model (offered for comparison with `current`)."""
    s = job.spec
    with st.container(border=True):
        name = models.plain_text(s.display_name)  # a visitor's text, shown as text: never Markdown
        st.markdown(f"**{name}** · `{job.state}` — {s.dataset}, {s.preset} preset, latent_dim "
                    f"{s.latent_dim}, β {s.beta:g}, {count(s.epochs, 'epoch')}, batch {s.batch_size}"
                    + (f", dropout {s.dropout:g}" if s.dropout else "") + (", EMA weights" if s.ema else "")
                    + (f", {s.encoder} encoder" if s.encoder != "wide" else ""))
        if job.state == "queued":
            st.info(f"Queued: position {job.queue_position} on this server; it starts in turn, one job per "
                    "visitor at a time, whether or not this page is open.")
        elif job.active:
            if job.state == "stopping":
                text = "Stopping at the next batch, then saving the model so far…"
            elif not job.steps:
                text = "Starting (loading TensorFlow and the data)…"
            elif job.progress >= 1.0:
                text = "Evaluating on the test split and saving…"
            else:
                text = f"Epoch {min(job.epoch + 1, job.epochs)} of {job.epochs}, batch {job.step}/{job.steps}"
            st.progress(min(max(job.progress, 0.0), 1.0), text=text)
            if job.logs.get("loss") is not None:
                st.caption(f"Latest batch: reconstruction {job.logs.get('reconstruction_loss', 0):.1f}, "
                           f"KL {job.logs.get('kl_loss', 0):.2f} nats per image")
            if job.state == "running":
                replay.live_player(runner.root / job.id, s.dataset, job.id)
        elif job.state == "failed":
            st.error(job.message)
            if "is not available" in job.message or "not on this server" in job.message:  # no dataset
                st.info(notices.DATA_HELP)
            st.caption("The full log is in the server's log, for whoever runs this server.")
        else:
            (st.success if job.state == "done" else st.warning)(job.message)
        loss_charts(job.history, job.id)
        if job.active:
            label = {"queued": "Cancel", "running": "Stop", "stopping": "Stopping…"}[job.state]
            tip = ("Stops within one epoch and saves the model trained so far" if job.state == "running"
                   else None)
            if st.button(label, key=f"stop-{job.id}", disabled=job.state == "stopping", help=tip):
                act(lambda: runner.stop(job.id, owner=visitors.owner()))
            return
        finished(runner, job, remove_help="Removes the job; its model stays (delete models on Home).",
                 current=current)


def finished(runner: training.LocalProcessRunner, job: training.JobStatus, remove_help: str, key: str = "",
             current: Handle | None = None, decoder: bool = False) -> None:
    """A finished job's row (a training's, an import's, a dataset's): use its model (and open it on the
    Decoder), remove the job from the list, when it ended; then a link to compare its model with `current`,
    and the model's card. `key` tells one page's buttons from another's."""
    model_id = models.id_of_saved(job.bundle)  # None: no model kept (failed, refused, a dataset job)
    widths = [1, 1.4, 1, 2] if decoder else [1, 1, 3]
    use, *more, remove, when = st.columns(widths, vertical_alignment="center")
    if model_id and use.button("Use this model", key=f"use{key}-{job.id}", type="primary"):
        models.choose_model(model_id)
        st.rerun(scope="app")  # so the sidebar shows the new current model
    if model_id and decoder and more[0].button("Open it on the Decoder", key=f"decoder{key}-{job.id}",
                                               icon=icons.PAGES["decoder"]):
        models.choose_model(model_id)
        st.switch_page("pages/decoder.py")
    if remove.button("Remove from list", key=f"remove{key}-{job.id}", help=remove_help):
        act(lambda: runner.delete(job.id, owner=visitors.owner()))
    if job.finished:
        saved = f"Saved as the model `{model_id}` · " if model_id else ""
        when.caption(f"{saved}finished {datetime.fromtimestamp(job.finished):%Y-%m-%d %H:%M}")
    if not model_id:
        return
    current_id = current.id if current else None
    if current_id and current_id != model_id:
        st.page_link("pages/compare.py", label=f"Compare with the current model ({current_id})",
                     icon=icons.PAGES["compare"], query_params={"model": current_id, "compare": model_id})
    with st.expander("Model card"):
        st.markdown(models.card_markdown(job.bundle))  # read, not loaded: no model served for it


def submit(runner: training.LocalProcessRunner, doing: str, make) -> None:
    """Queue a visitor's job and say where it is in the queue: who they are first (signed in, where the server
    asks: `doing` says for what), then `make(owner)`'s (spec, uploads). A bad setting, a quota (LimitReached)
    or not being signed in is a ValueError whose message is shown instead."""
    try:
        owner = visitors.acting_owner(doing)  # before reading any upload
        spec, uploads = make(owner)
        job = runner.status(runner.start(spec, owner=owner, uploads=uploads))
    except ValueError as exc:
        st.error(str(exc))
        return
    queued(spec, job)


def queued(spec, job: training.JobStatus) -> None:
    """Say that a visitor's job is queued (or running), and where in the queue."""
    st.toast(f"“{models.plain_text(spec.display_name)}” is {job.state}"
             + (f" (position {job.queue_position} in the queue)." if job.queue_position else "."))


def act(action) -> None:
    """Stop, cancel or remove a job; a job gone meanwhile (another tab) or not this visitor's is refused."""
    try:
        action()
    except (training.JobNotFound, training.NotYours, ValueError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def job_list(runner: training.LocalProcessRunner, handle: Handle | None = None, kind: str = "train",
             show=None, empty: str = "No training jobs yet.") -> None:
    """This visitor's jobs of one kind ("train", shown beside the current model's `handle`; the Import page
    lists its "import" jobs with its own `show`), newest first, refreshed every 2 s while one of them is
    queued or running."""
    show = show or partial(show_job, current=handle)
    active_ids = {j.id for j in runner.list(visitors.owner()) if j.active and j.kind == kind}
    st.fragment(run_every=2 if active_ids else None)(_job_list)(runner, kind, show, empty, active_ids)


def _job_list(runner: training.LocalProcessRunner, kind: str, show, empty: str, active_ids: set[str]) -> None:
    current = [j for j in runner.list(visitors.owner()) if j.kind == kind]
    if active_ids - {j.id for j in current if j.active}:
        st.rerun(scope="app")  # a job ended: redraw the page so the new model shows everywhere
    if not current:
        st.info(empty)
    for job in current[:10]:
        show(runner, job)
    if len(current) > 10:
        st.caption(f"{count(len(current) - 10, 'older job')} not shown.")


