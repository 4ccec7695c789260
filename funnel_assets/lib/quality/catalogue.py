"""Every data-quality check: its name (a predicate), the asset it is on, what it reads and how bad a failure is.

Severity decides the flow. Integrity and contract checks block (ERROR): the
run stops before anything downstream of the asset materialises. Rate and
volume checks warn (WARN): the run goes on and the alert sensor reports them.
A check whose bad rows the ingestion already set aside (duplicates, unreadable
lines) warns, because nothing bad flows downstream: reconciliation, which
blocks, proves those rows were accounted for.
"""

from __future__ import annotations

from dataclasses import dataclass

from funnel_assets.lib.contracts import SOURCES, load_contract

RAW = "raw"  # evaluated by the raw asset while it holds the data
CROSS = "cross"  # a separate check step, after the other assets it reads
DOWNSTREAM = "downstream"  # a check step of its own per asset past raw, judging the asset's rows (downstream.py)


@dataclass(frozen=True)
class Check:
    name: str
    asset: str
    kind: str
    blocking: bool
    unit: str  # what failing_rows counts: lines, days, weeks
    description: str
    evaluated_by: str = RAW
    reads: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        """The severity of a failure; a blocking check may still fail with WARN when what failed is harmless."""
        return "ERROR" if self.blocking else "WARN"


def _plural_key(source: str) -> str:
    key = load_contract(source).unique_key
    return f"{key[0]}s" if len(key) == 1 else "_and_".join(key) + "_pairs"


def raw_checks(source: str) -> list[Check]:
    """The checks a raw asset evaluates on the weeks it writes."""
    table = f"raw_{source}"
    contract = load_contract(source)
    key = ", ".join(contract.unique_key)
    checks = [
        Check(f"{table}_reconciles_input_lines", table, "reconciliation", True, "lines",
              "Every landing line of the week is accounted for: input lines = accepted + quarantined + duplicates"
              + (" (accepted = current versions + history)." if contract.is_state else ".")),
        Check(f"{table}_has_no_schema_drift", table, "contract", True, "lines",
              "Schema drift: no line adds, drops, renames or retypes a field against the contract version it "
              "declares (schema_version, 1 when absent), and the raw table has the contracts' columns. Lines that "
              "break their contract are quarantined and block (ERROR); fields only added are kept in "
              "_extra_fields, as landing format v1 allows, and warn (WARN)."),
        Check(f"{table}_has_no_events_in_the_future", table, "future", True, "lines",
              f"Clock skew: no {contract.time_field} later than the end of its landing file's day (the data's "
              f"as-of for that line) plus a tolerance."),
        Check(f"{table}_has_no_events_before_their_day", table, "past", True, "lines",
              f"Clock skew: no {contract.time_field} earlier than the start of its landing file's day minus a "
              f"tolerance (a sign-up dated 1900 in a 2025 day file), which would drop its row out of every "
              f"window downstream."),
        Check(f"{table}_has_unique_{_plural_key(source)}", table, "duplicates", False, "lines",
              f"Versions, not duplicates (a state source): a line repeating the {key} of an earlier line is a "
              f"newer version of it, accepted and counted as current or history; none is quarantined as a duplicate. "
              f"Reported: a later week, ingested before this one, whose row took the entity's first version while "
              f"this week holds an earlier one (re-materialise that week)."
              if contract.is_state else
              f"Duplicates: no line repeats the {key} of an earlier line, in this week or an earlier week (a "
              f"re-sent file). Repeats are quarantined as duplicates and the first occurrence kept."),
        Check(f"{table}_has_only_readable_lines", table, "unreadable", False, "lines",
              "Every line is a UTF-8 JSON object and every gzip file is complete; unreadable lines are quarantined."),
        Check(f"{table}_has_a_landing_file_for_every_day", table, "missing_days", False, "days",
              "Completeness (daily sources): a landing file for every day between the source's first and last day."),
        Check(f"{table}_is_not_empty", table, "empty", False, "weeks",
              "Completeness (daily sources): a week within the source's span has accepted rows."),
        Check(f"{table}_has_steady_daily_volume", table, "volume", False, "days",
              "Volume (daily sources): no day's accepted lines are more than a factor away from the median of its "
              "neighbouring days."),
        Check(f"{table}_is_fresh", table, "freshness", False, "days",
              "Freshness (daily sources): the source's latest landing day is close to the data's as-of day (the "
              "latest landing day of any source)."),
    ]
    if source == "analytics_events":
        checks.append(
            Check(f"{table}_has_consistent_client_clocks", table, "client_clocks", False, "lines",
                  "Clock skew (Segment-style): the share of events whose client clock (sent_at) is off the "
                  "server's (received_at) by more than a tolerance; corrected_timestamp corrects them.")
        )
    return checks


CROSS_SOURCE_CHECKS = [
    Check("raw_gateway_requests_has_no_calls_before_their_key_was_created", "raw_gateway_requests", "calls_before_key",
          True, "lines",
          "Effects before causes: no request precedes the first creation of the API key it used.",
          CROSS, ("raw_api_keys",)),
    Check("raw_api_keys_has_no_keys_created_before_their_user", "raw_api_keys", "keys_before_user", True, "lines",
          "Effects before causes: no API key is created before the account of the user it was issued to.",
          CROSS, ("raw_auth_users",)),
    Check("raw_gateway_requests_has_known_api_keys", "raw_gateway_requests", "unknown_keys", False, "lines",
          "Missing keys: the share of requests whose key id is absent from the identity map.",
          CROSS, ("identity_key_owners",)),
    Check("raw_analytics_events_has_resolvable_users", "raw_analytics_events", "unresolved_users", False, "lines",
          "Missing keys: the share of events with no resolvable user (a user id unknown to the identity map, "
          "or neither a user id nor an anonymous id).",
          CROSS, ("identity_users",)),
    Check("raw_email_events_has_known_recipients", "raw_email_events", "unknown_recipients", False, "lines",
          "Missing keys: the share of e-mail events whose address (trimmed, any case) matches no user.",
          CROSS, ("identity_users",)),
    Check("raw_support_tickets_has_known_requesters", "raw_support_tickets", "unknown_requesters", False, "lines",
          "Missing keys: the share of tickets whose requester address (trimmed, any case) matches no user.",
          CROSS, ("identity_users",)),
]


def all_checks() -> list[Check]:
    from funnel_assets.lib.quality.downstream import downstream_checks  # it builds on Check

    return [c for s in SOURCES for c in raw_checks(s)] + CROSS_SOURCE_CHECKS + downstream_checks()


def check_named(name: str) -> Check:
    return next(c for c in all_checks() if c.name == name)
