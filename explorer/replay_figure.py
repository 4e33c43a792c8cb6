"""The replay player: one Plotly figure whose frames are training's snapshots, played in the browser."""

# Every frame holds the fixed test subset's z_mean (a trace per label), z_std rings for a sample of them,
# one followed digit with its path so far, a cursor on the loss curves, and the decodes of a fixed grid of
# z. Plotly animates frames in the browser (play, pause, the slider), so no frame costs a round trip to the
# server. The map's axes are one range for the whole replay, holding every frame: the motion is real.

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from explorer.figures import PALETTE

RING_SAMPLE = 60  # z_std rings drawn per frame: enough to see them shrink, few enough to stay light
RING_VERTICES = 12
FRAME_MS = 160
# The layout in pixels (the figure's height is fixed; its width is the page's): the controls in a band
# above the subplot titles, the legend in one below the axis titles, so that nothing overlaps.
CONTROLS_PX = 70  # Play/Pause and the epoch on one row, the slider's rail under them
TITLES_PX = 30  # the subplot titles, between the controls and the plots
LEGEND_PX = 110  # below the plots: the map's axis title, then the legend (two or three rows)


def plane(z_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """(centre, basis d x 2, axis titles) that put every snapshot on one fixed plane: the latent axes in
    2-D; in 1-D z0 across; above, the last snapshot's two principal components (fixed, so motion is real)."""
    d = z_mean.shape[-1]
    if d == 2:
        return np.zeros(2), np.eye(2), ("z0", "z1")
    if d == 1:
        return np.zeros(1), np.array([[1.0, 0.0]]), ("z0", "label")
    last = z_mean[-1].astype(np.float64)
    _, _, vt = np.linalg.svd(last - last.mean(0), full_matrices=False)
    # The plane's axes are the last snapshot's principal directions, but its origin stays z = 0 (the prior's
    # centre), where every digit starts.
    return np.zeros(d), vt[:2].T, ("PC 1 of the last snapshot", "PC 2")


def project(replay: dict) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """(xy (T, N, 2), std along the plane's axes (T, N, 2), axis titles) for every snapshot."""
    z_mean = replay["z_mean"].astype(np.float32)
    var = np.exp(replay["z_log_var"].astype(np.float32))
    centre, basis, titles = plane(z_mean)
    xy = (z_mean - centre) @ basis
    std = np.sqrt(var @ (basis ** 2))
    if z_mean.shape[-1] == 1:  # a strip: y is the label, jittered so equal codes stay apart
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, z_mean.shape[1])
        xy[..., 1] = replay["labels"] + jitter
        std[..., 1] = 0.0
    return xy.astype(np.float32), std.astype(np.float32), titles


def rings(xy: np.ndarray, std: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-σ ellipse outlines around the given rows, as one polyline with gaps (NaN) between them."""
    t = np.linspace(0, 2 * np.pi, RING_VERTICES)
    x = xy[rows, 0, None] + std[rows, 0, None] * np.cos(t)
    y = xy[rows, 1, None] + std[rows, 1, None] * np.sin(t)
    gap = np.full((len(rows), 1), np.nan)
    # float32 arrays travel as base64 typed arrays, about a fifth of their JSON text.
    return np.hstack([x, gap]).ravel().astype(np.float32), np.hstack([y, gap]).ravel().astype(np.float32)


def grid_png(decodes: np.ndarray, shape: tuple[int, int]) -> str:
    """A frame's decoded grid (G, H, W) uint8, or (G, H, W, 3) in colour, as one PNG data URL (tiled rows x
    cols, 1 px gaps)."""
    rows, cols = shape
    h, w = decodes.shape[1:3]
    colour = decodes.ndim == 4
    tile = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, *decodes.shape[3:]), 255, np.uint8)
    for i, img in enumerate(decodes[: rows * cols]):
        r, c = divmod(i, cols)
        # Grey: dark ink on white, as the page's pictures; colour: the colours themselves.
        tile[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img if colour else 255 - img
    buf = io.BytesIO()
    Image.fromarray(tile).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def map_range(xy: np.ndarray, std: np.ndarray, follow: int | None, ring_rows: np.ndarray,
              pad: float = 0.04) -> tuple[list[float], list[float]]:
    """One (x, y) range for every frame of the map: it holds every point, the drawn rings and the followed
    digit's, at every snapshot, and the prior's ±1.5, widened by `pad` of its span on each side."""
    rows = ring_rows if follow is None else np.append(ring_rows, follow)
    lows = [np.nanmin(xy, axis=(0, 1)), np.nanmin(xy[:, rows] - std[:, rows], axis=(0, 1)), [-1.5, -1.5]]
    highs = [np.nanmax(xy, axis=(0, 1)), np.nanmax(xy[:, rows] + std[:, rows], axis=(0, 1)), [1.5, 1.5]]
    lo, hi = np.min(lows, axis=0).astype(np.float64), np.max(highs, axis=0).astype(np.float64)
    margin = pad * (hi - lo)
    return [float(lo[0] - margin[0]), float(hi[0] + margin[0])], [float(lo[1] - margin[1]),
                                                                  float(hi[1] + margin[1])]


def grid_image(source: str) -> dict:
    """The decoded grid as a layout image filling the bottom-right subplot. A layout image, not an Image
    trace: Plotly redraws an Image trace asynchronously, and while playing it is blank most of the time."""
    return dict(source=source, xref="x3 domain", yref="y3 domain", x=0.5, y=0.5, sizex=1, sizey=1,
                xanchor="center", yanchor="middle", sizing="contain", layer="above")


def epoch_label(epoch: float, step: int) -> str:
    """The slider's current value after "epoch ": the epoch, and the step."""
    return (f"{epoch:.2f}" if epoch < 1 else f"{epoch:.1f}") + f" (step {step:,})"


