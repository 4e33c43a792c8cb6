"""settings.py: every VAE_* variable declared once, read when asked, documented as declared; runtime folders
under $VAE_HOME, never in the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import settings

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "class_server.md"
SOURCES = ("app.py", "settings.py", "vae", "jobservice", "explorer", "pages", "live_decoder", "scripts",
           "deploy")
NAME = re.compile(r"\bVAE_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def _files(*where: str, suffixes=(".py", ".md", ".conf", ".sh", ".toml")) -> list[Path]:
    found = []
    for entry in where:
        path = REPO / entry
        found += [path] if path.is_file() else [p for p in sorted(path.rglob("*")) if p.suffix in suffixes]
    return found


def test_the_docs_settings_tables_are_settings_py():
    text = DOC.read_text()
    assert settings.settings_table() in text, "run `python settings.py` and paste its tables into " + DOC.name
    assert settings.folders_table() in text
    rows = {line for line in text.splitlines() if line.startswith("| `VAE_")}
    assert rows == set(settings.settings_table().splitlines()[2:])  # no other row names a variable


def test_every_variable_the_code_or_docs_name_is_declared():
    """A VAE_* name in the code, the docs or the README is one of SETTINGS (none documented that is not)."""
    declared = {s.name for s in settings.SETTINGS}
    named = {}
    for path in _files(*SOURCES, "docs", "README.md"):
        for name in NAME.findall(path.read_text(errors="replace")):
            named.setdefault(name, path.relative_to(REPO).as_posix())
    assert {n: p for n, p in named.items() if n not in declared} == {}


def test_each_setting_has_a_default_as_shown_and_one_line_of_doc():
    for s in settings.SETTINGS:
        assert s.doc and "\n" not in s.doc and "|" not in s.doc, s.name
        assert s.shown_default
        if s.default and not s.shown:  # shown as it is: the docs' default is the code's
            assert s.shown_default == s.default, s.name


def test_settings_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_QUEUE_LIMIT", "7")
    assert settings.integer("VAE_QUEUE_LIMIT") == 7
    monkeypatch.setenv("VAE_QUEUE_LIMIT", "many")  # not a number: the default
    assert settings.integer("VAE_QUEUE_LIMIT") == 30
    monkeypatch.delenv("VAE_QUEUE_LIMIT")
    assert settings.integer("VAE_QUEUE_LIMIT") == 30
    monkeypatch.setenv("VAE_ALLOW_BUNDLE_PATHS", "Yes")
    assert settings.flag("VAE_ALLOW_BUNDLE_PATHS")
    monkeypatch.setenv("VAE_MAX_JOBS", " ")  # empty: the default, which depends on the runner
    assert (settings.max_jobs(), settings.max_jobs(ray=True)) == (1, 16)
    monkeypatch.setenv("VAE_TRAIN_THREADS", "3")
    assert settings.train_threads(ray=True) == 3


def test_runtime_folders_live_under_vae_home(monkeypatch, tmp_path):
    for name in ("VAE_HOME", "VAE_JOBS_DIR", "VAE_USER_MODELS", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    default = tmp_path / "me" / ".local" / "share" / "latent-explorer"
    assert settings.home() == default
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.home() == tmp_path / "xdg" / "latent-explorer"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: only an absolute path counts
    assert settings.home() == default
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    home = tmp_path / "home"
    folders = (settings.jobs_dir(), settings.user_models_dir(), settings.decoders_dir(),
               settings.datasets_dir(), settings.cache_dir())
    assert folders == (home / "jobs", home / "models", home / "decoders", home / "datasets", home / "cache")
    monkeypatch.setenv("VAE_USER_MODELS", str(tmp_path / "elsewhere"))
    assert settings.user_models_dir() == tmp_path / "elsewhere"
    assert [f.name for f in settings.FOLDERS] == ["jobs", "models", "decoders", "datasets", "cache"]
    assert not home.exists()  # asking makes nothing


def test_nothing_defaults_into_the_checkout(monkeypatch):
    for name in ("VAE_HOME", "VAE_JOBS_DIR", "VAE_USER_MODELS"):
        monkeypatch.delenv(name, raising=False)
    for folder in (settings.jobs_dir(), settings.user_models_dir(), settings.decoders_dir(),
                   settings.cache_dir()):
        assert REPO.resolve() not in folder.resolve().parents, folder


def test_the_job_service_and_the_app_read_the_same_folders(monkeypatch, tmp_path):
    """VAE_USER_MODELS is read in one place: the runner saves where the model picker looks."""
    from explorer import models
    from explorer.training import runner

    monkeypatch.setenv("VAE_HOME", str(tmp_path))
    monkeypatch.delenv("VAE_USER_MODELS", raising=False)
    monkeypatch.delenv("VAE_JOBS_DIR", raising=False)
    assert runner().models_dir == tmp_path / "models" and runner().root == tmp_path / "jobs"
    assert models.is_visitors(tmp_path / "models" / "mine")
