"""Privacy: does the synthetic table give away the people in the training data?

Distances and nearest neighbours use the dense view ``(n_rows, n_features)`` of
:mod:`healthforge.evaluation.features`; exact matches, predicates and equivalence
classes use the codes view ``(n_rows, n_columns)``. ``train`` is the real data the
generator saw, ``holdout`` real rows it never saw: the holdout is the yardstick, since a
good generator places synthetic rows no closer to training rows than new patients are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from healthforge.evaluation.common import SkipMetric, number, sample_index
from healthforge.evaluation.features import FeatureSpace
from healthforge.evaluation.models import binary_auc

MAX_DCR_QUERIES = 20_000  # synthetic rows whose distance to the training data is measured
MAX_KDE_ROWS = 5_000
KDE_COMPONENTS = 8
KDE_BANDWIDTH = 0.5  # times Scott's factor
N_ATTACKS = 500
MIA_Z = 1.96  # the membership-inference AUC is reported with a two-sided 95% interval
MAX_SECRETS = 10
_NAN_KEY = -9.87654321e300  # stands for "missing" when rows are hashed


# -- copies and distances -------------------------------------------------------------
def row_hashes(codes: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of a codes view ``(n, p)``; missing values hash alike."""
    frame = pd.DataFrame(np.where(np.isnan(codes), _NAN_KEY, codes))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def exact_match_rate(train: np.ndarray, rows: np.ndarray) -> float:
    """Share of ``rows`` identical to some training row on every modelled column."""
    if len(rows) == 0:
        return float("nan")
    return float(np.isin(row_hashes(rows), row_hashes(train)).mean())


def nearest_distances(train: np.ndarray, queries: np.ndarray, k: int = 2) -> np.ndarray:
    """Euclidean distances ``(n_queries, k)`` from each query to its ``k`` nearest training rows."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(train))
    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(train)
    return index.kneighbors(queries, return_distance=True)[0]


def dcr_metrics(synth_d: np.ndarray, holdout_d: np.ndarray) -> dict[str, float | None]:
    """DCR and NNDR summaries from nearest distances ``(n, 2)`` of synthetic and holdout rows."""
    med_s, med_h = np.median(synth_d[:, 0]), np.median(holdout_d[:, 0])
    p5 = np.percentile(holdout_d[:, 0], 5)
    nndr_s, nndr_h = _nndr(synth_d), _nndr(holdout_d)
    return {
        "dcr_ratio": number(med_s / med_h) if med_h > 0 else None,
        "dcr_share_below_holdout_p5": float(np.mean(synth_d[:, 0] < p5)),
        "nndr_ratio": number(np.median(nndr_s) / np.median(nndr_h))
        if np.median(nndr_h) > 0
        else None,
    }


def _nndr(d: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio d1/d2 (0 when both are 0: an exact duplicate)."""
    if d.shape[1] < 2:
        return np.ones(len(d))
    return np.divide(d[:, 0], d[:, 1], out=np.zeros(len(d)), where=d[:, 1] > 0)


# -- membership inference -------------------------------------------------------------
def auc_interval(auc: float, n_pos: int, n_neg: int, z: float | None = None) -> dict[str, Any]:
    """Hanley-McNeil (1982) standard error of an AUC from ``n_pos`` and ``n_neg`` scores,
    and the interval ``auc +- z * se`` (``z`` defaults to ``MIA_Z``) clipped to [0, 1].
    At AUC 0.5 the standard error equals the exact Mann-Whitney null value
    ``sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``: when the synthetic data says nothing
    about membership, member and non-member scores are exchangeable whatever the attack's
    random reference split."""
    a, z = float(auc), MIA_Z if z is None else z
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    se = math.sqrt(max(var, 0.0))
    return {
        "auc": a,
        "se": se,
        "ci": [max(0.0, a - z * se), min(1.0, a + z * se)],
        "members": n_pos,
        "non_members": n_neg,
    }


