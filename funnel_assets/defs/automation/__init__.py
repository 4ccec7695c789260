"""Orchestration: the weekly schedule, late-file and alert sensors, backfills and retention."""
