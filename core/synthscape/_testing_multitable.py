"""The conformance kit of multi-table generators (:mod:`synthscape.generators.multitable`).

Public names are re-exported by :mod:`synthscape.testing`; see ``check_multitable_generator``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.noise import KEY_ENV, KEY_FILE_ENV

__all__ = ["MULTITABLE_CHECKS", "check_multitable_generator", "multitable_checks", "noise_key"]

_KIT_KEY = "6b17" * 16  # a throwaway owner key, set only while the kit fits


@contextmanager
def noise_key(key: str | None) -> Iterator[None]:
    """Run the block with the secret noise key ``key`` (hex), or with none (``None``: noise from
    the operating system's CSPRNG); both key variables are restored afterwards."""
    saved = {v: os.environ.get(v) for v in (KEY_ENV, KEY_FILE_ENV)}
    try:
        os.environ.pop(KEY_FILE_ENV, None)
        if key is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = key
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _tables(data: Any, what: str) -> dict[str, pd.DataFrame]:
    tables = getattr(data, "tables", None)
    assert callable(tables), f"{what} has no tables() method (the RecordSet protocol)"
    out = tables()
    assert isinstance(out, dict) and out, f"{what}.tables() must return a non-empty dict"
    bad = [k for k, v in out.items() if not isinstance(v, pd.DataFrame)]
    assert not bad, f"{what}.tables() holds non-DataFrame values under {bad}"
    return out


def _same(a: Any, b: Any) -> bool:
    ta, tb = _tables(a, "a sample"), _tables(b, "a sample")
    if ta.keys() != tb.keys():
        return False
    for name in ta:
        try:
            pd.testing.assert_frame_equal(ta[name], tb[name])
        except AssertionError:
            return False
    return True


class _Kit:
    def __init__(self, factory: Callable[[], Any], data: Any, *, n: int, private: bool,
                 paid_steps: Sequence[str], conditions: Mapping[str, Any] | None,
                 load: Callable[[Path], Any] | None):
        self.factory, self.data, self.n, self.private = factory, data, n, private
        self.paid_steps, self.conditions = tuple(paid_steps), dict(conditions or {})
        self._load = load
        self._tmp = tempfile.TemporaryDirectory(prefix="synthscape-kit-")  # removed when freed
        self._fitted: Any = None
        self._folder: Path | None = None

    def new(self) -> Any:
        return self.factory()

    def fit(self, key: str | None = _KIT_KEY) -> Any:
        with noise_key(key):
            gen = self.new()
            return gen, gen.fit(self.data)

    def fitted(self) -> Any:
        if self._fitted is None:
            gen, out = self.fit()
            assert out is gen, f"fit returned {type(out).__name__}, not self"
            self._fitted = gen
        return self._fitted

    def where(self, name: str) -> Path:
        return Path(self._tmp.name) / name

    def saved(self) -> Path:
        if self._folder is None:
            self._folder = self.save(self.fitted(), "model")
        return self._folder

    def save(self, gen: Any, name: str) -> Path:
        out = gen.save(self.where(name))
        return Path(out) if out is not None else self.where(name)

    def state(self, gen: Any, name: str) -> dict[str, bytes]:
        """The saved files of ``gen`` (but the checksum list), by path: its fitted state."""
        folder = self.save(gen, name)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                if p.is_file() and p.name != "checksums.json"}

    def load(self, folder: Path) -> Any:
        if self._load is not None:
            return self._load(folder)
        return type(self.fitted()).load(folder)


# ---- the checks ------------------------------------------------------------------------
def check_record_set(k: _Kit) -> None:
    _tables(k.data, "the training data")
    units = getattr(k.data, "n_units", None)
    assert isinstance(units, int) and units > 0, \
        f"the training data's n_units must be an int > 0, got {units!r}"
    gen = k.new()
    for name in ("fit", "sample", "save"):
        assert callable(getattr(gen, name, None)), f"the generator has no {name}() method"
    assert callable(getattr(type(gen), "load", None)), "the generator has no load() classmethod"


def check_constructor_stores_only(k: _Kit) -> None:
    gen = k.new()
    fitted = [a for a in vars(gen) if a.endswith("_") and not a.startswith("_")]
    assert not fitted, f"the constructor set fitted state {fitted}; it must only store parameters"


def check_not_fitted(k: _Kit) -> None:
    gen = k.new()
    for what, call in (("sample", lambda: gen.sample(k.n)),
                       ("save", lambda: gen.save(k.where("unfitted")))):
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError(f"{what} before fit must raise NotFittedError")


