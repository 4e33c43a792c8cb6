"""Trace of a Streamlit server's script runs for scripts/bench_page_cpu.py: page, cause, CPU, per run.

Python's site module imports this file when its folder is on PYTHONPATH. It does nothing unless
SERVER_TRACE_OUT names a folder; then it appends one JSON line per rerun request and per script run to
SERVER_TRACE_OUT/runs.jsonl, and with SERVER_TRACE_PROFILE=1 it also writes each run's cProfile stats
(run-<n>.prof). SERVER_TRACE_FUNCS="explorer.models:current_model_path,..." times those functions
(thread CPU and calls, inclusive, per run: the run record's "funcs"), wrapping them, once their module
is imported, in every module that holds them (so `from x import f` copies are timed too).
Measurement only: it wraps two methods of Streamlit's AppSession and times the garbage collection
Streamlit runs after each script run (private APIs on purpose, since what it measures is Streamlit's
own script runs); it changes no behaviour.
"""

from __future__ import annotations

import os

if os.environ.get("SERVER_TRACE_OUT"):
    import cProfile
    import itertools
    import json
    import threading
    import time
    from pathlib import Path

    _OUT = Path(os.environ["SERVER_TRACE_OUT"])
    _OUT.mkdir(parents=True, exist_ok=True)
    _PROFILE = os.environ.get("SERVER_TRACE_PROFILE") == "1"
    _LOCK = threading.Lock()
    _COUNT = itertools.count(1)
    _RUNNING = threading.local()
    _FUNCS = [f for f in os.environ.get("SERVER_TRACE_FUNCS", "").split(",") if f.strip()]
    _WRAPPED: set[str] = set()

    def _write(record: dict) -> None:
        with _LOCK, open(_OUT / "runs.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def _widgets(client_state) -> list[str]:
        """The widgets a rerun request carries: user key (or id tail) and which value kind it sends."""
        found = []
        states = getattr(client_state, "widget_states", None)
        for w in getattr(states, "widgets", []) or []:
            kind = w.WhichOneof("value")
            found.append(f"{w.id.rsplit('-', 1)[-1][:40]}:{kind}")
        return found

    def _timed(label: str, func):
        def timed(*args, **kwargs):
            run = getattr(_RUNNING, "run", None)
            if run is None:
                return func(*args, **kwargs)
            cpu0 = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                calls, cpu = run["funcs"].get(label, (0, 0.0))
                run["funcs"][label] = (calls + 1, cpu + time.thread_time() - cpu0)

        timed.__wrapped__ = func
        return timed

    def _wrap_funcs() -> None:
        """Wrap each SERVER_TRACE_FUNCS function whose module is imported by now, wherever it is bound."""
        import sys

        for spec in _FUNCS:
            if spec in _WRAPPED:
                continue
            module_name, _, name = spec.strip().partition(":")
            module = sys.modules.get(module_name)
            func = getattr(module, name, None) if module else None
            if func is None:
                continue
            wrapper = _timed(spec.strip(), func)
            for other in list(sys.modules.values()):
                holder = getattr(other, "__dict__", {})
                for key, value in list(holder.items()):
                    if value is func:
                        setattr(other, key, wrapper)
            _WRAPPED.add(spec)

    def _install() -> None:
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.scriptrunner import script_runner

        request_rerun = AppSession.request_rerun
        on_event = AppSession._on_scriptrunner_event

        def traced_request_rerun(self, client_state):
            _write({"kind": "request", "t": time.time(), "session": self.id[:8],
                    "page": getattr(client_state, "page_name", None) if client_state else None,
                    "query": getattr(client_state, "query_string", None) if client_state else None,
                    "fragment": getattr(client_state, "fragment_id", None) if client_state else None,
                    "widgets": _widgets(client_state) if client_state else None})
            return request_rerun(self, client_state)

        def traced_on_event(self, sender, event, *args, **kwargs):
            name = getattr(event, "name", str(event))
            if name == "SCRIPT_STARTED":
                if _FUNCS:
                    _wrap_funcs()
                pages = kwargs.get("pages") or {}
                info = pages.get(kwargs.get("page_script_hash"), {})
                _RUNNING.run = {"n": next(_COUNT), "session": self.id[:8],
                                "page": info.get("url_pathname", info.get("page_name")),
                                "fragment": bool(kwargs.get("fragment_ids_this_run")),
                                "t": time.time(), "cpu0": time.thread_time(), "wall0": time.perf_counter(),
                                "funcs": {}}
                if _PROFILE:
                    _RUNNING.profile = cProfile.Profile(time.thread_time)  # CPU, not wall: a loaded machine
                    _RUNNING.profile.enable()
            elif "STOPPED" in name and getattr(_RUNNING, "run", None):
                if _PROFILE:
                    _RUNNING.profile.disable()
                run = _RUNNING.run
                _RUNNING.run, _RUNNING.last = None, run["n"]
                run.update(kind="run", end=name, cpu=time.thread_time() - run.pop("cpu0"),
                           wall=time.perf_counter() - run.pop("wall0"))
                if _PROFILE:
                    _RUNNING.profile.dump_stats(_OUT / f"run-{run['n']}.prof")
                _write(run)
            return on_event(self, sender, event, *args, **kwargs)

        AppSession.request_rerun = traced_request_rerun
        AppSession._on_scriptrunner_event = traced_on_event
        script_runner.gc = _TimedGC(script_runner.gc)

    class _TimedGC:
        """The script runner's `gc` module, its collect() timed (runner.postScriptGC: after every run)."""

        def __init__(self, gc_module):
            self._gc = gc_module

        def __getattr__(self, name):
            return getattr(self._gc, name)

        def collect(self, *args):
            cpu0 = time.thread_time()
            found = self._gc.collect(*args)
            _write({"kind": "gc", "n": getattr(_RUNNING, "last", None), "t": time.time(),
                    "cpu": time.thread_time() - cpu0,
                    "objects": len(self._gc.get_objects())})
            return found

    _install()
