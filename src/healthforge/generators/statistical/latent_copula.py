"""Latent copula: a class-conditional Gaussian in a principal-component space, for p >> n.

Gene-expression tables have hundreds or thousands of numeric columns and a few hundred
rows: a full correlation matrix cannot be estimated (a Gaussian copula must shrink it
towards the identity, which erases most structure), and deep generators overfit. Here
the numeric block is compressed to ``k`` principal components - a factor model, as
gene-expression data is well described by a few programmes - and the joint law of the
component scores, the other discrete columns and missingness is a Gaussian *per class*
of one grouping column (e.g. ``tissue``). Class-conditional means are what keep
tissue-specific expression; a single Gaussian would blur the tissues together.

Sampling draws a class from the training proportions, latent scores from that class's
Gaussian, maps them back to gene space and adds independent noise with each gene's
residual variance (the part of the gene the components do not explain), so every gene
keeps its full variance; each value then goes through the gene's empirical quantile
function, so marginals are exact up to sampling noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.marginals import Marginal
from healthforge.progress import ProgressCallback, report

_EPS = 1e-6
MAX_GROUPS = 50  # a grouping column with more categories would leave classes too small


class LatentCopulaGenerator(Generator):
    """Class-conditional Gaussian copula on principal components of the numeric columns.

    Fitting, for a table ``X`` of shape ``(n, d)`` with ``p`` numeric columns:

    1. each numeric column becomes normal scores through its empirical distribution
       (rank-based, so skewed or heaped columns are handled; missing -> 0 for PCA);
    2. PCA of the ``(n, p)`` scores keeps the fewest components explaining ``variance``
       of it, capped at ``max_components`` (default ``n // 3``, so every latent
       covariance is estimated from at least three rows per dimension);
    3. the latent vector of a row is ``[component scores (k), normal scores of the other
       discrete columns, missingness scores]``; per class of the grouping column its
       mean and covariance are estimated, the covariance shrunk towards the pooled
       within-class covariance (itself Ledoit-Wolf shrunk towards its diagonal) by
       ``m / (n_c + m)`` for ``m`` latent dimensions and ``n_c`` rows of the class.

    Args:
        variance: share of the numeric scores' variance the components must explain.
        max_components: cap on ``k``; ``None`` uses ``n_rows // 3``.
        group: column whose classes get their own Gaussian. ``"auto"``: the schema's
            target if it is discrete, else the discrete column (2 to 50 categories)
            that explains the largest adjusted share of the numeric variance; ``None``:
            one Gaussian for all rows.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "latent_copula"
    summary = "Per-class Gaussian on principal components + residual noise; for p >> n."
    family = "statistical"
    high_dimensional = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        variance: float = 0.95,
        max_components: int | None = None,
        group: str | None = "auto",
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.variance = variance
        self.max_components = max_components
        self.group = group

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        if not 0.0 < float(self.variance) <= 1.0:
            raise HealthForgeError("latent_copula: variance must be in (0, 1]")
        rng = np.random.default_rng(self.seed)
        n, d = X.shape
        finite = np.isfinite(X)
        self.missing_rate_ = 1.0 - finite.mean(axis=0)
        self.num_cols_ = np.flatnonzero(~self.discrete_)
        self.marginals_ = [Marginal(X[finite[:, j], j]) for j in range(d)]

        # 1. normal scores of every column (NaN where missing)
        scores = np.full((n, d), np.nan)
        for j in range(d):
            u = self.marginals_[j].to_uniform(X[finite[:, j], j], rng)
            scores[finite[:, j], j] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        report(progress, "fitting marginals", 1, 3)

        # 2. principal components of the numeric block
        Z = np.nan_to_num(scores[:, self.num_cols_], nan=0.0)
        self.center_ = Z.mean(axis=0)
        Zc = Z - self.center_
        k = self._components(Zc)
        self.components_ = k  # (k, p), rows orthonormal
        latent_num = Zc @ k.T if len(k) else np.zeros((n, 0))
        resid = Zc - latent_num @ k if len(k) else Zc
        observed = finite[:, self.num_cols_]
        count = np.maximum(observed.sum(axis=0), 1)
        self.resid_sd_ = np.sqrt((np.where(observed, resid, 0.0) ** 2).sum(axis=0) / count)
        report(progress, "fitting components", 2, 3)

        # 3. the other discrete columns and missingness join the latent vector
        self.group_col_ = self._group_column(X, Z)
        self.disc_cols_ = np.array(
            [j for j in np.flatnonzero(self.discrete_) if j != self.group_col_], dtype=np.int64
        )
        self.missing_cols_ = np.array(
            [j for j in np.flatnonzero(self.missing_rate_ > 0) if j != self.group_col_],
            dtype=np.int64,
        )
        miss = np.empty((n, len(self.missing_cols_)))
        for c, j in enumerate(self.missing_cols_):
            # missing <=> uniform below the missing rate, as in the Gaussian copula
            p = self.missing_rate_[j]
            u = np.where(finite[:, j], p + (1 - p) * rng.random(n), p * rng.random(n))
            miss[:, c] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        latent = np.hstack([latent_num, np.nan_to_num(scores[:, self.disc_cols_], nan=0.0), miss])
        labels = self._labels(X)
        self.n_classes_ = int(labels.max()) + 1
        self.class_probs_ = np.bincount(labels, minlength=self.n_classes_) / n
        self.means_, self.cholesky_ = _class_gaussians(latent, labels, self.n_classes_)
        self.scale_ = self._unit_scale()
        report(progress, "fitting class Gaussians", 3, 3)

    def _components(self, Zc: np.ndarray) -> np.ndarray:
        """Rows of the top principal axes of ``Zc`` ``(n, p)``: shape ``(k, p)``."""
        n, p = Zc.shape
        if p == 0:
            return np.zeros((0, 0))
        _, s, vt = np.linalg.svd(Zc, full_matrices=False)
        var = s**2
        total = var.sum()
        if total <= 0:
            return np.zeros((0, p))
        cap = int(self.max_components) if self.max_components is not None else max(1, n // 3)
        k = int(np.searchsorted(np.cumsum(var) / total, float(self.variance) - 1e-12) + 1)
        k = max(1, min(k, cap, len(s)))
        self.explained_variance_ = float(var[:k].sum() / total)
        return vt[:k]

    def _group_column(self, X: np.ndarray, Z: np.ndarray) -> int | None:
        """Encoded index of the grouping column (see ``group``), or ``None``."""
        names = [c.name for c in self.schema_.modelled]
        if self.group is None:
            return None
        if self.group != "auto":
            if self.group not in names:
                raise HealthForgeError(
                    f"latent_copula: group column '{self.group}' is not a modelled column",
                    "name a discrete column, or use group='auto'",
                )
            j = names.index(self.group)
            if not self.discrete_[j]:
                raise HealthForgeError(
                    f"latent_copula: group column '{self.group}' is not discrete",
                    "name a categorical, ordinal or boolean column",
                )
            return j
        target = self.schema_.target
        if target in names and self.discrete_[names.index(target)]:
            return names.index(target)
        candidates = [
            j
            for j in np.flatnonzero(self.discrete_)
            if 2 <= self.cardinalities_[j] <= MAX_GROUPS and np.isfinite(X[:, j]).all()
        ]
        if not candidates or Z.shape[1] == 0:
            return None
        n = len(X)
        total = ((Z - Z.mean(axis=0)) ** 2).sum()
        best, best_j = 0.0, None
        for j in candidates:
            codes = X[:, j].astype(np.int64)
            k = int(codes.max()) + 1
            counts = np.bincount(codes, minlength=k)
            sums = np.zeros((k, Z.shape[1]))
            np.add.at(sums, codes, Z)
            between = (sums[counts > 0] ** 2 / counts[counts > 0, None]).sum() - (
                Z.sum(axis=0) ** 2 / n
            ).sum()
            used = int((counts > 0).sum())
            if total <= 0 or n - used <= 0:
                continue
            # adjusted eta^2: more categories explain more by chance alone
            eta2 = 1 - (1 - between / total) * (n - 1) / (n - used)
            if eta2 > best:
                best, best_j = eta2, int(j)
        return best_j

    def _labels(self, X: np.ndarray) -> np.ndarray:
        """Class of every row ``(n,)``; a missing group value is a class of its own."""
        if self.group_col_ is None:
            return np.zeros(len(X), dtype=np.int64)
        col = X[:, self.group_col_]
        k = int(self.cardinalities_[self.group_col_])
        return np.where(np.isfinite(col), np.nan_to_num(col), k).astype(np.int64)

    def _unit_scale(self) -> np.ndarray:
        """Per-numeric-column factor making the model's score variance 1 ``(p,)``.

        Variance of ``latent @ components + noise`` under the class mixture:
        ``diag(V' C V) + resid_sd**2`` with ``C`` the mixture covariance of the
        component scores. Rescaling keeps each column's marginal exact after the
        quantile map, whatever was lost to shrinkage or to the missing-value fill.
        """
        k = len(self.components_)
        if len(self.num_cols_) == 0:
            return np.ones(0)
        if k == 0:
            return 1.0 / np.maximum(self.resid_sd_, 1e-12)
        probs = self.class_probs_
        means = self.means_[:, :k]
        grand = probs @ means
        cov = sum(
            p * (L[:k] @ L[:k].T + np.outer(m - grand, m - grand))
            for p, m, L in zip(probs, means, self.cholesky_, strict=True)
        )
        V = self.components_
        var = np.einsum("ip,ij,jp->p", V, cov, V) + self.resid_sd_**2
        return 1.0 / np.sqrt(np.maximum(var, 1e-12))

    # -- sampling ----------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        d = len(self.discrete_)
        labels = rng.choice(self.n_classes_, size=n, p=self.class_probs_)
        m = self.means_.shape[1]
        latent = np.empty((n, m))
        noise = rng.standard_normal((n, m))
        for c in range(self.n_classes_):
            rows = labels == c
            latent[rows] = self.means_[c] + noise[rows] @ self.cholesky_[c].T
        out = np.full((n, d), np.nan)
        k = len(self.components_)
        p = len(self.num_cols_)
        if p:
            z = latent[:, :k] @ self.components_ if k else np.zeros((n, p))
            z = (z + rng.standard_normal((n, p)) * self.resid_sd_) * self.scale_
            u = ndtr(z + self.center_ * self.scale_)
            for c, j in enumerate(self.num_cols_):
                out[:, j] = self.marginals_[j].ppf(u[:, c])
        u_disc = ndtr(latent[:, k : k + len(self.disc_cols_)])
        for c, j in enumerate(self.disc_cols_):
            out[:, j] = self.marginals_[j].ppf(u_disc[:, c])
        u_miss = ndtr(latent[:, k + len(self.disc_cols_) :])
        for c, j in enumerate(self.missing_cols_):
            out[u_miss[:, c] < self.missing_rate_[j], j] = np.nan
        if self.group_col_ is not None:
            card = int(self.cardinalities_[self.group_col_])
            out[:, self.group_col_] = np.where(labels >= card, np.nan, labels)
        return out


def _class_gaussians(latent: np.ndarray, labels: np.ndarray, n_classes: int) -> Any:
    """Per-class means ``(c, m)`` and Cholesky factors ``(c, m, m)`` of ``latent`` ``(n, m)``.

    Class covariances are shrunk towards the pooled within-class covariance, which is
    Ledoit-Wolf shrunk towards its diagonal: a class of 20 rows cannot support a
    60-dimensional covariance on its own.
    """
    from sklearn.covariance import ledoit_wolf_shrinkage

    n, m = latent.shape
    means = np.zeros((n_classes, m))
    for c in range(n_classes):
        rows = labels == c
        if rows.any():
            means[c] = latent[rows].mean(axis=0)
    within = latent - means[labels]
    sd = within.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    std = within / sd
    lam = float(np.clip(ledoit_wolf_shrinkage(std, assume_centered=True), 0, 1)) if n > 1 else 1
    corr = std.T @ std / max(n - n_classes, 1)
    corr = (1 - lam) * corr + lam * np.diag(np.diag(corr))
    pooled = corr * np.outer(sd, sd)
    factors = np.zeros((n_classes, m, m))
    for c in range(n_classes):
        rows = labels == c
        n_c = int(rows.sum())
        alpha = m / (n_c + m) if n_c > 1 else 1.0
        own = np.cov(latent[rows].T).reshape(m, m) if n_c > 1 else pooled
        factors[c] = _cholesky((1 - alpha) * own + alpha * pooled)
    return means, factors


def _cholesky(cov: np.ndarray, floor: float = 1e-9) -> np.ndarray:
    """Cholesky factor of ``cov`` after clipping its eigenvalues at ``floor``."""
    if cov.size == 0:
        return cov
    sym = (cov + cov.T) / 2
    values, vectors = np.linalg.eigh(sym)
    scale = max(float(values.max()), 1.0)
    fixed = (vectors * np.maximum(values, floor * scale)) @ vectors.T
    return np.linalg.cholesky(fixed + floor * scale * np.eye(len(fixed)))
