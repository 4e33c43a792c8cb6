"""Array and figure helpers for looking at a latent space: ranges, ellipses, grids, strips, CSV.

Nothing here knows about Streamlit or TensorFlow; the app's pages call these with arrays from a
served model. Plotly is imported only by the figure builders.
"""

from __future__ import annotations

import io

import numpy as np

from vae.posterior import z_std  # noqa: F401  (the pages' lv.z_std)

# Plotly's default qualitative palette, one colour per class.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def data_ranges(values: np.ndarray, lo: float = 0.5, hi: float = 99.5, widen: float = 0.1) -> np.ndarray:
    """Per column (lo, hi) percentiles of `values` (n, d), widened by `widen` of the span: (d, 2)."""
    q = np.percentile(np.asarray(values, np.float64), [lo, hi], axis=0).T
    span = q[:, 1] - q[:, 0]
    span = np.where(span > 1e-6, span, 1.0)  # a collapsed dimension still gets a usable range
    return np.stack([q[:, 0] - widen * span, q[:, 1] + widen * span], axis=1)


def clamp(z: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(z, np.float64), ranges[:, 0], ranges[:, 1])


# --- ellipses: q(z|x) is an axis-aligned Gaussian; its 1-sigma contour, in the view's units ---

def dims_cov(std: np.ndarray, i: int, j: int) -> np.ndarray:
    """(n, 2, 2) covariances of the 2-D marginal over latent dims i and j (diagonal)."""
    std = np.atleast_2d(std)
    cov = np.zeros((len(std), 2, 2))
    cov[:, 0, 0] = std[:, i] ** 2
    cov[:, 1, 1] = std[:, j] ** 2
    return cov


def projected_cov(std: np.ndarray, components: np.ndarray) -> np.ndarray:
    """(n, 2, 2) covariances of diag(std^2) projected linearly by `components` (2, d): C S C^T."""
    var = np.atleast_2d(std) ** 2
    return np.einsum("id,nd,jd->nij", components, var, components)


def ellipse_paths(centers: np.ndarray, covs: np.ndarray, n_seg: int = 36) -> tuple[np.ndarray, np.ndarray]:
    """One polyline through the 1-sigma ellipses of N(center, cov), separated by NaN (gaps in Plotly)."""
    centers = np.atleast_2d(centers)
    t = np.linspace(0, 2 * np.pi, n_seg + 1)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, n_seg+1)
    w, v = np.linalg.eigh(covs)  # covs (n, 2, 2)
    shape = v * np.sqrt(np.clip(w, 0, None))[:, None, :]  # columns scaled by the radii
    pts = centers[:, :, None] + shape @ circle  # (n, 2, n_seg+1)
    gap = np.full((len(centers), 2, 1), np.nan)
    pts = np.concatenate([pts, gap], axis=2)
    return pts[:, 0, :].ravel(), pts[:, 1, :].ravel()


# --- from a 2-D view back to z ---

def plane_to_z(xy: np.ndarray, *, base: np.ndarray | None = None, dims: tuple[int, int] | None = None,
               components: np.ndarray | None = None, mean: np.ndarray | None = None) -> np.ndarray:
    """Map view coordinates (m, 2) to latent vectors (m, d).

    PCA view: z = mean + xy @ components. Two-dims view: `base` with dims[0], dims[1] set to x, y.
    """
    xy = np.atleast_2d(np.asarray(xy, np.float64))
    if components is not None:
        return mean[None, :] + xy @ components
    z = np.tile(np.asarray(base, np.float64), (len(xy), 1))
    z[:, dims[0]] = xy[:, 0]
    z[:, dims[1]] = xy[:, 1]
    return z


