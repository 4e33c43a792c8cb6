"""The live decoder component without a browser: arguments, committed assets, the demo page."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest

from live_decoder import (
    FRONTEND_DIR,
    MAX_POINTS,
    ORT_BUNDLE,
    ORT_DIR,
    ORT_WASM,
    ORT_WEB_VERSION,
    build_args,
    model_id_of,
    model_id_of_file,
    publish_decoder,
    publish_points,
    read_value,
)
from live_decoder.published import remove_unused, served_folder, unpublish
from vae.bundles.bundle import CONFIG, DECODER_ONNX, load_reference

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def decoder_bytes(default_bundle) -> bytes:
    return (default_bundle / DECODER_ONNX).read_bytes()


@pytest.fixture(scope="module")
def reference(default_bundle) -> dict:
    return load_reference(default_bundle)


def _ranges(z_mean):
    return [(float(a) - 1, float(b) + 1) for a, b in zip(z_mean.min(0), z_mean.max(0))]


def test_args_from_the_bundles_decoder(decoder_bytes, reference):
    z_mean, labels = reference["z_mean"], reference["labels"]
    d = z_mean.shape[1]
    args = build_args(decoder_bytes, d, z_mean[0], _ranges(z_mean), z_mean, labels)
    assert args["decoder"] == decoder_bytes and isinstance(args["decoder"], bytes)
    assert len(args["model_id"]) == 16
    assert args["latent_dim"] == d and len(args["z"]) == d and len(args["ranges"]) == d
    assert args["pad"] is True and args["pad_range"] == args["ranges"] and args["plane"] is None
    # Subsampled to ~3000 points, deterministically, labels kept aligned with their points.
    assert len(args["points"]) == min(len(z_mean), MAX_POINTS) == len(args["labels"])
    again = build_args(decoder_bytes, d, z_mean[0], _ranges(z_mean), z_mean, labels)
    assert again["points"] == args["points"] and again["points_id"] == args["points_id"]
    idx = {tuple(np.round(p, 4)): i for i, p in enumerate(z_mean.astype(np.float64))}
    for p, lab in list(zip(args["points"], args["labels"]))[:50]:
        assert int(labels[idx[tuple(p)]]) == lab
    # Everything but the model bytes is JSON (components v1 sends bytes as a binary argument).
    json.dumps({k: v for k, v in args.items() if k != "decoder"})


def test_onnx_input_matches_latent_dim(decoder_bytes, default_bundle):
    onnx = pytest.importorskip("onnx")
    model = onnx.load_from_string(decoder_bytes)
    (inp,) = model.graph.input
    dims = [dim.dim_value or dim.dim_param for dim in inp.type.tensor_type.shape.dim]
    latent_dim = json.loads((default_bundle / CONFIG).read_text())["latent_dim"]
    assert dims[-1] == latent_dim and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_plane_and_pad_range_for_higher_dims():
    rng = np.random.default_rng(1)
    zs = rng.standard_normal((500, 5))
    mean = zs.mean(0)
    _, _, vt = np.linalg.svd(zs - mean, full_matrices=False)
    xy = (zs - mean) @ vt[:2].T
    args = build_args(b"onnx", 5, mean, [(-4, 4)] * 5, xy, rng.integers(0, 10, 500), plane=(mean, vt[:2]))
    assert args["pad"] and len(args["plane"]["mean"]) == 5 and np.shape(args["plane"]["components"]) == (2, 5)
    (x0, x1), (y0, y1) = args["pad_range"]
    assert x0 < xy[:, 0].min() and x1 > xy[:, 0].max() and y0 < xy[:, 1].min() and y1 > xy[:, 1].max()
    # Without a plane a 5-D latent has sliders only.
    no_pad = build_args(b"onnx", 5, mean, [(-4, 4)] * 5, xy)
    assert no_pad["pad"] is False and no_pad["pad_range"] is None
    # pad=False turns the pad off for a 2-D latent too.
    assert build_args(b"onnx", 2, [0, 0], [(-1, 1)] * 2, pad=False)["pad"] is False


@pytest.mark.parametrize("kwargs, match", [
    (dict(decoder_onnx=b""), "decoder_onnx"),
    (dict(z=[0.0]), "z must have 2"),
    (dict(ranges=[(0, 1)]), "one \\(low, high\\) pair"),
    (dict(ranges=[(1, 0), (0, 1)]), "low < high"),
    (dict(points=np.zeros((4, 3))), "shape \\(n, 2\\)"),
    (dict(points=np.zeros((4, 2)), labels=[1, 2]), "differ in length"),
    (dict(z=[0.0, float("nan")]), "finite"),
    (dict(plane=(np.zeros(2), np.zeros((3, 2)))), "plane components"),
])
def test_bad_arguments_are_refused(kwargs, match):
    base = dict(decoder_onnx=b"x", latent_dim=2, z=[0.0, 0.0], ranges=[(-1, 1), (-1, 1)])
    with pytest.raises(ValueError, match=match):
        build_args(**{**base, **kwargs})


def test_committed_frontend_assets():
    assert (FRONTEND_DIR / "index.html").is_file() and (FRONTEND_DIR / "main.js").is_file()
    html = (FRONTEND_DIR / "index.html").read_text()
    js = (FRONTEND_DIR / "main.js").read_text()
    assert '<script type="module" src="./main.js">' in html
    assert "canvas id=\"img\"" in html and "__liveDecoderStats" in js
    # No CDN: every URL the component loads is relative to its own folder.
    assert "http://" not in html + js and "https://" not in html + js
    assert ORT_BUNDLE.name in js and ORT_WASM.name in js

    # onnxruntime-web's single-file ESM bundle: ~70 KB, an ES module exporting InferenceSession.
    mjs = ORT_BUNDLE
    assert mjs.suffix == ".mjs" and 30_000 < mjs.stat().st_size < 2_000_000
    assert "InferenceSession" in mjs.read_text(errors="replace")
    # Its WebAssembly runtime, committed gzipped: 3-6 MB on disk, ~14 MB once inflated, a real wasm module.
    wasm_gz = ORT_WASM
    assert wasm_gz.name == "ort-wasm-simd-threaded.wasm.gz" and 2_000_000 < wasm_gz.stat().st_size < 8_000_000
    wasm = gzip.decompress(wasm_gz.read_bytes())
    assert wasm[:4] == b"\0asm" and 8_000_000 < len(wasm) < 30_000_000
    assert ORT_WEB_VERSION in (ORT_DIR / "README.md").read_text()


def test_content_types_the_browser_needs():
    """Streamlit serves component files by extension: the ES module must be JavaScript, and the
    gzipped wasm must be application/gzip so the gzip middleware leaves it alone."""
    import mimetypes

    from streamlit.web.server.component_file_utils import guess_content_type

    mimetypes.add_type("application/javascript", ".mjs")   # what `streamlit run` registers at startup
    assert "javascript" in guess_content_type(str(ORT_BUNDLE))
    assert guess_content_type(str(ORT_WASM)) == "application/gzip"
    assert "javascript" in guess_content_type(str(FRONTEND_DIR / "main.js"))


def test_demo_app_runs(default_bundle):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "live_decoder" / "demo_app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert any("released z = null" in c.value for c in at.code)
    assert len(at.slider) == 2   # the server-side comparison sliders
    assert not at.warning        # no browser in AppTest: nothing has reported a failure


def test_component_value_to_return_value():
    """What the browser sends (setComponentValue) becomes the wrapper's return value and error flag."""
    mid = "0123456789abcdef"
    assert read_value(None, mid, 2) == (None, None)
    assert read_value({"z": [0.1, 0.2], "error": None, "model_id": mid}, mid, 2) == ([0.1, 0.2], None)
    # A z released for another model (another latent size) is not this model's z.
    assert read_value({"z": [0.1, 0.2], "error": None, "model_id": "other"}, mid, 2) == (None, None)
    assert read_value({"z": [0.1, 0.2, 0.3], "error": None, "model_id": mid}, mid, 2) == (None, None)
    failed = {"z": None, "error": "no WebAssembly", "model_id": mid}
    assert read_value(failed, mid, 2) == (None, "no WebAssembly")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A scratch $VAE_HOME: the component's served folder is its decoders/."""
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def unwritable_home(tmp_path, monkeypatch) -> None:
    """A $VAE_HOME below a file: no folder can be made there (even by root, who ignores permissions)."""
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "a-file" / "home"))


