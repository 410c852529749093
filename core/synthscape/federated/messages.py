"""The wire format of federation messages: JSON with numpy arrays as typed base64 blobs.

Every message between a site and the coordinator is one dict of public values (operation names,
shares, the schema, DP-released keys and noisy arrays). Encoding it to bytes in one place lets
any transport (in-process, Flower) carry it unchanged and lets a test read back every message
of a run.
"""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

_ARRAY = "__array__"


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return {_ARRAY: base64.b64encode(arr.tobytes()).decode("ascii"),
                "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY in value:
            raw = base64.b64decode(value[_ARRAY])
            return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> bytes:
    """``message`` as UTF-8 JSON bytes (arrays as base64 of their raw bytes)."""
    return json.dumps(_plain(message), sort_keys=True, allow_nan=False).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """The message that :func:`encode` wrote."""
    out = _restore(json.loads(data.decode("utf-8")))
    if not isinstance(out, dict):
        raise ValueError("a federation message is a JSON object")
    return out
