"""The web process never imports TensorFlow or Keras: every page, run in a fresh Python process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = ["home", "latent_map", "decoder", "encode", "train", "import_model", "how_it_works"]

# A fresh interpreter: in pytest's own process Keras is already imported by other tests' modules, so a
# check of sys.modules there could never fail.
SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest

at = AppTest.from_file("app.py", default_timeout=120)
at.query_params["model"] = sys.argv[1]
at.run()
for page in sys.argv[2:]:
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, (page, at.exception)
print(sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "tf2onnx"}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("model", ["models/mnist-2d", "models/mnist-16d"])
def test_no_page_imports_tensorflow(model, tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, model, *PAGES], capture_output=True, text=True,
                          timeout=600, cwd=REPO, env={**_env(), "VAE_JOBS_DIR": str(tmp_path / "jobs")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout[-500:]


def test_the_check_can_fail():
    """The same script reports TensorFlow when something in the process did import it."""
    probe = "import keras\n" + SCRIPT.split("at = AppTest")[0] + 'print(sorted({m.split(".")[0] for m in ' \
            'sys.modules} & {"tensorflow", "keras"}))'
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env=_env())
    assert proc.stdout.strip().splitlines()[-1] == "['keras', 'tensorflow']", proc.stderr[-2000:]


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
