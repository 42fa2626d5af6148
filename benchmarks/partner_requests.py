"""Score the partner's backends on a fixed set of clinicians' requests (issue #22).

``benchmarks/partner_requests.jsonl`` holds requests in clinicians' words (terse, verbose,
misspelt, with units, multi-step, ambiguous, out of scope), each with the bundled table and
workflow stage it is said at, the tool that should be proposed (null: a plain answer) and
the key arguments. Each request is put to the engine exactly as a conversation would
(``Partner._propose``: the backend's proposal, validated by ``Tool.validate``, the router's
choice when a model's proposal is missing or invalid) at that stage. A request is right
when the tool matches and every expected argument is present with the expected value
(columns and conditions compared as sets, text case-insensitively); extra arguments are
allowed. For a model, its raw proposal is scored too (before the router's rescue).

    python benchmarks/partner_requests.py --backend router
    python benchmarks/partner_requests.py --backend llama            # in-process GGUF
    python benchmarks/partner_requests.py --backend server           # llama_cpp.server on
                                                                      # 127.0.0.1 + openai_compat
Options: ``--set holdout|fresh`` (requests written after tuning the router), ``--model
FILE.gguf`` (default: the shipped Gemma 3 270M), ``--mode json|tools|auto`` (server),
``--limit N``, ``--json OUT`` (per-request results), ``--threads N``.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from healthforge.partner.backends.base import Proposal
from healthforge.partner.context import ModelContext
from healthforge.partner.engine import Partner

HERE = Path(__file__).parent
REQUESTS = HERE / "partner_requests.jsonl"
# written after the router was tuned on REQUESTS, measured once, never tuned on
HOLDOUT = HERE / "partner_requests_holdout.jsonl"
# written after the router was tuned on HOLDOUT too; measured once, never tuned on
FRESH = HERE / "partner_requests_fresh.jsonl"
SETS = {"main": REQUESTS, "holdout": HOLDOUT, "fresh": FRESH}


def load_requests(path: Path = REQUESTS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value.replace(" ", "").casefold()
    if isinstance(value, list):
        return sorted(str(_norm(v)) for v in value)
    return value


def args_match(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    return all(_norm(got.get(key)) == _norm(want) for key, want in expected.items())


def right(request: dict[str, Any], proposal: Proposal | None) -> tuple[bool, bool]:
    """(tool right, tool and arguments right)."""
    tool = proposal.tool if proposal is not None else None
    if tool != request["tool"]:
        return False, False
    return True, args_match(request["args"], proposal.args if proposal else {})


class Recording:
    """Wraps a backend and keeps its raw proposal and how long it took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.uses_language_model = inner.uses_language_model
        self.local = getattr(inner, "local", False)
        self.last: Proposal | None = None
        self.error: str = ""

    def propose(self, text: str, context: ModelContext, tools: list[dict[str, Any]]) -> Proposal:
        self.last, self.error = None, ""
        try:
            self.last = self.inner.propose(text, context, tools)
        except Exception as exc:
            self.error = str(exc)
            raise
        return self.last

    def explain(self, result_summary: str, context: ModelContext) -> str:
        return self.inner.explain(result_summary, context)


def _partner(data: str, backend: Any, root: Path) -> Partner:
    source = None if data == "none" else f"bundled:{data}"
    partner = Partner(source, root / f"{data}_{time.monotonic_ns()}", backend=backend)
    partner.start()  # loads the table (load_data needs no approval)
    return partner