def test_decoder_is_published_as_a_gzip_file_the_iframe_can_fetch(decoder_bytes, home, tmp_path, monkeypatch):
    from streamlit.web.server.component_file_utils import guess_content_type

    mid = model_id_of(decoder_bytes)
    url = publish_decoder(decoder_bytes, mid)
    assert url == f"models/{mid}.onnx.gz"
    path = home / "decoders" / url  # in $VAE_HOME, beside a copy of the frontend: never in the checkout
    assert served_folder() == home / "decoders" and (home / "decoders" / "main.js").is_file()
    assert not (FRONTEND_DIR / "models" / f"{mid}.onnx.gz").exists()
    assert gzip.decompress(path.read_bytes()) == decoder_bytes   # the same model, byte for byte
    assert guess_content_type(str(path)) == "application/gzip"  # not recompressed per request
    assert publish_decoder(decoder_bytes, mid) == url and path.stat().st_size < len(decoder_bytes)
    # A folder that cannot be written: None, and the bytes travel as an argument instead; the component
    # then serves the committed frontend as it is.
    unwritable_home(tmp_path, monkeypatch)
    assert publish_decoder(b"onnx", "feedfacefeedface") is None
    assert served_folder() == FRONTEND_DIR


def test_the_served_folder_is_a_fresh_copy_of_the_frontend(home):
    """Copied at the first render of a process, refreshed where a file differs, without what the frontend no
    longer has; published files stay."""
    served = served_folder()
    files = sorted(p.relative_to(FRONTEND_DIR) for p in FRONTEND_DIR.rglob("*")
                   if p.is_file() and p.relative_to(FRONTEND_DIR).parts[0] != "models")
    assert sorted(p.relative_to(served) for p in served.rglob("*") if p.is_file()) == files
    assert all((served / f).read_bytes() == (FRONTEND_DIR / f).read_bytes() for f in files)
    (served / "main.js").write_text("stale")
    (served / "ort" / "ort-0.9.mjs").write_text("an old version's file")
    (served / "models").mkdir()
    (served / "models" / "0123456789abcdef.onnx.gz").write_bytes(b"published")
    assert served_folder(refresh=True) == served  # as a new process does
    assert (served / "main.js").read_bytes() == (FRONTEND_DIR / "main.js").read_bytes()
    assert not (served / "ort" / "ort-0.9.mjs").exists()
    assert (served / "models" / "0123456789abcdef.onnx.gz").read_bytes() == b"published"


