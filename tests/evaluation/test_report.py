"""The HTML report: self-contained, offline, complete, and safe with odd column names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.evaluation.report_fixtures import make_result, make_table, make_tables

from healthforge.errors import HealthForgeError
from healthforge.evaluation.report import MAX_PLOTTED_COLUMNS, metric_help, write_report

PLOTLY_MARKER = "plotly.js v"  # the banner at the top of the bundled library


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    real, synthetic, holdout = make_tables()
    path = tmp_path_factory.mktemp("report") / "report.html"
    out = write_report(make_result(), path, real, synthetic, holdout, title="Test <report>")
    assert out == path
    return path.read_text(encoding="utf-8")


def test_plotly_is_inlined_exactly_once(report_html: str) -> None:
    from plotly.offline import get_plotlyjs

    bundle = get_plotlyjs()
    assert report_html.count(bundle) == 1
    assert report_html.count(PLOTLY_MARKER) == bundle.count(PLOTLY_MARKER)


def test_nothing_is_loaded_from_the_network(report_html: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", report_html, flags=re.I)
    assert tags, "expected at least the inline script tags"
    for tag in tags:
        assert not re.search(r"\b(src|href)\s*=", tag, flags=re.I), tag
    assert "@import" not in report_html
    assert "fonts.googleapis" not in report_html
    assert not re.search(r"<script[^>]*src=[^>]*(cdn\.|http)", report_html, flags=re.I)


def test_every_plot_is_present(report_html: str) -> None:
    for div in ("hf-marginals", "hf-correlation", "hf-utility", "hf-dcr", "hf-fairness"):
        assert f'id="{div}"' in report_html, div
        # each div is drawn by a Plotly.newPlot call on that id
        assert re.search(rf'Plotly\.newPlot\(\s*"{div}"', report_html), div


def test_scores_table_shows_status_threshold_and_meaning(report_html: str) -> None:
    scores = make_result().summary["scores"]
    for row in scores:
        assert row["metric"] in report_html
    for status in ("pass", "warn", "fail"):
        assert f"class='badge {status}'>{status}</span>" in report_html
    assert "≤ 0.60 pass, ≤ 0.80 warn" in report_html  # the threshold, shown to the reader
    assert metric_help("fidelity.detection_auc") in report_html.replace("&#x27;", "'")
    # every scored metric has a plain-language line
    assert all(metric_help(row["metric"]) for row in scores)


def test_skipped_metrics_and_settings_are_listed(report_html: str) -> None:
    assert "privacy.dp_budget" in report_html
    assert "generator is not differentially private" in report_html
    assert "scikit-learn" in report_html and "holdout_given" in report_html


def test_title_is_escaped(report_html: str) -> None:
    assert "Test &lt;report&gt;" in report_html
    assert "<report>" not in report_html


def test_no_holdout_explains_what_is_missing(tmp_path: Path) -> None:
    real, synthetic, _ = make_tables()
    path = tmp_path / "r.html"
    write_report(make_result(holdout=False, fairness=False), path, real, synthetic)
    text = path.read_text(encoding="utf-8")
    assert "No holdout was given" in text
    assert "utility.tstr" in text
    assert 'id="hf-dcr"' not in text and 'id="hf-fairness"' not in text
    assert 'id="hf-marginals"' in text


def test_hostile_column_names_cannot_break_out(tmp_path: Path) -> None:
    real, synthetic, _ = make_tables()
    evil = "</script><script>alert(1)</script>"
    real, synthetic = real.rename(columns={"age": evil}), synthetic.rename(columns={"age": evil})
    path = tmp_path / "r.html"
    write_report(make_result(holdout=False, fairness=False), path, real, synthetic)
    text = path.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text


def test_wide_table_is_capped_with_a_note_and_worst_columns_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, width = 300, 45
    real = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(width)})
    synthetic = real.copy()
    result = make_result(holdout=False, fairness=False)
    result.summary["settings"]["target"] = None
    similarity = {f"x{i}": {"metric": "ks", "similarity": 1.0 - i / 100} for i in range(width)}
    result.summary["fidelity"]["columns"] = similarity
    path = tmp_path / "wide.html"
    write_report(result, path, real, synthetic)
    text = path.read_text(encoding="utf-8")
    assert f"Showing {MAX_PLOTTED_COLUMNS} of {width} columns" in text
    # the least similar (highest index) are kept; the most similar first ones are dropped
    titles = set(re.findall(r'"text":"(x\d+) \\u00b7 similarity', text))  # plotly escapes "·"
    assert len(titles) == MAX_PLOTTED_COLUMNS
    assert titles == {f"x{i}" for i in range(width - MAX_PLOTTED_COLUMNS, width)}


def test_large_tables_give_a_small_file(tmp_path: Path) -> None:
    real = make_table(20_000, 1)
    synthetic = make_table(20_000, 2, shift=1.0)
    path = tmp_path / "big.html"
    write_report(make_result(), path, real, synthetic, make_table(4_000, 3))
    from plotly.offline import get_plotlyjs

    overhead = path.stat().st_size - len(get_plotlyjs().encode())
    assert overhead < 400_000  # binned counts, not raw rows


def test_write_is_atomic_and_needs_an_existing_folder(tmp_path: Path) -> None:
    real, synthetic, holdout = make_tables()
    with pytest.raises(HealthForgeError, match="does not exist"):
        write_report(make_result(), tmp_path / "nope" / "r.html", real, synthetic, holdout)
    path = tmp_path / "r.html"
    path.write_text("old", encoding="utf-8")
    broken = make_result()
    broken.summary = None  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        write_report(broken, path, real, synthetic, holdout)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no partial temp file left
