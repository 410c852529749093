"""``make demo``: run the packaged quickstart and one scenario of each installed pack.

Uses only data that ships with installed packages (no network, no GPU).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

# Scenario files relative to the repository's scenarios/ folder, in the order they run.
DEMO_SCENARIOS = (
    "tabular/quickstart.yaml",
    "healthcare/nafld_dp_cohort.yaml",
    "finance/retail_card_fraud.yaml",
    "autonomy/pedestrian_night_rain.yaml",
)


def _scenario_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "scenarios").is_dir() and (parent / "pyproject.toml").exists():
            return parent / "scenarios"
    return Path.cwd() / "scenarios"


def main(argv: list[str] | None = None) -> int:
    from synthscape.scenarios import load_spec, run

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="out", help="parent folder: each run lands in "
                    "<out>/<name>/ (release/ and internal/)")
    ap.add_argument("--only", nargs="*", help="run only these scenario files")
    args = ap.parse_args(argv)
    root = _scenario_root()
    done = []
    for rel in args.only or DEMO_SCENARIOS:
        path = root / rel
        if not path.exists():
            print(f"skip {rel}: not packaged in this checkout")
            continue
        t0 = time.perf_counter()
        spec = load_spec(path)
        folder = run(spec, output=args.out, overwrite=True, quiet=False)
        dt = time.perf_counter() - t0
        summary = json.loads((folder / "release" / "ledger.json").read_text()).get("summary", "")
        print(f"{rel}: {folder} ({dt:.1f} s) -- {summary}")
        done.append(folder)
    print("\nOutputs (release: may be shared; internal: evaluation against the real data, NOT "
          "covered by the privacy guarantee):")
    for f in done:
        print(f"  {f}/release/report.html")
        if (f / "internal").is_dir():
            print(f"  {f}/internal/report.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
