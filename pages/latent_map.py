"""Latent map: every test image's z_mean, its z_std to scale, selections decoded, and a manifold grid."""

import numpy as np
import streamlit as st

from explorer import cache, models, notices, widgets
from explorer import figures as figs
from explorer import geometry as geo
from explorer import pictures as pics

model = models.current_model()
path = models.current_model_path()
stamp = models.stamp(path)
d = model.latent_dim
ref = model.reference
names = models.class_names(model)

st.title("🗺️ Latent map")
st.markdown(
    "Each dot is one test image placed at its **z_mean**, coloured by its label. The grey rings are "
    "the encoder's uncertainty **z_std** drawn to scale (1σ, for a sample of 150 images): the image "
    "could have been coded anywhere in its ring. Click a dot to see the image and its reconstruction; "
    "drag a box (box-select tool) to decode that region."
)
if ref is None:
    st.info("This bundle stores no reference encodings of the test split (reference.npz), so there is "
            "no map to draw. Retrain or re-export it with reference encodings; the Decoder page still works.")
    st.stop()

notice = notices.unit_activity_notice(model)
if notice:
    getattr(st, notice[0])(notice[1])

z_mean = ref["z_mean"]
std = geo.z_std(ref["z_log_var"])
labels = ref.get("labels")
n = len(z_mean)
MEAN = cache.latent_ranges(path, stamp)["mean"]


def label_of(i: int) -> str:
    return "?" if labels is None else models.label_name(model, labels[i])


# --- the 2-D view: coordinates, the way back to z (if any), and the z_std ellipses in its units ---
VIEWS = ["PCA", "Two latent dims", "t-SNE"]
MAX_ASPECT = 4.0  # the most one axis may spread beyond the other on a to-scale map
STRIP = "1-D strip"  # one latent dimension: nothing to project or choose
view = {1: STRIP, 2: "Two latent dims"}.get(d) or st.segmented_control(
    "2-D view of the latent space", VIEWS, default="PCA", key="map_view",
    help="PCA: the plane of largest spread (exact, reversible). Two latent dims: the others held at "
         "the data mean. t-SNE: neighbourhoods kept, distances and axes meaningless, no way back to z.")
view = view or "PCA"
index = np.arange(n)
to_z = cov_of = None
note = note_other_dims = ""
if view == "Two latent dims":
    if d == 2:
        i, j = 0, 1
    else:
        by_spread = [int(k) for k in np.argsort(-z_mean.var(0))]
        c1, c2 = st.columns(2)
        i = c1.selectbox("x axis", range(d), index=by_spread[0], format_func=lambda k: f"z{k}", key="map_dx")
        j = c2.selectbox("y axis", range(d), index=by_spread[1], format_func=lambda k: f"z{k}", key="map_dy")
        note = f"The other {d - 2} dimensions are held at the data mean when decoding."
        note_other_dims = note + " "
    xy = z_mean[:, [i, j]]
    titles = (f"z{i}", f"z{j}")
    hover_dims = (i, j)
    to_z = lambda p: geo.plane_to_z(p, base=MEAN, dims=(i, j))  # noqa: E731
    cov_of = lambda rows: geo.dims_cov(std[rows], i, j)  # noqa: E731
elif view in ("PCA", STRIP):
    # The strip is laid out as a PCA plane is (geo.strip_plane): x = z0, and y dropped on the way back to z.
    p = cache.pca_2d(path, stamp) if view == "PCA" else geo.strip_plane(z_mean[:, 0], labels, jitter=0.3)
    xy, ev = p["xy"], p.get("explained")
    titles = p.get("titles") or (f"PC1 ({ev[0]:.0%} of the spread)", f"PC2 ({ev[1]:.0%})")
    hover_dims = None
    to_z = lambda q: geo.plane_to_z(q, components=p["components"], mean=p["mean"])  # noqa: E731
    cov_of = lambda rows: geo.projected_cov(std[rows], p["components"])  # noqa: E731
    note = ("PCA keeps distances in this plane: the rings are each image's 1σ cloud projected onto it, "
            "still to scale. A point of the plane maps back to z = mean + (x, y) · components."
            if view == "PCA" else
            "This model has one latent dimension, so the map is a strip: x is z0, the only number the "
            "encoder gives an image; each label has its own row, spread by a random jitter that means "
            "nothing. The bars are z_std (1σ), to scale along x; only x is decoded.")
else:
    t = cache.tsne_2d(path, stamp)
    xy, index = t["xy"], t["index"]
    titles = ("t-SNE 1", "t-SNE 2")
    hover_dims = None
    note = (f"t-SNE of a fixed sample of {len(index):,} test images. It keeps neighbours together but "
            "its distances and axes mean nothing, so there are no z_std rings, and it has no inverse: "
            "a point or box of this view cannot be decoded (use PCA or two latent dims for that).")
if note:
    st.caption(note)

