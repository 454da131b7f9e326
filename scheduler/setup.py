"""Cron registration: APScheduler in the configured time zone, jobs from scheduler/jobs.py.

Misfires coalesce (after hours down, one catch-up run, not several) and a job never overlaps itself.
Every box sharing a database runs the same crons; each tick is claimed in `job_runs` first, so one
box runs it (store/alerts.claim_tick), a catch-up after downtime included.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from handlers.router import Services
from scheduler import jobs
from store import alerts
from store.db import BOX

log = logging.getLogger(__name__)
MISFIRE_GRACE = timedelta(hours=6)  # a tick missed by longer (box down) is not caught up


@dataclass(frozen=True, slots=True)
class ClockJob:
    """A cron job: its name in `job_runs`, its crontab (local time) and the rules it runs."""

    name: str
    cron: str
    rules: tuple[str, ...]

    def trigger(self, tz: tzinfo) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=tz)


def clock_jobs(settings: Settings) -> list[ClockJob]:
    a = settings.alerts
    return [ClockJob("rules", a.rules_cron, jobs.DAILY_RULES),
            ClockJob("due_items", a.digest_cron, ("due_items",)),
            ClockJob("weekly_funnel", a.funnel_cron, ("weekly_funnel",))]


def last_tick(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The scheduled time of the run due at `now`: the trigger's latest fire time not after it,
    within the misfire grace (what a late or catch-up run stands for)."""
    tick, last = trigger.get_next_fire_time(None, now - MISFIRE_GRACE), None
    while tick is not None and tick <= now:
        last, tick = tick, trigger.get_next_fire_time(tick, tick + timedelta(seconds=1))
    return last


async def run_job(svc: Services, job: ClockJob) -> int:
    """Run one tick of `job` unless another box sharing the database has; returns new pushes."""
    now = svc.clock.now()
    tick = last_tick(job.trigger(svc.settings.tz), now) or now
    if not await svc.db.run(alerts.claim_tick, job.name, tick, BOX, now):
        log.info("%s tick %s already run by another box", job.name, tick.isoformat())
        return 0
    new = await svc.db.run(jobs.run_rules, svc.settings, now, job.rules)
    log.info("%s tick %s at %s: new notifications %s", job.name, tick.isoformat(), now.isoformat(), new)
    return sum(new.values())


def build_scheduler(svc: Services) -> AsyncIOScheduler:
    tz = svc.settings.tz
    sched = AsyncIOScheduler(timezone=tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": int(MISFIRE_GRACE.total_seconds())})
    for job in clock_jobs(svc.settings):
        sched.add_job(run_job, job.trigger(tz), args=(svc, job), id=job.name)
    return sched
