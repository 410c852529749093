"""How requests reach the sites: the :class:`Transport` protocol and an in-process transport.

A transport carries encoded messages (:mod:`synthscape.federated.messages`) and nothing else;
``tap(direction, site, data)`` sees every message's bytes, which is how a test checks that no raw
value of any site ever travels. :class:`InProcessTransport` calls the sites directly (unit tests,
one-machine simulations); :mod:`synthscape.federated.flower` carries the same bytes over Flower.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from synthscape.errors import ParameterError
from synthscape.federated.messages import decode, encode
from synthscape.federated.site import Site

Tap = Callable[[str, str, bytes], None]  # (direction "to"/"from", site name, message bytes)


class Transport(Protocol):
    """What the coordinator needs: the site names and one round of requests and answers."""

    @property
    def names(self) -> list[str]: ...

    def exchange(self, requests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]: ...


def broadcast(transport: Transport, request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same request to every site."""
    return transport.exchange({name: request for name in transport.names})


class InProcessTransport:
    """Sites in this process; every message is still encoded to bytes and decoded again."""

    def __init__(self, sites: Sequence[Site], *, tap: Tap | None = None):
        names = [s.name for s in sites]
        if len(set(names)) != len(names) or not names:
            raise ParameterError(f"site names must be unique and non-empty, got {names}")
        self._sites = {s.name: s for s in sites}
        self._tap = tap

    @property
    def names(self) -> list[str]:
        return list(self._sites)

    def exchange(self, requests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {}
        for name, req in requests.items():
            data = encode(req)
            if self._tap:
                self._tap("to", name, data)
            answer = encode(self._sites[name].handle(decode(data)))
            if self._tap:
                self._tap("from", name, answer)
            out[name] = decode(answer)
        return out