xr, yr = geo.data_ranges(xy)
# Axes to scale (so the z_std rings are true circles) unless one axis spreads far more than the other: a
# briefly trained model's map would be a thin sliver with its tick labels piled up.
ratio = (xr[1] - xr[0]) / (yr[1] - yr[0])
equal = view not in ("t-SNE", STRIP) and 1 / MAX_ASPECT <= ratio <= MAX_ASPECT
if view not in ("t-SNE", STRIP) and not equal:
    wide, narrow = (titles[0], titles[1]) if ratio > 1 else (titles[1], titles[0])
    st.caption(f"Not to scale: {wide} spreads {max(ratio, 1 / ratio):.0f} times as far as {narrow}, so each "
               "axis fits its own data and the rings are stretched.")
sel = st.session_state.get("sel_index")
box = st.session_state.get("map_box")
if box and box.get("view") != (path, view, titles):
    box = st.session_state["map_box"] = None  # a box drawn in another view means nothing here


def _on_select() -> None:
    """Selection event -> a box (decoded as a grid) or one point (shown in detail)."""
    event = st.session_state.get("map_chart") or {}
    selection = event.get("selection") or {}
    boxes = selection.get("box") or []
    # Only points of the data traces carry a test index; an index past the test set is a forged event.
    points = [i for i in map(widgets.point_test_index, selection.get("points") or [])
              if i is not None and i < n]
    if boxes:
        b = boxes[0]
        st.session_state["map_box"] = {"x": sorted(b["x"]), "y": sorted(b["y"]), "view": (path, view, titles)}
    elif points:
        st.session_state["sel_index"] = st.session_state["map_idx"] = points[0]
        st.session_state["map_box"] = None


def _on_index() -> None:
    st.session_state["sel_index"] = st.session_state.get("map_idx")


def _grid_shape(x_range, y_range, k: int) -> tuple[int, int]:
    """(cols, rows) of a decoded grid over a region; on the strip one row, as only x is z; square cells
    in latent units where the map is to scale, else k by k."""
    if view == STRIP:
        return k, 1
    return geo.grid_shape(x_range, y_range, k) if equal else (k, k)


def _height(xr, yr, equal: bool) -> int:
    """Axes drawn to scale: a flat region gets a low chart instead of one framed by empty space."""
    if not equal:
        return 640
    aspect = (yr[1] - yr[0]) / max(xr[1] - xr[0], 1e-9)
    return int(min(700, max(340, 720 * aspect + 110)))


chart_col, detail_col = st.columns([3, 2], gap="large")
with chart_col:
    ring_label = "bars (1σ, to scale along x)" if view == STRIP else "rings (1σ, to scale)"
    rings = cov_of is not None and st.toggle(f"Show z_std {ring_label}", value=True, key="map_rings")
    rows = geo.sample_indices(len(xy), 150, seed=1)
    ellipses = geo.ellipse_paths(xy[rows], cov_of(index[rows])) if rings else None
    sel_row = np.flatnonzero(index == sel) if sel is not None else []
    selected = sel_ellipse = None
    if len(sel_row):
        r = sel_row[:1]
        selected = (float(xy[r[0], 0]), float(xy[r[0], 1]))
        sel_ellipse = geo.ellipse_paths(xy[r], cov_of(index[r])) if cov_of else None
    hover = figs.hover_columns(z_mean[index], std[index], index, dims=hover_dims,
                              mean_is_xy=view == "Two latent dims")
    fig = figs.latent_figure(xy, index, None if labels is None else labels[index], names, hover, xr, yr,
                           *titles, ellipses=ellipses, selected=selected, selected_ellipse=sel_ellipse,
                           equal_axes=equal, height=_height(xr, yr, equal))
    if view == STRIP and labels is not None:  # the rows named by their labels
        rows_ = np.unique(labels)
        fig.update_yaxes(tickvals=rows_.tolist(), ticktext=[models.label_name(model, c) for c in rows_])
    if box:
        fig.add_shape(type="rect", x0=box["x"][0], x1=box["x"][1], y0=box["y"][0], y1=box["y"][1],
                      line=dict(color="black", dash="dash"))
    st.plotly_chart(fig, key="map_chart", on_select=_on_select, selection_mode=("points", "box"),
                    config=widgets.plotly_config())

