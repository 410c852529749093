"""``dp_sequence``: DP generator of entities and their event sequences (see ``generator.py``).

Modules: ``_encoding`` (schema -> token fields), ``_data`` (frames -> training records),
``_infer`` (DP inference of undeclared schema parts), ``_lengths`` (the DP histograms of
sequence lengths and of the time of day), ``_model`` (the torch network),
``_sampling`` (vectorised sampling), ``_conditions`` (conditions by rejection), ``_frames``
(codes -> typed frames). Importing this package does not import torch.
"""
from synthscape.generators.dp_sequence.generator import DPSequenceGenerator, default_training
from synthscape.generators.registry import register_sequence

register_sequence("dp_sequence", DPSequenceGenerator)

__all__ = ["DPSequenceGenerator", "default_training"]
