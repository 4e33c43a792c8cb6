"""Jobs in a class server's folders: start a digits job from the Train page in a browser, read every job's
state without a runner."""

from __future__ import annotations

import json
import time
from pathlib import Path

from scripts.harness import wait_idle


def start_digits_job(page, url: str, name: str, root: Path, epochs: int = 1) -> None:
    """Train the scikit-learn digits (for one epoch unless told), from the Train page's form."""
    before = len(job_states(root))
    page.goto(f"{url}/train")
    wait_idle(page)
    page.locator("[data-testid='stSelectbox']").first.click()  # Dataset
    page.get_by_role("option", name="digits", exact=True).click()
    page.get_by_label("Epochs").fill(str(epochs))  # (Enter would submit the form)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Start training").click()
    deadline = time.time() + 60
    while len(job_states(root)) == before and time.time() < deadline:
        time.sleep(0.5)
    wait_idle(page)


def job_states(root: Path) -> dict[str, str]:
    """Each job's state from its folder, read without a runner (which would itself move the queue)."""
    states = {}
    for d in (root / "jobs").iterdir() if (root / "jobs").is_dir() else []:
        if (d / "spec.json").is_file():
            name = json.loads((d / "spec.json").read_text())["spec"]["name"]
            status = d / "status.json"
            states[name] = json.loads(status.read_text())["state"] if status.is_file() else "not finished"
    return states
