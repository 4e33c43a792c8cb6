"""Every setting in one place: each VAE_* environment variable and runtime folder, its default and doc."""

# The lowest layer: it imports nothing of the project, so vae/, jobservice/, explorer/ and live_decoder/ may
# all import it. Nothing is read at import: each function reads the environment when called, so a test that
# sets a variable (monkeypatch.setenv) is heard at once, and no module keeps a copy of a folder.
#
# Runtime data never goes inside the checkout, which may be read-only (a package install, a deployment):
# it lives under $VAE_HOME (by default ~/.local/share/latent-explorer, or $XDG_DATA_HOME/latent-explorer).
# docs/class_server.md's tables are this file's SETTINGS and FOLDERS (tests/test_settings.py compares them;
# `python settings.py` prints them).

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

APP_FOLDER = "latent-explorer"  # the app's folder under the XDG data home
NONE = "none"


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default as the environment would hold it ("" for none), one line of
    documentation, and how the docs show the default where it depends on something else."""

    name: str
    default: str
    doc: str
    shown: str = ""

    @property
    def shown_default(self) -> str:
        """The default as docs/class_server.md's table shows it."""
        return self.shown or self.default or NONE


SETTINGS = (
    Setting("VAE_HOME", "", "the runtime data folder: jobs, visitors' models, published decoders, caches; "
            "never inside the checkout (see the folders below)",
            "`$XDG_DATA_HOME/latent-explorer`, else `~/.local/share/latent-explorer`"),
    Setting("VAE_DATA_DIR", "", "the datasets' IDX files ([README, Data](../README.md#data))"),
    Setting("VAE_JOBS_DIR", "", "the jobs folder (spec, progress, history, STOP, status of each job)",
            "`$VAE_HOME/jobs`"),
    Setting("VAE_USER_MODELS", "", "visitors' models, and the server's own made at the command line into it",
            "`$VAE_HOME/models`"),
    Setting("VAE_MODEL_ROOTS", "", "more folders of bundles for everyone (ids `<folder>/<bundle>`), "
            "separated by `:`"),
    Setting("VAE_ALLOW_BUNDLE_PATHS", "0", "1 shows Home's \"Open a bundle folder\" box: for one person on "
            "their own machine only, since on a shared server a typed path would reach any folder the "
            "server can read"),
    Setting("VAE_USER_HEADER", "", "a trusted proxy's identity header, e.g. `X-Forwarded-User` (only where "
            "the proxy sets it itself)"),
    Setting("VAE_TRUSTED_PROXIES", "", "the addresses (IPs or networks, comma-separated) the identity "
            "header is accepted from; none: the header is ignored"),
    Setting("VAE_MAX_JOBS", "", "trainings at once on this machine (or submitted to the cluster)",
            "1 (16 with Ray)"),
    Setting("VAE_TRAIN_THREADS", "", "threads per training, so pages stay responsive (0: every core)",
            "half the cores (2 with Ray)"),
    Setting("VAE_JOBS_PER_VISITOR", "3", "queued or running jobs per visitor"),
    Setting("VAE_RUNNING_PER_VISITOR", "1", "of a visitor's jobs, how many run at once"),
    Setting("VAE_QUEUE_LIMIT", "30", "queued or running jobs on the server"),
    Setting("VAE_JOB_SIZE_LIMIT", "3000000", "epochs × training images per job (50 MNIST epochs)",
            "3,000,000"),
    Setting("VAE_MODELS_PER_VISITOR", "10", "saved models (plus jobs under way) per visitor"),
    Setting("VAE_BYTES_PER_VISITOR", str(1024 ** 3), "disk a visitor's saved models may take (a digits "
            "bundle is about 26 MB)", "1 GiB"),
    Setting("VAE_JOB_RETENTION_DAYS", "7", "finished jobs' folders are removed after this (their models "
            "stay); 0 keeps them"),
    Setting("VAE_IDLE_MODEL_DAYS", "30", "unshared models of visitors not seen for this long are removed; "
            "0 keeps them"),
    Setting("VAE_QUEUE_BUDGET", "18000000", "image passes (epochs × training images) of all queued and "
            "running trainings together: about 12 CPU-hours at 2.4 ms each", "18,000,000"),
    Setting("VAE_DISK_BUDGET_MB", "20480", "MB of disk for jobs (with their uploads), visitors' models and "
            "published decoders together, checked when a job starts and again when it ends",
            "20480 (20 GiB)"),
    Setting("VAE_UPLOAD_MB_PER_SESSION", "32", "MB of uploaded files one browser session may hold in the web "
            "process at once; an upload beyond gets 413"),
    Setting("VAE_TEACHERS", "", "the teachers' owner ids (`u-…`, as each user's \"Signed in as\" tip shows), "
            "comma-separated"),
    Setting("VAE_TEACHER_GROUP", "", "a group or app role in the login's `groups` or `roles` claim whose "
            "members are teachers"),
    Setting("VAE_IMPORT_MEMORY_MB", "2048", "the memory an import's sandboxed process may hold, code "
            "included (models over 3 M parameters are refused before loading, to fit it)"),
    Setting("VAE_DATASET_FOLDERS", "", "server folders of images (one subfolder per label) every visitor may "
            "train on, separated by `:`; each is checked and prepared in a job, as an upload is"),
    Setting("VAE_DATASETS_PER_VISITOR", "5", "image datasets (plus dataset jobs under way) per visitor"),
    Setting("VAE_DATASET_MB_PER_VISITOR", "200", "MB of disk a visitor's prepared image datasets may take"),
    Setting("VAE_DATASET_IMAGES", "20000", "images one dataset (an upload or a server folder) may hold"),
    Setting("VAE_RUNNER", "local", "`ray` sends training to a Ray cluster ([scaling.md](scaling.md))",
            "`local`"),
    Setting("VAE_RAY_ADDRESS", "", "the Ray job server, `http://HEAD:8265`"),
    Setting("VAE_RAY_JOB_MEMORY_MB", "3072", "the memory a job asks Ray for"),
    Setting("VAE_RAY_PYTHON", "python", "the interpreter on the Ray nodes", "`python`"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The declared setting of that name (a KeyError for one that is not declared above: every VAE_*
    variable the app reads is one of SETTINGS)."""
    return _BY_NAME[name]


def text(name: str) -> str:
    """The variable's value, stripped; its default when unset or empty."""
    return os.environ.get(name, "").strip() or setting(name).default


def number(name: str) -> float:
    """The variable as a number; its default when unset or not a number."""
    try:
        return float(text(name))
    except ValueError:
        return float(setting(name).default)


def integer(name: str) -> int:
    return int(number(name))


def field_of(name: str, scale: int = 1):
    """A dataclass field holding the whole-number setting `name` × `scale` (2**20: one in MB held in
    bytes), its default this file's; from_env fills every such field from the environment."""
    default = int(float(setting(name).default) * scale)
    return field(default=default, metadata={"setting": name, "scale": scale})


def from_env(cls):
    """An instance of a dataclass of field_of fields, each read from its variable now."""
    return cls(**{f.name: int(number(f.metadata["setting"]) * f.metadata["scale"]) for f in fields(cls)
                  if "setting" in f.metadata})


def flag(name: str) -> bool:
    """Whether the variable is switched on: 1, true or yes."""
    return text(name).lower() in ("1", "true", "yes")


# -- the runtime folders ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Folder:
    """A runtime folder under $VAE_HOME: its name there, the variable that moves it (if any), and its doc."""

    name: str
    variable: str
    doc: str


FOLDERS = (
    Folder("jobs", "VAE_JOBS_DIR", "one folder per training or import job (and an import's uploads)"),
    Folder("models", "VAE_USER_MODELS", "visitors' models, each with its `access.json` (owner, shared, "
           "published by a teacher); a bundle the command line saves here is the server's own, shown to "
           "everyone"),
    Folder("decoders", "", "the live decoder component's served folder: its frontend, copied in at start, "
           "and `models/`, each published decoder (removed with its model)"),
    Folder("datasets", "", "visitors' own image datasets, each checked and prepared (`data.npz`, "
           "`dataset.json`, `access.json`), and the operator's `VAE_DATASET_FOLDERS` prepared"),
    Folder("cache", "", "computed caches that outlive a process (t-SNE embeddings)"),
)


def home() -> Path:
    """$VAE_HOME: the runtime data folder (not created here)."""
    chosen = text("VAE_HOME")
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_FOLDER


def _folder(variable: str, name: str) -> Path:
    chosen = text(variable) if variable else ""
    return Path(chosen).expanduser() if chosen else home() / name


def jobs_dir() -> Path:
    """The jobs folder: $VAE_JOBS_DIR, else $VAE_HOME/jobs."""
    return _folder("VAE_JOBS_DIR", "jobs")


def user_models_dir() -> Path:
    """The visitors' models folder: $VAE_USER_MODELS, else $VAE_HOME/models (the one place it is read)."""
    return _folder("VAE_USER_MODELS", "models")


def decoders_dir() -> Path:
    """The live decoder's served folder, $VAE_HOME/decoders: its frontend and the published decoders."""
    return home() / "decoders"


def datasets_dir() -> Path:
    """$VAE_HOME/datasets: prepared image datasets (visitors' uploads and the operator's folders)."""
    return home() / "datasets"


def dataset_folders() -> tuple[str, ...]:
    """The operator's server folders of labelled images (VAE_DATASET_FOLDERS, separated like PATH)."""
    return tuple(r.strip() for r in text("VAE_DATASET_FOLDERS").split(os.pathsep) if r.strip())


def cache_dir() -> Path:
    """$VAE_HOME/cache: computed caches that outlive a process (t-SNE embeddings)."""
    return home() / "cache"


def data_dir() -> Path | None:
    """$VAE_DATA_DIR, the datasets' IDX files, if set."""
    chosen = text("VAE_DATA_DIR")
    return Path(chosen).expanduser() if chosen else None


def model_roots() -> tuple[str, ...]:
    """The operator's extra folders of bundles for everyone (VAE_MODEL_ROOTS, separated like PATH)."""
    return tuple(r.strip() for r in text("VAE_MODEL_ROOTS").split(os.pathsep) if r.strip())


# -- settings whose default depends on the runner --------------------------------------------------------

def max_jobs(ray: bool = False) -> int:
    """Trainings at once: VAE_MAX_JOBS, else 1 on this machine, 16 submitted to a Ray cluster."""
    chosen = text("VAE_MAX_JOBS")
    return int(float(chosen)) if _is_number(chosen) else 16 if ray else 1


def train_threads(ray: bool = False) -> int:
    """Threads per training job: VAE_TRAIN_THREADS, else half the cores (2 with Ray, its CPUs per job);
    0 means every core, as the CLI's default."""
    chosen = text("VAE_TRAIN_THREADS")
    if chosen.isdigit():
        return int(chosen)
    return 2 if ray else max(1, (os.cpu_count() or 2) // 2)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# -- the docs' tables --------------------------------------------------------------------------------------

def settings_table() -> str:
    """docs/class_server.md's table of the app's environment variables, in Markdown."""
    rows = [f"| `{s.name}` | {s.shown_default} | {s.doc} |" for s in SETTINGS]
    return "\n".join(["| variable | default | what |", "|---|---|---|", *rows])


def folders_table() -> str:
    """docs/class_server.md's table of the runtime folders, in Markdown."""
    rows = [f"| `$VAE_HOME/{f.name}/` | {f'`{f.variable}`' if f.variable else '—'} | {f.doc} |"
            for f in FOLDERS]
    return "\n".join(["| folder | moved by | what |", "|---|---|---|", *rows])


if __name__ == "__main__":  # `python settings.py`: the tables, then this machine's folders
    print(settings_table(), folders_table(), sep="\n\n")
    print(f"\nHere: VAE_HOME={home()}", *(f"{f.name}: {_folder(f.variable, f.name)}" for f in FOLDERS),
          sep="\n", file=sys.stderr)
