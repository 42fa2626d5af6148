"""Training the ``lm`` network: next-value prediction over random column orders.

Every step shuffles the column order of every row afresh, so the network learns
``p(value of column c | any subset of the other columns)``. The loss is the
cross-entropy of each value token among the tokens of its own column only. The
prediction target's term counts ``target_weight`` times another column's in training
(not in the held-out loss, which judges the model, and not under DP): the network's
conditional of the outcome was near-calibrated but weak on small tables, and sampled
labels carried too little of it. Weight 4 against 1 (benchmarks/results/lm.md, seventh
session): TSTR/TRTR 0.913 against 0.868 on 20 ICU splits, 0.910 against 0.876 on Pima;
detection 0.534 against 0.541 and 0.610 against 0.629; on NHEFS (5 splits) TSTR/TRTR
1.006 against 0.997 but detection 0.680 against 0.664.

Without differential privacy, 10% of the rows (at least ``VALID_ROWS``, at most a
fifth of the table; none below ``MIN_VALID_ROWS``) are held out and the loss on them,
with fixed column orders, is checked after every epoch:
training stops after ``patience`` epochs without improvement and keeps the best
epoch. With DP-SGD (:mod:`healthforge.generators.private.sgd`) there is no held-out check
(choosing an epoch by private validation rows would leak): a fixed number of epochs
is trained under the noise calibrated for the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from healthforge.generators.core.torch_support import (
    EarlyStopping,
    configure,
    import_torch,
    module_to_cpu_state,
)
from healthforge.generators.lm.model import network_class
from healthforge.generators.lm.tokenizer import Tokenizer
from healthforge.progress import ProgressCallback, report

MIN_VALID_ROWS = 20  # fewer held-out rows than this (tables under 100 rows): no early stopping
VALID_ROWS = 50  # held out at least this many rows, up to a fifth of a small table
VALID_SHARE = 0.1
MIN_BATCH = 16


@dataclass
class TrainSettings:
    """What the training loop needs from the generator's parameters."""

    d_model: int
    n_layers: int
    n_heads: int
    dropout: float
    lr: float
    weight_decay: float
    smoothing: float
    batch_size: int
    epochs: int
    early_stopping: bool
    patience: int
    target_weight: float
    seed: int
    threads: int | None
    device: Any


@dataclass
class TrainResult:
    """The trained weights (CPU tensors) and what happened."""

    state: dict[str, Any]
    epochs_trained: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    private: Any = None  # the dp_sgd.PrivateTraining of a DP run


def build_network(tokenizer: Tokenizer, s: TrainSettings) -> Any:
    return network_class()(
        tokenizer.n_columns,
        tokenizer.vocab_size,
        s.d_model,
        s.n_layers,
        s.n_heads,
        s.dropout,
        tokenizer.numeric_features(),
    )


def _column_weights(d: int, target: list[int], weight: float) -> np.ndarray:
    """``(d,)`` float32 loss weights: ``weight`` on ``target``, 1 elsewhere, scaled to a
    mean of 1 so the loss, and so the learning rate's effect, keep their scale."""
    weights = np.ones(d, dtype=np.float32)
    weights[target] = weight
    return weights * (d / weights.sum())


def _value_mask(tokenizer: Tokenizer, device: Any) -> Any:
    """``(d, V)`` bool: token ``v`` belongs to column ``j``."""
    torch = import_torch()
    mask = np.zeros((tokenizer.n_columns, tokenizer.vocab_size), dtype=bool)
    for j, (offset, size) in enumerate(zip(tokenizer.offsets, tokenizer.sizes, strict=True)):
        mask[j, offset : offset + size] = True
    return torch.as_tensor(mask, device=device)


def loss_tables(tokenizer: Tokenizer, device: Any = "cpu") -> dict[str, Any]:
    """The lookup tables :func:`sequence_loss` needs, as tensors on ``device``."""
    torch = import_torch()
    return {
        "bos": tokenizer.vocab_size,
        "value_mask": _value_mask(tokenizer, device),
        "slots": torch.as_tensor(tokenizer.slots, device=device),
        "slot_valid": torch.as_tensor(tokenizer.slot_valid, device=device),
        "offsets": torch.as_tensor(tokenizer.offsets, device=device),
    }


def sequence_loss(net: Any, rows: Any, orders: Any, tables: dict[str, Any], full: bool) -> Any:
    """Mean cross-entropy of ``rows`` ``(B, d)`` global ids written in ``orders`` ``(B, d)``.

    ``full`` scores the whole vocabulary through the head module (what opacus can clip
    per example); otherwise only each column's own tokens are scored (same loss, cheaper).
    """
    torch = import_torch()
    values = torch.gather(rows, 1, orders)
    prev = torch.cat([torch.full_like(values[:, :1], tables["bos"]), values[:, :-1]], dim=1)
    if full:
        logits = net(prev, orders).masked_fill(~tables["value_mask"][orders], -1e9)
        target = values
    else:
        hidden = net.hidden(prev, orders)
        back = torch.argsort(orders, dim=1)  # position at which each column was written
        by_column = torch.gather(hidden, 1, back[..., None].expand(-1, -1, hidden.shape[-1]))
        logits = net.column_logits(by_column, tables["slots"])
        logits = logits.masked_fill(~tables["slot_valid"], -1e9)
        if "soft" in tables:  # ordinal label smoothing of numeric tokens (training only)
            logp = torch.log_softmax(logits, dim=-1)
            per_value = -(tables["soft"][rows] * logp).sum(dim=-1)
        else:
            target = rows - tables["offsets"]  # local codes, column j at index j
            per_value = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), target, reduction="none"
            )  # (B, d)
        if "weights" in tables:  # the target's loss weighted (training only)
            per_value = per_value * tables["weights"]
        return per_value.sum() / max(rows.numel(), 1)  # 0, not NaN, on an empty batch
    total = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="sum"
    )
    return total / max(target.numel(), 1)  # 0, not NaN, on an empty Poisson batch


