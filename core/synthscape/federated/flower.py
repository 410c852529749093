"""The federation's messages over Flower (``flwr``): sites as Flower clients, a Flower server
that relays the coordinator's requests, real gRPC on the network (loopback in tests).

Flower pins older ``typer``, ``rich`` and ``cryptography`` than this project uses, so it runs in
processes of its own, from an interpreter that has ``flwr`` (``python=``: by default this one;
the tests and the benchmark use ``.venv-bench-flwr/bin/python``). The coordinator never imports
``flwr``: :class:`FlowerTransport` starts ``python -m synthscape.federated.flower server``, talks
to it through length-prefixed frames on its stdin/stdout, and the server sends each request to
its site in a Flower ``FitIns`` (one bytes tensor) and returns the site's ``FitRes`` bytes.
``num_examples`` is always 0: no site tells its row count. Flower's usage telemetry (an HTTPS
call to flower.ai from every process, which also holds each process 4 s at exit) is off in every
process started here and in any process that runs this module, unless ``FLWR_TELEMETRY_ENABLED``
is set explicitly.

A site runs ``python -m synthscape.federated.flower site --server HOST:PORT --name NAME --data
FILE.parquet --epsilon E [--delta D]``: its records, its noise and its ledger stay in that
process. :class:`FlowerTransport` can start the sites itself on loopback: where the platform
can fork, one launcher process imports Flower, pandas and ``preload`` (torch and opacus for the
neural protocols) once and forks a process per site before any site reads its file, so five
sites on one machine do not each pay those imports; elsewhere (or ``fork=False``) each site is
started from a fresh interpreter.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from synthscape.errors import ParameterError, SynthscapeError
from synthscape.federated.messages import decode, encode
from synthscape.federated.transport import Tap


class FederationError(SynthscapeError, RuntimeError):
    """A site or the Flower server failed; the message names which and why."""


@dataclass(frozen=True)
class SiteProcess:
    """A site to start on this machine: its name, its Parquet file and its budget."""

    name: str
    data: str
    epsilon: float
    delta: float = 1e-6
    accountant: str = "rdp"
    secure_aggregation: tuple[int, int] | None = None  # (sites, colluding), the site's setting
    entities: str | None = None  # dp_sequence: the entities table (Parquet) beside the events
    unit: str = "record"  # the budget's neighbouring relation ("entity" for dp_sequence)

    def args(self) -> dict[str, Any]:
        """The keyword arguments of :func:`run_site` (JSON-friendly)."""
        return {"name": self.name, "data": self.data, "epsilon": self.epsilon,
                "delta": self.delta, "accountant": self.accountant, "unit": self.unit,
                "secure_aggregation": None if self.secure_aggregation is None
                else list(self.secure_aggregation), "entities": self.entities}


#: What a site of a neural protocol (dp_tvae, dp_ctgan, dp_sequence) imports.
TORCH_STACK = ("torch", "opacus", "synthscape.generators._training",
               "synthscape.generators._dp_optimizers", "synthscape.federated.neural",
               "synthscape.federated.gan", "synthscape.federated.sequence")


def _write_frame(out: IO[bytes], payload: bytes) -> None:
    out.write(len(payload).to_bytes(8, "big") + payload)
    out.flush()


def _read_frame(inp: IO[bytes]) -> bytes:
    head = inp.read(8)
    if len(head) < 8:
        raise FederationError("the Flower server closed its pipe (see its log above)")
    size = int.from_bytes(head, "big")
    return inp.read(size)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FlowerTransport:
    """A :class:`~synthscape.federated.transport.Transport` over Flower; use it as a context
    manager (the server and any launched sites stop on exit).

    ``sites``: the names of the sites that will connect, or :class:`SiteProcess` entries to
    start here (loopback). ``python``: an interpreter with ``flwr`` and synthscape."""

    def __init__(self, sites: Sequence[str | SiteProcess], *, python: str | None = None,
                 host: str = "127.0.0.1", port: int | None = None, tap: Tap | None = None,
                 connect_timeout: float = 120.0, preload: Sequence[str] = (),
                 fork: bool = True):
        self._names = [s if isinstance(s, str) else s.name for s in sites]
        if len(set(self._names)) != len(self._names) or not self._names:
            raise ParameterError(f"site names must be unique and non-empty, got {self._names}")
        self._launch = [s for s in sites if isinstance(s, SiteProcess)]
        self._python = python or sys.executable
        self.address = f"{host}:{port or free_port()}"
        self._tap = tap
        self._timeout = connect_timeout
        self._preload = list(preload)
        self._fork = fork and hasattr(os, "fork")
        self._server: subprocess.Popen | None = None
        self._sites: list[subprocess.Popen] = []

    # ---- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FlowerTransport:
        env = {"FLWR_TELEMETRY_ENABLED": "0", **os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [self._python, "-m", "synthscape.federated.flower", "server", "--address",
               self.address, "--sites", ",".join(self._names), "--timeout", str(self._timeout)]
        self._server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=env)
        module = [self._python, "-m", "synthscape.federated.flower"]
        if self._launch and self._fork:
            self._sites.append(subprocess.Popen(
                [*module, "sites", "--server", self.address, "--preload",
                 ",".join(self._preload), "--sites",
                 json.dumps([s.args() for s in self._launch])], env=env))
        for s in self._launch if not self._fork else []:
            self._sites.append(subprocess.Popen(
                [*module, "site", "--server", self.address, "--name", s.name, "--data", s.data,
                 "--epsilon", str(s.epsilon), "--delta", str(s.delta), "--accountant",
                 s.accountant, "--unit", s.unit,
                 *(["--secure-aggregation", f"{s.secure_aggregation[0]},"
                    f"{s.secure_aggregation[1]}"] if s.secure_aggregation else []),
                 *(["--entities", s.entities] if s.entities else [])], env=env))
        try:
            self._await_hello()
            hello = json.loads(self._read())
            if sorted(hello["sites"]) != sorted(self._names):
                raise FederationError(f"expected sites {self._names}, got {hello['sites']}")
        except BaseException:  # no process outlives a failed start
            for p in [self._server, *self._sites]:
                if p is not None and p.poll() is None:
                    p.kill()
            self._server, self._sites = None, []
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _await_hello(self) -> None:
        """Wait for the server's first frame, failing at once (not after the connect timeout)
        if the server or a launched site process exits first."""
        assert self._server is not None and self._server.stdout is not None
        while not select.select([self._server.stdout], [], [], 0.2)[0]:
            if self._server.poll() is not None:
                raise FederationError(f"the Flower server on {self.address} exited (code "
                                      f"{self._server.returncode}) before every site "
                                      f"connected; its error is above")
            for i, p in enumerate(self._sites):
                if p.poll() not in (None, 0):
                    who = (f"site {self._launch[i].name!r}" if not self._fork else
                           "the site launcher (it names the failed site above)")
                    raise FederationError(f"{who} exited with code {p.returncode} before "
                                          f"every site connected; its error is above")

    def close(self) -> None:
        if self._server is not None and self._server.poll() is None:
            try:
                self._write(json.dumps({"to": {}}).encode())
                self._server.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._server.kill()
        # The server told the sites to disconnect; a launched site holds nothing more that
        # anyone needs (its answers and ledger were sent), so it is not waited on to unload
        # torch: after a short grace it is terminated.
        end = time.monotonic() + 1.0
        for p in self._sites:
            try:
                p.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.terminate()
        for p in self._sites:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self._server, self._sites = None, []

    # ---- transport ---------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._names)

    def _write(self, payload: bytes) -> None:
        assert self._server is not None and self._server.stdin is not None
        _write_frame(self._server.stdin, payload)

    def _read(self) -> bytes:
        assert self._server is not None and self._server.stdout is not None
        return _read_frame(self._server.stdout)

    def exchange(self, requests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if self._server is None:
            raise FederationError("use FlowerTransport as a context manager (with ... as t:)")
        out: dict[str, str] = {}
        for name, req in requests.items():
            data = encode(req)
            if self._tap:
                self._tap("to", name, data)
            out[name] = data.decode("utf-8")
        self._write(json.dumps({"to": out}).encode())
        reply = json.loads(self._read())
        if "error" in reply:
            raise FederationError(reply["error"])
        answers = {}
        for name, text in reply["from"].items():
            data = text.encode("utf-8")
            if self._tap:
                self._tap("from", name, data)
            answers[name] = decode(data)
            if "error" in answers[name]:
                raise FederationError(f"site {name!r}: {answers[name]['error']}")
        return answers


# ---- the processes that import flwr ----------------------------------------------------------
def run_server(address: str, sites: list[str], wait: float) -> None:
    """The Flower server: relay frames from stdin to the sites and their answers to stdout."""
    frames_in = sys.stdin.buffer
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # Flower's own output goes to stderr; stdout carries frames only
    import flwr.server as fs  # type: ignore[import-not-found, unused-ignore]
    from flwr.common import FitIns, GetPropertiesIns, Parameters  # type: ignore[import-not-found, unused-ignore]
    from flwr.server.server import fit_clients  # type: ignore[import-not-found, unused-ignore]

    class Relay(fs.Server):
        def fit(self, num_rounds, timeout=None):  # Flower's signature; the rounds are ours
            manager = self.client_manager()
            if not manager.wait_for(len(sites), timeout=int(wait)):
                raise FederationError(f"only {manager.num_available()} of {len(sites)} sites "
                                      f"connected to {address} within {wait:g} s")
            proxies = {}
            for p in manager.all().values():
                props = p.get_properties(GetPropertiesIns(config={}), timeout=wait,
                                         group_id=0).properties
                proxies[str(props["site"])] = p
            _write_frame(frames_out, json.dumps({"sites": sorted(proxies)}).encode())
            rnd = 0
            while True:
                msg = json.loads(_read_frame(frames_in))
                if not msg["to"]:
                    break
                rnd += 1
                ins = [(proxies[n], FitIns(Parameters([t.encode()], "bytes"), {}))
                       for n, t in msg["to"].items()]
                results, failures = fit_clients(ins, None, None, rnd)
                if failures:
                    _write_frame(frames_out, json.dumps(
                        {"error": f"{len(failures)} site(s) failed: {failures[0]!r}"}).encode())
                    continue
                by_cid = {p.cid: n for n, p in proxies.items()}
                _write_frame(frames_out, json.dumps({"from": {
                    by_cid[p.cid]: r.parameters.tensors[0].decode() for p, r in results}}).encode())
            return fs.History(), 0.0

    fs.start_server(server_address=address, server=Relay(client_manager=fs.SimpleClientManager()),
                    config=fs.ServerConfig(num_rounds=1))


def run_site(server: str, name: str, data: str, epsilon: float, delta: float,
             accountant: str, secure_aggregation: tuple[int, int] | None = None,
             entities: str | None = None, unit: str = "record") -> None:
    """One site as a Flower client: answers the relayed requests from its own records."""
    import pandas as pd
    from flwr.client import Client  # type: ignore[import-not-found, unused-ignore]
    from flwr.common import (  # type: ignore[import-not-found, unused-ignore]
        Code,
        FitRes,
        GetPropertiesRes,
        Parameters,
        Status,
    )
    from flwr.compat.client.app import start_client  # type: ignore[import-not-found, unused-ignore]

    from synthscape.federated.secagg import SecureAggregation
    from synthscape.federated.site import Site
    from synthscape.privacy.budget import Budget

    site = Site(name, pd.read_parquet(data),
                budget=Budget(epsilon=epsilon, delta=delta, unit=unit), accountant=accountant,
                secure_aggregation=None if secure_aggregation is None
                else SecureAggregation(*secure_aggregation),
                entities=None if entities is None else pd.read_parquet(entities))
    ok = Status(code=Code.OK, message="")

    class SiteClient(Client):
        def get_properties(self, ins):
            return GetPropertiesRes(status=ok, properties={"site": name})

        def fit(self, ins):
            try:
                answer = encode(site.handle(decode(ins.parameters.tensors[0])))
            except SynthscapeError as exc:  # the reason travels; the site keeps running
                answer = encode({"error": str(exc)})
            return FitRes(status=ok, parameters=Parameters([answer], "bytes"), num_examples=0,
                          metrics={})

    _wait_for_server(server)
    start_client(server_address=server, client=SiteClient(), insecure=True)


def run_sites(server: str, sites: list[dict[str, Any]], preload: Sequence[str]) -> None:
    """Import what every site needs once, then fork one process per site (it reads its own
    file after the fork: no site's records are ever in this process). Exits non-zero if a
    site failed; SIGTERM is passed on to the sites."""
    import pandas  # noqa: F401  (imported once for every site)
    from flwr.client import Client  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    from flwr.compat.client.app import start_client  # type: ignore[import-not-found, unused-ignore]  # noqa: F401

    import synthscape.federated.site  # noqa: F401

    for name in preload:
        importlib.import_module(name)
    children: dict[int, str] = {}
    for kw in sites:
        pid = os.fork()
        if pid == 0:  # the site
            code = 1
            try:
                run_site(server, **{**kw, "secure_aggregation": None
                                    if kw["secure_aggregation"] is None
                                    else tuple(kw["secure_aggregation"])})
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = kw["name"]

    stopping = []

    def forward(signum: int, frame: Any) -> None:
        stopping.append(signum)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    failed = []
    while children:
        pid, status = os.wait()
        name = children.pop(pid, "")
        if name and status != 0 and not stopping:  # one site failed: stop the others
            failed.append(name)
            forward(signal.SIGTERM, None)
    if failed:
        raise SystemExit(f"site(s) {', '.join(failed)} failed; the launcher stopped the others")


def _wait_for_server(address: str, timeout: float = 120.0) -> None:
    """Poll until ``HOST:PORT`` accepts connections (the server may start after the site)."""
    host, port = address.rsplit(":", 1)
    end = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return
        except OSError:
            if time.monotonic() > end:
                raise FederationError(
                    f"no Flower server at {address} after {timeout:g} s") from None
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # before flwr is imported
    p = argparse.ArgumentParser(prog="python -m synthscape.federated.flower")
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("--address", required=True)
    s.add_argument("--sites", required=True, help="comma-separated site names")
    s.add_argument("--timeout", type=float, default=120.0)
    c = sub.add_parser("site")
    c.add_argument("--server", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--data", required=True, type=Path)
    c.add_argument("--epsilon", required=True, type=float)
    c.add_argument("--delta", type=float, default=1e-6)
    c.add_argument("--accountant", default="rdp")
    c.add_argument("--secure-aggregation", default=None, help="SITES,COLLUDING")
    c.add_argument("--entities", default=None, help="dp_sequence: the entities table (Parquet)")
    c.add_argument("--unit", default="record", help="the budget's neighbouring relation")
    m = sub.add_parser("sites", help="fork one site process per entry of --sites")
    m.add_argument("--server", required=True)
    m.add_argument("--sites", required=True, help="JSON list of run_site keyword arguments")
    m.add_argument("--preload", default="", help="comma-separated modules to import first")
    a = p.parse_args(argv)
    if a.role == "server":
        run_server(a.address, a.sites.split(","), a.timeout)
    elif a.role == "sites":
        run_sites(a.server, json.loads(a.sites), [m for m in a.preload.split(",") if m])
    else:
        sec = None if a.secure_aggregation is None else \
            tuple(int(v) for v in a.secure_aggregation.split(","))
        run_site(a.server, a.name, str(a.data), a.epsilon, a.delta, a.accountant,
                 sec, a.entities, a.unit)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
