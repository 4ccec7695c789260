"""Time reading and judging the gateway landing files on DuckDB and on Spark (local[2]), on the same generated data.

Each engine runs in its own child process: DuckDB `ingest.load_lines` + `ingest._parse_sql`; Spark
`spark_landing.landing_lines` + `spark_landing.parse`; both end by counting the lines per verdict, and the counts
must agree. Prints wall time of the child, the time of the work itself (without starting the session), peak
memory (DuckDB: the child's max RSS; Spark: the driver's plus the JVM's; the Python workers the JVM starts are not
counted) and the ratio Spark / DuckDB.

    python bench/bench_landing.py --requests 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import timed  # noqa: E402

DUCKDB = """
import json, sys, time
from pathlib import Path
from funnel_assets.lib.contracts import load_contracts
from funnel_assets.lib.engines import connect
from funnel_assets.lib.ingest import _parse_sql, load_lines
from funnel_assets.lib.landing import day_files
data = Path(sys.argv[1])
with connect(Path(sys.argv[2]), "bench-key") as engine:
    started = time.monotonic()
    files = day_files(data, "gateway_requests")
    load_lines(engine, files, data)
    counts = engine.rows(f"select coalesce(kind, 'accepted'), count(*) from ({_parse_sql(load_contracts('gateway_requests'))}) "
                         f"group by all")[1]
    print(json.dumps({"work_s": time.monotonic() - started, "counts": dict(counts), "extra_mib": 0}))
"""

SPARK = """
import json, os, resource, sys, time
from pathlib import Path
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
from pyspark.sql import SparkSession, functions as F
from funnel_assets.lib.contracts import load_contracts
from funnel_assets.lib.engines.spark_landing import landing_lines, parse
from funnel_assets.lib.landing import day_files
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "2g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
data = Path(sys.argv[1])
started = time.monotonic()
files = day_files(data, "gateway_requests")
parsed = parse(landing_lines(spark, files, data)[0], load_contracts("gateway_requests"))
counts = {r[0]: r[1] for r in parsed.groupBy(F.coalesce("kind", F.lit("accepted"))).count().collect()}
work = time.monotonic() - started
gateway = spark.sparkContext._gateway
spark.stop()
gateway.shutdown()
gateway.proc.stdin.close()  # the JVM exits when its standard input closes
gateway.proc.wait()
jvm = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"work_s": work, "counts": counts, "extra_mib": jvm}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", default=None, help="keep generated data here between runs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from funnel_assets.lib.simulator import generate

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="funnel_bench_landing_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'requests':>12} {'engine':>7} {'wall s':>7} {'work s':>7} {'peak MiB':>9} {'ratio':>6}")
    for requests in args.requests:
        data = workdir / f"data_{requests}"
        if not (data / "truth.json").exists():
            started = time.monotonic()
            generate(data, developers=max(2000, requests // 200), weeks=12, seed=args.seed, requests=requests,
                     inject=["malformed_lines", "schema_drift", "duplicates"])
            print(f"  generated in {time.monotonic() - started:.0f}s", flush=True)
        results = {}
        for engine, script in [("duckdb", DUCKDB), ("spark", SPARK)]:
            seconds, mib, output = timed([sys.executable, "-c", script, str(data), str(workdir / "bench.duckdb")])
            result = json.loads(output.strip().splitlines()[-1])
            results[engine] = (seconds, result["work_s"], mib + result["extra_mib"], result["counts"])
        if results["duckdb"][3] != results["spark"][3]:
            raise SystemExit(f"the engines disagree: {results['duckdb'][3]} vs {results['spark'][3]}")
        for engine, (seconds, work, mib, _) in results.items():
            ratio = seconds / results["duckdb"][0]
            print(f"{requests:>12,} {engine:>7} {seconds:>7.1f} {work:>7.1f} {mib:>9.0f} {ratio:>6.2f}", flush=True)
        print(f"  verdicts (both engines): {results['duckdb'][3]}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
