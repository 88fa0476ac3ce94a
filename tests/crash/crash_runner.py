"""A warm, single-threaded fork runner for the crash harness (run as a script, JSON lines on stdin).

Starting `kikan rehearse` costs seconds of imports and YAML parsing; a kill test needs dozens
of runs. This process imports and warms everything once, then forks one child per request:
the child starts its own session (so a time-based kill reaches the SQLite bulk-load
grandchild too), sets ``KIKAN_FAULT_AT`` if asked, runs the rehearsal exactly as the CLI does
and exits with its exit code. The runner itself never touches a store after the warm-up.

Request:  {"manifest", "store", "run_dir", "log", "fault": str|null, "kill_after": float|null,
           "batch_rows": int}
Response: {"exit": int (negative = killed by that signal), "seconds": float}
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def _child(req: dict) -> None:
    os.setsid()
    fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.pop("KIKAN_FAULT_AT", None)
    if req.get("fault"):
        os.environ["KIKAN_FAULT_AT"] = req["fault"]
    os.environ["KIKAN_BATCH_ROWS"] = str(req.get("batch_rows") or 65536)
    code = 3
    try:
        from kikan_hub import faults
        from kikan_hub.pipeline.errors import ConfigError
        from kikan_hub.pipeline.manifest import load_manifest
        from kikan_hub.pipeline.rehearsal import rehearse
        from kikan_hub.store.engine import StoreError

        faults.reset()
        try:
            result = rehearse(load_manifest(Path(req["manifest"])), req["store"], Path(req["run_dir"]))
            code = result.exit_code
        except (StoreError, ConfigError, OSError) as exc:  # what the CLI turns into exit 2
            print(f"error: {exc}", flush=True)
            code = 2
    except BaseException:  # anything else is a bug the test must see
        import traceback
        traceback.print_exc()
        code = 4
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    # Warm up imports and lru caches (definitions, code tables, layouts) once, before forking.
    # Nothing here may start a thread pool: polars (the validation gate) is not fork-safe once
    # its pool is running, so the runner imports it but never runs a query.
    warm = json.loads(sys.stdin.readline())
    import alembic.command  # noqa: F401
    import jinja2  # noqa: F401
    import xlsxwriter  # noqa: F401
    import kikan_hub.gaiji.report  # noqa: F401
    import kikan_hub.gaiji.resolve  # noqa: F401
    import kikan_hub.validation.engine  # noqa: F401
    import kikan_hub.validation.reports  # noqa: F401
    from kikan_hub.pipeline.manifest import load_manifest
    from kikan_hub.pipeline.rehearsal import rehearse  # noqa: F401
    from kikan_hub.store.schema import build_metadata
    from kikan_hub.validation.catalogue import load_catalogue

    load_manifest(Path(warm["manifest"]))
    build_metadata()
    load_catalogue()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child(req)
        if req.get("kill_after") is not None:
            time.sleep(req["kill_after"])
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                    break
                except ProcessLookupError:
                    continue
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if req.get("kill_after") is not None:
            try:  # the SQLite bulk-load grandchild may survive its parent: reap the whole session
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        print(json.dumps({"exit": code, "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    serve()
