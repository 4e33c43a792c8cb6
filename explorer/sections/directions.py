"""The Directions page's sections: make a direction (two groups, or an attribute of every test image),
see how well z holds it, save it by name, and see every saved one as an arrow on the map."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import direction_figures as dfigs
from explorer import directions, icons, inputs, models, widgets
from explorer.models import Handle
from explorer.sections import latent_inputs
from explorer.sections.encode import IMAGE_TYPES, is_digits
from vae.model import directions as maths
from vae.plural import count

# Short: the options sit side by side, on a phone too; the control's help says more.
METHODS = {"labels": "Two labels", "boxes": "Two map boxes", "images": "Your images",
           "attribute": "An attribute"}
METHOD_HELP = ("Two labels: from one label's mean z_mean to another's. Two map boxes: from the test "
               "images in one box on the Latent map to those in another. Your images: from one set of your "
               "uploads or drawings to another. An attribute: ink, slant, width or height of every test "
               "image, regressed on z_mean.")
BOXES_KEY = "dir_boxes"  # {"A": {"rows": [...], "what": str}, "B": ...}, from the Latent map's box
IMAGES_KEY = "dir_images"  # {"A": [z_mean, ...], "B": [...]}: the visitor's uploads and drawings, encoded
GROUPS = ("A", "B")


def intro(handle: Handle) -> None:
    st.title(icons.title("directions", "Directions"))
    st.markdown(
        "A **direction** is an arrow in the latent space: add it to a code z and the decoded image changes "
        "in one way. Make one from two groups (the arrow from the first group's mean z to the second's) or "
        "from an attribute measured on every test image and regressed on z_mean. Save it by name: the "
        "Decoder can then walk any z along it, the Interpolate page can walk between its ends, and this "
        "page's link carries every saved direction.")
    directions.from_link(handle)


def make(handle: Handle) -> dict | None:
    """The direction the visitor is making (a saved-direction entry), or None until it has both parts."""
    has_ref = handle.served.reference is not None
    offered = [m for m in METHODS if has_ref or m == "images"]
    method = st.segmented_control("Make a direction from", offered, format_func=METHODS.get,
                                  default=offered[0], key="dir_method",
                                  help=METHOD_HELP) or offered[0]
    if method == "labels":
        return from_labels(handle)
    if method == "boxes":
        return from_boxes(handle)
    if method == "images":
        return from_images(handle)
    return from_attribute(handle)


def from_labels(handle: Handle) -> dict | None:
    model = handle.served
    labels = model.reference.get("labels")
    if labels is None:
        st.info("This model's reference encodings carry no labels.")
        return None
    kinds = [int(c) for c in np.unique(labels)]
    name = lambda c: models.label_name(model, c)  # noqa: E731
    c1, c2 = st.columns(2)
    a = c1.selectbox("From the label", kinds, index=0, format_func=name, key="dir_label_a")
    b = c2.selectbox("To the label", kinds, index=min(1, len(kinds) - 1), format_func=name, key="dir_label_b")
    if a == b:
        st.info("Pick two different labels.")
        return None
    n_a, n_b = int((labels == a).sum()), int((labels == b).sum())
    return directions.entry(directions.label_direction(handle, a, b),
                            f"mean z_mean of the {n_b:,} test {name(b)}s minus that of the "
                            f"{n_a:,} {name(a)}s",
                            f"from the mean {name(a)} to the mean {name(b)}")


def keep_box(group: str, rows: np.ndarray, what: str) -> None:
    """The Latent map's "use as group A/B": the test images inside its box become a group."""
    st.session_state.setdefault(BOXES_KEY, {})[group] = {"rows": [int(r) for r in rows], "what": what}


def from_boxes(handle: Handle) -> dict | None:
    boxes = st.session_state.get(BOXES_KEY, {})
    for g in GROUPS:
        got = boxes.get(g)
        st.markdown(f"**Group {g}:** " + (f"{count(len(got['rows']), 'test image')} in {got['what']}"
                                          if got else "none yet"))
    if not all(boxes.get(g) and boxes[g]["rows"] for g in GROUPS):
        st.info("On the **Latent map**, drag a box (box-select tool) and press **Use as group A**; drag "
                "another and press **Use as group B**, then come back here.")
        return None
    z_mean = handle.served.reference["z_mean"]
    vector = maths.group_direction(z_mean[boxes["A"]["rows"]], z_mean[boxes["B"]["rows"]])
    return directions.entry(vector, f"mean z_mean of box B ({boxes['B']['what']}) minus that of box A "
                            f"({boxes['A']['what']})", "from box A's mean to box B's")


