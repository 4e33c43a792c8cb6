"""Importing a user's own VAE: the two common shapes import as they are; anything unsafe is refused.

The foreign models are built and saved here, with untrained weights; metrics and reference
encodings use scikit-learn's bundled digits so nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from tests.support.keras_models import (  # noqa: E402
    MyScale,
    Sampling,
    course_model,
    keras_example,
    lambda_encoder,
)
from vae.importing import importer  # noqa: E402
from vae.importing.archive_check import ImportRefused, inspect_archive  # noqa: E402
from vae.importing.plan import analyze_decoder, analyze_encoder  # noqa: E402


def _save(model, path: Path) -> Path:
    model.save(path)
    return path


@pytest.fixture(scope="module")
def example_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("keras_example")
    enc, dec = keras_example()
    return _save(enc, d / "enc.keras"), _save(dec, d / "dec.keras")


@pytest.fixture(scope="module")
def course_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("course")
    enc, dec = course_model()
    return _save(enc, d / "enc.keras"), _save(dec, d / "dec.keras")


def _images(n: int = 8) -> np.ndarray:
    from vae.inputs.data import load_dataset

    return load_dataset("digits").x_test[:n]


def _original(path: Path):
    """The user's file loaded by Keras as the user would (their custom objects supplied)."""
    return keras.saving.load_model(path, custom_objects={"Sampling": Sampling}, compile=False)


def _assert_served_matches(bundle: Path, enc_file: Path, dec_file: Path, latent: int) -> None:
    from vae.bundles.serving import ServedModel

    served = ServedModel(bundle)
    assert served.latent_dim == latent
    x = _images()
    z_mean, z_log_var, _ = _original(enc_file)(x, training=False)
    got_mean, got_log_var = served.encode(x)
    np.testing.assert_allclose(got_mean, np.asarray(z_mean), atol=1e-4)
    np.testing.assert_allclose(got_log_var, np.asarray(z_log_var), atol=1e-4)
    z = np.random.default_rng(0).normal(size=(5, latent)).astype(np.float32) * 2
    want = np.asarray(_original(dec_file)(z, training=False)).reshape(5, 28, 28)
    np.testing.assert_allclose(served.decode(z), want, atol=1e-4)


# --------------------------------------------------------------------------- (a) the Keras example

@pytest.fixture(scope="module")
def example_bundle(example_files, tmp_path_factory):
    enc, dec = example_files
    return importer.import_graph(enc, dec, tmp_path_factory.mktemp("out") / "example", dataset="digits")


def test_keras_example_imports_and_serves_like_keras(example_bundle, example_files):
    _assert_served_matches(example_bundle, *example_files, latent=2)
    config = json.loads((example_bundle / "config.json").read_text())
    assert config["preset"] == "imported" and config["latent_dim"] == 2
    card = json.loads((example_bundle / "card.json").read_text())
    assert card["source"]["encoder"]["file"] == "enc.keras" and card["heads"]["sampling_layer"] == "sampling"
    ref = np.load(example_bundle / "reference.npz")
    assert ref["z_mean"].shape == (360, 2) and ref["labels"].shape == (360,)


