"""The Encode page's sections, input to map, and the plain computations behind them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from explorer import alt_text, cache, explain, icons, inputs, models, widgets
from explorer import pictures as pics
from explorer.explain import Encoding, encode  # noqa: F401  (the page calls S.encode)
from explorer.models import Handle
from explorer.sections import encode_picture
from explorer.sections.encode_picture import Fitted
from explorer.training_facts import facts_of, loss_formula
from vae.bundles.serving import ServedModel

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
STRIP_NOTE = ("The latent space has one dimension: x is z, and the test {things} are spread along y by a "
              "random jitter that means nothing. Your z_mean, samples and z_std bars (1 and 2·z_std, "
              "horizontal: there is no other direction) lie on the centre line.")
# What the page calls the images it encodes, by the model's dataset: a Fashion-MNIST model knows no digits.
DIGITS = {"title": "Encode your own digit", "one": "one digit", "a": "a digit", "noun": "digit",
          "things": "digits", "draw": "Draw a digit",
          "camera": "Write a digit large on paper, hold it up to the camera so that it fills most of the "
                    "frame, and take the photo."}
CLOTHES = {"title": "Encode your own image", "one": "one item of clothing", "a": "an item of clothing",
           "noun": "image", "things": "images", "draw": "Draw an item of clothing",
           "camera": "Hold an item of clothing, or a picture of one on light paper, up to the camera and "
                     "take the photo."}
N_NEIGHBORS = 8
STEP_HEIGHT = 140  # px on screen: every preprocessing picture this tall, each at its own aspect ratio
STEP_MAX_WIDTH = 560  # px: a very wide picture lowers the common height rather than being squeezed
STEP_MIN_WIDTH = 150  # px of room under a thin picture (a "1" cropped to its ink) for its caption


# ----------------------------------------------------------------------------- pure computations


@dataclass(frozen=True)
class Samples:
    """z = z_mean + z_std·ε for n draws of ε, their decodes, and the decode of z_mean itself."""

    z: np.ndarray
    decodes: np.ndarray
    reconstruction: np.ndarray


def is_digits(model: ServedModel) -> bool:
    """Whether the model's images are digits: anything but Fashion-MNIST (named by card or config) and a
    visitor's own images."""
    return ((model.card.get("dataset") or model.config.get("dataset")) != "fashion_mnist"
            and not encode_picture.own_images(model))


def words_for(model: ServedModel) -> dict[str, str]:
    """The page's nouns for this model's images."""
    if encode_picture.own_images(model):
        return encode_picture.OWN
    return DIGITS if is_digits(model) else CLOTHES


def step_captions(pre: inputs.Preprocessed) -> list[str]:
    """The captions of the four preprocessing pictures: original, grayscale, cropped, 28×28."""
    how = []
    if pre.alpha_used:
        how.append("transparency used as ink")
    how.append("inverted (dark ink on light paper)" if pre.inverted
               else "not inverted (already light ink on dark)")
    cropped = "Cropped to the ink"
    if pre.stroke_width is not None:
        cropped += (f", strokes set from {pre.stroke_width:.1f} to MNIST's {inputs.MNIST_STROKE:.1f} px "
                    "(at 28×28)")
    return [f"Original ({pre.original.shape[1]}×{pre.original.shape[0]})",
            "Grayscale, ink = white: " + ", ".join(how), cropped,
            "28×28, centred like MNIST (what the encoder sees)"]


def cleanup_note(pre: inputs.Preprocessed) -> str | None:
    """What the photo clean-up did (evened the light, removed lines, specks, marks), in one sentence, or None
    when the image needed none of it."""
    if not pre.notes:
        return None
    text = "; ".join(pre.notes)
    return f"Cleaned up: {text[0].upper()}{text[1:]}."


def removed_picture(pre: inputs.Preprocessed) -> np.ndarray | None:
    """The grayscale ink with what was removed (lines, specks, other marks) in red, or None if nothing was."""
    if pre.removed is None or not pre.removed.any():
        return None
    gray = np.clip(pre.gray, 0, 1)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    rgb[pre.removed] = (0.9, 0.15, 0.15)
    return rgb


def step_sizes(pictures: list[np.ndarray]) -> tuple[int, list[int]]:
    """The common height and each picture's width (px on screen) for the preprocessing steps: one height for
    all, each width from the picture's own aspect ratio."""
    aspects = [p.shape[1] / p.shape[0] for p in pictures]
    height = min(STEP_HEIGHT, int(STEP_MAX_WIDTH / max(aspects)))
    return height, [max(1, round(height * a)) for a in aspects]


def draw_samples(model: ServedModel, enc: Encoding, n: int, seed: int) -> Samples:
    """n samples of the encoding's cloud (the seed makes them stable across reruns) and their decodes."""
    z, _ = explain.sample_cloud(enc.z_mean, enc.z_log_var, n, seed=seed)
    return Samples(z, model.decode(z), model.decode(enc.z_mean[None])[0])