def pca_project(z: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return (np.atleast_2d(z) - mean) @ components.T


def strip_plane(z0: np.ndarray, labels: np.ndarray | None = None, jitter: float = 0.5, seed: int = 0) -> dict:
    """A 1-D latent space laid out on a 2-D map, in the form of a PCA plane (xy, components, mean, titles).

    x = z0; y = the label (one row per label, if given) plus a fixed random jitter in ±`jitter` that means
    nothing and only keeps points from hiding each other. The components project z to (z0, 0) and take a
    point of the map back to z (its y dropped), so clouds, marks and 1-sigma rings drawn through them land
    on the centre line, the rings as horizontal bars: there is no spread along y to draw.
    """
    z0 = np.asarray(z0, np.float64).reshape(-1)
    y = np.random.default_rng(seed).uniform(-jitter, jitter, len(z0))
    if labels is not None:
        y = y + np.asarray(labels, np.float64)
    y_title = "label (rows spread by a random jitter)" if labels is not None else "random jitter (no meaning)"
    return {"xy": np.column_stack([z0, y]), "components": np.array([[1.0], [0.0]]), "mean": np.zeros(1),
            "titles": ("z0", y_title)}


def grid_points(x_range, y_range, n_cols: int, n_rows: int | None = None) -> np.ndarray:
    """Cell centres of an n_rows x n_cols grid over the region, row-major, top row = largest y."""
    n_rows = n_rows or n_cols
    (x0, x1), (y0, y1) = sorted(map(float, x_range)), sorted(map(float, y_range))
    xs = x0 + (np.arange(n_cols) + 0.5) * (x1 - x0) / n_cols
    ys = y1 - (np.arange(n_rows) + 0.5) * (y1 - y0) / n_rows
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


GRID_SPACINGS = ("quantiles", "prior", "even")


def grid_axis(values: np.ndarray, n: int, spacing: str, value_range=None) -> np.ndarray:
    """n cell centres along one axis of a decoded grid, ascending.

    "quantiles": at the data's own quantiles (i + 0.5) / n, so every cell covers the same share of the
    data and a dense core is not squeezed into a few cells; "prior": at the standard normal's quantiles
    (Φ⁻¹, as in Kingma & Welling's manifold figures), meaningful only along a latent coordinate;
    "even": evenly over `value_range` (the data's 0.5–99.5 % range, widened, if not given).
    """
    p = (np.arange(n) + 0.5) / n
    if spacing == "quantiles":
        return np.quantile(np.asarray(values, np.float64), p)
    if spacing == "prior":
        from scipy.special import ndtri

        return ndtri(p)
    if spacing != "even":
        raise ValueError(f"spacing must be one of {GRID_SPACINGS}, got {spacing!r}")
    lo, hi = data_ranges(np.asarray(values, np.float64)[:, None])[0] if value_range is None else value_range
    return float(lo) + p * (float(hi) - float(lo))


def grid_from_axes(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The (len(ys) * len(xs), 2) points of a grid, row-major with the top row (largest y) first, as
    compose_grid lays out images."""
    gx, gy = np.meshgrid(np.asarray(xs, np.float64), np.sort(np.asarray(ys, np.float64))[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def grid_shape(x_range, y_range, k: int, min_side: int = 3) -> tuple[int, int]:
    """(n_cols, n_rows) with k cells along the longer side and square cells in data units."""
    w, h = abs(float(x_range[1]) - float(x_range[0])), abs(float(y_range[1]) - float(y_range[0]))
    if w <= 0 or h <= 0:
        return k, k
    short = max(min_side, min(k, int(round(k * min(w, h) / max(w, h)))))
    return (k, short) if w >= h else (short, k)


def compose_grid(images: np.ndarray, n_rows: int, n_cols: int, gap: int = 0,
                 fill: float = 0.25) -> np.ndarray:
    """Tile (n_rows * n_cols, h, w) images into one (rows*h + gaps, cols*w + gaps) image."""
    images = np.asarray(images)
    h, w = images.shape[1:3]
    out = np.full((n_rows * h + (n_rows - 1) * gap, n_cols * w + (n_cols - 1) * gap), fill, np.float32)
    for k, img in enumerate(images[: n_rows * n_cols]):
        r, c = divmod(k, n_cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = img
    return out


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    return compose_grid(images, 1, len(images), gap=gap)


def traversal_z(z: np.ndarray, dim: int, lo: float, hi: float, steps: int) -> np.ndarray:
    """`steps` copies of z with dimension `dim` swept from lo to hi."""
    out = np.tile(np.asarray(z, np.float64), (steps, 1))
    out[:, dim] = np.linspace(lo, hi, steps)
    return out


def interpolation_z(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Straight line from z0 to z1 (both ends included)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(z0, np.float64) + t * np.asarray(z1, np.float64)


# --- z as text (for links) and latent codes as CSV ---

def format_z(z: np.ndarray, decimals: int = 3) -> str:
    return ",".join(f"{float(v):.{decimals}f}".rstrip("0").rstrip(".") for v in np.ravel(z))


def parse_z(text: str | None, latent_dim: int) -> np.ndarray | None:
    """'0.1,-2,3' -> array, or None if it is not `latent_dim` finite numbers."""
    if not text:
        return None
    try:
        z = np.array([float(v) for v in str(text).split(",")], np.float64)
    except ValueError:
        return None
    return z if z.shape == (latent_dim,) and np.isfinite(z).all() else None


def latent_csv(z_mean: np.ndarray, z_log_var: np.ndarray, labels: np.ndarray | None = None,
               class_names: list[str] | None = None) -> bytes:
    """CSV with columns index, label[, label_name], z_mean_0.., z_std_0.."""
    n, d = z_mean.shape
    std = z_std(z_log_var)
    head = ["index", "label"] + (["label_name"] if class_names and labels is not None else [])
    head += [f"z_mean_{i}" for i in range(d)] + [f"z_std_{i}" for i in range(d)]
    buf = io.StringIO()
    buf.write(",".join(head) + "\n")
    nums = np.concatenate([z_mean, std], axis=1)
    for k in range(n):
        row = [str(k), "" if labels is None else str(int(labels[k]))]
        if len(head) > 2 + 2 * d:
            row.append('"' + class_names[int(labels[k])].replace('"', '""') + '"')
        row += [f"{v:.6g}" for v in nums[k]]
        buf.write(",".join(row) + "\n")
    return buf.getvalue().encode()


def sample_indices(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[: min(k, n)])


def hover_columns(z_mean: np.ndarray, std: np.ndarray, index: np.ndarray, dims: tuple[int, ...] | None = None,
                  max_dims: int = 4, mean_is_xy: bool = False) -> tuple[np.ndarray, str]:
    """Per point: test index, z_mean and z_std (the given dims, or the first few) as customdata columns,
    and the hovertemplate that formats them.

    Numbers sent once as a typed array, formatted by Plotly in the browser, keep the map's figure small:
    a preformatted string per point was 0.9 MB of the Latent map's 1.6 MB for 10,000 points.
    `mean_is_xy`: the plot's x and y are z_mean[dims] (two dims given), so the hover reads them from
    the point and they are not sent twice.
    """
    d = z_mean.shape[1]
    dims = tuple(dims) if dims is not None else tuple(range(min(d, max_dims)))
    more = "" if len(dims) == d else f", … ({d} dims)"
    names = ",".join(f"z{i}" for i in dims)
    k = len(dims)

    def fmt(first: int) -> str:
        return "(" + ", ".join(f"%{{customdata[{first + j}]:.2f}}" for j in range(k)) + more + ")"

    if mean_is_xy and k == 2:
        columns = np.column_stack([np.asarray(index), std[:, dims]]).astype(np.float32)
        means, stds = f"(%{{x:.2f}}, %{{y:.2f}}{more})", fmt(1)
    else:
        columns = np.column_stack([np.asarray(index), z_mean[:, dims], std[:, dims]]).astype(np.float32)
        means, stds = fmt(1), fmt(1 + k)
    return columns, f"test #%{{customdata[0]}}<br>z_mean[{names}] {means}<br>z_std[{names}] {stds}"


def map_thumbnail(xy: np.ndarray, labels: np.ndarray | None, x_range, y_range, size: int = 300,
                  dot: float = 1.6) -> np.ndarray:
    """A small latent map as an RGB array: dots coloured by label, grey lines through 0, x right, y up.

    The Decoder shows where z is on this picture after every slider change. A Plotly scatter would be
    rebuilt and redrawn by the browser each time (WebGL, slow without a GPU); a picture drawn once per
    model, marked with `mark_thumbnail`, is a ~20 KB PNG.
    """
    img = np.full((size, size, 3), 255, np.uint8)
    u0, v0 = np.clip(_to_pixels(np.zeros((1, 2)), x_range, y_range, size)[0].round().astype(int), 0, size - 1)
    img[:, u0] = img[v0, :] = 225
    _draw_dots(img, _to_pixels(xy, x_range, y_range, size), labels, dot)
    img[[0, -1], :] = img[:, [0, -1]] = 200
    return img


def points_png(xy: np.ndarray, labels: np.ndarray | None, x_range, y_range, size: int = 1000,
               dot: float = 3.0, opacity: float = 0.35) -> bytes:
    """Points coloured by label on a transparent size x size PNG that spans x_range x y_range.

    Behind Encode's and How it works' maps: thousands of reference points as one picture cost the
    browser almost nothing, where a WebGL scatter of them costs a GL context and its shaders on every
    page load (about 0.3 s each without a GPU). Overlapping dots do not darken each other.
    """
    from PIL import Image

    img = np.zeros((size, size, 4), np.uint8)
    _draw_dots(img, _to_pixels(xy, x_range, y_range, size), labels, dot, alpha=int(round(255 * opacity)))
    buf = io.BytesIO()
    Image.fromarray(img, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def cover_box(x_range, y_range, grow: float = 1.5) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square around the view, `grow` times its longer side: a background still fills the plot when
    Plotly widens one axis to keep the two to scale."""
    cx, cy = (x_range[0] + x_range[1]) / 2, (y_range[0] + y_range[1]) / 2
    half = grow * max(x_range[1] - x_range[0], y_range[1] - y_range[0], 1e-9) / 2
    return (cx - half, cx + half), (cy - half, cy + half)


def add_points_background(fig, png: bytes, box, labels: np.ndarray | None, names: list[str] | None = None,
                          opacity: float = 0.35) -> None:
    """`points_png`'s picture under a figure's traces, and one legend entry per label it shows."""
    import base64

    import plotly.graph_objects as go

    (x0, x1), (y0, y1) = box
    fig.add_layout_image(source="data:image/png;base64," + base64.b64encode(png).decode(), xref="x", yref="y",
                         x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below")
    for lab in ([] if labels is None else np.unique(labels)):
        name = names[int(lab)] if names and int(lab) < len(names) else str(int(lab))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker=dict(size=7, opacity=opacity,
                                             color=PALETTE[int(lab) % len(PALETTE)])))


def _draw_dots(img: np.ndarray, pts: np.ndarray, labels: np.ndarray | None, dot: float,
               alpha: int | None = None) -> None:
    """Stamp a disc of radius `dot` px per point into img (H, W, 3 or 4), in label colours; later
    points cover earlier ones. Vectorised: 10,000 points take milliseconds, not a Python loop's 0.4 s."""
    h, w = img.shape[:2]
    colors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], np.uint8)
    rgb = colors[(np.asarray(labels, int) if labels is not None else np.zeros(len(pts), int)) % len(PALETTE)]
    value = rgb if img.shape[2] == 3 else np.column_stack([rgb, np.full(len(rgb), alpha, np.uint8)])
    r = int(np.ceil(dot))
    centre = np.asarray(pts).round().astype(int)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > dot * dot:
                continue
            u, v = centre[:, 0] + dx, centre[:, 1] + dy
            inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
            img[v[inside], u[inside]] = value[inside]


