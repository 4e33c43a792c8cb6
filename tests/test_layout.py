"""The layout's rules: small modules, no cryptic module aliases, and each layer importing only what it may."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("vae", "jobservice", "explorer", "pages", "live_decoder", "scripts", "tests", "deploy")
MAX_LINES = 400
# Aliases the Python world reads at a glance; any other alias of one or two letters is a riddle.
CONVENTIONAL = {("numpy", "np"), ("pandas", "pd"), ("tensorflow", "tf"), ("streamlit", "st"),
                ("plotly.graph_objects", "go"), ("xml.etree.ElementTree", "ET"), ("datetime", "dt")}
# vae/ is the model: no web app, no plotting, no job service. One exception, with its reason: the CLI's
# `train --runner ray` submits the training through the job service's Ray runner (imported only then).
NOT_IN_VAE = {"streamlit", "plotly", "jobservice", "explorer", "live_decoder"}
VAE_EXCEPTIONS = {("vae/cli.py", "jobservice.ray_runner")}
NOT_IN_WEB = {"tensorflow", "keras", "tf2onnx"}  # the web process serves from ONNX
PROJECT = {"vae", "jobservice", "explorer", "pages", "live_decoder", "scripts", "tests", "app"}
# Reading a VAE_* variable from the environment, anywhere but settings.py (setting one, for a child, is fine).
ENV_READ = re.compile(r"""(?:environ\.get|getenv|environ\.setdefault|environ\.pop)\(\s*["']VAE_|"""
                      r"""environ\[\s*["']VAE_[A-Z_]*["']\s*\](?!\s*=[^=])""")


def python_files() -> list[Path]:
    files = [REPO / "app.py", REPO / "settings.py"]
    for folder in SOURCE_DIRS:
        files += sorted((REPO / folder).rglob("*.py"))
    return files


def too_long(source: str) -> bool:
    return len(source.splitlines()) > MAX_LINES


def cryptic_aliases(source: str) -> list[str]:
    """`import a.b as X` / `from a import b as X` with X one or two letters, unless a convention."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            base = f"{node.module}." if isinstance(node, ast.ImportFrom) and node.module else ""
            for alias in node.names:
                name = base + alias.name
                if alias.asname and len(alias.asname) <= 2 and (name, alias.asname) not in CONVENTIONAL:
                    found.append(f"{name} as {alias.asname}")
    return found


def imported_modules(source: str) -> list[str]:
    """Every module an import statement names (absolute imports; the project uses no relative ones)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def forbidden(source: str, path: str, banned: set[str], exceptions=frozenset()) -> list[str]:
    return [m for m in imported_modules(source)
            if m.split(".")[0] in banned and (path, m) not in exceptions]


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_module_is_over_400_lines():
    long = [f"{_relative(p)}: {len(p.read_text().splitlines())}" for p in python_files()
            if too_long(p.read_text())]
    assert not long, long


def test_no_cryptic_module_aliases():
    bad = {_relative(p): cryptic_aliases(p.read_text()) for p in python_files()}
    assert not {k: v for k, v in bad.items() if v}


def test_vae_is_the_model_only():
    bad = {_relative(p): forbidden(p.read_text(), _relative(p), NOT_IN_VAE, VAE_EXCEPTIONS)
           for p in sorted((REPO / "vae").rglob("*.py"))}
    assert not {k: v for k, v in bad.items() if v}


def test_settings_is_the_lowest_layer_and_the_one_reader_of_vae_variables():
    assert forbidden((REPO / "settings.py").read_text(), "settings.py", PROJECT) == []
    app = [p for p in python_files()  # (tests set variables up for the app)
           if p.name != "settings.py" and _relative(p).split("/")[0] != "tests"]
    assert [_relative(p) for p in app if ENV_READ.search(p.read_text())] == []


def test_the_web_layers_never_import_tensorflow_directly():
    web = [REPO / "app.py", *sorted((REPO / "explorer").rglob("*.py")),
           *sorted((REPO / "pages").rglob("*.py"))]
    bad = {_relative(p): forbidden(p.read_text(), _relative(p), NOT_IN_WEB) for p in web}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.parametrize("source, rule", [
    ("\n" * 401, too_long),
    ("from vae import bundle as B\n", cryptic_aliases),
    ("import explorer.cloud_map as CM\n", cryptic_aliases),
    ("def f():\n    from vae.bundles import bundle as bb\n", cryptic_aliases),
])
def test_the_checks_catch_what_they_are_for(source, rule):
    assert rule(source)


def test_the_settings_check_catches_what_it_is_for():
    for read in ('os.environ.get("VAE_JOBS_DIR", "jobs")', "os.getenv('VAE_HOME')",
                 'Path(os.environ["VAE_USER_MODELS"])', 'os.environ.get(\n    "VAE_X")'):
        assert ENV_READ.search(read), read
    for fine in ('env["VAE_HOME"] = str(home)', 'os.environ["VAE_HOME"] = home', 'os.environ.get("HOME")'):
        assert not ENV_READ.search(fine), fine


def test_the_import_checks_catch_what_they_are_for():
    assert forbidden("def f():\n    import streamlit as st\n", "vae/x.py", NOT_IN_VAE) == ["streamlit"]
    assert forbidden("from jobservice import state\n", "vae/x.py", NOT_IN_VAE) == ["jobservice"]
    assert forbidden("from keras import layers\n", "explorer/x.py", NOT_IN_WEB) == ["keras"]
    assert not cryptic_aliases("import numpy as np\nfrom explorer import geometry as geo\n")


def test_tests_share_helpers_only_through_tests_support():
    """A test module imports no other test module and no conftest: shared helpers are public names in
    tests/support/ (fixtures stay in conftest.py, which pytest provides without an import)."""
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                if node.level:  # from .test_x import …, from . import test_x
                    names += [a.name for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                last = name.split(".")[-1]
                if last.startswith("test_") or last == "conftest":
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, offenders