def check_fit_sets_a_ledger(k: _Kit) -> None:
    led = getattr(k.fitted(), "ledger_", None)
    assert isinstance(led, PrivacyLedger), f"fit must set ledger_ to a PrivacyLedger, got {led!r}"
    if k.private:
        assert led.is_private and led.budget is not None, \
            f"a private fit's ledger must be private: {led.describe()}"
        assert 0 < led.epsilon <= led.budget.epsilon * (1 + 1e-9), \
            f"spent epsilon {led.epsilon} is not in (0, budget {led.budget.epsilon}]"
    else:
        assert not led.is_private and led.epsilon == float("inf"), \
            "a non-private fit's ledger must say NOT PRIVATE (epsilon = inf)"


def check_ledger_pays_every_step(k: _Kit) -> None:
    led = k.fitted().ledger_
    if not k.private:
        assert led.describe().startswith("NOT PRIVATE"), "a free read must say NOT PRIVATE"
        return
    events = [e for e in led.events if e.is_private]
    assert events, "the ledger holds no accounted event: did fit read the data for free?"
    assert len(events) == len(led.events), "a private ledger holds a NOT PRIVATE event"
    labels = [e.label for e in events]
    for i, step in enumerate(k.paid_steps):
        assert i < len(labels) and labels[i].startswith(step), \
            f"the ledger's events {labels} must begin with the paid steps {list(k.paid_steps)}"


def check_sample_shape(k: _Kit) -> None:
    syn = k.fitted().sample(k.n, seed=1)
    assert getattr(syn, "n_units", None) == k.n, \
        f"sample({k.n}) gave {getattr(syn, 'n_units', None)} units"
    real, got = _tables(k.data, "the training data"), _tables(syn, "the sample")
    assert real.keys() == got.keys(), f"sampled tables {sorted(got)} != {sorted(real)}"
    for name in real:
        assert list(got[name].columns) == list(real[name].columns), \
            f"table {name!r}: columns {list(got[name].columns)} != {list(real[name].columns)}"


def check_seeded(k: _Kit) -> None:
    gen = k.fitted()
    for cond in ({}, k.conditions) if k.conditions else ({},):
        a, b = gen.sample(k.n, seed=7, **cond), gen.sample(k.n, seed=7, **cond)
        assert _same(a, b), f"two samples with seed=7 and conditions {cond} differ"
        assert a.n_units == k.n, f"a sample with conditions {cond} has {a.n_units} units"


def check_seeds_differ(k: _Kit) -> None:
    gen = k.fitted()
    assert not _same(gen.sample(k.n, seed=7), gen.sample(k.n, seed=8)), \
        "samples with seed=7 and seed=8 are identical: is the seed used?"


def check_noise_from_secret_source(k: _Kit) -> None:
    if not k.private:
        return
    (a, _), (b, _) = k.fit(key=None), k.fit(key=None)
    sa, sb = k.state(a, "no-key-a"), k.state(b, "no-key-b")
    assert sa != sb, \
        ("two fits with the same public seed and no secret noise key saved the same model: "
         "the DP noise must come from the ledger's NoiseSource, never from the public seed")


def check_owner_key_reproduces(k: _Kit) -> None:
    again, _ = k.fit()
    first, second = k.state(k.fitted(), "key-a"), k.state(again, "key-b")
    changed = sorted(f for f in first.keys() | second.keys() if first.get(f) != second.get(f))
    assert not changed, \
        (f"two fits under the same secret noise key and public seed saved different {changed}: "
         f"exact re-runs fail (a timing or a draw outside the ledger's NoiseSource?)")
    assert _same(k.fitted().sample(k.n, seed=7), again.sample(k.n, seed=7)), \
        "two fits under the same secret noise key and public seed sample differently"


def check_save_load(k: _Kit) -> None:
    folder = k.saved()
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert "checksums.json" in files, f"save() wrote no checksums.json: {files}"
    assert not any(f.endswith((".pkl", ".pickle", ".pt")) for f in files), f"pickles: {files}"
    same = k.load(folder)
    gen = k.fitted()
    assert _same(gen.sample(k.n, seed=3), same.sample(k.n, seed=3)), \
        "samples before and after save/load differ"
    assert same.ledger_.to_dict() == gen.ledger_.to_dict(), "the ledger changed in save/load"


