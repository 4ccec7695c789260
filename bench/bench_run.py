"""Time `funnel run` against the floor: one hand-written DuckDB script computing
the same marts straight from the same landing files, in the same process
conditions (2 threads, same memory limit). Prints events per second, peak
memory (max RSS of each child process) and the ratio to the floor. "steps s" is
the time inside the assets' code (the rest of "run s" is process start-up and
Dagster recording one materialisation per asset per week in its instance).

    python bench/bench_run.py --requests 1000000 10000000

After the table, the time of every step (asset or check) of each run, slowest
first. `--profile` also logs every statement the DuckDB engine runs with its
time (FUNNEL_STATEMENT_LOG) and prints the slowest, named by the SQL file they
run (or their first words).

`--incremental` times the weekly case instead: a full `funnel run` on the
data with its last week's landing files held back, then, with them restored,
the incremental `funnel run` that follows (both on the same warehouse), and
their ratio.

    python bench/bench_run.py --incremental --requests 200000 --weeks 12
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from funnel_assets.lib.engines import DEFAULT_MEMORY_LIMIT, STATEMENT_LOG

HERE = Path(__file__).resolve().parent
FLOOR = """
import sys, duckdb
con = duckdb.connect(config={"memory_limit": sys.argv[3], "threads": 2})
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


def step_times(output: str) -> dict[str, float]:
    """Seconds of each step (an asset, or a check run as its own step), from `funnel run`'s progress lines."""
    return {step: float(s) for step, s in re.findall(r"\] (\S+) succeeded in ([0-9.]+)s", output)}


def statement_name(sql: str, files: dict[str, str]) -> str:
    """The SQL file a statement runs (its text is in the statement), else its first words."""
    for name, text in files.items():
        if text in sql:
            return name
    return " ".join(sql.split())[:90]


def slowest_statements(log: Path, top: int = 15) -> list[tuple[str, float, int]]:
    """(statement, seconds, times run) of the statements of the log, slowest first."""
    package = HERE.parent / "funnel_assets"
    files = {p.relative_to(package).as_posix(): p.read_text().strip() for p in package.rglob("*.sql")}
    files = dict(sorted(files.items(), key=lambda item: -len(item[1])))  # the longest text first: most specific
    totals: dict[str, list] = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        total = totals.setdefault(statement_name(entry["sql"], files), [0.0, 0])
        total[0] += entry["seconds"]
        total[1] += 1
    return sorted(((name, s, n) for name, (s, n) in totals.items()), key=lambda t: -t[1])[:top]


def lines_in(landing: Path) -> int:
    return sum(sum(1 for _ in open(f, "rb")) for f in landing.rglob("*.jsonl"))


def bench(requests: int, workdir: Path, seed: int, profile: bool = False) -> dict:
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
    statements = workdir / f"statements_{requests}.jsonl"
    statements.unlink(missing_ok=True)
    if profile:
        env[STATEMENT_LOG] = str(statements)
    pipeline_s, pipeline_mb, output = timed(
        [sys.executable, "-m", "funnel_assets.cli", "run", "--data", str(data), "--warehouse", str(warehouse),
         "--demo-data"], env
    )
    floor_s, floor_mb, _ = timed([sys.executable, "-c", FLOOR, str(HERE / "floor.sql"), str(data / "landing"),
                                     DEFAULT_MEMORY_LIMIT])
    return {
        "gateway_requests": gateway,
        "landing_lines": events,
        "pipeline_s": pipeline_s,
        "steps_s": sum(step_times(output).values()),
        "steps": step_times(output),
        "statements": slowest_statements(statements) if profile else [],
        "pipeline_peak_mib": pipeline_mb,
        "events_per_s": events / pipeline_s,
        "floor_s": floor_s,
        "floor_peak_mib": floor_mb,
        "ratio_to_floor": pipeline_s / floor_s,
    }


