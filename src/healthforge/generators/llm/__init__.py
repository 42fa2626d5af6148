"""The ``llm`` generator: a pretrained language model fine-tuned on rows written as text.

Heavy packages (torch, transformers, peft) are imported only when a model is fitted or
sampled, so importing this package stays cheap.
"""

from healthforge.generators.llm.generator import LlmGenerator

__all__ = ["LlmGenerator"]
