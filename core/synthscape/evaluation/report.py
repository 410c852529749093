"""Report: the run certificate (report.json) and a self-contained HTML page (report.html).

Anything that produces results adds *sections*; each holds scores, tables, figures and notes.
Gates are thresholds on scores; a failed gate is reported as failed, never hidden.

A run writes two reports (see :mod:`synthscape.scenarios.context`): the release report
(``show_gates=False``: gates are evaluated elsewhere and never written into a release) and the
internal evaluation, whose ``notice`` is the first key of report.json and a red banner at the
top of report.html.
"""
from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class Gate:
    metric: str  # "section/score"
    threshold: float
    direction: str  # "min" (score >= threshold) or "max" (score <= threshold)
    value: float | None = None

    @property
    def passed(self) -> bool:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return False
        if self.direction == "min":
            return self.value >= self.threshold
        return self.value <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "threshold": self.threshold, "direction": self.direction,
                "value": self.value, "passed": self.passed}


@dataclass
class Section:
    title: str
    scores: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)  # paths relative to the run folder
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "scores": _clean(self.scores), "tables": _clean(self.tables),
                "figures": list(self.figures), "notes": list(self.notes)}


class Report:
    """Sections, gates and meta. ``notice`` (optional) heads report.json (its first key) and
    report.html (a red banner); ``show_gates=False`` leaves gates and their results out of
    both files (they are still evaluated and kept in ``gates``)."""

    def __init__(self, title: str = "synthscape report", *, notice: str | None = None,
                 show_gates: bool = True):
        self.title = title
        self.notice = notice
        self.show_gates = show_gates
        self.sections: dict[str, Section] = {}
        self.gates: list[Gate] = []
        self.meta: dict[str, Any] = {}

    def section(self, key: str, title: str | None = None) -> Section:
        if key not in self.sections:
            self.sections[key] = Section(title or key)
        return self.sections[key]

    def add_section(self, key: str, *, title: str | None = None, scores: dict | None = None,
                    tables: dict[str, Any] | None = None, figures: list[str] | None = None,
                    notes: list[str] | None = None) -> Section:
        s = self.section(key, title)
        s.scores.update(scores or {})
        for name, t in (tables or {}).items():
            s.tables[name] = t.to_dict(orient="records") if isinstance(t, pd.DataFrame) else list(t)
        s.figures.extend(figures or [])
        s.notes.extend(notes or [])
        return s

    def score(self, metric: str) -> Any:
        key, _, name = metric.partition("/")
        return self.sections[key].scores[name] if key in self.sections else None

    def add_gate(self, metric: str, threshold: float, direction: str = "min") -> Gate:
        if direction not in ("min", "max"):
            raise ValueError(f"gate direction must be 'min' or 'max', got {direction!r}")
        try:
            value = self.score(metric)
        except KeyError:
            value = None
        try:
            value = None if value is None else float(value)
        except (TypeError, ValueError):  # a text score (e.g. a column name) cannot be gated
            value = None
        g = Gate(metric, float(threshold), direction, value)
        self.gates.append(g)
        return g

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        """Keys sorted at every level, except that ``notice`` (when set) comes first."""
        body: dict[str, Any] = {"title": self.title, "meta": _clean(self.meta),
                                "sections": {k: s.to_dict() for k, s in self.sections.items()}}
        if self.show_gates:
            body.update(gates=[g.to_dict() for g in self.gates], passed=self.passed)
        body = _sorted(body)
        return {"notice": self.notice, **body} if self.notice else body

    def write(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(
            json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        (folder / "report.html").write_text(self.to_html(folder))

    def to_html(self, folder: str | Path | None = None) -> str:
        folder = Path(folder) if folder is not None else None
        e = html.escape
        out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(self.title)}</title>",
               "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
               "padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
               "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
               "th{background:#f3f3f3}.pass{color:#060}.fail{color:#b00;font-weight:bold}"
               "img{max-width:100%;border:1px solid #eee;margin:4px 0}"
               ".privacy{padding:.6em 1em;border-radius:4px;background:#eef6ee}"
               ".privacy.bad{background:#fbeaea;color:#900}"
               ".notice{padding:.8em 1em;border-radius:4px;background:#b00;color:#fff;"
               "font-weight:bold}</style></head><body>"]
        if self.notice:
            out.append(f"<div class='notice'>{e(self.notice)}</div>")
        out.append(f"<h1>{e(self.title)}</h1>")
        priv = self.meta.get("privacy")
        if priv:
            bad = " bad" if str(priv).startswith(("NOT PRIVATE", "UNKNOWN")) else ""
            out.append(f"<p class='privacy{bad}'><b>Privacy:</b> {e(str(priv))}</p>")
        facts = {k: self.meta[k] for k in ("rows", "target", "sensitive", "seed")
                 if self.meta.get(k) not in (None, [], {})}
        if facts:
            out.append("<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(_fmt(v))}</td></tr>"
                                           for k, v in facts.items()) + "</table>")
        if self.sections:
            out.append("<p>" + " | ".join(f"<a href='#{e(k)}'>{e(s.title)}</a>"
                                          for k, s in self.sections.items()) + "</p>")
        if self.gates and self.show_gates:
            out.append("<h2>Gates</h2><table><tr><th>metric</th><th>rule</th><th>value</th>"
                       "<th>result</th></tr>")
            for g in self.gates:
                rule = (">= " if g.direction == "min" else "<= ") + f"{g.threshold:g}"
                cls, word = ("pass", "passed") if g.passed else ("fail", "FAILED")
                val = "missing" if g.value is None else f"{g.value:.4g}"
                out.append(f"<tr><td>{e(g.metric)}</td><td>{rule}</td><td>{val}</td>"
                           f"<td class='{cls}'>{word}</td></tr>")
            out.append("</table>")
        for key, s in self.sections.items():
            out.append(f"<h2 id='{e(key)}'>{e(s.title)}</h2>")
            for n in s.notes:
                out.append(f"<p>{e(n)}</p>")
            if s.scores:
                out.append("<table>" + "".join(
                    f"<tr><th>{e(str(k))}</th><td>{e(_fmt(v))}</td></tr>"
                    for k, v in s.scores.items()) + "</table>")
            for rel in s.figures:
                out.append(_img(folder, rel))
            for name, rows in s.tables.items():
                if len(rows) > 12:  # long tables fold away, so the figures stay in view
                    out.append(f"<details><summary><b>{e(name)}</b> ({len(rows)} rows)</summary>"
                               + _html_table(rows) + "</details>")
                else:
                    out.append(f"<h3>{e(name)}</h3>" + _html_table(rows))
        versions = self.meta.get("versions")
        if versions:
            out.append("<p style='color:#777;font-size:small'>" + e(", ".join(
                f"{k} {v}" for k, v in sorted(versions.items()))) + "</p>")
        out.append("</body></html>")
        return "\n".join(out)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


def _html_table(rows: list[dict[str, Any]], limit: int = 200) -> str:
    if not rows:
        return "<p>(empty)</p>"
    cols = list(rows[0].keys())
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{e(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows[:limit])
    more = f"<p>({len(rows) - limit} more rows in report.json)</p>" if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _img(folder: Path | None, rel: str) -> str:
    if folder is not None and (folder / rel).exists():
        data = base64.b64encode((folder / rel).read_bytes()).decode()
        return f"<div><img alt='{html.escape(rel)}' src='data:image/png;base64,{data}'></div>"
    return f"<p>(figure {html.escape(rel)} missing)</p>"


def _sorted(obj: Any) -> Any:
    """Dict keys sorted at every level (lists keep their order)."""
    if isinstance(obj, dict):
        return {k: _sorted(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list):
        return [_sorted(v) for v in obj]
    return obj


def _clean(obj: Any) -> Any:
    """Make scores JSON-safe: numpy scalars to Python, NaN/inf to None/strings."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
    return obj
