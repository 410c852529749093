"""Code hierarchies as a networkx DiGraph (edges point from parent to child).

Node ids carry the level, ``"<level>:<code>"``, because 39 ICD-10-CM codes (B10, C50, ...) are
both a block and a category: plain codes would make self-loops. Users pass plain codes
(``"I21"``, ``"I21.0"``, ``"I210"``); :meth:`Ontology.node` resolves them to the most specific
node with that code (``"category:B10"``), and a full id (``"block:B10"``) picks one explicitly.

>>> onto = Ontology.from_edges([("heart", "mi"), ("heart", "afib")], name="toy")
>>> onto.nearest_common_ancestor("mi", "afib")
'heart'
"""
from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from synthscape.errors import SchemaError, UnknownNameError

_LOOKALIKE = str.maketrans({"L": "1", "O": "0"})
ICD_LEVELS = ("root", "chapter", "block", "category", "subcategory", "extension")
CONCEPT = "concept"


class UnknownCodeError(UnknownNameError):
    """A code is not in the ontology; the message suggests the closest codes."""


class Ontology:
    """A rooted hierarchy of codes with ancestors, descendants, depth, roll-up and validation.

    Build one with :func:`~synthscape_healthcare.icd10cm.load_icd10cm`, :meth:`from_edge_list`
    (a user hierarchy such as a licensed SNOMED CT extract), :meth:`from_edges` or
    :func:`~synthscape_healthcare.snomed.semantic_tag_ontology`.
    """

    def __init__(self, graph: nx.DiGraph, *, name: str, root: str):
        if root not in graph:
            raise SchemaError(f"ontology {name!r}: root {root!r} is not a node of the graph")
        if not nx.is_directed_acyclic_graph(graph):
            cycle = nx.find_cycle(graph)
            raise SchemaError(f"ontology {name!r} has a cycle: {cycle[:5]}; a hierarchy must "
                              f"be acyclic (edges go from parent to child)")
        self.graph = graph
        self.name = name
        self.root = root
        self._by_code: dict[str, list[str]] = {}
        for node in graph.nodes:
            self._by_code.setdefault(_norm(code_of(node)), []).append(node)
        order = {lvl: i for i, lvl in enumerate(ICD_LEVELS)}
        for nodes in self._by_code.values():  # most specific level first
            nodes.sort(key=lambda n: -order.get(level_of(n), len(ICD_LEVELS)))
        self._depth = nx.single_source_shortest_path_length(graph, root)

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]], *, name: str = "custom",
                   descriptions: dict[str, str] | None = None) -> Ontology:
        """A hierarchy from ``(parent, child)`` code pairs; nodes become ``"concept:<code>"``
        under a synthetic root that adopts every parentless code."""
        g = nx.DiGraph()
        root = "root:" + name
        g.add_node(root, description=name)
        for parent, child in edges:
            p, c = f"{CONCEPT}:{str(parent).strip()}", f"{CONCEPT}:{str(child).strip()}"
            if p == c:
                raise SchemaError(f"ontology {name!r}: code {parent!r} is its own parent")
            g.add_edge(p, c)
        for node, text in (descriptions or {}).items():
            nid = f"{CONCEPT}:{node}"
            if nid in g:
                g.nodes[nid]["description"] = text
        for node in [n for n in g.nodes if n != root and g.in_degree(n) == 0]:
            g.add_edge(root, node)
        for node in g.nodes:
            g.nodes[node].setdefault("description", "")
        return cls(g, name=name, root=root)

    @classmethod
    def from_edge_list(cls, path: str | Path, *, name: str | None = None) -> Ontology:
        """Read a CSV/TSV file with a header naming ``parent`` and ``child`` columns (and an
        optional ``description`` of the child), one edge per row."""
        p = Path(path)
        if not p.exists():
            raise SchemaError(f"edge-list file {p} does not exist")
        text = p.read_text(encoding="utf-8")
        dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
        rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
        fields = [f.strip().lower() for f in (rows[0].keys() if rows else [])]
        if "parent" not in fields or "child" not in fields:
            raise SchemaError(f"edge-list file {p}: the header must name 'parent' and 'child' "
                              f"columns (found {fields or 'no rows'}); one edge per row")
        edges, desc = [], {}
        for i, row in enumerate(rows, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if not row["parent"] or not row["child"]:
                raise SchemaError(f"edge-list file {p}, line {i}: empty parent or child")
            edges.append((row["parent"], row["child"]))
            if row.get("description"):
                desc[row["child"]] = row["description"]
        return cls.from_edges(edges, name=name or p.stem, descriptions=desc)

    # ---- lookup --------------------------------------------------------------------------
    def node(self, code: str) -> str:
        """The node id of ``code`` (plain code, code without dot, or a full ``level:code`` id)."""
        if code in self.graph:
            return code
        nodes = self._by_code.get(_norm(code))
        if nodes:
            return nodes[0]
        raise UnknownCodeError(self._unknown_message(code))

    def _unknown_message(self, code: str) -> str:
        key = _norm(code)
        swapped = key.translate(_LOOKALIKE)  # letters typed for digits: I2l.0 -> I21.0
        close = [swapped] if swapped in self._by_code else []
        close += [c for c in difflib.get_close_matches(key, list(self._by_code), n=3, cutoff=0.6)
                  if c not in close]
        close = close[:3]
        names = " or ".join(repr(self.code(self._by_code[c][0])) for c in close)
        hint = f"; did you mean {names}?" if close else ""
        return f"unknown code {code!r} in ontology {self.name!r}{hint}"

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self.graph or _norm(code) in self._by_code)

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def validate(self, codes: Iterable[str], *, source: str = "codes") -> list[str]:
        """Node ids of ``codes``; one error lists every unknown code with suggestions."""
        out, bad = [], []
        for c in codes:
            try:
                out.append(self.node(c))
            except UnknownCodeError as exc:
                bad.append(str(exc))
        if bad:
            raise UnknownCodeError(f"{len(bad)} unknown code(s) in {source}:\n  "
                                   + "\n  ".join(bad[:20]))
        return out

    def code(self, code: str) -> str:
        return code_of(self.node(code))

    def level(self, code: str) -> str:
        return level_of(self.node(code))

    def description(self, code: str) -> str:
        return self.graph.nodes[self.node(code)].get("description", "")

    def codes(self, level: str | None = None) -> list[str]:
        """Node ids, optionally of one level, in graph order."""
        return [n for n in self.graph.nodes if n != self.root and
                (level is None or level_of(n) == level)]

    # ---- structure -----------------------------------------------------------------------
    def parents(self, code: str) -> list[str]:
        return sorted(self.graph.predecessors(self.node(code)))

    def children(self, code: str) -> list[str]:
        return sorted(self.graph.successors(self.node(code)))

    def ancestors(self, code: str, *, include_root: bool = False) -> list[str]:
        """Ancestors nearest first (a DAG may give several at one distance)."""
        node = self.node(code)
        anc = nx.ancestors(self.graph, node)
        if not include_root:
            anc.discard(self.root)
        return sorted(anc, key=lambda n: (-self._depth.get(n, 0), n))

    def descendants(self, code: str, *, include_self: bool = False) -> set[str]:
        node = self.node(code)
        out = nx.descendants(self.graph, node)
        if include_self:
            out.add(node)
        return out

    def depth(self, code: str) -> int:
        """Length of the shortest path from the root (chapters of ICD-10-CM have depth 1)."""
        return self._depth[self.node(code)]

    def is_descendant(self, code: str, of: str) -> bool:
        a, b = self.node(code), self.node(of)
        return a == b or nx.has_path(self.graph, b, a)

    def nearest_common_ancestor(self, a: str, b: str) -> str:
        """The deepest node that is an ancestor of (or equal to) both; the root at worst."""
        na, nb = self.node(a), self.node(b)
        common = (nx.ancestors(self.graph, na) | {na}) & (nx.ancestors(self.graph, nb) | {nb})
        return max(common, key=lambda n: (self._depth.get(n, 0), n))

    def roll_up(self, code: str, level: str | int = "category") -> str:
        """The ancestor of ``code`` at ``level`` (a level name, or a depth for any hierarchy).
        A code already above that level is returned unchanged."""
        node = self.node(code)
        chain = [node] + self.ancestors(node)
        if isinstance(level, int):
            hits = [n for n in chain if self._depth.get(n) == level]
            return hits[0] if hits else node
        if level not in ICD_LEVELS:
            raise UnknownNameError(f"unknown level {level!r}; levels: {list(ICD_LEVELS[1:])} "
                                   f"or an int depth")
        hits = [n for n in chain if level_of(n) == level]
        return hits[0] if hits else node

    def ancestor_matrix(self, codes: list[str], *, include_root: bool = False):
        """For GRAM-style embeddings: the sorted list of every node used by ``codes`` and their
        ancestors, and for each code the indices of itself and its ancestors in that list."""
        nodes = [self.node(c) for c in codes]
        chains = [[n] + self.ancestors(n, include_root=include_root) for n in nodes]
        used = sorted({n for ch in chains for n in ch})
        index = {n: i for i, n in enumerate(used)}
        return used, [[index[n] for n in ch] for ch in chains]

    def __repr__(self) -> str:
        return f"Ontology({self.name!r}, {len(self)} nodes)"


def level_of(node: str) -> str:
    return node.split(":", 1)[0] if ":" in node else CONCEPT


def code_of(node: str) -> str:
    return node.split(":", 1)[1] if ":" in node else node


def _norm(code: str) -> str:
    c = code_of(code) if code.split(":", 1)[0] in (*ICD_LEVELS, CONCEPT) else code
    return c.strip().upper().replace(".", "")
