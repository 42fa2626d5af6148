"""The evaluation protocol: one call that measures fidelity, utility, privacy and fairness.

See ``docs/evaluation-contract.md`` for the keys of :attr:`EvaluationResult.summary`.
Every metric either has a value or is ``null`` with an entry in ``skipped`` saying why.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from healthforge.data.infer import infer_schema
from healthforge.data.io import atomic_write_text
from healthforge.data.schema import Schema

# split_train_holdout lives in healthforge.data.split (the pipeline and users both split);
# re-exported here for code that imports it from the evaluation
from healthforge.data.split import split_train_holdout  # noqa: F401
from healthforge.errors import HealthForgeError
from healthforge.evaluation import fidelity, privacy
from healthforge.evaluation.common import NEEDS_HOLDOUT, SkipMetric, Skips, number
from healthforge.evaluation.fairness import evaluate_fairness
from healthforge.evaluation.features import FeatureSpace, check_columns, encode_codes
from healthforge.evaluation.scoring import score
from healthforge.evaluation.utility import (
    UtilityOutcome,
    empty_summary,
    evaluate_utility,
    infer_task,
)
from healthforge.progress import ProgressCallback, report

T = TypeVar("T")
_STEPS = ("columns", "pairs", "detection", "precision", "utility", "privacy", "attacks", "fairness")


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    ``summary`` is the JSON document of the contract. ``details`` holds arrays for plots
    (never serialised):

    * ``schema``: the :class:`Schema` used (inferred from ``real`` when not given);
    * ``columns``: ``{name: {kind, metric, similarity, real, synthetic}}`` with the raw
      values of each table (numpy arrays), plus ``levels``, ``real_share`` and
      ``synthetic_share`` for discrete columns (categories, then "missing", "other");
    * ``correlation``: ``{columns, real, synthetic, n_pairs}``, ``(p, p)`` matrices of the
      dependence measures (NaN where a pair was not compared on wide data);
    * ``pmse``: ``{pmse, null, ratio}``; ``precision_recall``: α/β curves over ``levels``;
    * ``dcr``: ``{synthetic_to_train, holdout_to_train}`` distance arrays (the latter
      ``None`` without holdout);
    * ``utility``: ``{features, importance_real, importance_synthetic}``;
    * ``privacy``: attack rates and confidence intervals, ``exact_match_holdout``;
    * ``fairness``: ``{groups{label: {...}}, labels{real, synthetic, holdout}}``.
    """

    summary: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, path: str | Path) -> None:
        """Write the summary as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.summary, indent=2, allow_nan=False) + "\n")

    def status(self, metric: str) -> str | None:
        """The pass/warn/fail status of a scored metric (e.g. ``"privacy.mia_auc"``)."""
        return next((s["status"] for s in self.summary["scores"] if s["metric"] == metric), None)


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    schema: Schema | None = None,
    target: str | None = None,
    task: str | None = None,
    time_column: str | None = None,
    fairness_by: str | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    *,
    n_estimators: int = 200,
    n_attacks: int = privacy.N_ATTACKS,
    dp_budget: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Measure how faithful, useful, private and fair ``synthetic`` is.

    ``real`` is the data the generator was trained on; ``holdout`` real rows it never saw
    (needed for utility, distance ratios and attacks). Only the schema's modelled
    columns are compared (identifiers and free text never are); ``schema`` is inferred
    from ``real`` when not given. ``n_estimators`` (XGBoost rounds) and ``n_attacks``
    (privacy attack size) trade precision for speed. ``dp_budget`` (a DP generator's
    ``dp_budget_``) is reported as ``privacy.dp_budget``. Raises :class:`HealthForgeError`
    for inputs that cannot be evaluated (e.g. synthetic data missing a column).
    """
    for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise HealthForgeError(f"the {name} data must be a pandas DataFrame")
    if len(real) == 0:
        raise HealthForgeError("the real data has no rows")
    if target is not None and target not in real.columns:
        raise HealthForgeError(
            f"target column '{target}' is not in the data",
            f"columns are: {', '.join(map(str, real.columns[:20]))}",
        )
    schema = infer_schema(real, target=target) if schema is None else schema.with_target(target)
    target = target or schema.target
    columns = schema.modelled
    if target is not None and target not in schema.modelled_names:
        raise HealthForgeError(f"target column '{target}' is not modelled (identifier or text)")
    for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is not None:
            check_columns(frame, columns, name)
    if fairness_by is not None and fairness_by not in schema.modelled_names:
        raise HealthForgeError(
            f"fairness column '{fairness_by}' is not a modelled column of the data",
            "choose a column such as sex, race or age group",
        )
    task = infer_task(schema, target, task, time_column)

    tables = {"real": real, "synthetic": synthetic}
    if holdout is not None:
        tables["holdout"] = holdout
    codes = {name: encode_codes(frame, columns) for name, frame in tables.items()}
    space = FeatureSpace.fit(codes["real"], columns)
    dense = {name: space.matrix(c) for name, c in codes.items()}
    run = _Run(seed, progress, Skips())

    summary: dict[str, Any] = {
        "healthforge_version": _version("healthforge"),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scikit-learn": _version("scikit-learn"),
            "xgboost": _version("xgboost"),
        },
        "settings": {
            "target": target,
            "task": task,
            "fairness_by": fairness_by,
            "seed": seed,
            "holdout_given": holdout is not None,
            "time_column": time_column,
        },
        "rows_real": len(real),
        "rows_synthetic": len(synthetic),
        "rows_holdout": None if holdout is None else len(holdout),
    }
    details: dict[str, Any] = {"schema": schema}
    summary["fidelity"] = _fidelity(run, space, codes, dense, synthetic, n_estimators, details)
    run.step("utility")
    outcome = run.attempt(
        "utility",
        lambda: evaluate_utility(
            space, codes, dense, target, task, time_column, run.skips, n_estimators, seed
        ),
    )
    outcome = outcome or UtilityOutcome(empty_summary(task))
    summary["utility"] = outcome.summary
    details["utility"] = {
        "features": [n for n in space.names if n not in (target, time_column)],
        **outcome.importances,
    }
    summary["privacy"] = _privacy(run, space, schema, codes, dense, target, n_attacks, details)
    if dp_budget is not None:  # the generator's record (mechanism, ε, δ, split, accountant)
        summary["privacy"]["dp_budget"] = json.loads(json.dumps(dp_budget, default=float))
        run.skips.entries[:] = [e for e in run.skips.entries if e["metric"] != "privacy.dp_budget"]
    run.step("fairness")
    summary["fairness"] = None
    if fairness_by is not None:
        summary["fairness"] = run.attempt(
            "fairness",
            lambda: evaluate_fairness(
                space, fairness_by, codes, outcome, run.skips, n_estimators, seed
            ),
        )
        details["fairness"] = {"groups": (summary["fairness"] or {}).get("groups")}
    summary["scores"] = score(summary)
    _cover_nulls(summary, run.skips)
    summary["skipped"] = run.skips.entries
    run.step("done")
    return EvaluationResult(summary=summary, details=details)


