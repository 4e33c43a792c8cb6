"""The queue keeper: one thread per web process that moves the training queue and cleans up old files."""

# Pages reconcile the job folder whenever they read it, but nobody may be watching: the keeper does it every
# few seconds, so the next job starts when one ends with no page open, and once an hour it removes old job
# folders, idle visitors' unshared models, and the published decoders no model has any more
# (docs/class_server.md). Replicas each run one; the job folder's lock keeps them from starting a job twice.

from __future__ import annotations

import sys
import threading
import time

import streamlit as st

import settings
from explorer import published, training
from jobservice import datasets, user_models

TICK_S = 2.0
CLEAN_EVERY_S = 3600.0


def retention_days() -> tuple[float, float]:
    """(days a finished job's folder is kept, days of absence after which a visitor's unshared models go);
    VAE_JOB_RETENTION_DAYS (7) and VAE_IDLE_MODEL_DAYS (30); 0 keeps them for ever."""
    return settings.number("VAE_JOB_RETENTION_DAYS"), settings.number("VAE_IDLE_MODEL_DAYS")


def tick(now: float, last_clean: float) -> float:
    """One round: reconcile, and clean up if an hour has passed; returns when it last cleaned up."""
    runner = training.runner()
    runner.reconcile()
    if now - last_clean < CLEAN_EVERY_S:
        return last_clean
    job_days, idle_days = retention_days()
    removed = runner.clean_up(job_days, now)
    gone = user_models.remove_idle(settings.user_models_dir(), idle_days, now)
    gone += datasets.remove_idle(settings.user_models_dir(), idle_days, now)  # their unshared datasets too
    unused = published.clean_up(now)  # after the idle models went: their decoders go too
    if removed or gone or unused:
        print(f"Latent Explorer: removed {len(removed)} old job folders, {len(gone)} idle visitors' "
              f"models and datasets, and {len(unused)} published files of decoders no model has.",
              file=sys.stderr)
    return now


_SEEN: dict[str, float] = {}
_SEEN_LOCK = threading.Lock()


def note_visit(who: str, name: str | None = None) -> None:
    """Touch the visitor's last-seen file at most once an hour per process (the idle clean-up reads it),
    noting a signed-in user's name there (a teacher's page shows it)."""
    now = time.time()
    with _SEEN_LOCK:
        if now - _SEEN.get(who, 0.0) < 3600:
            return
        _SEEN[who] = now
    try:
        user_models.touch_visitor(settings.user_models_dir(), who, name)
    except OSError as exc:
        print(f"Latent Explorer: could not note a visit: {exc!r}", flush=True)


def _loop() -> None:
    last_clean = 0.0
    while True:
        try:
            last_clean = tick(time.time(), last_clean)
        except Exception as exc:  # never let one bad folder stop the queue for good
            print(f"Latent Explorer: queue keeper: {exc!r}", file=sys.stderr)
        time.sleep(TICK_S)


@st.cache_resource(show_spinner=False, max_entries=1)
def start() -> threading.Thread:
    """Start the process's keeper once (later calls return it)."""
    thread = threading.Thread(target=_loop, name="latent-explorer-queue-keeper", daemon=True)
    thread.start()
    return thread
