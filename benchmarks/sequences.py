"""Sequences benchmark: a simulated bank as the private transaction log, dp_sequence at epsilon 1
with the customer as the unit of privacy, a fresh simulated bank (another seed) as the real
hold-out; realism, detector utility, entity-level membership, SDV's PARSynthesizer as a
non-private peer, and speed.

    .venv/bin/python benchmarks/sequences.py --customers 20000 --days 28 --seeds 3
    .venv/bin/python benchmarks/sequences.py --only speed --speed-customers 100000
    .venv/bin/python benchmarks/sequences.py --render        # markdown from stored results

Resumable: each finished (part, seed) goes into benchmarks/results/sequences.json at once and
is skipped by the next run with the same sizes. The peer runs in its own venv
(python -m venv .venv-bench-sdv; .venv-bench-sdv/bin/pip install torch==2.13.0; then sdv).
Writes docs/benchmarks/sequences.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sequences.json"
PEER_RESULTS = ROOT / "benchmarks" / "results" / "sequences_peer.json"  # its own process
DOC = ROOT / "docs" / "benchmarks" / "sequences.md"
PEER_PY = ROOT / ".venv-bench-sdv" / "bin" / "python"
CARD = ("card_testing", "cnp_burst", "lost_stolen", "account_takeover", "merchant_compromise",
        "bust_out")
EVENT_COLUMNS = ("account_kind", "channel", "mcc", "status", "device", "away", "alerted",
                 "is_fraud", "typology")
AMOUNT_EDGES = np.r_[0, np.logspace(-1, np.log10(50_000), 30)]
AUGMENT_SHARE = 0.05  # fraud rows in the training set of every augmentation arm


# ---- peer worker (runs inside .venv-bench-sdv; imports no synthscape) ------------------------
def _par_worker(inp: str, out: str, n: int, epochs: int) -> None:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    df = pd.read_parquet(inp)
    context = [c for c in df.columns if c.startswith("ctx_")]
    md = Metadata.detect_from_dataframes({"log": df})
    md.update_column("customer_id", sdtype="id", table_name="log")
    md.set_sequence_key("customer_id", table_name="log")
    md.set_sequence_index("timestamp", table_name="log")
    syn = PARSynthesizer(md, context_columns=context, epochs=epochs, verbose=False)
    t0 = time.perf_counter()
    syn.fit({"log": df})
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = syn.sample_sequences(num_sequences=n)
    s = next(iter(s.values())) if isinstance(s, dict) else s
    sample_s = time.perf_counter() - t0
    s.to_parquet(out)
    print(json.dumps({"fit_seconds": fit_s, "sample_seconds": sample_s, "events": len(s)}))


# ---- the banks -------------------------------------------------------------------------------
def bank(customers: int, days: int, seed: int) -> dict[str, pd.DataFrame]:
    from synthscape_finance import simulate
    from synthscape_finance.spec import TransactionsSpec

    spec = TransactionsSpec(population={"customers": customers, "merchants": 3000,
                                        "days": days, "start": "2025-03-03"},
                            typologies={t: {"rate": 0.008} for t in CARD},
                            noise={"lone_fraud": {"rate": 0.001}, "small_burst": {"rate": 0.003},
                                   "lone_laundering": {"rate": 0.0}, "payroll": {"rate": 0.0},
                                   "cash_business": {"rate": 0.0}}, seed=seed)
    return simulate(spec)


def logs(customers: int, days: int, seed: int, max_events: int):
    """The private bank (seed 1000 + ``seed``), a fresh one as the hold-out (2000 + ``seed``),
    the private log as (entities, events), the hold-out's, and the declared sequence schema."""
    from synthscape_finance import sequence_log

    private, holdout = bank(customers, days, 1000 + seed), bank(customers, days, 2000 + seed)
    start = pd.Timestamp("2025-03-03")
    schema = sequence_log.sequence_schema(
        start=str(start.date()), end=str((start + pd.Timedelta(days=days)).date()),
        max_events=max_events)
    return private, holdout, sequences(private), sequences(holdout), schema


def sequences(t: dict[str, pd.DataFrame]):
    from synthscape_finance.sequence_log import to_sequences

    return to_sequences(t["transactions"], t["tx_labels"], t["accounts"], t["customers"])


# ---- realism and privacy ---------------------------------------------------------------------
def _tvd(a: pd.Series, b: pd.Series) -> float:
    p = a.astype(str).value_counts(normalize=True)
    q = b.astype(str).value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(a, b).statistic) if len(a) and len(b) else 1.0


