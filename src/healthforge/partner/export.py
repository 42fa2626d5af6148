"""Export a session as a standalone Python script that reproduces it byte for byte.

The script uses only HealthForge's public API (``load_table``, ``RunSpec.from_dict``,
``run``, ``fingerprint``): it reads the same table, checks that its fingerprint is the one
the session saw, re-runs every run specification the session executed (its outputs
redirected into ``--out``) and compares the sha256 of every file with the one the session
wrote. ``replay`` (:mod:`.replay`) runs the same steps in-process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.session import read_log

SCRIPT_NAME = "reproduce.py"
OUTPUT_KEYS = ("synthetic", "report", "json", "train", "holdout")


def executed_steps(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run specifications a session executed, in order, each with the table it ran
    on (source and fingerprint) and the files it wrote (path, sha256)."""
    steps = []
    for record in records:
        if record.get("type") != "result":
            continue
        if not record.get("spec") and not record.get("context"):
            continue  # nothing a re-run can reproduce (profiles, plots, the script itself)
        steps.append(
            {
                "action": record.get("action"),
                "tool": record.get("tool"),
                "source": record.get("table_source"),
                "fingerprint": record.get("table_fingerprint"),
                "spec": record.get("spec"),
                "args": record.get("args") or {},
                "context": record.get("context"),
                "files": record.get("files") or [],
            }
        )
    return steps


def relocate(spec: dict[str, Any], out: Path, session: Path) -> dict[str, Any]:
    """``spec`` with its outputs written under ``out`` and its relative inputs (a schema
    file written in the session) read from ``session``."""
    spec = json.loads(json.dumps(spec))
    outputs = spec.get("outputs") or {}
    for key in OUTPUT_KEYS:
        value = outputs.get(key)
        if value and not Path(value).is_absolute():
            target = out / value
            target.parent.mkdir(parents=True, exist_ok=True)
            outputs[key] = str(target)
    data = spec.get("data") or {}
    schema = data.get("schema")
    if schema and not Path(schema).is_absolute():
        data["schema"] = str(session / schema)
    return spec


def export_script(session_dir: str | Path, path: str | Path | None = None) -> Path:
    """Write the session's reproduction script (default ``SESSION/reproduce.py``);
    refuses to overwrite an existing file."""
    session = Path(session_dir)
    records = read_log(session)
    steps = executed_steps(records)
    if not steps:
        raise HealthForgeError(
            "this session has not generated anything yet: nothing to reproduce",
            "generate (and evaluate) first, then export",
        )
    for step in steps:
        if not step["source"] or step["source"] == "memory":
            raise HealthForgeError(
                "the session's table was handed in memory, so a script cannot read it again",
                "start the partner with a file path or bundled:NAME to export a script",
            )
    target = Path(path) if path is not None else session / SCRIPT_NAME
    if target.exists():
        raise HealthForgeError(
            f"'{target}' already exists", "remove it or export to another file name"
        )
    from healthforge.pipeline import RunSpec

    for step in steps:
        step["dp_noise"] = bool(step["spec"]) and dp_noise(RunSpec.from_dict(step["spec"]))
    started = next((r.get("time") for r in records if r.get("type") == "start"), "")
    packages = next((r.get("packages") for r in records if r.get("type") == "start"), {})
    text = TEMPLATE.format(
        started=started,
        count=len(steps),
        packages=", ".join(f"{k} {v}" for k, v in sorted((packages or {}).items())),
        steps=repr(json.dumps(steps, indent=1, sort_keys=True)),
    )
    target.write_text(text, encoding="utf-8")
    return target


