"""Augmentation as an experiment: does adding synthetic records for small groups help?

:func:`augment_experiment` answers with measurements, not assumptions. Over ``repeats``
seeded splits of the real data into training rows and a real holdout, it fits the
generator on the training rows only, draws synthetic rows for the under-represented
groups of ``balance`` (conditioned generation, ``balance = group``) and trains the same
downstream models (XGBoost, logistic regression) on

* (a) ``real``: the real training rows;
* (b) ``augmented``: the real training rows plus the synthetic rows for small groups;
* (c) ``synthetic``: synthetic rows only, with the same group sizes as (b);

each scored by AUROC on the real holdout, overall and per group. The verdict for a
group rests on the paired difference (b) - (a) across repeats: it "helped" only when the
95% confidence interval of the mean difference lies above 0, "hurt" when below, and
otherwise augmentation "did not measurably help". Separately, the augmented dataset
(all real rows plus synthetic rows from a generator fitted on all of them) is returned
for the user to keep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback, report

STRATEGIES = ("equal", "proportional", "to-size")
ARMS = ("real", "augmented", "synthetic")
ARM_LABELS = {
    "real": "(a) real only",
    "augmented": "(b) real + synthetic",
    "synthetic": "(c) synthetic only",
}
MODELS = ("xgboost", "logistic")
OVERALL = "overall"
SYNTHETIC_FLAG = "is_synthetic"
MIN_GROUP_ROWS = 2  # a group needs rows to condition on
# why a group has no AUROC in a repeat (stored per row of ``scores``)
NO_HOLDOUT = "0 holdout rows"
ONE_CLASS = "a single outcome class among its holdout rows"
AUROC_RANGE = (0.0, 1.0)
DIFFERENCE_RANGE = (-1.0, 1.0)  # a difference of two AUROCs


@dataclass
class AugmentResult:
    """What :func:`augment_experiment` returns.

    ``scores``: one row per (repeat, model, arm, group) with the holdout AUROC.
    ``table``: mean and 95% CI per (model, arm, group). ``differences``: paired
    differences (b)-(a) and (c)-(a) per (model, group) with their CI and verdict.
    """

    augmented: pd.DataFrame
    added: dict[str, int]
    scores: pd.DataFrame
    table: pd.DataFrame
    differences: pd.DataFrame
    conclusion: str
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: settings, added rows, the table, differences, conclusion."""
        return {
            "settings": self.settings,
            "added": self.added,
            "table": _records(self.table),
            "differences": _records(self.differences),
            "conclusion": self.conclusion,
            "notes": list(self.notes),
        }


def plan_counts(
    groups: pd.Series, strategy: str = "equal", size: int | None = None
) -> dict[str, int]:
    """Synthetic rows to add per group (keys are the group values as text).

    ``equal``: top every group up to the size of the largest; ``proportional``: give
    every smaller group as many synthetic rows as it has real ones, capped at the
    largest group's size (the groups keep their order, the gaps shrink); ``to-size``:
    top every group up to ``size`` rows. Missing values are not a group.
    """
    if strategy not in STRATEGIES:
        raise HealthForgeError(
            f"unknown strategy '{strategy}'", f"use one of: {', '.join(STRATEGIES)}"
        )
    counts = groups.dropna().astype(str).value_counts()
    if counts.empty:
        raise HealthForgeError("the balance column has no values")
    largest = int(counts.max())
    if strategy == "to-size":
        if size is None or isinstance(size, bool) or int(size) < 1:
            raise HealthForgeError("strategy to-size needs a positive size", "e.g. --size 500")
        return {g: max(int(size) - int(n), 0) for g, n in counts.items()}
    if strategy == "equal":
        return {g: largest - int(n) for g, n in counts.items()}
    return {g: min(int(n), largest - int(n)) for g, n in counts.items()}


