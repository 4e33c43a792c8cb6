"""The cloud map: its test-set picture, the views it frames, and the figure's traces."""

import io

import numpy as np
from PIL import Image

from explorer import cloud_map
from explorer import figures as figs
from explorer import geometry as geo
from explorer import pictures as pics


def _cloud(mu, log_var, n=50, name="a", color="black"):
    mu, log_var = np.asarray(mu, float), np.asarray(log_var, float)
    samples = mu + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal((n, mu.size))
    return {"name": name, "z_mean": mu, "z_log_var": log_var, "samples": samples, "color": color}


def test_points_png_draws_each_label_in_its_colour_on_a_transparent_picture():
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    img = np.asarray(Image.open(io.BytesIO(pics.points_png(xy, np.array([0, 3]), (-1, 2), (-1, 2), size=90,
                                                         opacity=0.5))))
    assert img.shape == (90, 90, 4)
    assert img[0, 0, 3] == 0  # no point there: transparent
    u0, v0 = 30, 60  # (0, 0): a third from the left, a third up from the bottom
    assert tuple(img[v0, u0]) == (0x1F, 0x77, 0xB4, 128)  # label 0's colour at the given opacity
    u1, v1 = 60, 30
    assert tuple(img[v1, u1, :3]) == (0xD6, 0x27, 0x28)  # label 3's


def test_view_ranges_hold_the_test_set_and_the_cloud_or_zoom_on_the_cloud():
    ref = np.random.default_rng(1).standard_normal((2000, 2))
    far = _cloud([6.0, 0.0], [-2.0, -2.0])
    (x0, x1), (y0, y1) = cloud_map.view_ranges([far], None, geo.data_ranges(ref), zoom=False)
    assert x0 < -2.5 and x1 >= 6.0 + 2 * np.exp(-1.0) - 1e-9 and y0 < -2.5 and y1 > 2.5
    (x0, x1), (y0, y1) = cloud_map.view_ranges([far], None, geo.data_ranges(ref), zoom=True)
    assert np.isclose(x1 - x0, y1 - y0)  # square: the cloud keeps its shape
    s = far["samples"]
    assert x0 <= s[:, 0].min() and x1 >= s[:, 0].max() and y0 <= s[:, 1].min() and y1 >= s[:, 1].max()
    assert x1 - x0 < 4.0  # framed on the cloud (std 0.37), not the whole map


def test_backdrop_box_is_the_whole_map_for_a_wide_view_and_a_reused_square_for_a_zoom():
    full = ((-6.0, 6.0), (-6.0, 6.0))
    assert cloud_map.backdrop_box(((-4.0, 4.0), (-3.0, 3.0)), full) == full
    a = cloud_map.backdrop_box(((1.0, 1.5), (2.0, 2.5)), full)
    b = cloud_map.backdrop_box(((1.01, 1.51), (2.0, 2.5)), full)  # the cloud moved a little
    assert a == b
    (ax0, ax1), (ay0, ay1) = a
    assert ax0 <= 1.0 and ax1 >= 1.5 and ay0 <= 2.0 and ay1 >= 2.5 and np.isclose(ax1 - ax0, ay1 - ay0)


def test_cloud_figure_draws_backdrop_legend_samples_rings_and_star_without_webgl():
    ref = np.random.default_rng(2).standard_normal((500, 2))
    labels = np.arange(500) % 3
    box = geo.cover_box((-3.0, 3.0), (-3.0, 3.0))
    backdrop = {"png": pics.points_png(ref, labels, *box, size=100), "box": box, "labels": np.unique(labels)}
    cloud = _cloud([0.5, -0.5], [-1.0, -1.5])
    cloud["rings"] = [(1, "solid"), (2, "dot")]
    view = cloud_map.view_ranges([cloud], None, geo.data_ranges(ref), zoom=False)
    fig = cloud_map.cloud_figure([cloud], None, view, backdrop, names=["zero", "one", "two"])
    assert len(fig.layout.images) == 1 and fig.layout.images[0].source.startswith("data:image/png;base64,")
    names = [t.name for t in fig.data]
    assert names[:3] == ["zero", "one", "two"]  # legend entries for the pictured labels
    assert {"z samples (a)", "1·z_std (a)", "2·z_std (a)", "z_mean (a)"} <= set(names)
    assert all(t.type == "scatter" for t in fig.data)  # 50 samples: SVG, no WebGL context
    star = next(t for t in fig.data if t.name == "z_mean (a)")
    assert np.allclose([star.x[0], star.y[0]], [0.5, -0.5])
    assert tuple(fig.layout.xaxis.range) == view[0]


def test_many_samples_go_to_webgl():
    cloud = _cloud([0.0, 0.0], [0.0, 0.0], n=cloud_map.SVG_SAMPLES + 1)
    fig = cloud_map.cloud_figure([cloud], None, cloud_map.view_ranges([cloud], None, None, zoom=True))
    assert next(t for t in fig.data if t.name.startswith("z samples")).type == "scattergl"


