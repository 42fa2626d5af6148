"""LoRA fine-tuning of a pretrained causal LM on serialised rows, with a cut output layer.

Two things make this affordable on a CPU:

* only LoRA adapters on the attention and MLP projections train; the embedding table
  (170M of Gemma 3 270M's 268M parameters) and every base weight stay frozen;
* the output layer keeps only the few hundred tokens the table's text can contain
  (column names, values, digits, separators) instead of the 262k-token vocabulary. The
  decoder may only emit those tokens anyway, so the softmax is taken over them in
  training as in sampling; it removes the largest matrix product of every step.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from healthforge.progress import ProgressCallback, report

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainStats:
    steps: int
    seconds: float
    losses: list[float]
    tokens: int  # real tokens fed, summed over steps
    padding: int  # padding positions fed, summed over steps


class CutHeadLM:
    """A LoRA-wrapped causal LM whose logits cover only ``vocab`` (global token ids).

    ``forward(ids)`` maps ``(batch, length)`` global ids to ``(batch, length, len(vocab))``
    logits; ``step(ids, past)`` does one cached decoding step.
    """

    def __init__(self, model: Any, vocab: np.ndarray, rank: int, alpha: float, device: Any):
        import peft
        import torch

        self.torch = torch
        names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        targets = [t for t in LORA_TARGETS if t in names] or "all-linear"
        config = peft.LoraConfig(
            r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets, bias="none"
        )
        with warnings.catch_warnings():  # transformers' deprecation notes, not the user's
            warnings.simplefilter("ignore", FutureWarning)
            self.peft_model = peft.get_peft_model(model, config).to(device)
        base = self.peft_model.get_base_model()
        self.decoder = base.get_decoder()
        self.device = device
        weight = base.get_output_embeddings().weight.detach()
        self.vocab = torch.as_tensor(vocab, dtype=torch.long)
        self.head = weight[self.vocab.to(weight.device)].clone().to(device)  # (V, hidden)
        text_config = getattr(base.config, "text_config", base.config)
        self.softcap = getattr(text_config, "final_logit_softcapping", None)
        self.config = base.config

    def trainable(self) -> list[Any]:
        return [p for p in self.peft_model.parameters() if p.requires_grad]

    def _logits(self, hidden: Any) -> Any:
        logits = hidden @ self.head.T
        if self.softcap:
            logits = self.torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def forward(self, ids: Any, mask: Any) -> Any:
        out = self.decoder(input_ids=ids, attention_mask=mask, use_cache=False)
        return self._logits(out.last_hidden_state)

    def step(self, ids: Any, past: Any) -> tuple[Any, Any]:
        """Logits ``(batch, V)`` for the next token after ``ids`` ``(batch, 1)``."""
        out = self.decoder(input_ids=ids, past_key_values=past, use_cache=True)
        return self._logits(out.last_hidden_state[:, -1]), out.past_key_values

    def adapter_state(self) -> dict[str, Any]:
        import peft

        with warnings.catch_warnings():  # "no config file": the vocabulary is untouched
            warnings.simplefilter("ignore", UserWarning)
            state = peft.get_peft_model_state_dict(self.peft_model)
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    def load_adapter_state(self, state: dict[str, Any]) -> None:
        import peft

        peft.set_peft_model_state_dict(self.peft_model, state)


def pad_batch(
    seqs: list[list[int]], learn: list[list[bool]], local: dict[int, int], pad: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-padded ``ids`` and ``mask`` ``(b, L)`` and ``targets`` ``(b, L-1)`` (local ids).

    ``targets[i, t]`` is the local id of token ``t + 1`` where it carries loss, else -100.
    """
    length = max(len(s) for s in seqs)
    ids = np.full((len(seqs), length), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), length), dtype=np.int64)
    targets = np.full((len(seqs), length - 1), -100, dtype=np.int64)
    for i, (seq, flags) in enumerate(zip(seqs, learn, strict=True)):
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1
        for t in range(1, len(seq)):
            if flags[t]:
                targets[i, t - 1] = local[seq[t]]
    return ids, mask, targets


def lr_factor(step: int, steps: int, warmup: float, schedule: str = "cosine") -> float:
    """Learning-rate multiplier at ``step``: linear warmup over ``warmup * steps`` steps,
    then a cosine decay to 0 at the last step (``schedule="constant"``: flat after it).

    ``LlmGenerator`` defaults to a constant rate: on Pima at 120 steps, warmup + cosine to
    3e-3 reached the same final loss as a constant 2e-3 but a worse TSTR/TRTR (0.43
    against 0.72, one seed; benchmarks/results/llm.md).
    """
    ramp = max(1, round(warmup * steps)) if warmup > 0 else 0
    if step < ramp:
        return (step + 1) / ramp
    if schedule == "constant":
        return 1.0
    span = max(1, steps - ramp)
    return 0.5 * (1.0 + math.cos(math.pi * (step - ramp) / span))


def train(
    lm: CutHeadLM,
    make_batch: Any,
    steps: int,
    lr: float,
    warmup: float,
    rng: np.random.Generator,
    progress: ProgressCallback | None,
    schedule: str = "cosine",
) -> TrainStats:
    """``steps`` AdamW steps on batches from ``make_batch(rng) -> (ids, mask, targets)``,
    peak rate ``lr`` on the schedule of :func:`lr_factor`."""
    torch = lm.torch
    optimiser = torch.optim.AdamW(lm.trainable(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: lr_factor(step, steps, warmup, schedule)
    )
    lm.peft_model.train()
    losses: list[float] = []
    tokens = padding = 0
    start = time.perf_counter()
    for step in range(steps):
        ids, mask, targets = (torch.as_tensor(a, device=lm.device) for a in make_batch(rng))
        real = int(mask.sum())
        tokens, padding = tokens + real, padding + mask.numel() - real
        logits = lm.forward(ids, mask)[:, :-1]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        report(progress, "fine-tuning", step + 1, steps)
    lm.peft_model.eval()
    return TrainStats(steps, time.perf_counter() - start, losses, tokens, padding)
