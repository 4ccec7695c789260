"""Time `funnel run` against the floor: one hand-written DuckDB script computing
the same marts straight from the same landing files, in the same process
conditions (2 threads, same memory limit). Prints events per second, peak
memory (max RSS of each child process) and the ratio to the floor. "steps s" is
the time inside the assets' code (the rest of "run s" is process start-up and
Dagster recording one materialisation per asset per week in its instance).

    python bench/bench_run.py --requests 1000000 10000000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOOR = """
import sys, duckdb
con = duckdb.connect(config={"memory_limit": "1536MB", "threads": 2})
con.execute("set TimeZone = 'UTC'")
for statement in open(sys.argv[1]).read().split(";\\n"):
    if statement.strip():
        con.execute(statement, {"landing": sys.argv[2]} if "$landing" in statement else {})
print(con.execute("select count(*) from stages").fetchone()[0])
"""


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and standard output of one child process."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"{command[:4]} failed:\n{err.read().decode()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def step_seconds(output: str) -> float:
    """Time inside the assets' own code, from `funnel run`'s progress lines."""
    return sum(float(m) for m in re.findall(r"succeeded in ([0-9.]+)s", output))


def lines_in(landing: Path) -> int:
    return sum(sum(1 for _ in open(f, "rb")) for f in landing.rglob("*.jsonl"))


def bench(requests: int, workdir: Path, seed: int) -> dict:
    from funnel_assets.lib.simulator import generate

    data = workdir / f"data_{requests}"
    if not (data / "truth.json").exists():
        print(f"generating about {requests:,} gateway requests ...", flush=True)
        started = time.monotonic()
        generate(data, developers=max(2000, requests // 200), weeks=12, seed=seed, requests=requests)
        print(f"  generated in {time.monotonic() - started:.0f}s", flush=True)
    events = lines_in(data / "landing")
    gateway = lines_in(data / "landing" / "gateway_requests")

    warehouse = workdir / f"warehouse_{requests}.duckdb"
    for leftover in [warehouse, warehouse.with_name(f"{warehouse.stem}.identity.sqlite")]:
        leftover.unlink(missing_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "dagster_home")}
    pipeline_s, pipeline_mb, output = timed(
        [sys.executable, "-m", "funnel_assets.cli", "run", "--data", str(data), "--warehouse", str(warehouse),
         "--demo-data"], env
    )
    floor_s, floor_mb, _ = timed([sys.executable, "-c", FLOOR, str(HERE / "floor.sql"), str(data / "landing")])
    return {
        "gateway_requests": gateway,
        "landing_lines": events,
        "pipeline_s": pipeline_s,
        "steps_s": step_seconds(output),
        "pipeline_peak_mib": pipeline_mb,
        "events_per_s": events / pipeline_s,
        "floor_s": floor_s,
        "floor_peak_mib": floor_mb,
        "ratio_to_floor": pipeline_s / floor_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", default=None, help="keep generated data here between runs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="funnel_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"{'requests':>12} {'lines':>12} {'run s':>8} {'steps s':>8} {'events/s':>10} {'peak MiB':>9} "
        f"{'floor s':>8} {'floor MiB':>9} {'ratio':>6}"
    )
    for requests in args.requests:
        r = bench(requests, workdir, args.seed)
        print(
            f"{r['gateway_requests']:>12,} {r['landing_lines']:>12,} {r['pipeline_s']:>8.1f} {r['steps_s']:>8.1f} "
            f"{r['events_per_s']:>10,.0f} "
            f"{r['pipeline_peak_mib']:>9.0f} {r['floor_s']:>8.1f} {r['floor_peak_mib']:>9.0f} {r['ratio_to_floor']:>6.2f}",
            flush=True,
        )
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
