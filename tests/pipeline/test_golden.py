"""Every README command writes the same bytes as the commit before the pipeline redesign.

``golden.json`` holds the sha256 of each output of the commands in
``benchmarks/golden_outputs.py``, run on the previous code (``python
benchmarks/golden_outputs.py --commit <commit> --out tests/pipeline/golden.json``). The
fast commands run here on every CI run (about 30 s); the slow remainder (evaluation
reports, scenarios, demo, augment, compare) runs with ``HEALTHFORGE_GOLDEN_SLOW=1``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

# loaded by path: an installed package may own the top-level name "benchmarks"
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "golden_outputs.py"
_SPEC = importlib.util.spec_from_file_location("golden_outputs", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
golden_outputs = importlib.util.module_from_spec(_SPEC)
sys.modules["golden_outputs"] = golden_outputs  # its dataclasses look their module up
_SPEC.loader.exec_module(golden_outputs)
COMMANDS, run_commands = golden_outputs.COMMANDS, golden_outputs.run_commands

GOLDEN = json.loads((Path(__file__).parent / "golden.json").read_text())


def _check(fast_only: bool) -> None:
    found = run_commands(fast_only)
    expected = {name: GOLDEN[name] for name in found}
    assert found == expected


def test_fast_commands_write_the_golden_bytes() -> None:
    assert {c.name for c in COMMANDS} == set(GOLDEN)  # golden.json covers every command
    _check(fast_only=True)


@pytest.mark.golden_slow
@pytest.mark.skipif(
    os.environ.get("HEALTHFORGE_GOLDEN_SLOW") != "1",
    reason="slow golden commands (~5 min): set HEALTHFORGE_GOLDEN_SLOW=1",
)
def test_all_commands_write_the_golden_bytes() -> None:
    _check(fast_only=False)
