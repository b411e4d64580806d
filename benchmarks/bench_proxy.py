"""Proxy overhead: direct-to-upstream vs through `ringfence serve`, in the same run.

Setup (2 cores): `ringfence mock-upstream` and `ringfence serve` run as two separate processes
(each its own event loop and GIL); this process is the load generator (httpx, asyncio). Each
cell sends the same requests straight to the mock and through the proxy, at 1 and 32 concurrent
clients, non-streaming and streaming. Latency is to the last byte of the response.
The proxy runs the default guard pipelines (the policy has no `guards:` section: input and
untrusted with the injection detector, output with secrets, exfil, PII and refusal) and writes
the audit log to SQLite; the guards it reports on `/readyz` are included in the output.
Every request's last user message is unique (it names a ticket number), so no cache in the
proxy can answer it from an earlier request; `--history N` puts N earlier turns (the same in
every request, as in a conversation that goes on) before it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import httpx

ROOT = Path(__file__).resolve().parents[1]
POLICY = """
version: 1
name: bench-proxy
tools:
  get_order: {effect: allow}
proxy:
  rate_limit_per_minute: null
  stream_hold_back: 256
"""
NO_GUARDS = "guards: {input: [], untrusted: [], output: []}\n"
REPLY = (
    "Your order 4821 shipped yesterday and should arrive within three business days. "
    "You can track it from the orders page; tell me if anything looks wrong. "
) * 2
PROMPT = "Hello, can you tell me where my order 4821 is? It was due last week. " * 3
TICKETS = itertools.count(1)
HISTORY: list[dict[str, str]] = []


def history(turns: int) -> list[dict[str, str]]:
    """``turns`` earlier user/assistant exchanges of one support conversation."""
    out = []
    for i in range(turns):
        out.append({"role": "user", "content": f"Question {i}: {PROMPT}"})
        out.append({"role": "assistant", "content": f"Answer {i}: {REPLY}"})
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_guards(url: str, expect_default: bool) -> str:
    """The guard pipelines the running proxy reports (fails when it is not ready)."""
    ready = httpx.get(url, timeout=10).json()
    guards = ready["checks"]["guards"]
    if expect_default and (not guards["ok"] or "injection" not in guards["detail"]):
        raise RuntimeError(f"the proxy does not run the default guards: {guards}")
    return str(guards["detail"])


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def one(client: httpx.AsyncClient, url: str, stream: bool) -> float:
    body = {
        "model": "m",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a helpful support agent."},
            *HISTORY,
            {"role": "user", "content": f"{PROMPT}(ticket {next(TICKETS)})"},
        ],
    }
    start = time.perf_counter()
    if stream:
        async with client.stream("POST", url, json=body) as resp:
            async for _ in resp.aiter_bytes():
                pass
            ok = resp.status_code == 200
    else:
        resp = await client.post(url, json=body)
        ok = resp.status_code == 200
    if not ok:
        raise RuntimeError(f"{url}: HTTP {resp.status_code}")
    return time.perf_counter() - start


async def cell(url: str, stream: bool, concurrency: int, total: int) -> dict[str, float]:
    """``concurrency`` clients, each with its own connection (an httpx client per client: one
    pool shared by 32 tasks costs the load generator CPU that grows with the server's latency,
    httpcore's pool scan, encode/httpx#3215, and made the slower arm look slower still)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(concurrency)]
    try:
        for i in range(min(50, total)):
            await one(clients[i % concurrency], url, stream)
        lat: list[float] = []

        async def worker(client: httpx.AsyncClient, n: int) -> None:
            for _ in range(n):
                lat.append(await one(client, url, stream))

        start = time.perf_counter()
        await asyncio.gather(*(worker(c, total // concurrency) for c in clients))
        wall = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    lat.sort()
    return {
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "rps": len(lat) / wall,
        "n": len(lat),
    }


@click.command("proxy")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
@click.option("--requests", "n1", default=400, show_default=True, help="Requests per cell at c=1.")
@click.option(
    "--requests-32", "n32", default=1600, show_default=True, help="Requests per cell at c=32."
)
@click.option(
    "--upstream-latency-ms",
    default=0.0,
    show_default=True,
    help="Simulated model latency in the mock (0: measure pure overhead).",
)
@click.option(
    "--history",
    "turns",
    default=0,
    show_default=True,
    help="Earlier user/assistant turns sent with every request (a conversation that goes on).",
)
@click.option(
    "--guards",
    "guard_set",
    type=click.Choice(["default", "none"]),
    default="default",
    show_default=True,
    help="none: a baseline with every guard pipeline empty (what the guards cost).",
)
def cli(
    as_json: bool, n1: int, n32: int, upstream_latency_ms: float, turns: int, guard_set: str
) -> None:
    """Proxy overhead and throughput vs direct, on loopback."""
    HISTORY[:] = history(turns)
    exe = str(Path(sys.executable).with_name("ringfence"))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "mock.json"
        script.write_text(
            json.dumps(
                {"latency_ms": upstream_latency_ms, "chunk_chars": 16, "default": {"text": REPLY}}
            )
        )
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(POLICY + (NO_GUARDS if guard_set == "none" else ""))
        mport, pport = free_port(), free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        procs = [
            subprocess.Popen(
                [exe, "mock-upstream", "--port", str(mport), "--script", str(script)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            ),
            subprocess.Popen(
                [
                    exe,
                    "serve",
                    "--policy",
                    str(policy),
                    "--no-auth",
                    "--port",
                    str(pport),
                    "--upstream",
                    f"http://127.0.0.1:{mport}/v1",
                    "--db",
                    str(Path(tmp) / "bench.db"),
                    "--log-level",
                    "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            ),
        ]
        try:
            wait_ready(f"http://127.0.0.1:{mport}/healthz")
            wait_ready(f"http://127.0.0.1:{pport}/healthz")
            guards_used = proxy_guards(
                f"http://127.0.0.1:{pport}/readyz", expect_default=guard_set == "default"
            )
            result = asyncio.run(run_all(mport, pport, n1, n32))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    result["setup"] = {
        "guards": f"{guard_set} ({guards_used})",
        "upstream_latency_ms": upstream_latency_ms,
        "history_turns": turns,
        "messages": "system, history, a unique user message",
        "cores": os.cpu_count(),
        "processes": "mock, proxy, load generator",
        "audit": "SQLite WAL synchronous=FULL",
    }
    click.echo(json.dumps(result, indent=None if as_json else 2))


async def run_all(mport: int, pport: int, n1: int, n32: int) -> dict[str, object]:
    direct = f"http://127.0.0.1:{mport}/v1/chat/completions"
    proxy = f"http://127.0.0.1:{pport}/v1/chat/completions"
    modes: dict[str, dict[str, float]] = {}
    for stream in (False, True):
        for conc, total in ((1, n1), (32, n32)):
            name = f"{'stream' if stream else 'plain'}_c{conc}"
            d = await cell(direct, stream, conc, total)
            p = await cell(proxy, stream, conc, total)
            modes[name] = {
                "direct_p50_ms": round(d["p50_ms"], 3),
                "proxy_p50_ms": round(p["p50_ms"], 3),
                "direct_p99_ms": round(d["p99_ms"], 3),
                "proxy_p99_ms": round(p["p99_ms"], 3),
                "overhead_p50_ms": round(p["p50_ms"] - d["p50_ms"], 3),
                "overhead_p99_ms": round(p["p99_ms"] - d["p99_ms"], 3),
                "rps_direct": round(d["rps"], 1),
                "rps_through_proxy": round(p["rps"], 1),
                "requests": int(p["n"]),
            }
    head, tput = modes["plain_c1"], modes["plain_c32"]
    return {
        "overhead_p50_ms": head["overhead_p50_ms"],
        "overhead_p99_ms": head["overhead_p99_ms"],
        "rps_through_proxy": tput["rps_through_proxy"],
        "rps_direct": tput["rps_direct"],
        "throughput_ratio": round(tput["rps_through_proxy"] / tput["rps_direct"], 3),
        "headline": "overhead at 1 client, throughput at 32 clients, non-streaming",
        "modes": modes,
    }
