"""The Train page's own-images sections: upload a zip of labelled folders, each dataset's card, its jobs."""

# The web process only stores the visitor's zip in a new job's folder (jobservice): the checks and the
# preparation run in the job (`python -m vae dataset`). A card reads the prepared dataset's dataset.json and
# its thumbnail grid; every name in it (the title, the labels, the licence) is the visitor's text, shown as
# text.

from __future__ import annotations

import streamlit as st

from explorer import alt_text, models, training, visitors
from explorer.sections import train as jobs_ui  # the job list and its actions, shared with the Train page
from jobservice import datasets
from jobservice.spec import DATASET_FITS, DATASET_SIZES
from vae.plural import count

SIZES = {"28-grey": "28×28 grey (like MNIST)", "32-colour": "32×32 colour", "64-colour": "64×64 colour"}
FITS = {"crop": "Centre-crop to a square", "pad": "Pad to a square (keeps the whole image)"}
STAGES = {"checking": "Checking the zip (members, sizes, compression ratio, paths)…",
          "preparing": "Opening and resizing each image…", "saving": "Saving the dataset…"}
INTRO = ("Train on your own pictures: a `.zip` with one folder per label (`cats/1.png`, `dogs/7.jpg`, …, "
         "the layout of Keras' `image_dataset_from_directory`; a zip of images without folders is one "
         "unlabelled set). PNG, JPEG, GIF, BMP and WEBP images are used; anything else is skipped and "
         "counted. The zip is checked and every image made the size you pick in a job on this server, and "
         "about one image in six of each label is kept aside, always the same ones, as the test split. The "
         "dataset is yours alone unless you share it with the class.")


def upload_form(runner: training.LocalProcessRunner) -> None:
    """The upload form: the zip, the dataset's name, size, fit and licence line; a submitted zip is queued."""
    if not visitors.can_act():
        return  # (the training form above already offers an anonymous visitor the sign-in)
    lim = runner.limits
    st.caption(f"Each visitor may keep {count(lim.datasets_per_owner, 'dataset')} "
               f"({lim.dataset_bytes_per_owner / 2**20:,.0f} MB); a dataset may hold "
               f"{count(lim.dataset_images, 'image')}, and a zip may be at most "
               f"{st.get_option('server.maxUploadSize')} MB (this server's upload limit).")
    with st.form("dataset_form", enter_to_submit=False):
        chosen = st.file_uploader("Zip of images, one folder per label", type=["zip"], key="dataset_zip")
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Dataset name", max_chars=80, placeholder="e.g. my leaves", key="dataset_name")
        size = c2.selectbox("Image size", DATASET_SIZES, format_func=SIZES.get, key="dataset_size")
        fit = c3.selectbox("Fit", DATASET_FITS, format_func=FITS.get, key="dataset_fit")
        licence = st.text_input("Licence of the images (shown on the dataset's card)", max_chars=200,
                                placeholder="e.g. drawn by our class, CC BY 4.0", key="dataset_licence")
        submitted = st.form_submit_button("Prepare the dataset")
    if submitted:
        start_upload(runner, chosen, name=name, size=size, fit=fit, licence=licence)


def start_upload(runner: training.LocalProcessRunner, chosen, **spec_settings) -> None:
    """Queue the preparation of the visitor's zip (Streamlit's upload), or say why not."""
    if chosen is None:
        st.warning("Choose a zip file first.")
        return
    def make(owner: str):
        uploads = {training.DATASET_UPLOAD: chosen.getvalue()}
        return training.DatasetSpec(source="upload", file_name=chosen.name,
                                    digest=training.upload_digest(uploads), **spec_settings), uploads

    jobs_ui.submit(runner, "upload images", make)


def server_folders(runner: training.LocalProcessRunner) -> None:
    """The operator's folders (VAE_DATASET_FOLDERS) not yet prepared at the chosen size: a button each."""
    folders = datasets.operator_folders()
    if not folders or not visitors.can_act():
        return
    size = st.session_state.get("dataset_size", DATASET_SIZES[0])
    fit = st.session_state.get("dataset_fit", DATASET_FITS[0])
    ready = {d.id for d in datasets.all_datasets()}
    waiting = [fid for fid in folders if datasets.folder_dataset_id(fid, size, fit) not in ready]
    if not waiting:
        return
    st.markdown(f"**This server's image folders**, for everyone, not yet prepared at {SIZES[size]}:")
    for fid in waiting:
        if st.button(f"Prepare {fid}", key=f"prepare-{fid}"):
            try:
                spec = training.DatasetSpec(source="folder", folder=fid, size=size, fit=fit, name=fid)
                runner.start(spec, owner=visitors.acting_owner("prepare a dataset"))
            except ValueError as exc:
                st.error(str(exc))


