"""`funnel trace` and `funnel report`: from a number to the developers and events behind it, and pictures of it."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import date
from pathlib import Path

# option (its argparse name) -> the members column it picks a cell by
CELL_OPTIONS = {
    "from_stage": "from_stage",
    "to_stage": "to_stage",
    "window": "window_days",
    "days": "days",
    "client_kind": "client_kind",
    "client_name": "client_name",
    "depth": "depth",
    "segment": "segment",
    "value": "segment_value",
    "metric": "metric",
    "endpoint": "endpoint",
    "status": "status",
    "stage": "stage",
    "early_second_developer": "early_second_developer",
    "path": "path",
    "page": "page_path",
}
FLAGS = {"from_stage": "--from", "to_stage": "--to"}
REIDENTIFY_WARNING = (
    "warning: --reidentify shows personal data (auth user ids and e-mail addresses): use it for outreach only; "
    "this request is recorded in {log}"
)


def _cohort(text: str) -> date:
    try:
        week = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if week.weekday() != 0:
        raise argparse.ArgumentTypeError(f"{text} is a {week:%A}: a cohort is named by its Monday")
    return week


def _missing_warehouse(args: argparse.Namespace) -> bool:
    if Path(args.warehouse).exists():
        return False
    print(f"no warehouse at {args.warehouse}: run `funnel run --data DIR` first", file=sys.stderr)
    return True


def _resource(args: argparse.Namespace):
    from funnel_assets.cli import DEFAULT_DATA, _resource

    return _resource(argparse.Namespace(**{"data": DEFAULT_DATA, **vars(args)}))


def _window(funnel, cell: dict) -> None:
    """The transition's window when only one is configured for from -> to; else say which there are."""
    windows = sorted(
        t.window_days for t in funnel.rules.transition_rules if (t.from_stage, t.to_stage) == (cell["from_stage"], cell["to_stage"])
    )
    if not windows:
        pairs = ", ".join(f"{t.from_stage}->{t.to_stage}@{t.window_days}" for t in funnel.rules.transition_rules)
        raise ValueError(f"no transition {cell['from_stage']} -> {cell['to_stage']}; configured: {pairs}")
    if cell.get("window_days") is None:
        if len(windows) > 1:
            raise ValueError(
                f"{cell['from_stage']} -> {cell['to_stage']} has windows {windows}: say which with --window"
            )
        cell["window_days"] = windows[0]
    elif cell["window_days"] not in windows:
        raise ValueError(f"{cell['from_stage']} -> {cell['to_stage']} has windows {windows}, not {cell['window_days']}")


def _command_line(args: argparse.Namespace) -> str:
    """The request as a command line, for the audit log."""
    parts = ["funnel", "trace", args.mart, "--warehouse", args.warehouse]
    for name in ("cohort", *CELL_OPTIONS, "who"):
        if getattr(args, name) is not None:
            parts += [FLAGS.get(name, "--" + name.replace("_", "-")), str(getattr(args, name))]
    return shlex.join([*parts, "--reidentify"])


def _print_developers(frame, fmt: str, header: str) -> None:
    """json / csv: one row object per developer; table: one block per developer, stages in funnel order."""
    import pandas as pd

    from funnel_assets.lib.stage_names import STAGES
    from funnel_assets.lib.tables import render

    if fmt != "table":
        print(render(frame, fmt), end="" if fmt == "csv" else "\n")
        return
    print(header)
    for row in frame.to_dict("records"):
        if pd.isna(row["cohort_week"]):  # intent -> account_created counts visitors who never signed up
            print(f"\n{row['user_pid']}  a visitor without an account")
            continue
        contact = " ".join(str(row[c]) for c in ("user_id", "email") if c in row and not pd.isna(row[c]))
        print(f"\n{row['user_pid']}  cohort {row['cohort_week']}  {contact}".rstrip())
        for stage in STAGES:
            if pd.isna(row[f"{stage}_at"]):
                continue
            line = row[f"{stage}_source_line"]
            source = "" if pd.isna(line) else f"{row[f'{stage}_source_file']}:{line}"
            print(f"  {stage:<28} {row[f'{stage}_at']:%Y-%m-%d %H:%M:%S}  {source}")


