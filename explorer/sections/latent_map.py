"""The Latent map's sections: the view of the latent space, the map with its clicks and boxes, the grid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import alt_text, cache, direction_figures, icons, models, notices, nouns, tsne, widgets
from explorer import figures as figs
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.models import Handle
from explorer.sections import classifier_view
from vae.plural import count

VIEWS = ["PCA", "Two latent dims", "t-SNE"]
STRIP = "1-D strip"  # one latent dimension: nothing to project or choose
MAX_ASPECT = 4.0  # the most one axis may spread beyond the other on a to-scale map
# Short, so that the three fit side by side on a phone (the control does not wrap); its help says more.
SPACING_LABELS = {"quantiles": "By the data", "prior": "By the prior", "even": "Evenly"}
INTRO = ("Each dot is one test image placed at its **z_mean**, coloured by its label. The grey rings are "
         "the encoder's uncertainty **z_std** drawn to scale (1σ, for a sample of 150 images): the image "
         "could have been coded anywhere in its ring. Click a dot to see the image and its reconstruction; "
         "drag a box (box-select tool) to decode that region.")
NO_REFERENCE = ("This bundle stores no reference encodings of the test split (reference.npz), so there is "
                "no map to draw. Retrain or re-export it with reference encodings; the Decoder page still "
                "works.")


@dataclass
class MapView:
    """One 2-D view of the test set's z_mean: its points, axes, and the ways back to z and to z_std."""

    name: str
    xy: np.ndarray  # (n, 2) points on the plane
    index: np.ndarray  # the test index of each point
    titles: tuple[str, str]
    hover_dims: tuple[int, int] | None = None
    to_z: Callable[[np.ndarray], np.ndarray] | None = None  # plane -> z; None: no inverse (t-SNE)
    cov_of: Callable[[np.ndarray], np.ndarray] | None = None  # test indices -> z_std's covariance here
    note: str = ""
    decode_note: str = ""  # what decoding a point of this plane holds fixed

    def __post_init__(self) -> None:
        self.x_range, self.y_range = geo.data_ranges(self.xy)
        # To scale (the rings true circles) unless one axis spreads far more than the other: a briefly
        # trained model's map would be a thin sliver with its tick labels piled up.
        self.ratio = float((self.x_range[1] - self.x_range[0]) / (self.y_range[1] - self.y_range[0]))
        self.latent_units = self.name not in ("t-SNE", STRIP)
        self.equal = self.latent_units and 1 / MAX_ASPECT <= self.ratio <= MAX_ASPECT

    def grid_shape(self, x_range, y_range, k: int) -> tuple[int, int]:
        """(cols, rows) of a decoded grid over a region: one row on the strip (only x is z), square cells in
        latent units where the map is to scale, else k by k."""
        if self.name == STRIP:
            return k, 1
        return geo.grid_shape(x_range, y_range, k) if self.equal else (k, k)

    def height(self) -> int:
        """To scale, a flat region gets a low chart instead of one framed by empty space."""
        if not self.equal:
            return 640
        aspect = (self.y_range[1] - self.y_range[0]) / max(self.x_range[1] - self.x_range[0], 1e-9)
        # The plot is ~380 px wide beside its legend in a 1400 px window; margins take 86 px of the height.
        return int(min(700, max(340, 380 * aspect + 86)))


def intro(handle: Handle) -> bool:
    """The title and what the map shows; False (with a word why) when there is no map to draw."""
    model = handle.served
    st.title(icons.title("latent_map", "Latent map"))
    st.markdown(INTRO)
    if model.reference is None:
        st.info(NO_REFERENCE)
        return False
    notice = cache.unit_notice(handle)
    if notice:
        getattr(st, notice[0])(notice[1])
    return True


