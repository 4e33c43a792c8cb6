"""Own image datasets on the Train page (Streamlit AppTest): an upload prepared in a real job and shown as a
card, a hostile zip refused in a sentence, quotas, and another visitor who neither sees nor trains on an
unshared one."""

from __future__ import annotations

import json
import re
import time

import pytest

from jobservice import DatasetSpec, LimitReached, LocalProcessRunner, datasets, upload_digest
from tests.support.image_folders import digits_files, shapes_files, zip_bytes
from tests.support.visitors import owner, train_page

BOB = "bob-token-0123456789ab"


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """This test's VAE_HOME: jobs, models and datasets under it."""
    for variable in ("VAE_JOBS_DIR", "VAE_USER_MODELS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VAE_MAX_JOBS", "1")
    yield tmp_path / "home"
    for job in LocalProcessRunner(max_running=0).list():
        assert not job.active or job.kind != "dataset" or job.state == "queued", "a dataset job still runs"


def shown(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.error, *at.success,
                                           *at.warning])


def upload(at, name: str, data: bytes, title: str = "", size: str = "28-grey", fit: str = "crop",
           licence: str = "") -> None:
    at.file_uploader(key="dataset_zip").upload(name, data, "application/zip")
    at.text_input(key="dataset_name").input(title)
    at.selectbox(key="dataset_size").select(size)
    at.selectbox(key="dataset_fit").select(fit)
    at.text_input(key="dataset_licence").input(licence)
    next(b for b in at.button if b.label == "Prepare the dataset").click().run()
    assert not at.exception, at.exception


def wait(kind: str = "dataset", timeout: float = 120.0):
    runner = LocalProcessRunner()
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = [j for j in runner.list() if j.kind == kind]
        if jobs and not any(j.active for j in jobs):
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"the {kind} job did not end: {runner.log_tail(jobs[0].id) if jobs else 'none'}")


def test_an_uploaded_zip_is_prepared_in_a_job_and_shown_as_a_card(home):
    at = train_page()
    assert "No datasets of your own yet." in shown(at)
    upload(at, "my shapes.zip", zip_bytes(shapes_files(6)), title="Shapes *of mine*", size="32-colour",
           licence="drawn by the tests, CC0 $1")
    [job] = wait()
    assert job.state == "done" and job.owner == owner(), job.message
    assert job.message == "Prepared 18 images in 3 labels at 32×32 colour (3 for the test split)."
    assert not (home / "jobs" / job.id / "upload").exists()  # the zip is gone once the job ends
    assert LocalProcessRunner().disk_use().datasets > 0  # the server's disk budget counts datasets
    at.run()
    assert not at.exception, at.exception
    text = shown(at)
    # The card: its name and licence as text (Markdown and $ escaped), images per label, size, thumbnails.
    assert "**Shapes \\*of mine\\***" in text and "drawn by the tests, CC0 \\$1" in text
    assert "18 images in 3 labels, 32×32 colour, centre-cropped to a square; 3 kept aside" in text
    assert "| circle | 5 | 1 |" in text
    assert "Rows, top to bottom: circle, square, triangle" in text
    alts = [img.alt for element in at.get("image") for img in element.proto.imgs]
    assert any(alt.startswith("sample images of Shapes *of mine*: a row of up to 8 for each label, top to "
                              "bottom: circle, square, triangle") for alt in alts)
    [dataset] = datasets.visible(owner())
    box = next(s for s in at.selectbox if s.label == "Dataset")
    assert "Shapes *of mine* (32×32 colour, 18 images)" in box.options  # a select box shows text as is
    # Another visitor sees none of it, and cannot train on it by its name either.
    bob = train_page(BOB)
    assert "No datasets of your own yet." in shown(bob) and "Shapes" not in shown(bob)
    assert not any("Shapes" in o for o in next(s for s in bob.selectbox if s.label == "Dataset").options)
    with pytest.raises(ValueError, match="another visitor's and not shared"):
        datasets.check_use(f"own/{dataset.id}", owner(BOB))
    # Shared with the class, it is theirs to train on (not to delete).
    next(t for t in at.toggle if t.label == "Share with the class").set_value(True).run()
    assert datasets.visible(owner(BOB)) and datasets.check_use(f"own/{dataset.id}", owner(BOB)) is None
    bob.run()
    assert "shared by a classmate" in shown(bob)
    assert not [b for b in bob.button if b.label == "Delete this dataset"]
    with pytest.raises(PermissionError):
        datasets.delete(dataset.id, owner(BOB))
    next(b for b in at.button if b.label == "Delete this dataset").click().run()
    assert datasets.visible(owner()) == []


