"""Run every registered mutation and fail unless each one makes a test fail.

    python -m tests.mutations.run            # all
    python -m tests.mutations.run NAME ...   # some

For each mutation its tests run in a fresh pytest process with the mutation applied.
pytest's exit code 1 (tests failed) is the expected outcome: the mutation was caught.
0 means it survived (no test noticed the broken guarantee); any other code means the
check itself is broken (a test id that does not exist, an import error).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.mutations.catalogue import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]


def run_one(name: str) -> tuple[str, float]:
    """Outcome (``caught``, ``SURVIVED``, ``BROKEN (exit N)``) and seconds of one check."""
    mutation = MUTATIONS[name]
    env = {**os.environ, "HF_MUTATION": name, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "tests.mutations.plugin",
            "-p",
            "no:cacheprovider",
            *mutation.tests,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode == 1:
        return "caught", seconds
    if result.returncode == 0:
        return "SURVIVED", seconds
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
    return f"BROKEN (exit {result.returncode})\n{tail}", seconds


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in MUTATIONS]
    if unknown:
        print(f"unknown mutation(s): {', '.join(unknown)}; known: {', '.join(MUTATIONS)}")
        return 2
    failed = 0
    for name in names or list(MUTATIONS):
        outcome, seconds = run_one(name)
        first = outcome.splitlines()[0]
        print(f"{name:32s} {first:10s} {seconds:6.1f} s  {MUTATIONS[name].breaks}")
        if outcome != "caught":
            failed += 1
            print(outcome)
    total = len(names or MUTATIONS)
    print(f"{total - failed} of {total} mutations caught")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