def choose_view(handle: Handle) -> MapView:
    """The 2-D view to draw: a 2-D model's own axes, a 1-D model's strip, or PCA / two dims / t-SNE."""
    d, ref = handle.served.latent_dim, handle.served.reference
    z_mean, std, labels = ref["z_mean"], geo.z_std(ref["z_log_var"]), ref.get("labels")
    name = {1: STRIP, 2: "Two latent dims"}.get(d) or st.segmented_control(
        "2-D view of the latent space", VIEWS, default="PCA", key="map_view",
        help="PCA: the plane of largest spread (exact, reversible). Two latent dims: the others held at "
             "the data mean. t-SNE: neighbourhoods kept, distances and axes meaningless, no way back to z.")
    name = name or "PCA"
    if name == "Two latent dims":
        i, j, note = 0, 1, ""
        if d > 2:
            by_spread = [int(k) for k in np.argsort(-z_mean.var(0))]
            c1, c2 = st.columns(2)
            name_of = lambda k: f"z{k}"  # noqa: E731
            i = c1.selectbox("x axis", range(d), index=by_spread[0], format_func=name_of, key="map_dx")
            j = c2.selectbox("y axis", range(d), index=by_spread[1], format_func=name_of, key="map_dy")
            note = (f"The other {count(d - 2, 'dimension')} {'is' if d == 3 else 'are'} held at the data "
                    "mean when decoding.")
        base = cache.latent_ranges(handle)["mean"]
        return MapView(name, z_mean[:, [i, j]], np.arange(len(z_mean)), (f"z{i}", f"z{j}"), (i, j),
                       lambda p: geo.plane_to_z(p, base=base, dims=(i, j)),
                       lambda rows: geo.dims_cov(std[rows], i, j), note, note)
    if name in ("PCA", STRIP):
        # The strip is laid out as a PCA plane is (geo.strip_plane): x = z0, and y dropped on the way back.
        p = cache.pca_2d(handle) if name == "PCA" else geo.strip_plane(z_mean[:, 0], labels, jitter=0.3)
        ev = p.get("explained")
        titles = p.get("titles") or (f"PC1 ({ev[0]:.0%} of the spread)", f"PC2 ({ev[1]:.0%})")
        note = ("PCA keeps distances in this plane: the rings are each image's 1σ cloud projected onto it, "
                "still to scale. A point of the plane maps back to z = mean + (x, y) · components."
                if name == "PCA" else
                "This model has one latent dimension, so the map is a strip: x is z0, the only number the "
                "encoder gives an image; each label has its own row, spread by a random jitter that means "
                "nothing. The bars are z_std (1σ), to scale along x; only x is decoded.")
        return MapView(name, p["xy"], np.arange(len(z_mean)), tuple(titles), None,
                       lambda q: geo.plane_to_z(q, components=p["components"], mean=p["mean"]),
                       lambda rows: geo.projected_cov(std[rows], p["components"]), note)
    t = tsne_embedding(handle)
    n, k = len(t["xy"]), len(t["sample"])
    placed = (f"; the other {n - k:,} are added to it from their nearest sampled neighbours in z, whose "
              "places stay fixed" if n > k else "")
    note = (f"t-SNE of {k:,} test images drawn at random{placed}. It keeps neighbours together but "
            "its distances and axes mean nothing, so there are no z_std rings, and it has no inverse: "
            "a point or box of this view cannot be decoded (use PCA or two latent dims for that).")
    return MapView(name, t["xy"], np.arange(n), ("t-SNE 1", "t-SNE 2"), note=note)


def tsne_embedding(handle: Handle) -> dict:
    """The model's t-SNE: kept on disk, else computed now (seconds) behind a bar with the time left."""
    found = tsne.load(handle)
    if found is not None:
        return found
    kept = "once for this model: it is kept for next time"
    bar = st.progress(0.0, text=f"t-SNE: starting ({kept})…")
    started = time.perf_counter()

    def show(fraction: float) -> None:
        left = tsne.seconds_left(started, fraction)
        when = "timing it" if left is None else f"about {left:.0f} s left"
        bar.progress(fraction, text=f"t-SNE: {fraction:.0%} done, {when} ({kept})")

    result = tsne.embedding(handle, on_progress=show)
    bar.empty()
    return result


def view_notes(view: MapView) -> None:
    """What the view's axes mean, and when they are not to scale, why."""
    if view.note:
        st.caption(view.note)
    if view.latent_units and not view.equal:
        wide, narrow = view.titles if view.ratio > 1 else view.titles[::-1]
        st.caption(f"Not to scale: {wide} spreads {max(view.ratio, 1 / view.ratio):.0f} times as far as "
                   f"{narrow}, so each axis fits its own data and the rings are stretched.")


def current_box(handle: Handle, view: MapView) -> dict | None:
    """The box the visitor dragged in this view, if any (a box drawn in another view means nothing here)."""
    box = st.session_state.get("map_box")
    if box and box.get("view") != (handle.path, view.name, view.titles):
        box = st.session_state["map_box"] = None
    return box


