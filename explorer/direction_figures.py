"""The map with directions drawn as arrows and interpolation paths as lines (Plotly), on the map's plane."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer import cache, directions
from explorer import figures as figs
from explorer import geometry as geo
from explorer.models import Handle, class_names

MAP_POINTS = 3000  # a sample of the test set: enough to see the clusters, light to send
ARROW_COLOURS = ["#000000", "#b8002e", "#00638a", "#6a3d9a", "#7a5200", "#006d2c"]


def axis_titles(handle: Handle) -> tuple[str, str]:
    """The plane's axes as a page names them."""
    d = handle.served.latent_dim
    if d == 2:
        return "z0", "z1"
    if d == 1:
        return "z0", "label (rows spread by a random jitter)"
    ev = cache.pca_2d(handle)["explained"]
    return f"PC1 ({ev[0]:.0%} of the spread)", f"PC2 ({ev[1]:.0%})"


def base_map(handle: Handle, height: int = 460) -> go.Figure | None:
    """A sample of the test set's z_mean on the map's plane, by label, each point with its test index (a
    click picks it); None without reference encodings."""
    plane = cache.map_plane(handle)
    if plane is None:
        return None
    xy = plane[0]
    rows = geo.sample_indices(len(xy), MAP_POINTS)
    labels = handle.served.reference.get("labels")
    x_range, y_range = cache.plane_ranges(handle)
    return figs.latent_figure(xy[rows], rows, None if labels is None else labels[rows],
                              class_names(handle.served), None, x_range, y_range, *axis_titles(handle),
                              height=height, marker_size=4, opacity=0.35,
                              equal_axes=handle.served.latent_dim == 2)


def add_arrow(fig: go.Figure, handle: Handle, vector: np.ndarray, name: str, colour: str,
              start: np.ndarray | None = None, dash: bool = False) -> None:
    """The direction from `start` (default the data mean) to start + vector, projected onto the plane."""
    start = directions.data_mean(handle) if start is None else np.asarray(start, np.float64)
    (x0, y0), (x1, y1) = directions.to_plane(handle, np.stack([start, start + np.asarray(vector)]))
    draw_arrow(fig, (x0, y0), (x1, y1), name, colour, 2 if dash else 3)


def draw_arrow(fig: go.Figure, tail, head, name: str, colour: str, width: int = 3) -> None:
    """An arrow from tail to head in the plot's coordinates, named at its head (every arrow starts at the
    data mean: names at the tails would pile up there)."""
    fig.add_annotation(x=head[0], y=head[1], ax=tail[0], ay=tail[1], xref="x", yref="y", axref="x",
                       ayref="y", showarrow=True, arrowhead=3, arrowsize=1.4, arrowwidth=width,
                       arrowcolor=colour, text="")
    fig.add_annotation(x=head[0], y=head[1], text=name, showarrow=False, xanchor="left", yanchor="bottom",
                       font=dict(color=colour, size=13), bgcolor="rgba(255,255,255,0.8)")


def add_path(fig: go.Figure, handle: Handle, zs: np.ndarray, name: str = "path") -> None:
    """A path of codes as a line with a dot per step, its start and end marked."""
    xy = directions.to_plane(handle, zs)
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name, hoverinfo="skip",
                             line=dict(color="black", width=2.5), marker=dict(size=6, color="black")))
    for (x, y), text in ((xy[0], "start"), (xy[-1], "end")):
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, yshift=14, font=dict(size=13),
                           bgcolor="rgba(255,255,255,0.8)")


def with_saved_arrows(fig, handle: Handle, view_name: str, dims: tuple[int, int] | None):
    """The Latent map's figure with this session's saved directions as arrows from the data mean, or the
    figure itself where there are none or the view has no latent axes (t-SNE). A copy: the plain figure is
    shared by every session."""
    mine = directions.saved(handle)
    if not mine or view_name == "t-SNE":
        return fig
    fig = go.Figure(fig)
    mean = directions.data_mean(handle)
    for k, (name, e) in enumerate(mine.items()):
        vector, colour = np.asarray(e["vector"]), ARROW_COLOURS[k % len(ARROW_COLOURS)]
        if view_name == "Two latent dims" and dims is not None and handle.served.latent_dim > 2:
            draw_arrow(fig, mean[list(dims)], (mean + vector)[list(dims)], name, colour)
        else:
            add_arrow(fig, handle, vector, name, colour, mean)
    return fig