def test_a_file_can_be_hashed_as_the_browser_knows_its_decoder(decoder_bytes, tmp_path):
    (tmp_path / "decoder.onnx").write_bytes(decoder_bytes)
    assert model_id_of_file(tmp_path / "decoder.onnx") == model_id_of(decoder_bytes)


def test_unpublish_removes_a_decoders_files_and_only_its(decoder_bytes, reference, home):
    """At once for a deleted model's decoder; by age and use for the keeper's clean-up."""
    z_mean, labels = reference["z_mean"], reference["labels"]
    mid = model_id_of(decoder_bytes)
    args = build_args(decoder_bytes, 2, z_mean[0], _ranges(z_mean), z_mean, labels)
    publish_decoder(decoder_bytes, mid)
    publish_points(args)
    other = publish_decoder(b"another decoder", "feedfacefeedface")
    folder = home / "decoders"
    assert sorted(unpublish([mid])) == [f"{mid}.onnx.gz", f"{mid}.points-{args['points_id']}.json.gz"]
    assert sorted(p.name for p in (folder / "models").iterdir()) == ["feedfacefeedface.onnx.gz"]
    assert (folder / "main.js").is_file()  # the frontend is not a decoder's
    assert remove_unused(set()) == []  # in use by nobody, but just published: kept a while
    assert remove_unused({"feedfacefeedface"}, now=time.time() + 3600) == []
    assert remove_unused(set(), now=time.time() + 3600) == ["feedfacefeedface.onnx.gz"]
    assert not (folder / other).exists()


def test_on_release_hears_each_release_for_this_model_once(default_bundle):
    """on_release runs before the script with each released z: twice for two releases at the same z (the
    browser numbers them), never again for a rerun without one, never for another model's value."""
    from streamlit.testing.v1 import AppTest

    from tests.support.widget_states import json_state, rerun_with

    script = f"""
import streamlit as st
from live_decoder import live_decoder

decoder = open({str(default_bundle / DECODER_ONNX)!r}, "rb").read()
heard = st.session_state.setdefault("heard", [])
live_decoder(decoder, 2, [0.0, 0.0], [(-3.0, 3.0), (-3.0, 3.0)], key="live", on_release=heard.append)
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception, at.exception
    (live,) = at.get("component_instance")
    model_id = json.loads(live.proto.json_args)["model_id"]

    def send(value: dict | None) -> list:
        rerun_with(at, add=[] if value is None else [json_state(live.proto.id, json.dumps(value))])
        return at.session_state["heard"]

    release = {"z": [1.0, -2.0], "source": "pad", "seq": 1, "error": None, "model_id": model_id}
    assert send(release) == [[1.0, -2.0]]
    assert send(None) == [[1.0, -2.0]]                      # a rerun for something else
    assert send({**release, "seq": 2}) == [[1.0, -2.0]] * 2  # the same spot, released again
    assert send({**release, "seq": 3, "model_id": "another model"}) == [[1.0, -2.0]] * 2
    assert send({"z": None, "error": "no WebAssembly", "model_id": model_id}) == [[1.0, -2.0]] * 2


def test_points_are_published_as_a_gzip_file_once(decoder_bytes, reference, home, tmp_path, monkeypatch):
    """The pad's points travel as a file: a page that re-renders the component on every slider change
    (the Decoder) then sends only a few numbers each time. The file is named by its decoder too, so it goes
    with it."""
    from streamlit.web.server.component_file_utils import guess_content_type

    z_mean, labels = reference["z_mean"], reference["labels"]
    args = build_args(decoder_bytes, 2, z_mean[0], _ranges(z_mean), z_mean, labels)
    url = publish_points(args)
    assert url == f"models/{args['model_id']}.points-{args['points_id']}.json.gz"
    path = home / "decoders" / url
    published = json.loads(gzip.decompress(path.read_bytes()))
    assert published == {"points": args["points"], "labels": args["labels"]}
    assert guess_content_type(str(path)) == "application/gzip"
    assert publish_points(args) == url and path.stat().st_size < 40_000
    assert publish_points(build_args(decoder_bytes, 2, [0, 0], [(-1, 1)] * 2)) is None  # no points
    unwritable_home(tmp_path, monkeypatch)
    assert publish_points(args) is None  # not writable: they stay arguments
