"""The DP EHR generator: an autoregressive patient model with GRAM code embeddings over one
row per patient, trained with DP-SGD.

The unit of privacy is one patient: every record of a patient (codes, onsets, labs, outcome)
is folded into one row before training, and DP-SGD clips per row. The vocabulary, bins and
bounds come from the declared :class:`CohortSchema` and the ontology, so the only spend is the
training itself, recorded in the ledger.

>>> gen = EHRGenerator(schema=schema, ontology=icd, epsilon=1.0, seed=0).fit(cohort)
>>> mi = gen.sample(500, condition="I21")            # every patient has a code under I21
>>> aug = gen.sample(2000, condition="I46", prevalence=0.2)
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.random import derive_rng
from synthscape_healthcare.encoding import CohortSchema, Encoded, decode, encode
from synthscape_healthcare.ontology import Ontology, UnknownCodeError, code_of
from synthscape_healthcare.records import EHRData

FORMAT = 2
log = logging.getLogger("synthscape.healthcare")  # the terminal (the CLI's handler), no file


class EHRGenerator:
    """``hierarchy="ontology"`` builds code embeddings from ontology ancestors (GRAM);
    ``"flat"`` gives every code its own embedding (the ablation baseline)."""

    def __init__(self, *, schema: CohortSchema, ontology: Ontology | None = None,
                 epsilon: float | None = 1.0, delta: float = 1e-6, epochs: int = 10,
                 batch_size: int = 512, lr: float = 2e-3, max_grad_norm: float = 1.0,
                 dim: int = 16, hidden: int = 64,
                 hierarchy: str = "ontology", accountant: str = "rdp", device: str = "auto",
                 seed: int | None = 0, expected_patients: int | None = None):
        self.schema, self.ontology = schema, ontology
        self.epsilon, self.delta, self.accountant = epsilon, delta, accountant
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.max_grad_norm, self.dim, self.hidden = max_grad_norm, dim, hidden
        self.hierarchy, self.device, self.seed = hierarchy, device, seed
        self.expected_patients = expected_patients

    # ---- structure -----------------------------------------------------------------------
    def _structure(self) -> tuple[list[str], int, list[list[int]]]:
        vocab = list(self.schema.vocabulary)
        if self.hierarchy not in ("ontology", "flat"):
            raise ParameterError(f"hierarchy must be 'ontology' or 'flat', got {self.hierarchy!r}")
        if self.ontology is None:
            if self.hierarchy == "ontology":
                raise ParameterError("hierarchy='ontology' needs an ontology (e.g. "
                                     "load_icd10cm()); or use hierarchy='flat'")
            return vocab, len(vocab), [[i] for i in range(len(vocab))]
        nodes = self.ontology.validate(vocab, source="the cohort schema's vocabulary")
        if self.hierarchy == "flat":
            return nodes, len(nodes), [[i] for i in range(len(nodes))]
        used, chains = self.ontology.ancestor_matrix(nodes, include_root=True)
        return nodes, len(used), chains

    def _code_index(self, data: EHRData) -> dict[str, int]:
        """Each data code -> the vocabulary column of its nearest ancestor-or-self."""
        distinct = sorted(set(data.conditions.code.astype(str)))
        if self.ontology is None:
            return {c: i for i, c in enumerate(self.schema.vocabulary) if c in distinct}
        col = {n: i for i, n in enumerate(self.nodes_)}
        bad = [c for c in distinct if c not in self.ontology]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise UnknownCodeError(f"{self.ontology._unknown_message(bad[0])}{more} in "
                                   f"conditions.code; fix or map the codes before fitting")
        out = {}
        for c in distinct:
            node = self.ontology.node(c)
            for a in [node, *self.ontology.ancestors(node)]:
                if a in col:
                    out[c] = col[a]
                    break
        return out

    def unseen_conditions(self, data: EHRData, conditions: Iterable[str]) -> list[str]:
        """The ``conditions`` (valid codes or blocks) under which no code of ``data`` lies.

        A fact about the real data: it is logged to the user's terminal by :meth:`fit` and
        never written into a release or a saved model."""
        distinct = set(data.conditions.code.astype(str))
        out = []
        for cond in dict.fromkeys(conditions):
            if self.ontology is None:
                seen = cond in distinct
            else:
                node = self.ontology.node(cond)  # UnknownCodeError with did-you-mean
                seen = any(c in self.ontology and self.ontology.is_descendant(c, node)
                           for c in distinct)
            if not seen:
                out.append(cond)
        return out

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, data: EHRData, *, ledger: PrivacyLedger | None = None,
            conditions: Iterable[str] = ()) -> EHRGenerator:
        """Fit to ``data`` (one patient is the unit of privacy). ``conditions``: the codes
        samples will be conditioned on; each one that no training patient carries is logged
        as a warning (its samples would come from the ontology structure and the DP noise
        only)."""
        import torch

        from synthscape.generators import DPSGD
        from synthscape.privacy.mechanisms import noisy_count
        from synthscape.privacy.noise import NoiseSource
        from synthscape_healthcare.model import EHRNet, pack

        if not isinstance(data, EHRData):
            raise ParameterError(f"fit expects EHRData (see synthscape_healthcare.records), got "
                                 f"{type(data).__name__}")
        self.nodes_, n_nodes, chains = self._structure()
        flat = [[i] for i in range(len(chains))]
        enc = encode(data, self.schema, self._code_index(data))
        for cond in self.unseen_conditions(data, conditions):
            log.warning("condition %r is a valid code but no patient of the training data has "
                        "a code under it: patients sampled with it come from the ontology "
                        "structure and the DP noise only, not from observed patients", cond)
        v = len(self.schema.vocabulary)
        x = pack(enc.codes, enc.onset, enc.cats)
        if ledger is None:
            ledger = PrivacyLedger(None if self.epsilon is None else
                                   Budget(epsilon=self.epsilon, delta=self.delta, unit="patient"),
                                   accountant=self.accountant,
                                   noise=NoiseSource.for_data(x, purpose="ehr", seed=self.seed))
        # The cohort size plans sampling rate and steps: declared, or a DP count (1% of rho).
        if self.expected_patients is not None:
            planned = int(self.expected_patients)
        elif ledger.budget is None:
            planned = len(x)
        else:
            planned = noisy_count(len(x), ledger=ledger, share=0.01,
                                  label="patient count (plans sampling rate and steps)")
        seed = None if self.seed is None else int(self.seed)
        self.arch_ = {"n_nodes": n_nodes, "chains": chains,
                      "dec_chains": chains if self.hierarchy == "ontology" else flat}
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global state untouched
            if seed is not None:
                torch.default_generator.manual_seed(seed)  # CPU only, as the fork
            model = self._build(EHRNet)
        trainer = DPSGD(model, ledger=ledger, n_rows=planned, epochs=self.epochs,
                        batch_size=min(self.batch_size, planned), lr=self.lr,
                        max_grad_norm=self.max_grad_norm, device=self.device, label="ehr_model")
        for batch in trainer.batches(x):
            per_patient = trainer.module(batch, v)
            trainer.step(per_patient.mean() if len(batch) else per_patient.sum())
        # Only what the ledger covers: no loss on real batches, no exact count.
        self.training_ = trainer.finish()
        self.loop_seconds_ = self.training_.pop("seconds")  # a timing: never saved
        self.model_ = trainer.base_module.cpu().eval()
        self.ledger_ = ledger
        return self

    def _build(self, cls):
        return cls(self.arch_["n_nodes"], self.arch_["chains"], self.arch_["dec_chains"],
                   self.schema.n_onset, self.schema.categorical_sizes(), dim=self.dim,
                   hidden=self.hidden)

    # ---- sampling ------------------------------------------------------------------------
    def subtree_columns(self, condition: str) -> np.ndarray:
        """Vocabulary columns whose code lies in the subtree of ``condition``."""
        self._check()
        if self.ontology is None:
            cols = [i for i, c in enumerate(self.schema.vocabulary) if c == condition]
        else:
            node = self.ontology.node(condition)  # UnknownCodeError with did-you-mean
            cols = [i for i, n in enumerate(self.nodes_) if self.ontology.is_descendant(n, node)]
        if not cols:
            raise ParameterError(f"no code of the vocabulary lies under {condition!r}; the "
                                 f"vocabulary is {self.schema.vocabulary}")
        return np.asarray(cols)

    def sample(self, n: int, *, condition: str | None = None, prevalence: float | None = None,
               seed: int | None = None) -> EHRData:
        """``n`` synthetic patients. With ``condition`` alone every patient carries a code in
        its subtree; with ``prevalence`` too, that share does and the rest do not."""
        self._check()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be an int >= 1, got {n!r}")
        if prevalence is not None and (condition is None or not 0 <= prevalence <= 1):
            raise ParameterError("prevalence needs a condition and must lie in [0, 1]")
        base = self.seed if seed is None else seed
        rng = derive_rng(None if base is None else int(base), "ehr.sample")
        if condition is None:
            enc = self._draw(n, rng, None, True)
        else:
            cols = self.subtree_columns(condition)
            k = n if prevalence is None else int(round(n * prevalence))
            parts = [self._draw(k, rng, cols, True)] if k else []
            if n - k:
                parts.append(self._draw(n - k, rng, cols, False))
            enc = _take(_concat(parts), rng.permutation(n))
        return decode(enc, self.schema, [code_of(c) for c in self.nodes_], rng)

    def _draw(self, n: int, rng: np.random.Generator, cols, present: bool,
              max_pool: int = 2_000_000) -> Encoded:
        """``n`` patients; with ``cols``, only those with (``present``) or without a code in
        those columns, by rejection from pools drawn from the model (exact conditionals)."""
        if cols is None:
            return self._generate(n, rng)
        got, have, pool, rate = [], 0, max(4 * n, 1024), None
        while have < n:
            enc = self._generate(pool, rng)
            hit = (enc.codes[:, cols] > 0).any(axis=1)
            keep = hit if present else ~hit
            got.append(_take(enc, np.flatnonzero(keep)))
            have += int(keep.sum())
            rate = max(have, 1) / (pool * len(got))
            if have < n and pool * len(got) >= max_pool:
                raise ParameterError(
                    f"the model almost never produces patients {'with' if present else 'without'}"
                    f" the condition ({have} of {n} after {pool * len(got)} draws); ask for "
                    f"fewer patients or train with more budget")
            pool = int(min(max((n - have) / rate * 1.3, 1024), 500_000))
        return _take(_concat(got), np.arange(n))

    def _generate(self, n: int, rng: np.random.Generator) -> Encoded:
        """Ancestral sampling: sex, age, codes one by one, onsets, then the rest."""
        import torch
        from torch.nn import functional as F

        from synthscape_healthcare.model import onset_one_hot

        m, sizes = self.model_, self.schema.categorical_sizes()
        v = len(self.schema.vocabulary)

        def draw(logits: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(logits, -1).numpy().astype(float)
            return torch.as_tensor(_categorical(probs, rng))

        with torch.no_grad():
            sex = draw(m.sex_logits(torch.ones(n, 1)))
            sex_1h = F.one_hot(sex, sizes[1]).float()
            age = draw(m.age_head(sex_1h))
            demo = m.demo_state(F.one_hot(age, sizes[0]).float(), sex_1h)
            codes = torch.zeros(n, v)
            for j in range(v):
                logits, _ = m.code_logits(demo, codes)
                p = torch.sigmoid(logits[:, j]).numpy()
                codes[:, j] = torch.as_tensor(rng.uniform(size=n) < p, dtype=torch.float32)
            _, h = m.code_logits(demo, codes)
            onset = draw(m.onset_logits(h))
            onset = torch.where(codes > 0, onset, torch.full_like(onset, -1))
            rest = m.rest_logits(demo, codes, onset_one_hot(onset, codes, m.n_onset))
            cats, start = [age, sex], 0
            for size in sizes[2:]:
                cats.append(draw(rest[:, start:start + size]))
                start += size
        return Encoded(codes.numpy(), onset.numpy(), torch.stack(cats, 1).numpy(), np.arange(n))

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("EHRGenerator is not fitted yet; call fit(cohort) first")

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """``model.json`` (parameters, schema, structure, ledger), ``weights.safetensors`` and
        ``checksums.json``; written to a temporary folder, then renamed into place."""
        from safetensors.torch import save_file

        from synthscape.model_files import writing

        self._check()
        folder = Path(folder)
        meta = {"format": FORMAT, "schema": self.schema.model_dump(mode="json"),
                "params": {k: getattr(self, k) for k in ("epsilon", "delta", "epochs",
                           "batch_size", "lr", "max_grad_norm", "dim", "hidden",
                           "hierarchy", "accountant", "device", "seed", "expected_patients")},
                "nodes": self.nodes_, "arch": self.arch_, "ledger": self.ledger_.to_dict(),
                "training": self.training_}
        with writing(folder) as tmp:
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=float))
            save_file({k: v.contiguous() for k, v in self.model_.state_dict().items()},
                      str(tmp / "weights.safetensors"))
        return folder

    @classmethod
    def load(cls, folder: str | Path, ontology: Ontology | None = None) -> EHRGenerator:
        """Check every file against ``checksums.json``, then read JSON and safetensors (no
        pickle); any defect raises one ModelFormatError."""
        from synthscape.model_files import load_verified

        return load_verified(folder, lambda f: cls._read(f, ontology),
                             what="saved EHR generator")

    @classmethod
    def _read(cls, folder: Path, ontology: Ontology | None) -> EHRGenerator:
        from safetensors.torch import load_file

        from synthscape_healthcare.model import EHRNet

        meta: dict[str, Any] = json.loads((folder / "model.json").read_text())
        if meta.get("format") != FORMAT:
            raise ModelFormatError(f"{folder}: format {meta.get('format')} is not {FORMAT}; fit "
                                   f"and save the model again with this version")
        gen = cls(schema=CohortSchema.model_validate(meta["schema"]), ontology=ontology,
                  **meta["params"])
        gen.nodes_, gen.arch_, gen.training_ = meta["nodes"], meta["arch"], meta["training"]
        gen.ledger_ = PrivacyLedger.from_dict(meta["ledger"])
        gen.model_ = gen._build(EHRNet)
        gen.model_.load_state_dict(load_file(str(folder / "weights.safetensors")))
        gen.model_.eval()
        return gen


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(probs, axis=-1)
    u = rng.uniform(size=probs.shape[:-1] + (1,)) * cum[..., -1:]
    return np.minimum((u > cum).sum(axis=-1), probs.shape[-1] - 1)


def _take(enc: Encoded, idx: np.ndarray) -> Encoded:
    return Encoded(enc.codes[idx], enc.onset[idx], enc.cats[idx], enc.ids[idx])


def _concat(parts: list[Encoded]) -> Encoded:
    return Encoded(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("codes", "onset", "cats", "ids")))