def fit_terms(enc: Encoding, samples: Samples) -> tuple[dict, float]:
    """The negative ELBO's terms at z_mean, and the reconstruction term averaged over the samples (what
    training optimises)."""
    elbo = explain.per_image_elbo(enc.image, samples.reconstruction, enc.z_mean, enc.z_log_var)
    sampled = float(np.mean([
        explain.per_image_elbo(enc.image, d, enc.z_mean, enc.z_log_var)["reconstruction_loss"]
        for d in samples.decodes]))
    return elbo, sampled


def neighbors(model: ServedModel, z_mean: np.ndarray, k: int = N_NEIGHBORS) -> list[dict] | None:
    """The k test images nearest to z_mean (index, label, distance), or None without reference encodings."""
    if model.reference is None:
        return None
    idx = model.nearest(z_mean, k)[0]
    d = np.sqrt(((model.reference["z_mean"][idx] - z_mean.reshape(1, -1)) ** 2).sum(1))
    return [{"index": int(i), "label": int(model.reference["labels"][i]), "distance": float(di)}
            for i, di in zip(idx, d)]


def majority(labels: list[int]) -> int:
    """The most common label (the smallest one on a tie)."""
    return int(np.bincount(labels).argmax())


def map_note(latent_dim: int, things: str) -> str | None:
    """What the map's axes are when they are not simply z's two dimensions."""
    if latent_dim > 2:
        return (f"The latent space has {latent_dim} dimensions; the map shows its first two "
                "principal components. The ring is the projected 1·z_std and 2·z_std contour.")
    if latent_dim == 1:
        return STRIP_NOTE.format(things=things)
    return None


def your_cloud(enc: Encoding, samples: Samples) -> dict:
    """The encoding as a map cloud: a star at z_mean, rings at 1 and 2 z_std, the samples as circles."""
    return {"name": "yours", "z_mean": enc.z_mean, "z_log_var": enc.z_log_var, "samples": samples.z,
            "color": "black", "rings": [(1, "solid"), (2, "dot")],
            "sample_marker": dict(size=9, color="white", line=dict(color="black", width=1.5))}


# ----------------------------------------------------------------------------- input


def intro(words: dict[str, str]) -> None:
    st.title(icons.title("encode", words["title"]))
    st.markdown("Give the encoder an image and see every step: how it is brought to the model's input, the "
                "mean and spread the encoder outputs for it, samples from that spread, and where it "
                f"lands among the test {words['things']}.")


def choose_source(words: dict[str, str]) -> str:
    """"upload", "camera" or "draw", as the visitor picks."""
    labels = {"upload": "Upload an image", "camera": "Take a photo", "draw": words["draw"]}
    return st.radio("Input", list(labels), format_func=labels.get, horizontal=True, key="encode_source",
                    label_visibility="collapsed")


def from_upload(words: dict[str, str], model: ServedModel) -> tuple[inputs.Preprocessed | Fitted, str] | None:
    """(Preprocessed, name) for the uploaded file, or None (an unusable file shows st.error)."""
    up = st.file_uploader(
        f"An image of {words['one']} (PNG, JPEG, WebP, BMP or GIF). "
        "Dark-on-light or light-on-dark both work.",
        type=IMAGE_TYPES, key="encode_upload",
    )
    if up is None:
        st.info(f"Upload an image to encode it, or switch to **{words['draw']}**.")
        return None
    return from_bytes(up.getvalue(), up.name, words, model)


def from_camera(words: dict[str, str], model: ServedModel) -> tuple[inputs.Preprocessed | Fitted, str] | None:
    """(Preprocessed, name) for a photo from the visitor's camera, or None until one is taken."""
    shot = st.camera_input(words["camera"], key="encode_camera")
    if shot is None:
        st.info("Lined, squared or grey paper, uneven light and coloured ink are fine: the preprocessing "
                "evens out the light and removes the lines and stray marks, and shows what it removed.")
        return None
    return from_bytes(shot.getvalue(), "your photo", words, model)


def from_bytes(data: bytes, name: str, words: dict[str, str],
               model: ServedModel) -> tuple[inputs.Preprocessed | Fitted, str] | None:
    """An uploaded file's or a camera photo's bytes preprocessed, or None (st.error says why)."""
    try:
        if encode_picture.own_images(model):
            return encode_picture.fit_bytes(data, model), name
        return inputs.preprocess_bytes(data), name
    except inputs.ImageError as exc:
        st.error(str(exc))
    except Exception:  # a file no decoder foresaw must still not crash the page
        st.error(f"{models.plain_text(name)} could not be read as an image of {words['a']}; "
                 "try a PNG or JPEG.")
    return None