def bench_incremental(requests: int, weeks: int, workdir: Path, seed: int) -> dict:
    """A full run of the data without its last week, then the run after that week lands."""
    from funnel_assets.lib.contracts import SOURCES
    from funnel_assets.lib.landing import day_files
    from funnel_assets.lib.simulator import generate

    data = workdir / f"data_{requests}_{weeks}w"
    if not (data / "truth.json").exists():
        print(f"generating about {requests:,} gateway requests over {weeks} signup weeks ...", flush=True)
        generate(data, developers=max(2000, requests // 200), weeks=weeks, seed=seed, requests=requests)
    files = [f for source in SOURCES for f in day_files(data, source)]
    last = max(f.week for f in files)
    held = workdir / "held_back"
    moved = [f.path for f in files if f.week == last]
    for path in moved:
        (held / path.relative_to(data)).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, held / path.relative_to(data))
    warehouse = workdir / f"warehouse_{requests}_{weeks}w.duckdb"
    for leftover in workdir.glob(f"{warehouse.stem}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    command = [sys.executable, "-m", "funnel_assets.cli", "run", "--data", str(data), "--warehouse", str(warehouse),
               "--demo-data"]
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # the instance beside the warehouse
    try:
        full_s, full_mb, _ = timed(command, env)
    finally:
        for path in moved:
            shutil.move(held / path.relative_to(data), path)
    incremental_s, incremental_mb, output = timed(command, env)
    if "incremental:" not in output:
        raise SystemExit(f"the second run was not incremental:\n{output[-2000:]}")
    return {
        "event_weeks": len({f.week for f in files}) - 1,
        "landing_lines": lines_in(data / "landing"),
        "new_files": len(moved),
        "full_s": full_s,
        "full_peak_mib": full_mb,
        "incremental_s": incremental_s,
        "incremental_peak_mib": incremental_mb,
        "ratio": incremental_s / full_s,
        "plan": next(line for line in output.splitlines() if line.startswith("incremental:")),
        "steps": step_times(output),
    }


def print_steps(title: str, steps: dict[str, float]) -> None:
    total = sum(steps.values()) or 1.0
    print(f"\n{title}, slowest first (s, share of the steps' time):")
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
        print(f"  {seconds:8.1f} {seconds / total:6.1%}  {step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", default=None, help="keep generated data here between runs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--incremental", action="store_true",
                        help="time a full run without the last week, then the incremental run once it lands")
    parser.add_argument("--weeks", type=int, default=12, help="signup weeks of the generated data (--incremental)")
    parser.add_argument("--profile", action="store_true", help="also print the slowest SQL statements of each run")
    args = parser.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="funnel_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.incremental:
        print(f"{'requests':>12} {'event weeks':>11} {'lines':>12} {'full s':>8} {'MiB':>6} {'+1 week s':>9} {'MiB':>6} {'ratio':>6}")
        for requests in args.requests:
            r = bench_incremental(requests, args.weeks, workdir, args.seed)
            print(f"{requests:>12,} {r['event_weeks']:>11} {r['landing_lines']:>12,} {r['full_s']:>8.1f} "
                  f"{r['full_peak_mib']:>6.0f} {r['incremental_s']:>9.1f} {r['incremental_peak_mib']:>6.0f} "
                  f"{r['ratio']:>6.2f}", flush=True)
            print(f"  {r['plan']}", flush=True)
            print_steps(f"steps of the run after one more week at {requests:,} requests", r["steps"])
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    print(
        f"{'requests':>12} {'lines':>12} {'run s':>8} {'steps s':>8} {'events/s':>10} {'peak MiB':>9} "
        f"{'floor s':>8} {'floor MiB':>9} {'ratio':>6}"
    )
    results = []
    for requests in args.requests:
        r = bench(requests, workdir, args.seed, args.profile)
        results.append(r)
        print(
            f"{r['gateway_requests']:>12,} {r['landing_lines']:>12,} {r['pipeline_s']:>8.1f} {r['steps_s']:>8.1f} "
            f"{r['events_per_s']:>10,.0f} "
            f"{r['pipeline_peak_mib']:>9.0f} {r['floor_s']:>8.1f} {r['floor_peak_mib']:>9.0f} {r['ratio_to_floor']:>6.2f}",
            flush=True,
        )
    for r in results:
        print_steps(f"steps of the run at {r['gateway_requests']:,} requests", r["steps"])
        if r["statements"]:
            print(f"slowest statements at {r['gateway_requests']:,} requests (s, times run):")
            for name, seconds, runs in r["statements"]:
                print(f"  {seconds:8.1f} {runs:5d}  {name}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