def augment_experiment(
    data: pd.DataFrame,
    balance: str,
    target: str,
    generator: str = "cart",
    strategy: str = "equal",
    size: int | None = None,
    repeats: int = 5,
    holdout_fraction: float = 0.3,
    seed: int = 0,
    drop: list[str] | tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
    models: tuple[str, ...] = MODELS,
    n_estimators: int = 200,
    fair_by: str | None = None,
    progress: ProgressCallback | None = None,
) -> AugmentResult:
    """Run the augmentation experiment on ``data`` (see the module docstring).

    ``target`` must be a discrete column (binary or multiclass; AUROC, macro over
    classes). ``fair_by`` fits one generator per group of that column
    (:class:`~healthforge.generators.fair.FairGenerator`). Raises
    :class:`HealthForgeError` for settings that cannot run.
    """
    from healthforge.data import prepare
    from healthforge.data.derived import add_derived
    from healthforge.generators import get_generator

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise HealthForgeError(
            f"repeats must be at least 2 for a confidence interval, not {repeats!r}"
        )
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise HealthForgeError(f"unknown models: {unknown}", f"use some of: {', '.join(MODELS)}")
    for name, column in (("balance", balance), ("target", target)):
        if column not in data.columns:
            raise HealthForgeError(
                f"{name} column '{column}' is not in the data",
                f"columns are: {', '.join(map(str, data.columns[:20]))}",
            )
    if balance == target:
        raise HealthForgeError("the balance column and the target must differ")
    get_generator(generator, **(params or {}))  # unknown generator fails before any work
    prepared = prepare(data, None, target, list(drop))
    schema = prepared.schema
    for name, column in (("balance", balance), ("target", target)):
        if column not in schema.modelled_names or not schema[column].is_discrete:
            raise HealthForgeError(
                f"{name} column '{column}' must be a modelled column with categories",
                "group a numeric column first (e.g. an age group) or pick another column",
            )
    frame = prepared.frame
    if frame[target].isna().any():
        frame = frame[frame[target].notna()].reset_index(drop=True)
    plan_counts(frame[balance], strategy, size)  # a bad strategy fails before fitting
    small = frame[balance].astype(str).value_counts()
    if (small < MIN_GROUP_ROWS).any():
        raise HealthForgeError(f"a group of '{balance}' has fewer than {MIN_GROUP_ROWS} rows")

    def make_model(run_seed: int) -> Any:
        if fair_by is not None:
            from healthforge.generators.fair import FairGenerator

            return FairGenerator(base=generator, fair_by=fair_by, params=params, seed=run_seed)
        return get_generator(generator, seed=run_seed, **(params or {}))

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    steps = repeats + 1
    for r in range(repeats):
        report(progress, "augmentation experiment", r, steps)
        run_seed = seed + r
        rows.extend(
            _one_repeat(
                frame, schema, balance, target, strategy, size, holdout_fraction,
                run_seed, models, n_estimators, make_model, r, notes,
            )
        )  # fmt: skip
    scores = pd.DataFrame(rows)
    table = _summarise(scores)
    differences = _differences(scores)
    counts_all = plan_counts(frame[balance], strategy, size)
    # the dataset to keep: every real row plus synthetic rows from a model of all of them
    full_model = make_model(seed).fit(prepared.__class__(frame, schema, prepared.excluded))
    synthetic = _draw_groups(full_model, balance, counts_all, seed, schema)
    real_part = add_derived(frame, schema).assign(**{SYNTHETIC_FLAG: 0})
    augmented = pd.concat([real_part, synthetic.assign(**{SYNTHETIC_FLAG: 1})], ignore_index=True)
    report(progress, "augmentation experiment", steps, steps)
    groups_added = [g for g, k in counts_all.items() if k > 0]
    settings = {
        "balance": balance,
        "target": target,
        "generator": generator,
        "fair_by": fair_by,
        "strategy": strategy,
        "size": size,
        "repeats": repeats,
        "holdout_fraction": holdout_fraction,
        "seed": seed,
        "models": list(models),
        "rows_real": len(frame),
        "group_sizes": {
            str(k): int(v) for k, v in frame[balance].astype(str).value_counts().items()
        },
        "metric": "AUROC on the real holdout",
    }
    return AugmentResult(
        augmented=augmented,
        added={g: int(k) for g, k in counts_all.items()},
        scores=scores,
        table=table,
        differences=differences,
        conclusion=_conclusion(differences, groups_added, balance, _unscored(scores), repeats),
        settings=settings,
        notes=sorted(set(notes)),
    )


