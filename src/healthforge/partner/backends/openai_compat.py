"""Any OpenAI-compatible chat endpoint as the partner's language model.

A llama.cpp server, Ollama, vLLM or a hosted API, found by base URL, model and key given
as arguments, else the environment (``HEALTHFORGE_LLM_BASE_URL``, ``HEALTHFORGE_LLM_MODEL``,
``HEALTHFORGE_LLM_API_KEY``, ``HEALTHFORGE_LLM_TIMEOUT``), else a config file (TOML or
JSON with ``base_url``, ``model``, ``api_key``, ``timeout``; ``config=`` or
``HEALTHFORGE_LLM_CONFIG``). The model proposes a call to a registered tool through tool
calling; a server without tool calling is asked for JSON constrained by a schema instead.
It sees only the :class:`ModelContext`; a context holding rows is refused unless the
endpoint is on this machine (loopback). Every failure is one :class:`HealthForgeError`
line, which the engine answers by using the rule-based choice.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from healthforge.errors import HealthForgeError
from healthforge.partner.backends import prompt
from healthforge.partner.backends.base import Proposal
from healthforge.partner.context import ModelContext

ENV_PREFIX = "HEALTHFORGE_LLM_"
EXTRA_HINT = "pip install openai (a dependency of healthforge: reinstall it with pip install -e .)"
Mode = Literal["auto", "tools", "json"]
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def load_settings(
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    config: str | Path | None = None,
) -> dict[str, Any]:
    """Arguments first, then ``HEALTHFORGE_LLM_*`` variables, then the config file."""
    path = config or os.environ.get(ENV_PREFIX + "CONFIG")
    fromfile: dict[str, Any] = _read_config(Path(path).expanduser()) if path else {}
    given = {"base_url": base_url, "model": model, "api_key": api_key, "timeout": timeout}
    out: dict[str, Any] = {}
    for key, value in given.items():
        env = os.environ.get(ENV_PREFIX + key.upper())
        out[key] = value if value is not None else env if env else fromfile.get(key)
    if not out["base_url"]:
        raise HealthForgeError(
            "no language-model endpoint is configured",
            f"pass base_url, set {ENV_PREFIX}BASE_URL (e.g. http://127.0.0.1:8080/v1) or "
            "name a config file; without one the partner runs with its rule-based router",
        )
    try:
        out["timeout"] = float(out["timeout"]) if out["timeout"] is not None else 60.0
    except ValueError:
        raise HealthForgeError(
            f"timeout '{out['timeout']}' is not a number of seconds",
            f"set {ENV_PREFIX}TIMEOUT to e.g. 60",
        ) from None
    return out


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise HealthForgeError(
            f"language-model config file '{path}' does not exist",
            "create it (TOML or JSON with base_url, model, api_key) or unset the option",
        )
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise HealthForgeError(
            f"cannot read language-model config '{path}': {str(exc).splitlines()[0]}",
            'write TOML (base_url = "...") or JSON',
        ) from None
    section = data.get("llm", data)
    return {k: section.get(k) for k in ("base_url", "model", "api_key", "timeout")}


def is_loopback(base_url: str) -> bool:
    host = (urlparse(base_url).hostname or "").lower()
    return host in _LOOPBACK or host.startswith("127.")


class OpenAICompatBackend:
    """Proposals from a chat model behind an OpenAI-compatible HTTP API."""

    uses_language_model = True

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        config: str | Path | None = None,
        mode: Mode = "auto",
        max_tokens: int = 300,
        temperature: float = 0.0,
        seed: int | None = 0,
        fold_system: bool = False,
    ) -> None:
        settings = load_settings(base_url, model, api_key, timeout, config)
        self.base_url: str = str(settings["base_url"]).rstrip("/")
        self.timeout: float = settings["timeout"]
        self.local = is_loopback(self.base_url)
        self.mode: Mode = mode
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.fold_system = fold_system  # for servers whose chat template drops system messages
        self._client = _client(self.base_url, settings["api_key"], self.timeout)
        self.model: str = settings["model"] or self._first_model()
        self.name = f"{self.model} at {urlparse(self.base_url).netloc}"

    # -- the Backend protocol ----------------------------------------------------------
    def propose(self, text: str, context: ModelContext, tools: list[dict[str, Any]]) -> Proposal:
        self._guard(context)
        if self.mode in ("auto", "tools"):
            try:
                return self._propose_with_tools(text, context, tools)
            except _NoToolCalling:
                if self.mode == "tools":
                    raise HealthForgeError(
                        f"{self.name} does not support tool calling",
                        "use mode='json' or 'auto', or a server with tool calling",
                    ) from None
                self.mode = "json"  # remembered: ask this server for JSON from now on
        return self._propose_with_json(text, context, tools)

    def explain(self, result_summary: str, context: ModelContext) -> str:
        self._guard(context)
        reply = self._chat(prompt.explain_messages(result_summary, context))
        content = (reply.choices[0].message.content or "").strip() if reply.choices else ""
        if not content:
            raise HealthForgeError(f"{self.name} gave an empty explanation", "using the template")
        return content

    # -- internals ---------------------------------------------------------------------
    def _guard(self, context: ModelContext) -> None:
        if context.has_rows and not self.local:
            raise HealthForgeError(
                f"refusing to send data rows to {self.name}: it is not on this machine",
                "rows may only go to a local model; leave allow_rows_to_model off",
            )

    def _propose_with_tools(
        self, text: str, context: ModelContext, tools: list[dict[str, Any]]
    ) -> Proposal:
        msgs = prompt.messages(text, context, tools, with_digest=False)
        reply = self._chat(msgs, tools=tools, tool_choice="auto")
        message = _first_message(reply, self.name)
        calls = getattr(message, "tool_calls", None) or []
        if calls:
            fn = calls[0].function
            tool = prompt.check_tool(str(fn.name), tools, self.name)
            args = prompt.parse_arguments(fn.arguments, tool, self.name)
            return Proposal(tool=tool, args=args, text=message.content or "", source=self.model)
        content = (message.content or "").strip()
        if prompt.looks_like_json(content):  # some servers put the call in the text
            return prompt.parse_json_answer(content, tools, self.model)
        return Proposal(tool=None, args={}, text=content, source=self.model)

    def _propose_with_json(
        self, text: str, context: ModelContext, tools: list[dict[str, Any]]
    ) -> Proposal:
        msgs = prompt.messages(text, context, tools, with_digest=True)
        schema = prompt.proposal_schema(tools)
        formats = [
            {"type": "json_schema", "json_schema": {"name": "proposal", "schema": schema}},
            {"type": "json_object", "schema": schema},  # llama-cpp-python's server
        ]
        for i, response_format in enumerate(formats):
            try:
                reply = self._chat(msgs, response_format=response_format)
                break
            except _NoToolCalling:
                if i == len(formats) - 1:
                    raise HealthForgeError(
                        f"{self.name} supports neither tool calling nor JSON output",
                        "use a server with tool calling (llama.cpp --jinja, Ollama, vLLM)",
                    ) from None
        content = _first_message(reply, self.name).content or ""
        return prompt.parse_json_answer(content, tools, self.model)

    def _chat(self, msgs: list[dict[str, str]], **kwargs: Any) -> Any:
        import openai

        try:
            return self._client.chat.completions.create(
                model=self.model,
                messages=prompt.fold_system(msgs) if self.fold_system else msgs,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                seed=self.seed,
                **kwargs,
            )
        except openai.APITimeoutError:
            raise HealthForgeError(
                f"{self.name} did not answer within {self.timeout:g} s",
                f"raise the timeout ({ENV_PREFIX}TIMEOUT) or use a smaller model",
            ) from None
        except openai.APIConnectionError:
            raise HealthForgeError(
                f"cannot reach the language model at {self.base_url}",
                "start the server or check the base URL",
            ) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (400, 404, 422, 501) and (
                "tools" in kwargs or "response_format" in kwargs
            ):
                raise _NoToolCalling() from None
            raise HealthForgeError(
                f"{self.name} answered HTTP {exc.status_code}: {_short(exc)}",
                "check the model name and the API key",
            ) from None
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise HealthForgeError(
                f"{self.name} failed: {_short(exc)}", "check the server"
            ) from None

    def _first_model(self) -> str:
        import openai

        try:
            models = list(self._client.models.list())
        except (openai.OpenAIError, ValueError):
            raise HealthForgeError(
                f"no model named and {self.base_url} does not list its models",
                f"pass model= or set {ENV_PREFIX}MODEL",
            ) from None
        if not models:
            raise HealthForgeError(
                f"{self.base_url} serves no model", f"pass model= or set {ENV_PREFIX}MODEL"
            )
        return str(models[0].id)


class _NoToolCalling(Exception):
    """The server refused the request's tools or response_format."""


def _client(base_url: str, api_key: str | None, timeout: float) -> Any:
    try:
        import openai
    except ImportError:
        raise HealthForgeError(
            "the OpenAI-compatible backend needs the openai package", f"install it: {EXTRA_HINT}"
        ) from None
    # local servers ignore the key, but the client insists on one
    return openai.OpenAI(
        base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
    )


def _first_message(reply: Any, who: str) -> Any:
    choices = getattr(reply, "choices", None)
    message = getattr(choices[0], "message", None) if choices else None
    if message is None:
        raise HealthForgeError(f"{who} sent a reply without a message", "using the router")
    return message


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
