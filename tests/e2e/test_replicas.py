"""Two app replicas sharing one jobs folder and one models folder behave as one app: a job started through one
is seen, stopped and used through the other, and its model listed by it (the same browser, so the same
visitor, going to either); and deploy/nginx.conf, run in Debian's nginx in front of them, serves the load
script with 0 errors, sends browsers to both, and sends Streamlit's and the live decoder's files itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.balancer import Balancer, nginx_binary
from tests.support.class_jobs import job_states, start_digits_job

from . import REPO, AppServer, component_frame, exceptions, free_port, scratch_env, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OUTPUT = REPO / "test-output"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """Two `streamlit run app.py` on one shared jobs and models folder, with the same cookie secret."""
    root = tmp_path_factory.mktemp("replicas")
    env = scratch_env(root, STREAMLIT_SERVER_COOKIE_SECRET="the-same-secret-on-every-replica")
    servers = [AppServer(OUTPUT / f"replica_{n}.log", env=env) for n in "ab"]
    try:
        for server in servers:
            server.wait_healthy(timeout=120)
        yield servers, root
    finally:
        for server in servers:
            server.stop()


def start_job(page, url: str, name: str, epochs: int, root: Path) -> str:
    """Train the scikit-learn digits from the Train page's form; returns the new job's folder name."""
    start_digits_job(page, url, name, root, epochs)
    [job] = [d.name for d in (root / "jobs").iterdir() if (d / "spec.json").is_file()
             and json.loads((d / "spec.json").read_text())["spec"]["name"] == name]
    return job


def wait_state(root: Path, name: str, states: set[str], timeout: float = 300) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline and job_states(root).get(name) not in states:
        time.sleep(1)
    assert job_states(root).get(name) in states, job_states(root)
    return job_states(root)[name]


def test_a_job_started_on_one_replica_is_seen_stopped_and_used_on_the_other(browser, replicas):
    (a, b), root = replicas
    visitor = browser.new_context(viewport={"width": 1400, "height": 1000})
    visitor.set_default_timeout(120_000)
    page = visitor.new_page()

    # Started on A; trained; used and listed on B.
    start_job(page, a.url, "first", 1, root)
    wait_state(root, "first", {"done"})
    page.goto(f"{b.url}/train")
    wait_idle(page)
    page.get_by_role("button", name="Use this model").first.click()
    wait_idle(page)
    [model] = [p.name for p in (root / "models").iterdir() if p.name.startswith("first-")]
    page.goto(f"{b.url}/?model=user/{model}")
    wait_idle(page)
    assert f"Current: user/{model}" in page.locator("[data-testid='stMain']").inner_text()

    # Started on A; seen running on B, and stopped there.
    job = start_job(page, a.url, "long", 300, root)
    deadline = time.time() + 120
    while not (root / "jobs" / job / "progress.json").exists() and time.time() < deadline:
        time.sleep(0.5)
    page.goto(f"{b.url}/train")
    wait_idle(page)
    page.get_by_text("long", exact=True).first.wait_for()
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page)
    assert wait_state(root, "long", {"stopped"}) == "stopped"
    assert not exceptions(page)
    visitor.close()


@pytest.mark.skipif(nginx_binary() is None, reason="no nginx (apt-get install nginx)")
def test_nginx_in_front_of_two_replicas_serves_the_load_script(replicas, tmp_path):
    (a, b), _ = replicas
    balancer = Balancer(tmp_path, (a.port, b.port), free_port(), decoders=a.home / "decoders")
    with balancer as url:
        load = subprocess.run([sys.executable, "scripts/load_test.py", "--url", url, "--users", "2",
                               "--actions", "2"], cwd=REPO, capture_output=True, text=True, timeout=400)
    (OUTPUT / "replicas_load_test.txt").write_text(load.stdout + load.stderr)
    assert load.returncode == 0 and "errors: 0" in load.stdout, load.stdout[-3000:] + load.stderr[-3000:]
    served = balancer.served()
    # Both replicas served browsers, and the websockets went through (101: switched to a websocket).
    assert f"127.0.0.1:{a.port}" in served and f"127.0.0.1:{b.port}" in served
    assert re.search(r"GET /_stcore/stream 101 ", served)


@pytest.mark.skipif(nginx_binary() is None, reason="no nginx (apt-get install nginx)")
def test_nginx_sends_streamlits_frontend_and_the_live_decoders_files_itself(browser, replicas, tmp_path):
    """Through deploy/nginx.conf, the Decoder page's live decoder runs, and neither Streamlit's frontend
    (/static/) nor the live decoder's files reach a replica: nginx sends them from disk, a published decoder
    with a year's max-age (named by its content), the rest to be revalidated."""
    (a, b), _ = replicas
    balancer = Balancer(tmp_path, (a.port, b.port), free_port(), decoders=a.home / "decoders")
    with balancer as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        page = context.new_page()
        answers = {}
        page.on("response", lambda r: answers.setdefault(r.url.split("?")[0].removeprefix(url), r.headers))
        page.goto(f"{url}/decoder")
        wait_idle(page)
        assert component_frame(page).evaluate("window.__liveDecoderStatus") == "ready"
        assert not exceptions(page)
        context.close()
    # The access log: method, path, status, the replica that answered ("-": nginx itself).
    served = [line.split() for line in balancer.served().splitlines()]
    files = [line for line in served if line[1].startswith(("/static/", "/component/"))]
    assert len(files) > 50, files
    assert all(line[3] == "-" for line in files), [line for line in files if line[3] != "-"]
    assert any(line[3] != "-" for line in served)  # the page itself and its websocket went to a replica
    decoder = [path for path in answers if re.fullmatch(r"/component/live_decoder\.live_decoder/models/"
                                                        r"[0-9a-f]{16}\.onnx\.gz", path)]
    assert decoder and "max-age=31536000" in answers[decoder[0]]["cache-control"]
    assert answers["/component/live_decoder.live_decoder/main.js"]["cache-control"] == "no-cache"
    assert "javascript" in answers["/component/live_decoder.live_decoder/ort/ort.wasm.bundle.min.mjs"][
        "content-type"]
