"""Golden outputs: sha256 of every file the README's CLI commands write, for fixed seeds.

Used to prove that a refactoring changes no output byte (issue #21)::

    python benchmarks/golden_outputs.py                  # HEAD -> stdout
    python benchmarks/golden_outputs.py --commit main~1 --out tests/pipeline/golden.json
    python benchmarks/golden_outputs.py --commit WORKTREE --fast   # the checkout as it is

For a commit it makes a temporary ``git worktree`` of it, and runs this file again in a
fresh interpreter with that worktree's ``src`` first on ``PYTHONPATH``; the commands run
in-process through Typer's test runner (one import for all of them, which keeps the
fast set inside the test's time budget), each in a temporary folder, in the order of
:data:`COMMANDS` (the fast ones first, so a fast-only run sees the same process state
as the full run did for them).

Normalised before hashing (everything else is compared byte for byte):

* HTML reports: the "Generated YYYY-MM-DD HH:MM UTC" stamp (the minute of the run) is
  blanked; two runs of the same commit showed it as the only difference.
* DP generators draw their noise from the OS unless given ``noise_seed``: the DP
  command sets it, so it is reproducible and compared byte for byte.
* ``.hfm`` model files: not hashed (they are pickles whose bytes depend on the class
  layout, which a refactoring may legitimately move); the rows sampled from them are.
* Files in ``demo`` output: the demo's per-generator timings are printed, not written,
  so its files are hashed as they are.

This file must not import ``healthforge`` at module level: the outer process only
drives ``git``; the inner one imports the commit's package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Command:
    """One CLI invocation; ``needs`` are commands whose outputs it reads (same folder)."""

    name: str
    args: tuple[str, ...]
    fast: bool = True
    needs: tuple[str, ...] = ()
    skip: tuple[str, ...] = field(default=())  # outputs not hashed (see module docstring)


COMMANDS: tuple[Command, ...] = (
    # --- fast set (tests/pipeline/test_golden.py runs these on every CI run) ---
    Command("export_icu", ("datasets", "export", "icu", "icu.csv")),
    Command(
        "profile_schema_out",
        ("profile", "icu.csv", "--schema-out", "schema.yaml"),
        needs=("export_icu",),
    ),
    Command(
        "generate_cart",
        ("generate", "bundled:icu", "-g", "cart", "-n", "120", "-o", "cart.csv", "--seed", "1"),
    ),
    Command(
        "generate_conditions",
        (
            "generate",
            "bundled:icu",
            "-o",
            "old_women.csv",
            "-n",
            "40",
            "-c",
            "sex=Female",
            "-c",
            "age>=65",
            "--seed",
            "2",
        ),
    ),
    Command(
        "generate_copula_labels_schema",
        (
            "generate",
            "icu.csv",
            "-g",
            "gaussian_copula",
            "-n",
            "80",
            "-o",
            "copula.parquet",
            "--schema",
            "schema.yaml",
            "--labels",
            "--seed",
            "3",
        ),
        needs=("export_icu", "profile_schema_out"),
    ),
    Command(
        "generate_privacy_standard",
        (
            "generate",
            "bundled:icu",
            "-g",
            "independent",
            "-n",
            "60",
            "-o",
            "standard.csv",
            "--privacy",
            "standard",
            "--seed",
            "4",
        ),
    ),
    Command(
        "fit_sample",
        ("fit", "bundled:icu", "-g", "bayesian_network", "--save", "icu.hfm", "--seed", "5"),
        skip=("icu.hfm",),
    ),
    Command(
        "sample_conditions",
        ("sample", "icu.hfm", "--rows", "100", "--out", "big.csv", "--seed", "6", "-c", "age>=50"),
        needs=("fit_sample",),
    ),
    # --- slow set (run with --slow / by the lead before a merge) ---
    Command(
        "generate_evaluate_report",
        (
            "generate",
            "bundled:icu",
            "-g",
            "cart",
            "-n",
            "150",
            "-o",
            "icu_syn.csv",
            "--target",
            "died",
            "--fairness-by",
            "race",
            "--report",
            "icu.html",
            "--json",
            "icu.json",
            "--seed",
            "7",
        ),
        fast=False,
    ),
    Command(
        "generate_dp_evaluate",
        (
            "generate",
            "bundled:pima",
            "-g",
            "dp_copula",
            "--epsilon",
            "2",
            "--param",
            "noise_seed=8",
            "-n",
            "100",
            "-o",
            "dp.csv",
            "--evaluate",
            "--json",
            "dp.json",
            "--seed",
            "8",
        ),
        fast=False,
    ),
    Command(
        "generate_fair_by_standard",
        (
            "generate",
            "bundled:icu",
            "-g",
            "cart",
            "-n",
            "100",
            "-o",
            "fair.csv",
            "--fair-by",
            "sex",
            "--privacy",
            "standard",
            "--json",
            "fair.json",
            "--seed",
            "9",
        ),
        fast=False,
    ),
    Command(
        "scenario_run",
        (
            "scenario",
            "run",
            "icu",
            "-n",
            "120",
            "-o",
            "scenario.csv",
            "--report",
            "scenario.html",
            "--json",
            "scenario.json",
            "--seed",
            "10",
        ),
        fast=False,
    ),
    Command(
        "scenario_run_geriatric",
        ("scenario", "run", "geriatric", "-n", "60", "-o", "ger.csv", "--json", "ger.json"),
        fast=False,
    ),
    Command(
        "demo",
        ("demo", "--generators", "independent,cart", "--out", "demo-output", "--seed", "13"),
        fast=False,
    ),
    Command(
        "evaluate",
        (
            "evaluate",
            "demo-output/real_train.csv",
            "demo-output/synthetic_cart.csv",
            "--holdout",
            "demo-output/real_holdout.csv",
            "--target",
            "death",
            "--report",
            "eval.html",
            "--json",
            "eval.json",
            "--seed",
            "12",
        ),
        fast=False,
        needs=("demo",),
    ),
    Command(
        "compare",
        (
            "compare",
            "demo-output/real_train.csv",
            "--holdout",
            "demo-output/real_holdout.csv",
            "demo-output/synthetic_independent.csv",
            "demo-output/synthetic_cart.csv",
            "--report",
            "board.html",
        ),
        fast=False,
        needs=("demo",),
    ),
    Command(
        "augment",
        (
            "augment",
            "bundled:icu",
            "--balance",
            "race",
            "--target",
            "died",
            "--generator",
            "cart",
            "--repeats",
            "2",
            "-o",
            "aug.csv",
            "--report",
            "aug.html",
            "--json",
            "aug.json",
            "--seed",
            "14",
        ),
        fast=False,
    ),
)


# an HTML report says when it was made (evaluation/report/text.py): the minute differs
# between runs, so it is blanked; nothing else in the file is
GENERATED = re.compile(rb"Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def normalise(path: Path) -> bytes:
    """The bytes of ``path`` that must not change (see the module docstring)."""
    data = path.read_bytes()
    if path.suffix == ".html":
        data = GENERATED.sub(b"Generated <time> UTC", data)
    return data


def _digest(folder: Path, skip: Iterable[str]) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in set(skip):
            out[rel] = hashlib.sha256(normalise(path)).hexdigest()
    return out


def run_commands(fast_only: bool, names: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """Run the commands in this interpreter; ``{command: {file: sha256}}``.

    Each command runs in a folder of its own holding copies of the files its ``needs``
    wrote, so its digest lists only what it wrote.
    """
    from typer.testing import CliRunner

    from healthforge.cli.app import app

    wanted = set(names) if names is not None else None
    runner = CliRunner()
    results: dict[str, dict[str, str]] = {}
    made: dict[str, Path] = {}
    root = Path(tempfile.mkdtemp(prefix="hf-golden-"))
    here = Path.cwd()
    try:
        for command in COMMANDS:
            if (fast_only and not command.fast) or (
                wanted is not None and command.name not in wanted
            ):
                continue
            folder = root / command.name
            folder.mkdir()
            inputs = set()
            for need in command.needs:
                if need not in made:
                    raise SystemExit(f"{command.name} needs {need}, which did not run")
                for src in made[need].rglob("*"):
                    if src.is_file():
                        rel = src.relative_to(made[need])
                        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(src, folder / rel)
                        inputs.add(rel.as_posix())
            os.chdir(folder)
            try:
                outcome = runner.invoke(app, list(command.args), catch_exceptions=False)
            finally:
                os.chdir(here)
            if outcome.exit_code != 0:
                raise SystemExit(
                    f"{command.name} exited with {outcome.exit_code}:\n{outcome.output[-2000:]}"
                )
            made[command.name] = folder
            results[command.name] = _digest(folder, set(command.skip) | inputs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def _python() -> str:
    return sys.executable


def for_commit(commit: str, fast_only: bool) -> dict[str, dict[str, str]]:
    """Digests of the commands run on ``commit``'s code (``WORKTREE``: this checkout)."""
    env = dict(os.environ)
    if commit == "WORKTREE":
        src = REPO / "src"
        return _inner(src, env, fast_only)
    tree = Path(tempfile.mkdtemp(prefix="hf-golden-tree-")) / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    try:
        return _inner(tree / "src", env, fast_only)
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )


def _inner(src: Path, env: dict[str, str], fast_only: bool) -> dict[str, dict[str, str]]:
    env["PYTHONPATH"] = str(src)
    command = [_python(), str(Path(__file__).resolve()), "--inner"]
    if fast_only:
        command.append("--fast")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"golden run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="HEAD", help="commit to run, or WORKTREE")
    parser.add_argument("--fast", action="store_true", help="only the fast commands")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: stdout)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        import healthforge

        print(f"healthforge from {healthforge.__file__}", file=sys.stderr)
        json.dump(run_commands(args.fast), sys.stdout, indent=1, sort_keys=True)
        return
    digests = for_commit(args.commit, args.fast)
    text = json.dumps(digests, indent=1, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
