"""Latent-space geometry in NumPy: data ranges, planes and projections, ellipses, grids, z as text, CSV."""

from __future__ import annotations

import io

import numpy as np
from scipy.special import ndtri

from vae.model.posterior import z_std  # noqa: F401  (the pages' geometry.z_std)


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


def cover_box(x_range, y_range, grow: float = 1.5) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square around the view, `grow` times its longer side: a background still fills the plot when
    Plotly widens one axis to keep the two to scale."""
    cx, cy = (x_range[0] + x_range[1]) / 2, (y_range[0] + y_range[1]) / 2
    half = grow * max(x_range[1] - x_range[0], y_range[1] - y_range[0], 1e-9) / 2
    return (cx - half, cx + half), (cy - half, cy + half)