class _Run:
    """Progress, seeded random streams and skip bookkeeping of one evaluation."""

    def __init__(self, seed: int, progress: ProgressCallback | None, skips: Skips) -> None:
        self.seed, self.progress, self.skips, self.done = seed, progress, skips, 0

    def step(self, label: str) -> None:
        report(self.progress, f"evaluating: {label}", min(self.done, len(_STEPS)), len(_STEPS))
        self.done += 1

    def rng(self, stream: int) -> np.random.Generator:
        """An independent, reproducible random stream per metric."""
        return np.random.default_rng([self.seed, stream])

    def attempt(self, metric: str, fn: Callable[[], T]) -> T | None:
        """``fn()``, or ``None`` with a skip entry when the metric cannot run."""
        try:
            return fn()
        except SkipMetric as reason:
            self.skips.add(metric, str(reason))
        except HealthForgeError:
            raise
        except Exception as exc:  # a metric failing must not sink the others; say so
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.skips.add(metric, f"failed: {type(exc).__name__}: {first}")
        return None


def _fidelity(
    run: _Run,
    space: FeatureSpace,
    codes: dict[str, np.ndarray],
    dense: dict[str, np.ndarray],
    synthetic: pd.DataFrame,
    n_estimators: int,
    details: dict[str, Any],
) -> dict[str, Any]:
    real_c, synth_c = codes["real"], codes["synthetic"]
    run.step("columns")
    columns = fidelity.column_similarities(space, real_c, synth_c)
    details["columns"] = _column_details(space, real_c, synth_c, columns)
    run.step("pairs")
    pairs = run.attempt(
        "fidelity.pair_similarity",
        lambda: fidelity.pair_similarity(space, real_c, synth_c, run.rng(1)),
    )
    details["correlation"] = pairs[1] if pairs else None
    pm = run.attempt(
        "fidelity.pmse",
        lambda: fidelity.pmse(
            dense["real"], dense["synthetic"], run.rng(2), fidelity.MAX_DETECTION_ROWS
        ),
    )
    details["pmse"] = pm
    run.step("detection")
    detection = run.attempt(
        "fidelity.detection_auc",
        lambda: fidelity.detection_auc(real_c, synth_c, n_estimators, run.seed),
    )
    run.step("precision")
    pra = run.attempt(
        "fidelity.alpha_precision",
        lambda: fidelity.precision_recall_authenticity(
            dense["real"], dense["synthetic"], run.rng(3)
        ),
    )
    if pra is None:
        for key in ("beta_recall", "authenticity"):
            run.skips.add(f"fidelity.{key}", "computed with alpha_precision, which could not run")
    details["precision_recall"] = pra
    sims = [c["similarity"] for c in columns.values()]
    return {
        "column_similarity": number(np.mean(sims)) if sims else None,
        "columns": {
            name: {"metric": c["metric"], "similarity": number(c["similarity"])}
            for name, c in columns.items()
        },
        "pair_similarity": number(pairs[0]) if pairs else None,
        "pmse": number(pm["pmse"]) if pm else None,
        "detection_auc": number(detection),
        "alpha_precision": number(pra["alpha_precision"]) if pra else None,
        "beta_recall": number(pra["beta_recall"]) if pra else None,
        "authenticity": number(pra["authenticity"]) if pra else None,
        "validity": fidelity.validity(synthetic, space.columns),
    }


