"""Peer libraries (SDV, synthcity, smartnoise-synth, GReaT), each in its own virtual
environment under ``.peers/``.

Peers are benchmark opponents, never dependencies: healthforge never imports them. Each
lives in ``<peers_dir>/<name>/venv`` and is driven by ``peer_runner.py`` through that
venv's python, so their pins (synthcity: torch<2.3, numpy<2) never touch our environment.
Nothing is installed unless :func:`install_peer` is called explicitly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from healthforge.errors import HealthForgeError

INSTALL_TIMEOUT = 25 * 60  # seconds; a peer that takes longer is given up on
DEFAULT_PEERS_DIR = Path(".peers")


@dataclass(frozen=True)
class PeerSpec:
    """How to install one peer library and which of its methods the benchmark runs."""

    name: str
    # pip install steps, in order: torch first so nothing resolves a CUDA build by accident
    install_steps: tuple[tuple[str, ...], ...]
    methods: tuple[str, ...]
    licence_note: str
    import_check: str
    differential_privacy: bool = False  # run at each benchmark epsilon, with the public domain


PEERS: dict[str, PeerSpec] = {
    "sdv": PeerSpec(
        name="sdv",
        # the CPU torch wheel on this machine's disk; a bare torch would pull CUDA builds
        install_steps=(("torch==2.13.0",), ("sdv",)),
        methods=("gaussian_copula", "ctgan", "tvae"),
        licence_note="SDV is BSL-licensed: a benchmark peer only, never imported by healthforge",
        import_check="import sdv, torch; print('sdv', sdv.__version__, 'torch', torch.__version__)",
    ),
    "synthcity": PeerSpec(
        name="synthcity",
        # synthcity pins torch<2.3, numpy<2, xgboost<3; only PyPI is reachable, so its
        # torch 2.2 comes as a CUDA build (several GB) - acceptable in a throwaway venv
        # opacus >= 1.5 needs torch >= 2.4 (nn.RMSNorm); synthcity's torch is 2.2
        install_steps=(("synthcity", "opacus==1.4.1"),),
        methods=("bayesian_network", "ctgan", "arf", "ddpm"),
        licence_note="synthcity is Apache-2.0; kept apart for its pins, not its licence",
        import_check=(
            "import torch; from synthcity.plugins import Plugins; from importlib.metadata "
            "import version; print('synthcity', version('synthcity'), 'torch', torch.__version__)"
        ),
    ),
    "smartnoise": PeerSpec(
        name="smartnoise",
        # smartnoise-synth 1.0.8 pins mbi<2 and opacus 0.14: it cannot share our venv
        # (mbi 2.0); the CPU torch first so opacus does not pull a CUDA build
        install_steps=(("torch==2.13.0",), ("smartnoise-synth==1.0.8",)),
        methods=("mst",),
        licence_note="smartnoise-synth is MIT; kept apart for its pins (mbi<2), not its licence",
        import_check=(
            "from importlib.metadata import version; import snsynth; "
            "print('smartnoise-synth', version('smartnoise-synth'), 'mbi', version('mbi'))"
        ),
        differential_privacy=True,
    ),
    "great": PeerSpec(
        name="great",
        # GReaT (be-great, MIT); the CPU torch first, then the same transformers/peft as
        # our llm extra so both load the same local Gemma 3 270M (hubs are unreachable)
        install_steps=(
            ("torch==2.13.0",),
            ("be-great[lora]==0.0.14", "transformers==5.23.0", "peft==0.21.2"),
        ),
        methods=("great",),
        licence_note="be-great is MIT; kept apart so its pins never touch ours",
        import_check=(
            "from importlib.metadata import version; import be_great, torch; "
            "print('be-great', version('be-great'), 'torch', torch.__version__)"
        ),
    ),
}


@dataclass(frozen=True)
class PeerStatus:
    """Whether a peer can run: ``available`` with its python, or a reason it cannot."""

    name: str
    available: bool
    python: Path | None
    reason: str = ""
    versions: str = ""
    install_seconds: float | None = None


def peer_dir(name: str, peers_dir: Path | str | None = None) -> Path:
    return Path(peers_dir or DEFAULT_PEERS_DIR) / name


def parse_peer(item: str) -> tuple[str, tuple[str, ...]]:
    """``"sdv"`` -> all of SDV's methods; ``"sdv:ctgan"`` -> only CTGAN."""
    name, _, method = item.partition(":")
    if name not in PEERS:
        raise HealthForgeError(f"unknown peer '{name}'", f"choose one of: {', '.join(PEERS)}")
    methods = PEERS[name].methods
    if method:
        if method not in methods:
            raise HealthForgeError(
                f"peer '{name}' has no method '{method}' in the benchmark",
                f"choose one of: {', '.join(methods)}",
            )
        methods = (method,)
    return name, methods


