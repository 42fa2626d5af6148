"""Backends that propose the partner's next tool call: the rule-based router and language
models (an OpenAI-compatible endpoint, or a GGUF file in-process through llama-cpp-python).

Every backend implements :class:`healthforge.partner.backends.base.Backend`; a model only
ever sees a :class:`healthforge.partner.context.ModelContext`, never the table.
"""

from healthforge.partner.backends.base import Backend, Proposal

__all__ = ["Backend", "Proposal"]
