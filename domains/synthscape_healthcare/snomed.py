"""A coarse, licence-free grouping of SNOMED CT codes by the semantic tag that ends each
description ("Hypertension (disorder)" -> disorder). Synthea writes SNOMED CT condition codes;
without a licensed release this two-level hierarchy (root -> tag -> code) is what can be built.
For the full SNOMED CT hierarchy load a licensed extract with ``Ontology.from_edge_list``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import networkx as nx

from synthscape.errors import SchemaError
from synthscape_healthcare.ontology import CONCEPT, Ontology

UNTAGGED = "untagged"
_TAG = re.compile(r"\(([a-z][a-z /-]*)\)\s*$")


def semantic_tag(description: str) -> str:
    """The trailing parenthesised tag of a SNOMED CT description, or ``"untagged"``."""
    m = _TAG.search(str(description or ""))
    return m.group(1).strip() if m else UNTAGGED


def semantic_tag_ontology(pairs: Iterable[tuple[str, str]], *,
                          name: str = "SNOMED CT semantic tags") -> Ontology:
    """Ontology root -> ``tag:<tag>`` -> ``concept:<code>`` from (code, description) pairs.

    A code seen with descriptions of different tags keeps the first tag (and says so in its
    node's ``tags`` attribute)."""
    g = nx.DiGraph()
    root = "root:SNOMED-CT"
    g.add_node(root, description=name)
    for code, desc in pairs:
        code = str(code).strip()
        if not code:
            raise SchemaError("a SNOMED CT code is empty; every condition row needs a CODE")
        tag = semantic_tag(desc)
        node = f"{CONCEPT}:{code}"
        if node in g:
            g.nodes[node]["tags"] = sorted(set(g.nodes[node]["tags"]) | {tag})
            continue
        g.add_node(f"tag:{tag}", description=tag)
        g.add_edge(root, f"tag:{tag}")
        g.add_node(node, description=str(desc), tags=[tag])
        g.add_edge(f"tag:{tag}", node)
    return Ontology(g, name=name, root=root)
