"""ICD-10-CM as an :class:`Ontology`, built from the ``simple-icd-10-cm`` package (the CDC's
tabular list) and cached as gzipped JSON so later loads skip the XML parse.

The cache lives in ``$SYNTHSCAPE_CACHE`` or ``~/.cache/synthscape``; its name carries the
package version, so an upgrade of the code set rebuilds it. No pickle is involved.
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import networkx as nx

from synthscape.errors import ModelFormatError, require
from synthscape_healthcare.ontology import Ontology

CACHE_FORMAT = 1
ROOT = "root:ICD-10-CM"
_loaded: dict[str, Ontology] = {}


def cache_dir() -> Path:
    """``$SYNTHSCAPE_CACHE`` when set, else ``~/.cache/synthscape``."""
    env = os.environ.get("SYNTHSCAPE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "synthscape"


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simple-icd-10-cm")
    except PackageNotFoundError:
        return "unknown"


def load_icd10cm(*, cache: bool = True, folder: str | Path | None = None) -> Ontology:
    """The ICD-10-CM hierarchy: root -> chapter -> block -> category -> subcategories ->
    7th-character extensions. Needs the ``healthcare`` extra (``simple-icd-10-cm``)."""
    version = _package_version()
    key = f"{version}:{folder}:{cache}"
    if key in _loaded:
        return _loaded[key]
    path = Path(folder or cache_dir()) / f"icd10cm-{version}.json.gz"
    onto = None
    if cache and path.exists():
        try:
            onto = read_cache(path)
        except ModelFormatError:
            onto = None  # a stale or corrupt cache is rebuilt
    if onto is None:
        graph = build_graph()
        onto = Ontology(graph, name=f"ICD-10-CM ({version})", root=ROOT)
        if cache:
            write_cache(onto, path)
    _loaded[key] = onto
    return onto


def build_graph() -> nx.DiGraph:
    """Walk the package's pre-order code list; a code seen twice is a block then a category."""
    icd = require("simple_icd_10_cm", "healthcare", "The ICD-10-CM ontology")
    g = nx.DiGraph()
    g.add_node(ROOT, description="ICD-10-CM")
    seen: set[str] = set()
    for code in icd.get_all_codes(True):
        if icd.is_chapter(code):
            node, parent = f"chapter:{code}", ROOT
        elif icd.is_block(code) and code not in seen:
            node = f"block:{code}"
            parent = f"chapter:{icd.get_parent(code, prioritize_blocks=True)}"
        else:
            node = f"{_level(icd, code)}:{code}"
            parent = _parent_node(icd, code)
        seen.add(code)
        desc = icd.get_description(code, prioritize_blocks=node.startswith("block:"))
        g.add_node(node, description=desc)
        g.add_edge(parent, node)
    return g


def _level(icd, code: str) -> str:
    if icd.is_category(code):
        return "category"
    if icd.is_extended_subcategory(code):
        return "extension"
    return "subcategory"


def _parent_node(icd, code: str) -> str:
    parent = icd.get_parent(code)
    if icd.is_category(code):  # the parent of a category is a block (maybe with the same code)
        return f"block:{parent}"
    if icd.is_category(parent):
        return f"category:{parent}"
    return f"{_level(icd, parent)}:{parent}"


def write_cache(onto: Ontology, path: str | Path) -> Path:
    """Nodes with descriptions and parent->child index pairs as gzipped JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nodes = list(onto.graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    data = {"format": CACHE_FORMAT, "name": onto.name, "root": onto.root,
            "nodes": [[n, onto.graph.nodes[n].get("description", "")] for n in nodes],
            "edges": [[index[a], index[b]] for a, b in onto.graph.edges]}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(json.dumps(data, separators=(",", ":")).encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_cache(path: str | Path) -> Ontology:
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            data = json.loads(f.read())
        if data.get("format") != CACHE_FORMAT:
            raise ValueError(f"format {data.get('format')} != {CACHE_FORMAT}")
        nodes = data["nodes"]
        g = nx.DiGraph()
        g.add_nodes_from((n, {"description": d}) for n, d in nodes)
        g.add_edges_from((nodes[a][0], nodes[b][0]) for a, b in data["edges"])
        return Ontology(g, name=data["name"], root=data["root"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelFormatError(f"ontology cache {path} is unreadable ({exc}); delete it to "
                               f"rebuild") from None
