"""A fresh clone with no dataset: every page's AppTest tests pass, or skip with a reason, when $VAE_DATA_DIR
names an empty folder (so ../shared is not used either); MNIST is what is missing, as on a new machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.bundles import REPO

# Every page's AppTest module, and the ones that read the test split when it is there.
SAMPLE = [
    "tests/test_app_pages.py",
    "tests/test_app_latent_map.py",
    "tests/test_app_encode.py",
    "tests/test_app_how.py",
    "tests/test_app_compare.py",
    "tests/test_how_real_digits.py",
    "tests/test_gallery.py",
    "tests/test_photo_preprocess.py",
]


@pytest.mark.slow
def test_page_tests_pass_or_skip_with_a_reason_without_any_dataset(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    env = {**os.environ, "VAE_DATA_DIR": str(empty), "KERAS_HOME": str(tmp_path / "keras")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "-m", "not e2e and not slow and not ray", *SAMPLE],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    out = proc.stdout[-6000:]
    assert proc.returncode == 0, out
    assert re.search(r"\d+ passed", out), out
    # Every skip says why ("SKIPPED [1] file:line: reason"), and no reason is empty.
    for line in out.splitlines():
        if line.startswith("SKIPPED"):
            assert re.search(r": \S", line.split("]", 1)[1]), line
