"""Demo page for the live decoder: `streamlit run live_decoder/demo_app.py` from the repo root."""

# Query parameters: ?model=mnist-16d (any shipped bundle folder; default mnist-2d),
# ?broken=1 (passes bytes that are not a model, to show the server fallback), ?classifier=0 (no class
# probabilities).
# The lower half is the server-side path (st.slider + ONNX decode + st.image) for comparison.

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from live_decoder import live_decoder, live_decoder_error  # noqa: E402
from vae.bundles.bundle import DECODER_ONNX, DEFAULT_MODEL, SHIPPED_DIR, is_bundle  # noqa: E402
from vae.bundles.serving import ServedModel, to_png  # noqa: E402


@st.cache_resource(show_spinner=False)
def _load(path: str) -> dict:
    model = ServedModel(path)
    ref = model.reference or {}
    z_mean = ref.get("z_mean")
    if z_mean is None:
        z_mean = np.random.default_rng(0).standard_normal((1000, model.latent_dim)).astype(np.float32)
    lo, hi = np.percentile(z_mean, 0.5, axis=0), np.percentile(z_mean, 99.5, axis=0)
    margin = 0.15 * np.maximum(hi - lo, 1e-3)
    out = {
        "model": model,
        "decoder": (Path(path) / DECODER_ONNX).read_bytes(),
        "ranges": [(float(a), float(b)) for a, b in zip(lo - margin, hi + margin)],
        "z0": np.median(z_mean, axis=0).astype(float).tolist(),
        "labels": ref.get("labels"),
        "points": z_mean,
        "plane": None,
    }
    if model.latent_dim > 2:   # the pad moves in the plane of the first two principal components
        mean = z_mean.mean(axis=0)
        _, _, vt = np.linalg.svd(z_mean - mean, full_matrices=False)
        out["plane"] = (mean, vt[:2])
        out["points"] = (z_mean - mean) @ vt[:2].T
    return out


st.set_page_config(page_title="Live decoder demo", layout="wide")
name = st.query_params.get("model", DEFAULT_MODEL.name)
path = SHIPPED_DIR / name
if not is_bundle(path):
    st.error(f"No shipped bundle {name!r}; showing {DEFAULT_MODEL.name}.")
    path = DEFAULT_MODEL
m = _load(str(path.resolve()))
model = m["model"]
decoder = b"this is not an ONNX model" if st.query_params.get("broken") == "1" else m["decoder"]

st.title("Live decoder demo")
st.caption(f"Model **{model.name}**, latent_dim {model.latent_dim}")

# ?classifier=0 leaves out the model's classifier (scripts/bench_classifier.py compares with and without).
classifier = model.classifier if st.query_params.get("classifier", "1") == "1" else None
z = live_decoder(decoder, model.latent_dim, m["z0"], m["ranges"], m["points"], m["labels"],
                 key="live", plane=m["plane"],
                 classifier=None if classifier is None else (path / "classifier.onnx").read_bytes(),
                 class_names=None if classifier is None else classifier.labels)
error = live_decoder_error("live")
if error:
    st.warning(f"Live decoding is unavailable here ({error}); fell back to server decoding below.")
st.code("released z = " + json.dumps(None if z is None else [round(v, 4) for v in z]), language=None)
if z is not None:
    st.image(to_png(model.decode(np.asarray(z, np.float32)[None])[0], scale=4),
             caption="Server decode of the released z (should match the browser's)",
             alt="decoded image of z = (" + ", ".join(f"{v:.2f}" for v in z) + ")")

st.divider()
st.subheader("Server-side path (for comparison)")
st.caption("A plain st.slider per dimension: the image updates only after release and a round trip.")
n_srv = min(model.latent_dim, 2)
z_srv = list(m["z0"])
cols = st.columns(n_srv)
for i in range(n_srv):
    lo, hi = m["ranges"][i]
    with cols[i]:
        z_srv[i] = st.slider(f"server z{i}", lo, hi, float(m["z0"][i]), step=(hi - lo) / 100, key=f"srv{i}")
st.image(to_png(model.decode(np.asarray(z_srv, np.float32)[None])[0], scale=10), width=280,
         caption="server decoded", alt="decoded image of z = (" + ", ".join(f"{v:.2f}" for v in z_srv) + ")")