def _column_details(
    space: FeatureSpace, real: np.ndarray, synth: np.ndarray, sims: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    out = {}
    for j, column in enumerate(space.columns):
        entry: dict[str, Any] = {
            "kind": column.kind,
            **sims[column.name],
            "real": real[:, j],
            "synthetic": synth[:, j],
        }
        if column.is_discrete:
            k = len(column.categories or [])
            entry["levels"] = [*list(column.categories or []), "missing", "other"]
            entry["real_share"] = fidelity.level_frequencies(real[:, j], k)
            entry["synthetic_share"] = fidelity.level_frequencies(synth[:, j], k)
            cats = np.asarray(column.categories or [], dtype=object)
            for side, x in (("real", real[:, j]), ("synthetic", synth[:, j])):
                ok = np.isfinite(x) & (x >= 0)
                values = np.full(x.shape, None, dtype=object)
                values[ok] = cats[x[ok].astype(int)]
                entry[side] = values
        out[column.name] = entry
    return out


def _privacy(
    run: _Run,
    space: FeatureSpace,
    schema: Schema,
    codes: dict[str, np.ndarray],
    dense: dict[str, np.ndarray],
    target: str | None,
    n_attacks: int,
    details: dict[str, Any],
) -> dict[str, Any]:
    run.step("privacy")
    has_holdout = "holdout" in codes
    block: dict[str, Any] = {
        "exact_match_rate": number(privacy.exact_match_rate(codes["real"], codes["synthetic"])),
        "dcr_ratio": None,
        "dcr_share_below_holdout_p5": None,
        "nndr_ratio": None,
        "mia_auc": None,
        "mia_auc_ci": None,
        "singling_out_risk": None,
        "linkability_risk": None,
        "inference_risk": None,
    }
    info: dict[str, Any] = {}
    rng = run.rng(4)
    synth_rows = dense["synthetic"][
        privacy.sample_index(len(dense["synthetic"]), privacy.MAX_DCR_QUERIES, rng)
    ]
    synth_d = privacy.nearest_distances(dense["real"], synth_rows)
    details["dcr"] = {"synthetic_to_train": synth_d[:, 0], "holdout_to_train": None}
    if not has_holdout:
        for key in ("dcr_ratio", "dcr_share_below_holdout_p5", "nndr_ratio", "mia_auc"):
            run.skips.add(f"privacy.{key}", NEEDS_HOLDOUT)
        run.skips.add("privacy.mia_auc_ci", NEEDS_HOLDOUT)
        for key in ("singling_out_risk", "linkability_risk", "inference_risk"):
            run.skips.add(f"privacy.{key}", NEEDS_HOLDOUT + " (the control group of the attacks)")
    else:
        holdout_d = privacy.nearest_distances(dense["real"], dense["holdout"])
        details["dcr"]["holdout_to_train"] = holdout_d[:, 0]
        info["exact_match_holdout"] = privacy.exact_match_rate(codes["real"], codes["holdout"])
        block.update(privacy.dcr_metrics(synth_d, holdout_d))
        for key in ("dcr_ratio", "nndr_ratio"):
            if block[key] is None:
                run.skips.add(
                    f"privacy.{key}",
                    "half the holdout rows duplicate a training row: the ratio is undefined",
                )
        mia = run.attempt(
            "privacy.mia_auc",
            lambda: privacy.domias_auc(
                dense["real"], dense["synthetic"], dense["holdout"], run.rng(5)
            ),
        )
        info["mia"] = mia
        if mia is not None:
            block["mia_auc"] = number(mia["auc"])
            block["mia_auc_ci"] = [number(b) for b in mia["ci"]]
        else:
            run.skips.add("privacy.mia_auc_ci", "computed with mia_auc, which could not run")
        run.step("attacks")
        n = min(n_attacks, len(codes["holdout"]), len(codes["real"]))
        so = run.attempt(
            "privacy.singling_out_risk",
            lambda: privacy.singling_out(
                space, codes["real"], codes["synthetic"], codes["holdout"], run.rng(6), n
            ),
        )
        link = run.attempt(
            "privacy.linkability_risk",
            lambda: privacy.linkability(
                space, dense["real"], dense["synthetic"], dense["holdout"], run.rng(7), n
            ),
        )
        secret_names = [c.name for c in space.columns if c.role == "sensitive" or c.name == target]
        secrets = [space.index(s) for s in secret_names[: privacy.MAX_SECRETS]]
        inf = run.attempt(
            "privacy.inference_risk",
            lambda: privacy.inference(space, secrets, codes, dense, run.rng(8), n),
        )
        info.update({"singling_out": so, "linkability": link, "inference": inf})
        for key, result in (
            ("singling_out_risk", so),
            ("linkability_risk", link),
            ("inference_risk", inf),
        ):
            block[key] = number(result["risk"]) if result else None
    qis = [q for q in schema.quasi_identifiers() if q in space.names]
    anonymity: dict[str, Any] = {"quasi_identifiers": qis, "k_min": None, "share_k_below_5": None}
    if qis:
        anonymity.update(privacy.k_anonymity(space, codes["real"], codes["synthetic"], qis))
    else:
        run.skips.add("privacy.k_anonymity", "no column has role quasi_identifier in the schema")
    block["k_anonymity"] = anonymity
    block["dp_budget"] = None
    run.skips.add("privacy.dp_budget", "no differential-privacy guarantee was given for this data")
    details["privacy"] = info
    return block


def _cover_nulls(summary: dict[str, Any], skips: Skips) -> None:
    """Make sure every null metric is explained by a ``skipped`` entry (or a parent's)."""
    reasons = [e["metric"] for e in skips.entries]

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif node is None and not any(path == r or path.startswith(r + ".") for r in reasons):
            skips.add(path, "not computed")

    for section in ("fidelity", "utility", "privacy", "fairness"):
        if summary.get(section) is not None:
            walk(summary[section], section)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
