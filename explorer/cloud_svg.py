"""The cloud map as one SVG picture: axes, the test set behind, samples, rings, z_mean stars and a legend."""

# How it works shows its clouds this way. As a Plotly chart the map was the page's first chart, and
# building it (Plotly's bundle, then the plot) took the browser about 0.7 s of a 1.5 s page load on these
# machines; a picture drawn on the server costs the browser one image decode. It has no hover or zoom,
# which that page does not need: its "Zoom in on the cloud" switch redraws the picture closer.

from __future__ import annotations

import base64
import math
from html import escape

import numpy as np

from explorer import cloud_map
from explorer import figures as figs
from explorer import pictures as pics

LEFT, RIGHT, TOP, BOTTOM = 62, 12, 12, 48  # margins around the plot area, in px
LEGEND_WIDTH = 175
DASHES = {"solid": None, "dot": "2,4", "dash": "7,5", "dashdot": "7,4,2,4"}


def nice_ticks(lo: float, hi: float, target: int = 6) -> tuple[np.ndarray, int]:
    """Round tick values between lo and hi (about `target` of them) and the decimals they need."""
    raw = max(hi - lo, 1e-12) / target
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    ticks = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step
    decimals = next(d for d in range(12) if abs(round(step, d) - step) <= 1e-9 * step)
    return ticks, decimals


def _fit_to_scale(view: tuple, width: float, height: float) -> tuple[tuple[float, float], ...]:
    """Widen one axis of `view` so that a unit is as long on both axes (the clouds' shapes stay true)."""
    (x0, x1), (y0, y1) = view
    scale = min(width / max(x1 - x0, 1e-12), height / max(y1 - y0, 1e-12))
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, width / scale / 2, height / scale / 2
    return (cx - hx, cx + hx), (cy - hy, cy + hy)


def _star(x: float, y: float, r: float) -> str:
    """A five-pointed star's path centred on (x, y) with outer radius r."""
    pts = []
    for k in range(10):
        a = math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.45
        pts.append(f"{x + rr * math.cos(a):.1f},{y - rr * math.sin(a):.1f}")
    return "M" + "L".join(pts) + "Z"


def _stroke(color: str, width: float, dash: str | None) -> str:
    d = DASHES.get(dash or "solid", dash)
    return f'stroke="{color}" stroke-width="{width}"' + (f' stroke-dasharray="{d}"' if d else "")


def _sample_style(c: dict) -> tuple[str, float, float, str]:
    """Fill colour, radius, opacity and stroke attributes of a cloud part's sample dots."""
    m = c["sample_marker"] or {}
    line = m.get("line") or {}
    stroke = _stroke(line["color"], line.get("width", 1), None) if line.get("color") else ""
    return m.get("color", c["color"]), m.get("size", 3) / 2 + 0.4, m.get("opacity", 1.0 if m else 0.5), stroke


def _legend(parts: list[dict], backdrop: dict | None, names: list[str] | None) -> list[tuple[str, str]]:
    """Legend entries, (swatch markup centred on the origin, text): the pictured labels, then per cloud."""
    entries = []
    for lab in [] if backdrop is None or backdrop.get("labels") is None else backdrop["labels"]:
        name = names[int(lab)] if names and int(lab) < len(names) else str(int(lab))
        color = pics.PALETTE[int(lab) % len(pics.PALETTE)]
        entries.append((f'<circle r="4.5" fill="{color}" fill-opacity="0.55"/>', name))
    for c in parts:
        if c["samples"] is not None:
            fill, r, opacity, stroke = _sample_style(c)
            swatch = f'<circle r="{max(r, 2.5):.1f}" fill="{fill}" fill-opacity="{opacity}" {stroke}/>'
            entries.append((swatch, f"z samples ({c['name']})"))
        for _, n_sd, dash in c["rings"]:
            entries.append((f'<line x1="-9" y1="0" x2="9" y2="0" {_stroke(c["color"], 2, dash)}/>',
                            f"{n_sd:g}·z_std ({c['name']})"))
        entries.append((f'<path d="{_star(0, 0, 7)}" fill="gold" stroke="{c["color"]}" stroke-width="1.5"/>',
                        f"z_mean ({c['name']})"))
    return entries


def _flow(entries: list[tuple[str, str]], width: float) -> list[tuple[float, float]]:
    """(x, y) offsets that lay legend entries out in rows no wider than `width` (~7 px a letter)."""
    x = y = 0.0
    spots = []
    for _, text in entries:
        w = 16 + 7 * len(text) + 18
        if x and x + w > width:
            x, y = 0.0, y + 20
        spots.append((x, y))
        x += w
    return spots


