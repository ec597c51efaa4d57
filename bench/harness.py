"""Shared bench plumbing: servers in subprocesses (so client and server don't share a GIL), timing."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up")


@contextmanager
def process(
    args: list[str], ready_url: str, env: dict[str, str] | None = None, ready_timeout: float = 30.0
) -> Iterator[None]:
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url, ready_timeout)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def sandbox_server(*extra: str, ready_timeout: float = 30.0) -> Iterator[str]:
    """A sandbox server process on a free port (``ready_timeout``: allow for a big seed)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(
        [sys.executable, "-m", "engagesync.cli.main", "sandbox", "serve", "--port", str(port), *extra],
        f"{url}/_sandbox/health",
        ready_timeout=ready_timeout,
    ):
        yield url


def goal(value: float, target: float, *, at_least: bool, unit: str = "x") -> str:
    """``value`` beside its goal with the verdict: ``0.86x (goal >= 0.9x): MISS``."""
    met = value >= target if at_least else value <= target
    return f"{value:.3f}{unit} (goal {'>=' if at_least else '<='} {target:g}{unit}): {'PASS' if met else 'MISS'}"


@dataclass
class Latency:
    count: int
    seconds: float
    samples: list[float]

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1000


def hammer(client: httpx.Client, url: str, seconds: float, params: dict[str, str] | None = None) -> Latency:
    """Sequential keep-alive requests for ``seconds``: latency per request and throughput."""
    samples: list[float] = []
    for _ in range(20):  # warm-up
        client.get(url, params=params).raise_for_status()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        samples.append(time.perf_counter() - t0)
    return Latency(len(samples), time.perf_counter() - started, samples)


def paired(first: Callable[[], float], second: Callable[[], float], runs: int = 3) -> list[tuple[float, float]]:
    """``runs`` runs of a pair, alternating which side goes first (on a shared machine the second of
    two back-to-back runs is often the luckier one): ``[(first_value, second_value), ...]``."""
    out: list[tuple[float, float]] = []
    for i in range(runs):
        if i % 2 == 0:
            a = first()
            b = second()
        else:
            b = second()
            a = first()
        out.append((a, b))
    return out


def median_goal(values: list[float], target: float, *, at_least: bool, unit: str = "x") -> str:
    """The median of ``values`` beside its goal, with the range: ``median 0.91x [0.85-0.95] of 3 (goal ...)``."""
    med = statistics.median(values)
    met = med >= target if at_least else med <= target
    spread = f" [{min(values):.2f}-{max(values):.2f}] of {len(values)}" if len(values) > 1 else " (1 run)"
    return (
        f"median {med:.2f}{unit}{spread} (goal {'>=' if at_least else '<='} {target:g}{unit}): "
        f"{'PASS' if met else 'MISS'}"
    )
