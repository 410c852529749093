"""``make demo``: run the packaged quickstart and one scenario of each installed pack.

Uses only data that ships with installed packages (no network, no GPU).
"""
from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

# Packaged scenario files, ``<domain>/<file>``, in the order they run: ``tabular`` is the core's
# own folder (synthscape/scenarios/data/tabular), any other domain is the ``scenarios/`` folder
# of the pack registered under that name in the "synthscape.domains" entry points. The source
# tree's scenarios/<domain> folders link to the same files.
DEMO_SCENARIOS = (
    "tabular/quickstart.yaml",
    "healthcare/nafld_dp_cohort.yaml",
    "finance/retail_card_fraud.yaml",
    "autonomy/pedestrian_night_rain.yaml",
)


def scenario_folders() -> dict[str, Path]:
    """``{domain: folder}`` of the scenario files shipped by the core and each installed pack."""
    folders = {"tabular": Path(str(files("synthscape.scenarios") / "data" / "tabular"))}
    for ep in entry_points(group="synthscape.domains"):
        folder = Path(str(files(ep.module) / "scenarios"))  # a pack's module, found by metadata
        if folder.is_dir():
            folders.setdefault(ep.name, folder)
    return folders


def packaged_scenario(name: str) -> Path | None:
    """The file behind ``<domain>/<file>.yaml`` (or an existing path as given); None if absent."""
    if Path(name).is_file():
        return Path(name)
    domain, _, rest = name.partition("/")
    folder = scenario_folders().get(domain)
    path = folder / rest if folder is not None and rest else None
    return path if path is not None and path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    from synthscape.scenarios import load_spec, run

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="out", help="parent folder: each run lands in "
                    "<out>/<name>/ (release/ and internal/)")
    ap.add_argument("--only", nargs="*", help="run only these scenario files")
    args = ap.parse_args(argv)
    done = []
    for rel in args.only or DEMO_SCENARIOS:
        path = packaged_scenario(rel)
        if path is None:
            print(f"skip {rel}: no such packaged scenario (is its pack installed?)")
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