def test_evaluate_on_imported_bundle_gives_keras_numbers(example_bundle, example_files, capsys):
    from vae.cli import main

    assert main(["evaluate", "--model", str(example_bundle), "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stored = json.loads((example_bundle / "metrics.json").read_text())
    assert got["neg_elbo"] == pytest.approx(stored["neg_elbo"], rel=1e-6)
    # The same number straight from the original files: Bernoulli NLL at z_mean + analytic KL.
    from vae.inputs.data import load_dataset

    x = load_dataset("digits").x_test
    z_mean, z_log_var, _ = _original(example_files[0])(x, training=False)
    p = np.clip(np.asarray(_original(example_files[1])(z_mean, training=False), np.float64), 1e-12, 1 - 1e-12)
    rec = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(1)
    zm, zl = np.asarray(z_mean, np.float64), np.asarray(z_log_var, np.float64)
    kl = (-0.5 * (1 + zl - zm**2 - np.exp(zl))).sum(1)
    assert got["neg_elbo_at_mean"] == pytest.approx(float(np.mean(rec + kl)), rel=1e-4)


# --------------------------------------------------------------------------- (b) the course's shape

def test_course_shape_imports_and_card_says_sigma_is_a_log_variance(course_files, tmp_path):
    enc, dec = course_files
    bundle = importer.import_graph(enc, dec, tmp_path / "course", dataset="digits", name="Course VAE")
    _assert_served_matches(bundle, enc, dec, latent=3)
    card = json.loads((bundle / "card.json").read_text())
    assert card["heads"] == {"z_mean": "latent_mu", "z_log_var": "latent_sigma",
                             "roles_from": "sampling layer",
                             "sampling_layer": "z"}
    md = (bundle / "MODEL_CARD.md").read_text()
    assert ("the head named latent_sigma is a log-variance: it enters the sampling layer as "
            "exp(0.5·latent_sigma)") in md
    assert md.startswith("# Course VAE")


def test_roles_come_from_the_sampling_layer_not_from_names_or_output_order(course_files):
    config = inspect_archive(course_files[0]).config
    layers_cfg = config["config"]["layers"]
    # Outputs listed in another order: the roles still follow the sampling layer's inputs.
    config["config"]["output_layers"] = [["z", 0, 0], ["latent_sigma", 0, 0], ["latent_mu", 0, 0]]
    plan = analyze_encoder(config)
    assert (plan.mean[0], plan.log_var[0]) == ("latent_mu", "latent_sigma")
    assert plan.config["config"]["output_layers"] == [["latent_mu", 0, 0], ["latent_sigma", 0, 0]]
    assert all(layer["class_name"] != "CourseSampling" for layer in plan.config["config"]["layers"])
    # Swap the sampling layer's inputs: now the head *named* latent_mu is the log-variance.
    sampling = next(layer for layer in layers_cfg if layer["class_name"] == "CourseSampling")
    sampling["inbound_nodes"][0]["args"][0].reverse()
    plan = analyze_encoder(config)
    assert (plan.mean[0], plan.log_var[0]) == ("latent_sigma", "latent_mu")


# --------------------------------------------------------------------------- (c) refusals

def test_lambda_layer_is_refused_and_never_runs(example_files, tmp_path):
    marker = tmp_path / "PWNED"
    enc = lambda_encoder(marker)
    assert marker.exists()  # building the model ran the function: the marker mechanism works
    enc.save(tmp_path / "evil.keras")
    marker.unlink()
    with pytest.raises(ImportRefused, match="Lambda"):
        importer.import_graph(tmp_path / "evil.keras", example_files[1], tmp_path / "out", dataset="digits")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_custom_non_sampling_layer_is_refused(example_files, tmp_path):
    x_in = keras.Input(shape=(28, 28, 1))
    x = layers.Flatten()(MyScale()(x_in))
    z_mean, z_log_var = layers.Dense(2, name="z_mean")(x), layers.Dense(2, name="z_log_var")(x)
    keras.Model(x_in, [z_mean, z_log_var]).save(tmp_path / "custom.keras")
    with pytest.raises(ImportRefused, match="custom class"):
        importer.import_graph(tmp_path / "custom.keras", example_files[1], tmp_path / "out", dataset="digits")


def _rewrite(src: Path, dest: Path, extra: dict[str, bytes] | None = None,
             replace: dict[str, bytes] | None = None,
             compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, (replace or {}).get(info.filename, zin.read(info)))
        for name, data in (extra or {}).items():
            zout.writestr(zipfile.ZipInfo(name), data)
    return dest


def test_extra_member_with_path_traversal_is_refused(example_files, tmp_path):
    bad = _rewrite(example_files[0], tmp_path / "enc.keras", extra={"../evil.py": b"import os\n"})
    assert "../evil.py" in zipfile.ZipFile(bad).namelist()
    with pytest.raises(ImportRefused, match=r"unsafe path"):
        importer.import_graph(bad, example_files[1], tmp_path / "out", dataset="digits")
    bad = _rewrite(example_files[0], tmp_path / "enc2.keras", extra={"assets/run.py": b"print(1)\n"})
    with pytest.raises(ImportRefused, match="unexpected member 'assets/run.py'"):
        inspect_archive(bad)


def test_a_refusal_names_each_file_once_as_its_owner_did(example_files, tmp_path):
    """The app stores uploads as encoder.keras and decoder.keras; a student who swapped the files (their
    encoder named vae_decoder.keras) once read "vae_vae_encoder.keras + vae_encoder.keras: …", the stored
    names having been swapped for theirs one after the other in the finished message."""
    config = inspect_archive(example_files[1]).config
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["units"] = 25_000_000  # over the parameter cap: refused before anything loads
    shutil.copyfile(example_files[0], tmp_path / "encoder.keras")
    _rewrite(example_files[1], tmp_path / "decoder.keras",
             replace={"config.json": json.dumps(config).encode()})
    theirs = {"encoder": "vae_decoder.keras", "decoder": "vae_encoder.keras"}
    with pytest.raises(ImportRefused) as info:
        importer.import_graph(tmp_path / "encoder.keras", tmp_path / "decoder.keras", tmp_path / "out",
                              dataset="digits", file_names=theirs)
    assert str(info.value).startswith("vae_decoder.keras + vae_encoder.keras: the model declares ")
    (tmp_path / "decoder.keras").write_text("hello")  # and a refusal of one file names that file
    with pytest.raises(ImportRefused) as info:
        importer.import_graph(tmp_path / "encoder.keras", tmp_path / "decoder.keras", tmp_path / "out",
                              dataset="digits", file_names=theirs)
    assert str(info.value) == "vae_encoder.keras: not a .keras archive (it is not a zip file)"


def test_zip_bomb_member_is_refused(example_files, tmp_path):
    bomb = b"\x89HDF\r\n\x1a\n" + bytes(20 * 1024 * 1024)
    bad = _rewrite(example_files[1], tmp_path / "dec.keras", replace={"model.weights.h5": bomb},
                   compression=zipfile.ZIP_DEFLATED)
    assert bad.stat().st_size < 1024 * 1024
    with pytest.raises(ImportRefused, match="compression-ratio cap"):
        inspect_archive(bad)


def test_legacy_h5_and_non_zip_are_refused(tmp_path):
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ImportRefused, match="legacy HDF5"):
        inspect_archive(tmp_path / "model.h5")
    (tmp_path / "x.keras").write_text("hello")
    with pytest.raises(ImportRefused, match="not a .keras archive"):
        inspect_archive(tmp_path / "x.keras")


def test_function_config_and_custom_activation_are_refused(example_files):
    config = inspect_archive(example_files[1]).config
    layer = config["config"]["layers"][1]
    layer["config"]["activation"] = {"module": "builtins", "class_name": "function", "config": "exec",
                                     "registered_name": "function"}
    with pytest.raises(ImportRefused, match="serialized Python function"):
        analyze_decoder(config)
    layer["config"]["activation"] = "evil>act"
    with pytest.raises(ImportRefused, match="not a built-in Keras activation"):
        analyze_decoder(config)


def test_decoder_without_sigmoid_output_is_refused(example_files):
    config = inspect_archive(example_files[1]).config
    config["config"]["layers"][-1]["config"]["activation"] = "relu"
    with pytest.raises(ImportRefused, match="sigmoid"):
        analyze_decoder(config)


def test_time_limit_is_enforced(example_files, tmp_path):
    with pytest.raises(ImportRefused, match="longer than the 1 s limit"):
        importer.import_graph(*example_files, tmp_path / "out", dataset="digits", timeout_s=1)
    assert not (tmp_path / "out").exists()


def test_memory_limit_is_enforced_in_the_child(example_files, tmp_path, monkeypatch):
    """A config that declares a huge layer fails inside the child's memory limit, should the size check
    before it (vae.importing.model_size, tests/test_import_memory.py) ever let one through."""
    config = inspect_archive(example_files[1]).config
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["units"] = 2**31 - 1  # ~16 GB of kernel for a 2-d input
    bad = _rewrite(example_files[1], tmp_path / "dec.keras",
                   replace={"config.json": json.dumps(config).encode()})
    monkeypatch.setattr(importer, "check_size", lambda *args: 0)
    with pytest.raises(ImportRefused, match="needs more memory than the 2048 MB limit") as info:
        importer.import_graph(example_files[0], bad, tmp_path / "out", dataset="digits", memory_mb=2048)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- (d) the CLI

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vae", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_cli_refusal_exits_2_with_one_line(example_files, tmp_path):
    marker = tmp_path / "PWNED"
    lambda_encoder(marker).save(tmp_path / "evil.keras")
    marker.unlink()
    proc = _cli("import", "--encoder", str(tmp_path / "evil.keras"), "--decoder", str(example_files[1]),
                "--out", str(tmp_path / "out"), "--dataset", "digits")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: evil.keras: "), proc.stderr
    assert "Lambda" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not marker.exists() and not (tmp_path / "out").exists()
    proc = _cli("import", "--weights", str(example_files[1]), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: --weights needs --preset")
    assert len(proc.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- (e) a preset's weights file

def test_weights_file_for_a_preset_imports(tmp_path):
    from vae.bundles.save import load_vae
    from vae.bundles.serving import ServedModel
    from vae.model.config import ModelConfig
    from vae.model.presets import build_vae

    vae = build_vae(ModelConfig(preset="course", latent_dim=4), seed=0)
    vae.save_weights(tmp_path / "mine.weights.h5")
    bundle = importer.import_weights(tmp_path / "mine.weights.h5", "course", 4, tmp_path / "b",
                                     dataset="digits")
    x = _images()
    got_mean, _ = ServedModel(bundle).encode(x)
    want_mean, _ = vae.encoder(x, training=False)
    np.testing.assert_allclose(got_mean, np.asarray(want_mean), atol=1e-4)
    loaded, cfg = load_vae(bundle)  # an ordinary preset bundle
    assert cfg.preset == "course" and cfg.latent_dim == 4
    assert "mine.weights.h5" in (bundle / "MODEL_CARD.md").read_text()
    # The same file for another latent size is refused, with the reason.
    with pytest.raises(ImportRefused, match="latent_dim 3"):
        importer.import_weights(tmp_path / "mine.weights.h5", "course", 3, tmp_path / "c", dataset="digits")
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------- (f) as a job of the runner

def _run_import_job(tmp_path: Path, files: list[Path], owner: str = "v-visitor", **settings):
    """Start an import as the web page does (the files' bytes handed to the runner) and wait for its end."""
    import time

    from jobservice import FINISHED, ImportSpec, LocalProcessRunner

    runner = LocalProcessRunner(tmp_path / "jobs", tmp_path / "models", max_running=1, threads=1)
    spec, uploads = ImportSpec.of_files("graph", [(f.name, f.read_bytes()) for f in files], **settings)
    job_id = runner.start(spec, owner=owner, uploads=uploads)
    deadline = time.time() + 300
    while (job := runner.status(job_id)).state not in FINISHED and time.time() < deadline:
        time.sleep(0.3)
    return runner, job


def test_import_job_makes_a_model_owned_by_its_visitor(example_files, tmp_path):
    from jobservice import user_models

    runner, job = _run_import_job(tmp_path, list(example_files), dataset="digits", name="Their VAE")
    assert job.state == "done", f"{job.message}\n{runner.log_tail(job.id)}"
    assert job.message.startswith("Imported: latent_dim 2, test −ELBO ") and job.stage == "saving"
    assert job.bundle == job.out and job.out.name.startswith("their-vae-")
    assert user_models.access(job.bundle).owner == "v-visitor"  # given by the runner's reconcile
    assert json.loads((job.bundle / "card.json").read_text())["name"] == "Their VAE"
    _assert_served_matches(job.bundle, *example_files, latent=2)


def test_import_job_refuses_a_lambda_and_never_runs_it(example_files, tmp_path):
    marker = tmp_path / "PWNED"
    lambda_encoder(marker).save(tmp_path / "evil.keras")
    marker.unlink()
    runner, job = _run_import_job(tmp_path, [tmp_path / "evil.keras", example_files[1]], dataset="digits")
    assert job.state == "refused", f"{job.state}: {job.message}\n{runner.log_tail(job.id)}"
    # The refusal names the file as the visitor did (the job's folder holds it as encoder.keras).
    assert re.match(r"evil\.keras: encoder: layer 'lambda\w*' is a Lambda layer", job.message), job.message
    assert "\n" not in job.message and job.bundle is None
    assert not marker.exists() and not list((tmp_path / "models").glob("*"))


def test_an_imports_card_names_the_files_as_the_visitor_did(example_files, tmp_path, monkeypatch):
    """The card once said "Imported from encoder.keras and decoder.keras" (the job folder's names) for the
    visitor's kerasio_*.keras; the Import page's card shows theirs."""
    from tests.support.visitors import import_page, owner

    theirs = []
    for path, name in zip(example_files, ("kerasio_encoder.keras", "kerasio_decoder.keras")):
        shutil.copyfile(path, tmp_path / name)
        theirs.append(tmp_path / name)
    runner, job = _run_import_job(tmp_path, theirs, owner=owner(), dataset="digits")
    assert job.state == "done", f"{job.message}\n{runner.log_tail(job.id)}"
    card = json.loads((job.bundle / "card.json").read_text())
    assert [card["source"][role]["file"] for role in ("encoder", "decoder")] == [p.name for p in theirs]
    assert card["description"] == "Imported from `kerasio_encoder.keras` and `kerasio_decoder.keras`."
    assert "encoder.keras and decoder.keras" not in (job.bundle / "MODEL_CARD.md").read_text()
    monkeypatch.setenv("VAE_JOBS_DIR", str(runner.root))
    monkeypatch.setenv("VAE_USER_MODELS", str(runner.models_dir))
    at = import_page()
    [shown] = [m.value for m in at.markdown if "Imported from" in m.value]  # the card, in its expander
    assert "Imported from `kerasio_encoder.keras` and `kerasio_decoder.keras`." in shown
    assert "`kerasio_encoder.keras` (sha256 " in shown and "`kerasio_decoder.keras` (sha256 " in shown


def test_an_import_job_gives_the_model_its_classifier(example_files, tmp_path):
    """As a trained model does: the Latent map's overlay and the Decoder's probabilities work on imports."""
    from vae.bundles.serving import ServedModel

    job = tmp_path / "job"
    job.mkdir()
    proc = _cli("import", "--encoder", str(example_files[0]), "--decoder", str(example_files[1]),
                "--out", str(tmp_path / "out"), "--dataset", "digits", "--job-dir", str(job))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Classifier: test accuracy" in proc.stdout
    served = ServedModel(tmp_path / "out")
    assert served.classifier is not None and served.classifier.labels == [str(i) for i in range(10)]
    assert json.loads((job / "status.json").read_text())["state"] == "done"
