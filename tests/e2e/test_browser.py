"""The app in a real browser: every page renders without an exception; Decoder and Encode respond."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from . import MENU, PAGES, REPO, exceptions, wait_idle

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "test-output" / "screenshots"
MAIN_IMAGES = "[data-testid='stMain'] [data-testid='stImage'] img"


def open_page(page, app_url: str, path: str) -> None:
    name = PAGES[path]
    assert (REPO / "pages" / f"{name}.py").is_file(), f"pages/{name}.py does not exist (yet)"
    page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
    wait_idle(page)
    assert not page.get_by_text("Page not found").count(), f"/{path}: Streamlit says 'Page not found'"


def assert_no_exception(page, where: str) -> None:
    found = exceptions(page)
    assert not found, f"{where}: the app shows an exception:\n" + "\n---\n".join(found)[:4000]


def screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "Math.max(...['stMain', 'stAppViewContainer', 'stSidebarContent'].map("
        "id => document.querySelector(`[data-testid='${id}']`)?.scrollHeight || 0))")
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 12_000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def digit_png(size: int = 200) -> bytes:
    """A hand-drawn-like "0": dark ink on light paper, as a photo or scan would be."""
    img = Image.new("L", (size, size), 235)
    ImageDraw.Draw(img).ellipse([size * 0.3, size * 0.15, size * 0.7, size * 0.85], outline=20,
                                width=size // 12)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def upload(page, name: str, data: bytes, mime: str = "image/png") -> None:
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data})


@pytest.mark.parametrize("path", list(PAGES), ids=[PAGES[p] for p in PAGES])
def test_page_renders(page, app_url, path):
    open_page(page, app_url, path)
    screenshot(page, PAGES[path])
    assert_no_exception(page, f"/{path}")


# Pages added this round; kept out of the harness's PAGES, which bench_app.py times page by page (adding
# them there would change the benchmark's own figures).
NEW_PAGES = {"import_model": "Import your own model", "compare": "Compare two models",
             "directions": "Make a direction from", "interpolate": "Interpolate between"}


@pytest.mark.parametrize("path", list(NEW_PAGES))
def test_new_page_renders(page, app_url, path):
    page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
    wait_idle(page)
    page.get_by_text(NEW_PAGES[path]).first.wait_for()
    screenshot(page, path)
    assert_no_exception(page, f"/{path}")
    if path == "compare":  # both maps drawn, and the reconstructions and prior draws as pictures
        assert page.locator(".js-plotly-plot").count() == 2
        assert page.locator("[data-testid='stImage']").count() >= 5
        page.locator("[data-testid='stSelectbox']").nth(1).click()  # another right-hand model, as a person
        page.get_by_role("option", name=re.compile("16-D")).first.click()
        wait_idle(page)
        assert "compare=mnist-16d" in page.url and page.locator(".js-plotly-plot").count() == 2
        assert_no_exception(page, "/compare after picking another model")


def test_decoder_slider_changes_image(page, app_url):
    open_page(page, app_url, "decoder")
    # The server draws its image of z only with the in-browser decoder off (one image of z at a time).
    page.get_by_text("Live decoding in the browser").click()
    wait_idle(page)
    assert page.get_by_text("decoder(z), 28×28 shown at 10×").count() == 1
    decoded = page.locator(MAIN_IMAGES).first  # the decoded image comes before the small map and strips
    decoded.wait_for(state="attached")
    before = decoded.get_attribute("src")
    page.locator("[data-testid='stMain'] [data-testid='stSlider'] input[type='range']").first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(100)
    page.wait_for_function("([sel, before]) => document.querySelector(sel)?.src !== before",
                           arg=[MAIN_IMAGES, before], timeout=120_000)
    wait_idle(page)
    assert_no_exception(page, "Decoder after moving a slider")


def test_encode_uploaded_digit(page, app_url):
    open_page(page, app_url, "encode")
    upload(page, "zero.png", digit_png())
    # Its last section, once the encoding is shown (z_mean and z_std are in section 2's table).
    page.get_by_text("Where it lands on the latent map").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page, "Encode after uploading a digit")
    screenshot(page, "encode_uploaded")


def test_encode_rejects_bad_file(page, app_url):
    open_page(page, app_url, "encode")
    upload(page, "bad.png", np.random.default_rng(0).bytes(4096))
    page.locator("[data-testid='stAlertContentError']").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page, "Encode after uploading random bytes")
    assert not page.get_by_text("Where it lands on the latent map").count()


def test_direct_link_on_a_fresh_server_goes_through_app(page, tmp_path):
    """A shared link such as /decoder, the server's very first request, still gets app.py's sidebar and
    menu."""
    from . import AppServer

    server = AppServer(tmp_path / "streamlit.log", env={"VAE_USER_MODELS": str(tmp_path / "user")})
    try:
        server.wait_healthy(timeout=90)
        page.goto(f"{server.url}/decoder", wait_until="domcontentloaded")
        wait_idle(page)
        assert_no_exception(page, "/decoder as the first request")
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text(re.compile(r"Model: .+latent_dim")).wait_for(timeout=30_000)
        page.locator(MENU).get_by_text("How it works").wait_for(timeout=30_000)
        nav = "\n".join(page.locator(MENU).all_inner_texts())
        assert "How it works" in nav and "how_it_works" not in nav, nav  # app.py's titles, not file names
        assert page.get_by_role("heading", name=re.compile("Decoder")).count()
    finally:
        server.stop()


def test_latent_map_csv_downloads_every_test_code(page, app_url):
    """The CSV is made only on the click (a deferred download): the file still holds all 10,000 codes."""
    open_page(page, app_url, "latent_map")
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile("Latent codes of the test set")).click()
    lines = open(info.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == "index,label,label_name,z_mean_0,z_mean_1,z_std_0,z_std_1"
    assert len(lines) == 1 + 10_000
    assert_no_exception(page, "Latent map after the CSV download")


@pytest.mark.parametrize("scale", [1, 2])
def test_latent_map_draws_webgl_at_the_screens_pixel_ratio(browser, app_url, scale):
    """Not Plotly's fixed 2x: in a browser's first session (it reports its ratio), and on later page loads
    (its cookie)."""
    gl = "[data-testid='stPlotlyChart'] canvas.gl-canvas-context"
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=scale)
    context.set_default_timeout(120_000)
    try:
        pg = context.new_page()
        open_page(pg, app_url, "")  # a first visit: no cookie yet
        pg.locator(MENU, has_text="Latent map").click()  # same session
        ratios = []
        for load in range(2):  # in that first session, then on a page load that sends the cookie
            if load:
                pg.reload()
            wait_idle(pg)
            ratios.append(pg.wait_for_selector(gl).evaluate("c => c.width / c.getBoundingClientRect().width"))
        assert [c["value"] for c in context.cookies() if c["name"] == "latent_explorer_dpr"] == [str(scale)]
        assert ratios == pytest.approx([scale, scale], abs=0.01)
        assert_no_exception(pg, f"Latent map at pixel ratio {scale}")
    finally:
        context.close()
