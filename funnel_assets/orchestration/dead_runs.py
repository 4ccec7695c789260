"""Runs that died: found when the next writer takes the warehouse, marked failed, alerted.

A run killed by a signal, the out-of-memory killer or a reboot writes no
run-end event: it stays STARTED in the Dagster instance, and with
`max_concurrent_runs: 1` no queued run would start again. Its writer record
stays in the warehouse's lock file (orchestration/writer_lock.py) while the
kernel has dropped its lock, so the next run to take the warehouse knows the
run died, whatever launched either of them (`funnel run`, the daemon, the UI).
Runs the daemon launches are also watched by Dagster's run monitoring
(`run_monitoring` in deploy/dagster*.yaml).
"""

from __future__ import annotations

import dagster as dg

from funnel_assets.orchestration.writer_lock import Holder

UNFINISHED = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING)


def fail_dead_run(instance: dg.DagsterInstance, dead: Holder, found_by: str) -> dg.DagsterRun | None:
    """Mark the run a dead writer left unfinished as failed and send its run-failure alert; the run, or None."""
    run = instance.get_run_by_id(dead.run_id)
    if run is None or run.status not in UNFINISHED or dead.run_id == found_by:
        return None
    instance.report_run_failed(
        run,
        f"Run {dead.run_id} died while writing {dead.warehouse} (pid {dead.pid}, since {dead.since}): its process "
        f"is gone without ending the run. Marked failed by run {found_by}, the next to take the warehouse.",
    )
    # the alert the run-failure sensor would send, sent now for a user without the daemon; its key is
    # the run's, so the sensor's later delivery of the same failure is a no-op
    from funnel_assets.defs.automation.resources import AlertSinksResource
    from funnel_assets.defs.automation.sensors import run_failure_alert

    (record,) = instance.get_records_for_run(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE, limit=1).records
    sinks = AlertSinksResource()
    sinks.deliver("run_failures", [run_failure_alert(instance, record, sinks)])
    return instance.get_run_by_id(dead.run_id)
