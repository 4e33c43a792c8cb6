"""The garbage collector kept off the objects that live as long as the web process: modules and their kin."""

# Streamlit runs a full garbage collection after every script run (its runner.postScriptGC), and a full
# collection walks every object the collector tracks. The app's imports (NumPy, pandas, Plotly, ONNX
# Runtime, scikit-learn, Streamlit's own) are about 170,000 of them: 0.07–0.1 s after each run, which was a
# third of a page view's server CPU. Frozen objects (gc.freeze) are skipped by every later collection, and
# modules, classes and functions are never garbage anyway.

from __future__ import annotations

import gc
import sys
import threading

_LOCK = threading.Lock()
_modules_at_freeze = 0


def freeze_imports() -> None:
    """Freeze what is alive once new modules have been imported since the last time (a few times per
    process: the first runs of each page import theirs); otherwise nothing.

    What a freeze also catches is kept until the process ends if it later becomes cyclic garbage: the
    caches' entries and the sessions' state of that moment. A handful of freezes, early in a process's
    life, bounds that to a few caches' worth; the collection just before it frees what is garbage then.
    """
    global _modules_at_freeze
    if len(sys.modules) <= _modules_at_freeze:
        return
    with _LOCK:
        if len(sys.modules) > _modules_at_freeze:
            _modules_at_freeze = len(sys.modules)
            gc.collect()
            gc.freeze()