def _tampered(src: Path, dst: Path, rel: str, how: str) -> None:
    from synthscape.model_files import write_checksums

    shutil.copytree(src, dst)
    p = dst / rel
    raw = p.read_bytes()
    if how == "flipped":
        i = len(raw) // 2
        p.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:] if raw else b"x")
    elif how == "truncated":
        p.write_bytes(raw[:len(raw) // 2])
    elif how == "missing":
        p.unlink()
    elif how in ("not JSON", "empty JSON"):  # hashes recomputed: the parser must catch it
        p.write_text("{" if how == "not JSON" else "{}")
        write_checksums(dst)


def check_tampered_files_refused(k: _Kit) -> None:
    folder = k.saved()
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    cases = [(f, how) for f in files for how in ("flipped", "truncated", "missing")]
    cases += [(f, how) for f in files if f.endswith(".json") and f != "checksums.json"
              for how in ("not JSON", "empty JSON")]
    cases.append(("stray.bin", "added"))
    for i, (rel, how) in enumerate(cases):
        dst = k.where(f"tampered-{i}")
        if how == "added":
            shutil.copytree(folder, dst)
            (dst / rel).write_bytes(b"\0")
        else:
            _tampered(folder, dst, rel, how)
        try:
            k.load(dst)
        except ModelFormatError:
            continue
        except Exception as exc:
            raise AssertionError(f"loading a model folder with {rel} {how} raised "
                                 f"{type(exc).__name__} ({exc}), not ModelFormatError") from exc
        finally:
            shutil.rmtree(dst, ignore_errors=True)
        raise AssertionError(f"a model folder with {rel} {how} loaded without complaint")


def check_no_exact_unit_count(k: _Kit) -> None:
    if not k.private:  # a NOT PRIVATE release promises nothing about what it shows
        return
    units = int(k.data.n_units)
    number = re.compile(rf"(?<![\w.]){units}(\.0+)?(?![\w.])")
    for p in sorted(k.saved().rglob("*.json")):
        hit = number.search(p.read_text())
        assert hit is None, \
            (f"{p.name} holds the exact unit count {units} ({hit.group(0)!r}): plan sampling "
             f"rates and steps from a DP count paid in the ledger or a declared size")


MULTITABLE_CHECKS: tuple[Callable[[_Kit], None], ...] = (
    check_record_set, check_constructor_stores_only, check_not_fitted, check_fit_sets_a_ledger,
    check_ledger_pays_every_step, check_sample_shape, check_seeded, check_seeds_differ,
    check_noise_from_secret_source, check_owner_key_reproduces, check_save_load,
    check_tampered_files_refused, check_no_exact_unit_count,
)


def multitable_checks(factory: Callable[[], Any], data: Any, *, n: int = 40,
                      private: bool = True, paid_steps: Sequence[str] = (),
                      conditions: Mapping[str, Any] | None = None,
                      load: Callable[[Path], Any] | None = None
                      ) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(check_name, run)`` pairs; ``run()`` raises AssertionError on failure."""
    if not callable(factory):
        raise ParameterError(f"check_multitable_generator expects a factory (a callable that "
                             f"returns a new unfitted generator), got {type(factory).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(f"n must be an int >= 1, got {n!r}")
    kit = _Kit(factory, data, n=n, private=private, paid_steps=paid_steps,
               conditions=conditions, load=load)
    for check in MULTITABLE_CHECKS:
        yield check.__name__, partial(check, kit)


def check_multitable_generator(factory: Callable[[], Any], data: Any, *, n: int = 40,
                               private: bool = True, paid_steps: Sequence[str] = (),
                               conditions: Mapping[str, Any] | None = None,
                               load: Callable[[Path], Any] | None = None) -> list[str]:
    """Run every check of the multi-table contract; return the names of those that passed.

    ``factory()`` returns a new unfitted generator with a fixed public seed (a
    :class:`~synthscape.generators.SupportsMultiTable`); ``data`` is the training record set (a
    :class:`~synthscape.generators.RecordSet`), small enough to fit in seconds: the kit fits it
    four times. Pick a unit count that no parameter shares: the saved JSON must not hold it.
    ``n``: units per sample. ``private``: whether the fit is DP (False: the ledger must say NOT
    PRIVATE). ``paid_steps``: label prefixes the ledger's first events must carry, in order
    (e.g. the unit count, then training). ``conditions``: keyword conditions of ``sample`` to
    check for seeding too. ``load``: how to read a saved folder (default
    ``type(generator).load``). The kit sets its own secret noise key while fitting and removes
    it to check that noise does not come from the public seed; the environment is restored.

    Raises AssertionError naming the first failed check.
    """
    passed = []
    for name, run in multitable_checks(factory, data, n=n, private=private,
                                       paid_steps=paid_steps, conditions=conditions, load=load):
        try:
            run()
        except AssertionError as exc:
            raise AssertionError(f"{name} failed (multi-table kit): {exc}") from exc
        passed.append(name)
    return passed