def loss_curves(replay: dict, beta: float | None) -> list[tuple[str, str, np.ndarray]]:
    """(legend name, colour, values) of the loss panel's curves. The replay stores the negative ELBO as
    "loss"; for a β other than 1 the loss trained on, reconstruction + β·KL, is drawn too."""
    names = {"loss": "negative ELBO" if beta is None else
             "negative ELBO = reconstruction + KL" + (" (the loss, β = 1)" if beta == 1 else ""),
             "reconstruction_loss": "reconstruction", "kl_loss": "KL"}
    colours = {"loss": "#222", "reconstruction_loss": "#1f77b4", "kl_loss": "#d62728"}
    curves = [(names[k], colours[k], np.asarray(replay[k], np.float64)) for k in names if k in replay]
    if beta is not None and beta != 1 and "reconstruction_loss" in replay and "kl_loss" in replay:
        trained = (np.asarray(replay["reconstruction_loss"], np.float64)
                   + beta * np.asarray(replay["kl_loss"], np.float64))
        curves.insert(0, (f"the loss: reconstruction + {beta:g}·KL (β = {beta:g})", "#8c564b", trained))
    return curves


def replay_figure(replay: dict, class_names: list[str] | None = None, follow: int | None = None,
                  height: int = 660, beta: float | None = None, frozen_decoder: bool = False,
                  noun: str = "digit") -> go.Figure:
    """The animated figure: the map (left), the loss terms with a cursor (top right) and the decoded grid
    (bottom right); frame k is snapshot k. With the model's `beta` the loss it trained on is drawn too,
    reconstruction + β·KL (β = 1: the negative ELBO itself). `frozen_decoder`: the replay trains an encoder
    for a decoder trained before, which the grid's title says."""
    xy, std, (x_title, y_title) = project(replay)
    labels = np.asarray(replay["labels"]).astype(int)
    steps, epochs = np.asarray(replay["step"]), np.asarray(replay["epoch"], np.float64)
    n_frames, n_points = xy.shape[:2]
    ring_rows = np.random.default_rng(1).choice(n_points, min(RING_SAMPLE, n_points), replace=False)
    groups = [(c, np.flatnonzero(labels == c)) for c in np.unique(labels)]
    has_grid = "grid_decodes" in replay and len(replay["grid_decodes"]) == n_frames
    grid_shape = tuple(int(v) for v in replay.get("grid_shape", (5, 5)))
    # Short titles, so that they fit side by side on a narrow page (nats: per image).
    grid_title = ("Decoded grid of z" + ("<br>(trained before, frozen)" if frozen_decoder else "")
                  if has_grid else "")

    fig = make_subplots(rows=2, cols=2, column_widths=[0.62, 0.38], row_heights=[0.45, 0.55],
                        specs=[[{"rowspan": 2}, {}], [None, {}]], horizontal_spacing=0.08,
                        vertical_spacing=0.2,
                        subplot_titles=(f"z_mean of {n_points:,} test images", "Loss terms (nats)",
                                        grid_title))
    fig.update_annotations(font_size=14)

    def frame_traces(k: int) -> list:
        traces = []
        for c, rows in groups:
            name = class_names[c] if class_names and c < len(class_names) else str(c)
            traces.append(go.Scatter(x=xy[k, rows, 0], y=xy[k, rows, 1], mode="markers", name=name,
                                     marker=dict(size=4, opacity=0.7, color=PALETTE[c % len(PALETTE)]),
                                     hoverinfo="skip"))
        rx, ry = rings(xy[k], std[k], ring_rows)
        traces.append(go.Scatter(x=rx, y=ry, mode="lines", name="z_std (1σ)", hoverinfo="skip",
                                 line=dict(width=0.8, color="rgba(40,40,40,0.35)")))
        if follow is not None:
            fx, fy = rings(xy[k], std[k], np.array([follow]))
            path_x, path_y = (np.concatenate([xy[: k + 1, follow, a], [np.nan], ring]).astype(np.float32)
                              for a, ring in ((0, fx), (1, fy)))
            traces.append(go.Scatter(x=path_x, y=path_y,
                                     mode="lines", name=f"followed {noun}", hoverinfo="skip",
                                     line=dict(width=2, color="black")))
            traces.append(go.Scatter(x=[xy[k, follow, 0]], y=[xy[k, follow, 1]], mode="markers",
                                     showlegend=False, hoverinfo="skip",
                                     marker=dict(size=11, symbol="x", color="black",
                                                 line=dict(width=1, color="white"))))
        traces.append(go.Scatter(x=[steps[k], steps[k]], y=[0, 1], mode="lines",
                                 showlegend=False, hoverinfo="skip", line=dict(color="black", width=1.5)))
        return traces

    first = frame_traces(0)
    n_map = len(first) - 1  # the map's traces, then the cursor
    for tr in first[:n_map]:
        fig.add_trace(tr, row=1, col=1)
    # The loss curves: static, on a log-step axis (step 0 drawn at the axis' left edge).
    x_steps = np.maximum(steps, 0.5)
    curves = loss_curves(replay, beta)
    for title, colour, values in curves:
        line = dict(color=colour, width=1.5)
        fig.add_trace(go.Scatter(x=x_steps, y=values, mode="lines", name=title, line=line, legend="legend2",
                                 hovertemplate=f"{title}: %{{y:.1f}} nats per image at step "
                                               "%{x:.0f}<extra></extra>"),
                      row=1, col=2)
    cursor = first[n_map]
    cursor.update(x=[x_steps[0]] * 2)
    fig.add_trace(cursor, row=1, col=2)
    cursor_index = len(fig.data) - 1
    losses = np.concatenate([values for _, _, values in curves] or [np.zeros(0)])
    # 40 % above the curves: room for their legend in the top right.
    top = float(np.nanpercentile(losses, 99)) * 1.4 if losses.size else 1.0
    fig.data[cursor_index].y = [0, top]
    # The grid's subplot holds no trace, only the frame's picture: an invisible point keeps its axes.
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", marker=dict(opacity=0), showlegend=False,
                             hoverinfo="skip"), row=2, col=2)
    grids = ([grid_png(replay["grid_decodes"][k], grid_shape) for k in range(n_frames)] if has_grid
             else None)
    animated = list(range(n_map)) + [cursor_index]

    frames = []
    for k in range(n_frames):
        traces = frame_traces(k)
        traces[n_map].update(x=[x_steps[k]] * 2, y=[0, top])
        layout = {"images": [grid_image(grids[k])]} if grids else None
        frames.append(go.Frame(data=traces, traces=animated, name=str(k), layout=layout))
    fig.frames = frames

    x_range, y_range = map_range(xy, std, follow, ring_rows)
    fig.update_xaxes(title=x_title, range=x_range, zeroline=False, row=1, col=1)
    fig.update_yaxes(title=y_title, range=y_range, zeroline=False, row=1, col=1)
    fig.update_xaxes(type="log", title="training step (log scale)", row=1, col=2)
    fig.update_yaxes(range=[0, top], row=1, col=2)
    fig.update_xaxes(visible=False, range=[0, 1], fixedrange=True, row=2, col=2)
    fig.update_yaxes(visible=False, range=[0, 1], fixedrange=True, row=2, col=2)
    if grids:
        fig.update_layout(images=[grid_image(grids[0])])

    slider_steps = [dict(method="animate", label=epoch_label(epochs[k], int(steps[k])),
                         args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                              transition=dict(duration=0))]) for k in range(n_frames)]
    top_margin = CONTROLS_PX + TITLES_PX
    plot_height = height - top_margin - LEGEND_PX
    controls_y = 1 + (top_margin - 4) / plot_height  # paper units: 4 px below the figure's top edge
    fig.update_layout(
        height=height, margin=dict(l=60, r=20, t=top_margin, b=LEGEND_PX, autoexpand=False),
        uirevision="replay",
        # In the figure's own coordinates, at its bottom edge: under the axis titles whatever the width.
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0),
        # The loss curves' names in the loss plot's top right, which the falling curves leave empty.
        legend2=dict(xref="paper", yref="paper", x=1, xanchor="right", y=1, yanchor="top",
                     bgcolor="rgba(255,255,255,0.7)", font=dict(size=11)),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=controls_y, xanchor="left",
                          yanchor="top", showactive=False, pad=dict(r=6, t=0, b=0, l=0), buttons=[
                              dict(label="▶ Play", method="animate",
                                   args=[None, dict(frame=dict(duration=FRAME_MS, redraw=True),
                                                    transition=dict(duration=0), fromcurrent=True,
                                                    mode="immediate")]),
                              dict(label="Pause", method="animate",  # (no ⏸: an emoji, a box without one)
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      transition=dict(duration=0), mode="immediate")])])],
        # The epoch at the slider's right end, on the buttons' row; the rail under both. The slider's tick
        # labels are hidden: dozens of snapshots would print over each other.
        sliders=[dict(active=0, steps=slider_steps, x=0, len=1, y=controls_y, yanchor="top",
                      currentvalue=dict(prefix="epoch ", xanchor="right", offset=24,
                                        font=dict(size=13, color="#31333f")),
                      pad=dict(t=0, b=0, l=0, r=0), ticklen=0, minorticklen=0,
                      font=dict(size=1, color="rgba(0,0,0,0)"))],
    )
    return fig