def from_canvas(words: dict[str, str], model: ServedModel) -> tuple[inputs.Preprocessed | Fitted, str] | None:
    """(Preprocessed, name) for the drawing on the canvas, or None while it is empty."""
    try:  # imported here: the page still works (upload only) where the package is missing
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
        if encode_picture.own_images(model):
            return encode_picture.fit_drawing(data, model), "your drawing"
        stroke = inputs.MNIST_STROKE if is_digits(model) else None
        return inputs.to_mnist(Image.fromarray(np.asarray(data, np.uint8)), stroke=stroke), "your drawing"
    except inputs.ImageError as exc:
        st.error(str(exc))
    except Exception:
        st.error("The drawing could not be turned into the model's input; clear the canvas and try again.")
    return None


def remember_input(pre: inputs.Preprocessed | Fitted, name: str) -> None:
    """Leave the input for the How-it-works page, which shows it as "your input"."""
    st.session_state[explain.CURRENT_INPUT_KEY] = np.asarray(pre.image, np.float32)
    st.session_state[explain.CURRENT_INPUT_NAME_KEY] = name


# ----------------------------------------------------------------------------- numbered sections


def preprocessing(pre: inputs.Preprocessed | Fitted, words: dict[str, str], model: ServedModel) -> None:
    """1: the image at each step from the file or canvas to the encoder's input, and which pipeline ran."""
    if isinstance(pre, Fitted):
        encode_picture.preprocessing(pre, words)
        st.caption(encode_picture.pipeline_note(model))
        return
    st.subheader(f"1 · Preprocessing: from your image to a 28×28 MNIST-style {words['noun']}")
    pictures = [pre.original, np.clip(pre.gray, 0, 1), np.clip(pre.cropped, 0, 1), pre.image]
    captions = step_captions(pre)
    removed = removed_picture(pre)
    if removed is not None:  # between the ink and the crop: what was not the digit, in red
        pictures.insert(2, removed)
        captions.insert(2, "Not the digit (in red): removed")
    height, widths = step_sizes(pictures)
    # A row that wraps, not columns: columns would stretch each picture to its column's width, so a thin crop
    # came out twice as tall as its neighbours (and blurred). The caption goes under the picture in its own
    # box: st.image's would be as narrow as the picture.
    with st.container(horizontal=True):
        for picture, caption, width in zip(pictures, captions, widths):
            with st.container(width=max(width, STEP_MIN_WIDTH), gap="xxsmall"):
                alt = f"your {words['noun']}: {caption[0].lower()}{caption[1:]}"
                st.image(pics.at_height(picture, 2 * height), width=width, alt=alt,  # 2×: sharp on HiDPI
                         output_format="PNG")
                st.caption(caption)
    note = cleanup_note(pre)
    if note:
        st.caption(note)
    st.caption(encode_picture.pipeline_note(model))


def posterior(enc: Encoding) -> None:
    """2: z_mean, z_log_var and z_std per dimension, each beside its KL, in one table."""
    st.subheader("2 · The encoder's answer: a mean and a spread for this image")
    st.markdown(
        "The encoder does not output one point: its two Dense heads output **z_mean** and **z_log_var** "
        "(the course's “sigma”), and `z_std = exp(0.5·z_log_var)`. Together they describe a Gaussian "
        "*cloud* of latent codes that could have produced this image.")
    widgets.kl_table(st, enc.kl, enc.z_mean, enc.z_std, z_log_var=enc.z_log_var)


def sampling(handle: Handle, enc: Encoding) -> Samples:
    """3: samples of the cloud and their decodes beside the input and its reconstruction."""
    st.subheader("3 · Samples z = z_mean + z_std · ε and the reconstruction")
    cc = st.columns([2, 1])
    n = cc[0].slider("Number of samples", 1, 12, 6, key="encode_n_samples")
    if cc[1].button("Draw new ε", key="encode_new_eps"):
        st.session_state["encode_seed"] = st.session_state.get("encode_seed", 0) + 1
    samples = draw_samples(handle.served, enc, n, seed=st.session_state.get("encode_seed", 0))
    cols = st.columns(2 + n)
    cols[0].image(pics.to_png(enc.image, 4), caption="input", width="stretch",
                  alt=f"your input at {enc.image.shape[1]}×{enc.image.shape[0]}, as the encoder sees it")
    cols[1].image(pics.to_png(samples.reconstruction, 4), caption="decode(z_mean)", width="stretch",
                  alt="reconstruction: " + alt_text.decoded(enc.z_mean))
    for i in range(n):
        cols[2 + i].image(pics.to_png(samples.decodes[i], 4), caption=f"sample {i + 1}", width="stretch",
                          alt=f"sample {i + 1}: " + alt_text.decoded(samples.z[i]))
    st.caption("Each sample is a different ε ~ N(0, I) pushed through the same z_mean and z_std; "
               "their decodes vary around the reconstruction as much as z_std allows.")
    return samples


