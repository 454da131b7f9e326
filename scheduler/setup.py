"""Cron registration only: APScheduler in the configured time zone, jobs from scheduler/jobs.py.

Misfires coalesce (after hours down, one catch-up run, not several) and a job never overlaps itself.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from handlers.router import Services
from scheduler import jobs

log = logging.getLogger(__name__)


async def run_job(svc: Services, names: tuple[str, ...]) -> int:
    now = svc.clock.now()
    new = await svc.db.run(jobs.run_rules, svc.settings, now, names)
    log.info("rules at %s: new notifications %s", now.isoformat(), new)
    return sum(new.values())


def build_scheduler(svc: Services) -> AsyncIOScheduler:
    a, tz = svc.settings.alerts, svc.settings.tz
    sched = AsyncIOScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": 6 * 3600})
    for job_id, cron, names in (
        ("rules", a.rules_cron, jobs.DAILY_RULES),
        ("due_items", a.digest_cron, ("due_items",)),
        ("weekly_funnel", a.funnel_cron, ("weekly_funnel",)),
    ):
        sched.add_job(run_job, CronTrigger.from_crontab(cron, timezone=tz), args=(svc, names), id=job_id)
    return sched