def cloud_svg(clouds: list[dict], pca: dict | None, view: tuple, backdrop: dict | None = None,
              names: list[str] | None = None, width: int = 760, height: int = 520,
              legend_below: bool = False) -> str:
    """The map of `cloud_figure` (same clouds, view and backdrop) as an SVG document string; the legend
    sits right of the plot, or under it (`legend_below`, for narrow columns)."""
    parts = cloud_map.cloud_parts(clouds, pca)
    legend = _legend(parts, backdrop, names)
    if legend_below:
        spots = _flow(legend, width - LEFT - RIGHT)
        legend_h = (spots[-1][1] + 26) if spots else 0
        pw, ph = width - LEFT - RIGHT, height - TOP - BOTTOM - legend_h
        spots = [(LEFT + x, TOP + ph + BOTTOM + 10 + y) for x, y in spots]
    else:
        pw, ph = width - LEFT - RIGHT - LEGEND_WIDTH, height - TOP - BOTTOM
        spots = [(LEFT + pw + 18, TOP + 10 + 20 * i) for i in range(len(legend))]
    (x0, x1), (y0, y1) = _fit_to_scale(view, pw, ph)
    sx, sy = pw / (x1 - x0), ph / (y1 - y0)

    def px(x):
        return LEFT + (np.asarray(x, float) - x0) * sx

    def py(y):
        return TOP + (y1 - np.asarray(y, float)) * sy

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" font-family="Source Sans Pro, Helvetica, Arial, sans-serif" font-size="13" '
           'fill="#31333f">',
           f'<defs><clipPath id="plot"><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/></clipPath>'
           '</defs>',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#f7f7f7"/>']
    # Grid lines and tick labels.
    for (ticks, decimals), vertical in ((nice_ticks(x0, x1), True), (nice_ticks(y0, y1), False)):
        for t in ticks:
            label = f"{t:.{decimals}f}".replace("-", "−")
            if vertical:
                u = float(px(t))
                out.append(f'<line x1="{u:.1f}" y1="{TOP}" x2="{u:.1f}" y2="{TOP + ph}" stroke="#fff" '
                           f'stroke-width="{2 if abs(t) < 1e-12 else 1}"/>')
                out.append(f'<text x="{u:.1f}" y="{TOP + ph + 17}" text-anchor="middle">{label}</text>')
            else:
                v = float(py(t))
                out.append(f'<line x1="{LEFT}" y1="{v:.1f}" x2="{LEFT + pw}" y2="{v:.1f}" stroke="#fff" '
                           f'stroke-width="{2 if abs(t) < 1e-12 else 1}"/>')
                out.append(f'<text x="{LEFT - 6}" y="{v + 4:.1f}" text-anchor="end">{label}</text>')
    x_title, y_title = figs.latent_axis_titles(pca)
    out.append(f'<text x="{LEFT + pw / 2:.1f}" y="{TOP + ph + BOTTOM - 8}" text-anchor="middle">'
               f'{escape(x_title)}</text>')
    out.append(f'<text transform="translate(16 {TOP + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
               f'{escape(y_title)}</text>')

    out.append('<g clip-path="url(#plot)">')
    if backdrop is not None:
        (bx0, bx1), (by0, by1) = backdrop["box"]
        href = "data:image/png;base64," + base64.b64encode(backdrop["png"]).decode()
        out.append(f'<image href="{href}" x="{float(px(bx0)):.1f}" y="{float(py(by1)):.1f}" '
                   f'width="{(bx1 - bx0) * sx:.1f}" height="{(by1 - by0) * sy:.1f}" '
                   'preserveAspectRatio="none"/>')
    for c in parts:
        if c["samples"] is not None:
            fill, r, opacity, stroke = _sample_style(c)
            u, v = px(c["samples"][:, 0]), py(c["samples"][:, 1])
            out.append(f'<g fill="{fill}" fill-opacity="{opacity}" {stroke}>'
                       + "".join(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{r:.1f}"/>' for a, b in zip(u, v))
                       + "</g>")
        for ring, _, dash in c["rings"]:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(ring[:, 0]), py(ring[:, 1])))
            out.append(f'<polyline points="{pts}" fill="none" {_stroke(c["color"], 2, dash)}/>')
        u, v = float(px(c["center"][0])), float(py(c["center"][1]))
        out.append(f'<path d="{_star(u, v, 9)}" fill="gold" stroke="{c["color"]}" stroke-width="1.5"/>')
    out.append("</g>")
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#c8c8cc"/>')
    for (swatch, text), (x, y) in zip(legend, spots):
        out.append(f'<g transform="translate({x + 8:.1f} {y:.1f})">{swatch}</g>'
                   f'<text x="{x + 22:.1f}" y="{y + 4.5:.1f}">{escape(text)}</text>')
    out.append("</svg>")
    return "".join(out)