def fit(handle: Handle, enc: Encoding, samples: Samples) -> dict:
    """4: the negative ELBO's terms, beside the test set's average; returns them for the download."""
    st.subheader("4 · How well it fits: the negative ELBO of this image")
    elbo, sample_rec = fit_terms(enc, samples)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Reconstruction (at z_mean)", f"{elbo['reconstruction_loss']:.1f} nats")
    m2.metric("KL to N(0, I)", f"{elbo['kl_loss']:.2f} nats")
    m3.metric("Negative ELBO (at z_mean)", f"{elbo['neg_elbo']:.1f} nats")
    m4.metric("Reconstruction (samples)", f"{sample_rec:.1f} nats",
              help=f"The reconstruction term averaged over the {len(samples.z)} sampled z above: what "
                   "training actually optimises, estimated with a few draws instead of at z_mean.")
    ref_m = handle.served.card.get("test_metrics") or {}
    if "neg_elbo_at_mean" in ref_m:
        st.caption(f"For comparison, the test set's average negative ELBO at z_mean is "
                   f"{ref_m['neg_elbo_at_mean']:.1f} nats (reconstruction "
                   f"{ref_m.get('reconstruction_loss_at_mean', float('nan')):.1f}). "
                   "An image far above that is one the model finds unusual.")
    st.caption("The negative ELBO is reconstruction + KL; this model was trained on "
               f"{loss_formula(facts_of(handle.served))}. The KL's split over the latent dimensions is the "
               "last column of the table in 2.")
    return elbo


def nearest(handle: Handle, enc: Encoding, words: dict[str, str]) -> list[dict] | None:
    """5: the nearest test images by z_mean, their labels and the majority; returns them for the download."""
    model = handle.served
    st.subheader(f"5 · Its nearest test {words['things']} (by z_mean)")
    nbrs = neighbors(model, enc.z_mean)
    if nbrs is None:
        st.info("This model stores no reference encodings of the test set, "
                "so there are no neighbours to show.")
        return None
    labels = [n["label"] for n in nbrs]
    names = ", ".join(models.label_name(model, lab) for lab in labels)
    st.markdown(f"Labels of the {len(nbrs)} nearest: **{names}** — "
                f"majority: **{models.label_name(model, majority(labels))}**.")
    images = cache.reference_images(handle)
    if images is None:
        st.caption("(The test images are not available on this machine, so only their labels are shown.)")
        return nbrs
    for c, n in zip(st.columns(len(nbrs)), nbrs):
        c.image(pics.to_png(images[n["index"]], 3),
                caption=f"{models.label_name(model, n['label'])} · d={n['distance']:.2f}", width="stretch",
                alt=f"test image #{n['index']}, label {models.label_name(model, n['label'])}, its z_mean "
                    f"{n['distance']:.2f} from yours")
    return nbrs


def landing(handle: Handle, enc: Encoding, samples: Samples, words: dict[str, str]) -> None:
    """6: the encoding's cloud on the latent map among the test images."""
    st.subheader("6 · Where it lands on the latent map")
    clouds = [your_cloud(enc, samples)]
    # On by default where the cloud would hide under its star on the whole map.
    zoom = st.toggle("Zoom in on its cloud", value=cache.cloud_too_small(handle, clouds), key="encode_zoom",
                     help="The star is z_mean, the rings 1 and 2 z_std, the circles the samples drawn above.")
    fig = cache.cloud_map(handle, clouds, zoom=zoom, height=560)
    if fig is None:
        st.info("This model stores no reference encodings, so there is no map to place the image on.")
        return
    note = map_note(handle.served.latent_dim, words["things"])
    if note:
        st.caption(note)
    st.plotly_chart(fig, width="stretch", key="encode_map", config=widgets.plotly_config())


def downloads(handle: Handle, enc: Encoding, name: str, elbo: dict, nbrs: list[dict] | None,
              words: dict[str, str]) -> None:
    """The encoding as JSON and CSV."""
    record = explain.encoding_record(enc.z_mean, enc.z_log_var, source=name, model=handle.served.name,
                                     elbo=elbo, neighbors=nbrs)
    st.markdown("**Download this encoding** (z_mean, z_log_var, z_std, KL per dimension; the JSON adds the "
                f"losses and the nearest test {words['things']}):")
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("JSON", explain.record_json(record), file_name="encoding.json",
                       mime="application/json", key="encode_dl_json", icon=icons.DOWNLOAD,
                       width="stretch")
    d2.download_button("CSV", explain.record_csv(record), file_name="encoding.csv", mime="text/csv",
                       key="encode_dl_csv", icon=icons.DOWNLOAD, width="stretch")