def _one_repeat(
    frame: pd.DataFrame,
    schema: Any,
    balance: str,
    target: str,
    strategy: str,
    size: int | None,
    holdout_fraction: float,
    run_seed: int,
    models: tuple[str, ...],
    n_estimators: int,
    make_model: Any,
    repeat: int,
    notes: list[str],
) -> list[dict[str, Any]]:
    from healthforge.data.prepare import PreparedData
    from healthforge.evaluation import split_train_holdout

    # stratify on group x outcome so every repeat's holdout has each small group's cases
    key = "\0strata"
    keyed = frame.assign(**{key: frame[balance].astype(str) + "|" + frame[target].astype(str)})
    train, holdout = split_train_holdout(keyed, key, holdout_fraction, seed=run_seed)
    train, holdout = train.drop(columns=[key]), holdout.drop(columns=[key])
    model = make_model(run_seed).fit(PreparedData(train, schema, {}))
    counts = plan_counts(train[balance], strategy, size)
    extra = _draw_groups(model, balance, counts, run_seed, schema)
    sizes = train[balance].astype(str).value_counts()
    both = {g: int(sizes.get(g, 0)) + counts.get(g, 0) for g in counts}
    synthetic_only = _draw_groups(model, balance, both, run_seed + 10_007, schema)
    columns = schema.modelled
    arms = {
        "real": train,
        "augmented": pd.concat([train, extra[train.columns]], ignore_index=True),
        "synthetic": synthetic_only[train.columns],
    }
    groups = sorted(frame[balance].dropna().astype(str).unique())
    out = []
    for model_name in models:
        for arm, rows in arms.items():
            scores = _fit_and_score(
                model_name, rows, holdout, columns, train, balance, target, n_estimators,
                run_seed, groups,
            )  # fmt: skip
            if scores is None:
                lacking = f"the training rows lacked a class of '{target}'"
                notes.append(f"{ARM_LABELS[arm]}: {lacking}")
                scores = {g: (math.nan, -1, lacking) for g in [OVERALL, *groups]}
            for group, (value, n_holdout, reason) in scores.items():
                out.append(
                    {
                        "repeat": repeat,
                        "model": model_name,
                        "arm": arm,
                        "group": group,
                        "auroc": value,
                        "holdout_rows": n_holdout,
                        "reason": reason,
                    }
                )
    return out


def _draw_groups(
    model: Any, balance: str, counts: dict[str, int], seed: int, schema: Any
) -> pd.DataFrame:
    parts = []
    for i, (group, k) in enumerate(sorted(counts.items())):
        if k > 0:
            parts.append(model.sample(int(k), seed=seed * 1_000 + i, conditions={balance: group}))
    if not parts:
        from healthforge.data.derived import add_derived

        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in schema.modelled_names})
        return add_derived(empty, schema)
    return pd.concat(parts, ignore_index=True)