def mark_thumbnail(thumb: np.ndarray, point, x_range, y_range) -> bytes:
    """The thumbnail with a black cross at `point` (clamped to the frame), as PNG bytes."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(thumb)
    size = img.size[0]
    u, v = np.clip(_to_pixels(np.asarray(point, float)[None, :2], x_range, y_range, size)[0], 4, size - 5)
    draw = ImageDraw.Draw(img)
    for width, color in ((6, "white"), (3, "black")):
        draw.line([(u - 9, v - 9), (u + 9, v + 9)], fill=color, width=width)
        draw.line([(u - 9, v + 9), (u + 9, v - 9)], fill=color, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # speed over a few KB: this runs per slider change
    return buf.getvalue()


def _to_pixels(xy: np.ndarray, x_range, y_range, size: int) -> np.ndarray:
    """View coordinates -> pixel coordinates of a size x size picture (y grows upwards in the view)."""
    (x0, x1), (y0, y1) = x_range, y_range
    u = (np.asarray(xy)[:, 0] - x0) / max(x1 - x0, 1e-12) * (size - 1)
    v = (y1 - np.asarray(xy)[:, 1]) / max(y1 - y0, 1e-12) * (size - 1)
    return np.stack([u, v], axis=1)


# --- figures ---

def pin_margins(fig, top: int = 40, left: int = 64, bottom: int = 50, right: int = 10) -> None:
    """Fixed margins wide enough for tick labels and axis titles, with the axes' automargin off.

    With automargin on (Streamlit's theme turns it on), Plotly lays the figure out, measures its tick
    labels, grows the margins and draws everything again, several times: on the Latent map the 10,000
    WebGL points were drawn six times per page load instead of twice, about 0.3 s without a GPU.
    """
    fig.update_layout(margin=dict(l=left, r=right, t=top, b=bottom))
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)


LEGEND_HEIGHT = 80  # px under a map for its horizontal legend: up to 4 rows of labels


def latent_figure(xy: np.ndarray, index: np.ndarray, labels: np.ndarray | None,
                  class_names: list[str] | None, hover: tuple[np.ndarray, str] | None,
                  x_range, y_range, x_title: str, y_title: str,
                  ellipses: tuple[np.ndarray, np.ndarray] | None = None,
                  selected: tuple[float, float] | None = None,
                  selected_ellipse: tuple[np.ndarray, np.ndarray] | None = None,
                  height: int = 640, marker_size: float = 4, opacity: float = 0.6,
                  equal_axes: bool = True, showlegend: bool = True):
    """A WebGL scatter of points coloured by label, optional 1-sigma ellipses and a selected marker.

    Each point carries its test index in customdata[0], so a selection event maps back to the data;
    `hover` (from `hover_columns`) adds the numbers its hover label shows. Ellipse traces skip hover,
    so clicks and boxes select only data points. Coordinates travel as float32 typed arrays.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    groups = [(None, np.arange(len(xy)))] if labels is None else [
        (int(c), np.flatnonzero(labels == c)) for c in np.unique(labels)]
    for c, rows in groups:
        name = "all" if c is None else (class_names[c] if class_names and c < len(class_names) else str(c))
        fig.add_trace(go.Scattergl(
            x=xy[rows, 0].astype(np.float32), y=xy[rows, 1].astype(np.float32), mode="markers", name=name,
            marker=dict(size=marker_size, opacity=opacity,
                        color=PALETTE[(c or 0) % len(PALETTE)]),
            customdata=np.asarray(index, dtype=np.float32)[rows, None] if hover is None else hover[0][rows],
            hovertemplate=f"{name} · #%{{customdata[0]}}<extra></extra>" if hover is None else
            f"<b>{name}</b> · {hover[1]}<extra></extra>",
        ))
    if ellipses is not None:
        fig.add_trace(go.Scatter(x=ellipses[0].astype(np.float32), y=ellipses[1].astype(np.float32),
                                 mode="lines", name="z_std (1σ)",
                                 line=dict(width=1, color="rgba(40,40,40,0.45)"), hoverinfo="skip"))
    if selected_ellipse is not None:
        fig.add_trace(go.Scatter(x=selected_ellipse[0], y=selected_ellipse[1], mode="lines",
                                 name="selected z_std", line=dict(width=2.5, color="black"),
                                 hoverinfo="skip"))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[0]], y=[selected[1]], mode="markers", name="selected",
                                 marker=dict(size=14, symbol="x", color="black",
                                             line=dict(width=1, color="white")),
                                 hoverinfo="skip"))
    # The legend goes under the plot: above it, Plotly's modebar (top right) covered some entries.
    pin_margins(fig, top=36, bottom=50 + (LEGEND_HEIGHT if showlegend else 0))
    fig.update_layout(height=height + (LEGEND_HEIGHT if showlegend else 0), showlegend=showlegend,
                      legend=dict(itemsizing="constant", orientation="h", yanchor="bottom", y=0,
                                  yref="container", xanchor="left", x=0), uirevision="keep")
    fig.update_xaxes(title=x_title, range=list(map(float, x_range)), constrain="domain", zeroline=False)
    fig.update_yaxes(title=y_title, range=list(map(float, y_range)), constrain="domain", zeroline=False)
    if equal_axes:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def grid_figure(png_url: str, xs: np.ndarray, ys: np.ndarray | None, x_title: str, y_title: str | None,
                cell_px: int = 40):
    """A decoded grid (an inline PNG, top row = largest y) with its axes labelled by the actual
    coordinates of its cells, which need not be evenly spaced; hover names each cell's coordinates.

    `ys` None: a one-row grid (a 1-D model's strip), whose y is no coordinate.
    """
    import plotly.graph_objects as go

    cols, rows = len(xs), 1 if ys is None else len(ys)
    y_desc = None if ys is None else np.sort(np.asarray(ys, np.float64))[::-1]
    fig = go.Figure()
    fig.add_layout_image(source=png_url, xref="x", yref="y", x=0, y=rows, sizex=cols, sizey=rows,
                         sizing="stretch", layer="below")
    cx, cy = np.meshgrid(np.arange(cols) + 0.5, rows - 0.5 - np.arange(rows))
    zx = np.broadcast_to(np.asarray(xs, np.float64), (rows, cols))
    text = (f"{x_title} = %{{customdata[0]:.2f}}" if ys is None else
            f"{x_title} = %{{customdata[0]:.2f}}<br>{y_title} = %{{customdata[1]:.2f}}")
    zy = np.zeros((rows, cols)) if y_desc is None else np.broadcast_to(y_desc[:, None], (rows, cols))
    fig.add_trace(go.Scatter(x=cx.ravel(), y=cy.ravel(), mode="markers", showlegend=False,
                             marker=dict(size=cell_px, symbol="square", opacity=0),
                             customdata=np.stack([zx.ravel(), zy.ravel()], 1),
                             hovertemplate=text + "<extra></extra>"))
    # Every k-th tick, so that labels about 40 px wide never overlap.
    step = int(np.ceil(44 / cell_px))
    ticks = np.arange(0, cols, step)
    fig.update_xaxes(range=[0, cols], tickvals=(ticks + 0.5).tolist(), ticktext=[f"{v:.2f}" for v in
                     np.asarray(xs)[ticks]], title=x_title, showgrid=False, zeroline=False, fixedrange=True)
    if y_desc is None:
        fig.update_yaxes(range=[0, rows], visible=False, fixedrange=True)
    else:
        rticks = np.arange(0, rows, int(np.ceil(22 / cell_px)))
        fig.update_yaxes(range=[0, rows], tickvals=(rows - 0.5 - rticks).tolist(),
                         ticktext=[f"{v:.2f}" for v in y_desc[rticks]], title=y_title, showgrid=False,
                         zeroline=False, fixedrange=True, scaleanchor="x", scaleratio=1)
    left, bottom = (10, 50) if y_desc is None else (70, 50)
    pin_margins(fig, top=10, left=left, bottom=bottom, right=10)
    fig.update_layout(width=cols * cell_px + left + 10, height=rows * cell_px + 10 + bottom,
                      plot_bgcolor="white", dragmode=False)
    return fig