def peer_status(name: str, peers_dir: Path | str | None = None) -> PeerStatus:
    """What is installed, without installing anything."""
    if name not in PEERS:
        return PeerStatus(name, False, None, f"unknown peer '{name}'")
    root = peer_dir(name, peers_dir)
    python = root / "venv" / "bin" / "python"
    marker = root / "peer.json"
    if marker.exists() and python.exists():
        info = json.loads(marker.read_text())
        return PeerStatus(
            name, True, python, versions=info.get("versions", ""),
            install_seconds=info.get("install_seconds"),
        )  # fmt: skip
    failure = root / "failed.txt"
    if failure.exists():
        return PeerStatus(name, False, None, f"install failed: {failure.read_text().strip()}")
    return PeerStatus(name, False, None, "not installed (pass --install-peers to install it)")


def install_peer(
    name: str,
    peers_dir: Path | str | None = None,
    timeout: float = INSTALL_TIMEOUT,
    base_python: str | None = None,
) -> PeerStatus:
    """Create ``<peers_dir>/<name>/venv`` and pip-install the peer; never raises for a
    failed install (the peer is then reported unavailable with the reason)."""
    if name not in PEERS:
        return PeerStatus(name, False, None, f"unknown peer '{name}'")
    spec = PEERS[name]
    root = peer_dir(name, peers_dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "failed.txt").unlink(missing_ok=True)
    (root / "peer.json").unlink(missing_ok=True)
    log_path = root / "install.log"
    venv = root / "venv"
    python = venv / "bin" / "python"
    started = time.monotonic()
    # the base interpreter, not our venv's, so the peer venv inherits nothing of ours
    base = base_python or getattr(sys, "_base_executable", sys.executable)
    steps: list[list[str]] = [] if python.exists() else [[base, "-m", "venv", str(venv)]]
    steps += [[str(python), "-m", "pip", "install", *step] for step in spec.install_steps]
    steps.append([str(python), "-c", spec.import_check])
    with log_path.open("w") as log:
        for command in steps:
            remaining = timeout - (time.monotonic() - started)
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            try:
                done = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, timeout=max(remaining, 1),
                    env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return _failed(root, name, f"gave up after {timeout / 60:.0f} minutes")
            if done.returncode != 0:
                return _failed(root, name, f"`{' '.join(command[-2:])}` failed: {_tail(log_path)}")
    versions = _tail(log_path)
    seconds = time.monotonic() - started
    info = {"versions": versions, "install_seconds": round(seconds, 1), "steps": spec.install_steps}
    (root / "peer.json").write_text(json.dumps(info, indent=2) + "\n")
    return PeerStatus(name, True, python, versions=versions, install_seconds=seconds)


def _failed(root: Path, name: str, reason: str) -> PeerStatus:
    (root / "failed.txt").write_text(reason + "\n")
    return PeerStatus(name, False, None, f"install failed: {reason}")


def _tail(path: Path, limit: int = 300) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    last = next((line for line in reversed(lines) if line), "")
    return last[-limit:]
