"""The Class page's sections, for teachers: the queue's pause switch, usage per student and for the server,
every job, model and dataset with its owner, and stopping, removing, deleting and publishing any of them."""

from __future__ import annotations

import sys
from datetime import datetime

import pandas as pd
import streamlit as st

import settings
from explorer import icons, models, published, teachers, training
from jobservice import datasets, disk, job_size, public_message, usage, user_models
from jobservice.limits import cpu_hours
from jobservice.pause import set_paused
from vae.plural import count

SHOWN = 60  # jobs listed, newest first (the usage table counts them all)
NOT_DONE = "The server could not change its files to do that; the server's log says why."


def allowed() -> bool:
    """Whether this visitor may see the page; a visitor who is not a teacher is told so and sees nothing."""
    if teachers.is_teacher():
        return True
    st.info("This page is for the class's teachers.")
    return False


def who(owner: str | None) -> str:
    """An owner as a teacher reads it: the name they signed in with, and the start of their id."""
    if owner is None:
        return "nobody (made at the server's command line)"
    if owner == user_models.SERVER:
        return "the server"
    name = user_models.visitor_name(settings.user_models_dir(), owner)
    short = f"{owner[:8]}…"
    return f"{name} ({short})" if name else f"{short} (not signed in)" if owner.startswith("v-") else short


