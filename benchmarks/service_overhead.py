"""What the service costs over the library: job latency, load-test throughput, memory.

    PYTHONPATH=src .venv/bin/python benchmarks/service_overhead.py [--repeats 3]

Writes benchmarks/results/service.md. Three measurements on one machine:

1. job latency: the same run specification (bundled ICU as an uploaded CSV,
   gaussian_copula, evaluation with 50 trees) run (a) by ``healthforge.pipeline.run`` in a
   warm process, (b) by ``healthforge run SPEC.json`` in a fresh process, (c) as a service
   job (POST, then polling every 0.1 s until done); medians of ``--repeats``;
2. throughput: 20 concurrent clients, each uploading a table, starting a run (independent
   generator), polling it to the end and downloading the rows - requests per second and
   jobs per minute with 2 workers;
3. memory: resident set size of the server process at rest (after start), and after the
   load test.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from healthforge.data import load_table
from healthforge.pipeline import RunSpec, run

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "healthforge.cli.app"]
CLIENTS, USERS = 20, 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/openapi.json", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def user(data_dir: Path, name: str) -> str:
    out = subprocess.run(
        [*CLI, "serve", "--data-dir", str(data_dir), "--create-user", name],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def spec_dict(source: str) -> dict:
    return {
        "data": {"source": source, "target": "died"},
        "generator": {"name": "gaussian_copula"},
        "evaluation": {"n_estimators": 50},
    }


def library_times(csv: Path, work: Path, repeats: int) -> tuple[list[float], list[float]]:
    warm, cold = [], []
    for i in range(repeats):
        spec = RunSpec.from_dict(spec_dict(str(csv)))
        spec.outputs.synthetic = str(work / f"lib{i}.csv")
        spec.outputs.report = str(work / f"lib{i}.html")
        spec.outputs.json = str(work / f"lib{i}.json")
        started = time.perf_counter()
        result = run(spec)
        result.model.save(str(work / f"lib{i}.hfm"))  # the service saves the model too
        warm.append(time.perf_counter() - started)
        spec.outputs.synthetic = str(work / f"cold{i}.csv")
        spec.outputs.report = str(work / f"cold{i}.html")
        spec.outputs.json = str(work / f"cold{i}.json")
        path = work / f"spec{i}.json"
        spec.to_json(path)
        started = time.perf_counter()
        subprocess.run([*CLI, "run", str(path)], check=True, capture_output=True)
        cold.append(time.perf_counter() - started)
    return warm, cold


def service_times(url: str, token: str, csv: Path, repeats: int) -> list[float]:
    times = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        dataset = c.post("/api/datasets", files={"file": ("icu.csv", csv.read_bytes())}).json()
        for _ in range(repeats):
            started = time.perf_counter()
            job = c.post("/api/jobs", json={"spec": spec_dict(f"dataset:{dataset['id']}")})
            job_id = job.json()["id"]
            while (state := c.get(f"/api/jobs/{job_id}").json()["state"]) not in (
                "done",
                "failed",
                "cancelled",
            ):
                time.sleep(0.1)
            times.append(time.perf_counter() - started)
            assert state == "done", state
    return times


def client_script(url: str, token: str, body: bytes, index: int) -> tuple[int, int, str]:
    requests, errors = 0, 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:

        def call(method: str, path: str, **kw: object) -> httpx.Response:
            nonlocal requests, errors
            requests += 1
            r = c.request(method, path, **kw)
            errors += r.status_code >= 400
            return r

        dataset = call("POST", "/api/datasets", files={"file": (f"t{index}.csv", body)}).json()
        spec = {
            "data": {"source": f"dataset:{dataset['id']}"},
            "generator": {"name": "independent"},
        }
        job = call("POST", "/api/jobs", json={"spec": spec}).json()
        while (state := call("GET", f"/api/jobs/{job['id']}").json()["state"]) not in (
            "done",
            "failed",
            "cancelled",
        ):
            time.sleep(0.5)
        call("GET", f"/api/jobs/{job['id']}/files/synthetic")
        call("GET", "/api/datasets")
    return requests, errors, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/service.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hf-service-bench-"))
    csv = work / "icu.csv"
    load_table("bundled:icu").to_csv(csv, index=False)
    load_before = os.getloadavg()

    warm, cold = library_times(csv, work, args.repeats)
    data_dir = work / "service"
    tokens = [user(data_dir, f"user{i}") for i in range(USERS)]
    proc, url = start_server(data_dir)
    try:
        time.sleep(2)
        rest = rss_mb(proc.pid)
        served = service_times(url, tokens[0], csv, args.repeats)
        body = csv.read_bytes()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = list(
                pool.map(lambda i: client_script(url, tokens[i % USERS], body, i), range(CLIENTS))
            )
        seconds = time.perf_counter() - started
        after = rss_mb(proc.pid)
    finally:
        stop(proc)
    requests = sum(r[0] for r in runs)
    errors = sum(r[1] for r in runs)
    done = sum(r[2] == "done" for r in runs)
    med = statistics.median
    lines = [
        "# Service overhead (`healthforge serve`)",
        "",
        "Measured with `PYTHONPATH=src .venv/bin/python benchmarks/service_overhead.py "
        f"--repeats {args.repeats}` on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average before the run "
        f"{load_before[0]:.1f} (other work shared the machine: read the times as upper bounds).",
        "",
        "## Job latency: the same run specification",
        "",
        "bundled ICU (200 rows) as an uploaded CSV, gaussian_copula, evaluation with 50 trees, "
        "report and model written; medians of "
        f"{args.repeats} runs (all runs in seconds).",
        "",
        "| how | median s | runs |",
        "|---|---:|---|",
        _row("library, warm process: `pipeline.run(spec)` + `model.save`", warm),
        _row("library, fresh process: `healthforge run SPEC.json`", cold),
        _row("service job: POST /api/jobs, poll every 0.1 s until done", served),
        "",
        f"Overhead of a service job: {med(served) - med(warm):+.2f} s over the warm library "
        f"call, {med(served) - med(cold):+.2f} s against the same run in a fresh process (the "
        "job runs in a worker started ahead with the library imported; it adds the queue, the "
        "database writes and the polling). The spread of the runs is the machine's load.",
        "",
        "## Load test: throughput",
        "",
        f"{CLIENTS} concurrent clients ({USERS} users; 2 workers, 1 per user), each: upload "
        "ICU, start a run (independent generator), poll every 0.5 s until done, download the "
        "rows, list datasets.",
        "",
        "| requests | errors | jobs done | wall s | requests/s | jobs/min |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {requests} | {errors} | {done}/{CLIENTS} | {seconds:.1f} | {requests / seconds:.1f} | "
        f"{60 * done / seconds:.1f} |",
        "",
        "## Memory of the server process",
        "",
        "| when | resident set size (MB) |",
        "|---|---:|",
        f"| at rest, 2 s after start | {rest:.0f} |",
        f"| after the load test | {after:.0f} |",
        "",
        "Workers, including the spare started ahead, are separate processes and are not "
        "counted here.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


def _row(how: str, values: list[float]) -> str:
    runs = ", ".join(f"{v:.2f}" for v in values)
    return f"| {how} | {statistics.median(values):.2f} | {runs} |"


if __name__ == "__main__":
    main()