def selection_to_state(event: dict, n: int, box_view: tuple) -> dict:
    """The session-state changes a map selection event asks for: a box (decoded as a grid) or one point
    (shown in detail), one at a time: a box drops the point (its marker and the index box), a point the box.
    Only points of the data traces carry a test index; one past the test set is forged."""
    selection = (event or {}).get("selection") or {}
    boxes = selection.get("box") or []
    points = [i for i in map(widgets.point_test_index, selection.get("points") or [])
              if i is not None and i < n]
    if boxes:
        b = boxes[0]
        return {"map_box": {"x": sorted(b["x"]), "y": sorted(b["y"]), "view": box_view}, "sel_index": None,
                "map_idx": None}
    if points:
        return {"sel_index": points[0], "map_idx": points[0], "map_box": None}
    return {}


def map_chart(handle: Handle, view: MapView, box: dict | None) -> None:
    """The map: every test image's z_mean by label, z_std rings for a sample, the selection and the box."""
    path, n = handle.path, len(handle.served.reference["z_mean"])
    sel = st.session_state.get("sel_index")
    ring_label = "bars (1σ, to scale along x)" if view.name == STRIP else "rings (1σ, to scale)"
    rings = view.cov_of is not None and st.toggle(f"Show z_std {ring_label}", value=True, key="map_rings")
    overlay = classifier_view.overlay_toggle(handle, view)
    # A page view (nothing picked) shows the model's figure as every visitor sees it: built once.
    plain = sel is None and not box
    fig = (plain_map_figure(handle, view.name, view.titles, rings, view) if plain
           else map_figure(handle, view, rings, sel, box))
    fig = classifier_view.with_overlay(fig, overlay, (handle.cache_key, view.name, view.titles, rings)
                                       if plain else None)

    def on_select() -> None:
        box_view = (path, view.name, view.titles)
        st.session_state.update(selection_to_state(st.session_state.get("map_chart"), n, box_view))
        st.session_state.update(classifier_view.cell_state(st.session_state.get("map_chart"), box_view))

    fig = direction_figures.with_saved_arrows(fig, handle, view.name, view.hover_dims)  # issue 28's arrows
    st.plotly_chart(fig, key="map_chart", on_select=on_select, selection_mode=("points", "box"),
                    config=widgets.plotly_config())


def map_figure(handle: Handle, view: MapView, rings: bool, sel: int | None, box: dict | None):
    """The map's figure: the view's points by label, z_std rings for a sample, the selection and the box."""
    model = handle.served
    ref = model.reference
    z_mean, std, labels = ref["z_mean"], geo.z_std(ref["z_log_var"]), ref.get("labels")
    xy, index = view.xy, view.index
    rows = geo.sample_indices(len(xy), 150, seed=1)
    ellipses = geo.ellipse_paths(xy[rows], view.cov_of(index[rows])) if rings else None
    sel_row = np.flatnonzero(index == sel)[:1] if sel is not None else []
    selected = sel_ellipse = None
    if len(sel_row):
        selected = (float(xy[sel_row[0], 0]), float(xy[sel_row[0], 1]))
        sel_ellipse = geo.ellipse_paths(xy[sel_row], view.cov_of(index[sel_row])) if view.cov_of else None
    hover = figs.hover_columns(z_mean[index], std[index], index, dims=view.hover_dims,
                               mean_is_xy=view.name == "Two latent dims")
    fig = figs.latent_figure(xy, index, None if labels is None else labels[index], models.class_names(model),
                             hover, view.x_range, view.y_range, *view.titles, ellipses=ellipses,
                             selected=selected, selected_ellipse=sel_ellipse, equal_axes=view.equal,
                             height=view.height())
    if view.name == STRIP and labels is not None:  # the rows named by their labels
        kinds = np.unique(labels)
        fig.update_yaxes(tickvals=kinds.tolist(), ticktext=[models.label_name(model, c) for c in kinds])
    if box:
        fig.add_shape(type="rect", x0=box["x"][0], x1=box["x"][1], y0=box["y"][0], y1=box["y"][1],
                      line=dict(color="black", dash="dash"))
    return fig


# One figure per model, view and rings toggle, shared by every session (st.plotly_chart only reads it;
# nothing else may change it): building its 10,000 points through Plotly's validators was most of a
# Latent map view's server CPU. A view is named by its name and axis titles (`_view`, not hashed, is it).
@st.cache_resource(show_spinner=False, max_entries=8, hash_funcs=cache.BY_CACHE_KEY)
def plain_map_figure(handle: Handle, name: str, titles: tuple[str, str], rings: bool, _view: MapView):
    return map_figure(handle, _view, rings, None, None)