def _gaps(evs: pd.DataFrame) -> np.ndarray:
    t = evs["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    same = evs["customer_id"].to_numpy()[1:] == evs["customer_id"].to_numpy()[:-1]
    return np.diff(t)[same].astype(float)


def realism(real: tuple, syn: tuple) -> dict[str, float]:
    """Event-column one-way TVDs (amount over 30 log bins), per-customer count KS (customers
    with no events count as 0), inter-event time KS, hour-of-day TVD."""
    re_, rv = real
    se, sv = syn
    out = {f"tvd_{c}": _tvd(rv[c], sv[c]) for c in EVENT_COLUMNS}
    out["tvd_amount"] = _tvd(pd.cut(rv["amount"], AMOUNT_EDGES), pd.cut(sv["amount"],
                                                                        AMOUNT_EDGES))
    cr = rv.groupby("customer_id").size().reindex(re_["customer_id"]).fillna(0).to_numpy()
    cs = sv.groupby("customer_id").size().reindex(se["customer_id"]).fillna(0).to_numpy()
    out["ks_events_per_customer"] = _ks(cr, cs)
    out["ks_inter_event_time"] = _ks(_gaps(rv), _gaps(sv))
    out["tvd_hour_of_day"] = _tvd(rv["timestamp"].dt.hour, sv["timestamp"].dt.hour)
    out["max_event_column_tvd"] = max(v for k, v in out.items() if k.startswith("tvd_") and
                                      k != "tvd_hour_of_day")
    return out


def _profile(ents: pd.DataFrame, evs: pd.DataFrame) -> np.ndarray:
    """One vector per customer (same order as ``ents``): log event count, mean log amount,
    channel and status shares, hour-of-day quarters, fraud share, and the static columns."""
    from synthscape_finance import events as E
    from synthscape_finance import population

    g = evs.assign(la=np.log1p(evs["amount"]), h=evs["timestamp"].dt.hour // 6)
    parts = [np.log1p(g.groupby("customer_id").size()).rename("n"),
             g.groupby("customer_id")["la"].mean().rename("la"),
             g.groupby("customer_id")["is_fraud"].mean().rename("fraud")]
    for col, values in (("channel", E.CHANNELS), ("status", E.STATUSES), ("h", range(4))):
        tab = pd.crosstab(g["customer_id"], g[col].astype(str), normalize="index")
        parts.append(tab.reindex(columns=[str(v) for v in values], fill_value=0.0))
    prof = pd.concat(parts, axis=1).reindex(ents["customer_id"]).fillna(0.0)
    static = [pd.get_dummies(pd.Categorical(ents[c].astype(str), categories=list(v)))
              .to_numpy(float) for c, v in (("age_band", population.AGE_BANDS),
                                            ("segment", population.SEGMENTS),
                                            ("is_fraud", ("no", "yes")))]
    income = np.log1p(ents["income"].to_numpy(float))[:, None] / 12
    return np.column_stack([prof.to_numpy(float), *static, income])


def membership_auc(members: tuple, others: tuple, syn: tuple, n: int = 2000,
                   seed: int = 0) -> float:
    """Entity-level membership: distance from a customer's profile to the closest synthetic
    customer, for training customers against customers of the fresh bank (ROC AUC; 0.5 is
    chance)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    vecs = [_profile(ents, evs) for ents, evs in (members, others, syn)]
    a = vecs[0][rng.choice(len(vecs[0]), min(n, len(vecs[0])), replace=False)]
    b = vecs[1][rng.choice(len(vecs[1]), min(n, len(vecs[1])), replace=False)]
    nn = NearestNeighbors(n_neighbors=1).fit(vecs[2])
    d = np.r_[nn.kneighbors(a)[0][:, 0], nn.kneighbors(b)[0][:, 0]]
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    return float(roc_auc_score(y, -d))


# ---- utility ---------------------------------------------------------------------------------
def _resampled(X: pd.DataFrame, y: np.ndarray, how: str, seed: int):
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    ratio = AUGMENT_SHARE / (1 - AUGMENT_SHARE)
    s = {"random_oversampler": RandomOverSampler(sampling_strategy=ratio, random_state=seed),
         "smote": SMOTE(sampling_strategy=ratio, random_state=seed)}[how]
    return s.fit_resample(X, y)


def utility(real: dict, syn20: dict, syn_extra: dict, holdout: dict, seed: int) -> dict:
    """Detectors scored on the hold-out bank: trained on the private log, on the DP synthetic
    log with 20% fraud customers, and on the private log augmented (to AUGMENT_SHARE fraud
    rows) by class weights, random oversampling, SMOTE, or the fraud rows of DP synthetic
    victims."""
    from synthscape_finance.evaluate import design, fit_detector, score

    X, y, _ = design(real)
    Xt, yt, typ = design(holdout)
    Xs, ys, _ = design(syn20)
    Xe, ye, _ = design(syn_extra)
    arms: dict[str, tuple] = {"real": (X, y, None), "dp_synthetic_20pct": (Xs, ys, None),
                              "real_class_weight": (X, y, "balanced")}
    for how in ("random_oversampler", "smote"):
        Xr, yr = _resampled(X, y, how, seed)
        arms[f"real_{how}"] = (Xr, yr, None)
    need = max(int(np.ceil((AUGMENT_SHARE * len(y) - y.sum()) / (1 - AUGMENT_SHARE))), 0)
    fraud_rows = Xe[ye]
    take = fraud_rows.sample(min(need, len(fraud_rows)), random_state=seed)
    arms["real_plus_dp_synthetic"] = (pd.concat([X, take], ignore_index=True),
                                      np.r_[y, np.ones(len(take), bool)], None)
    out = {}
    for name, (Xa, ya, cw) in arms.items():
        t0 = time.perf_counter()
        m = fit_detector(Xa, ya, seed=seed, class_weight=cw)
        out[name] = {**score(m, Xt, yt, typ), "train_rows": int(len(ya)),
                     "train_fraud_share": float(np.mean(ya)),
                     "seconds": time.perf_counter() - t0}
    out["real_plus_dp_synthetic"]["synthetic_fraud_rows_added"] = int(len(take))
    return out


# ---- the peer --------------------------------------------------------------------------------
def par_peer(ents: pd.DataFrame, evs: pd.DataFrame, *, customers: int, max_events: int,
             epochs: int, seed: int) -> dict:
    """SDV's PARSynthesizer (not private) on ``customers`` of the private customers, their
    first ``max_events`` events; returns its synthetic (entities, events) and timings."""
    if not PEER_PY.exists():
        return {"skipped": f"{PEER_PY} is missing (see the module docstring)"}
    rng = np.random.default_rng(seed)
    pick = ents.iloc[np.sort(rng.choice(len(ents), min(customers, len(ents)), replace=False))]
    ev = evs[evs["customer_id"].isin(pick["customer_id"])]
    ev = ev.groupby("customer_id", sort=False).head(max_events)
    ctx = pick.drop(columns=["is_fraud"]).set_index("customer_id").add_prefix("ctx_")
    ctx["ctx_is_fraud"] = pick.set_index("customer_id")["is_fraud"]
    df = ev.join(ctx, on="customer_id")
    df["mcc"] = df["mcc"].fillna("none")
    start = pd.Timestamp("2025-03-03")
    df["timestamp"] = (df["timestamp"] - start).dt.total_seconds()  # PAR: a numeric index
    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d) / "in.parquet", Path(d) / "out.parquet"
        df.to_parquet(inp)
        r = subprocess.run([str(PEER_PY), __file__, "--par-worker", str(inp), str(out),
                            str(len(pick)), str(epochs)], capture_output=True, text=True)
        if r.returncode != 0:
            return {"skipped": f"PAR failed: {r.stderr[-800:]}"}
        info = json.loads(r.stdout.strip().splitlines()[-1])
        s = pd.read_parquet(out)
    s["mcc"] = s["mcc"].replace("none", None)
    s["timestamp"] = start + pd.to_timedelta(s["timestamp"].clip(lower=0), unit="s")
    s = s.sort_values(["customer_id", "timestamp"], kind="stable").reset_index(drop=True)
    ctx_cols = [c for c in s.columns if c.startswith("ctx_")]
    se = s.groupby("customer_id", sort=False)[ctx_cols].first().reset_index()
    se.columns = [c.removeprefix("ctx_") for c in se.columns]
    sv = s.drop(columns=ctx_cols)
    return {**info, "customers": int(len(pick)), "max_events": max_events, "epochs": epochs,
            "real": (pick.reset_index(drop=True), ev.reset_index(drop=True)),
            "synthetic": (se, sv)}


# ---- one seed --------------------------------------------------------------------------------
def run_seed(args, seed: int) -> dict:
    from synthscape_finance import sequence_log, sequence_model

    t0 = time.perf_counter()
    private, holdout, (ents, evs), hold, schema = logs(args.customers, args.days, seed,
                                                       args.max_events)
    out: dict = {"seed": seed, "customers": len(ents), "events": len(evs),
                 "fraud_customer_share": float((ents["is_fraud"] == "yes").mean()),
                 "fraud_event_share": float(evs["is_fraud"].mean()),
                 "simulate_seconds": time.perf_counter() - t0}
    params = {"device": "cpu", **json.loads(args.generator)}
    gen = sequence_model.make(schema, epsilon=args.epsilon, delta=1e-6, seed=seed,
                              expected_entities=args.customers, params=params)
    t0 = time.perf_counter()
    sequence_model.fit(gen, ents, evs, schema)
    out["fit_seconds"] = time.perf_counter() - t0
    out["epsilon_spent"] = float(gen.ledger_.epsilon)
    out["training"] = {k: v for k, v in gen.training_.items() if isinstance(v, (int, float, str))}
    t0 = time.perf_counter()
    se, sv = gen.sample(len(ents), seed=seed)
    dt = time.perf_counter() - t0
    out["sample"] = {"events": len(sv), "seconds": dt, "events_per_second": len(sv) / dt}
    victims = set(sv.loc[sv["is_fraud"].astype(bool), "customer_id"])
    se["is_fraud"] = np.where(se["customer_id"].isin(victims), "yes", "no")
    out["realism"] = realism((ents, evs), (se, sv))
    out["membership_auc"] = membership_auc((ents, evs), hold, (se, sv), seed=seed)
    e20, v20 = sequence_model.sample(gen, len(ents), fraud_share=0.2, seed=seed + 7)
    syn20 = sequence_log.to_tables(e20, v20, seed=seed)
    out["synthetic_fraud_event_share_at_20pct_customers"] = float(v20["is_fraud"].mean())
    out["utility"] = utility(private, syn20, syn20, holdout, seed)
    return out


def run_peer(args, seed: int = 0) -> dict:
    private, holdout = bank(args.customers, args.days, 1000 + seed), \
        bank(args.customers, args.days, 2000 + seed)
    ents, evs = sequences(private)
    res = par_peer(ents, evs, customers=args.par_customers, max_events=args.par_max_events,
                   epochs=args.par_epochs, seed=seed)
    if "skipped" in res:
        return res
    real, syn = res.pop("real"), res.pop("synthetic")
    from synthscape_finance import sequence_log

    res["realism"] = realism(real, syn)
    res["membership_auc"] = membership_auc(real, sequences(holdout), syn, seed=seed)
    victims = set(syn[1].loc[syn[1]["is_fraud"].astype(bool), "customer_id"])
    syn[0]["is_fraud"] = np.where(syn[0]["customer_id"].isin(victims), "yes", "no")
    for c in ("account_kind", "channel", "status", "device", "typology", "age_band", "segment",
              "sensitive_group", "region"):
        frame = syn[1] if c in syn[1] else syn[0]
        frame[c] = frame[c].astype(str)
    tables = sequence_log.to_tables(syn[0], syn[1], seed=seed)
    from synthscape_finance.evaluate import design, fit_detector, score

    X, y, _ = design(tables)
    Xt, yt, typ = design(holdout)
    res["utility_synthetic_only"] = score(fit_detector(X, y, seed=seed), Xt, yt, typ) \
        if y.any() and (~y).any() else {"skipped": "no fraud rows in PAR's sample"}
    return res


def run_speed(args) -> dict:
    """Fit time and sampling rate at ``speed_customers`` (about 20 events each)."""
    from synthscape_finance import sequence_log, sequence_model

    days = args.speed_days
    t = bank(args.speed_customers, days, 3000)
    ents, evs = sequences(t)
    start = pd.Timestamp("2025-03-03")
    schema = sequence_log.sequence_schema(
        start=str(start.date()), end=str((start + pd.Timedelta(days=days)).date()),
        max_events=args.max_events)
    gen = sequence_model.make(schema, epsilon=args.epsilon, delta=1e-6, seed=0,
                              expected_entities=args.speed_customers,
                              params={"device": "cpu", **json.loads(args.generator)})
    t0 = time.perf_counter()
    sequence_model.fit(gen, ents, evs, schema)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, sv = gen.sample(20_000, seed=1)
    dt = time.perf_counter() - t0
    return {"customers": len(ents), "events": len(evs), "fit_seconds": fit_s,
            "training": {k: v for k, v in gen.training_.items()
                         if isinstance(v, (int, float, str))},
            "sample_events": len(sv), "sample_seconds": dt, "events_per_second": len(sv) / dt}


# ---- report ----------------------------------------------------------------------------------
def _ms(values) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    if not len(v):
        return "n/a"
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v[0]:.3f}"


def write_markdown(res: dict, path: Path) -> None:
    seeds = [res["seeds"][k] for k in sorted(res.get("seeds", {}))]
    cfg = res.get("config", {})
    L = ["# Sequences benchmark: a DP synthetic transaction log (dp_sequence) of a simulated bank",
         "", f"Command: `{res.get('command', '')}`  ", f"Machine: {res.get('machine', '')}  ",
         f"Date: {res.get('date', '')}  ", f"Configuration: `{json.dumps(cfg)}`", "",
         "The 2 cores were shared with other jobs during these runs (load average well above "
         "2): timings are noisy and slower than on an idle machine. Means ± standard "
         "deviation over seeds.", ""]
    if seeds:
        s0 = seeds[0]
        L += [f"Private log per seed: {s0['customers']:,} customers, about "
              f"{np.mean([s['events'] for s in seeds]):,.0f} events, "
              f"{np.mean([s['fraud_customer_share'] for s in seeds]):.1%} of customers and "
              f"{np.mean([s['fraud_event_share'] for s in seeds]):.2%} of events fraudulent. "
              f"Epsilon spent (customer level): "
              f"{_ms([s['epsilon_spent'] for s in seeds])}.", "",
              "## Realism (synthetic sample of as many customers, fraud share as drawn)", "",
              "| metric | target | dp_sequence | met |", "|---|---:|---:|---|"]
        keys = [k for k in s0["realism"]]
        for k in keys:
            target = 0.1 if k.startswith("ks_") else 0.05
            vals = [s["realism"][k] for s in seeds]
            L.append(f"| {k} | <= {target} | {_ms(vals)} | "
                     f"{'yes' if np.mean(vals) <= target else 'no'} |")
        L += ["", "## Utility (detector scored on a fresh simulated bank)", "",
              "| training set | PR-AUC | recall at 1% FPR | fraud share of training rows |",
              "|---|---:|---:|---:|"]
        for arm in s0["utility"]:
            u = [s["utility"][arm] for s in seeds]
            L.append(f"| {arm} | {_ms([x.get('pr_auc') for x in u])} | "
                     f"{_ms([x.get('recall_at_1pct_fpr') for x in u])} | "
                     f"{_ms([x.get('train_fraud_share') for x in u])} |")
        ratio = [s["utility"]["dp_synthetic_20pct"]["pr_auc"] / s["utility"]["real"]["pr_auc"]
                 for s in seeds]
        L += ["", f"DP synthetic (20% fraud customers) over real PR-AUC: {_ms(ratio)} (target "
                  f">= 0.8).", "", "### Recall at 1% FPR per typology", ""]
        typs = sorted({t for s in seeds for a in s["utility"].values()
                       for t in a.get("recall_per_typology", {})})
        L += ["| training set | " + " | ".join(typs) + " |",
              "|---|" + "---:|" * len(typs)]
        for arm in s0["utility"]:
            cells = [_ms([s["utility"][arm].get("recall_per_typology", {}).get(t)
                          for s in seeds]) for t in typs]
            L.append(f"| {arm} | " + " | ".join(cells) + " |")
        L += ["", "## Privacy and speed", "",
              f"Entity-level membership AUC (distance of a customer's profile to the closest "
              f"synthetic customer, training customers against the fresh bank's): "
              f"{_ms([s['membership_auc'] for s in seeds])} (target 0.5 ± 0.03).", "",
              f"Fit: {_ms([s['fit_seconds'] for s in seeds])} s; sampling "
              f"{_ms([s['sample']['events_per_second'] for s in seeds])} events/s.", ""]
    if "peer" in res:
        p = res["peer"]
        L += ["## Peer: SDV PARSynthesizer (not private)", ""]
        if "skipped" in p:
            L.append(f"Skipped: {p['skipped']}")
        else:
            L += [f"Fitted on {p['customers']:,} of the private customers (their first "
                  f"{p['max_events']} events), {p['epochs']} epochs: fit "
                  f"{p['fit_seconds']:.0f} s, sampling {p['events'] / p['sample_seconds']:,.0f} "
                  f"events/s. Membership AUC {p['membership_auc']:.3f}.", "",
                  "| metric | PAR |", "|---|---:|"]
            L += [f"| {k} | {v:.3f} |" for k, v in p["realism"].items()]
            u = p.get("utility_synthetic_only", {})
            if "pr_auc" in u:
                L += ["", f"Detector trained on PAR's log only: PR-AUC {u['pr_auc']:.3f}, "
                          f"recall at 1% FPR {u['recall_at_1pct_fpr']:.3f}."]
        L.append("")
    if "speed" in res:
        s = res["speed"]
        L += ["## Speed at scale", "",
              f"{s['customers']:,} customers, {s['events']:,} events: fit "
              f"{s['fit_seconds']:.0f} s ({s['training']}); sampling "
              f"{s['events_per_second']:,.0f} events/s.", ""]
    L += [SCOPE, "", FINDINGS, "", LENGTHS]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L) + "\n")


SCOPE = """## What was cut, and what was not measured

The issue asks for a private log of 20,000-100,000 customers over 1-3 months, a speed run at
100,000 customers / 2M events (target: fit under 15 minutes on 2 cores at epsilon 1) and
sampling at >= 100,000 events/s. On the shared 2-core machine of this run (load average 15-20,
every job at nice 10, each getting about 6% of a core) a fit on 5,000 customers with the
dp_sequence of an hour earlier had not finished after 5 CPU-minutes, so the runs here use 1,000
customers over 28 days (each customer's first 64 events), dp_sequence's default training for
that size (192 steps), and the peer on 300 of those customers (first 32 events, 8 epochs). The
100,000-customer speed run was not made: there is no fit time at that size to report. The fit
times and the sampling rate above are wall-clock under that contention (the three seeds ran as
parallel processes with the peer), so they say little about the generator's own speed; PAR's
sampling (11 events/s) and dp_sequence's (about 2,700 events/s) were measured in the same
conditions. The runs used the code of commit 4006a16 (a snapshot, so that edits in progress in
the working tree could not change them mid-run)."""

FINDINGS = """## Findings

Targets at this (cut) size, three seeds: the realism targets are met for 8 of the 10 event
columns (mcc 0.061 and amount 0.099 miss 0.05) and missed for the temporal ones: synthetic
customers have about 13 events against 57 real ones (per-customer count KS 0.62), inter-event
time KS 0.23, hour-of-day TVD 0.23. Membership AUC 0.489 ± 0.002 is within 0.5 ± 0.03 (met; the
non-private PAR peer reaches 0.68 on its own training customers). The detector trained on the
DP log with 20% fraud customers reaches 0.05 of the real-trained PR-AUC (target 0.8: not met).
Real + DP synthetic (0.687 ± 0.067) matches class weights (0.686 ± 0.035) but stays below random
oversampling (0.777 ± 0.066) and SMOTE (0.772 ± 0.057) by about 0.09, more than the seed spread
(not met). The DP arm could only add about 210 synthetic fraud rows (1.0% of training rows
instead of the 5% the resamplers reach), because the synthetic victims carry few fraudulent
rows. With 1,000 customers the real-trained detector itself is noisy (PR-AUC 0.58 ± 0.18).

Per typology (recall at 1% FPR of a detector trained on the DP log alone, against the
real-trained one):

- card_testing (0.26 ± 0.19 vs 0.89) is the only pattern that partly survives. Its signature
  sits in single events: a few-dollar card-not-present purchase at a digital-goods merchant
  from a new device, and often the status declined_card, which only probes have. The per-event
  heads learn that joint from the many probe rows (3-10 per victim); it does not need the
  timing the model did not learn.
- account_takeover (0.13 ± 0.13 vs 0.94) and merchant_compromise misuse (0.14, one seed with
  misuse in the hold-out window, vs 0.71) keep a trace: a single large card-not-present
  purchase or transfer from a new device away from home. What made them easy for the real
  detector is lost: the drain takes 80-100% of the balance, and balances are rebuilt from
  synthetic amounts; a breach links many customers through one merchant, and an entity-level
  model with no merchant ids cannot represent a link between customers.
- cnp_burst (0.00 vs 0.81), lost_stolen (0.04 vs 0.64) and bust_out (0.00 vs 0.56) do not
  survive. They are defined by time: 5-15 purchases within two hours, a spree within six hours
  away from home, a build-up of weeks then a spree. The detector finds them through the count
  in the last hour and day and the time since the last transaction, and the DP model did not
  learn the temporal structure even of ordinary customers (sequences four times too short,
  inter-event KS 0.23), so synthetic bursts do not look like real ones.
- lone_fraud is missed by every detector (one ordinary-looking purchase).

Why so little survives: at epsilon 1 the fit adds Gaussian noise of 4.0 times the clipping
norm to each sum of per-customer gradients (Poisson rate 0.064, about 64 customers a step,
192 steps). With 1,000 customers and a typology rate of 0.8% of accounts, each typology has
about ten victims in the private log, so a step sees a victim of a given typology less than
once on average, and its gradient is one clipped contribution under noise four times larger.
Patterns shared by a few dozen customers cannot be learnt at this budget and size; more
customers (the 20,000-100,000 the issue asks for) raise the signal in proportion at the same
noise.

One larger run, 5,000 customers, seed 0 only, with the dp_sequence of commit 6e382f5 (newer
than the three seeds above; `--seed 0 --tag c5000_ --customers 5000 --days 28 --max-events 64`,
benchmarks/results/sequences_c5000_seed0.json): all 10 event-column TVDs <= 0.05 (max 0.047),
per-customer count KS 0.50, inter-event KS 0.24, hour-of-day TVD 0.17 (temporal targets still
missed), membership AUC 0.487; DP log alone 0.061 PR-AUC against 0.739 real (0.08); real + DP
synthetic 0.771 against class weights 0.857, SMOTE 0.819, random oversampling 0.797. Recall
from the DP log alone rises where the signature is in single events: account_takeover 0.41,
card_testing 0.40, merchant_compromise 0.50; the time-defined cnp_burst 0.04, lost_stolen
0.08 and bust_out 0.01 still do not survive. One seed: no spread to report."""


LENGTHS = """## After the DP length histogram (seed 0, before and after)

The three seeds above predate it. dp_sequence now draws each customer's number of transactions
from a DP histogram of the lengths (5% of the budget; one per value of is_fraud in the finance
pack), sees the length and the time left when it predicts gaps, starts its time-of-day head
from a DP hour profile (2%) and draws a same-day event's time after the previous one. Seed 0,
1,000 customers over 28 days, epsilon 1, `OMP_NUM_THREADS=1 nice -n 10 python
benchmarks/sequences.py --seed 0 --tag T --customers 1000 --days 28 --max-events L` (T names
the result file), the code of commit 3e001d6 (before) and 4c467e9
(after) from snapshots, one thread; load average 1.8-2.9 (before, L = 64), 10-12 (before,
L = 128), 6.4-8.9 (after). One seed and fresh DP noise in each fit: differences of a few
hundredths are within run-to-run variation. Results: benchmarks/results/
sequences_lengths_c1000.json. The real log has 55.9 transactions per customer (44.1 when cut to
the first 64, 53.8 to the first 128).

| metric (target) | L = 64 before | L = 64 after | L = 128 before | L = 128 after |
|---|---:|---:|---:|---:|
| synthetic transactions per customer | 38.9 | 47.3 | 41.2 | 52.6 |
| per-customer count KS (<= 0.1) | 0.339 | 0.339 | 0.297 | **0.060** |
| inter-event time KS (<= 0.1) | 0.283 | 0.205 | 0.301 | 0.311 |
| hour-of-day TVD (<= 0.05) | 0.242 | 0.244 | 0.249 | 0.318 |
| max event-column TVD (<= 0.05) | 0.070 | 0.066 | 0.105 | 0.057 |
| membership AUC (0.5 +- 0.03) | 0.486 | 0.491 | 0.485 | 0.487 |
| DP log alone / real PR-AUC (>= 0.8) | 0.062 | 0.044 | 0.029 | 0.034 |
| real + DP synthetic PR-AUC (real 0.648) | 0.730 | 0.715 | 0.725 | 0.731 |

Reading. At L = 64 the count KS cannot move: it compares with the uncut log and 33.9% of the
real customers have more than 64 transactions, which no sample cut to 64 can have (0.339 is
that share). At L = 128 (5.7% above the bound) the count KS falls from 0.297 to 0.060, within
the target. The inter-event time and hour-of-day metrics are not met and the hour TVD got
worse at L = 128: the network does not condition a same-day transaction's time of day on the
previous one's except through its recurrent summary, so chains of same-day transactions
drift into the evening, and the right (longer) lengths make more such chains; at 1,000
customers (batch 64, noise multiplier 4) the time-of-day head and its DP profile are mostly
noise. On the 10,000-customer card log of benchmarks/dp_sequence_speed.py every temporal
metric is within these targets after the change (count KS 0.015, inter-event KS 0.035,
hour-of-day TVD 0.041; see docs/sequences.md). Membership stays at chance; the detector
figures are within their run-to-run spread (the DP-only detector stays far from the target)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=["seeds", "peer", "speed"])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--max-events", type=int, default=128)
    ap.add_argument("--generator", default="{}", help="JSON of dp_sequence parameters")
    ap.add_argument("--par-customers", type=int, default=1000)
    ap.add_argument("--par-max-events", type=int, default=64)
    ap.add_argument("--par-epochs", type=int, default=16)
    ap.add_argument("--speed-customers", type=int, default=100_000)
    ap.add_argument("--speed-days", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None,
                    help="run this seed only, into benchmarks/results/sequences_seed<K>.json "
                         "(seeds in parallel processes); --render merges them")
    ap.add_argument("--tag", default="", help="prefix of the --seed result file")
    ap.add_argument("--render", action="store_true")
    ap.add_argument("--par-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.par_worker:
        inp, out, n, epochs = args.par_worker
        _par_worker(inp, out, int(n), int(epochs))
        return 0
    res = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    def with_peer(r: dict) -> dict:
        if PEER_RESULTS.exists():
            return {**r, "peer": json.loads(PEER_RESULTS.read_text())}
        return r

    cfg = {"customers": args.customers, "days": args.days, "epsilon": args.epsilon,
           "max_events": args.max_events, "generator": json.loads(args.generator),
           "typology_rate": 0.008, "augment_share": AUGMENT_SHARE}
    if args.seed is not None:
        one = RESULTS.with_name(f"sequences_{args.tag}seed{args.seed}.json")
        if not one.exists():
            out = {"config": cfg, "result": run_seed(args, args.seed)}
            one.write_text(json.dumps(out, indent=1, default=float) + "\n")
        return 0
    if args.render:
        flags = (f"--customers {args.customers} --days {args.days} --max-events "
                 f"{args.max_events}")
        res.setdefault("command", f"python benchmarks/sequences.py --seed K {flags} for K = 0, "
                                  f"1, 2 (parallel processes), then --render {flags}")
        res.setdefault("machine", f"{platform.machine()}, {os.cpu_count()} CPU cores (shared), "
                                  f"Python {platform.python_version()}")
        res.setdefault("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        for one in sorted(RESULTS.parent.glob("sequences_*seed*.json")):
            part = json.loads(one.read_text())
            if part["config"] == res.get("config", part["config"]):
                res["config"] = part["config"]
                res.setdefault("seeds", {})[str(part["result"]["seed"])] = part["result"]
        RESULTS.write_text(json.dumps(res, indent=1, default=float) + "\n")
        write_markdown(with_peer(res), DOC)
        return 0
    if res.get("config") != cfg:
        res = {k: v for k, v in res.items() if k == "speed"}
    res.update({"config": cfg,
                "command": " ".join(["python benchmarks/sequences.py", *(argv or sys.argv[1:])]),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared), "
                           f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    res.setdefault("seeds", {})

    def save() -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=1, default=float) + "\n")
        tmp.replace(RESULTS)
        write_markdown(with_peer(res), DOC)

    if "seeds" in args.only:
        for seed in range(args.seeds):
            if str(seed) in res["seeds"]:
                continue
            t0 = time.perf_counter()
            res["seeds"][str(seed)] = run_seed(args, seed)
            save()
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if "peer" in args.only and not PEER_RESULTS.exists():
        peer = {"config": {k: getattr(args, k) for k in ("customers", "days", "par_customers",
                                                         "par_max_events", "par_epochs")},
                **run_peer(args)}
        PEER_RESULTS.write_text(json.dumps(peer, indent=1, default=float) + "\n")
        write_markdown(with_peer(json.loads(RESULTS.read_text()) if RESULTS.exists() else res),
                       DOC)
    if "speed" in args.only:
        res["speed"] = run_speed(args)
        save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
