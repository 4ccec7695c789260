"""What the data-quality checks cost: materialising raw_gateway_requests + developer_events over about
1 M gateway requests, with and without their checks (the raw asset's own checks, the cross-source checks on
raw_gateway_requests), in one run over every week of the data (a single-run backfill).

    python bench/bench_checks.py [--requests 1000000] [--workdir DIR] [--repeat 3]

Each measurement runs in a fresh process, twice: the first run of a process pays for importing Great
Expectations (about 3.5 s, once per process: a code server or in-process executor pays it once, a
multiprocess executor once per check step), the second does not. Prints seconds and the overhead of the
checks for both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = """
import json, sys, time
from pathlib import Path
import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from funnel_assets.definitions import defs as load
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import covered_weeks

data, warehouse, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
defs = load()
first, last = covered_weeks(data, SOURCES)
tags = {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}
everything = [*defs.assets, *defs.asset_checks]
resources = {"funnel": FunnelResource(data_dir=str(data), warehouse_path=warehouse)}
instance = dg.DagsterInstance.ephemeral()
quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

def run(selection):
    started = time.monotonic()
    result = dg.materialize(everything, selection=selection, instance=instance, resources=resources, tags=tags,
                            run_config=quiet, raise_on_error=True)
    return time.monotonic() - started, result

if mode == "prepare":
    upstream = dg.AssetSelection.groups("ingest", "identity").without_checks()
    print(json.dumps({"prepare_s": run(upstream)[0]}))
    sys.exit()
measured = dg.AssetSelection.assets("raw_gateway_requests", "developer_events")
if mode == "without":
    measured = measured.without_checks()
else:
    measured = measured | dg.AssetSelection.checks_for_assets("raw_gateway_requests")
times = []
for _ in range(2):
    seconds, result = run(measured)
    checks = sum(1 for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION")
    times.append(seconds)
print(json.dumps({"cold_s": times[0], "warm_s": times[1], "check_evaluations": checks}))
"""


def measure(data: Path, warehouse: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(data), str(warehouse), mode],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=None, help="keep data and warehouse here (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per mode (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_checks_"))
    workdir.mkdir(parents=True, exist_ok=True)

    from funnel_assets.lib.simulator import generate

    data = workdir / f"data_{args.requests}"
    if not (data / "truth.json").exists():
        started = time.monotonic()
        truth = generate(data, developers=max(2000, args.requests // 200), weeks=1, seed=args.seed,
                         requests=args.requests)
        print(f"generated {truth['counts']['requests']:,} gateway requests in {time.monotonic() - started:.0f}s",
              flush=True)
    warehouse = workdir / "warehouse.duckdb"
    print(f"prepared the other raw sources and the identity map in {measure(data, warehouse, 'prepare')['prepare_s']:.1f}s",
          flush=True)

    runs: dict[str, list[dict]] = {"without": [], "with": []}
    for _ in range(args.repeat):
        for mode in runs:  # alternate, so drift on a shared machine hits both alike
            runs[mode].append(measure(data, warehouse, mode))
            print(f"  {mode:>7} checks: {runs[mode][-1]}", flush=True)

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    print(f"\nraw_gateway_requests + developer_events over {args.requests:,} requests "
          f"(median of {args.repeat} processes; {runs['with'][0]['check_evaluations']} check evaluations):")
    for key, label in (("cold_s", "first run of a process (imports Great Expectations)"),
                       ("warm_s", "later runs of the same process")):
        without, with_checks = median("without", key), median("with", key)
        print(f"  {label}: {without:.1f}s without checks, {with_checks:.1f}s with: "
              f"+{100 * (with_checks - without) / without:.0f}%")


if __name__ == "__main__":
    main()
