"""Load a YAML scenario file into its typed spec; errors name file, line and field."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synthscape.errors import SpecError, UnknownNameError
from synthscape.scenarios.kinds import KINDS
from synthscape.scenarios.spec import set_origin


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = {}
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise SpecError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
        lines[key] = key_node.start_mark.line + 1
    mapping_with_lines = _Mapping(mapping)
    mapping_with_lines.lines = lines
    mapping_with_lines.line = node.start_mark.line + 1
    return mapping_with_lines


class _Mapping(dict):
    lines: dict[str, int]
    line: int


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(doc: Any, loc: tuple) -> int | None:
    """Deepest known line for a pydantic error location."""
    line = getattr(doc, "line", None)
    node = doc
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = getattr(node, "lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def parse_spec(text: str, source: str = "<string>", base_dir: Path | None = None):
    """Parse YAML text into the spec model of its ``kind``."""
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{source}: malformed YAML at {where}: {problem}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"{source}: a scenario file must be a YAML mapping with a 'kind' field")
    kind = doc.get("kind")
    if kind is None:
        raise SpecError(f"{source}: missing field 'kind' (one of {', '.join(KINDS.names())})")
    try:
        model = KINDS.get(str(kind)).model
    except UnknownNameError as exc:
        line = getattr(doc, "lines", {}).get("kind")
        raise SpecError(f"{source}, line {line}, field 'kind': {exc}") from None
    try:
        spec = model.model_validate(_plain(doc), context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p == kind
                                                       and len(err["loc"]) > 1))
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            line = _line_of(doc, loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check its spelling; unknown fields are not allowed)"
            problems.append(f"{source}, line {line}, field '{field}': {msg}")
        raise SpecError("invalid scenario:\n  " + "\n  ".join(problems)) from None
    set_origin(spec, source, lambda loc: _line_of(doc, tuple(loc)))
    return spec


def load_spec(path: str | Path):
    """Read and validate a scenario file (parsing only; :func:`~synthscape.scenarios.validate.
    check_spec` runs the checks that look at other files)."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"scenario file {p} does not exist")
    if p.is_dir():
        raise SpecError(f"{p} is a folder; give the scenario's YAML file (e.g. "
                        f"{p / 'scenario.yaml'})")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"scenario file {p} is not UTF-8 text (byte {exc.start}); save it as "
                        f"UTF-8 YAML") from None
    except OSError as exc:
        raise SpecError(f"scenario file {p} cannot be read: {exc.strerror}") from None
    return parse_spec(text, source=str(p), base_dir=p.resolve().parent)
