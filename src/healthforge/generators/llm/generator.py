"""``llm``: a pretrained language model fine-tuned (LoRA) on rows written as text.

GReaT-style (Borisov et al., ICLR 2023): each training row becomes
``"age is 67, sex is female, ..."`` in a column order shuffled per example; a pretrained
causal LM is fine-tuned with LoRA adapters (frozen embeddings, see
:mod:`~healthforge.generators.llm.model`) and rows are sampled with schema-constrained
decoding (:mod:`~healthforge.generators.llm.decode`), so every row parses and respects
categories and bounds. Conditions are written into the prompt: conditioned columns come
first and may only take allowed values, so they hold by construction.

CPU default: Gemma 3 270M (GGUF, optional extra ``llm``); on a GPU, point ``model`` at a
larger local model and raise ``steps``. See docs/llm.md.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.torch_support import configure, select_device
from healthforge.generators.llm import loading
from healthforge.generators.llm.decode import plan_orders, sample_batch, special_tokens
from healthforge.generators.llm.model import CutHeadLM, pad_batch, train
from healthforge.generators.llm.text import column_labels, column_text, serialise, trie_tokens
from healthforge.progress import ProgressCallback


class LlmGenerator(Generator):
    """Fine-tuned pretrained language model (GReaT-style, LoRA, constrained decoding).

    Args:
        model: a local ``.gguf`` file or Hugging Face model folder; ``None`` uses the
            Gemma 3 270M GGUF of the ``llm`` extra. Never downloaded.
        steps: fine-tuning steps (each ``batch_size`` rows, freshly shuffled orders).
        batch_size: rows per fine-tuning step.
        lr: peak AdamW learning rate of the LoRA adapters.
        warmup: share of ``steps`` over which the learning rate rises linearly to ``lr``;
            it then decays to 0 along a cosine.
        schedule: ``"cosine"`` (decay after the warmup) or ``"constant"`` (flat after it).
        lora_rank: rank of the adapters on the attention and MLP projections.
        lora_alpha: LoRA scaling numerator (scale = alpha / rank).
        temperature: sampling temperature (1.0 samples the fitted model as it is).
        sample_batch: rows decoded together (one KV cache).
        epsilon: differential privacy is not offered yet; any value is refused.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        threads: CPU threads for torch.
        seed: seed for fine-tuning and the default seed for sampling.
    """

    name = "llm"
    summary = "Pretrained language model fine-tuned with LoRA on rows as text (GReaT-style)."
    family = "language model"
    data_types = ("continuous", "integer", "categorical", "datetime")
    conditioning = "native"
    high_dimensional = False

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        model: str | None = None,
        steps: int = 120,
        batch_size: int = 8,
        lr: float = 2e-3,
        warmup: float = 0.0,
        schedule: str = "constant",
        lora_rank: int = 8,
        lora_alpha: float = 16.0,
        temperature: float = 1.0,
        sample_batch: int = 64,
        epsilon: float | None = None,
        device: str = "auto",
        threads: int | None = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.model = model
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.warmup = warmup
        self.schedule = schedule
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.temperature = temperature
        self.sample_batch = sample_batch
        self.epsilon = epsilon
        self.device = device
        self.threads = threads

    # -- fitting ------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        if self.epsilon is not None:
            raise HealthForgeError(
                "the llm generator does not offer differential privacy yet (epsilon "
                f"{self.epsilon} was asked for)",
                "use a DP generator (aim, mst, dp_copula) or leave epsilon unset",
            )
        if self.steps < 1 or self.batch_size < 1 or self.temperature <= 0:
            raise HealthForgeError("steps and batch_size must be ≥ 1 and temperature > 0")
        if self.schedule not in ("cosine", "constant"):
            raise HealthForgeError(
                f"unknown learning-rate schedule '{self.schedule}'",
                "use schedule=cosine or schedule=constant",
            )
        if not 0 <= self.warmup < 1:
            raise HealthForgeError(
                f"warmup must be a share of the steps in [0, 1), got {self.warmup}",
                "e.g. warmup=0.1 warms up over the first tenth of the steps",
            )
        started = time.perf_counter()
        # a path the user gave is checked first; then the packages, so that without the
        # extra the error names the one install command, not only the default model
        chosen = loading.resolve_model(self.model) if self.model is not None else None
        loading.import_stack()
        self.model_path_ = str(chosen or loading.default_model_path())
        # the default weights are not open source: say so every time they are used
        self.model_notice_ = loading.GEMMA_NOTICE if self.model is None else None
        if self.model_notice_:
            warnings.warn(self.model_notice_, UserWarning, stacklevel=3)
        lm, tokenizer = self._load()
        self.load_seconds_ = time.perf_counter() - started

        def tokenize(texts: list[str]) -> list[list[int]]:
            return [list(ids) for ids in tokenizer(texts, add_special_tokens=False).input_ids]

        missing = np.isnan(X).any(axis=0)
        labels = column_labels([c.name for c in self.schema_.modelled])
        self.columns_ = [
            column_text(c, X[:, j], tokenize, bool(missing[j]), labels[j])
            for j, c in enumerate(self.schema_.modelled)
        ]
        self.special_ = special_tokens(tokenizer)
        self.vocab_ = self._vocabulary()
        self.lm_ = lm = self._build(lm)
        local = {int(t): i for i, t in enumerate(self.vocab_)}
        rng = np.random.default_rng(self.seed)
        special = self.special_

        def make_batch(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
            rows = rng.integers(0, len(X), size=self.batch_size)
            seqs, learn = [], []
            for i in rows:
                ids, flags = serialise(
                    self.columns_,
                    X[i],
                    rng.permutation(X.shape[1]),
                    special["bos"],
                    special["sep"],
                    special["eos"],
                )
                seqs.append(ids)
                learn.append(flags)
            return pad_batch(seqs, learn, local, special["pad"])

        stats = train(
            lm, make_batch, self.steps, self.lr, self.warmup, rng, progress, self.schedule
        )
        self.adapter_ = lm.adapter_state()
        self.train_stats_ = {
            "load_seconds": self.load_seconds_,
            "train_seconds": stats.seconds,
            "seconds_per_step": stats.seconds / stats.steps,
            "tokens_per_row": stats.tokens / (stats.steps * self.batch_size),
            "padding_share": stats.padding / (stats.tokens + stats.padding),
            "first_loss": stats.losses[0],
            "last_loss": float(np.mean(stats.losses[-5:])),
            "vocabulary": len(self.vocab_),
        }

    def _vocabulary(self) -> np.ndarray:
        tokens: set[int] = set()
        for col in self.columns_:
            tokens |= set(col.first_prefix) | set(col.prefix) | trie_tokens(col.trie)
        tokens |= {t for k, t in self.special_.items() if t is not None and k != "pad"}
        return np.array(sorted(tokens), dtype=np.int64)

    def _load(self) -> tuple[Any, Any]:
        configure(self.seed, self.threads)
        return loading.load(loading.resolve_model(self.model_path_))

    def _build(self, model: Any) -> CutHeadLM:
        device = select_device(self.device)
        return CutHeadLM(model, self.vocab_, self.lora_rank, self.lora_alpha, device)

    def _ready(self) -> CutHeadLM:
        """The fine-tuned model; after unpickling, reloaded from ``model_path_``."""
        lm = getattr(self, "lm_", None)
        if lm is None:
            model, _ = self._load()
            lm = self.lm_ = self._build(model)
            lm.load_adapter_state(self.adapter_)
            lm.peft_model.eval()
        return lm

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("lm_", None)  # 1 GB of frozen base weights: reloaded from model_path_
        return state

    # -- sampling -----------------------------------------------------------------------
    # duplicates: the Generator hooks, alike in every natively conditioning generator
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._sample_given(n, rng, {})

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        lm = self._ready()
        configure(int(rng.integers(2**31)), self.threads)
        tries = [
            col.restricted(constraints[j]) if j in constraints else col.trie
            for j, col in enumerate(self.columns_)
        ]
        local = {int(t): i for i, t in enumerate(self.vocab_)}
        given = sorted(constraints)
        out = []
        for start in range(0, n, self.sample_batch):
            size = min(self.sample_batch, n - start)
            orders = plan_orders(size, len(self.columns_), given, rng)
            out.append(
                sample_batch(
                    lm, self.columns_, tries, orders, rng, self.special_, local, self.temperature
                )
            )
        return np.concatenate(out)
