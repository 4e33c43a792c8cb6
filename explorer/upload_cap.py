"""Uploads one session may hold: at most VAE_UPLOAD_MB_PER_SESSION; beyond it the upload endpoint says 413."""

# Streamlit keeps every file PUT to /_stcore/upload_file/<session>/<file id> in the web process's memory
# until the session ends (and server.disconnectedSessionTTL after), whether or not a widget asked for it: the
# probe's 60 uploads of 10 MB from one session, with its own XSRF token, grew the process from 378 to 980 MB.
# server.maxUploadSize caps each file, and nothing public caps a session's total: st.file_uploader's options
# apply to its own widget, and a hand-made request names no widget. So this wraps the runtime's uploaded-file
# manager, a private API (Runtime.instance().uploaded_file_mgr, whose add_file, remove_file and
# remove_session_files the upload route and the runtime call), counting each session's bytes and refusing an
# upload over the cap with HTTP 413, which Streamlit's upload route passes on. tests/test_upload_cap.py
# breaks if Streamlit changes what this relies on; tests/e2e/test_upload_limits.py measures the process.

from __future__ import annotations

import threading

import streamlit as st
from starlette.exceptions import HTTPException  # Streamlit's server; its upload route raises the same

import settings

MB = 2**20


def upload_cap_mb() -> float:
    """VAE_UPLOAD_MB_PER_SESSION (32): MB of uploaded files one session may hold at once (an import's two
    files of up to 10 MB each, and an image on Encode)."""
    return settings.number("VAE_UPLOAD_MB_PER_SESSION")


class SessionCap:
    """Counts the bytes each session holds in an uploaded-file manager and refuses an upload over the cap."""

    def __init__(self, manager, cap_bytes: int):
        self.cap = int(cap_bytes)
        self.held: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._add, self._remove = manager.add_file, manager.remove_file
        self._remove_session = manager.remove_session_files

    def add_file(self, session_id: str, file) -> None:
        size = len(file.data)
        with self._lock:
            files = self.held.setdefault(session_id, {})
            holding = sum(files.values()) - files.get(file.file_id, 0)
            if holding + size > self.cap:
                raise HTTPException(status_code=413, detail=(
                    f"This session already holds {holding / MB:.0f} MB of uploads, and one session may hold "
                    f"{self.cap / MB:.0f} MB: remove a file first, or reload the page."))
            files[file.file_id] = size
        self._add(session_id=session_id, file=file)

    def remove_file(self, session_id: str, file_id: str) -> None:
        with self._lock:
            self.held.get(session_id, {}).pop(file_id, None)
        self._remove(session_id=session_id, file_id=file_id)

    def remove_session_files(self, session_id: str) -> None:
        with self._lock:
            self.held.pop(session_id, None)
        self._remove_session(session_id)


def cap(manager, cap_bytes: int) -> SessionCap:
    """Put a SessionCap in front of an uploaded-file manager (its three methods, on the instance)."""
    counter = SessionCap(manager, cap_bytes)
    manager.add_file = counter.add_file
    manager.remove_file = counter.remove_file
    manager.remove_session_files = counter.remove_session_files
    return counter


@st.cache_resource(show_spinner=False, max_entries=1)
def cap_session_uploads() -> SessionCap | None:
    """Cap this server's uploads per session, once per process (None where no Streamlit server runs: a
    test's AppTest has no upload endpoint)."""
    from streamlit import runtime  # the private part: see the top of this module

    if not runtime.exists():
        return None
    return cap(runtime.get_instance().uploaded_file_mgr, int(upload_cap_mb() * MB))
