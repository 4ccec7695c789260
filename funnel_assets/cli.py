"""`funnel`: generate sample data, convert vendor exports, materialise the funnel, print its tables."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from funnel_assets.lib.bundled import bundled
from funnel_assets.lib.engines import EngineUnavailable, ensure_available
from funnel_assets.orchestration.writer_lock import WarehouseBusy

LOCAL = Path(".funnel")
INSTANCE_CONFIG = bundled("deploy") / "dagster.yaml"
DEFAULT_DATA = LOCAL / "data"
DEFAULT_WAREHOUSE = LOCAL / "warehouse.duckdb"
# on Spark the warehouse is a folder (or a URI) of Parquet tables
DEFAULT_SPARK_WAREHOUSE = LOCAL / "warehouse.spark"


def _instance(warehouse: Path):
    """The Dagster instance of this warehouse: DAGSTER_HOME when set, else the folder beside the warehouse."""
    import dagster as dg

    home = _instance_home(warehouse)
    ensure_instance_config(home)
    return dg.DagsterInstance.from_config(str(home))


def ensure_instance_config(home: Path) -> None:
    """Write `home/dagster.yaml` (`instance_config`) unless it is there already."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_config(home))


def instance_config(home: Path) -> str:
    """`deploy/dagster.yaml` for the instance in `home`: one run at a time (the warehouse is a single DuckDB
    file), the event log under `home` whether or not DAGSTER_HOME names it."""
    return INSTANCE_CONFIG.read_text().replace("{env: DAGSTER_HOME}", json.dumps(str(home)))


def _instance_home(warehouse: Path) -> Path:
    from funnel_assets.defs.resources import FunnelResource

    explicit = os.environ.get("DAGSTER_HOME")
    return Path(explicit) if explicit else FunnelResource(warehouse_path=str(warehouse)).instance_home.resolve()