def test_a_hostile_zip_is_refused_with_a_sentence_on_the_page(home):
    at = train_page()
    upload(at, "evil.zip", zip_bytes({"a/1.png": b"x", "../../evil.png": b"x"}))
    [job] = wait()
    assert job.state == "refused"
    at.run()
    assert ("Refused: evil.zip: member '../../evil.png' has an unsafe path (absolute or with '..')."
            in [re.sub(r"\\(.)", r"\1", e.value) for e in at.error])  # shown as text: Markdown escaped
    assert not (home / "datasets").exists() or not list((home / "datasets").iterdir())
    assert not (home / "evil.png").exists() and not (home / "jobs" / "evil.png").exists()


def test_quotas_on_count_and_bytes(home, monkeypatch):
    monkeypatch.setenv("VAE_MAX_JOBS", "0")  # nothing starts: the jobs stay queued
    monkeypatch.setenv("VAE_DATASETS_PER_VISITOR", "1")
    runner = LocalProcessRunner()

    def spec(data: bytes) -> DatasetSpec:
        return DatasetSpec(source="upload", file_name="a.zip", digest=upload_digest({"images.zip": data}))

    one, two = zip_bytes(shapes_files(2)), zip_bytes(shapes_files(3))
    runner.start(spec(one), owner="u-a", uploads={"images.zip": one})
    with pytest.raises(LimitReached, match="You have 0 datasets and 1 dataset job under way; each visitor "
                                           "may keep 1"):
        runner.start(spec(two), owner="u-a", uploads={"images.zip": two})
    monkeypatch.setenv("VAE_DATASET_MB_PER_VISITOR", "0.001")
    with pytest.raises(LimitReached, match="this upload .* each visitor may keep 0 MB"):
        LocalProcessRunner().start(spec(two), owner="u-b", uploads={"images.zip": two})
    # The prepared arrays count too: the job is refused if they would not fit what is left.
    monkeypatch.setenv("VAE_DATASET_MB_PER_VISITOR", "0.05")
    command = LocalProcessRunner()._command(LocalProcessRunner().list("u-a")[0])
    assert command[command.index("--max-mb") + 1] == "0.050"


def test_the_operator_folders_are_everyones_and_prepared_in_a_job(home, tmp_path, monkeypatch):
    from tests.support.image_folders import write_folder

    folder = write_folder(tmp_path / "class leaves", shapes_files(3, top="."))
    monkeypatch.setenv("VAE_DATASET_FOLDERS", str(folder))
    [fid] = datasets.operator_folders()
    at = train_page(BOB)
    assert str(folder) not in shown(at)  # its id is shown, never its path
    next(b for b in at.button if b.label == f"Prepare {fid}").click().run()
    [job] = wait()
    assert job.state == "done", job.message
    assert str(folder) not in json.dumps(job.spec.to_dict())
    [dataset] = datasets.visible(owner())  # Alice did not ask for it, and may train on it
    assert dataset.access.owner == "server"
    assert dataset.id == datasets.folder_dataset_id(fid, "28-grey", "crop")
    at.run().run()  # (the first run sees the job ended and reruns the page)
    assert not at.exception, at.exception
    assert "this server's, for everyone" in shown(at)
    assert not [b for b in at.button if b.label == f"Prepare {fid}"]


@pytest.mark.slow
def test_a_one_epoch_training_on_an_own_grey_dataset_of_digits(home):
    """sklearn's digits written as PNGs in class folders, uploaded, prepared, then trained on for 1 epoch."""
    at = train_page()
    upload(at, "digits.zip", zip_bytes(digits_files(per_label=40)), title="Digits as PNG")
    [prepared_job] = wait()
    assert prepared_job.state == "done", prepared_job.message
    at.run()
    [dataset] = datasets.visible(owner())
    box = next(s for s in at.selectbox if s.label == "Dataset")
    box.select(dataset.name)
    epochs = next(n for n in at.number_input if n.label == "Epochs")
    epochs.set_value(1)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [job] = wait("train", timeout=600)
    assert job.state == "done", (job.message, LocalProcessRunner().log_tail(job.id))
    card = json.loads((job.bundle / "card.json").read_text())
    assert card["dataset"] == dataset.name and card["n_train"] == dataset.meta["n_train"]
    # Every page opens on the new model (its labels' names on the pages are issue 27's colour work).
    from tests.support.pages import open_page

    for page in ("pages/home.py", "pages/latent_map.py", "pages/decoder.py", "pages/encode.py",
                 "pages/how_it_works.py", "pages/compare.py"):
        assert not open_page(page, str(job.bundle)).error, page