def _print_orgs(frame, fmt: str, header: str) -> None:
    """Like _print_developers, one block per organisation: each stage's developer and event."""
    import pandas as pd

    from funnel_assets.lib.orgs import ORG_STAGES
    from funnel_assets.lib.tables import render

    if fmt != "table":
        print(render(frame, fmt), end="" if fmt == "csv" else "\n")
        return
    print(header)
    for row in frame.to_dict("records"):
        print(f"\n{row['org_pid']}  cohort {row['cohort_week']}  {row['developers']} developers")
        for stage in ORG_STAGES:
            if pd.isna(row[f"{stage}_at"]):
                continue
            line = row[f"{stage}_source_line"]
            source = "" if pd.isna(line) else f"{row[f'{stage}_source_file']}:{line}"
            print(f"  {stage:<28} {row[f'{stage}_at']:%Y-%m-%d %H:%M:%S}  by {row[f'{stage}_user_pid']} "
                  f"({row[f'{stage}_developers']} joined)  {source}")


def cmd_trace(args: argparse.Namespace) -> int:
    from funnel_assets.lib.cells import CELLS, stage_path_transitions, stage_transitions
    from funnel_assets.lib.orgs import DEVELOPER_MART, trace_org_cell
    from funnel_assets.lib.trace import audit, timeline, trace_cell

    if _missing_warehouse(args):
        return 2
    warehouse = Path(args.warehouse)
    funnel = _resource(args)
    if args.developer:
        with funnel.connect() as engine:
            frame = timeline(engine, funnel.rules.params(), args.developer)
        if frame.empty:
            print(f"no events of developer {args.developer} in {warehouse}", file=sys.stderr)
            return 1
        from funnel_assets.lib.tables import render

        frame = frame.head(args.limit) if args.limit is not None else frame
        print(render(frame, args.format), end="" if args.format == "csv" else "\n")
        return 0
    if args.mart not in CELLS and args.mart not in DEVELOPER_MART:
        print(f"error: trace a mart ({', '.join([*CELLS, *DEVELOPER_MART])}) or --developer PID", file=sys.stderr)
        return 2
    if args.cohort is None:
        print("error: --cohort WEEK is required to trace a mart cell", file=sys.stderr)
        return 2
    if args.reidentify and args.mart.startswith("mart_org_"):
        print("error: --reidentify re-identifies developers: trace a developer mart or --developer PID", file=sys.stderr)
        return 2
    cell = {column: getattr(args, flag) for flag, column in CELL_OPTIONS.items() if getattr(args, flag) is not None}
    try:
        if args.mart in ("mart_stage_conversion", "mart_org_stage_conversion") and "from_stage" in cell and "to_stage" in cell:
            _window(funnel, cell)
        if args.mart == "mart_segment_conversion":
            cell.setdefault("metric", "production_90d")
        with funnel.connect() as engine:
            stage_transitions(engine, [t.model_dump() for t in funnel.rules.transition_rules])
            if args.mart == "mart_paths":
                stage_path_transitions(engine, [t.model_dump() for t in funnel.rules.diagnostics.path_transition_rules])
            if args.mart.startswith("mart_org_"):
                frame = trace_org_cell(engine, funnel.rules.params(), args.mart, args.cohort, cell, args.who)
            else:
                frame = trace_cell(
                    engine, funnel.rules.params(), args.mart, args.cohort, cell, args.who, args.reidentify
                )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.reidentify:
        log = audit(warehouse, _command_line(args), {"mart": args.mart, "cohort": args.cohort, **cell,
                                                     "who": args.who}, len(frame))
        print(REIDENTIFY_WARNING.format(log=log), file=sys.stderr)
    total = len(frame)
    if args.limit is not None:
        frame = frame.head(args.limit)
    described = ", ".join(f"{k}={v}" for k, v in cell.items())
    header = f"{total} {args.who} in {args.mart} cohort {args.cohort}" + (f", {described}" if described else "")
    if args.limit is not None and total > args.limit:
        header += f"; the first {args.limit} shown"
    (_print_orgs if args.mart.startswith("mart_org_") else _print_developers)(frame, args.format, header)
    return 0


