"""A/B: djng at two checkouts, the same work items, alternating batches in one run.

    python -m bench.ab ../djng-before                      # hello,json,routes100,...
    python -m bench.ab ../djng-before hello,hello_orm 40   # items, rounds

Each checkout gets a ``bench.worker djng`` process of its own (``PYTHONPATH`` set
to it); batches alternate in random order and are timed in CPU time, so that
drift and other processes hit both sides alike. Prints the median cost per
request of each side and new/base (below 1: the working tree is faster), and
new/base of each round's pair of batches: median, min-max.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

DEFAULT_ITEMS = "hello,json,routes100,post_json,hello_push,mounted3"


class Worker:
    """One ``bench.worker djng`` process, run from ``root``."""

    def __init__(self, root: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(root), BENCH_CLOCK="cpu")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", "djng"], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.process.stdout.readline()  # its items and the check of their answers

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        raise SystemExit(__doc__)
    base, new = Path(argv[0]).resolve(), Path(__file__).resolve().parent.parent
    items = (argv[1] if len(argv) > 1 else DEFAULT_ITEMS).split(",")
    rounds = int(argv[2]) if len(argv) > 2 else 15
    workers = {"base": Worker(base), "new": Worker(new)}
    try:
        for item in items:
            n = workers["base"].ask(cmd="calibrate", item=item, seconds=0.2)["n"]
            micros: dict[str, list[float]] = {side: [] for side in workers}
            for _ in range(rounds):
                for side in random.sample(list(workers), len(workers)):
                    seconds = workers[side].ask(cmd="run", item=item, n=n)["seconds"]
                    micros[side].append(seconds / n * 1e6)
            b, m = statistics.median(micros["base"]), statistics.median(micros["new"])
            paired = [new / old for new, old in zip(micros["new"], micros["base"], strict=True)]
            print(f"{item:12s} base {b:6.2f} us  new {m:6.2f} us  new/base {m / b:5.3f}  "
                  f"(base {min(micros['base']):.2f}-{max(micros['base']):.2f}, "
                  f"new {min(micros['new']):.2f}-{max(micros['new']):.2f}; "
                  f"new/base of each round {statistics.median(paired):.3f}, "
                  f"{min(paired):.3f}-{max(paired):.3f})")
    finally:
        for worker in workers.values():
            worker.close()


if __name__ == "__main__":
    main(sys.argv[1:])
