"""Scheduled jobs that run once per cluster per tick: each tick is claimed as a row in `job_ticks`."""