def from_images(handle: Handle) -> dict | None:
    """Two sets of the visitor's own images (uploads and drawings), encoded; the difference of their means."""
    kept = st.session_state.setdefault(IMAGES_KEY, {g: [] for g in GROUPS})
    digits = is_digits(handle.served)
    cols = st.columns(2)
    for g, col in zip(GROUPS, cols):
        with col:
            head = st.empty()  # the group's counts, once its uploads are read below
            ups = st.file_uploader(f"Images for group {g}", type=IMAGE_TYPES, accept_multiple_files=True,
                                   key=f"dir_up_{g}")
            zs = []
            if ups:
                for up in ups:
                    try:
                        image = inputs.preprocess_bytes(up.getvalue()).image
                        zs.append(latent_inputs.encode_image(handle, image, "upload").z)
                    except Exception:  # one unreadable file is left out, not the page broken
                        st.warning(f"{models.plain_text(up.name)} could not be read as an image; left out.")
            st.session_state[f"dir_up_z_{g}"] = zs  # the uploader's files now: a removed one goes
            head.markdown(f"**Group {g}:** {count(len(kept[g]), 'drawing')} and {count(len(zs), 'upload')}")
            st.button(f"Clear group {g}'s drawings", key=f"dir_clear_{g}",
                      on_click=lambda g=g: kept.update({g: []}))
    st.markdown("Or draw one, then add it to a group (repeat for several):")
    data = latent_inputs.canvas("dir_canvas")
    b1, b2 = st.columns(2)
    for g, col in zip(GROUPS, (b1, b2)):
        if col.button(f"Add the drawing to group {g}", key=f"dir_add_{g}", disabled=data is None):
            try:
                image = latent_inputs.drawing_to_image(data, digits)
                kept[g].append(latent_inputs.encode_image(handle, image, "drawing").z.tolist())
                st.rerun()
            except inputs.ImageError as exc:
                st.error(str(exc))
    groups = {g: [np.asarray(z) for z in kept[g]] + list(st.session_state.get(f"dir_up_z_{g}") or [])
              for g in GROUPS}
    if not all(groups[g] for g in GROUPS):
        st.info("Each group needs at least one image: upload some, or draw and add.")
        return None
    vector = maths.group_direction(np.array(groups["A"]), np.array(groups["B"]))
    return directions.entry(vector, f"mean z_mean of your {count(len(groups['B']), 'image')} in group B "
                            f"minus that of your {count(len(groups['A']), 'image')} in group A",
                            "from group A's mean to group B's")


def from_attribute(handle: Handle) -> dict | None:
    """An attribute of every test image regressed on z_mean, with R² on held-out images."""
    name = st.selectbox("Attribute", list(maths.ATTRIBUTES), format_func=maths.ATTRIBUTES.get, key="dir_attr")
    found = directions.attribute_direction(handle, name)
    if st.session_state.get("dir_name_for") != name:  # the attribute's name offered as the direction's
        st.session_state["dir_name"] = st.session_state["dir_name_for"] = name
    if found is None:
        st.info(f"The {handle.served.card.get('dataset', 'training')} test images are not on this server, "
                "so their attributes cannot be measured. Use two labels or two groups instead.")
        return None
    n = len(handle.served.reference["z_mean"])
    held = len(maths.held_out_split(n)[1])
    st.metric(f"R² on {held:,} held-out test images", f"{found.r2:.2f}",
              help="The share of the attribute's variance that a straight-line fit on z_mean explains, on "
                   "test images the fit never saw: 1 means z holds it exactly, 0 not at all (linearly).")
    how_well = ("holds it well" if found.r2 >= 0.6 else "holds some of it" if found.r2 >= 0.25
                else "holds little of it (linearly)")
    st.caption(f"Fitted on the other {n - held:,} test images: this model's z_mean {how_well}. "
               f"Adding the direction once moves the fitted {name} by {found.unit}.")
    return directions.entry(found.vector, found.how, found.unit, found.r2)


def save_form(handle: Handle, candidate: dict | None) -> None:
    """Name the direction and keep it for this session (and in the link)."""
    if candidate is None:
        return
    st.caption(f"This direction: {candidate['how']}; |v| = {np.linalg.norm(candidate['vector']):.3f}.")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Name", key="dir_name", max_chars=directions.MAX_NAME, placeholder="e.g. slant")
    if c2.button("Save the direction", key="dir_save", width="stretch"):
        why = directions.save(handle, name, candidate)
        if why:
            st.warning(why)
        else:
            st.success(f"Saved as “{directions.clean_name(name)}”: the Decoder and Interpolate pages offer "
                       "it, and this page's link carries it.")


def saved_list(handle: Handle) -> None:
    """Every saved direction of this model: how it was made, R², and a way to delete it."""
    mine = directions.saved(handle)
    st.subheader("Saved directions")
    if not mine:
        st.caption("None yet on this model.")
        return
    st.dataframe({"name": list(mine), "made from": [e["how"] for e in mine.values()],
                  "k = 1 moves": [e["unit"] for e in mine.values()],
                  "R² (held out)": ["" if e["r2"] is None else f"{e['r2']:.2f}" for e in mine.values()],
                  "length |v|": [round(float(np.linalg.norm(e["vector"])), 3) for e in mine.values()]},
                 hide_index=True)
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    gone = c1.selectbox("Direction", list(mine), key="dir_delete_name")
    c2.button("Delete", key="dir_delete", on_click=directions.delete, args=(handle, gone), width="stretch")
    st.caption("This page's link now carries the saved directions (?dirs=…): send it and they open here.")


def arrows(handle: Handle, candidate: dict | None) -> None:
    """Every saved direction, and the one being made, as arrows from the data mean on the map."""
    fig = dfigs.base_map(handle)
    if fig is None:
        return
    mine = directions.saved(handle)
    for k, (name, e) in enumerate(mine.items()):
        dfigs.add_arrow(fig, handle, np.array(e["vector"]), name, dfigs.ARROW_COLOURS[k % 6])
    if candidate is not None:
        dfigs.add_arrow(fig, handle, np.array(candidate["vector"]), "new", "#444444", dash=True)
    d = handle.served.latent_dim
    plane = {1: "along z0 (the strip's only axis)", 2: "in z itself"}.get(
        d, f"projected onto the plane of the first two principal components (of {d} dimensions)")
    st.plotly_chart(fig, key="dir_map", config=widgets.plotly_config())
    st.caption(f"Each arrow starts at the test set's mean z_mean and ends where adding the direction once "
               f"takes it, {plane}." + (" A direction can point mostly out of this plane: a short arrow "
                                        "here may still be a long one in z." if d > 2 else ""))
    names = ", ".join(list(mine) + (["the new one"] if candidate else [])) or "none"
    st.caption(f"Arrows: {names}.")