with detail_col:
    st.number_input(f"Test image (0–{n - 1}), or click a dot", min_value=0, max_value=n - 1, value=None,
                    step=1, key="map_idx", on_change=_on_index, placeholder="click a dot on the map")
    if box:
        inside = ((xy[:, 0] >= box["x"][0]) & (xy[:, 0] <= box["x"][1])
                  & (xy[:, 1] >= box["y"][0]) & (xy[:, 1] <= box["y"][1]))
        st.markdown(f"**Box** x ∈ [{box['x'][0]:.2f}, {box['x'][1]:.2f}], "
                    f"y ∈ [{box['y'][0]:.2f}, {box['y'][1]:.2f}] — {int(inside.sum()):,} inside")
        if to_z is None:
            st.info("t-SNE has no inverse: this box cannot be decoded. Switch to PCA or two latent dims.")
        else:
            cols, rows = _grid_shape(box["x"], box["y"], 10)
            z_box = to_z(geo.grid_points(box["x"], box["y"], cols, rows))
            png = cache.decoded_grid_png(path, stamp, z_box, rows, cols)
            # "content": the picture's own width (56 px a cell), but never wider than this column.
            st.image(png, output_format="PNG", width="content",
                     caption=f"The box decoded as a {rows}×{cols} grid")
            st.download_button("⬇ Box grid (PNG)", png, file_name="box_grid.png",
                               mime="image/png", on_click="ignore")
        st.button("Clear the box", on_click=lambda: st.session_state.update(map_box=None))
    elif sel is not None:
        sel = int(sel)
        st.markdown(f"**Test image #{sel}** — label **{label_of(sel)}**")
        c1, c2 = st.columns(2)
        images = cache.test_images(model.card.get("dataset", ""))
        if images is not None and len(images) == n:
            c1.image(pics.to_png(images[sel], 5), output_format="PNG", caption="input")
        else:
            c1.info(f"The {model.card.get('dataset', 'training')} dataset is not on this server, "
                    "so the input image cannot be shown.")
            st.caption(notices.DATA_HELP)
        recon = model.decode(z_mean[sel][None])[0]
        c2.image(pics.to_png(recon, 5), output_format="PNG", caption="reconstruction: decoder(z_mean)")
        st.dataframe({"dim": [f"z{k}" for k in range(d)], "z_mean": z_mean[sel].round(3),
                      "z_std": std[sel].round(3)}, hide_index=True, height=min(35 * d + 40, 320))
    else:
        st.caption("Click a dot for its image, reconstruction and numbers; drag a box to decode a region.")


SPACING_LABELS = {"quantiles": "By the data (quantiles)", "prior": "By the prior (Φ⁻¹ of N(0, 1))",
                  "even": "Evenly"}


@st.fragment
def manifold() -> None:
    """The map's plane decoded on a grid: what the decoder draws where the data is."""
    st.subheader("The map, decoded")
    if to_z is None:
        st.info("t-SNE has no inverse, so its plane cannot be decoded. Switch to PCA or two latent dims.")
        return
    # The prior's quantiles are latent coordinates; a PCA plane's axes are not.
    spacings = [s for s in geo.GRID_SPACINGS if s != "prior" or view != "PCA"]
    c1, c2 = st.columns([2, 3])
    k = c1.select_slider("Grid size (images along the longer side)", options=list(range(5, 26)), value=15,
                         key="map_grid_n")
    spacing = c2.segmented_control("Grid spacing", spacings, default="quantiles", key="map_grid_spacing",
                                   format_func=SPACING_LABELS.get,
                                   help="By the data: each column (and row) holds the same share of the "
                                        "test set, so the crowded middle gets as many cells as the edges. "
                                        "By the prior: the standard normal's quantiles, as in Kingma & "
                                        "Welling's figures. Evenly: equal steps over the data's range.")
    spacing = spacing or "quantiles"
    cols, rows = _grid_shape(xr, yr, k)
    xs = geo.grid_axis(xy[:, 0], cols, spacing, xr)
    ys = None if view == STRIP else geo.grid_axis(xy[:, 1], rows, spacing, yr)
    z_grid = to_z(geo.grid_from_axes(xs, [0.0] if ys is None else ys))
    png = cache.decoded_grid_png(path, stamp, z_grid, rows, cols)
    cell = int(min(56, 640 // cols))
    y_title = None if ys is None else titles[1]
    fig = figs.grid_figure(pics.inline_png(png), xs, ys, titles[0], y_title, cell)
    st.plotly_chart(fig, key="map_grid", width="content", config={"displayModeBar": False})
    share = {"quantiles": "each column and row holds the same share of the test set's points, so the ticks "
                          "are uneven: close together where the data is dense",
             "prior": "at the standard normal prior's quantiles, the spacing of Kingma & Welling's manifold "
                      "figures",
             "even": "evenly spaced over 0.5–99.5 % of the data, widened by 10 %"}[spacing]
    st.caption(f"{rows}×{cols} decoded points; the axes give each cell's {titles[0]}"
               + ("" if ys is None else f" and {titles[1]}") + f": {share}. "
               + (note_other_dims if note_other_dims else "")
               + "Zooming the map does not change it; drag a box on the map to decode a smaller region.")
    st.download_button("⬇ Grid (PNG)", png, file_name="latent_grid.png", mime="image/png",
                       on_click="ignore")


manifold()
# Deferred: the ~0.5 MB file is made and sent only when the button is clicked, not with every page load.
st.download_button("⬇ Latent codes of the test set (CSV: index, label, z_mean_0…, z_std_0…)",
                   lambda: cache.latent_csv(path, stamp), file_name=f"{model.path.name}_latent_codes.csv",
                   mime="text/csv", on_click="ignore")