def history_figure(history: dict, metric: str, title: str, height: int = 260):
    """Train and validation curves of one loss term, or None if the history lacks it."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, name in ((metric, "train"), (f"val_{metric}", "validation")):
        values = history.get(key)
        if values:
            fig.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=values, mode="lines+markers",
                                     name=name))
    if not fig.data:
        return None
    pin_margins(fig)
    fig.update_layout(title=title, height=height, xaxis_title="epoch", yaxis_title="nats / image",
                      legend=dict(orientation="h", y=-0.3))
    # Epochs are whole numbers: left to itself Plotly labels a one-epoch run's axis "1.000000".
    epochs = max(len(t.x) for t in fig.data)
    fig.update_xaxes(tickformat="d", dtick=1 if epochs <= 10 else None,
                     range=[0.5, epochs + 0.5] if epochs <= 2 else None)
    return fig


def latent_axis_titles(pca: dict | None) -> tuple[str, str]:
    """A latent map's axis titles: principal components (with variance shares), z[0] and z[1], or the
    plane's own."""
    if pca is None:
        return "z[0]", "z[1]"
    if "titles" in pca:  # a plane that names its own axes: a 1-D model's strip (strip_plane)
        return tuple(pca["titles"])
    ex = pca.get("explained", [np.nan, np.nan])
    return f"PC 1 ({ex[0]:.0%} of z_mean variance)", f"PC 2 ({ex[1]:.0%})"


def label_latent_axes(fig, pca: dict | None) -> None:
    """Axis titles for a latent map; z[0] and z[1] are drawn to scale."""
    x_title, y_title = latent_axis_titles(pca)
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    if pca is None:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
