"""synthscape healthcare pack: ICD-10-CM ontology, Synthea runner and loader, DP EHR generator.

Public names (imported on first use, so ``register()`` stays cheap: no torch, no ontology):

- ``Ontology``, ``UnknownCodeError``, ``load_icd10cm()``: code hierarchies (ontology.py,
  icd10cm.py); ``semantic_tag_ontology`` groups SNOMED CT codes by semantic tag (snomed.py).
- ``load_synthea(folder)`` (synthea.py) and ``SyntheaRunner`` (synthea_runner.py): Synthea's CSV
  export and command line.
- ``EHRSequences`` (patients and timestamped events), from ``synthea_sequences(export)``,
  ``read_omop(folder)`` or ``nafld_sequences()``.
- ``EHRGenerator``: the DP generator on the core ``dp_sequence`` (``fit``, ``sample(n,
  conditions={"condition": "I50"})``, ``save``/``load``); ``TimelineLabel`` and ``label_of``:
  death and disease-progression labels on the timeline.
- ``to_synthea_layout``: Synthea's CSV layout (with the label column) for synthetic timelines.

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
    "EHRSequences": "sequences", "synthea_sequences": "synthea_events",
    "read_omop": "omop", "write_omop": "omop", "nafld_sequences": "nafld",
    "EHRGenerator": "generator", "TimelineLabel": "timeline", "label_of": "timeline",
    "to_synthea_layout": "layout",
}

__all__ = ["Ontology", "UnknownCodeError", "register", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"synthscape_healthcare.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'synthscape_healthcare' has no attribute {name!r}")


def register() -> None:
    """Entry point of the ``synthscape.domains`` group: adds ``kind: ehr`` (kind.py).

    The EHR generator wraps the core ``dp_sequence`` (patients and their timelines) and
    conditions on ontology subtrees; use :class:`synthscape_healthcare.generator.EHRGenerator`
    directly."""
    from synthscape_healthcare.kind import register as _register

    _register()