def train(
    codes: np.ndarray,
    tokenizer: Tokenizer,
    s: TrainSettings,
    progress: ProgressCallback | None,
    private: dict[str, Any] | None = None,
    target: list[int] | None = None,
) -> TrainResult:
    """Train on local codes ``(n, d)``; ``private`` holds DP-SGD's settings, or ``None``;
    ``target`` the prediction target's column index (if any), weighted in the loss."""
    torch = import_torch()
    gen = configure(s.seed, s.threads)
    rng = np.random.default_rng(s.seed)
    started = time.perf_counter()
    rows = torch.as_tensor(codes + tokenizer.offsets[None, :], device=s.device)
    n, d = codes.shape
    net = build_network(tokenizer, s).to(s.device)
    tables = loss_tables(tokenizer, s.device)
    opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    # the held-out loss stays the plain cross-entropy: it judges the model, not the recipe
    soft_tables = dict(tables)
    if s.smoothing > 0:
        soft_tables["soft"] = torch.as_tensor(tokenizer.soft_targets(s.smoothing), device=s.device)
    if target and s.target_weight != 1.0:
        weights = _column_weights(d, target, s.target_weight)
        soft_tables["weights"] = torch.as_tensor(weights, device=s.device)

    def orders_for(m: int) -> Any:
        return torch.argsort(torch.rand(m, d, generator=gen), dim=1).to(s.device)

    if private is not None:
        return _train_private(net, opt, rows, s, private, tables, orders_for, progress, started)

    # small tables overfit fastest: hold out up to a fifth of them rather than nothing
    n_valid = max(round(VALID_SHARE * n), min(VALID_ROWS, n // 5))
    use_valid = s.early_stopping and n_valid >= MIN_VALID_ROWS
    perm = rng.permutation(n)
    valid = rows[perm[:n_valid]] if use_valid else None
    train_rows = rows[perm[n_valid:]] if use_valid else rows
    valid_orders = orders_for(n_valid) if use_valid else None
    stopper = EarlyStopping(patience=s.patience, min_delta=0.0)
    # at least ~8 steps per epoch: a small table otherwise stops before it learns much
    batch = min(s.batch_size, max(MIN_BATCH, len(train_rows) // 8))
    history: list[dict[str, float]] = []
    epoch = 0
    for epoch in range(1, s.epochs + 1):
        net.train()
        order = torch.as_tensor(rng.permutation(len(train_rows)), device=s.device)
        total, steps = 0.0, 0
        for start in range(0, len(train_rows), batch):
            idx = order[start : start + batch]
            loss = sequence_loss(net, train_rows[idx], orders_for(len(idx)), soft_tables, False)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, steps = total + float(loss.detach()), steps + 1
        entry = {"epoch": float(epoch), "loss": total / max(steps, 1)}
        report(progress, "training", epoch, s.epochs)
        if use_valid:
            net.eval()
            with torch.no_grad():
                entry["valid_loss"] = float(sequence_loss(net, valid, valid_orders, tables, False))
            history.append(entry)
            if stopper.step(entry["valid_loss"], net):
                break
        else:
            history.append(entry)
    if use_valid:
        stopper.restore(net)
    return TrainResult(module_to_cpu_state(net), epoch, history, time.perf_counter() - started)


def _train_private(
    net: Any,
    opt: Any,
    rows: Any,
    s: TrainSettings,
    private: dict[str, Any],
    tables: dict[str, Any],
    orders_for: Any,
    progress: ProgressCallback | None,
    started: float,
) -> TrainResult:
    from healthforge.generators.private.sgd import make_private

    run = make_private(
        net,
        opt,
        rows,
        target_epsilon=private["epsilon"],
        delta=private["delta"],
        epochs=s.epochs,
        batch_size=s.batch_size,
        max_grad_norm=private["max_grad_norm"],
        prior_rho=private["prior_rho"],
        seed=private["noise_seed"],
    )
    history: list[dict[str, float]] = []
    for epoch in range(1, s.epochs + 1):
        run.module.train()
        total, steps = 0.0, 0
        for (batch,) in run.loader:
            # an empty Poisson batch still takes its noisy step (skipping it would leak)
            loss = sequence_loss(run.module, batch, orders_for(len(batch)), tables, True)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        history.append({"epoch": float(epoch), "loss": total / max(steps, 1)})
        report(progress, "training (DP-SGD)", epoch, s.epochs)
    state = module_to_cpu_state(run.module._module)
    return TrainResult(state, s.epochs, history, time.perf_counter() - started, private=run)
