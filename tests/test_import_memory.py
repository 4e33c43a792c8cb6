"""An import's size is read from the archive's config before anything loads: a small file declaring huge
layers is refused in this process, without starting the sandbox; a model at the cap imports within the
memory limit (2 GiB), measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from tests.support.keras_models import course_model, keras_example, wide_decoder  # noqa: E402
from vae.importing import importer, model_size  # noqa: E402
from vae.importing.archive_check import ImportRefused, inspect_archive  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def example_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("keras_example")
    enc, dec = keras_example()
    enc.save(d / "enc.keras")
    dec.save(d / "dec.keras")
    return d / "enc.keras", d / "dec.keras"


def _with_config(src: Path, dest: Path, config: dict) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = json.dumps(config).encode() if info.filename == "config.json" else zin.read(info)
            zout.writestr(info.filename, data)
    return dest


def _no_sandbox(*args, **kwargs):
    raise AssertionError("the sandboxed child was started: the size was not checked before loading")


def test_the_count_from_the_config_is_keras_own(tmp_path):
    """Convolutions, transposed convolutions, BatchNormalization and Dense, counted without Keras."""
    for enc, dec in (keras_example(), course_model()):
        for model in (enc, dec):
            model.save(tmp_path / "m.keras")
            config = inspect_archive(tmp_path / "m.keras").config
            params, _ = model_size.parameters_and_activation(config)
            assert params == model.count_params(), model.name


def test_a_small_file_declaring_huge_dense_layers_is_refused_before_anything_loads(
        example_files, tmp_path, monkeypatch):
    """The probe's file: a .keras of a few hundred KB whose config declares ~200 MB of Dense kernels (its
    weights do not even match). Before, Keras built them in the sandbox (4.7 to 6.4 GB of peak memory)."""
    config = inspect_archive(example_files[1]).config
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["units"] = 25_000_000  # a 2 × 25 M kernel: 50 M parameters
    crafted = _with_config(example_files[1], tmp_path / "decoder.keras", config)
    assert crafted.stat().st_size < 1_000_000
    monkeypatch.setattr(importer, "run_child", _no_sandbox)
    with pytest.raises(ImportRefused) as info:
        importer.import_graph(example_files[0], crafted, tmp_path / "out", dataset="digits",
                              file_names={"decoder": "big_decoder.keras"})
    assert str(info.value) == (
        "enc.keras + big_decoder.keras: the model declares 75.1 million parameters; this server imports "
        "models of at most 3.0 million (about 11 MB of weights), so that an import fits its memory. A VAE "
        "for 28×28 images needs far fewer: keras-io's example has 134,165")
    assert not (tmp_path / "out").exists()


def test_a_layer_with_weights_that_hides_its_input_shape_is_refused(example_files, tmp_path, monkeypatch):
    config = inspect_archive(example_files[1]).config
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    del dense["build_config"]  # Keras would then build it from whatever reaches it
    crafted = _with_config(example_files[1], tmp_path / "dec.keras", config)
    monkeypatch.setattr(importer, "run_child", _no_sandbox)
    with pytest.raises(ImportRefused, match=r"the decoder's layer '\w+' \(Dense\) does not declare its "
                                            r"input shape \(build_config\)"):
        importer.import_graph(example_files[0], crafted, tmp_path / "out", dataset="digits")


def test_a_huge_activation_is_refused_before_anything_loads(example_files, tmp_path, monkeypatch):
    z = keras.Input((2,))
    x = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(z))
    x = keras.layers.UpSampling2D(10)(x)  # 280×280 per image, then back down
    x = keras.layers.Conv2D(1, 10, strides=10, activation="sigmoid")(x)
    keras.Model(z, x).save(tmp_path / "dec.keras")
    monkeypatch.setattr(importer, "run_child", _no_sandbox)
    with pytest.raises(ImportRefused, match="a layer of the decoder takes 78,400 values per image"):
        importer.import_graph(example_files[0], tmp_path / "dec.keras", tmp_path / "out", dataset="digits")


PEAK = """
import resource, sys
from vae.importing.importer import import_graph
import_graph(sys.argv[1], sys.argv[2], sys.argv[3], dataset="digits")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_a_model_at_the_cap_imports_within_two_gib(example_files, tmp_path):
    """The largest a check accepts (2.98 M parameters, just under the cap) imports under the default
    memory limit, VAE_IMPORT_MEMORY_MB=2048, and its sandbox's peak resident memory is within 2 GiB."""
    wide_decoder(3700).save(tmp_path / "dec.keras")
    params = sum(model_size.parameters_and_activation(inspect_archive(f).config)[0]
                 for f in (example_files[0], tmp_path / "dec.keras"))
    assert 0.95 * model_size.MAX_PARAMETERS < params <= model_size.MAX_PARAMETERS
    run = subprocess.run([sys.executable, "-c", PEAK, str(example_files[0]), str(tmp_path / "dec.keras"),
                          str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "VAE_IMPORT_MEMORY_MB": "2048"})
    assert run.returncode == 0, run.stderr[-2000:]
    peak_mb = int(run.stdout.split()[-1])
    print(f"peak resident memory of the import's sandbox: {peak_mb} MB for {params:,} parameters")
    assert peak_mb <= 2048
    assert (tmp_path / "out" / "bundle.json").is_file()
