"""Runtime data stays out of the checkout: the app run from a read-only copy of it, every page opened and a
job trained, leaves the copy as it was; a deleted model's published decoder answers 404 at once."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.class_jobs import job_states, start_digits_job

from . import MENU, REPO, AppServer, chromium_available, component_frame, exceptions, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OUTPUT = REPO / "test-output"
WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
TOKEN = "runtime-data-visitor-0123"  # the cookie of the visitor who owns a model here (explorer.visitors)


def checkout_files() -> list[str]:
    """What a clone (or a package) holds: the tracked files and the new ones git does not ignore, shipped
    models included; nothing a run wrote (jobs/, __pycache__/, published decoders)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    shipped = [p.relative_to(REPO).as_posix() for p in (REPO / "models").glob("*/*")
               if p.is_file() and not p.parent.name.startswith(".") and p.parent.name != "user"]
    return sorted({n for n in names + shipped if n and (REPO / n).is_file()})


def chmod_tree(root: Path, writable: bool) -> None:
    """chmod -R a-w (or u+w again); as root it changes nothing root may do, hence the listing below."""
    for folder, dirs, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / name for name in dirs + files)]:
            mode = path.lstat().st_mode
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~WRITE)


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root with its size and mtime (a folder's changes when an entry is added or
    removed)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(folder) / name
            info = path.lstat()
            found[path.relative_to(root).as_posix()] = (info.st_size if name != "." else 0, info.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def read_only_app(tmp_path_factory):
    """The app run from a read-only copy of the checkout, with its $VAE_HOME in a scratch folder and no
    bytecode written (PYTHONDONTWRITEBYTECODE=1, inherited by the jobs it starts); (url, copy, home, listing
    of the copy before it started)."""
    if not chromium_available():
        pytest.skip("no chromium (apt-get install chromium, or set CHROMIUM_PATH)")
    copy = tmp_path_factory.mktemp("checkout") / "latent-explorer"
    for name in checkout_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    home = tmp_path_factory.mktemp("vae_home")
    chmod_tree(copy, writable=False)
    before = listing(copy)
    env = {"VAE_HOME": str(home), "VAE_TRAIN_THREADS": "1", "VAE_MAX_JOBS": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        with AppServer(OUTPUT / "runtime_data.log", env=env, root=copy) as url:
            yield url, copy, home, before
    finally:
        chmod_tree(copy, writable=True)  # so that the scratch folder can be removed


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_deleted_models_published_decoder_answers_404(read_only_app, browser, tiny_bundle):
    """Issue 25, finding 6: an anonymous request for a deleted model's decoder still got 200."""
    from explorer.visitors import COOKIE, owner_of_token
    from jobservice import user_models
    from live_decoder import model_id_of_file
    from vae.bundles.bundle import DECODER_ONNX

    url, _, home, _ = read_only_app
    bundle = home / "models" / "own-abc123"
    shutil.copytree(tiny_bundle, bundle)
    user_models.set_owner(bundle, owner_of_token(TOKEN))
    decoder_id = model_id_of_file(bundle / DECODER_ONNX)
    decoder = f"{url}/component/live_decoder.live_decoder/models/{decoder_id}.onnx.gz"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    context.add_cookies([{"name": COOKIE, "value": TOKEN, "url": url}])
    page = context.new_page()
    page.goto(f"{url}/decoder?model=user/{bundle.name}")
    wait_idle(page)
    assert component_frame(page).evaluate("window.__liveDecoderStatus") == "ready"
    assert http_status(decoder) == 200  # anyone may fetch it, as the iframe does
    assert (home / "decoders" / "models").is_dir()

    page.goto(f"{url}/?model=user/{bundle.name}")
    wait_idle(page)
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_idle(page)
    assert not bundle.exists() and not exceptions(page)
    assert http_status(decoder) == 404
    context.close()


def test_nothing_is_written_inside_a_read_only_checkout(read_only_app, browser):
    """Every page of the menu opened, then a 1-epoch digits job trained from the Train page: the copy of the
    checkout is as it was (no jobs/, no models/user/, no published decoder, no __pycache__), and the runtime
    data is in $VAE_HOME."""
    url, copy, home, before = read_only_app
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    titles = page.locator(MENU).all_inner_texts()
    assert len(titles) >= 8, titles
    for n, title in enumerate(titles):
        page.locator(MENU).nth(n).click()
        wait_idle(page)
        assert not exceptions(page), (title, exceptions(page))

    start_digits_job(page, url, "read-only", home)
    deadline = time.time() + 600
    while time.time() < deadline and job_states(home).get("read-only") not in ("done", "failed", "stopped"):
        time.sleep(2)
    assert job_states(home).get("read-only") == "done", job_states(home)
    [trained] = [p.name for p in (home / "models").iterdir() if p.name.startswith("read-only-")]
    page.goto(f"{url}/decoder?model=user/{trained}")  # its decoder is published, in $VAE_HOME
    wait_idle(page)
    assert component_frame(page).evaluate("window.__liveDecoderStatus") == "ready"
    assert not exceptions(page)
    context.close()

    after = listing(copy)
    changed = {name: (before.get(name), after.get(name)) for name in before.keys() | after.keys()
               if before.get(name) != after.get(name)}
    assert changed == {}
    assert (home / "decoders" / "index.html").is_file() and list((home / "decoders" / "models").iterdir())