def detail(handle: Handle, view: MapView, box: dict | None) -> None:
    """Beside the map: a test image picked by number or click, or the dragged box decoded."""
    z_mean = handle.served.reference["z_mean"]
    n = len(z_mean)
    st.number_input(f"Test image (0–{n - 1}), or click a dot", min_value=0, max_value=n - 1, value=None,
                    step=1, key="map_idx", placeholder="click a dot on the map",
                    on_change=lambda: st.session_state.update(sel_index=st.session_state.get("map_idx"),
                                                              map_box=None))  # one selection at a time
    sel = st.session_state.get("sel_index")
    if box:
        _box_detail(handle, view, box)
    elif sel is not None:
        _point_detail(handle, int(sel))
    elif not classifier_view.cell_detail(handle, view, (handle.path, view.name, view.titles)):
        st.caption("Click a dot for its image, reconstruction and numbers; drag a box to decode a region.")


def _box_detail(handle: Handle, view: MapView, box: dict) -> None:
    xy = view.xy
    inside = ((xy[:, 0] >= box["x"][0]) & (xy[:, 0] <= box["x"][1])
              & (xy[:, 1] >= box["y"][0]) & (xy[:, 1] <= box["y"][1]))
    st.markdown(f"**Box** x ∈ [{box['x'][0]:.2f}, {box['x'][1]:.2f}], "
                f"y ∈ [{box['y'][0]:.2f}, {box['y'][1]:.2f}] — {int(inside.sum()):,} inside")
    if view.to_z is None:
        st.info("t-SNE has no inverse: this box cannot be decoded. Switch to PCA or two latent dims.")
    else:
        cols, rows = view.grid_shape(box["x"], box["y"], 10)
        z_box = view.to_z(geo.grid_points(box["x"], box["y"], cols, rows))
        png = cache.decoded_grid_png(handle, z_box, rows, cols)
        # "content": the picture's own width (56 px a cell), but never wider than this column.
        st.image(png, output_format="PNG", width="content",
                 caption=f"The box decoded as a {rows}×{cols} grid",
                 alt=alt_text.grid((rows, cols), view.titles[0], box["x"], view.titles[1], box["y"]))
        st.download_button("Box grid (PNG)", png, file_name="box_grid.png", mime="image/png",
                           on_click="ignore", icon=icons.DOWNLOAD)
    use_box_for_a_direction(view, box, inside)
    st.button("Clear the box", on_click=lambda: st.session_state.update(map_box=None))


def _point_detail(handle: Handle, sel: int) -> None:
    model = handle.served
    ref = model.reference
    z_mean, std, labels = ref["z_mean"], geo.z_std(ref["z_log_var"]), ref.get("labels")
    label = "?" if labels is None else models.label_name(model, labels[sel])
    st.markdown(f"**Test image #{sel}** — label **{label}**")
    alt = f"test image #{sel}, label {label}"
    c1, c2 = st.columns(2)
    images = cache.test_images(model.card.get("dataset", ""))
    gallery = cache.gallery(handle)
    if images is not None and len(images) == len(z_mean):
        c1.image(pics.to_png(images[sel], 5), output_format="PNG", caption="input", alt=alt)
    elif gallery is not None and sel in set(gallery["indices"].tolist()):  # one of the bundle's own digits
        row = int(np.flatnonzero(gallery["indices"] == sel)[0])
        c1.image(pics.to_png(gallery["images"][row] / 255.0, 5), output_format="PNG",
                 caption="input (from the model's gallery)", alt=alt)
    elif gallery is not None:  # offline: the nearest real digit the bundle carries, said to be another one
        row = int(np.argmin(((z_mean[gallery["indices"]] - z_mean[sel]) ** 2).sum(1)))
        near, near_label = int(gallery["indices"][row]), models.label_name(model, gallery["labels"][row])
        c1.image(pics.to_png(gallery["images"][row] / 255.0, 5), output_format="PNG",
                 caption=f"not this image: its nearest of the gallery's real {nouns.things(model)} on the "
                         f"map, #{near} ({near_label})",
                 alt=f"test image #{near}, label {near_label}: the real image nearest to #{sel} on the map")
        st.caption(f"The {model.card.get('dataset', 'training')} test set is not on this server: the model "
                   f"carries {len(gallery['indices'])} of its images. {notices.DATA_HELP}")
    else:
        c1.info(f"The {model.card.get('dataset', 'training')} dataset is not on this server, "
                "so the input image cannot be shown.")
        st.caption(notices.DATA_HELP)
    recon = model.decode(z_mean[sel][None])[0]
    c2.image(pics.to_png(recon, 5), output_format="PNG", caption="reconstruction: decoder(z_mean)",
             alt=f"reconstruction of test image #{sel}: {alt_text.decoded(z_mean[sel])}")
    d = model.latent_dim
    st.dataframe({"dim": [f"z{k}" for k in range(d)], "z_mean": z_mean[sel].round(3),
                  "z_std": std[sel].round(3)}, hide_index=True, height=min(35 * d + 40, 320))
    classifier_view.probabilities(handle, recon, "the reconstruction")