TEMPLATE = '''#!/usr/bin/env python
"""Reproduce a HealthForge partner session (started {started}).

Re-runs the {count} run specification(s) the session executed, through HealthForge's
public API, on the same table, and checks the sha256 of every file against the one the
session wrote. The session ran with: {packages}.

    python reproduce.py [--out DIR] [--data PATH]

--out: where to write (default: ./reproduced next to this script; must not hold the files
yet). --data: the table, when it has moved (its fingerprint must match the session's).
Exit code 0 when every file is identical, 1 when any differs.
"""

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from healthforge.data import load_table
from healthforge.pipeline import RunSpec, fingerprint, run

SESSION = Path(__file__).resolve().parent
STEPS = json.loads({steps})
OUTPUT_KEYS = ("synthetic", "report", "json", "train", "holdout")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unstamped(path):
    stamp = rb"Generated \\d{{4}}-\\d{{2}}-\\d{{2}} \\d{{2}}:\\d{{2}} UTC"
    text = re.sub(stamp, b"", path.read_bytes())
    return hashlib.sha256(text).hexdigest()


def relocate(spec, out):
    spec = json.loads(json.dumps(spec))
    for key in OUTPUT_KEYS:
        value = spec["outputs"].get(key)
        if value and not Path(value).is_absolute():
            (out / value).parent.mkdir(parents=True, exist_ok=True)
            spec["outputs"][key] = str(out / value)
    schema = spec["data"].get("schema")
    if schema and not Path(schema).is_absolute():
        spec["data"]["schema"] = str(SESSION / schema)
    return spec


def augment(step, source, out):
    from healthforge.augment import augment_experiment, read_source, write_augment_report
    from healthforge.data import write_table

    a, c = step["args"], step["context"]
    real, target, drop, _ = read_source(source, c["target"], c["drop"])
    result = augment_experiment(
        real, a["balance"], target, generator=a["generator"], strategy=a["strategy"],
        size=a["size"], repeats=a["repeats"], seed=c["seed"], drop=drop,
    )
    write_table(result.augmented, out / a["output"])
    write_augment_report(result, out / a["report"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SESSION / "reproduced")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tables = {{}}
    differ = 0
    for step in STEPS:
        source = args.data or step["source"]
        if source not in tables:
            tables[source] = load_table(source)
        table = tables[source]
        if fingerprint(table) != step["fingerprint"]:
            sys.exit(f"{{source}} is not the table the session used (fingerprint differs)")
        if step["spec"] is None:  # an augmentation, as the partner's augment tool ran it
            augment(step, source, args.out)
            result = None
        else:
            spec = RunSpec.from_dict(relocate(step["spec"], args.out))
            # as the session ran it: reading its source (a bundled codebook applies), or
            # the table given with --data when the file has moved
            result = run(spec, table=table if args.data else None)
        for written in step["files"]:
            path = args.out / written["path"]
            same = path.is_file() and sha256(path) == written["sha256"]
            if not same and path.suffix == ".html" and path.is_file():
                # an HTML report says when it was generated: compare without that minute
                mine = (SESSION / written["path"])
                same = mine.is_file() and sha256(mine) == written["sha256"] and (
                    unstamped(path) == unstamped(mine))
                if same:
                    print("identical " + written["path"] + " (apart from its generation time)")
                    continue
            if step["dp_noise"] and not same:
                print("DP noise  " + written["path"] + ": differentially private noise is "
                      "drawn afresh on every run, by design")
                continue
            differ += not same
            print(("identical " if same else "DIFFERS   ") + written["path"])
        if result is not None and result.evaluation is not None:
            scores = result.evaluation.summary.get("scores", [])
            print(f"  {{step['action']}} {{step['tool']}}: evaluated, {{len(scores)}} scores")
    print("every reproducible file identical" if not differ else f"{{differ}} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
'''


def dp_noise(spec: Any) -> bool:
    """True when ``spec`` runs a differentially private generator without a fixed
    ``noise_seed``: its noise is fresh from the operating system on every run, so by
    design no re-run draws the same rows (docs/privacy.md)."""
    from healthforge.generators import describe
    from healthforge.pipeline.privacy import privacy_plan

    plan = privacy_plan(spec)
    private = describe(plan.generator).differential_privacy
    return bool(private and plan.params.get("noise_seed") is None)
