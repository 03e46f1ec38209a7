"""``python -m bench``: run every contender, print one table, save it to bench/results.md.

Each contender runs in its own long-lived worker process (Django is configured
once per process); every trial asks the workers for one timed batch each, in a
freshly shuffled order, so drift (CPU frequency, other load) spreads over all
contenders alike. Ratios are to Django's own handler in the same run.

WSGI and ASGI contenders get a table each: the ASGI rows (``djng.asgi``,
Django's ``ASGIHandler``, Starlette; items ``asgi_*``) are called with a scope,
``receive`` and ``send`` on one event loop per worker, and their ratios are to
Django's ``ASGIHandler``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .contenders import BASELINES, CONTENDERS, available
from .items import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.md"
_clock = "cpu"


def child_env() -> dict[str, str]:
    """The environment for child interpreters: the repo importable, bytecode caching on.

    PYTHONDONTWRITEBYTECODE would make every fresh interpreter compile its imports
    again, inflating import times several-fold; it is removed here.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["BENCH_CLOCK"] = _clock  # how the workers time their batches
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class WorkerProcess:
    """The parent's handle on one ``python -m bench.worker NAME`` process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(),
        )
        hello = self._read()
        self.items: list[str] = hello["items"]
        self.problems: dict[str, str] = {k: v for k, v in hello["problems"].items() if v}

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker {self.name!r} died (see its stderr above)")
        return json.loads(line)

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def run_inprocess(
    names: list[str], items: list[str], trials: int, seconds: float, log=print
) -> dict[tuple[str, str], list[float]]:
    """Requests/second of each (contender, item): one figure per trial."""
    workers: dict[str, WorkerProcess] = {}
    try:
        for name in names:
            workers[name] = WorkerProcess(name)
            for item, problem in workers[name].problems.items():
                raise RuntimeError(f"{name} answers {item} wrongly: {problem}")
        pairs = [(n, i) for i in items for n in names if i in workers[n].items]
        if not pairs:
            return {}
        batch = {}
        for name, item in pairs:  # calibration doubles as warm-up
            batch[name, item] = workers[name].ask(cmd="calibrate", item=item, seconds=seconds)["n"]
        rps: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
        for trial in range(trials):
            order = list(pairs)
            random.shuffle(order)
            for name, item in order:
                n = batch[name, item]
                elapsed = workers[name].ask(cmd="run", item=item, n=n)["seconds"]
                rps[name, item].append(n / elapsed)
            log(f"  trial {trial + 1}/{trials} done", file=sys.stderr)
        return rps
    finally:
        for worker in workers.values():
            worker.close()


def run_rss(names: list[str], requests: int) -> dict[str, int]:
    """Resident memory (KiB) of a fresh worker after ``requests`` hello requests
    (an ASGI contender's: async hello)."""
    result = {}
    for name in names:
        worker = WorkerProcess(name)
        item = "hello" if CONTENDERS[name].interface == "wsgi" else "asgi_hello"
        try:
            result[name] = worker.ask(cmd="rss", item=item, n=requests)["rss_kib"]
        finally:
            worker.close()
    return result


# -- formatting ------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def summary(rps: dict, name: str, item: str) -> tuple[float, float, float] | None:
    runs = rps.get((name, item))
    if not runs:
        return None
    return statistics.median(runs), min(runs), max(runs)


def inprocess_table(rps: dict, names: list[str], items: list[str]) -> str:
    header = ["work item", *(CONTENDERS[n].label for n in names)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in items:
        base = summary(
            rps, BY_NAME[item].baseline or BASELINES[BY_NAME[item].interface], item
        )
        cells = [BY_NAME[item].title + f" (`{item}`)"]
        for name in names:
            s = summary(rps, name, item)
            if s is None:
                cells.append("—")
                continue
            cell = f"{fmt_rate(s[0])} ({fmt_rate(s[1])}–{fmt_rate(s[2])})"
            if base is not None:
                cell += f" **{s[0] / base[0]:.2f}×**"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio(rps: dict, a: tuple[str, str], b: tuple[str, str]) -> float | None:
    sa, sb = summary(rps, *a), summary(rps, *b)
    return None if sa is None or sb is None else sa[0] / sb[0]


def target_row(
    label: str, value: float, limit: float, higher: bool, unit: str = "×"
) -> tuple[str, str, bool, str]:
    """(target, measured, met, margin) of one figure against its limit: a higher or
    a lower figure is better; the margin is how far past the limit (+) or short (−)."""
    met = value >= limit if higher else value <= limit
    margin = (value / limit - 1) if higher else (limit / value - 1)
    return (label, f"{value:.2f}{unit}" if unit == "×" else f"{value:.0f} {unit}", met,
            f"{margin:+.1%}".replace("-", "−"))


def fmt_target_row(row: tuple[str, str, bool | None, str]) -> str:
    label, measured, met, margin = row
    return f"| {label} | {measured} | {'yes' if met else 'NO'} | {margin} |"


def targets_table(rows: list[tuple[str, str, bool | None, str]]) -> list[str]:
    """The "Targets" section of a run: a heading and one table row per target."""
    return ["## Targets", "", "| target | measured | met | margin |", "|---|---|---|---|",
            *(fmt_target_row(row) for row in rows), ""]


def targets(
    rps: dict, micro: dict, served: dict | None = None
) -> list[tuple[str, str, bool | None, str]]:
    """(target, measured, met, margin) for each target this run measured (issues 4
    and 11); the margin is how far the figure is past the limit (+) or short of it (−)."""
    rows: list[tuple[str, str, bool | None, str]] = []

    def add(label: str, value: float | None, limit: float, higher: bool, unit: str = "×"):
        if value is not None:
            rows.append(target_row(label, value, limit, higher, unit))

    hello = ("djng", "hello")
    add("hello: djng ≥ 3.0× Django handler", ratio(rps, hello, ("django", "hello")), 3.0, True)
    add("hello: djng ≥ 2.5× Flask", ratio(rps, hello, ("flask", "hello")), 2.5, True)
    add("hello: djng ≥ 1.3× Django request/response objects (the floor)",
        ratio(rps, hello, ("floor", "hello")), 1.3, True)
    add("JSON + path parameter: djng ≥ 1.8× Django",
        ratio(rps, ("djng", "json"), ("django", "json")), 1.8, True)
    add("100 routes: djng ≥ 1.8× Django",
        ratio(rps, ("djng", "routes100"), ("django", "routes100")), 1.8, True)
    add("hello + pushed service ≥ 0.9× djng hello",
        ratio(rps, ("djng", "hello_push"), hello), 0.9, True)
    add("hello after an ORM query ≥ 0.9× djng hello",
        ratio(rps, ("djng", "hello_orm"), hello), 0.9, True)
    add("a 404 costs ≤ 1.3× a hit (djng)", ratio(rps, hello, ("djng", "notfound")), 1.3, False)
    add("1000 routes under one prefix: djng ≥ 1.0× Flask",
        ratio(rps, ("djng", "routes1000"), ("flask", "routes1000")), 1.0, True)
    add("5 nested mounts cost ≤ 1.3× none (djng)",
        ratio(rps, hello, ("djng", "mounted5")), 1.3, False)
    add("typed POST (msgspec Struct in and out) ≥ 1.3× untyped `post_json` (djng)",
        ratio(rps, ("djng", "post_typed"), ("djng", "post_json")), 1.3, True)
    add("typed view: MessagePack answer ≥ 1.0× the same object as JSON (djng)",
        ratio(rps, ("djng", "get_msgpack"), ("djng", "get_typed_json")), 1.0, True)
    add("`S.current()` ≤ 300 ns", micro.get("current_ns"), 300, False, "ns")
    imports = micro.get("import_ms") or {}
    if "djng" in imports and "flask" in imports:
        add("`import djng` ≤ 1.2× `import flask`", imports["djng"] / imports["flask"], 1.2, False)
    # ASGI (in-process): djng.asgi against Django's ASGIHandler and Starlette.
    ahello = ("djng_asgi", "asgi_hello")
    add("ASGI async hello: djng.asgi ≥ 10× Django ASGIHandler",
        ratio(rps, ahello, ("django_asgi", "asgi_hello")), 10.0, True)
    add("ASGI async hello: djng.asgi ≥ 0.4× Starlette",
        ratio(rps, ahello, ("starlette", "asgi_hello")), 0.4, True)
    add("ASGI sync hello: djng.asgi ≥ 5× Django ASGIHandler",
        ratio(rps, ("djng_asgi", "asgi_sync_hello"), ("django_asgi", "asgi_sync_hello")),
        5.0, True)
    add("ASGI async hello + pushed service ≥ 0.9× djng.asgi async hello",
        ratio(rps, ("djng_asgi", "asgi_hello_push"), ahello), 0.9, True)
    served = served or {}
    djng_asgi_served = served.get(("uvicorn", "djng_asgi", "asgi_hello"))
    for other, label, limit in (("starlette", "Starlette", 0.8),
                                ("django_asgi", "Django ASGIHandler", 2.0)):
        theirs = served.get(("uvicorn", other, "asgi_hello"))
        if djng_asgi_served and theirs:
            add(f"served async hello (uvicorn, 1 worker): djng.asgi ≥ {limit:g}× {label}",
                djng_asgi_served / theirs, limit, True)
    djng_served = served.get(("gunicorn-gthread", "djng", "hello"))
    for other, label in (("flask", "Flask"), ("django", "Django handler")):
        theirs = served.get(("gunicorn-gthread", other, "hello"))
        if djng_served and theirs:
            add(f"served hello (gunicorn gthread 1×8, 32 connections): djng ≥ 1.3× {label}",
                djng_served / theirs, 1.3, True)
    return rows


def micro_lines(micro: dict, rss: dict) -> list[str]:
    lines = []
    if "current_ns" in micro:
        lines.append(
            f"- `djng.cache.current()`: {micro['current_ns']:.0f} ns with an empty stack, "
            f"{micro['current_pushed_ns']:.0f} ns with one pushed backend"
        )
        lines.append(
            f"- per request: context copy + run {micro['context_ns']:.0f} ns; "
            f"one push {micro['push_ns']:.0f} ns"
        )
    imports = micro.get("import_ms")
    if imports:
        parts = ", ".join(f"`import {m}` {v:.1f} ms" for m, v in imports.items())
        lines.append(
            f"- import time (CPU time, median of {micro['import_runs']} fresh interpreters, "
            f"bytecode cached): {parts}"
        )
    if rss:
        parts = ", ".join(f"{CONTENDERS[n].label} {v / 1024:.1f} MiB" for n, v in rss.items())
        lines.append(f"- resident memory after {micro['rss_requests']:,} hello requests: {parts}")
    return lines


# -- the run -----------------------------------------------------------------------


def machine_lines() -> list[str]:
    import platform
    from importlib import metadata

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for dist in ("djng", "Django", "Flask", "Werkzeug", "falcon", "bottle", "gunicorn",
                 "granian", "starlette", "uvicorn", "asgiref"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
            text=True, check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
        + (f", commit {commit}" if commit else ""),
        f"- machine: {cpu}, {os.cpu_count()} CPUs, {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        "- " + ", ".join(versions),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark djng against Django, Flask, Falcon, Bottle and bare WSGI; "
        "djng.asgi against Django's ASGIHandler and Starlette.",
    )
    parser.add_argument("--only", help="comma-separated contenders (default: all installed): "
                        + ", ".join(CONTENDERS))
    parser.add_argument("--items", help="comma-separated work items (default: all): "
                        + ", ".join(BY_NAME))
    parser.add_argument("--trials", type=int, default=7, help="trials (default 7)")
    parser.add_argument("--seconds", type=float, default=0.25,
                        help="length of one timed batch (default 0.25 s)")
    parser.add_argument("--wall", action="store_true",
                        help="time batches by wall clock instead of the worker's CPU time")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts, to check that the harness works (figures "
                        "meaningless; not saved to bench/results.md)")
    parser.add_argument("--no-micro", action="store_true", help="skip the micro figures")
    parser.add_argument("--server", action="store_true",
                        help="also serve each contender under real servers (gunicorn sync and "
                        "gthread, granian; uvicorn for the ASGI ones) and load them over "
                        "loopback")
    parser.add_argument("--servers", help="comma-separated servers for --server (default: "
                        "those installed): gunicorn-sync, gunicorn-gthread, granian, uvicorn")
    parser.add_argument("--server-items", default="hello,json,asgi_hello",
                        help="work items for --server (default: hello,json,asgi_hello; "
                        "WSGI items go to the WSGI servers, ASGI items to uvicorn)")
    parser.add_argument("--server-seconds", type=int, default=3,
                        help="load duration of one run in server mode (default 3 s)")
    parser.add_argument("--server-runs", type=int, default=3,
                        help="runs per contender and item in server mode, interleaved "
                        "(default 3; cells: median (min–max))")
    parser.add_argument("--server-warmup", type=int, default=1,
                        help="warm-up load per server before its runs (default 1 s; 0: none)")
    parser.add_argument("--server-connections", type=int, default=None,
                        help="concurrent client connections in server mode (default: each "
                        "server's own, 2 for sync, 32 for the threaded ones)")
    parser.add_argument("--clients", action="store_true",
                        help="instead of the contenders: what a call from one service to "
                        "another costs (djng.clients in-process, over loopback to uvicorn, "
                        "a fan-out of async calls); uses --trials")
    parser.add_argument("--push", action="store_true",
                        help="instead of the contenders: push to browsers, djng.pubsub over "
                        "Redis into djng.sse under uvicorn (publish-to-client latency at 200 "
                        "subscribers, memory and CPU of 1,000 idle connections); Redis from "
                        "DJNG_TEST_REDIS_URL or DJNG_PUBSUB_URL, else redis://127.0.0.1:6379/0")
    parser.add_argument("--output", default=None,
                        help="results file, newest run first (default bench/results.md; "
                        "a --quick run is saved only where --output says)")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global _clock
    _clock = "wall" if args.wall else "cpu"
    args.server_seconds = max(1, round(args.server_seconds))  # wrk takes whole seconds
    if args.quick:
        args.trials, args.seconds, args.server_seconds = 2, 0.01, 1
        args.server_runs, args.server_warmup = 1, 0
    if args.clients:
        return run_clients(args, argv)
    if args.push:
        return run_push(args, argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(CONTENDERS)
    items = [i.strip() for i in args.items.split(",")] if args.items else list(BY_NAME)
    for name in names:
        if name not in CONTENDERS:
            raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
    for item in items:
        if item not in BY_NAME:
            raise SystemExit(f"unknown item {item!r}; choose from {', '.join(BY_NAME)}")
    missing = [n for n in names if not available(n)]
    names = [n for n in names if n not in missing]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} "
              "(pip install -e '.[bench]')", file=sys.stderr)

    print(f"in-process: {len(names)} contenders, {args.trials} trials of "
          f"~{args.seconds} s batches", file=sys.stderr)
    rps = run_inprocess(names, items, args.trials, args.seconds)
    by_interface = {
        kind: ([n for n in names if CONTENDERS[n].interface == kind],
               [i for i in items if BY_NAME[i].interface == kind])
        for kind in ("wsgi", "asgi")
    }

    micro: dict = {}
    rss: dict = {}
    if not args.no_micro:
        from . import micro as micro_mod

        print("micro figures", file=sys.stderr)
        micro = micro_mod.measure(
            quick=args.quick,
            modules=[m for m in ("djng", "flask", "django", "django.http") if _has(m)],
            env=child_env(),
        )
        micro["rss_requests"] = 200 if args.quick else 10_000
        rss = run_rss(names, micro["rss_requests"])

    server_table, served = None, {}
    if args.server:
        from . import server

        server_items = [i.strip() for i in args.server_items.split(",")]
        servers = [x.strip() for x in args.servers.split(",")] if args.servers else None
        server_table, served = server.run(
            [n for n in names if n in server.SERVED], server_items, args.server_seconds,
            env=child_env(), connections=args.server_connections, servers=servers,
            runs=args.server_runs, warmup=args.server_warmup,
        )

    clock = "wall-clock" if args.wall else "worker CPU"
    out = []
    wsgi_names, wsgi_items = by_interface["wsgi"]
    if wsgi_names and wsgi_items:
        out += [f"## In-process requests/second ({clock} time, {args.trials} trials): "
                "median (min–max), ratio to Django's handler", "",
                inprocess_table(rps, wsgi_names, wsgi_items), ""]
    asgi_names, asgi_items = by_interface["asgi"]
    if asgi_names and asgi_items:
        out += [f"## In-process ASGI requests/second ({clock} time, {args.trials} trials): "
                "median (min–max), ratio to Django's ASGIHandler", "",
                "Scope, receive and send called directly; one event loop per worker; "
                "each batch awaits its requests one after another.", "",
                inprocess_table(rps, asgi_names, asgi_items), ""]
    rows = targets(rps, micro, served)
    if rows:
        out += targets_table(rows)
    lines = micro_lines(micro, rss)
    if lines:
        out += ["## Micro figures", "", *lines, ""]
    if server_table:
        out += ["## Served over loopback: one server process per contender", "", server_table,
                ""]
    return publish("\n".join(out), args, argv)


def run_clients(args: argparse.Namespace, argv: list[str] | None) -> int:
    """``--clients``: the services-calling-services section alone (bench/clients.py)."""
    missing = [m for m in ("httpx", "uvicorn") if not _has(m)]
    if missing:
        raise SystemExit(f"--clients needs {', '.join(missing)} (pip install -e '.[test]')")
    from . import clients

    result = clients.measure(child_env(), args.trials, quick=args.quick)
    return publish(clients.report(result, args.trials), args, argv)


def run_push(args: argparse.Namespace, argv: list[str] | None) -> int:
    """``--push``: the push-to-browsers section alone (bench/push.py); skipped, with a
    message, when no Redis answers."""
    missing = [m for m in ("redis", "uvicorn") if not _has(m)]
    if missing:
        raise SystemExit(f"--push needs {', '.join(missing)} (pip install -e '.[test,redis]')")
    from . import push

    url = push.redis_url()
    problem = push.unreachable(url)
    if problem:
        print(f"--push skipped: {problem}; set DJNG_TEST_REDIS_URL or DJNG_PUBSUB_URL to a "
              "Redis server", file=sys.stderr)
        return 0
    return publish(push.report(push.measure(child_env(), url, quick=args.quick)), args, argv)


def publish(report: str, args: argparse.Namespace, argv: list[str] | None) -> int:
    """Print ``report``; save it to the results (a full run, or ``--output``)."""
    print(report)
    if not args.no_save and (args.output or not args.quick):
        save(Path(args.output or RESULTS), report, argv)
    return 0


def _has(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a dotted name whose package is missing
        return False


def save(path: Path, report: str, argv: list[str] | None) -> None:
    """Put this run at the top of the results file, keeping earlier runs below it."""
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    section = "\n".join([
        f"## Run of {time.strftime('%Y-%m-%d %H:%M')}", "",
        f"Command: `{command}`", "", *machine_lines(), "",
        report.replace("## ", "### "), "",
    ])
    earlier = ""
    if path.exists():
        text = path.read_text()
        start = text.find("\n## Run of ")
        earlier = text[start + 1:] if start >= 0 else ""
    intro = ("# djng benchmark results\n\nWritten by `python -m bench`, newest run first. "
             "Compare ratios within one run; absolute figures drift between machines and "
             "runs.\n\n")
    path.write_text(intro + section + ("\n" + earlier if earlier else ""))