def _fit_and_score(
    model_name: str,
    rows: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[Any],
    reference: pd.DataFrame,
    balance: str,
    target: str,
    n_estimators: int,
    seed: int,
    groups: list[str],
) -> dict[str, tuple[float, int, str | None]] | None:
    """Holdout AUROC overall and for every one of ``groups`` of a model trained on ``rows``,
    as ``(auroc, holdout rows, why not scored or None)``; ``None`` when the rows lack a
    class of the target. A group is kept when it cannot be scored (no holdout rows, or
    one outcome class only), so that the conclusion can say so instead of skipping it."""
    from healthforge.evaluation.features import FeatureSpace, encode_codes
    from healthforge.evaluation.models import macro_auroc, xgb_classifier

    features = [c for c in columns if c.name != target]
    target_column = next(c for c in columns if c.name == target)
    k = len(target_column.categories or [])
    # one feature space fitted on the real training rows, shared by every arm
    space = FeatureSpace.fit(encode_codes(reference, features), features)
    X = space.matrix(encode_codes(rows, features))
    X_test = space.matrix(encode_codes(holdout, features))
    y = encode_codes(rows, [target_column])[:, 0]
    y_test = encode_codes(holdout, [target_column])[:, 0]
    if len(np.unique(y[np.isfinite(y)])) < k:
        return None
    if model_name == "xgboost":
        clf = xgb_classifier(n_estimators, seed, len(X))
    else:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=2_000, C=1.0)
    clf.fit(X, y.astype(int))
    proba = clf.predict_proba(X_test)
    labels = holdout[balance].astype(str).to_numpy()
    member_of = {OVERALL: np.ones(len(labels), dtype=bool)}
    member_of.update({g: labels == g for g in groups})
    scores: dict[str, tuple[float, int, str | None]] = {}
    for group, member in member_of.items():
        n_holdout = int(member.sum())
        if n_holdout == 0:
            scores[group] = (math.nan, 0, NO_HOLDOUT)
            continue
        value = macro_auroc(y_test[member].astype(int), proba[member])
        scores[group] = (value, n_holdout, None if np.isfinite(value) else ONE_CLASS)
    return scores


@dataclass(frozen=True)
class Interval:
    """Mean of per-repeat values with its 95% interval, and why it is degenerate if it is."""

    mean: float
    low: float
    high: float
    n: int
    note: str  # "" for an ordinary interval


def mean_interval(
    values: np.ndarray, bounds: tuple[float, float], same: str | None = None
) -> Interval:
    """Mean and 95% t-interval of ``values`` (NaN dropped), cut to ``bounds``.

    The metric cannot leave ``bounds`` (AUROC in [0, 1], a difference of AUROCs in
    [-1, 1]), so the true mean lies inside them; intersecting a 95% interval with the
    range therefore keeps its coverage exactly, keeps the mean inside it, and never
    prints an impossible AUROC such as 1.14. (A percentile bootstrap over 5 repeats
    covers far less than 95%; a logit interval is an interval for another mean.)
    Zero-width and missing intervals carry a ``note`` saying why: ``same`` (or a
    generic text) when every repeat gave the same value, "not estimable" when fewer
    than 2 repeats could be scored.
    """
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "not estimable: n = 0, never scored")
    mean = float(np.clip(values.mean(), *bounds))
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, "not estimable: n = 1, scored once")
    spread = float(values.std(ddof=1))
    if spread == 0.0:
        note = same or f"the same value in all {n} repeats, so the interval has zero width"
        return Interval(mean, mean, mean, n, note)
    half = float(t.ppf(0.975, n - 1) * spread / math.sqrt(n))
    return Interval(mean, max(mean - half, bounds[0]), min(mean + half, bounds[1]), n, "")