def _do(action, done: str) -> None:
    """Take a teacher's action (checked again here) and redraw; a refusal or a job gone meanwhile is said."""
    try:
        teachers.require()
        action()
    except (teachers.NotATeacher, training.JobNotFound, user_models.NotYours, ValueError) as exc:
        st.error(public_message(str(exc)))
        return
    except OSError as exc:  # its text names server paths: the details go to the server's log only
        print(f"Latent Explorer: a teacher's action failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        st.error(NOT_DONE)
        return
    models.forget_models()
    st.toast(done)
    st.rerun()


def queue(runner: training.LocalProcessRunner, jobs: list) -> None:
    """Whether queued jobs start; a button to pause or resume; the queue against its budget (`jobs`: the
    runner's list, read once per run by the page)."""
    st.subheader("Queue")
    passes = sum(job_size(j.spec) for j in jobs if j.active and j.kind == "train")
    lim = runner.limits
    st.caption(f"{count(sum(j.active for j in jobs), 'job')} queued or running, "
               f"{count(passes, 'image pass', 'image passes')} of training (about {cpu_hours(passes):,.1f} "
               f"CPU-hours) of the queue's budget of {lim.queue_budget:,} (about "
               f"{cpu_hours(lim.queue_budget):,.0f} CPU-hours).")
    held = runner.paused()
    if held:
        since = f" since {datetime.fromtimestamp(held['since']):%H:%M}" if held.get("since") else ""
        st.warning(f"The queue is paused{since}: queued jobs wait, running ones go on.", icon=icons.PAUSE)
        if st.button("Resume the queue", key="class_resume", type="primary"):
            _do(lambda: set_paused(runner.root, False), "The queue moves again.")
    elif st.button("Pause the queue", key="class_pause",
                   help="No queued job starts until you resume it; running jobs go on."):
        _do(lambda: set_paused(runner.root, True, by=teachers.require()), "The queue is paused.")


def usage_table(runner: training.LocalProcessRunner, jobs: list) -> None:
    """Each student's jobs, CPU-hours queued (estimated) and spent (recorded), models, datasets and disk, and
    the server's, with its disk against the budget."""
    st.subheader("Usage")
    per_owner = usage.by_owner(jobs, runner.root, runner.models_dir, datasets_root=settings.datasets_dir())
    rows = [_row(who(owner), use) for owner, use in sorted(per_owner.items(), key=lambda kv: who(kv[0]))]
    rows.append(_row("Whole server", usage.total(per_owner)))
    st.dataframe(pd.DataFrame(rows).set_index("Who"), width="stretch")
    held, lim = runner.disk_use(), runner.limits
    st.caption(f"Disk: {disk.mb(held.total)} of the server's budget of {disk.mb(lim.disk_budget)} (jobs and "
               f"their uploads {disk.mb(held.jobs)}, models {disk.mb(held.models)}, image datasets "
               f"{disk.mb(held.datasets)}, decoders published to browsers {disk.mb(held.published)}). "
               "CPU-hours queued are estimated from each job's size (epochs × training images); spent ones "
               "are each job's run time × its threads.")


def _row(name: str, use: usage.Usage) -> dict:
    return {"Who": name, "Jobs under way": use.active, "Jobs ended": use.finished,
            "CPU-hours queued": round(use.queued_cpu_s / 3600, 2),
            "CPU-hours spent": round(use.spent_cpu_s / 3600, 2), "Models": use.models,
            "Datasets": use.datasets, "Datasets (MB)": round(use.dataset_bytes / 2**20, 1),
            "Disk (MB)": round(use.disk_bytes / 2**20, 1)}


def jobs(runner: training.LocalProcessRunner, everyone: list) -> None:
    """Every job, newest first, with its owner: stop a running one, cancel a queued one, remove one ended."""
    st.subheader("Jobs")
    if not everyone:
        st.info("No jobs on this server yet.")
    for job in everyone[:SHOWN]:
        what, owner, state, button = st.columns([4, 3, 2, 1], vertical_alignment="center")
        what.markdown(f"**{models.plain_text(job.spec.display_name)}** · {job.kind}")
        owner.caption(models.plain_text(who(job.owner), 120))
        state.markdown(f"`{job.state}`" + (f" · {job.progress:.0%}" if job.state == "running" else ""))
        if job.active:
            label = "Cancel" if job.state == "queued" else "Stop"
            if button.button(label, key=f"class-stop-{job.id}", disabled=job.state == "stopping"):
                _do(lambda j=job: runner.stop(j.id, owner=None), f"{label}: {job.spec.display_name}")
        elif button.button("Remove", key=f"class-remove-{job.id}", help="Removes the job; its model stays."):
            _do(lambda j=job: runner.delete(j.id, owner=None), f"Removed: {job.spec.display_name}")
    if len(everyone) > SHOWN:
        st.caption(f"{count(len(everyone) - SHOWN, 'older job')} not shown.")


def model_list() -> None:
    """Every visitor's model with its owner: publish it to the class (or withdraw it), or delete it."""
    st.subheader("Models")
    found = [(path, acc) for path, acc in user_models.bundles(settings.user_models_dir())
             if acc.owner not in (None, user_models.SERVER)]
    if not found:
        st.info("No models trained or imported on this server yet.")
    for path, acc in found:
        what, owner, publish, delete = st.columns([4, 3, 2, 1], vertical_alignment="center")
        status = "published" if acc.published else "shared by its owner" if acc.shared else "private"
        what.markdown(f"**{models.plain_text(models.bundle_name(path))}** · {status}")
        owner.caption(models.plain_text(who(acc.owner), 120))
        key = f"class-publish-{path.name}"
        publish.toggle("Published", value=acc.published, key=key,
                       help="Published, every visitor lists it; only its owner and you can change it.")
        if st.session_state.get(key, acc.published) != acc.published:
            _do(lambda p=path, on=st.session_state[key]: user_models.set_published(p, on),
                "Published to the class." if st.session_state[key] else "No longer published.")
        if delete.button("Delete", key=f"class-delete-{path.name}"):
            _do(lambda p=path: _delete(p), "Deleted.")


def dataset_list() -> None:
    """Every image dataset with its owner, images, size on disk and whether the class may use it: share it
    with the class (or withdraw it), or delete it (models trained on it stay)."""
    st.subheader("Datasets")
    found = datasets.all_datasets()
    if not found:
        st.info("No image datasets prepared on this server yet.")
    for dataset in found:
        what, owner, share, delete = st.columns([4, 3, 2, 1], vertical_alignment="center")
        acc = dataset.access
        status = ("the server's, for everyone" if acc.owner == user_models.SERVER else "shared by you"
                  if acc.published else "shared by its owner" if acc.shared else "private")
        size = f"{count(dataset.images, 'image')}, {disk.mb(user_models.folder_bytes(dataset.folder))}"
        what.markdown(f"**{models.plain_text(dataset.title)}** · {status} · {size}")
        owner.caption(models.plain_text(who(acc.owner), 120))
        key = f"class-share-dataset-{dataset.id}"
        if acc.owner not in (None, user_models.SERVER):  # the server's are everyone's already
            share.toggle("Shared", value=acc.published, key=key,
                         help="Shared by you, every visitor may train on it; only you can withdraw it.")
            if st.session_state.get(key, acc.published) != acc.published:
                _do(lambda d=dataset, on=st.session_state[key]: user_models.set_published(d.folder, on),
                    "Shared with the class." if st.session_state[key] else "No longer shared.")
        if delete.button("Delete", key=f"class-delete-dataset-{dataset.id}",
                         help="Models trained on it stay."):
            _do(lambda d=dataset: user_models.remove(d.folder), "Deleted.")


def _delete(bundle) -> None:
    """Delete anyone's model, and its published decoder with it (its URL then answers 404)."""
    decoder = published.bundle_decoder(bundle)  # read before the bundle goes
    user_models.remove(bundle)
    published.model_deleted(decoder)
