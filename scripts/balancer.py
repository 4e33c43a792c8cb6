"""deploy/nginx.conf run for real: Debian's nginx in front of app replicas on this machine's ports, as
tests/e2e/test_replicas.py and scripts/bench_scale.py use it (its pid, logs and temp files in a folder of
its own; ended by its own process id)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import settings

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "deploy" / "nginx.conf"
EXAMPLE_PORTS = (8501, 8502)  # the replicas' ports as the example names them
# The folders nginx serves files from, as the example names them: Streamlit's static folder, the replicas'
# published decoders ($VAE_HOME/decoders/models/) and the checkout's live decoder frontend.
EXAMPLE_STATIC = "/srv/latent-explorer/venv/lib/python3/site-packages/streamlit/static"
EXAMPLE_DECODERS = "/home/latent/.local/share/latent-explorer/decoders/models/"
EXAMPLE_FRONTEND = "/srv/latent-explorer/live_decoder/frontend/"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


# deploy/nginx.conf's sign-in at the proxy, as its comment tells an operator to switch it on: the three
# commented lines in place of the one that clears the header.
SIGN_IN = re.compile(r"#   (auth_basic .*;)\n\s*#   auth_basic_user_file .*;\n"
                     r"\s*#   (proxy_set_header X-Forwarded-User \$remote_user;)\n"
                     r"(\s*)proxy_set_header X-Forwarded-User \"\";")


def streamlit_static_dir() -> Path:
    """Streamlit's frontend folder (index.html, static/), as the comment in deploy/nginx.conf finds it."""
    return Path(importlib.util.find_spec("streamlit").origin).resolve().parent / "static"


def nginx_config(folder: Path, ports: tuple[int, int], listen: int, users: Path | None = None,
                 bind: str | None = None, decoders: Path | None = None, checkout: Path = REPO) -> Path:
    """deploy/nginx.conf with these replica and balancer ports, inside a main config of its own; with
    `users` (an htpasswd file), its sign-in switched on; with `bind`, connecting to the replicas from that
    address (proxy_bind: a test's way to tell the proxy's connections from a browser's on one machine).
    It serves Streamlit's static files from this Python's Streamlit, the published decoders from `decoders`
    (the replicas' $VAE_HOME/decoders; by default this process's settings.decoders_dir()) and the live
    decoder's frontend from `checkout`."""
    site = SITE.read_text()
    served = {EXAMPLE_STATIC: streamlit_static_dir(),
              EXAMPLE_DECODERS: f"{decoders or settings.decoders_dir()}/models/",
              EXAMPLE_FRONTEND: f"{Path(checkout).resolve() / 'live_decoder' / 'frontend'}/"}
    for example, path in served.items():
        if site.count(example) != 1:
            raise ValueError(f"{SITE} no longer names {example} once")
        site = site.replace(example, str(path))
    if ports[0] == ports[1]:  # one replica (a test's): the map of answering replicas names it once
        site = re.sub(rf"\n\s*127\.0\.0\.1:{EXAMPLE_PORTS[1]}\s+b;", "", site)
    for example, port in zip(EXAMPLE_PORTS, ports, strict=True):
        site = site.replace(f"127.0.0.1:{example}", f"127.0.0.1:{port}")
    site, n = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", site)
    if n != 1:
        raise ValueError(f"{SITE} no longer has one 'listen 80;'")
    if users is not None:
        site, n = SIGN_IN.subn(lambda m: f"{m[1]}\n{m[3]}auth_basic_user_file {users};\n{m[3]}{m[2]}", site)
        if n != 1:
            raise ValueError(f"{SITE} no longer has its commented sign-in lines")
    if bind is not None:
        site, n = re.subn(r"(\n(\s*)proxy_pass .*;)", rf"\1\n\2proxy_bind {bind};", site)
        if n != 1:
            raise ValueError(f"{SITE} no longer has one proxy_pass")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # (workers may then read a root-only temp folder)
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {folder / 'access.log'} upstream;
{temp}
{site}
}}
""")
    return conf


class Balancer:
    """nginx with deploy/nginx.conf in front of two replicas; a context manager yielding its URL."""

    def __init__(self, folder: Path, ports: tuple[int, int], listen: int, users: Path | None = None,
                 bind: str | None = None, decoders: Path | None = None, checkout: Path = REPO):
        self.folder, self.listen = Path(folder), listen
        self.folder.mkdir(parents=True, exist_ok=True)
        self.nginx = nginx_binary()
        if self.nginx is None:
            raise FileNotFoundError("no nginx (apt-get install nginx)")
        self.conf = nginx_config(self.folder, ports, listen, users, bind, decoders, checkout)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        check = subprocess.run([self.nginx, "-t", "-c", str(self.conf), "-p", str(self.folder)],
                               capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx -t refused the configuration:\n{check.stderr}")
        self.proc = subprocess.Popen([self.nginx, "-c", str(self.conf), "-p", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        return f"http://127.0.0.1:{self.listen}"

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the master ends its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def served(self) -> str:
        """The access log: method, path, status and the replica that answered, a line per request."""
        log = self.folder / "access.log"
        return log.read_text() if log.exists() else ""
