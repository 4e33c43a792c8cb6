"""Importing from the browser, on a server of its own: an honest Keras-example encoder and decoder import as
a job and decode on the Decoder page; a model with a Lambda layer is refused, and its code never runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from . import REPO, AppServer, exceptions, scratch_env, wait_idle

pytestmark = pytest.mark.e2e

OUTPUT = REPO / "test-output"
MAIN_IMAGES = "[data-testid='stMain'] [data-testid='stImage'] img"


@pytest.fixture(scope="module")
def import_server(tmp_path_factory):
    """An app with its own (empty) jobs and visitors' models folders; one TensorFlow thread per job."""
    root = tmp_path_factory.mktemp("imports")
    with AppServer(OUTPUT / "import_server.log", env=scratch_env(root)) as url:
        yield url, root


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """The Keras example's encoder and decoder, and an encoder whose Lambda writes a marker if it runs."""
    # Keras is imported here, not at the top, so collecting the browser tests stays light.
    from tests.support.keras_models import keras_example, lambda_encoder

    d = tmp_path_factory.mktemp("uploads")
    encoder, decoder = keras_example()
    encoder.save(d / "enc.keras")
    decoder.save(d / "dec.keras")
    marker = d / "PWNED"
    lambda_encoder(marker).save(d / "evil.keras")
    assert marker.exists()  # building the model ran the Lambda: the marker works
    marker.unlink()
    return d, marker


def start_import(page, url: str, encoder: Path, decoder: Path, name: str) -> None:
    """Upload an encoder and a decoder on the Import page, measure on digits, and press Import."""
    page.goto(f"{url}/import_model")
    wait_idle(page)
    inputs = page.locator("[data-testid='stFileUploader'] input[type='file']")
    inputs.nth(0).set_input_files(str(encoder))
    inputs.nth(1).set_input_files(str(decoder))
    page.locator("[data-testid='stFileChipName']").nth(1).wait_for()  # both files listed…
    page.wait_for_function("!document.querySelector(\"[data-testid='stFileChipIconSpinner']\")")  # …and sent
    page.locator("[data-testid='stSelectbox']").first.click()  # Dataset
    page.get_by_role("option", name="digits", exact=True).click()
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Import", exact=True).click()


def test_keras_example_imports_and_decodes_and_a_lambda_is_refused(browser, import_server, model_files):
    url, root = import_server
    files, marker = model_files
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        start_import(page, url, files / "enc.keras", files / "dec.keras", "Their VAE")
        t0 = time.time()
        page.get_by_text(re.compile(r"Imported: latent_dim 2, test −ELBO")).wait_for(timeout=180_000)
        print(f"honest import, Import pressed to done on the page: {time.time() - t0:.1f} s")
        main = page.locator("[data-testid='stMain']")
        assert "at most 10 MB (this server's upload limit)" in main.inner_text()
        [model] = [p.name for p in (root / "models").iterdir() if p.name.startswith("their-vae-")]
        wait_idle(page)
        page.get_by_role("button", name=re.compile("Open it on the Decoder")).click()
        wait_idle(page)
        assert f"model=user%2F{model}" in page.url
        page.locator("[data-testid='stSidebar']").get_by_text(
            re.compile(r"Model: Their VAE.+latent_dim 2")).wait_for(timeout=60_000)
        decoded = page.locator(MAIN_IMAGES).first
        decoded.wait_for(state="attached")
        assert decoded.get_attribute("src").startswith("data:image/png")
        assert not exceptions(page), exceptions(page)

        start_import(page, url, files / "evil.keras", files / "dec.keras", "Evil")
        refusal = page.locator("[data-testid='stAlertContentError']").filter(has_text="Refused:")
        refusal.first.wait_for(timeout=120_000)
        text = refusal.first.inner_text()
        assert "Lambda layer" in text and "\n" not in text.strip(), text
        assert not marker.exists(), "the Lambda's code ran"
        content = page.content()
        assert "Traceback" not in content and str(root) not in content and str(files) not in content
        assert not [p for p in (root / "models").iterdir() if p.name.startswith("evil-")]
        assert not exceptions(page), exceptions(page)
    finally:
        context.close()