def domias_auc(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """AUC of a DOMIAS density-ratio membership attack (van Breugel et al., AISTATS 2023),
    with its uncertainty: ``{auc, se, ci, rows_per_side}`` (see :func:`auc_interval`).

    The holdout is split in half: a reference sample the attacker knows, and non-members.
    Candidates are the non-members and the training rows (members; both at most
    ``MAX_KDE_ROWS``): on a small table the few non-members bound the precision, and every
    member scored narrows the interval (ICU: 160 members and 20 non-members). A candidate's
    score is ``log p_synth(x) - log p_ref(x)``, both Gaussian KDEs in an
    ``KDE_COMPONENTS``-dimensional PCA of the dense features (fitted on the attacker's
    data: synthetic and reference rows), with half of Scott's bandwidth. 0.5 means the
    synthetic data reveals no membership; a generator that memorises rows raises p_synth
    at members only.
    """
    from scipy.linalg import LinAlgError
    from scipy.stats import gaussian_kde
    from sklearn.decomposition import PCA

    order = rng.permutation(len(holdout))
    reference, outsiders = holdout[order[: len(order) // 2]], holdout[order[len(order) // 2 :]]
    n_out, n_in = min(len(outsiders), MAX_KDE_ROWS), min(len(train), MAX_KDE_ROWS)
    if min(len(reference), n_out, n_in) < 20:
        raise SkipMetric("needs at least 40 holdout rows (20 reference, 20 non-members)")
    outsiders = outsiders[:n_out]
    members = train[sample_index(len(train), n_in, rng)]
    synthetic = synthetic[sample_index(len(synthetic), MAX_KDE_ROWS, rng)]
    attacker = np.vstack([synthetic, reference])
    attacker_var = attacker.var(axis=0) > 1e-12
    if not attacker_var.any():
        raise SkipMetric("the features are constant")
    dims = int(min(KDE_COMPONENTS, attacker_var.sum(), len(reference) - 2))
    pca = PCA(n_components=dims, random_state=0).fit(attacker[:, attacker_var])
    keep = pca.explained_variance_ > 1e-9 * pca.explained_variance_.max()

    def project(x: np.ndarray) -> np.ndarray:
        return pca.transform(x[:, attacker_var])[:, keep].T  # (dims, n) for scipy

    def kde(x: np.ndarray) -> Any:
        # Half Scott's bandwidth: wide kernels blur out memorised points (the signal).
        return gaussian_kde(project(x), bw_method=lambda k: KDE_BANDWIDTH * k.scotts_factor())

    candidates = np.vstack([members, outsiders])
    try:
        z = project(candidates)
        score = kde(synthetic).logpdf(z) - kde(reference).logpdf(z)
    except (LinAlgError, ValueError) as exc:
        raise SkipMetric(f"density estimate failed ({type(exc).__name__})") from None
    is_member = np.r_[np.ones(n_in, bool), np.zeros(n_out, bool)]
    auc = binary_auc(is_member, np.nan_to_num(score, nan=0.0, posinf=1e300, neginf=-1e300))
    return auc_interval(auc, n_in, n_out)


# -- anonymeter-style attacks (Giomi et al., PoPETs 2023) ---------------------------------
_TRUE, _EQ, _LE, _GE, _ISNA = 0, 1, 2, 3, 4


def count_matches(
    X: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """Rows of ``X (n, p)`` matching each conjunctive predicate; predicates are arrays
    ``(n_queries, n_terms)`` of column, operator and value. Returns ``(n_queries,)``."""
    counts = np.zeros(len(cols), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for start in range(0, len(cols), chunk):
            q = slice(start, start + chunk)
            mask = np.ones((len(X), len(cols[q])), dtype=bool)
            for t in range(cols.shape[1]):
                x = X[:, cols[q, t]]
                v, o = vals[q, t][None, :], ops[q, t][None, :]
                term = np.select(
                    [o == _EQ, o == _LE, o == _GE, o == _ISNA],
                    [x == v, x <= v, x >= v, np.isnan(x)],
                    default=True,
                )
                mask &= term
            counts[q] = mask.sum(axis=0)
    return counts


def _univariate_queries(
    space: FeatureSpace, synth: np.ndarray, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicates on one column that single out one synthetic row: a rare value, the
    minimum or maximum of a numeric column, the only missing value."""
    cols, ops, vals = [], [], []
    for j, column in enumerate(space.columns):
        x = synth[:, j]
        finite = x[np.isfinite(x)]
        if np.isnan(x).sum() == 1:
            cols.append([j]), ops.append([_ISNA]), vals.append([0.0])
        if finite.size and not column.is_discrete:
            cols += [[j], [j]]
            ops += [[_LE], [_GE]]
            vals += [[finite.min()], [finite.max()]]
        levels, counts = np.unique(finite, return_counts=True)
        rare = levels[counts == 1]
        cols += [[j]] * rare.size
        ops += [[_EQ]] * rare.size
        vals += [[v] for v in rare]
    if not cols:
        return np.zeros((0, 1), int), np.zeros((0, 1), int), np.zeros((0, 1))
    pick = rng.permutation(len(cols))[:n]
    return np.asarray(cols)[pick], np.asarray(ops)[pick], np.asarray(vals, dtype=float)[pick]


def _multivariate_queries(
    space: FeatureSpace, synth: np.ndarray, rng: np.random.Generator, n: int, n_terms: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicates on ``n_terms`` random columns of a random synthetic row (equality for
    discrete values, >= or <= towards the tail for numeric ones), kept when they single
    out exactly one synthetic row."""
    p = synth.shape[1]
    n_terms = min(n_terms, p)
    candidates = 5 * n
    rows = rng.integers(0, len(synth), candidates)
    cols = np.argsort(rng.random((candidates, p)), axis=1)[:, :n_terms]
    vals = synth[rows[:, None], cols]
    discrete = np.array([c.is_discrete for c in space.columns])
    medians = np.nanmedian(np.where(np.isfinite(synth), synth, np.nan), axis=0)
    ops = np.where(discrete[cols], _EQ, np.where(vals >= medians[cols], _GE, _LE))
    ops = np.where(np.isnan(vals), _ISNA, ops)
    unique = count_matches(synth, cols, ops, vals) == 1
    keep = np.flatnonzero(unique)[:n]
    return cols[keep], ops[keep], vals[keep]


def _rates(main: np.ndarray, control: np.ndarray) -> dict[str, Any]:
    """Attack success on training targets vs control targets, and the resulting risk.

    ``risk = (main - control) / (1 - control)``, clipped at 0; the 95% interval combines
    Wilson intervals of both rates (conservatively, as in anonymeter).
    """
    n, m = main.size, control.size
    if n == 0 or m == 0:
        raise SkipMetric("no attack could be formed from the synthetic data")
    r_main, r_control = float(main.mean()), float(control.mean())
    lo_m, hi_m = _wilson(r_main, n)
    lo_c, hi_c = _wilson(r_control, m)

    def risk(a: float, b: float) -> float:
        return float(np.clip((a - b) / (1 - b), 0.0, 1.0)) if b < 1 else 0.0

    return {
        "risk": risk(r_main, r_control),
        "ci": [risk(lo_m, hi_c), risk(hi_m, lo_c)],
        "main_rate": r_main,
        "control_rate": r_control,
        "n_attacks": n,
    }


def _wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    center = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(center - half, 0.0), min(center + half, 1.0)


def singling_out(
    space: FeatureSpace,
    train: np.ndarray,
    synthetic: np.ndarray,
    holdout: np.ndarray,
    rng: np.random.Generator,
    n_attacks: int = N_ATTACKS,
) -> dict[str, Any]:
    """Singling-out risk: predicates that isolate one synthetic row, checked for whether
    they isolate one training row (main) vs one holdout row (control). Both populations
    have the same size so that the rates compare (anonymeter instead fits a correction
    for unequal sizes); the price is that a query singling out a training row only counts
    when that row is in the sample, so the risk of a verbatim copy is about
    ``len(holdout) / len(train)`` rather than 1. Headline: the larger of the univariate
    and multivariate risks."""
    m = min(len(train), len(holdout))
    population = train[sample_index(len(train), m, rng)]
    control = holdout[sample_index(len(holdout), m, rng)]
    out: dict[str, Any] = {}
    for mode, make in (
        ("univariate", _univariate_queries),
        ("multivariate", _multivariate_queries),
    ):
        cols, ops, vals = make(space, synthetic, rng, n_attacks)
        try:
            out[mode] = _rates(
                count_matches(population, cols, ops, vals) == 1,
                count_matches(control, cols, ops, vals) == 1,
            )
        except SkipMetric:
            continue
    if not out:
        raise SkipMetric("no predicate singles out a synthetic row")
    out["risk"] = max(v["risk"] for v in out.values())
    return out


def _nearest_index(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    return index.kneighbors(queries, return_distance=False)[:, 0]


def linkability(
    space: FeatureSpace,
    train: np.ndarray,
    synthetic: np.ndarray,
    holdout: np.ndarray,
    rng: np.random.Generator,
    n_attacks: int,
) -> dict[str, Any]:
    """Linkability risk: the modelled columns are split at random into two disjoint
    halves, as if held by two parties. A target is linked when its nearest synthetic row
    on the first half and on the second half is the same row. Inputs are dense views."""
    p = len(space.columns)
    if p < 2:
        raise SkipMetric("needs at least two modelled columns")
    order = rng.permutation(p)
    halves = [
        space.feature_columns(sorted(order[: p // 2])),
        space.feature_columns(sorted(order[p // 2 :])),
    ]
    targets = {
        "main": train[sample_index(len(train), n_attacks, rng)],
        "control": holdout[sample_index(len(holdout), n_attacks, rng)],
    }
    linked = {}
    for name, rows in targets.items():
        a = _nearest_index(synthetic[:, halves[0]], rows[:, halves[0]])
        b = _nearest_index(synthetic[:, halves[1]], rows[:, halves[1]])
        linked[name] = a == b
    return _rates(linked["main"], linked["control"])


def inference(
    space: FeatureSpace,
    secrets: list[int],
    codes: dict[str, np.ndarray],
    dense: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_attacks: int,
    tolerance: float = 0.05,
) -> dict[str, Any]:
    """Attribute-inference risk: guess each secret column (sensitive or target) of a
    target as the value of its nearest synthetic row on all other columns; a numeric
    guess is right within ``tolerance`` relative error. Headline risk pools successes
    over the secret columns (per-column risks are in the details): pooling keeps the
    estimate stable where a per-column maximum would mostly pick up noise."""
    if not secrets:
        raise SkipMetric("no sensitive or target column to infer")
    picks = {
        "main": sample_index(len(codes["real"]), n_attacks, rng),
        "control": sample_index(len(codes["holdout"]), n_attacks, rng),
    }
    sources = {"main": "real", "control": "holdout"}
    per_column: dict[str, Any] = {}
    pooled: dict[str, list[np.ndarray]] = {"main": [], "control": []}
    for s in secrets:
        aux = space.feature_columns([j for j in range(len(space.columns)) if j != s])
        if aux.size == 0:
            continue
        success = {}
        for name, rows in picks.items():
            source = sources[name]
            nearest = _nearest_index(dense["synthetic"][:, aux], dense[source][rows][:, aux])
            guess, truth = codes["synthetic"][nearest, s], codes[source][rows, s]
            both_missing = np.isnan(guess) & np.isnan(truth)
            if space.columns[s].is_discrete:
                hit = (guess == truth) | both_missing
            else:
                hit = (np.abs(guess - truth) <= tolerance * np.abs(truth)) | both_missing
            success[name] = hit
            pooled[name].append(hit)
        per_column[space.columns[s].name] = _rates(success["main"], success["control"])
    if not per_column:
        raise SkipMetric("no columns left to infer from")
    result = _rates(np.concatenate(pooled["main"]), np.concatenate(pooled["control"]))
    result["columns"] = per_column
    return result


def k_anonymity(
    space: FeatureSpace, real: np.ndarray, synthetic: np.ndarray, quasi_identifiers: list[str]
) -> dict[str, Any]:
    """Equivalence classes of synthetic rows over the quasi-identifiers (codes views);
    numeric quasi-identifiers are coarsened into deciles of the real data, missing is
    a class of its own. Returns ``k_min`` and the share of rows in classes smaller than 5,
    for the synthetic data and, as the yardstick, for the real data: with many
    quasi-identifiers most real rows are unique too, and synthetic rows are not people,
    so what is scored is the excess of small classes over the real data."""
    idx = [space.index(q) for q in quasi_identifiers]

    def classes(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.empty((len(data), len(idx)))
        for t, j in enumerate(idx):
            x = data[:, j]
            if not space.columns[j].is_discrete:
                finite = real[:, j][np.isfinite(real[:, j])]
                edges = (
                    np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))) if finite.size else []
                )
                x = np.where(np.isnan(x), np.nan, np.searchsorted(edges, x, side="right"))
            keys[:, t] = np.nan_to_num(x, nan=-2.0)
        _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        return counts, counts[inverse.ravel()]

    counts, size = classes(synthetic)
    _, real_size = classes(real)
    share, real_share = float(np.mean(size < 5)), float(np.mean(real_size < 5))
    return {
        "k_min": int(counts.min()),
        "share_k_below_5": share,
        "share_k_below_5_real": real_share,
        "excess_share_k_below_5": max(0.0, share - real_share),
    }
