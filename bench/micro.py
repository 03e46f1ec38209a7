"""Micro figures for djng: ``S.current()``, the context copy and one push per
request, and import times in fresh interpreters.

``python -m bench.micro`` prints the in-process figures as JSON (run in a fresh
process by :func:`measure`, so that nothing else has warmed or polluted it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import timeit


def _best_ns(stmt, number: int, repeat: int = 7) -> float:
    """Nanoseconds per call of ``stmt``: the best of ``repeat`` timings."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e9


def inprocess(number: int) -> dict[str, float]:
    from contextvars import copy_context

    import djng
    from djng.state import in_request

    cache = djng.cache
    current = cache.current
    current()  # build the default backend first
    backend = cache.LocMem("micro")
    result = {"current_ns": _best_ns(current, number)}

    def pushed() -> float:
        cache.push(backend)
        return _best_ns(current, number)

    request_ctx = copy_context()
    request_ctx.run(in_request.set, True)
    result["current_pushed_ns"] = request_ctx.copy().run(pushed)

    def noop() -> None:
        pass

    # One request's context: copy the caller's context and run the request in it.
    result["context_ns"] = _best_ns(lambda: copy_context().run(noop), number) - _best_ns(
        noop, number
    )
    # One push inside a request (each in a fresh copy so the stack does not grow).
    push = cache.push
    with_push = _best_ns(lambda: request_ctx.copy().run(push, backend), number)
    without = _best_ns(lambda: request_ctx.copy().run(noop), number)
    result["push_ns"] = with_push - without
    return result


def import_ms(modules: list[str], runs: int, env: dict) -> dict[str, float]:
    """Median time of ``import M`` in fresh interpreters, runs interleaved.

    Timed by the interpreter's CPU time (imports from cached bytecode are CPU
    bound), so that other processes on the machine do not count.
    """
    code = (
        "import time; t = time.process_time(); import {m}; "
        "print(time.process_time() - t)"
    )
    times: dict[str, list[float]] = {m: [] for m in modules}
    for m in modules:  # once first, so every module's bytecode is cached
        subprocess.run([sys.executable, "-c", f"import {m}"], env=env, check=True)
    for _ in range(runs):
        for m in modules:
            out = subprocess.run(
                [sys.executable, "-c", code.format(m=m)], env=env, check=True,
                capture_output=True, text=True,
            ).stdout
            times[m].append(float(out.strip().splitlines()[-1]) * 1e3)
    return {m: statistics.median(v) for m, v in times.items()}


def measure(*, quick: bool, modules: list[str], env: dict) -> dict:
    number = 2_000 if quick else 200_000
    out = subprocess.run(
        [sys.executable, "-m", "bench.micro", str(number)], env=env, check=True,
        capture_output=True, text=True,
    ).stdout
    result = json.loads(out)
    runs = 2 if quick else 15
    result["import_ms"] = import_ms(modules, runs, env)
    result["import_runs"] = runs
    return result


if __name__ == "__main__":
    print(json.dumps(inprocess(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)))