def score(backend: Any, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    recording = Recording(backend) if backend is not None else None
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        partners: dict[str, Partner] = {}
        for request in requests:
            data = "none" if request["stage"] == "start" else request["data"]
            if data not in partners:
                partners[data] = _partner(data, recording, Path(tmp))
            partner = partners[data]
            partner.state.stage = request["stage"]
            partner.state.offered = []
            partner.state.last_privacy_failures = []
            partner.pending.clear()
            events: list[Any] = []
            start = time.perf_counter()
            proposal = partner._propose(request["text"], events)  # the engine's own choice
            seconds = time.perf_counter() - start
            tool_ok, all_ok = right(request, proposal)
            row = {
                "id": request["id"],
                "style": request["style"],
                "expected": request["tool"],
                "proposed": proposal.tool,
                "args": proposal.args,
                "source": proposal.source,
                "tool_right": tool_ok,
                "right": all_ok,
                "seconds": round(seconds, 4),
            }
            if recording is not None and backend.uses_language_model:
                raw = recording.last
                raw_tool, raw_all = right(request, raw) if raw else (False, False)
                row.update(
                    model_tool=raw.tool if raw else None,
                    model_args=raw.args if raw else None,
                    model_error=recording.error[:120],
                    model_tool_right=raw_tool if raw else request["tool"] is None,
                    model_right=raw_all if raw else False,
                )
            out.append(row)
            mark = "ok " if all_ok else ("~  " if tool_ok else "XX ")
            print(
                f"{mark}{request['id']} {request['text'][:60]!r:64} -> {proposal.tool} "
                f"{json.dumps(proposal.args)[:70]} ({seconds:.2f}s)",
                flush=True,
            )
    return out


def summary(rows: list[dict[str, Any]], label: str) -> str:
    n = len(rows)
    lines = [f"## {label}: {n} requests", ""]
    right_n = sum(r["right"] for r in rows)
    tool_n = sum(r["tool_right"] for r in rows)
    seconds = sorted(r["seconds"] for r in rows)
    median = seconds[n // 2] if n else 0.0
    lines.append(f"- tool and arguments right: {right_n}/{n} = {right_n / n:.0%}")
    lines.append(f"- tool right: {tool_n}/{n} = {tool_n / n:.0%}")
    if rows and "model_right" in rows[0]:
        m_right = sum(r["model_right"] for r in rows)
        m_tool = sum(r["model_tool_right"] for r in rows)
        used = Counter(r["source"] != "router" for r in rows)[True]
        lines.append(
            f"- the model alone (before the router's rescue): tool right {m_tool}/{n} "
            f"= {m_tool / n:.0%}, tool and arguments {m_right}/{n} = {m_right / n:.0%}"
        )
        lines.append(f"- the model's proposal was used (valid) in {used}/{n} turns")
    lines.append(f"- latency per turn: median {median:.3f} s, max {max(seconds, default=0):.3f} s")
    by_style: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_style[r["style"]].append(r["right"])
    lines.append(
        "- by phrasing: " + ", ".join(f"{s} {sum(v)}/{len(v)}" for s, v in sorted(by_style.items()))
    )
    wrong = [r for r in rows if not r["right"]]
    if wrong:
        lines.append(
            "- wrong: "
            + "; ".join(
                f"{r['id']} expected {r['expected']}, got {r['proposed']} {json.dumps(r['args'])}"
                for r in wrong
            )
        )
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(model: str, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(threads),
            "--model_alias",
            "gemma-3-270m",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(120):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, base
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("llama_cpp.server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["router", "llama", "server"], default="router")
    parser.add_argument("--model", default=None, help="a .gguf file (default: Gemma 3 270M)")
    parser.add_argument("--set", choices=list(SETS), default="main")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--free", action="store_true", help="llama: no grammar (faster)")
    parser.add_argument(
        "--mode",
        choices=["auto", "tools", "json"],
        default="json",
        help="server: tool calling, or JSON constrained by a schema (llama_cpp.server's "
        "default chat format ignores tools, so json is the default)",
    )
    parser.add_argument("--json", default=None, help="write per-request results here")
    opts = parser.parse_args()
    requests = load_requests(SETS[opts.set])[: opts.limit]
    process = None
    if opts.backend == "router":
        backend, label = None, "router alone"
    else:
        from healthforge.partner.backends.llama_cpp import LlamaCppBackend, default_model_path

        model = str(opts.model or default_model_path())
        if opts.backend == "llama":
            backend = LlamaCppBackend(
                model, threads=opts.threads, max_tokens=opts.max_tokens, constrained=not opts.free
            )
            how = "free text" if opts.free else "grammar-constrained JSON"
            label = f"router + {backend.name} (in-process, {how})"
        else:
            from healthforge.partner.backends.openai_compat import OpenAICompatBackend

            process, base = _server(model, opts.threads)
            backend = OpenAICompatBackend(base_url=base, timeout=120, mode=opts.mode)
            label = f"router + {backend.name} (llama_cpp.server, {opts.mode} mode)"
    try:
        rows = score(backend, requests)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    text = summary(rows, label)
    print("\n" + text)
    if opts.json:
        Path(opts.json).write_text(json.dumps({"label": label, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
