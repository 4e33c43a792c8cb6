"""Small widgets and chart settings: the browser's pixel ratio, Plotly's config, map clicks, KL table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st


def point_test_index(point: dict) -> int | None:
    """The test index a clicked map point carries in customdata[0] (explorer.figures.latent_figure).

    A real browser sends a point's customdata row of a typed array as a JSON object, {"0": 42.0, "1": ...}
    (JSON.stringify of a Float32Array), not as a list; a list or a bare number is what plain arrays give.
    Anything else (a ring or marker trace, which carry none) is None.
    """
    cd = point.get("customdata") if isinstance(point, dict) else None
    if isinstance(cd, dict):
        cd = cd.get("0", cd.get(0))
    elif isinstance(cd, list | tuple):
        cd = cd[0] if cd else None
    try:
        value = float(cd)
    except (TypeError, ValueError):
        return None
    return int(round(value)) if np.isfinite(value) and value >= 0 else None


# The browser's devicePixelRatio. A page's script sees the cookies its session started with
# (st.context.cookies), not the screen: the browser keeps its ratio in a cookie for later page loads, and
# reports it once, as component state, in a session that started without that cookie (a browser's
# first visit). The report reruns only the reporter's fragment, not the page: the page's next run knows it.
PIXEL_RATIO_COOKIE = "latent_explorer_dpr"
PIXEL_RATIO_KEY = "pixel_ratio_reporter"
_PIXEL_RATIO_JS = f"""
export default function({{ setStateValue }}) {{
  const known = document.cookie.split("; ").some((c) => c.startsWith("{PIXEL_RATIO_COOKIE}="));
  document.cookie = "{PIXEL_RATIO_COOKIE}=" + window.devicePixelRatio
    + "; path=/; max-age=31536000; SameSite=Lax";
  if (!known) setStateValue("ratio", String(window.devicePixelRatio));
}}
"""


_pixel_ratio_reporter = st.components.v2.component("latent_explorer.pixel_ratio", js=_PIXEL_RATIO_JS)


def remember_pixel_ratio() -> None:
    """Have the browser note its screen's pixel ratio (see plotly_config); shows nothing."""
    with st.sidebar:
        _report_pixel_ratio()


# A fragment: the report a first visit sends would otherwise run the whole page a second time (about a
# third of a first page view's server CPU), only to learn a number its charts can use from the next run on.
@st.fragment
def _report_pixel_ratio() -> None:
    _pixel_ratio_reporter(key=PIXEL_RATIO_KEY, on_ratio_change=lambda: None, height=0)


def plotly_config() -> dict:
    """Plotly config for st.plotly_chart: WebGL drawn at the screen's own pixel ratio, once known.

    Plotly draws WebGL traces (the Latent map's 10,000 dots) at a fixed 2x: four times the pixels a
    1x screen shows, about 0.2 s of each page load on a machine without a GPU. Until the browser has
    said its ratio (the first page of its first visit), Plotly's 2 stays: crisp everywhere.
    """
    cookie = st.context.cookies.get(PIXEL_RATIO_COOKIE)
    if not isinstance(cookie, str):  # no cookie when this session started: the ratio it reported, if any
        cookie = (st.session_state.get(PIXEL_RATIO_KEY) or {}).get("ratio")
    return {"plotGlPixelRatio": gl_pixel_ratio(cookie)}


def gl_pixel_ratio(cookie: str | None) -> float:
    """The cookie's devicePixelRatio within [1, 2]; Plotly's 2 when it is missing or not a number.

    Above 2 (phones) stays at Plotly's 2 rather than drawing more pixels than the app does today."""
    try:  # a str from the browser; anything else (None, or AppTest's mock of st.context) is not known
        ratio = float(cookie) if isinstance(cookie, str) else np.nan
    except ValueError:
        return 2.0
    return min(2.0, max(1.0, ratio)) if np.isfinite(ratio) else 2.0


def kl_table(container, kl: np.ndarray, z_mean: np.ndarray, z_std: np.ndarray,
             z_log_var: np.ndarray | None = None) -> None:
    """KL per latent dimension as a table with in-cell bars, beside that dimension's z_mean and z_std
    (and z_log_var, if given).

    Used where a Plotly bar chart stood: the table grid is on the page anyway, and every Plotly chart
    costs the browser ~0.1 s to build on each page load here.
    """
    kl = np.asarray(kl, np.float64)
    columns = {"z_mean": z_mean, **({} if z_log_var is None else {"z_log_var": z_log_var}), "z_std": z_std}
    frame = pd.DataFrame({**columns, "KL (nats)": kl},
                         index=pd.Index([f"z[{i}]" for i in range(kl.size)], name="dim"))
    container.dataframe(frame, width="stretch", column_config={
        **{name: st.column_config.NumberColumn(format="%.3f") for name in columns},
        "KL (nats)": st.column_config.ProgressColumn(format="%.3f", min_value=0.0,
                                                     max_value=max(float(kl.max()), 1e-9)),
    })