@st.fragment
def decoded_grid(handle: Handle, view: MapView) -> None:
    """The map's plane decoded on a grid: what the decoder draws where the data is (a fragment: its
    controls rerun only this)."""
    st.subheader("The map, decoded")
    if view.to_z is None:
        st.info("t-SNE has no inverse, so its plane cannot be decoded. Switch to PCA or two latent dims.")
        return
    # The prior's quantiles are latent coordinates; a PCA plane's axes are not.
    spacings = [s for s in geo.GRID_SPACINGS if s != "prior" or view.name != "PCA"]
    c1, c2 = st.columns([2, 3])
    k = c1.select_slider("Grid size (images along the longer side)", options=list(range(5, 26)), value=15,
                         key="map_grid_n")
    spacing = c2.segmented_control("Grid spacing", spacings, default="quantiles", key="map_grid_spacing",
                                   format_func=SPACING_LABELS.get,
                                   help="By the data (its quantiles): each column (and row) holds the same "
                                        "share of the test set, so the crowded middle gets as many cells as "
                                        "the edges. By the prior: the standard normal's quantiles (Φ⁻¹ of "
                                        "N(0, 1)), as in Kingma & Welling's figures. Evenly: equal steps "
                                        "over the data's range.")
    spacing = spacing or "quantiles"
    cols, rows = view.grid_shape(view.x_range, view.y_range, k)
    xs = geo.grid_axis(view.xy[:, 0], cols, spacing, view.x_range)
    ys = None if view.name == STRIP else geo.grid_axis(view.xy[:, 1], rows, spacing, view.y_range)
    z_grid = view.to_z(geo.grid_from_axes(xs, [0.0] if ys is None else ys))
    png = cache.decoded_grid_png(handle, z_grid, rows, cols)
    y_title = None if ys is None else view.titles[1]
    st.image(pics.labelled_grid_svg(png, xs, ys, view.titles[0], y_title, int(min(56, 640 // cols))),
             width="content", alt=alt_text.grid((rows, cols), view.titles[0], xs, y_title, ys))
    share = {"quantiles": "each column and row holds the same share of the test set's points, so the ticks "
                          "are uneven: close together where the data is dense",
             "prior": "at the standard normal prior's quantiles, the spacing of Kingma & Welling's manifold "
                      "figures",
             "even": "evenly spaced over 0.5–99.5 % of the data, widened by 10 %"}[spacing]
    st.caption(f"{rows}×{cols} decoded points; the axes give each cell's {view.titles[0]}"
               + ("" if ys is None else f" and {view.titles[1]}") + f": {share}. "
               + (view.decode_note + " " if view.decode_note else "")
               + "Zooming the map does not change it; drag a box on the map to decode a smaller region.")
    st.download_button("Grid (PNG)", png, file_name="latent_grid.png", mime="image/png", on_click="ignore",
                       icon=icons.DOWNLOAD)


def csv_download(handle: Handle) -> None:
    """Every test image's z_mean and z_std as CSV, made only when clicked (a deferred download: the ~0.5 MB
    file is not sent with every page load)."""
    name = handle.served.path.name
    st.download_button("Latent codes of the test set (CSV: index, label, z_mean_0…, z_std_0…)",
                       lambda: cache.latent_csv(handle),
                       file_name=f"{name}_latent_codes.csv", mime="text/csv", on_click="ignore",
                       icon=icons.DOWNLOAD)


def use_box_for_a_direction(view: MapView, box: dict, inside: np.ndarray) -> None:
    """The box's test images as group A or B of a direction (the Directions page's "two boxes")."""
    from explorer.sections.directions import keep_box  # (the Directions page's sections: only when asked)

    what = (f"the {view.name} box x ∈ [{box['x'][0]:.2f}, {box['x'][1]:.2f}], "
            f"y ∈ [{box['y'][0]:.2f}, {box['y'][1]:.2f}]")
    c1, c2 = st.columns(2)
    for g, col in (("A", c1), ("B", c2)):
        col.button(f"Use as group {g}", key=f"map_box_group_{g}", on_click=keep_box,
                   args=(g, view.index[inside], what), disabled=not inside.any(),
                   help="For a direction on the Directions page: from group A's mean z to group B's.")
