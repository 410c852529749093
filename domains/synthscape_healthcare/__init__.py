"""synthscape healthcare pack: ICD-10-CM ontology, Synthea runner and loader, DP EHR generator.

Public names (imported on first use, so ``register()`` stays cheap: no torch, no ontology):

- ``Ontology``, ``UnknownCodeError``, ``load_icd10cm()``: code hierarchies (ontology.py,
  icd10cm.py); ``semantic_tag_ontology`` groups SNOMED CT codes by semantic tag (snomed.py).
- ``load_synthea(folder)`` (synthea.py) and ``SyntheaRunner`` (synthea_runner.py): Synthea's CSV
  export and command line.
- ``EHRData``, ``from_synthea``, ``load_nafld``: the patient data model and its sources.
- ``CohortSchema``, ``LabSpec``, ``LabelSpec``: the declared shape of a cohort.
- ``EHRGenerator``: the DP generator (``fit``, ``sample(n, condition=..., prevalence=...)``).
- ``to_synthea_tables``: Synthea-like output tables with the label column.

``register()`` is called through the ``synthscape.domains`` entry point and adds
``kind: ehr`` to the core's scenario kinds.
"""
from __future__ import annotations

import importlib

from synthscape_healthcare.ontology import Ontology, UnknownCodeError

_LAZY = {
    "load_icd10cm": "icd10cm", "semantic_tag_ontology": "snomed", "load_synthea": "synthea",
    "SyntheaExport": "synthea", "SyntheaRunner": "synthea_runner",
    "SyntheaError": "synthea_runner",
    "EHRData": "records", "from_synthea": "records", "load_nafld": "nafld",
    "CohortSchema": "encoding", "LabSpec": "encoding", "LabelSpec": "encoding",
    "EHRGenerator": "generator", "to_synthea_tables": "tables",
}

__all__ = ["Ontology", "UnknownCodeError", "register", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"synthscape_healthcare.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'synthscape_healthcare' has no attribute {name!r}")


def register() -> None:
    """Entry point of the ``synthscape.domains`` group: adds ``kind: ehr`` (kind.py).

    The EHR generator is multi-table (patients with codes, onsets and labs) and conditions on
    ontology subtrees, so it is not a single-table ``synthscape.generators`` entry; use
    :class:`synthscape_healthcare.generator.EHRGenerator` directly."""
    from synthscape_healthcare.kind import register as _register

    _register()