def add_commands(sub, warehouse_option) -> None:
    p = sub.add_parser(
        "trace",
        help="the developers a mart cell counts, each with the events (file:line) behind their stages",
        description="List the developers counted in one cell of a mart, with every stage's time, the id of the "
        "event that set it and that event's landing file and line. Pseudonymous unless --reidentify.",
    )
    p.add_argument("mart", nargs="?", help="mart_stage_conversion, mart_ttfac_by_cohort, mart_production_rate, "
                   "mart_sdk_usage, mart_first_session_depth, mart_segment_conversion, mart_first_day_errors; "
                   "mart_paths, mart_docs_friction; mart_org_stage_conversion, mart_org_ttfac, mart_org_production_rate, "
                   "mart_org_developers_by_stage (organisations)")
    p.add_argument("--cohort", type=_cohort, default=None, help="the cohort's week (its Monday, YYYY-MM-DD)")
    p.add_argument("--from", dest="from_stage", default=None, help="mart_stage_conversion: the from stage")
    p.add_argument("--to", dest="to_stage", default=None, help="mart_stage_conversion: the to stage")
    p.add_argument("--window", type=int, default=None, help="mart_stage_conversion: window in days (when several)")
    p.add_argument("--days", type=int, choices=[30, 60, 90], default=None, help="mart_production_rate: the horizon")
    p.add_argument("--client-kind", default=None, help="mart_sdk_usage: sdk, raw_http or unknown")
    p.add_argument("--client-name", default=None, help="mart_sdk_usage: acme-python, curl, ...")
    p.add_argument("--depth", type=int, default=None, help="mart_first_session_depth: distinct endpoints")
    p.add_argument("--segment", default=None, help="mart_segment_conversion: channel, account_type, "
                   "email_engagement or client_kind")
    p.add_argument("--value", default=None, help="mart_segment_conversion: the segment's value")
    p.add_argument("--metric", default=None, choices=["first_call_7d", "active_14d", "production_90d"],
                   help="mart_segment_conversion: which rate converted/dropped refer to (default production_90d)")
    p.add_argument("--endpoint", default=None, help="mart_first_day_errors: METHOD /route")
    p.add_argument("--status", type=int, default=None, help="mart_first_day_errors: status code")
    p.add_argument("--path", default=None, help="mart_paths: the path, as in the mart (with --from, --to and "
                   "--who converted or dropped)")
    p.add_argument("--page", default=None, help="mart_docs_friction: the docs page path")
    p.add_argument("--stage", default=None, help="mart_org_developers_by_stage: the stage")
    p.add_argument("--early-second-developer", type=lambda text: {"yes": True, "no": False}[text], default=None,
                   metavar="{yes,no}", help="mart_org_developers_by_stage: the early-second-developer group")
    p.add_argument("--who", default="entered",
                   help="entered (all the cell counts), converted, dropped; mart_ttfac_by_cohort: called, never_called; "
                   "mart_docs_friction: rereaders, skimmers, called, rereaders_never_called")
    p.add_argument("--developer", default=None, metavar="PID", help="one developer's timeline instead of a cell")
    p.add_argument("--reidentify", action="store_true",
                   help="add the auth user id and e-mail from the raw layer (personal data: warned and audited)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--limit", type=int, default=None, help="print at most this many developers (events)")
    p.add_argument("--config", default=None, help="YAML file of FunnelResource settings (the funnel's rules)")
    warehouse_option(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("report", help="one self-contained HTML report with the funnel's charts (opens offline)")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--config", default=None, help="YAML file of FunnelResource settings")
    warehouse_option(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from funnel_assets.cli import _instance
    from funnel_assets.orchestration.evaluations import latest_check_results
    from funnel_assets.lib.report import write_report

    if _missing_warehouse(args):
        return 2
    warehouse = Path(args.warehouse)
    funnel = _resource(args)
    out = Path(args.out)
    try:
        with funnel.connect() as engine:
            charts = write_report(engine, out, latest_check_results(_instance(warehouse), warehouse), warehouse)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(charts)} charts, opens offline)")
    return 0
