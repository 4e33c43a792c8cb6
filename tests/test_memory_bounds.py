"""The web process's memory stays bounded: cached services have limits, and big decodes pin no memory."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


FAKE = None  # set below: a handle whose served model the tests stand in for


class _RecordingModel:
    """Stands in for a ServedModel: decodes z to a picture that depends on z, and records batch sizes."""

    latent_dim = 2

    def __init__(self) -> None:
        self.batches: list[int] = []

    def decode(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, np.float32).reshape(-1, 2)
        self.batches.append(len(z))
        ramp = np.linspace(0.0, 1.0, 28 * 28, dtype=np.float32).reshape(1, 28, 28)
        return (ramp * (1 + np.tanh(z[:, :1, None])) / 2 + 0 * z[:, 1:, None]).clip(0, 1)


def test_decoding_in_batches_gives_every_image_in_order():
    """ServedModel.decode runs the decoder DECODE_BATCH images at a time (a 25x25 manifold grid at once grew
    ONNX Runtime's arena by 190-360 MiB per model, for good; test_drawing_big_grids... measures that):
    the images still come back complete and in order."""
    from vae.bundles.bundle import DEFAULT_MODEL
    from vae.bundles.serving import DECODE_BATCH, ServedModel

    model = ServedModel(DEFAULT_MODEL)
    z = np.random.default_rng(0).normal(size=(2 * DECODE_BATCH + 5, 2))
    images = model.decode(z)
    assert images.shape == (len(z), 28, 28)
    for i in (0, DECODE_BATCH - 1, DECODE_BATCH, len(z) - 1):
        np.testing.assert_allclose(images[i], model.decode(z[i:i + 1])[0], atol=1e-5)
    assert model.decode(np.zeros((0, 2))).shape == (0, 28, 28)


def _rss_growth_of_grids(model: str) -> float:
    """MiB of resident memory a fresh process keeps after drawing two 25x25 grids of `model`'s decoder."""
    code = textwrap.dedent(f"""
        import re, sys
        from pathlib import Path
        import numpy as np
        sys.path.insert(0, {str(REPO)!r})
        from explorer import cache
        from explorer import models

        def rss():
            return int(re.search(r"VmRSS:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024

        path = str((Path({str(REPO)!r}) / {model!r}).resolve())
        handle = models.handle_of(path)
        model = handle.served
        model.decode(np.zeros((1, model.latent_dim)))
        before = rss()
        for seed in (0, 1):
            z = np.random.default_rng(seed).normal(size=(625, model.latent_dim))
            cache.decoded_grid_png(handle, z, 25, 25)
        print(rss() - before)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return float(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmRSS from /proc (Linux)")
def test_drawing_big_grids_does_not_pin_hundreds_of_mib():
    """Measured on the shipped default model: +190 to +360 MiB decoding the grid at once, ~+20 in batches."""
    assert _rss_growth_of_grids("models/mnist-2d") < 100


def _app_trees() -> list[ast.Module]:
    """The app layer's modules, parsed."""
    return [ast.parse(p.read_text()) for p in sorted((REPO / "explorer").glob("*.py"))]


def _cache_decorators() -> list[tuple[str, str, dict]]:
    """(function, decorator, keyword arguments) of each st.cache_data / st.cache_resource of the app."""
    found = []
    for node in (n for tree in _app_trees() for n in ast.walk(tree)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            target = call.func if call else dec
            if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                kwargs = {k.arg: k.value for k in call.keywords} if call else {}
                found.append((node.name, target.attr, kwargs))
    return found


def test_every_cache_of_the_app_has_a_bound():
    """An unbounded cache keyed by what users send (z arrays, uploads) grows with every new input."""
    caches = _cache_decorators()
    assert len(caches) >= 10, caches  # the parse found the app's caches
    unbounded = [name for name, _, kw in caches if not ({"max_entries", "ttl"} & set(kw))]
    assert not unbounded, f"caches without max_entries or ttl: {unbounded}"


def test_caches_keyed_by_arrays_are_bounded_in_bytes_too():
    """z arrays and boxes come from users: entries differ in size, so a count alone does not bound memory."""
    keyed_by_input = {node.name for tree in _app_trees() for node in ast.walk(tree)
                      if isinstance(node, ast.FunctionDef)
                      and any(a.arg in ("z", "box") for a in node.args.args)}
    caches = {name: kw for name, kind, kw in _cache_decorators() if kind == "cache_data"}
    assert {"decode", "decoded_grid_png", "reference_backdrop"} <= keyed_by_input & set(caches)
    assert not [name for name in keyed_by_input & set(caches) if "max_size" not in caches[name]]


def test_the_decode_cache_keeps_a_bounded_number_of_bytes():
    """Forty ~1 MiB decodes: fewer than max_entries, but more bytes than the cache may keep."""
    from explorer import cache

    class BigDecodes(_RecordingModel):
        def decode(self, z: np.ndarray) -> np.ndarray:
            self.batches.append(len(z))
            return np.full((len(z), 28, 28), float(np.asarray(z).flat[0]), np.float32)

    fake = BigDecodes()
    handle = _fake_handle(fake)
    rows = 2**20 // (28 * 28 * 4) + 1  # one entry: just over 1 MiB of images
    cache.decode.clear()
    try:
        for i in range(40):
            cache.decode(handle, np.full((rows, 2), float(i)))
        cache.decode(handle, np.full((rows, 2), 0.0))  # the first: dropped for room
        cache.decode(handle, np.full((rows, 2), 39.0))  # the last: still cached
    finally:
        cache.decode.clear()
    assert len(fake.batches) == 41


def test_test_images_are_one_shared_read_only_array():
    """cache_data handed every caller its own 30 MB copy of MNIST's test images; the copies fragmented the
    heap. The digits dataset (in scikit-learn, always here) goes through the same cache."""
    from explorer import cache

    first, again = cache.test_images("digits"), cache.test_images("digits")
    assert first is not None and first.shape[1:] == (28, 28)
    assert again is first
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0, 0, 0] = 1.0


def test_the_decode_cache_forgets_old_inputs():
    """`decode` is keyed by z arrays (one per interpolation a user asks for): it keeps a bounded number."""
    from explorer import cache

    fake = _RecordingModel()
    handle = _fake_handle(fake)
    cache.decode.clear()
    try:
        for i in range(200):
            cache.decode(handle, np.full((3, 2), float(i)))
        calls = len(fake.batches)
        cache.decode(handle, np.full((3, 2), 0.0))  # the first input: long evicted
        cache.decode(handle, np.full((3, 2), 199.0))  # the last: still cached
    finally:
        cache.decode.clear()
    assert calls == 200
    assert len(fake.batches) == 201


def _fake_handle(model):
    """A handle whose served model is `model`: the cache keys it by its folder and save, as any handle."""
    from explorer.models import Handle

    return Handle("fake-bundle", 1.0, model)
