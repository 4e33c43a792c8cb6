"""One or two inputs' posterior clouds on the latent map: the test set behind them, samples, rings, z_mean."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explorer import explain
from explorer import figures as figs

SVG_SAMPLES = 1000  # more sampled points than this go to WebGL; fewer are cheaper as SVG (no GL context)
# On the whole map a cloud whose 2·z_std ring spans less than this share of the map (about 25 px of a 500-px
# plot) hides under its 15-px z_mean star: the pages then open zoomed in on it.
SMALL_CLOUD = 0.05


def view_ranges(clouds: list[dict], pca: dict | None, data_ranges: tuple | None,
                zoom: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """The map's axis ranges: the test set's `data_ranges` ((x0, x1), (y0, y1)) widened to hold the
    clouds' 2-sd boxes, or zoomed (or with no test set), a square that frames 4 z_std either side of
    each cloud's z_mean and all of its samples."""
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for c in clouds:
        center = explain.project(c["z_mean"], pca)[0]
        sd = np.sqrt(np.clip(np.diag(explain.projected_cov(c["z_log_var"], pca)), 1e-12, None))
        r = (4.0 if zoom or data_ranges is None else 2.0) * sd
        lo, hi = np.minimum(lo, center - r), np.maximum(hi, center + r)
        if zoom and c.get("samples") is not None and len(c["samples"]):
            s = explain.project(c["samples"], pca)
            lo, hi = np.minimum(lo, s.min(0)), np.maximum(hi, s.max(0))
    if not zoom and data_ranges is not None:
        ranges = np.asarray(data_ranges, np.float64)
        lo, hi = np.minimum(lo, ranges[:, 0]), np.maximum(hi, ranges[:, 1])
        return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
    half = max(float((hi - lo).max()) / 2 * 1.05, 1e-3)  # square, so the cloud's shape is not distorted
    mid = (lo + hi) / 2
    return (float(mid[0] - half), float(mid[0] + half)), (float(mid[1] - half), float(mid[1] + half))


def too_small_to_see(clouds: list[dict], pca: dict | None, data_ranges: tuple | None) -> bool:
    """Whether, on the whole map, every cloud's 2·z_std ring is narrower than SMALL_CLOUD of the map's span
    (False without a test set: the view then frames the clouds anyway)."""
    if data_ranges is None or not clouds:
        return False
    (x0, x1), (y0, y1) = view_ranges(clouds, pca, data_ranges, zoom=False)
    widest = max(4.0 * float(np.sqrt(np.clip(np.linalg.eigvalsh(explain.projected_cov(c["z_log_var"], pca)),
                                             0.0, None).max())) for c in clouds)
    return widest < SMALL_CLOUD * max(x1 - x0, y1 - y0)


def backdrop_box(view: tuple, full: tuple) -> tuple[tuple[float, float], tuple[float, float]]:
    """The region the test-set picture covers: the whole map's for a wide view, else a square around the
    view, snapped to a coarse grid so that small moves of the cloud reuse a cached picture."""
    (x0, x1), (y0, y1) = view
    (fx0, fx1), (fy0, fy1) = full
    span = max(x1 - x0, y1 - y0)
    if span >= 0.5 * max(fx1 - fx0, fy1 - fy0) and x0 >= fx0 and x1 <= fx1 and y0 >= fy0 and y1 <= fy1:
        return full
    side = 2.0 ** (math.ceil(4 * math.log2(2.0 * span)) / 4)  # at least twice the view, on a 2^(1/4) grid
    step = side / 8
    cx, cy = (round((x0 + x1) / 2 / step) * step, round((y0 + y1) / 2 / step) * step)
    return (cx - side / 2, cx + side / 2), (cy - side / 2, cy + side / 2)


def cloud_parts(clouds: list[dict], pca: dict | None) -> list[dict]:
    """What a map draws of each cloud, in map coordinates: its samples (or None), its rings as
    (points, n_sd, dash) and its z_mean's point; `cloud_figure` and `explorer.cloud_svg` draw these."""
    parts = []
    for c in clouds:
        center = explain.project(c["z_mean"], pca)[0]
        cov = explain.projected_cov(c["z_log_var"], pca)
        samples = c.get("samples")
        parts.append({
            "name": c["name"], "color": c["color"], "center": center, "sample_marker": c.get("sample_marker"),
            "samples": None if samples is None else explain.project(samples, pca),
            "rings": [(explain.ellipse(center, cov, n_sd=n_sd), n_sd, dash)
                      for n_sd, dash in c.get("rings", [(2, "dot")])],
        })
    return parts


def cloud_figure(clouds: list[dict], pca: dict | None, view: tuple, backdrop: dict | None = None,
                 names: list[str] | None = None, height: int = 520):
    """The map: `backdrop` (from a cached `pics.points_png`, with its box and labels) behind, then per cloud
    its samples, its rings ("rings": [(n_sd, dash), ...]) and its z_mean as a star.

    A cloud is a dict: name, z_mean, z_log_var, samples (or None), color, and optionally sample_marker
    and rings (default one dotted 2-sd ring).
    """
    fig = go.Figure()
    if backdrop is not None:
        figs.add_points_background(fig, backdrop["png"], backdrop["box"], backdrop["labels"], names)
    n_samples = sum(len(c["samples"]) for c in clouds if c.get("samples") is not None)
    scatter = go.Scatter if n_samples <= SVG_SAMPLES else go.Scattergl
    for c in cloud_parts(clouds, pca):
        if c["samples"] is not None:
            s = c["samples"]
            marker = c["sample_marker"] or dict(size=3, color=c["color"], opacity=0.5)
            fig.add_trace(scatter(x=s[:, 0], y=s[:, 1], mode="markers", name=f"z samples ({c['name']})",
                                  marker=marker))
        for ring, n_sd, dash in c["rings"]:
            fig.add_trace(go.Scatter(x=ring[:, 0], y=ring[:, 1], mode="lines",
                                     name=f"{n_sd}·z_std ({c['name']})",
                                     line=dict(color=c["color"], width=2, dash=dash), hoverinfo="skip"))
        star = dict(size=15, symbol="star", color="gold", line=dict(color=c["color"], width=2))
        fig.add_trace(go.Scatter(x=[c["center"][0]], y=[c["center"][1]], mode="markers",
                                 name=f"z_mean ({c['name']})", marker=star))
    figs.label_latent_axes(fig, pca)
    fig.update_xaxes(range=list(view[0]))
    fig.update_yaxes(range=list(view[1]))
    # Legend clicks would hide only the legend's own markers, not the pictured test points: switched off.
    figs.pin_margins(fig, top=30)
    fig.update_layout(height=height, plot_bgcolor="#f7f7f7",
                      legend=dict(itemclick=False, itemdoubleclick=False))
    return fig
