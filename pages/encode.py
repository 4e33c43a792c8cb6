"""Encode: upload or draw an image, watch it being preprocessed, encoded and placed on the latent map."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import cache, inputs, models, widgets
from explorer import explain as E
from explorer import pictures as pics

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
STRIP_NOTE = ("The latent space has one dimension: x is z, and the test {things} are spread along y by a "
              "random jitter that means nothing. Your z_mean, samples and z_std bars (1 and 2·z_std, "
              "horizontal: there is no other direction) lie on the centre line.")
# What the page calls the images it encodes, by the model's dataset: a Fashion-MNIST model knows no digits.
DIGITS = {"title": "Encode your own digit", "one": "one digit", "a": "a digit", "noun": "digit",
          "things": "digits", "draw": "Draw a digit"}
CLOTHES = {"title": "Encode your own image", "one": "one item of clothing", "a": "an item of clothing",
           "noun": "image", "things": "images", "draw": "Draw an item of clothing"}


def _is_digits(model) -> bool:
    return (model.card.get("dataset") or model.config.get("dataset")) != "fashion_mnist"


def _words(model) -> dict[str, str]:
    return DIGITS if _is_digits(model) else CLOTHES


# ----------------------------------------------------------------------------- input


def _from_upload(words: dict[str, str]):
    """(Preprocessed, name) for the uploaded file, or None (an unusable file shows st.error)."""

    up = st.file_uploader(
        f"An image of {words['one']} (PNG, JPEG, WebP, BMP or GIF). "
        "Dark-on-light or light-on-dark both work.",
        type=IMAGE_TYPES, key="encode_upload",
    )
    if up is None:
        st.info(f"Upload an image to encode it, or switch to **{words['draw']}**.")
        return None
    try:
        return inputs.preprocess_bytes(up.getvalue()), up.name
    except inputs.ImageError as exc:
        st.error(str(exc))
    except Exception:  # a file no decoder foresaw must still not crash the page
        st.error(f"{up.name} could not be read as an image of {words['a']}; try a PNG or JPEG.")
    return None


def _from_canvas(words: dict[str, str], digits: bool):
    """(Preprocessed, name) for the drawing on the canvas, or None while it is empty."""
    from PIL import Image


    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.warning("Drawing needs the package `streamlit-drawable-canvas`; upload an image instead.")
        return None
    st.caption(f"Draw {words['one']}, large, in the middle of the square. Point at the square for its "
               "toolbar (undo, clear).")
    # The toolbar floats 2.65rem above the canvas while the pointer is on it: keep it off the instruction.
    st.space("medium")
    result = st_canvas(
        stroke_width=inputs.CANVAS_STROKE, stroke_color="#FFFFFF", background_color="#000000",
        height=inputs.CANVAS_SIDE, width=inputs.CANVAS_SIDE, drawing_mode="freedraw", return_image_data=True,
        key="encode_canvas",
    )
    objects = (result.json_data or {}).get("objects") or []
    try:
        data = result.image_data if objects else None
        if data is None:
            st.info(f"The canvas is empty: draw {words['a']} on it.")
            return None
        # RGBA, white strokes on black: inputs.to_mnist reads the ink from alpha or from the polarity. One pen
        # makes a digit drawn large thin-stroked once scaled to 20 px and one drawn small bold, and the
        # encoder reads thin-stroked 2s as 3s and 8s: digits get MNIST's stroke width whatever their size.
        # Clothes are filled shapes, not pen strokes: they are left as drawn.
        stroke = inputs.MNIST_STROKE if digits else None
        return inputs.to_mnist(Image.fromarray(np.asarray(data, np.uint8)), stroke=stroke), "your drawing"
    except inputs.ImageError as exc:
        st.error(str(exc))
    except Exception:
        st.error("The drawing could not be turned into a 28×28 image; clear the canvas and try again.")
    return None


# ----------------------------------------------------------------------------- display


def _show_steps(pre, words: dict[str, str]) -> None:
    st.subheader(f"1 · Preprocessing: from your image to a 28×28 MNIST-style {words['noun']}")
    c1, c2, c3, c4 = st.columns(4)
    c1.image(pre.original, caption=f"Original ({pre.original.shape[1]}×{pre.original.shape[0]})",
             width="stretch")
    how = []
    if pre.alpha_used:
        how.append("transparency used as ink")
    how.append("inverted (dark ink on light paper)" if pre.inverted
               else "not inverted (already light ink on dark)")
    c2.image(np.clip(pre.gray, 0, 1), caption="Grayscale, ink = white: " + ", ".join(how), width="stretch")
    cropped = "Cropped to the ink"
    if pre.stroke_width is not None:

        cropped += (f", strokes set from {pre.stroke_width:.1f} to MNIST's {inputs.MNIST_STROKE:.1f} px "
                    "(at 28×28)")
    c3.image(np.clip(pre.cropped, 0, 1), caption=cropped, width="stretch")
    c4.image(pics.to_png(pre.image, scale=8), caption="28×28, centred like MNIST (what the encoder sees)",
             width="stretch")


def _neighbors(model, z_mean, k: int = 8) -> list[dict] | None:
    if model.reference is None:
        return None
    idx = model.nearest(z_mean, k)[0]
    d = np.sqrt(((model.reference["z_mean"][idx] - z_mean.reshape(1, -1)) ** 2).sum(1))
    return [{"index": int(i), "label": int(model.reference["labels"][i]), "distance": float(di)}
            for i, di in zip(idx, d)]


def _test_images(model):
    return cache.reference_images(model)


def _show_encoding(model, path: str, pre, name: str, words: dict[str, str]) -> None:
    x = pre.image.astype(np.float32)
    z_mean, z_log_var = model.encode(x[None])
    mu, lv = z_mean[0].astype(np.float64), z_log_var[0].astype(np.float64)
    std = E.z_std(lv)

    st.subheader("2 · The encoder's answer: a mean and a spread for this image")
    st.markdown(
        "The encoder does not output one point: its two Dense heads output **z_mean** and **z_log_var** "
        "(the course's “sigma”), and `z_std = exp(0.5·z_log_var)`. Together they describe a Gaussian "
        "*cloud* of latent codes that could have produced this image.")
    kl = E.kl_per_dim(mu, lv)
    c1, c2 = st.columns([3, 2])
    widgets.kl_table(c1, kl, mu, std, z_log_var=lv)
    c2.code(f"z_mean = {E.fmt_vec(mu)}\nz_std  = {E.fmt_vec(std)}", language="python")

    st.subheader("3 · Samples z = z_mean + z_std · ε and the reconstruction")
    cc = st.columns([2, 1])
    n = cc[0].slider("Number of samples", 1, 12, 6, key="encode_n_samples")
    if cc[1].button("Draw new ε", key="encode_new_eps"):
        st.session_state["encode_seed"] = st.session_state.get("encode_seed", 0) + 1
    seed = st.session_state.get("encode_seed", 0)
    samples, eps = E.sample_cloud(mu, lv, n, seed=seed)
    recon = model.decode(mu[None])[0]
    decodes = model.decode(samples)
    cols = st.columns(2 + n)
    cols[0].image(pics.to_png(x, 4), caption="input", width="stretch")
    cols[1].image(pics.to_png(recon, 4), caption="decode(z_mean)", width="stretch")
    for i in range(n):
        cols[2 + i].image(pics.to_png(decodes[i], 4), caption=f"sample {i + 1}", width="stretch")
    st.caption("Each sample is a different ε ~ N(0, I) pushed through the same z_mean and z_std; "
               "their decodes vary around the reconstruction as much as z_std allows.")

    st.subheader("4 · How well it fits: the negative ELBO of this image")
    elbo = E.per_image_elbo(x, recon, mu, lv)
    sample_rec = float(np.mean([E.per_image_elbo(x, d, mu, lv)["reconstruction_loss"] for d in decodes]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Reconstruction (at z_mean)", f"{elbo['reconstruction_loss']:.1f} nats")
    m2.metric("KL to N(0, I)", f"{elbo['kl_loss']:.2f} nats")
    m3.metric("Negative ELBO (at z_mean)", f"{elbo['neg_elbo']:.1f} nats")
    m4.metric("Reconstruction (samples)", f"{sample_rec:.1f} nats",
              help=f"The reconstruction term averaged over the {n} sampled z above: what training actually "
                   "optimises, estimated with a few draws instead of at z_mean.")
    ref_m = model.card.get("test_metrics") or {}
    if "neg_elbo_at_mean" in ref_m:
        st.caption(f"For comparison, the test set's average negative ELBO at z_mean is "
                   f"{ref_m['neg_elbo_at_mean']:.1f} nats (reconstruction "
                   f"{ref_m.get('reconstruction_loss_at_mean', float('nan')):.1f}). "
                   "An image far above that is one the model finds unusual.")
    st.caption("The KL term's split over the latent dimensions is the last column of the table in 2.")

    st.subheader(f"5 · Its nearest test {words['things']} (by z_mean)")
    nbrs = _neighbors(model, mu)
    if nbrs is None:
        st.info("This model stores no reference encodings of the test set, "
                "so there are no neighbours to show.")
    else:
        labels = [n_["label"] for n_ in nbrs]
        vote = int(np.bincount(labels).argmax())
        names = ", ".join(models.label_name(model, lab) for lab in labels)
        st.markdown(f"Labels of the {len(nbrs)} nearest: **{names}** — "
                    f"majority: **{models.label_name(model, vote)}**.")
        images = _test_images(model)
        if images is not None:
            cols = st.columns(len(nbrs))
            for c, n_ in zip(cols, nbrs):
                c.image(pics.to_png(images[n_["index"]], 3),
                        caption=f"{models.label_name(model, n_['label'])} · d={n_['distance']:.2f}",
                        width="stretch")
        else:
            st.caption("(The test images are not available on this machine, so only their labels are shown.)")

    st.subheader("6 · Where it lands on the latent map")
    zoom = st.toggle("Zoom in on its cloud", value=False, key="encode_zoom",
                     help="The star is z_mean, the rings 1 and 2 z_std, the circles the samples drawn above.")
    cloud = {"name": "yours", "z_mean": mu, "z_log_var": lv, "samples": samples, "color": "black",
             "rings": [(1, "solid"), (2, "dot")],
             "sample_marker": dict(size=9, color="white", line=dict(color="black", width=1.5))}
    fig = cache.cloud_map(model, path, [cloud], zoom=zoom, height=560)
    if fig is None:
        st.info("This model stores no reference encodings, so there is no map to place the image on.")
    else:
        if model.latent_dim > 2:
            st.caption(f"The latent space has {model.latent_dim} dimensions; the map shows its first two "
                       "principal components. The ring is the projected 1·z_std and 2·z_std contour.")
        elif model.latent_dim == 1:
            st.caption(STRIP_NOTE.format(things=words["things"]))
        st.plotly_chart(fig, width="stretch", key="encode_map", config=widgets.plotly_config())

    record = E.encoding_record(mu, lv, source=name, model=model.name, elbo=elbo, neighbors=nbrs)
    st.markdown("**Download this encoding** (z_mean, z_log_var, z_std, KL per dimension; the JSON adds the "
                f"losses and the nearest test {words['things']}):")
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("JSON", E.record_json(record), file_name="encoding.json", mime="application/json",
                       key="encode_dl_json", icon=":material/download:", width="stretch")
    d2.download_button("CSV", E.record_csv(record), file_name="encoding.csv", mime="text/csv",
                       key="encode_dl_csv", icon=":material/download:", width="stretch")


# ----------------------------------------------------------------------------- page


def main() -> None:
    model = models.current_model()
    path = models.current_model_path()
    words = _words(model)
    st.title(words["title"])
    st.markdown("Give the encoder an image and see every step: how it is brought to MNIST's format, the "
                "mean and spread the encoder outputs for it, samples from that spread, and where it "
                f"lands among the test {words['things']}.")
    labels = {"upload": "Upload an image", "draw": words["draw"]}
    source = st.radio("Input", list(labels), format_func=labels.get, horizontal=True, key="encode_source",
                      label_visibility="collapsed")
    got = _from_upload(words) if source == "upload" else _from_canvas(words, _is_digits(model))
    if got is None:
        return
    pre, name = got
    # Shared with the How-it-works page: the last input encoded here.
    st.session_state[E.CURRENT_INPUT_KEY] = np.asarray(pre.image, np.float32)
    st.session_state[E.CURRENT_INPUT_NAME_KEY] = name
    _show_steps(pre, words)
    _show_encoding(model, path, pre, name, words)
    st.caption("This input is also the “your input” choice on the **How it works** page.")


main()
