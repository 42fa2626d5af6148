"""A small causal transformer over (column, value) tokens in any column order.

Position ``t`` of a record's sequence holds the embedding of the previous value token
(a begin token at ``t = 0``; value ids are global, so they say which column they belong
to) plus the embedding of the column asked for next, ``c_t``. Causal self-attention
lets position ``t`` see the pairs already written; its output scores the value tokens of
``c_t`` only. No positional embedding: the model should not care in which order the
known pairs came, which is what makes any subset of columns usable as a prompt.

Sampling runs one position at a time with a key/value cache, so writing a record of
``d`` columns costs ``d`` single-token steps instead of ``d`` full passes.

torch is imported lazily (:func:`network_class`), so importing healthforge stays cheap.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from healthforge.generators.core.torch_support import import_torch

MLP_RATIO = 2  # hidden width of the MLPs / d_model: half the usual 4, for CPU speed
MASK_LEVELS = 65536  # dropout masks from 16 random bits per element (dropout_mask)


def dropout_mask(x: Any, p: float) -> tuple[Any, float]:
    """A dropout mask shaped like ``x`` (bool, True = kept) and the scale ``1 / keep rate``.

    Drawn from 16 random bits per element: torch's CPU ``bernoulli_`` draws one random
    number per element, and on NHEFS it was 22 % of a training step (one thread), for the
    attention weights ``(B, H, T, T)`` above all; four masks per 64-bit word from torch's
    seeded generator cost about a quarter of that. The drop rate is ``p`` rounded to
    1/65536 (0.1 -> 0.100006); the scale uses the exact keep rate, so expectations hold.
    """
    torch = import_torch()
    cut = round(p * MASK_LEVELS)
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=x.device)
    bits = words.view(torch.int16)[:n].view(x.shape)
    keep = bits >= cut - MASK_LEVELS // 2  # int16 is uniform on [-32768, 32767]
    return keep, MASK_LEVELS / (MASK_LEVELS - cut)


def dropout(x: Any, p: float) -> Any:
    """Inverted dropout of ``x`` (any shape) with :func:`dropout_mask`."""
    if round(p * MASK_LEVELS) <= 0:
        return x
    keep, scale = dropout_mask(x, p)
    return x * keep * scale


@cache
def network_class() -> Any:
    """The ``TabularTransformer`` module class, defined on first use."""
    torch = import_torch()
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        """Pre-norm transformer block: causal self-attention then a GELU MLP."""

        def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
            super().__init__()
            self.n_heads = n_heads
            self.norm1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.fc1 = nn.Linear(d_model, MLP_RATIO * d_model)
            self.fc2 = nn.Linear(MLP_RATIO * d_model, d_model)
            self.p = dropout

        def _heads(self, x: Any) -> tuple[Any, Any, Any]:
            b, t, d = x.shape
            q, k, v = self.qkv(self.norm1(x)).split(d, dim=-1)
            shape = (b, t, self.n_heads, d // self.n_heads)
            return tuple(z.view(shape).transpose(1, 2) for z in (q, k, v))  # type: ignore[return-value]

        def _drop(self, x: Any) -> Any:
            return dropout(x, self.p) if self.training else x

        def _mlp(self, x: Any) -> Any:
            return x + self._drop(self.fc2(F.gelu(self.fc1(self.norm2(x)))))

        def forward(self, x: Any) -> Any:
            """``(B, T, d_model)`` -> same shape, causally masked."""
            b, t, d = x.shape
            q, k, v = self._heads(x)
            if self.training and self.p > 0:
                # written out: torch's fused kernel has no dropout on the CPU, and its
                # fallback draws masks with bernoulli_ (see dropout_mask)
                causal = torch.full((t, t), -math.inf, device=x.device).triu(1)
                scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
                weights = torch.softmax(scores + causal, dim=-1)
                keep, scale = dropout_mask(weights, self.p)
                # scaled after the product: (B, H, T, dh) is smaller than (B, H, T, T)
                a = torch.matmul(weights * keep, v) * scale
            else:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self._drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))
            return self._mlp(x)

        def step(self, x: Any, cache_k: Any, cache_v: Any, t: int) -> Any:
            """One new position ``(B, 1, d_model)``.

            Caches are filled up to position ``t``: keys ``(B, H, dh, T)`` (stored
            transposed, so the score product needs no copy), values ``(B, H, T, dh)``.
            """
            b, _, d = x.shape
            q, k, v = self._heads(x)
            cache_k[:, :, :, t : t + 1] = k.transpose(-1, -2)
            cache_v[:, :, t : t + 1] = v
            scores = torch.matmul(q, cache_k[..., : t + 1]) / math.sqrt(q.shape[-1])
            a = torch.matmul(torch.softmax(scores, dim=-1), cache_v[:, :, : t + 1])
            x = x + self.proj(a.reshape(b, 1, d))
            return self._mlp(x)

    class TabularTransformer(nn.Module):
        """Scores the value tokens of the next column given the pairs written so far.

        Args:
            n_columns: number of columns ``d``.
            vocab_size: number of value tokens over all columns ``V`` (id ``V`` is the
                begin token).
            features: ``(V, F)`` numeric tokens' place features
                (:meth:`Tokenizer.numeric_features`), zeros for other tokens. They enter
                the input embedding (``num_in``) and the output scores (``num_out``:
                ``logit[v] += num_out(h) . features[v]``, smooth in the token's place), so
                neighbouring numeric tokens are alike from the start.
        """

        def __init__(
            self,
            n_columns: int,
            vocab_size: int,
            d_model: int,
            n_layers: int,
            n_heads: int,
            dropout: float,
            features: Any,
        ) -> None:
            super().__init__()
            self.vocab_size = vocab_size
            feats = torch.as_tensor(features, dtype=torch.float32)
            # the begin token (id V) has no place: a zero row
            self.register_buffer("features", torch.cat([feats, feats.new_zeros(1, feats.shape[1])]))
            self.num_in = nn.Linear(feats.shape[1], d_model, bias=False)
            self.num_out = nn.Linear(d_model, feats.shape[1], bias=False)
            self.value_emb = nn.Embedding(vocab_size + 1, d_model)
            self.col_emb = nn.Embedding(n_columns, d_model)
            self.blocks = nn.ModuleList([Block(d_model, n_heads, dropout) for _ in range(n_layers)])
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab_size)

        def hidden(self, prev_values: Any, next_columns: Any) -> Any:
            """Final hidden states ``(B, T, d_model)``; inputs ``(B, T)``."""
            x = self.embed(prev_values, next_columns)
            for block in self.blocks:
                x = block(x)
            return self.norm(x)

        def embed(self, prev_values: Any, next_columns: Any) -> Any:
            """Input vectors ``(..., d_model)`` of value ids and column ids ``(...)``."""
            value = self.value_emb(prev_values) + self.num_in(self.features[prev_values])
            return value + self.col_emb(next_columns)

        def forward(self, prev_values: Any, next_columns: Any) -> Any:
            """Logits ``(B, T, V)`` over the whole vocabulary (the DP-SGD path: opacus
            needs the head called as a module to clip per-example gradients)."""
            return self.vocab_logits(self.hidden(prev_values, next_columns))

        def column_logits(self, hidden: Any, slots: Any) -> Any:
            """Logits ``(B, d, W)`` of each column's own tokens.

            ``hidden`` ``(B, d, d_model)`` is arranged by column (index ``j`` holds the
            state that predicts column ``j``); ``slots`` ``(d, W)`` are the global ids of
            each column's tokens. Far cheaper than scoring the whole vocabulary.
            """
            weight, bias = self.head.weight[slots], self.head.bias[slots]  # (d, W, dm), (d, W)
            smooth = torch.einsum("bjf,jwf->bjw", self.num_out(hidden), self.features[slots])
            return torch.einsum("bjm,jwm->bjw", hidden, weight) + bias + smooth

        def slot_logits(self, hidden: Any, ids: Any) -> Any:
            """Logits ``(B, W)`` of tokens ``ids`` ``(W,)`` from hidden states ``(B, d_model)``."""
            out = hidden @ self.head.weight[ids].T + self.head.bias[ids]
            return out + self.num_out(hidden) @ self.features[ids].T

        def vocab_logits(self, hidden: Any) -> Any:
            """Logits ``(B, V)`` of every value token from hidden states ``(B, d_model)``."""
            smooth = self.num_out(hidden) @ self.features[: self.vocab_size].T
            return self.head(hidden) + smooth

        def new_cache(self, batch: int, length: int) -> list[tuple[Any, Any]]:
            """Empty caches per block: keys ``(B, H, dh, T)``, values ``(B, H, T, dh)``."""
            out = []
            for block in self.blocks:
                dh = self.col_emb.embedding_dim // block.n_heads
                keys = torch.zeros(batch, block.n_heads, dh, length)
                out.append((keys, torch.zeros(batch, block.n_heads, length, dh)))
            return out

        def step_hidden(self, prev_value: Any, next_column: Any, cache: list, t: int) -> Any:
            """Final hidden state ``(B, d_model)`` at position ``t`` (inputs ``(B,)``)."""
            x = self.embed(prev_value, next_column)[:, None, :]
            for block, (ck, cv) in zip(self.blocks, cache, strict=True):
                x = block.step(x, ck, cv, t)
            return self.norm(x)[:, 0, :]

    return TabularTransformer
