"""The aiohttp server behind `salesbot serve`: WeCom callback, /healthz, /metrics.

`serve()` owns the process lifetime: it adds the enabled channels to the app, starts the
app (which first resumes inbox rows left pending by a crash), opens the HTTP port, and on
SIGTERM/SIGINT stops accepting callbacks before draining the app, so nothing acknowledged
is lost and nothing half-done is acknowledged.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import metrics
from extraction.holidays import missing_calendar
from handlers import texts

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
APP_KEY = web.AppKey("salesbot_app", object)


def _backlogs(app: App) -> tuple[int, int]:
    """(inbox messages not yet processed, answers not yet delivered), counted in the database."""
    from store import replies, repos

    return app.svc.db.call(repos.inbox_pending_count), app.svc.db.call(replies.undelivered)


async def healthz(request: web.Request) -> web.Response:
    app: App = request.app[APP_KEY]  # type: ignore[assignment]
    channels, errors = {}, {}
    for name, ch in app.channels.items():
        health = getattr(ch, "health", None)  # real API results (credentials, sends)
        connected = getattr(ch, "connected", None)  # a stream's connection
        state = health.state if health is not None else "ok"
        if state != "degraded" and connected is not None:
            state = "connected" if connected else "reconnecting"
        channels[name] = state
        if health is not None and health.last_error:
            errors[name] = health.last_error
    _, undelivered = await asyncio.to_thread(_backlogs, app)
    today = app.svc.clock.now().astimezone(app.settings.tz).date()
    missing = missing_calendar(today)
    status = "degraded" if "degraded" in channels.values() else "ok"
    return web.json_response({"status": status, "channels": channels, "channel_errors": errors,
                              "undelivered_replies": undelivered,
                              "calendar_missing": {str(y): list(n) for y, n in missing.items()},
                              "warnings": texts.calendar_warnings(missing)})


async def metrics_view(request: web.Request) -> web.Response:
    app: App = request.app[APP_KEY]  # type: ignore[assignment]
    try:  # a scrape-time count, off the event loop
        inbox, undelivered = await asyncio.to_thread(_backlogs, app)
        metrics.INBOX_BACKLOG.set(inbox)
        metrics.REPLIES_UNDELIVERED.set(undelivered)
    except Exception:
        log.warning("counting the backlogs failed", exc_info=True)
    return web.Response(body=metrics.REGISTRY.render().encode(),
                        headers={"Content-Type": metrics.CONTENT_TYPE})


def build_web_app(app: App) -> web.Application:
    """Routes for the channels already added to `app` (the WeCom callback when present)."""
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics_view)
    for ch in app.channels.values():
        install = getattr(ch, "install", None)
        if install is not None:
            install(web_app)
    return web_app


def add_enabled_channels(app: App, settings: Any) -> list[str]:
    """Create the WeCom / DingTalk channels switched on in the settings."""
    added = []
    if settings.wecom.enabled:
        from bot.shared import SharedLimiter, SharedTokens
        from bot.wecom import MEMBER_LIMITS, WecomChannel

        limiter, tokens = None, None
        if app.dispatcher.queue.shared:  # boxes sharing the database share WeCom's limit and token
            limiter = SharedLimiter(app.svc.db, "wecom", MEMBER_LIMITS)
            tokens = SharedTokens(app.svc.db, f"wecom:{settings.wecom.corp_id}:{settings.wecom.agent_id}")
        app.add_channel(WecomChannel(settings.wecom, limiter=limiter, tokens=tokens))
        added.append("wecom")
    if settings.dingtalk.enabled:
        from bot.dingtalk import DingtalkChannel, api_limits, peer_limits
        from bot.shared import SharedLimiter, SharedTokens

        ding = settings.dingtalk
        if app.dispatcher.queue.shared:  # boxes sharing the database share the token and the limits
            app.add_channel(DingtalkChannel(
                ding, tokens=SharedTokens(app.svc.db, f"dingtalk:{ding.client_id}"),
                limiter=SharedLimiter(app.svc.db, f"dingtalk:{ding.client_id}", peer_limits(ding)),
                api_limiter=SharedLimiter(app.svc.db, f"dingtalk-api:{ding.client_id}", api_limits(ding))))
        else:
            app.add_channel(DingtalkChannel(ding))
        added.append("dingtalk")
    return added


async def check_channels(app: App, say: Callable[[str], None]) -> dict[str, str | None]:
    """Each enabled channel's credentials tried now (WeCom gettoken, DingTalk access token), one
    line per channel through `say`; a failure is reported, not fatal (/healthz keeps saying it)."""
    out: dict[str, str | None] = {}
    for name, ch in app.channels.items():
        check = getattr(ch, "check", None)
        if check is None:
            continue
        out[name] = err = await check()
        if err is not None:
            log.warning("%s credentials check failed: %s", name, err)
        say(texts.channel_check(name, err))
    return out


async def serve(app: App, settings: Any, *, stop: asyncio.Event | None = None,
                ready: asyncio.Event | None = None, say: Callable[[str], None] | None = None) -> None:
    """Run channels + HTTP until SIGTERM/SIGINT (or `stop` is set), then shut down cleanly.
    `say` gets the start-up report (the CLI prints it)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            pass
    names = add_enabled_channels(app, settings)
    say = say or (lambda line: log.info("%s", line))
    if not names:
        log.warning("no channel enabled (wecom.enabled / dingtalk.enabled)")
        say(texts.SERVE_NO_CHANNEL)
    await check_channels(app, say)
    runner = web.AppRunner(build_web_app(app), access_log=None, shutdown_timeout=5)
    try:
        await app.start(background=True)  # also the scheduler and the outbox delivery
        await runner.setup()
        site = web.TCPSite(runner, settings.server.host, settings.server.port,
                           reuse_port=settings.server.reuse_port or None)
        await site.start()
        log.info("serving on %s:%s with channels %s", settings.server.host, settings.server.port,
                 ", ".join(names) or "(none)")
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()  # stop taking callbacks first …
        await app.stop()  # … then close channels and finish queued work
        for sig in installed:
            loop.remove_signal_handler(sig)
