"""synthscape healthcare pack: ICD-10-CM ontology, Synthea runner and loader, DP EHR generator.

``register()`` is called through the ``synthscape.domains`` entry point; it stays cheap (no
torch, no ontology build) and adds ``kind: ehr`` and the ``ehr`` generator to the core
registries.
"""
from __future__ import annotations

from synthscape_healthcare.ontology import Ontology, UnknownCodeError

__all__ = ["Ontology", "UnknownCodeError", "load_icd10cm", "load_synthea", "register"]


def load_icd10cm(**kw) -> Ontology:
    """See :func:`synthscape_healthcare.icd10cm.load_icd10cm`."""
    from synthscape_healthcare.icd10cm import load_icd10cm as _load

    return _load(**kw)


def load_synthea(folder, **kw):
    """See :func:`synthscape_healthcare.synthea.load_synthea`."""
    from synthscape_healthcare.synthea import load_synthea as _load

    return _load(folder, **kw)


def register() -> None:
    """Add the healthcare pack's spec kind to the core registry (``kind: ehr``).

    The EHR generator is multi-table (patients with codes, onsets and labs) and conditions on
    ontology subtrees, so it is not a single-table ``synthscape.generators`` entry; use
    :class:`synthscape_healthcare.generator.EHRGenerator` directly."""
    from synthscape.scenarios import KINDS, register_kind

    if "ehr" in KINDS:  # register() may run twice (entry point and explicit call)
        return
    from synthscape_healthcare.run import run_ehr
    from synthscape_healthcare.spec import EHRSpec

    register_kind("ehr", EHRSpec, run_ehr)
