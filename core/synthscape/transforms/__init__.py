"""Reversible encoders driven by the schema (DP-fitted where they depend on data).

Import from the submodules: ``discretizer`` (bins for marginal-based generators) and
``tabular_encoder`` (continuous/one-hot encodings for neural generators).
"""
