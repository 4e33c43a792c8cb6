"""Uploads cannot fill the web process (issue 25, finding 2): one session sending 60 files of 10 MB straight
to Streamlit's upload endpoint, with its own XSRF token, as the probe did, on a real server whose memory is
read from /proc; and deploy/nginx.conf limits the rate of uploads per client."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid

import pytest

from scripts.balancer import Balancer, nginx_binary

from . import REPO, AppServer, free_port, scratch_env, wait_idle

pytestmark = pytest.mark.e2e

OUTPUT = REPO / "test-output"
MB = 2**20


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("uploads")
    server = AppServer(OUTPUT / "upload_server.log", env=scratch_env(root))
    with server as url:
        yield server, url


def resident_mb(pid: int) -> float:
    """The process's resident memory (VmRSS), in MB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def put(url: str, body: bytes, headers: dict[str, str]) -> int:
    """PUT the body; the HTTP status."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="PUT"),
                                    timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def one_upload(page) -> dict:
    """Choose a small file in the Import page's first uploader, as a visitor would, and return the request
    the browser sent: its URL (with this session's id) and headers (with its XSRF token)."""
    seen = []
    page.on("request", lambda r: seen.append(r) if "/_stcore/upload_file/" in r.url and r.method == "PUT"
            else None)
    page.locator("[data-testid='stFileUploader'] input[type='file']").first.set_input_files(
        {"name": "tiny.keras", "mimeType": "application/octet-stream", "buffer": b"PK\x05\x06" + bytes(18)})
    deadline = time.time() + 60
    while not seen and time.time() < deadline:
        page.wait_for_timeout(200)
    assert seen, "the browser sent no upload"
    return {"url": seen[0].url, "headers": seen[0].headers}


@pytest.mark.slow
def test_sixty_uploads_of_ten_mb_from_one_session_do_not_grow_the_server_by_100_mb(browser, upload_server):
    server, url = upload_server
    context = browser.new_context()
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(f"{url}/import_model")
    wait_idle(page)
    sent = one_upload(page)
    base = sent["url"].rsplit("/", 1)[0]  # …/_stcore/upload_file/<this session>
    token = {k: v for k, v in sent["headers"].items() if k.lower() == "x-xsrftoken"}
    page.wait_for_timeout(2000)
    before = resident_mb(server.proc.pid)
    # Sent from here with the browser's cookies and token (Playwright's own requests pass each body through
    # its driver as base64: seconds per 10 MB).
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.keras\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + bytes(10 * MB - 4096) \
        + f"\r\n--{boundary}--\r\n".encode()
    headers = {**token, "Cookie": cookies, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    statuses = [put(f"{base}/{uuid.uuid4()}", body, headers) for _ in range(60)]
    time.sleep(3)
    grown = resident_mb(server.proc.pid) - before
    print(f"web process: {before:.0f} MB before, grew {grown:.0f} MB; answers {sorted(set(statuses))}, "
          f"{statuses.count(204)} uploads kept")
    assert statuses.count(204) <= 4  # 32 MB per session: three of 10 MB beside the tiny one
    assert set(statuses) <= {204, 413}
    assert grown <= 100
    context.close()


def test_nginx_limits_the_rate_of_uploads_per_client(upload_server, tmp_path):
    """30 uploads at once from one address: nginx answers 429 to those beyond its burst, before the app."""
    if nginx_binary() is None:
        pytest.skip("no nginx (apt-get install nginx)")
    port = int(upload_server[1].rsplit(":", 1)[1])
    with Balancer(tmp_path / "nginx", (port, port), free_port()) as proxy:
        time.sleep(0.5)
        statuses = [put(f"{proxy}/_stcore/upload_file/no-such-session/{uuid.uuid4()}", b"x", {})
                    for _ in range(30)]
        limited = statuses.count(429)
        print(f"30 uploads at once through nginx: {limited} answered 429")
        assert limited >= 15, statuses  # the app itself answers 400 or 403 (no session, no XSRF token)
        with urllib.request.urlopen(f"{proxy}/_stcore/health", timeout=10) as answer:  # not an upload
            assert answer.status == 200
