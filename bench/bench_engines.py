"""The whole run on both engines: the same generated data through `funnel run --engine duckdb` and
`funnel run --engine spark` (the real run path: every asset and check, the Dagster instance, the identity store).

Prints, per engine, the wall time of `funnel run`, the time inside the assets' code ("steps s", from the run's
progress lines), the peak memory of the whole process tree (the `funnel` process, the JVM it starts and the Python
workers the JVM starts: resident memory summed over every descendant, sampled every 0.2 s from /proc) and the
ratio Spark / DuckDB. Then it checks that both warehouses hold the same production-rate mart.

    python bench/bench_engines.py                      # about 1 M gateway requests
    python bench/bench_engines.py --requests 10000000  # about 10 M (the data alone takes minutes to generate)
    python bench/bench_engines.py --requests 100000 --engines duckdb

Spark runs on `local[*]` unless `--spark-master` says otherwise (e.g. spark://host:7077).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENGINES = ("duckdb", "spark")
COMPARED = "mart_production_rate"


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # the command name (field 2) may hold spaces: the parent id is the second field after its ")"
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    return children


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mib(root: int) -> float:
    """Resident memory of `root` and all its descendants, now."""
    children = _children()
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_mib(pid)
        todo.extend(children.get(pid, []))
    return total


def timed_tree(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory of the process tree (MiB) and the output of one command."""
    peak = [0.0]
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_mib(process.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = process.wait()
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
        out.seek(0)
        output = out.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"{' '.join(command[:6])} ... failed ({status}):\n{output[-4000:]}")
    return seconds, peak[0], output


def step_seconds(output: str) -> float:
    """Time inside the assets' own code, from `funnel run`'s progress lines."""
    return sum(float(m) for m in re.findall(r"succeeded in ([0-9.]+)s", output))


def funnel(*args: str) -> list[str]:
    return [sys.executable, "-m", "funnel_assets.cli", *args]


def generate(data: Path, requests: int, seed: int) -> None:
    if (data / "truth.json").exists():
        return
    print(f"generating about {requests:,} gateway requests into {data} ...", flush=True)
    started = time.monotonic()
    subprocess.run(funnel("generate", "--out", str(data), "--requests", str(requests),
                          "--developers", str(max(2000, requests // 200)), "--seed", str(seed)),
                   check=True, stdout=subprocess.DEVNULL)
    print(f"  generated in {time.monotonic() - started:.0f}s", flush=True)


def gateway_lines(data: Path) -> int:
    return sum(sum(1 for _ in open(f, "rb")) for f in (data / "landing" / "gateway_requests").rglob("*.jsonl"))


def run_engine(engine: str, data: Path, workdir: Path, spark_master: str) -> dict:
    warehouse = workdir / f"warehouse_{engine}{'.duckdb' if engine == 'duckdb' else ''}"
    for leftover in workdir.glob(f"warehouse_{engine}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    config = workdir / f"{engine}.yaml"
    config.write_text(json.dumps({"spark_master": spark_master,
                                  "spark_conf": {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1"}}))
    env = {**os.environ, "DAGSTER_HOME": str(workdir / f"dagster_{engine}"), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable}
    (workdir / f"dagster_{engine}").mkdir(exist_ok=True)
    seconds, peak, output = timed_tree(
        funnel("run", "--engine", engine, "--config", str(config), "--data", str(data), "--warehouse",
               str(warehouse), "--demo-data"), env)
    shown = subprocess.run(
        funnel("show", COMPARED, "--engine", engine, "--warehouse", str(warehouse), "--format", "json", "--all-cohorts"),
        env=env, capture_output=True, text=True, check=True).stdout
    return {"engine": engine, "run_s": seconds, "steps_s": step_seconds(output), "peak_mib": peak, "shown": shown}


def _same(a, b) -> bool:
    """Equal cell by cell: integers and text exactly, rates and percentiles to 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000, help="gateway requests to generate (about)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--spark-master", default="local[*]", help="spark_master for the Spark run")
    parser.add_argument("--workdir", default=None, help="keep generated data here between runs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="funnel_bench_engines_"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / f"data_{args.requests}"
    generate(data, args.requests, args.seed)
    print(f"{gateway_lines(data):,} gateway requests, {os.cpu_count()} cores; Spark on {args.spark_master}")
    print(f"{'engine':>8} {'run s':>8} {'steps s':>8} {'peak MiB':>9}", flush=True)
    results = {}
    for engine in args.engines:
        r = results[engine] = run_engine(engine, data, workdir.resolve(), args.spark_master)
        print(f"{engine:>8} {r['run_s']:>8.1f} {r['steps_s']:>8.1f} {r['peak_mib']:>9.0f}", flush=True)
    if len(results) == 2:
        duck, spark = results["duckdb"], results["spark"]
        print(f"{'spark/duckdb':>12}: run {spark['run_s'] / duck['run_s']:.2f}x, steps "
              f"{spark['steps_s'] / max(duck['steps_s'], 1e-9):.2f}x, peak memory {spark['peak_mib'] / duck['peak_mib']:.2f}x")
        same = _same(json.loads(duck["shown"]), json.loads(spark["shown"]))
        print(f"{COMPARED}: {'the same' if same else 'DIFFERENT'} on both engines (funnel show --format json)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
