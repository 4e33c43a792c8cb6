"""Plotly figures: the latent map, the labelled decoded grid, training curves."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go

from explorer.pictures import PALETTE


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


def add_points_background(fig, png: bytes, box, labels: np.ndarray | None, names: list[str] | None = None,
                          opacity: float = 0.35) -> None:
    """`points_png`'s picture under a figure's traces, and one legend entry per label it shows."""
    (x0, x1), (y0, y1) = box
    fig.add_layout_image(source="data:image/png;base64," + base64.b64encode(png).decode(), xref="x", yref="y",
                         x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below")
    for lab in ([] if labels is None else np.unique(labels)):
        name = names[int(lab)] if names and int(lab) < len(names) else str(int(lab))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker=dict(size=7, opacity=opacity,
                                             color=PALETTE[int(lab) % len(PALETTE)])))


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


LEGEND_WIDTH = 120  # px right of a map for its legend, one entry a row


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
    # The legend goes right of the plot, starting under Plotly's modebar (top right), which covered some
    # entries of a legend above the plot. Not under it: a taller figure is a taller WebGL canvas, and
    # without a GPU each draw's cost follows the canvas's pixels.
    pin_margins(fig, top=36, right=LEGEND_WIDTH if showlegend else 10)
    fig.update_layout(height=height, showlegend=showlegend,
                      legend=dict(itemsizing="constant", orientation="v", yanchor="top", y=1,
                                  xanchor="left", x=1.02), uirevision="keep")
    fig.update_xaxes(title=x_title, range=list(map(float, x_range)), constrain="domain", zeroline=False)
    fig.update_yaxes(title=y_title, range=list(map(float, y_range)), constrain="domain", zeroline=False)
    if equal_axes:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def history_figure(history: dict, metric: str, title: str, height: int = 260):
    """Train and validation curves of one loss term, or None if the history lacks it."""
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
