"""Report of benchmarks/suite.py: results/suite.json and the tables of docs/benchmarks/suite.md
(per table, generator and epsilon: means and sds over the seeds that ran), and the issue's
targets read off them."""
from __future__ import annotations

import json
import platform
import statistics
from pathlib import Path

GENS = ("dp_ctgan", "dp_tvae", "aim", "aim-uncoarsened", "mst", "independent",
        "smartnoise-dpctgan", "smartnoise-aim")
NEURAL = ("dp_ctgan", "dp_tvae")


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["table"], r["generator"], r["epsilon"]), []).append(r)
    out = []
    for (table, gen, eps), rs in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0],
                                                                          GENS.index(kv[0][1]))):
        ok = [r for r in rs if "error" not in r]
        s: dict = {"table": table, "generator": gen, "epsilon": eps, "seeds": sorted(
            r["seed"] for r in ok), "failed": len(rs) - len(ok)}
        if len(ok) < len(rs):
            s["error"] = next(r["error"] for r in rs if "error" in r)
        for k in ("fit_s", "one_way_tvd_max", "two_way_tvd", "tstr", "trtr", "tstr_over_trtr"):
            vals = [r[k] for r in ok if k in r]
            if vals:
                s[k] = statistics.fmean(vals)
                s[k + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        if ok:
            cols = ok[0]["one_way_tvd"]
            s["one_way_tvd"] = {c: statistics.fmean(r["one_way_tvd"][c] for r in ok) for c in cols}
        out.append(s)
    return out


def _cell(s: dict | None, key: str, fmt: str = ".3f") -> str:
    if s is None or key not in s:
        return "-" if s is None or "error" not in s else "failed"
    sd = s.get(key + "_sd", 0.0)
    return f"{s[key]:{fmt}} ± {sd:{fmt}}" if len(s["seeds"]) > 1 else f"{s[key]:{fmt}}"


def markdown(summary: list[dict]) -> list[str]:
    lines = []
    eps_list = sorted({s["epsilon"] for s in summary})
    tables = list(dict.fromkeys(s["table"] for s in summary))
    index = {(s["table"], s["generator"], s["epsilon"]): s for s in summary}
    for eps in eps_list:
        lines += [f"### epsilon {eps:g}", "",
                  "| table | generator | seeds | TSTR/TRTR | two-way TVD | worst one-way TVD "
                  "| fit s |", "|---|---|---|---|---|---|---|"]
        for t in tables:
            for g in GENS:
                s = index.get((t, g, eps))
                if s is None:
                    continue
                seeds = ",".join(str(x) for x in s["seeds"]) or "none"
                lines.append(f"| {t} | {g} | {seeds} | {_cell(s, 'tstr_over_trtr')} | "
                             f"{_cell(s, 'two_way_tvd')} | {_cell(s, 'one_way_tvd_max')} | "
                             f"{_cell(s, 'fit_s', '.1f')} |")
        lines.append("")
    return lines


def targets(summary: list[dict]) -> list[str]:
    """The issue's targets at epsilon 1, per table, for the better neural generator (the one
    with the higher TSTR/TRTR on that table)."""
    index = {(s["table"], s["generator"], s["epsilon"]): s for s in summary}
    tables = list(dict.fromkeys(s["table"] for s in summary if s["epsilon"] == 1.0))
    lines = ["| table | better neural | worst one-way TVD (<= 0.05) | two-way TVD / aim's (<= 2) "
             "| TSTR/TRTR / aim's (>= 0.8) | ahead of smartnoise DPCTGAN |",
             "|---|---|---|---|---|---|"]
    ratios = []
    for t in tables:
        aim = index.get((t, "aim", 1.0))
        peer = index.get((t, "smartnoise-dpctgan", 1.0))
        cands = [index[(t, g, 1.0)] for g in NEURAL if (t, g, 1.0) in index
                 and "tstr_over_trtr" in index[(t, g, 1.0)]]
        if not cands or aim is None or "tstr_over_trtr" not in aim:
            continue
        best = max(cands, key=lambda s: s["tstr_over_trtr"])
        r2 = best["two_way_tvd"] / aim["two_way_tvd"]
        ru = best["tstr_over_trtr"] / aim["tstr_over_trtr"]
        ratios.append(ru)
        ahead = "-" if peer is None or "tstr_over_trtr" not in peer else (
            "yes" if best["tstr_over_trtr"] > peer["tstr_over_trtr"]
            and best["two_way_tvd"] < peer["two_way_tvd"] else "no")
        lines.append(f"| {t} | {best['generator']} | {best['one_way_tvd_max']:.3f} "
                     f"({'met' if best['one_way_tvd_max'] <= 0.05 else 'not met'}) | {r2:.2f} "
                     f"({'met' if r2 <= 2 else 'not met'}) | {ru:.2f} "
                     f"({'met' if ru >= 0.8 else 'not met'}) | {ahead} |")
    if ratios:
        m = statistics.fmean(ratios)
        lines += ["", f"Suite mean of the better neural generator's TSTR/TRTR over aim's: {m:.2f} "
                  f"({'met' if m >= 0.9 else 'not met'}: >= 0.9), over {len(ratios)} tables."]
    return lines


def report(rows: list[dict], root: Path) -> None:
    summary = summarise(rows)
    out = {"command": "benchmarks/suite.py run; benchmarks/suite.py report",
           "machine": f"{platform.machine()}, {platform.python_version()}",
           "summary": summary, "runs": rows}
    path = root / "benchmarks" / "results" / "suite.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(path)
    md = root / "docs" / "benchmarks" / "suite-tables.md"
    text = "\n".join(["# Suite results (generated by benchmarks/suite.py report)", "",
                      *markdown(summary), "## Targets at epsilon 1", "", *targets(summary), ""])
    md.write_text(text)
    print(text)