def _summarise(scores: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (model, arm, group), part in scores.groupby(["model", "arm", "group"], sort=False):
        ci = mean_interval(
            part["auroc"].to_numpy(dtype=float),
            AUROC_RANGE,
            same=f"the same AUROC in all {part['auroc'].notna().sum()} repeats "
            "(a group with few holdout cases has few possible AUROC values)",
        )
        out.append(
            {
                "model": model,
                "arm": arm,
                "group": group,
                "mean": ci.mean,
                "low": ci.low,
                "high": ci.high,
                "n": ci.n,
                "interval_note": ci.note,
            }
        )
    return pd.DataFrame(out)


SAME_DIFFERENCE = {
    "augmented": "identical in every repeat: the augmented rows did not change this model's "
    "AUROC for the group",
    "synthetic": "identical in every repeat: the synthetic-only model scored the group "
    "exactly as the real-only one",
}


def _differences(scores: pd.DataFrame) -> pd.DataFrame:
    """Paired differences (b)-(a), (c)-(a) per (model, group); every group gets a row,
    with n = 0 and verdict "unclear" when it was never scored."""
    out = []
    for (model, group), part in scores.groupby(["model", "group"], sort=False):
        by_arm = {
            arm: rows.set_index("repeat")["auroc"].astype(float)
            for arm, rows in part.groupby("arm", sort=False)
        }
        if "real" not in by_arm:
            continue
        for arm in ("augmented", "synthetic"):
            if arm not in by_arm:
                continue
            diff = (by_arm[arm] - by_arm["real"]).to_numpy(dtype=float)
            ci = mean_interval(diff, DIFFERENCE_RANGE, same=SAME_DIFFERENCE[arm])
            out.append(
                {
                    "model": model,
                    "group": group,
                    "comparison": f"{ARM_LABELS[arm][:3]} - (a)",
                    "mean": ci.mean,
                    "low": ci.low,
                    "high": ci.high,
                    "n": ci.n,
                    "verdict": _verdict(ci),
                    "interval_note": ci.note,
                }
            )
    return pd.DataFrame(out)


def _verdict(ci: Interval) -> str:
    if not np.isfinite(ci.low):
        return "unclear"
    if ci.low > 0:
        return "better"
    if ci.high < 0:
        return "worse"
    return "no measurable difference"


def _unscored(scores: pd.DataFrame) -> dict[tuple[str, str], dict[str, int]]:
    """Per (model, group): in how many repeats, and why, (b)-(a) could not be computed."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    pair = scores[scores["arm"].isin(["real", "augmented"])]
    for (model, group, _), rows in pair.groupby(["model", "group", "repeat"], sort=False):
        reasons = [
            f"a single outcome class among its {int(k)} holdout rows" if r == ONE_CLASS else r
            for r, k in zip(rows["reason"], rows["holdout_rows"], strict=True)
            if isinstance(r, str)
        ]
        if reasons or len(rows) < 2:
            why = reasons[0] if reasons else "an arm could not be trained"
            counts = out.setdefault((model, group), {})
            counts[why] = counts.get(why, 0) + 1
    return out


def _conclusion(
    differences: pd.DataFrame,
    groups_added: list[str],
    balance: str,
    unscored: dict[tuple[str, str], dict[str, int]] | None = None,
    repeats: int | None = None,
) -> str:
    if differences.empty:
        return "No comparison could be made: no model could be trained and scored."
    unscored = unscored or {}
    repeats = repeats or int(differences["n"].max())
    aug = differences[differences["comparison"].str.startswith("(b)")]
    focus = aug[aug["group"].isin([*groups_added, OVERALL])]

    def where(group: Any) -> str:
        return "overall" if group == OVERALL else f"{balance}={group}"

    # a group with fewer than 2 paired repeats has no interval: its effect is unknown and it
    # must not be folded into "for no group did the interval lie above zero"
    scored = focus[focus["n"] >= 2]
    better = scored[scored["verdict"] == "better"]
    worse = scored[scored["verdict"] == "worse"]

    def name(row: pd.Series) -> str:
        interval = f"95% CI {row['low']:+.3f} to {row['high']:+.3f}"
        return f"{row['model']} {where(row['group'])} ({row['mean']:+.3f} AUROC, {interval})"

    parts = []
    scored_names = ", ".join(dict.fromkeys(where(g) for g in scored["group"]))
    if scored.empty:
        parts.append(
            "Augmentation's effect is unknown here: no augmented group could be scored in "
            "at least 2 repeats."
        )
    elif better.empty:
        parts.append(
            "Augmentation did not help here: for no model and none of the scored groups "
            f"({scored_names}) did the 95% confidence interval of the AUROC change (real + "
            "synthetic minus real only) lie above zero."
        )
    else:
        parts.append(
            "Augmentation helped for " + "; ".join(name(r) for _, r in better.iterrows()) + "."
        )
    if not worse.empty:
        parts.append("It hurt for " + "; ".join(name(r) for _, r in worse.iterrows()) + ".")
    parts.extend(_unscored_sentences(focus, unscored, repeats, where))
    same = focus[(focus["n"] >= 2) & (focus["low"] == focus["high"])]
    for _, row in same.iterrows():
        parts.append(
            f"{row['model']} {where(row['group'])}: (b)-(a) = {row['mean']:+.3f} with a "
            f"zero-width interval, {row['interval_note']}."
        )
    return " ".join(parts)


def _unscored_sentences(
    focus: pd.DataFrame,
    unscored: dict[tuple[str, str], dict[str, int]],
    repeats: int,
    where: Any,
) -> list[str]:
    """One sentence per group that some model could not score in some repeat."""
    by_group: dict[str, dict[str, list[str]]] = {}
    for _, row in focus.iterrows():
        n, counts = int(row["n"]), unscored.get((row["model"], row["group"]), {})
        if n >= repeats and not counts:
            continue
        why = "; ".join(f"{k} in {v}" if len(counts) > 1 else k for k, v in counts.items())
        if n == 0:
            text = f"not scored in any of {repeats} repeats"
        else:
            text = f"scored in only {n} of {repeats} repeats"
        text += f" — {why or 'no paired score'}"
        text += "; its effect is unknown" if n < 2 else "; its interval rests on those repeats"
        by_group.setdefault(row["group"], {}).setdefault(text, []).append(str(row["model"]))
    out = []
    models_total = focus["model"].nunique()
    for group, texts in by_group.items():
        for text, models in texts.items():
            who = "" if len(models) == models_total else f" ({', '.join(models)})"
            out.append(f"{where(group)}{who}: {text}.")
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for record in frame.to_dict(orient="records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in record.items()
            }
        )
    return out


# -- report --------------------------------------------------------------------------------


def markdown_table(result: AugmentResult, digits: int = 3) -> str:
    """The per-group AUROC table (mean [95% CI]) as Markdown, one row per model x group."""
    table = result.table
    groups = list(dict.fromkeys([OVERALL, *sorted(set(table["group"]) - {OVERALL})]))
    header = "| model | group | " + " | ".join(ARM_LABELS[a] for a in ARMS) + " | (b)-(a) |"
    lines = [header, "|" + "---|" * (ARMS.__len__() + 3)]
    diffs = result.differences
    for model in result.settings["models"]:
        for group in groups:
            cells = []
            for arm in ARMS:
                row = table[
                    (table["model"] == model) & (table["arm"] == arm) & (table["group"] == group)
                ]
                cells.append(_cell(row, digits))
            d = diffs[
                (diffs["model"] == model)
                & (diffs["group"] == group)
                & diffs["comparison"].str.startswith("(b)")
            ]
            verdict = len(d) and np.isfinite(d.iloc[0]["mean"])
            diff = _cell(d, digits, signed=True) + (f" {d.iloc[0]['verdict']}" if verdict else "")
            label = group if group == OVERALL else f"{result.settings['balance']}={group}"
            lines.append(f"| {model} | {label} | " + " | ".join(cells) + f" | {diff} |")
    return "\n".join(lines)


def _cell(row: pd.DataFrame, digits: int, signed: bool = False) -> str:
    if row.empty:
        return "n/a"
    r = row.iloc[0]
    if not np.isfinite(r["mean"]):
        return "not scored"
    fmt = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
    if not np.isfinite(r["low"]):
        return f"{fmt.format(r['mean'])} (n = 1, no interval)"
    if r["low"] == r["high"]:  # explained in the notes under the table
        return f"{fmt.format(r['mean'])} (same in all {int(r['n'])})"
    return f"{fmt.format(r['mean'])} [{fmt.format(r['low'])}, {fmt.format(r['high'])}]"


def interval_notes(result: AugmentResult) -> list[str]:
    """One line per table cell whose interval is missing or of zero width, saying why."""
    balance = result.settings["balance"]
    out = []
    for frame, what in ((result.table, "arm"), (result.differences, "comparison")):
        if "interval_note" not in frame:
            continue
        for _, r in frame[frame["interval_note"] != ""].iterrows():
            where = r["group"] if r["group"] == OVERALL else f"{balance}={r['group']}"
            label = ARM_LABELS.get(r[what], r[what])
            out.append(f"{r['model']} {where} {label}: {r['interval_note']}.")
    return out


def augmentation_figure(result: AugmentResult) -> Any:
    """Plotly figure: holdout AUROC (mean, 95% CI) per group, one panel per model."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    models = result.settings["models"]
    fig = make_subplots(rows=1, cols=len(models), subplot_titles=models, shared_yaxes=True)
    colours = {"real": "#1f5f99", "augmented": "#5a9e6f", "synthetic": "#e07b39"}
    table = result.table
    groups = list(dict.fromkeys([OVERALL, *sorted(set(table["group"]) - {OVERALL})]))
    for col, model in enumerate(models, start=1):
        for arm in ARMS:
            part = table[(table["model"] == model) & (table["arm"] == arm)].set_index("group")
            part = part.reindex(groups)
            fig.add_trace(
                go.Bar(
                    x=[g if g == OVERALL else f"{result.settings['balance']}={g}" for g in groups],
                    y=part["mean"],
                    error_y={
                        "type": "data",
                        "array": (part["high"] - part["mean"]).fillna(0),
                        "arrayminus": (part["mean"] - part["low"]).fillna(0),
                    },
                    name=ARM_LABELS[arm],
                    marker_color=colours[arm],
                    showlegend=col == 1,
                    legendgroup=arm,
                ),
                row=1,
                col=col,
            )
    low = np.nanmin(table["low"].to_numpy(dtype=float)) if len(table) else 0.5
    fig.update_yaxes(range=[max(0.0, min(0.5, low - 0.05)), 1.0], title_text="AUROC", col=1)
    fig.update_layout(barmode="group", height=460, margin={"t": 60, "b": 40})
    return fig


def render_augment_report(result: AugmentResult, title: str | None = None) -> str:
    """The experiment as one offline HTML page (plotly inlined once, no network)."""
    import html

    from healthforge.evaluation.report import _page  # the shared offline page and style

    s = result.settings
    title = title or f"Augmentation experiment: {s['balance']} ({s['generator']})"
    fig = augmentation_figure(result)
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id="hf-augmentation")
    table_html = _html_table(result) + "".join(
        f"<p class='note'>{html.escape(n)}</p>" for n in interval_notes(result)
    )
    added = ", ".join(f"{s['balance']}={g}: +{k:,}" for g, k in result.added.items())
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in result.notes)
    body = (
        f"<section><h1>{html.escape(title)}</h1><p class='sub'>{s['rows_real']:,} real rows; "
        f"target {html.escape(s['target'])}; generator {html.escape(s['generator'])}"
        + (f" per {html.escape(s['fair_by'])}" if s.get("fair_by") else "")
        + f"; strategy {html.escape(s['strategy'])}; {s['repeats']} seeded splits, "
        f"{int(s['holdout_fraction'] * 100)}% real holdout each.</p></section>"
        f"<section><h2>Conclusion</h2><p>{html.escape(result.conclusion)}</p>{notes}</section>"
        "<section><h2>Holdout AUROC per group</h2><p class='help'>Models trained on (a) the "
        "real training rows, (b) the same plus synthetic rows for the smaller groups, (c) "
        "synthetic rows only, scored on real holdout rows. Bars: mean over repeats; whiskers: "
        "95% confidence interval (t-interval over repeats, cut to the possible range). A "
        "group without an AUROC in a repeat (no holdout rows, or one outcome class only) is "
        "'not scored' there. Augmentation helps a group only if (b)-(a) is above zero "
        f"with its whole interval.</p><div class='plot'>{div}</div>{table_html}</section>"
        f"<section><h2>The augmented dataset</h2><p>All real rows plus synthetic rows "
        f"({html.escape(added)}), flagged by the column <code>{SYNTHETIC_FLAG}</code>; the "
        "generator for it was fitted on all real rows.</p></section>"
    )
    return _page(title, body)


def _html_table(result: AugmentResult) -> str:
    import html

    lines = markdown_table(result).splitlines()
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_augment_report(result: AugmentResult, path: Any, title: str | None = None) -> None:
    """Write :func:`render_augment_report` atomically."""
    from healthforge.data.io import atomic_write_text

    atomic_write_text(path, render_augment_report(result, title))