def _resource(args: argparse.Namespace, vendor_sources: bool = True):
    """The resource the run uses: `--config`, then `--data`, `--warehouse` and `--identity-db` over it
    (without `vendor_sources` when told so: the demo shows simulated data only)."""
    import pydantic
    import yaml

    from funnel_assets.defs.resources import FunnelResource, settings_from

    settings = {}
    if getattr(args, "config", None):
        try:
            document = yaml.safe_load(Path(args.config).read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{args.config}: not valid YAML ({' '.join(str(error).split())})") from None
        settings = settings_from(document, args.config)
    if getattr(args, "engine", None):
        settings["engine"] = args.engine
    warehouse = str(args.warehouse)
    if settings.get("engine") == "spark" and warehouse == str(DEFAULT_WAREHOUSE):
        warehouse = str(DEFAULT_SPARK_WAREHOUSE)
    settings.update(data_dir=str(args.data), warehouse_path=warehouse)
    if not vendor_sources:
        settings.pop("vendor_sources", None)
    if getattr(args, "identity_db", None):
        settings["identity_db_url"] = args.identity_db
    if getattr(args, "demo_data", False):
        settings["allow_demo_key"] = True
    try:
        resource = FunnelResource.from_settings(settings)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{args.config or 'settings'}: {where}: {first['msg']}") from None
    ensure_available(resource.engine_name)
    return resource


def cmd_generate(args: argparse.Namespace) -> int:
    from funnel_assets.lib.simulator import generate
    from funnel_assets.lib.simulator.plantings import diagnostic_plantings

    out = Path(args.out)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\r  developers {done:>9,}/{total:,}", end="", flush=True)

    try:
        truth = generate(
            out,
            developers=args.developers,
            weeks=args.weeks,
            start=date.fromisoformat(args.start),
            seed=args.seed,
            requests=args.requests,
            progress=progress,
            inject=[f.strip() for f in (getattr(args, "inject", None) or "").split(",") if f.strip()],
            plantings=diagnostic_plantings(args.weeks) if getattr(args, "plant_diagnostics", False) else None,
        )
    except ValueError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2
    counts = truth["counts"]
    print(f"\nwrote {out / 'landing'} in {time.monotonic() - started:.1f}s: " + ", ".join(
        f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in counts.items() if not isinstance(v, dict)
    ))
    for fault, planted in truth.get("injected", {}).items():
        print(f"injected {fault}: {planted['count']:,}")
    for name, planted in truth.get("planted", {}).items():
        if name != "settings":
            print(f"planted {name}: " + ", ".join(f"{k}={v}" for k, v in planted.items()))
    print(f"planted parameters and drawn statistics: {out / 'truth.json'}")
    return 0


def _print_progress(p) -> None:
    if p.status == "started":
        print(f"  [{p.done:>2}/{p.total}] {p.step} ...", flush=True)
    else:
        print(f"  [{p.done:>2}/{p.total}] {p.step} {p.status} in {p.seconds:.1f}s", flush=True)


def _print_failures(result, log: Path | None = None) -> None:
    """One line per blocking check that failed and per step that failed otherwise; the traces are in `log`."""
    from funnel_assets.orchestration.evaluations import failed_blocking_checks

    for failed in failed_blocking_checks(result):
        print(f"BLOCKED {failed}", file=sys.stderr)
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # the BLOCKED line above says which check, and what it found
            cause = error.cause.message.strip() if error and error.cause else (error.message.strip() if error else "")
            print(f"FAILED {event.step_key}: {cause.splitlines()[0] if cause else 'see the log'}", file=sys.stderr)
    if log is not None:
        print(f"details and stack traces: {log}", file=sys.stderr)


def _print_warnings(result) -> None:
    """The checks that failed with WARN: the run went on, and without a daemon nothing else would say so."""
    from funnel_assets.orchestration.evaluations import warned_checks

    warned = warned_checks(result)
    for check in warned:
        print(f"WARNED {check}")
    if warned:
        print(f"{len(warned)} check{'s' if len(warned) > 1 else ''} warned (the run went on): funnel checks --failed")


def _run_log(warehouse: Path) -> Path:
    """Where a run's Dagster log goes (stack traces included): beside the warehouse."""
    return warehouse.with_name(f"{warehouse.stem}.run.log")


def _say(line: str) -> None:
    print(line, flush=True)


def _refuse_a_second_writer(resource) -> None:
    """Fail before converting or launching anything when another run writes the warehouse."""
    from funnel_assets.orchestration.writer_lock import current_writer

    writer = current_writer(resource.warehouse)
    if writer is not None:
        raise WarehouseBusy(writer)


def _run(args: argparse.Namespace, vendor_sources: bool = True) -> int:
    from funnel_assets.definitions import definitions_for
    from funnel_assets.orchestration.launch import run_everything

    began = time.monotonic()
    try:
        resource = _resource(args, vendor_sources)
        resource.refuse_demo_key()  # writing real data: a key of its own
        _refuse_a_second_writer(resource)
        print(f"materialising every asset for the weeks in {resource.data_path / 'landing'} into {resource.warehouse}")
        log = _run_log(resource.warehouse)
        log.parent.mkdir(parents=True, exist_ok=True)
        # Dagster's own log (a failing step's stack trace among it) goes to the file, not the terminal
        with log.open("a", encoding="utf-8") as stream, contextlib.redirect_stderr(stream):
            result = run_everything(definitions_for(resource.engine_name), resource, _instance(resource.warehouse),
                                    _print_progress, say=_say, full=getattr(args, "full", False))
    except (ValueError, FileNotFoundError, WarehouseBusy, EngineUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if result is None:
        print(f"done in {time.monotonic() - began:.1f}s: the warehouse was up to date")
        return 0
    _print_warnings(result)
    if not result.success:
        _print_failures(result, log)
        return 1
    print(f"done in {time.monotonic() - began:.1f}s (run {result.run_id})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run(args)


def cmd_backfill(args: argparse.Namespace) -> int:
    from funnel_assets.definitions import definitions_for
    from funnel_assets.orchestration.launch import backfill

    try:
        resource = _resource(args)
        resource.refuse_demo_key()  # writing real data: a key of its own
        _refuse_a_second_writer(resource)
        results = backfill(
            _instance(resource.warehouse),
            definitions_for(resource.engine_name),
            resource,
            date.fromisoformat(args.from_week),
            date.fromisoformat(args.to_week),
            _print_progress,
            say=_say,
        )
    except (ValueError, FileNotFoundError, WarehouseBusy, EngineUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    failed = [r for r in results if not r.success]
    for result in failed:
        _print_failures(result)
    return 1 if failed or not results else 0


def _options(args: argparse.Namespace) -> dict:
    """`--options FILE.yaml`, then each `--option KEY=VALUE` over it (text, or YAML for a mapping or flag option)."""
    import yaml

    from funnel_assets.lib.adapters import option_value

    options = {}
    if args.options_file:
        try:
            options = yaml.safe_load(Path(args.options_file).read_text()) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{args.options_file}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(options, dict):
            raise ValueError(f"{args.options_file}: expected a mapping of option names to values")
    for pair in args.option:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {pair!r}: expected KEY=VALUE")
        options[key] = option_value(key, value)
    return options


def cmd_convert(args: argparse.Namespace) -> int:
    from funnel_assets.lib.adapters import FORMATS, convert_command
    from funnel_assets.lib.adapters.landing_writer import QUARANTINE_FILE

    if args.format not in FORMATS:
        print(f"error: unknown format {args.format!r}; formats: {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        counts = convert_command(args.format, [Path(i) for i in args.inputs], out, _options(args))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files, rejected = counts.pop("files"), counts.pop("rejected", 0)
    for source in FORMATS[args.format].sources:
        print(f"{source:<18} {counts.get(source, 0):>9,} records -> {out / 'landing' / source}")
    print(f"{'rejected':<18} {rejected:>9,} records" + (f" -> {out / QUARANTINE_FILE}" if rejected else ""))
    if rejected:
        _print_rejections(out / QUARANTINE_FILE, rejected)
    if not sum(counts.values()):
        print(f"error: nothing converted from {files} file(s) in format {args.format}", file=sys.stderr)
        return 1
    return 0


def _print_rejections(quarantine: Path, rejected: int, shown: int = 5) -> None:
    """The last `rejected` lines of the quarantine (this command's), the first few of them spelled out."""
    from collections import deque

    with quarantine.open(encoding="utf-8") as handle:
        lines = list(deque(handle, maxlen=rejected))
    for line in lines[:shown]:
        record = json.loads(line)
        field = f" field {record['field']}" if record.get("field") else ""
        print(f"  {record['file']}:{record['line']}{field}: {record['reason']}")
    if rejected > shown:
        print(f"  ... and {rejected - shown:,} more in {quarantine}")


def _partition_column(columns: list[str]) -> str | None:
    return next((c for c in ("cohort_week", "intent_week", "event_week", "_event_week") if c in columns), None)


def cmd_show(args: argparse.Namespace) -> int:
    from funnel_assets.defs.resources import is_uri
    from funnel_assets.orchestration.writer_lock import reading

    try:
        resource = _reader(args)
    except (ValueError, EngineUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not is_uri(resource.warehouse_location) and not Path(resource.warehouse_location).exists():
        print(f"no warehouse at {resource.warehouse_location}: run `funnel run --data DIR` first", file=sys.stderr)
        return 2
    with reading(resource.warehouse):  # a run writing the warehouse finishes first
        with resource.connect(read_only=True) as engine:
            return _show(args, engine)


def _reader(args: argparse.Namespace):
    """The resource of a command that only reads the warehouse: `--config` (when it has one), then `--warehouse`."""
    args = argparse.Namespace(**{"data": DEFAULT_DATA, "config": None, **vars(args)})
    return _resource(args)


def _show(args: argparse.Namespace, engine) -> int:
    warehouse = Path(args.warehouse)
    tables = engine.tables()
    if args.asset not in tables:
        print(f"no table {args.asset!r} in {warehouse}; tables: {', '.join(tables)}", file=sys.stderr)
        return 2
    columns = [name for name, _ in engine.schema(args.asset)]
    week = _partition_column(columns)
    sql = f'select * from "{args.asset}"'
    params: dict = {}
    if args.cohort:
        if week is None:
            print(f"{args.asset} has no week column to filter by", file=sys.stderr)
            return 2
        cohort, problem = _cohort_week(args.cohort)
        if problem:
            weeks = _nearest_weeks(engine, args.asset, week, cohort)
            print(f"--cohort {args.cohort}: {problem}" + (f"; nearest weeks in {args.asset}: {weeks}" if weeks
                  else ""), file=sys.stderr)
            return 2
        sql += f" where {week} = $cohort"
        params["cohort"] = cohort
    sql += " order by all"
    names, rows = engine.rows(sql, params)
    if not rows:
        nearest = _nearest_weeks(engine, args.asset, week, params["cohort"]) if params else ""
        print(f"{args.asset}: no rows" + (f" for {week} {args.cohort}; nearest weeks with rows: {nearest}"
              if params else ""), file=sys.stderr)
    import pandas as pd

    from funnel_assets.lib.tables import in_funnel_order, render, without_empty_cohorts

    if not rows and args.format == "table":
        return 0  # said above, on stderr
    frame = in_funnel_order(pd.DataFrame([dict(zip(names, row)) for row in rows], columns=names))
    if not args.all_cohorts:
        frame = without_empty_cohorts(frame)
    if args.limit is not None:
        frame = frame.head(args.limit)
    print(render(frame, args.format), end="" if args.format == "csv" else "\n")
    return 0


def _cohort_week(text: str) -> tuple[date | None, str]:
    """The Monday `text` names, or what is wrong with it (and the day it named, if any)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, "not a date (expected a Monday as YYYY-MM-DD)"
    if day.weekday():
        monday = day - timedelta(days=day.weekday())
        return day, (f"{day:%A} {day}, not a Monday: a week is named by its Monday "
                     f"({monday} or {monday + timedelta(days=7)})")
    return day, ""


def _nearest_weeks(engine, table: str, column: str, day: date | None) -> str:
    """The weeks present in `table` nearest `day` (the first and last week when there is no day)."""
    if day is None:
        first, last = engine.row(f'select min({column}), max({column}) from "{table}"')
        return f"{first} .. {last}" if first else ""
    _, found = engine.rows(
        f'select distinct {column} as week, abs(date_diff(\'day\', {column}, cast($day as date))) as distance '
        f'from "{table}" order by distance, week limit 2',
        {"day": day},
    )
    return ", ".join(str(week) for week, _ in sorted(found))


def _check_status(row: dict) -> str:
    """passed, warned (failed with WARN: the run went on) or failed (with ERROR: it blocked)."""
    if row["passed"]:
        return "passed"
    return "warned" if row["severity"] == "WARN" else "failed"


def _covers(row: dict) -> str:
    """The week an evaluation is of; a range run's summary row names its range, not NaN."""
    if row["partition"] is not None:
        return row["partition"]
    weeks = row.get("weeks") or []
    return f"{weeks[0]} .. {weeks[-1]} (range)" if weeks else "whole table"


def cmd_checks(args: argparse.Namespace) -> int:
    from funnel_assets.orchestration.evaluations import latest_check_results

    # without --warehouse: every check of the instance; with it, that warehouse's instance and runs only
    from funnel_assets.defs.resources import FunnelResource

    default = DEFAULT_SPARK_WAREHOUSE if args.engine == "spark" else DEFAULT_WAREHOUSE
    warehouse = FunnelResource(warehouse_path=str(args.warehouse or default)).warehouse
    if not (_instance_home(warehouse) / "dagster.yaml").exists():  # no run recorded: nothing to create here
        rows = []
    else:
        rows = latest_check_results(_instance(warehouse), warehouse if args.warehouse else None)
    for row in rows:
        row["status"] = _check_status(row)
    # a check's state is its worst evaluation (of any week, or of a run's range)
    worst: dict[str, str] = {}
    for row in rows:
        order = ["passed", "warned", "failed"]
        worst[row["check"]] = max(worst.get(row["check"], "passed"), row["status"], key=order.index)
    shown = [r for r in rows if r["status"] != "passed"] if args.failed else rows
    if args.format == "json":
        print(json.dumps(shown, indent=2, default=str))
        return 0
    if not rows:
        print("no check has run yet: `funnel run --data DIR` runs them")
        return 0
    import pandas as pd

    if shown:
        table = pd.DataFrame([{
            "asset": r["asset"], "check": r["check"], "week": _covers(r), "status": r["status"],
            # a passing blocking check is not an error: what it does when it fails
            "on_failure": "blocks" if r["severity"] == "ERROR" else "warns",
            "observed": r["observed"], "threshold": r["threshold"],
            "failing": "" if r.get("failing_rows") is None else f"{r['failing_rows']} {r.get('unit') or ''}".strip(),
        } for r in shown], dtype=object).fillna("")
        print(table.to_string(index=False))
    else:
        print("no check failed or warned")
    counts = {status: sum(1 for s in worst.values() if s == status) for status in ("passed", "warned", "failed")}
    print(f"\n{len(worst)} checks: {counts['passed']} passed, {counts['warned']} warned, {counts['failed']} failed")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import shutil

    from funnel_assets.defs.resources import FunnelResource

    data_dir = Path(args.data)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    args.demo_data = True  # simulated data: the published demo key is fine
    generate_args = argparse.Namespace(
        out=str(data_dir), developers=args.developers, weeks=args.weeks, start=args.start, seed=args.seed,
        requests=args.requests, inject="",
    )
    print(f"1/2 generating {args.developers:,} simulated developers into {data_dir}")
    if cmd_generate(generate_args):
        return 2
    print("2/2 materialising every asset")
    status = _run(args, vendor_sources=False)  # the demo shows simulated data only
    if status:
        return status
    print()
    cmd_show(argparse.Namespace(
        warehouse=args.warehouse, engine=args.engine, config=args.config, asset="mart_production_rate", cohort=None, format="table", limit=None,
        all_cohorts=False,
    ))
    home = _instance_home(Path(args.warehouse))
    print(
        f"""
Where to look:
  marts       funnel show mart_stage_conversion     (also mart_ttfac_by_cohort, mart_sdk_usage,
                                                     mart_first_session_depth, mart_production_rate)
  checks      funnel checks
  who         funnel trace mart_stage_conversion --cohort WEEK --from account_created --to first_api_call --who dropped
  pictures    funnel report --out report.html   (also {FunnelResource(warehouse_path=str(args.warehouse)).beside_warehouse('report.html')}, written by the run)
  warehouse   {args.warehouse}  (a DuckDB file; every table: funnel show TABLE)
  truth       {data_dir / 'truth.json'}  (what the simulator planted and drew)
  the UI      make ui   (= DAGSTER_HOME={home} .venv/bin/dagster dev), then open http://127.0.0.1:3000
"""
    )
    return 0


def _fault_names() -> list[str]:
    from funnel_assets.lib.simulator.faults import FAULTS

    return sorted(FAULTS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funnel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def warehouse_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE),
                       help="DuckDB warehouse file (default: %(default)s); on Spark a folder or URI "
                       f"(default: {DEFAULT_SPARK_WAREHOUSE})")

    def engine_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                       help="the SQL engine (default: `engine` in --config, else duckdb); spark needs "
                       "pip install 'funnel_assets[spark]'")

    def demo_data_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--demo-data", action="store_true",
                       help="the data is a demo: allow the published pseudonym key (never for real data)")

    def generate_options(p: argparse.ArgumentParser, developers: int) -> None:
        p.add_argument("--developers", type=int, default=developers, help="developers to simulate (default: %(default)s)")
        p.add_argument("--weeks", type=int, default=12, help="signup weeks (default: %(default)s)")
        p.add_argument("--start", default="2025-01-06", help="first signup day, YYYY-MM-DD (default: %(default)s)")
        p.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")

    p = sub.add_parser("generate", help="write simulated landing files and truth.json")
    p.add_argument("--out", required=True, help="folder to write landing/ and truth.json into")
    generate_options(p, 2000)
    p.add_argument("--requests", type=int, default=None, help="scale activity to about this many gateway requests")
    p.add_argument("--inject", default="", help="faults to inject, comma-separated: " + ", ".join(_fault_names()))
    p.add_argument("--plant-diagnostics", action="store_true",
                   help="plant a broken-quickstart week, SDK users twice as likely to reach production, and a docs "
                        "page re-read before giving up (truth.json: planted)")
    p.set_defaults(func=cmd_generate)

    from funnel_assets.lib.adapters import FORMATS

    formats = "\n".join(
        f"  {name:<13} {'+'.join(adapter.sources):<24} {adapter.description}" for name, adapter in FORMATS.items()
    )
    p = sub.add_parser(
        "convert",
        help="convert vendor exports, logs and webhook payloads into landing format v1",
        description="Convert vendor files into DIR/landing/<source>/<YYYY-MM-DD>.jsonl (appended to); records that "
        "cannot be converted go to DIR/quarantine/convert.jsonl with file, line, field and reason.",
        epilog=f"formats (--format NAME, feeds, input):\n{formats}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", required=True, metavar="NAME", help=f"vendor format, one of: {', '.join(FORMATS)}")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="vendor files or folders (gzip allowed)")
    p.add_argument("--out", default=str(DEFAULT_DATA), help="data folder to write landing/ into (default: %(default)s)")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="a format option, repeatable; VALUE is text (log_format='...'), or JSON/YAML for a mapping or flag "
        "(key_map='{\"cred\": \"key\"}')",
    )
    p.add_argument("--options", dest="options_file", default=None, metavar="FILE.yaml", help="format options as YAML")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("run", help="materialise every asset for every week the data covers")
    p.add_argument("--data", required=True, help="folder holding landing/<source>/<day>.jsonl")
    warehouse_option(p)
    p.add_argument("--identity-db", default=None, help="identity store URL (default: SQLite beside the warehouse)")
    p.add_argument(
        "--config", default=None,
        help="YAML file of FunnelResource settings (windows, events, SDK patterns, vendor_sources to convert first)",
    )
    p.add_argument("--full", action="store_true",
                   help="rebuild every week, not only what new or changed landing files feed (the default on a "
                        "warehouse that has seen the data)")
    demo_data_option(p)
    engine_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="re-materialise a range of signup weeks (and the event weeks they read)")
    p.add_argument("--data", required=True, help="folder holding landing/<source>/<day>.jsonl")
    p.add_argument("--from", dest="from_week", required=True, help="first signup week (its Monday, YYYY-MM-DD)")
    p.add_argument("--to", dest="to_week", required=True, help="last signup week (its Monday, YYYY-MM-DD)")
    warehouse_option(p)
    p.add_argument("--identity-db", default=None, help="identity store URL (default: SQLite beside the warehouse)")
    p.add_argument("--config", default=None, help="YAML file of FunnelResource settings")
    demo_data_option(p)
    engine_option(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("show", help="print a mart or table")
    p.add_argument("asset")
    warehouse_option(p)
    p.add_argument("--cohort", default=None, help="only this week (its Monday, YYYY-MM-DD)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--limit", type=int, default=None, help="print at most this many rows")
    p.add_argument("--all-cohorts", action="store_true", help="include cohorts in which nobody is counted")
    engine_option(p)
    p.set_defaults(func=cmd_show)

    from funnel_assets.cli_trace import add_commands

    add_commands(sub, warehouse_option)

    p = sub.add_parser("checks", help="latest result of every data-quality check, then how many passed, warned, failed")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--failed", action="store_true", help="only the evaluations that failed or warned")
    p.add_argument("--warehouse", default=None,
                   help="only the checks of runs that wrote this warehouse (default: every check of the instance)")
    engine_option(p)
    p.set_defaults(func=cmd_checks)

    p = sub.add_parser("demo", help="generate sample data, materialise everything, say where to look")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="where to generate (default: %(default)s)")
    warehouse_option(p)
    generate_options(p, 3000)
    p.add_argument("--requests", type=int, default=400_000, help="about this many gateway requests (default: %(default)s)")
    p.add_argument("--identity-db", default=None, help="identity store URL (default: SQLite beside the warehouse)")
    p.add_argument("--config", default=None, help="YAML file of FunnelResource settings")
    engine_option(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (`funnel show ... | head`): stop quietly, as a pipe's writer does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug or an unforeseen input: one line here, the traceback in the log
        log = _error_log(Path(getattr(args, "warehouse", None) or DEFAULT_WAREHOUSE))
        with log.open("a") as handle:
            handle.write(f"--- {datetime.now(timezone.utc).isoformat()} funnel {' '.join(argv or sys.argv[1:])}\n")
            handle.write(traceback.format_exc())
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {type(error).__name__}: {message} (traceback in {log})", file=sys.stderr)
        return 1


def _error_log(warehouse: Path) -> Path:
    """Where tracebacks go: in the warehouse's Dagster instance, so one folder holds a run's records."""
    home = _instance_home(warehouse)
    home.mkdir(parents=True, exist_ok=True)
    return home / "funnel-errors.log"


if __name__ == "__main__":
    sys.exit(main())
