"""``lm``: a compact tabular language model trained from scratch (issue #7, part 1).

A record is a set of (column, value token) pairs (:mod:`.tokenizer`); a small causal
transformer (:mod:`.model`) learns to write the value of any column given any subset
of the others, by training over random column orders (:mod:`.training`). Sampling
writes each row token by token with only the current column's tokens allowed
(:mod:`.decoding`), so every row parses and respects the schema; a condition is a
prompt (equalities) or a mask over tokens (sets and ranges), met by construction.

With ``epsilon`` set, the bins and category lists come from the public schema or a DP
release (:mod:`.private`), and the network trains with DP-SGD; the budget is recorded in
``dp_budget_`` like every DP generator's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.column_rules import ColumnRules
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.params import check_positive_int
from healthforge.generators.core.torch_support import import_torch, select_device
from healthforge.generators.lm.calibration import CALIBRATION_ROWS, token_ratios
from healthforge.generators.lm.decoding import sample_codes
from healthforge.generators.lm.orders import OrderBook, learn_orders
from healthforge.generators.lm.rules import RuleBook, learn_rules
from healthforge.generators.lm.ties import TieBook, learn_ties
from healthforge.generators.lm.tokenizer import Tokenizer
from healthforge.generators.lm.training import TrainSettings, build_network, train
from healthforge.generators.private.base import BOUNDS_MODES
from healthforge.privacy.accounting import check_delta, check_epsilon
from healthforge.progress import ProgressCallback


class LmGenerator(Generator):
    """Tabular transformer over (column, value) tokens in random column orders.

    Args:
        epochs: most training epochs (without DP, early stopping usually ends sooner).
        batch_size: rows per step (the expected Poisson batch under DP); smaller tables
            use at most an eighth of their rows, so every epoch takes ~8 steps.
        d_model: width of the transformer.
        n_layers: transformer blocks.
        n_heads: attention heads (must divide ``d_model``).
        dropout: dropout in attention and MLPs.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        target_weight: how many columns' worth the prediction target's training loss
            counts (1 = like any other column; not under DP): more of the network goes
            to the outcome's dependence on the other columns (:mod:`.training`).
        smoothing: ordinal label smoothing of numeric tokens: the share of each numeric
            target spread over its neighbouring tokens (0 = off; not under DP).
        n_bins: quantile bins per numeric column with many distinct values (under DP:
            equal-width bins between the public or DP bounds).
        temperature: sampling temperature (1 = the learned distribution).
        top_p: nucleus sampling mass (1 = off).
        hard_rules: keep exact rules between token values seen in the data (``school``
            determines ``education``; a question never asked of men) as rules when
            writing rows (:mod:`.rules`), and the order relations (:mod:`.orders`),
            ties (:mod:`.ties`: quitters' 1982 intensity is 0) and sums found in the
            training rows; never under DP.
        calibrate: after training, reweight each column's tokens at decoding so that the
            model's token shares match the training rows' (:mod:`.calibration`: heaps
            such as 20 cigarettes a day come back); costs 20,000 sampled rows at the end
            of fitting; never under DP.
        early_stopping: hold out 10% of rows and stop on their loss (not under DP).
        patience: epochs without improvement before stopping.
        epsilon: DP budget; ``None`` (default) trains without differential privacy.
        delta: DP delta; default ``min(1/n^2, 1e-6)``.
        bounds: under DP, where bins and categories come from (as for ``aim``/``mst``):
            ``"auto"`` (a schema passed to ``fit`` is public, gaps estimated with DP),
            ``"schema"`` (strict) or ``"dp"``.
        dp_epochs: epochs trained under DP (fixed: no private early stopping).
        max_grad_norm: DP-SGD per-example clipping norm.
        noise_seed: seed of the DP noise; ``None`` draws it from the OS (tests only).
        device: ``"auto"`` (GPU if present), ``"cpu"``, ``"cuda"``...
        threads: CPU threads for torch; ``None`` uses every core.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "lm"
    summary = "Tabular transformer over column/value tokens in random orders; native conditions."
    family = "deep"
    conditioning = "native"
    differential_privacy = True  # can be private: is_private says whether this one is
    high_dimensional = False

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 64,
        d_model: int = 48,
        n_layers: int = 2,
        n_heads: int = 4,
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        target_weight: float = 4.0,
        smoothing: float = 0.3,
        n_bins: int = 32,
        temperature: float = 1.0,
        top_p: float = 1.0,
        hard_rules: bool = True,
        calibrate: bool = True,
        early_stopping: bool = True,
        patience: int = 30,
        epsilon: float | None = None,
        delta: float | None = None,
        bounds: str = "auto",
        dp_epochs: int = 30,
        max_grad_norm: float = 1.0,
        noise_seed: int | None = None,
        device: str = "auto",
        threads: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.target_weight = target_weight
        self.smoothing = smoothing
        self.n_bins = n_bins
        self.temperature = temperature
        self.top_p = top_p
        self.hard_rules = hard_rules
        self.calibrate = calibrate
        self.early_stopping = early_stopping
        self.patience = patience
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.dp_epochs = dp_epochs
        self.max_grad_norm = max_grad_norm
        self.noise_seed = noise_seed
        self.device = device
        self.threads = threads
        self._check_params()

    @property
    def is_private(self) -> bool:
        """Private only when trained under DP-SGD, i.e. with ``epsilon`` set."""
        return self.epsilon is not None

    def _check_params(self) -> None:
        for name in ("epochs", "batch_size", "d_model", "n_layers", "n_heads", "patience"):
            _positive_int(self, name)
        _positive_int(self, "dp_epochs")
        if not isinstance(self.n_bins, int) or isinstance(self.n_bins, bool) or self.n_bins < 2:
            raise HealthForgeError(f"lm: n_bins must be a whole number >= 2, not {self.n_bins!r}")
        if self.d_model % self.n_heads:
            raise HealthForgeError(
                f"lm: n_heads ({self.n_heads}) must divide d_model ({self.d_model})"
            )
        if not 0.0 <= float(self.smoothing) < 1.0:
            raise HealthForgeError(f"lm: smoothing must be in [0, 1), not {self.smoothing!r}")
        if not float(self.target_weight) > 0:
            raise HealthForgeError(f"lm: target_weight must be > 0, not {self.target_weight!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise HealthForgeError(f"lm: dropout must be in [0, 1), not {self.dropout!r}")
        if not float(self.temperature) > 0:
            raise HealthForgeError(f"lm: temperature must be > 0, not {self.temperature!r}")
        if not 0.0 < float(self.top_p) <= 1.0:
            raise HealthForgeError(f"lm: top_p must be in (0, 1], not {self.top_p!r}")
        if self.epsilon is not None:
            check_epsilon(self.epsilon)
        if self.delta is not None:
            check_delta(self.delta)
        if self.bounds not in BOUNDS_MODES:
            raise HealthForgeError(
                f"lm: bounds must be one of {', '.join(BOUNDS_MODES)}, not {self.bounds!r}"
            )

    # -- fitting ------------------------------------------------------------------------
    def _before_fit(self) -> None:
        self._check_params()
        for stale in ("_net_cache", "dp_budget_", "token_ratios_"):
            self.__dict__.pop(stale, None)

    # duplicates: private_fit's keywords, as Generator._privacy asks; DPGenerator._privacy
    # names the same settings (here max_bins is the lm's n_bins)
    def _privacy(self) -> dict[str, Any]:
        return {
            "bounds": self.bounds,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_seed": self.noise_seed,
            "max_bins": self.n_bins,
        }

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        """Learn ``X``; with ``epsilon`` (``self._private_run`` set by ``Generator.fit``),
        on the released domain under DP-SGD (:mod:`healthforge.generators.lm.private`)."""
        if self._private_run is not None:
            from healthforge.generators.lm.private import fit_private

            fit_private(self, self._private_run, progress)
            return
        rng = np.random.default_rng(self.seed)
        tokenizer = Tokenizer.from_data(X, self.discrete_, self.cardinalities_, self.n_bins)
        codes = tokenizer.encode(X, rng)
        self.rules_ = learn_rules(codes, tokenizer.sizes) if self.hard_rules else []
        decimals = [c.decimals for c in self.schema_.modelled]
        # sums only: lookups are enforced token by token while writing (rules_ above)
        self.relations_ = (
            ColumnRules.learn(X, list(self.discrete_), decimals, lookups=False)
            if self.hard_rules
            else None
        )
        # a sum's result is recomputed after writing: bound its parts, not the result
        computed = [s.target for s in self.relations_.sums] if self.relations_ else []
        self.orders_ = learn_orders(X, self.discrete_, computed) if self.hard_rules else []
        self.ties_ = learn_ties(codes, tokenizer, computed) if self.hard_rules else []
        self._train(tokenizer, codes, progress, None)
        if self.calibrate:  # after training: the ratios correct this network's shares
            started = time.perf_counter()
            drawn, _ = self._draw_codes(CALIBRATION_ROWS, np.random.default_rng([self.seed, 1]), {})
            self.token_ratios_ = token_ratios(codes, drawn, tokenizer.slot_valid)
            self.timing_["calibration_s"] = time.perf_counter() - started

    def _train(
        self,
        tokenizer: Tokenizer,
        codes: np.ndarray,
        progress: ProgressCallback | None,
        private: dict[str, Any] | None,
    ) -> Any:
        """Train the network on local codes ``(n, d)``; returns the training result."""
        settings = self._settings(private is not None)
        result = train(codes, tokenizer, settings, progress, private, self._target_columns())
        self.tokenizer_ = tokenizer
        self.state_ = result.state
        self.epochs_trained_ = result.epochs_trained
        if private is None:
            self.history_ = result.history
        else:  # the per-epoch mean loss over the private rows is not noised: never kept
            self.__dict__.pop("history_", None)
        self.timing_ = {"training_s": result.seconds}
        return result

    def _settings(self, private: bool) -> TrainSettings:
        try:
            device = select_device(self.device)
        except HealthForgeError:
            raise
        except Exception as exc:  # pragma: no cover - torch-specific device errors
            raise HealthForgeError(f"cannot use device '{self.device}': {exc}") from None
        # duplicates: a record built field by field; alike in shape to other keyword lists
        return TrainSettings(
            d_model=self.d_model,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            dropout=self.dropout,
            lr=self.lr,
            weight_decay=self.weight_decay,
            smoothing=0.0 if private else float(self.smoothing),
            batch_size=self.batch_size,
            epochs=self.dp_epochs if private else self.epochs,
            early_stopping=self.early_stopping and not private,
            target_weight=1.0 if private else float(self.target_weight),
            patience=self.patience,
            seed=self.seed,
            threads=self.threads,
            device=device,
        )

    # -- sampling ------------------------------------------------------------------------
    def _net(self) -> Any:
        """The network on the CPU in eval mode, rebuilt once per object (not pickled)."""
        net = self.__dict__.get("_net_cache")
        if net is None:
            import_torch()
            net = build_network(self.tokenizer_, self._settings(False))
            try:
                net.load_state_dict(self.state_)
            except RuntimeError:  # missing or misshapen weights: an older network design
                raise HealthForgeError(
                    "this lm model was saved by an older healthforge whose network differs "
                    "from this version's",
                    "refit it: `healthforge fit DATA --generator lm --save MODEL`",
                ) from None
            net.eval()
            self._net_cache = net
        return net

    # duplicates: the Generator hooks, alike in every natively conditioning generator
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._sample_given(n, rng, {})

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        """Rows ``(n, d)`` written with the constrained columns first, masked to what is allowed."""
        codes, orders = self._draw_codes(n, rng, constraints)
        if orders is not None:
            X = orders.decode(codes, rng, constraints)
        else:
            X = self.tokenizer_.decode(codes, rng, constraints)
        relations = getattr(self, "relations_", None)
        return relations.apply(X, skip=set(constraints)) if relations else X

    def _draw_codes(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> tuple[np.ndarray, OrderBook | None]:
        """Local token codes ``(n, d)`` of ``n`` rows before decoding, and the order
        relations that decoding keeps."""
        rules = getattr(self, "rules_", [])
        book = RuleBook(rules, self.tokenizer_.n_columns) if rules else None
        found = getattr(self, "orders_", [])  # none under DP
        orders = OrderBook(found, self.tokenizer_) if found else None
        tied = getattr(self, "ties_", [])  # none under DP
        ties = TieBook(tied, self.tokenizer_.n_columns) if tied else None
        codes = sample_codes(
            self._net(), self.tokenizer_, n, rng, constraints, self.temperature, self.top_p,
            book, orders, ties, self._target_columns(), getattr(self, "token_ratios_", None),
        )  # fmt: skip
        return codes, orders

    def _target_columns(self) -> list[int]:
        """The schema's prediction target as a modelled column index, if it has one."""
        names = [c.name for c in self.schema_.modelled]
        target = self.schema_.target
        return [names.index(target)] if target in names else []

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a model saved before a parameter existed was trained as with its old value
        for name, value in _BEFORE_PARAMETER.items():
            state.setdefault(name, value)
        self.__dict__.update(state)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_net_cache", None)  # live modules are rebuilt; the weights are CPU tensors
        return state


# what training did before each parameter was added (models saved then load as they were)
_BEFORE_PARAMETER = {"target_weight": 1.0, "smoothing": 0.0, "hard_rules": True, "calibrate": False}


def _positive_int(gen: LmGenerator, name: str) -> None:
    check_positive_int(getattr(gen, name), name, "lm: ")
