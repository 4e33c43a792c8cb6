"""What explorer/upload_cap.py relies on in Streamlit (private: the runtime's uploaded-file manager and the
upload route that calls it), through Streamlit's own upload route: this breaks if Streamlit changes it."""

from __future__ import annotations

import uuid

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit import config
from streamlit.runtime import Runtime
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.web.server.starlette.starlette_routes import create_upload_routes

from explorer.upload_cap import MB, cap

SESSION = "a-session"


class Sessions:
    """What the upload route asks of the runtime."""

    @staticmethod
    def is_active_session(session_id: str) -> bool:
        return session_id == SESSION


@pytest.fixture()
def endpoint():
    """Streamlit's upload route over a capped manager (3 MB per session), XSRF off (no browser here)."""
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    counter = cap(manager, 3 * MB)
    before = config.get_option("server.enableXsrfProtection")
    config.set_option("server.enableXsrfProtection", False)
    try:
        with TestClient(Starlette(routes=create_upload_routes(Sessions(), manager, None))) as client:
            yield client, manager, counter
    finally:
        config.set_option("server.enableXsrfProtection", before)


def put(client, size: int, session: str = SESSION) -> tuple[int, str]:
    file_id = str(uuid.uuid4())
    answer = client.put(f"/_stcore/upload_file/{session}/{file_id}",
                        files={"file": ("f.keras", bytes(size), "application/octet-stream")})
    return answer.status_code, file_id


def test_a_session_holds_at_most_its_cap_and_gets_room_back(endpoint):
    client, manager, counter = endpoint
    kept = [put(client, MB) for _ in range(3)]
    assert [status for status, _ in kept] == [204, 204, 204]
    status, refused = put(client, MB)
    assert status == 413
    held = manager.get_files(SESSION, [f for _, f in kept] + [refused])
    assert len(held) == 3  # the refused one is not held
    assert client.delete(f"/_stcore/upload_file/{SESSION}/{kept[0][1]}").status_code == 204  # the widget's ✕
    assert put(client, MB)[0] == 204
    manager.remove_session_files(SESSION)  # what the runtime does when the session ends
    assert counter.held.get(SESSION) is None
    assert [put(client, MB)[0] for _ in range(3)] == [204, 204, 204]


def test_the_runtime_still_offers_the_manager_the_cap_wraps():
    assert isinstance(Runtime.__dict__.get("uploaded_file_mgr"), property)
    for name in ("add_file", "remove_file", "remove_session_files", "get_files"):
        assert callable(getattr(MemoryUploadedFileManager, name, None)), name
