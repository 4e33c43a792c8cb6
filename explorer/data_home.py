"""The app's runtime folder, outside the source tree: $VAE_HOME (default ~/.local/share/latent-explorer)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path("~/.local/share/latent-explorer")


def cache_dir() -> Path:
    """The one folder for results computed once per model and kept across restarts ($VAE_HOME/cache), made
    if missing. Raises OSError where it cannot be made: callers then compute without keeping."""
    home = Path(os.environ.get("VAE_HOME") or DEFAULT_HOME).expanduser()
    folder = home / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