def test_nice_ticks_are_round_and_inside_the_range():
    from explorer.cloud_svg import nice_ticks

    ticks, decimals = nice_ticks(0.0, 1.0)
    assert np.allclose(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) and decimals == 1
    ticks, decimals = nice_ticks(-3.7, 5.2)
    assert np.allclose(ticks, [-2, 0, 2, 4]) and decimals == 0
    ticks, decimals = nice_ticks(1.0, 1.6)
    assert ticks[0] >= 1.0 and ticks[-1] <= 1.6 and decimals == 1


def test_cloud_svg_draws_samples_rings_and_stars_to_scale_with_a_legend():
    import re
    import xml.etree.ElementTree as ET

    from explorer.cloud_svg import cloud_svg

    ref = np.random.default_rng(2).standard_normal((500, 2))
    labels = np.arange(500) % 3
    box = geo.cover_box((-3.0, 3.0), (-3.0, 3.0))
    backdrop = {"png": pics.points_png(ref, labels, *box, size=100), "box": box, "labels": np.unique(labels)}
    a = _cloud([0.5, -0.5], [-1.0, -1.5], n=40, name="a")
    b = _cloud([-1.5, 1.5], [-2.0, -2.0], n=30, name="b")
    view = cloud_map.view_ranges([a, b], None, geo.data_ranges(ref), zoom=False)
    svg = cloud_svg([a, b], None, view, backdrop, names=["zero", "one", "two"], width=700, height=500)
    root = ET.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("viewBox") == "0 0 700 500"
    assert len(root.findall(f".//{ns}image")) == 1
    plot = root.find(f"{ns}g[@clip-path='url(#plot)']")
    groups = plot.findall(f"{ns}g")
    assert [len(g.findall(f"{ns}circle")) for g in groups] == [40, 30]  # every sample, per cloud
    assert len(plot.findall(f"{ns}polyline")) == 2  # one 2-sd ring each
    stars = [p.get("d") for p in plot.findall(f"{ns}path")]
    tips = [tuple(map(float, re.match(r"M([-\d.]+),([-\d.]+)", d).groups())) for d in stars]
    # The star tips are 9 px above each z_mean: (0.5, -0.5) and (-1.5, 1.5) differ by (+2, -2) in z, so
    # by (+2k, +2k) px on a map drawn to scale (y grows downwards in the picture).
    du, dv = tips[0][0] - tips[1][0], tips[0][1] - tips[1][1]
    assert du > 0 and np.isclose(du, dv, rtol=0.02)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"zero", "one", "two", "z samples (a)", "2·z_std (b)", "z_mean (b)", "z[0]", "z[1]"} <= set(texts)


def test_cloud_svg_can_put_its_legend_under_the_plot():
    import xml.etree.ElementTree as ET

    from explorer.cloud_svg import cloud_svg

    a = _cloud([0.5, -0.5], [-1.0, -1.5], n=20, name="a")
    view = cloud_map.view_ranges([a], None, None, zoom=True)
    root = ET.fromstring(cloud_svg([a], None, view, width=500, height=600, legend_below=True))
    ns = "{http://www.w3.org/2000/svg}"
    frame = root.findall(f"{ns}rect")[-1]  # the plot's frame, drawn last
    bottom = float(frame.get("y")) + float(frame.get("height"))
    legend = [t for t in root.iter(f"{ns}text") if t.text in ("z samples (a)", "2·z_std (a)", "z_mean (a)")]
    assert len(legend) == 3 and all(float(t.get("y")) > bottom for t in legend)
    assert float(frame.get("width")) == 500 - 62 - 12  # the whole width for the plot


def test_hover_columns_send_z_mean_once_when_the_plot_is_two_latent_dims():
    z_mean = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -2.0]])
    std = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    cols, template = figs.hover_columns(z_mean, std, np.array([7, 9]), dims=(2, 0))
    np.testing.assert_allclose(cols, [[7, 2.0, 0.5, 0.3, 0.1], [9, -2.0, 1.5, 0.6, 0.4]], rtol=1e-6)
    assert "z_mean[z2,z0] (%{customdata[1]:.2f}" in template and "(3 dims)" in template
    cols, template = figs.hover_columns(z_mean, std, np.array([7, 9]), dims=(2, 0), mean_is_xy=True)
    np.testing.assert_allclose(cols, [[7, 0.3, 0.1], [9, 0.6, 0.4]], rtol=1e-6)  # the means: from x and y
    assert "z_mean[z2,z0] (%{x:.2f}, %{y:.2f}" in template
    assert "z_std[z2,z0] (%{customdata[1]:.2f}" in template


def test_figures_pin_their_margins_so_plotly_lays_them_out_once():
    xy = np.random.default_rng(0).standard_normal((30, 2))
    labels = np.arange(30) % 3
    made = [figs.latent_figure(xy, np.arange(30), labels, None, None, (-3, 3), (-3, 3), "z0", "z1"),
            figs.history_figure({"loss": [3.0, 2.0]}, "loss", "loss"),
            cloud_map.cloud_figure([_cloud([0, 0], [0, 0])], None, ((-3, 3), (-3, 3)))]
    for fig in made:
        assert fig.layout.xaxis.automargin is False and fig.layout.yaxis.automargin is False
        assert fig.layout.margin.l >= 60 and fig.layout.margin.b >= 50  # room for tick labels and titles