def label_table(meta: dict) -> str:
    """Images per label as a Markdown table, each label as plain text."""
    rows = [f"| {models.plain_text(label, 40)} | {c.get('train', 0):,} | {c.get('test', 0):,} |"
            for label, c in (meta.get("counts") or {}).items()]
    return "\n".join(["| label | training images | test images |", "|---|---:|---:|", *rows])


def card(dataset: datasets.OwnDataset, owner: str | None) -> None:
    """A dataset's card: name, who it is for, images per label, size, licence, thumbnails; its owner may share
    or delete it."""
    meta = dataset.meta
    with st.container(border=True):
        whose = ("yours" + (", shared with the class" if dataset.access.shared else ", only you see it")
                 if dataset.mine(owner) else "this server's, for everyone"
                 if dataset.access.owner == datasets.SERVER else "shared by a classmate")
        st.markdown(f"**{models.plain_text(dataset.title)}** · {whose} · train on it as `{dataset.name}`")
        skipped = sum((meta.get("skipped") or {}).values())
        st.caption(f"{count(dataset.images, 'image')} in {count(len(meta.get('labels', [])), 'label')}, "
                   f"{meta.get('size_text', '')}, {meta.get('fit_text', '')}; "
                   f"{meta.get('n_test', 0):,} kept aside as the test split"
                   + (f"; {count(skipped, 'file')} skipped" if skipped else "") + ".")
        st.markdown("Licence: " + (models.plain_text(meta["licence"], 200) if meta.get("licence")
                                   else "none given"))
        thumbs = dataset.folder / "thumbs.png"
        if thumbs.is_file():
            rows = meta.get("thumbnail_rows", [])
            st.image(thumbs.read_bytes(), alt=alt_text.dataset_grid(dataset.title, rows, 8))
            first = f" (the first {len(rows)} labels)" if len(rows) < len(meta.get("labels", [])) else ""
            st.caption("Rows, top to bottom: " + ", ".join(models.plain_text(r, 40) for r in rows) + first)
        with st.expander("Images per label"):
            st.markdown(label_table(meta))
            if skipped:
                st.caption("Skipped: " + "; ".join(f"{count(n, 'file')} {models.plain_text(why, 80)}"
                                                  for why, n in meta["skipped"].items()))
        if dataset.mine(owner):
            share, delete = st.columns(2)
            shared = share.toggle("Share with the class", value=dataset.access.shared,
                                  key=f"share-dataset-{dataset.id}", disabled=dataset.access.published,
                                  help="Your teacher shared it with the class." if dataset.access.published
                                  else None)
            if shared != dataset.access.shared:
                act(lambda: datasets.set_shared(dataset.folder, owner, shared))
            if delete.button("Delete this dataset", key=f"delete-dataset-{dataset.id}",
                             help="Models trained on it stay."):
                act(lambda: datasets.delete(dataset.id, owner))


def act(action) -> None:
    """Share or delete a dataset; one gone meanwhile, or not this visitor's, is refused with a sentence."""
    try:
        action()
    except (LookupError, PermissionError, ValueError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def cards() -> None:
    """The cards of the datasets this visitor may train on."""
    owner = visitors.owner()
    shown = datasets.visible(owner)
    if not shown:
        st.info("No datasets of your own yet.")
    for dataset in shown:
        card(dataset, owner)


def show_dataset_job(runner: training.LocalProcessRunner, job: training.JobStatus) -> None:
    """One dataset job: queued, its stage, prepared (with what it says), or refused with the sentence why."""
    s = job.spec
    with st.container(border=True):
        source = models.plain_text(s.file_name, 60) if s.file_name else "a server folder"
        st.markdown(f"**{models.plain_text(s.display_name)}** · `{job.state}` — {source}, {SIZES[s.size]}")
        if job.state == "queued":
            st.info(f"Queued: position {job.queue_position} on this server; it starts in turn.")
        elif job.active:
            st.progress(min(max(job.progress, 0.0), 1.0), text=STAGES.get(job.stage, "Starting…"))
        elif job.state == "done":
            st.success(models.plain_text(job.message, 400))
        elif job.state == "refused":
            st.error(f"Refused: {models.plain_text(job.message, 400)}")
        else:
            st.error(models.plain_text(job.message, 400))
        if job.state == "queued" and st.button("Cancel", key=f"cancel-dataset-{job.id}"):
            jobs_ui.act(lambda: runner.stop(job.id, owner=visitors.owner()))
        if not job.active:
            jobs_ui.finished(runner, job, key="-dataset", remove_help="Removes the job; its dataset stays.")


def section(runner: training.LocalProcessRunner) -> None:
    """The whole own-images part of the Train page."""
    st.markdown(INTRO)
    upload_form(runner)
    server_folders(runner)
    jobs_ui.job_list(runner, kind="dataset", show=show_dataset_job, empty="No uploads yet.")
    cards()
