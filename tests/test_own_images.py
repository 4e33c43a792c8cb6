"""A dataset from a zip of one's own images (vae.inputs.image_zip, own_images): the layout, the sizes, the
fixed test split, and each kind of hostile zip refused with a sentence, nothing written outside the job's
folder."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.support.image_folders import digits_files, png, shapes_files, write_folder, zip_bytes
from vae.inputs import image_zip, own_images, prepared
from vae.inputs.data import load_dataset
from vae.inputs.image_zip import DatasetRefused


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(tmp_path, files_or_bytes, name="up", **options):
    """The dataset job's own code, in this process: the zip in a job folder, the dataset to
    datasets/<name>."""
    job = tmp_path / "job"
    (job / "upload").mkdir(parents=True, exist_ok=True)
    data = files_or_bytes if isinstance(files_or_bytes, bytes) else zip_bytes(files_or_bytes)
    (job / "upload" / "images.zip").write_bytes(data)
    out = tmp_path / "home" / "datasets" / name
    options = {"size": "28-grey", "fit": "crop", "title": "Mine", **options}
    return own_images.run(job / "upload" / "images.zip", out, shown="mine.zip", job_dir=job, owner="u-a",
                          **options), job


def refused(tmp_path, files_or_bytes, **options) -> str:
    """The sentence a hostile zip is refused with; asserts that the job says so and wrote no dataset."""
    with pytest.raises(DatasetRefused):
        run(tmp_path, files_or_bytes, **options)
    status = json.loads((tmp_path / "job" / "status.json").read_text())
    assert status["state"] == "refused" and status["message"].startswith("mine.zip: ")
    assert status["message"].endswith(".") and "Traceback" not in status["message"]
    assert str(tmp_path) not in status["message"]
    written = tmp_path / "home" / "datasets"
    assert not written.exists() or not any(written.iterdir())
    return status["message"]


def test_digits_as_class_folders_become_a_28_grey_dataset_with_a_fixed_test_split(tmp_path, home):
    files = digits_files(per_label=30)
    out, job = run(tmp_path, files, name="digits-a", licence="BSD-3-Clause (scikit-learn)")
    data = load_dataset("own/digits-a")
    assert data.class_names == [str(d) for d in range(10)] and data.image_shape == (28, 28, 1)
    assert len(data.x_train) + len(data.x_test) == 300 and 35 <= len(data.x_test) <= 65  # about one in six
    assert np.bincount(data.y_test, minlength=10).min() >= 1 and np.bincount(data.y_train).min() >= 20
    meta = prepared.read_meta("own/digits-a")
    assert meta["licence"] == "BSD-3-Clause (scikit-learn)" and meta["size"] == "28-grey"
    test_files = json.loads((out / "split.json").read_text())["test_files"]
    assert meta["counts"]["3"] == {"train": int(np.sum(data.y_train == 3)),
                                   "test": int(np.sum(data.y_test == 3))}
    assert len(test_files) == len(data.x_test) and meta["split"]["test_files_in"] == "split.json"
    # The pixels are the digit's own: the PNG written, read back the same (28×28 grey needs no resize).
    first = sorted(n for n in files if n.startswith("digits/0/") and n not in test_files)[0]
    original = np.asarray(Image.open(io.BytesIO(files[first])))
    assert np.array_equal(np.round(data.x_train[0, ..., 0] * 255).astype(np.uint8), original)
    # The same upload splits the same way again, and adding files does not move the old ones.
    extra = {f"digits/{d}/extra-{i}.png": files[first] for d in range(10) for i in range(5)}
    out2, _ = run(tmp_path / "again", {**files, **extra}, name="digits-b")
    again = json.loads((out2 / "split.json").read_text())["test_files"]
    assert set(again) - set(extra) == set(test_files)
    assert json.loads((job / "status.json").read_text())["state"] == "done"
    assert (out / "thumbs.png").is_file() and json.loads((out / "access.json").read_text())["owner"] == "u-a"


@pytest.mark.parametrize("size, fit, shape", [("32-colour", "crop", (32, 32, 3)),
                                              ("64-colour", "pad", (64, 64, 3)),
                                              ("28-grey", "pad", (28, 28, 1))])
def test_coloured_shapes_take_the_chosen_size_and_fit(tmp_path, home, size, fit, shape):
    out, _ = run(tmp_path, shapes_files(6), name="shapes", size=size, fit=fit)
    data = load_dataset("own/shapes")
    assert data.image_shape == shape and data.class_names == ["circle", "square", "triangle"]
    assert set(data.y_test) == set(data.y_train) == {0, 1, 2}  # each label on both sides
    if shape[2] == 3:  # the red, green and blue shapes are still coloured
        spread = data.x_train.reshape(-1, 3)
        assert (spread.max(axis=1) - spread.min(axis=1)).max() > 0.5


def test_pad_keeps_the_whole_picture_and_crop_cuts_its_sides():
    wide = Image.new("RGB", (60, 20), (255, 255, 255))
    wide.paste((0, 0, 0), (0, 0, 4, 20))  # a black bar at the far left
    cropped = own_images.fit_image(wide, "28-grey", "crop")
    padded = own_images.fit_image(wide, "28-grey", "pad")
    assert cropped.min() > 200  # the bar was cut off with the sides
    assert padded.min() < 60 and padded[0, 0, 0] > 200  # the bar is there; the padding is the edge's white


def test_flat_zip_is_one_unlabelled_set_and_files_beside_folders_are_skipped(tmp_path, home):
    flat = {f"pics/{i}.png": png(Image.new("L", (28, 28), i * 20)) for i in range(6)}
    out, _ = run(tmp_path, flat, name="flat")
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == ["pics"] and meta["n_train"] + meta["n_test"] == 6
    mixed = {**shapes_files(3), "shapes/readme.png": flat["pics/0.png"], "shapes/notes.txt": b"hello"}
    out, _ = run(tmp_path / "mixed", mixed, name="mixed")
    skipped = json.loads((out / "dataset.json").read_text())["skipped"]
    assert skipped == {"not an image file by its name": 1, "beside the label folders, so in no label": 1}


def test_label_names_are_plain_text(tmp_path, home):
    files = {"x/**bold** $x$/a.png": png(Image.new("L", (28, 28), 9)),
             "x/**bold** $x$/b.png": png(Image.new("L", (28, 28), 90)),
             "x/ok/c.png": png(Image.new("L", (9, 9)))}
    out, _ = run(tmp_path, files, name="names")
    assert json.loads((out / "dataset.json").read_text())["labels"] == ["**bold** $x$", "ok"]


def test_unreadable_files_are_skipped_and_counted_never_a_crash(tmp_path, home):
    good = shapes_files(3)
    broken = {"shapes/circle/text.png": b"this is text, not a picture\n" * 20,
              "shapes/square/cut.png": png(Image.new("RGB", (40, 40), (9, 9, 9)))[:60],
              "shapes/square/empty.png": b"", "shapes/triangle/tiff.png": b"II*\x00" + bytes(100)}
    out, _ = run(tmp_path, {**good, **broken}, name="broken")
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["skipped"] == {"not a readable image": 4} and meta["n_train"] + meta["n_test"] == 9
    message = refused(tmp_path / "all", broken)  # nothing usable at all: refused with a sentence
    assert "none of its 4 files could be read as an image" in message


def test_a_zip_bomb_by_ratio_is_refused(tmp_path, home):
    bomb = zip_bytes({"a/bomb.png": bytes(20 * 2**20)})
    assert "compression-ratio cap" in refused(tmp_path, bomb)


def test_the_ratio_is_counted_on_the_bytes_read_across_members(tmp_path, home, monkeypatch):
    # Each member stays under the size at which one member's ratio is judged; together they expand 1,000x.
    many = {f"a/{i}.png": bytes(60 * 1024) for i in range(120)}
    assert "when read: a zip bomb?" in refused(tmp_path, many)


def test_too_many_members_is_refused(tmp_path, home, monkeypatch):
    monkeypatch.setattr(image_zip, "MAX_MEMBERS", 20)
    assert "21 members, over the 20 cap" in refused(tmp_path, shapes_files(7))


def test_too_many_images_for_a_dataset_is_refused(tmp_path, home):
    assert "a dataset may have at most 10" in refused(tmp_path, shapes_files(4), max_images=10)


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:/evil.png"])
def test_unsafe_paths_are_refused(tmp_path, home, name):
    files = {**shapes_files(2), name: png(Image.new("L", (28, 28)))}
    assert "has an unsafe path" in refused(tmp_path, files)
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "job" / "evil.png").exists()


def test_a_symlinked_member_is_refused(tmp_path, home):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in shapes_files(2).items():
            zf.writestr(name, data)
        link = zipfile.ZipInfo("shapes/circle/link.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    assert "is a symbolic link" in refused(tmp_path, buffer.getvalue())


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header claims 900 million pixels (Pillow's decompression-bomb limit is 179 M)."""
    raw = png(Image.new("L", (1, 1)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return raw[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + raw[33:]


def test_a_pillow_decompression_bomb_image_is_refused(tmp_path, home):
    files = {**shapes_files(2), "shapes/circle/bomb.png": bomb_png()}
    assert "is a decompression bomb" in refused(tmp_path, files)


def test_not_a_zip_and_no_images_are_refused(tmp_path, home):
    assert "it is not a zip file" in refused(tmp_path, b"hello, not a zip")
    assert "holds no image files" in refused(tmp_path / "b", {"a/notes.txt": b"hi"})


def test_an_operator_folder_is_read_without_following_symlinks(tmp_path, home):
    root = write_folder(tmp_path / "leaves", shapes_files(3, top="."))
    (root / "circle" / "outside.png").symlink_to(tmp_path / "elsewhere.png")
    (root / "linked").symlink_to(tmp_path)
    out = own_images.run(root, tmp_path / "home" / "datasets" / "leaves", shown="leaves", owner="server",
                         size="32-colour", fit="crop", title="Leaves", kind="folder")
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == ["circle", "square", "triangle"] and meta["skipped"] == {"a symbolic link": 1}
    assert json.loads((out / "access.json").read_text()) == {**json.loads((out / "access.json").read_text()),
                                                              "owner": "server", "shared": True}


def test_the_job_process_has_a_memory_cap_and_says_so_in_a_sentence(tmp_path, home):
    import subprocess
    import sys

    (tmp_path / "up.zip").write_bytes(zip_bytes(shapes_files(12)))
    job = tmp_path / "job"
    done = subprocess.run([sys.executable, "-m", "vae", "dataset", str(tmp_path / "up.zip"),
                           "--size", "64-colour", "--memory-mb", "20", "--out", str(home / "datasets" / "x"),
                           "--job-dir", str(job)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    status = json.loads((job / "status.json").read_text())
    assert status["state"] == "failed"
    assert "needs more memory than a dataset job may take" in status["message"]
    assert not (home / "datasets" / "x").exists()


def test_idle_visitors_unshared_datasets_go_with_their_models(tmp_path, home):
    import time

    from jobservice import datasets
    from jobservice.user_models import touch_visitor

    run(tmp_path, shapes_files(2), name="mine")
    run(tmp_path, shapes_files(2), name="shared")
    datasets.set_shared(home / "datasets" / "shared", "u-a", True)
    models = tmp_path / "models"
    touch_visitor(models, "u-a")
    assert datasets.remove_idle(models, 30, time.time() + 29 * 86400) == []
    assert datasets.remove_idle(models, 30, time.time() + 31 * 86400) == ["mine"]
    assert [d.id for d in datasets.all_datasets()] == ["shared"]


@pytest.mark.parametrize("name", ["own/../../etc", "own//tmp/x", "own/", "own/UPPER", "own/a/b"])
def test_a_dataset_is_named_by_its_id_never_a_path(home, name):
    from jobservice import JobSpec, datasets

    with pytest.raises(ValueError, match="not a dataset name of the form own/<id>"):
        JobSpec(dataset=name, epochs=1)
    with pytest.raises(ValueError, match="not on this server, or it is another visitor's"):
        datasets.check_use(name, "u-a")
