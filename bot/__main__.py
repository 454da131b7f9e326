"""Command line: `salesbot demo | chat | say | db | users | extract | match`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.config import ConfigError, Settings, load_settings
from store.errors import DatabaseError

if TYPE_CHECKING:
    from store.db import Database

DEMO_DB = "salesbot-demo.db"
# scheduler/jobs.RULES' names (tests keep them equal), without importing the rules for `--help`
RULE_NAMES = ("stale_deals", "silent_customers", "release_silent", "unpaid_contracts", "quotes_without_reply",
              "due_items", "weekly_funnel")


def _settings(args: argparse.Namespace) -> Settings:
    """Settings with --db applied; `--demo` (where a command has it) means the demo database."""
    settings = load_settings(args.config)
    if getattr(args, "db", None):
        url = args.db if "://" in args.db else f"sqlite:///{args.db}"
        settings.database.url = url
    if getattr(args, "demo", False):
        settings.database.url = f"sqlite:///{DEMO_DB}"
        _seed_demo(settings, reset=False)
    return settings


@contextmanager
def _open_db(settings: Settings) -> Iterator[Database]:
    from store.db import Database

    db = Database(settings.database.url)
    try:
        db.ensure_schema()
        yield db
    finally:
        db.dispose()


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build(settings: Settings):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    _progress("正在加载……")
    from bot.app import build_app
    from bot.console import ConsoleChannel

    app = build_app(settings)
    app.add_channel(ConsoleChannel())
    _progress("正在加载客户索引和分词词典……")
    app.svc.crm.warm_up()
    _progress(f"就绪（{time.monotonic() - t0:.1f} 秒）")
    return app


def _seed_demo(settings: Settings, reset: bool) -> None:
    from handlers.crm import normalized_name
    from store import repos
    from store.demo import seed_demo

    path = Path(settings.database.url.split("///", 1)[1])
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    with _open_db(settings) as db:
        if not db.call(repos.list_users):
            from handlers.router import SystemClock

            db.call(seed_demo, SystemClock().now(), settings.tz, normalized_name)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not args.db:
        settings.database.url = f"sqlite:///{DEMO_DB}"
    _seed_demo(settings, reset=not args.keep)
    return _chat(settings, args.user, banner=True)


def cmd_chat(args: argparse.Namespace) -> int:
    return _chat(_settings(args), args.user, banner=False)


DEMO_BANNER = """
==================== salesbot 演示 ====================
这是【演示数据】（{db}）：王经理(主管)、张伟和李娜(销售)、10 个客户、
不同阶段的商机和一份逾期回款合同。每次启动都会重置演示数据。
试试：帮助 ／ 我的商机 ／ 查 恒达 ／ 待办 ／ 回款 ／ 团队
或直接发拜访记录：今天去恒达见了王总，想下周三前拿到报价，预算五十万左右
切换用户：/as wang（主管） /as li（李娜） /as zhang（张伟） 退出：/quit
=======================================================
"""


def _chat(settings: Settings, user: str, banner: bool) -> int:
    from bot.console import repl
    from store import repos

    app = _build(settings)
    if app.svc.db.call(repos.find_user, user) is None:
        _progress(f"没有用户 {user}：先用 salesbot users add 添加，或运行 salesbot demo")
        return 2
    if banner:
        print(DEMO_BANNER.format(db=settings.database.url.split("///", 1)[-1]))

    def switch(name: str) -> bool:
        return app.svc.db.call(repos.user_by_identity, "console", name) is not None

    async def main() -> None:
        await app.start(background=True)
        try:
            await repl(app.dispatcher.submit, app.dispatcher.drain, user, switch)
        finally:
            await app.stop()

    asyncio.run(main())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the enabled channels, the scheduler, the outbox and /healthz + /metrics."""
    from datetime import datetime

    from bot.app import build_app
    from bot.http import serve
    from extraction.holidays import missing_calendar
    from handlers.texts import calendar_warnings

    settings = _settings(args)
    logging.getLogger().setLevel(settings.app.log_level)  # a service logs at app.log_level
    _progress(f"启动 salesbot：数据库 {_safe_url(settings.database.url)}，"
              f"企业微信 {'开' if settings.wecom.enabled else '关'}，钉钉 {'开' if settings.dingtalk.enabled else '关'}，"
              f"HTTP {settings.server.host}:{settings.server.port}")
    for line in calendar_warnings(missing_calendar(datetime.now(settings.tz).date())):
        _progress(line)
    app = build_app(settings)
    app.svc.crm.warm_up()
    app.svc.transcriber().warm_up()  # loads the speech model in the background
    asyncio.run(serve(app, settings, say=_progress))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Work on the shared queue only, e.g. voice notes on a GPU box (`--queues asr`)."""
    import signal

    from bot.app import build_app
    from bot.http import add_enabled_channels
    from handlers import texts

    settings = _settings(args)
    logging.getLogger().setLevel(settings.app.log_level)  # a service logs at app.log_level
    if not settings.queue.shared_on(settings.database.url):
        _progress(texts.CLI_WORKER_NEEDS_PG)
        return 2
    queues = [q.strip() for q in args.queues.split(",")] if args.queues else settings.queue.queues
    if not queues or not set(queues) <= {"notes", "asr"}:
        _progress(texts.CLI_WORKER_BAD_QUEUES.format(got=args.queues))
        return 2
    _progress(texts.CLI_WORKER_START.format(db=_safe_url(settings.database.url), queues=",".join(queues),
                                            n=settings.queue.concurrency))
    app = build_app(settings)
    add_enabled_channels(app, settings)  # replies go out from whichever box did the work
    if "asr" in queues:
        app.svc.transcriber().warm_up()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await app.work(queues, stop)

    asyncio.run(main())
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from bot.console import console_message, voice_problem
    from store import repos

    if problem := voice_problem(" ".join(args.text)):
        _progress(problem)
        return 2
    settings = _settings(args)
    from bot.app import build_app
    from bot.console import ConsoleChannel

    app = build_app(settings)
    app.add_channel(ConsoleChannel())
    user = app.svc.db.call(repos.find_user, args.as_user)
    if user is None:
        _progress(f"没有用户 {args.as_user}：先用 salesbot users add 添加（或加 --demo 使用演示数据）")
        return 2
    ids = app.svc.db.call(repos.identities_of, user.id)
    im_id = next((i.im_id for i in ids if i.channel == "console"), None)
    if im_id is None:
        _progress(f"用户 {args.as_user} 没有 console 账号：salesbot users add 时加 --console ID")
        return 2

    async def main() -> None:
        await app.start()
        await app.dispatcher.submit(console_message(im_id, " ".join(args.text), msg_id=args.msg_id))
        await app.stop()

    asyncio.run(main())
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from store.db import Database

    settings = _settings(args)
    db = Database(settings.database.url)
    if args.action == "backup":
        if not args.target:
            _progress("用法：salesbot db backup 备份文件.db（SQLite；PostgreSQL 用 pg_dump）")
            return 2
        db.backup(Path(args.target))
        db.dispose()
        print(f"已备份到 {args.target}（恢复：停止 salesbot，把备份文件复制为 database.url 指向的文件，再启动）")
        return 0
    if args.action == "upgrade":
        _progress(f"升级数据库结构：{_safe_url(settings.database.url)}")
        db.upgrade()
    print(f"当前版本：{db.current_revision()}（最新：{db.head_revision()}）")
    db.dispose()
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_users(args: argparse.Namespace) -> int:
    if args.action in ("add", "update", "import") and not args.name:
        _progress({"add": "用法：salesbot users add 姓名 --role rep|manager|admin [--manager 主管] [--wecom ID] …",
                   "update": "用法：salesbot users update 姓名 [--rename 新姓名] [--role …] [--manager 主管|-] "
                             "[--wecom ID|-] [--dingtalk ID|-] [--console ID|-]",
                   "import": "用法：salesbot users import 名单.xlsx|名单.csv（表头：姓名、角色、主管、企业微信、钉钉、控制台）"
                   }[args.action])
        return 2
    if args.action == "deactivate" and not args.name:
        _progress("用法：salesbot users deactivate NAME [--to 接手的同事]")
        return 2
    with _open_db(_settings(args)) as db:
        return _users(args, db)


def _users(args: argparse.Namespace, db: Database) -> int:
    from handlers import texts
    from store import repos
    from store import users as team

    spec = team.UserSpec(args.name or "", args.role, args.manager,
                         {c: v for c, v in (("console", args.console), ("wecom", args.wecom),
                                            ("dingtalk", args.dingtalk)) if v})
    try:
        if args.action == "add":
            print(f"已添加用户 #{db.call(lambda s: team.add(s, spec).id)} {args.name}")
        elif args.action == "update":
            changed = db.call(team.update, spec, args.rename)
            print(f"已修改 {args.name}：{'；'.join(changed)}" if changed else f"{args.name} 没有变化")
        elif args.action == "import":
            return _import_users(db, Path(args.name))
    except team.UserError as exc:
        _progress(str(exc))
        return 2
    if args.action == "deactivate":
        return _deactivate(args, db)
    elif args.action == "list":
        users = db.call(repos.list_users)
        if not users:
            print(texts.USER_EMPTY)
        names = {u.id: u.name for u in users}
        for u in users:
            ids = ", ".join(f"{i.channel}:{i.im_id}" for i in db.call(repos.identities_of, u.id))
            state = "" if u.active else "\t已停用"
            print(f"#{u.id}\t{u.name}\t{u.role}\t主管={names.get(u.manager_id or 0, '-')}\t{ids}{state}")
    return 0


def _import_users(db: Database, path: Path) -> int:
    """`users import FILE`: add or update the sheet's people; a bad row is listed, not fatal."""
    from store import users as team
    from store.importer import ImportError_

    if not path.is_file():
        _progress(f"找不到文件 {path}")
        return 2
    try:
        result = db.call(team.import_users, path)
    except ImportError_ as exc:
        _progress(str(exc))
        return 2
    print(f"新增 {len(result.added)} 人，修改 {len(result.updated)} 人，无变化 {result.unchanged} 人，"
          f"有问题 {len(result.errors)} 行")
    for line in result.updated + result.errors:
        print(f"  {line}")
    return 1 if result.errors else 0


def _deactivate(args: argparse.Namespace, db: Database) -> int:
    """`users deactivate NAME [--to NAME]`: the leaver gets no more alerts; customers, open deals
    and to-dos pass to a colleague (or the customers to the public pool); the manager is told."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from handlers import texts
    from store import alerts, repos

    def work(s: Session) -> str | None:
        user = repos.find_user(s, args.name or "")
        to = repos.find_user(s, args.to) if args.to else None
        if user is None or (args.to and (to is None or to.id == user.id)):
            return None
        now = datetime.now(UTC)
        done = repos.deactivate_user(s, user, to, now)
        text = texts.departure_text(done)
        if done.manager_id is not None:
            alerts.enqueue_many(s, [{"dedupe_key": f"left:{user.id}", "rule": "message",
                                     "recipient_id": done.manager_id, "status": "pending", "attempts": 0,
                                     "body": {"title": texts.USER_LEFT_TITLE, "line": text},
                                     "next_attempt_at": now, "created_at": now}])
        return text

    text = db.call(work)
    if text is None:
        missing = args.name if db.call(repos.find_user, args.name or "") is None else args.to
        _progress(texts.USER_NOT_FOUND.format(name=missing))
        return 2
    print(text)
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _open_db(settings) as db:
        if args.action == "unmerge":
            return _unmerge(settings, db, args.merge_id)
        return _merge(settings, db, args.keep, args.drop, args.yes)


def _merge(settings: Settings, db: Database, keep: int, drop: int, yes: bool) -> int:
    """Show both customers, ask (or take --yes), then merge and record it so it can be undone."""
    from datetime import UTC, datetime

    from handlers import texts
    from store import repos

    try:
        preview = db.call(repos.merge_preview, keep, drop)
    except ValueError:
        _progress(texts.CLI_MERGE_REFUSED.format(why=texts.CLI_MERGE_BAD.format(keep=keep, drop=drop)))
        return 2
    print(texts.merge_cards(preview), flush=True)
    if not yes:
        if not sys.stdin.isatty():
            _progress(texts.CLI_MERGE_NEEDS_YES.format(keep=keep, drop=drop))
            return 2
        print(texts.CLI_MERGE_QUESTION, end="", flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes", "是", "确认"):
            print(texts.CLI_MERGE_DECLINED)
            return 1
    now = datetime.now(UTC)

    def work(s):  # type: ignore[no-untyped-def]
        return repos.carry_out_merge(s, repos.request_merge(s, keep, drop, None, None, now), None, now)

    try:
        r = db.call(work)
    except ValueError:  # changed between the question and the answer
        _progress(texts.CLI_MERGE_REFUSED.format(why=texts.CLI_MERGE_BAD.format(keep=keep, drop=drop)))
        return 2
    print(texts.MERGED.format(keep=r.keep.name, drop=r.drop.name, deals=r.deals, contacts=r.contacts,
                              followups=r.followups, items=r.items)
          + texts.CLI_MERGED_UNDO_HINT.format(id=r.merge_id, days=settings.app.merge_undo_days))
    return 0


def _unmerge(settings: Settings, db: Database, merge_id: int | None) -> int:
    """Undo a merge (default: the newest one) within `app.merge_undo_days`."""
    from datetime import UTC, datetime

    from handlers import texts
    from handlers.commands import undo_merge
    from store import repos
    from store.models import CustomerMerge

    def work(s):  # type: ignore[no-untyped-def]
        m = repos.latest_merge(s, None) if merge_id is None else s.get(CustomerMerge, merge_id)
        if m is None or m.status not in ("done", "undone"):
            return None
        return undo_merge(settings.app.merge_undo_days, s, m, None, None, datetime.now(UTC))

    outcome = db.call(work)
    if outcome is None:
        _progress(texts.CLI_NO_MERGE if merge_id is None else texts.CLI_MERGE_NOT_FOUND.format(id=merge_id))
        return 2
    if not outcome.undone:
        _progress(outcome.text)
        return 2
    print(outcome.text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from store.importer import (
        ImportError_,
        import_customers,
        summary_lines,
        terminal_progress,
        write_report,
    )

    settings = _settings(args)
    path = Path(args.file)
    if not path.is_file():
        _progress(f"找不到文件 {path}")
        return 2
    _progress(f"读取 {path} ……")
    try:
        with _open_db(settings) as db, Session(db.engine, expire_on_commit=False) as s:
            result = import_customers(s, path, args.dry_run, terminal_progress("查重"), args.update_owner)
            if args.dry_run:
                s.rollback()
            else:
                s.commit()
    except ImportError_ as exc:
        _progress(f"导入失败：{exc}")
        return 2
    report = write_report(result, Path(args.report) if args.report else path.with_suffix(".dedupe-report.csv"))
    for line in summary_lines(result):
        print(line)
    print(f"查重报告：{report}")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from handlers import texts
    from scheduler import jobs
    from store import repos

    settings = _settings(args)
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        _progress(f"--now 需要 ISO 时间，例如 2026-03-02T10:00:00+08:00，收到 {args.now!r}")
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.tz)
    names = tuple(args.rule) if args.rule else None
    when = now.astimezone(settings.tz).isoformat()
    with _open_db(settings) as db:
        if not args.dry_run:
            new = db.call(jobs.run_rules, settings, now, names)
            detail = "，".join(f"{rule} {n}" for rule, n in new.items())
            send_at = jobs.push_at(settings, now).astimezone(settings.tz).isoformat()
            print(f"新入队 {sum(new.values())} 条提醒（{detail}；已发过或已在队列的不再入队）@ {when}，"
                  f"{send_at} 起发送")
            print("查看：salesbot outbox")
            return 0
        plan = db.call(jobs.evaluate, settings, now, names)
        people = {u.id: u.name for u in db.call(repos.list_users)}
    for user_id, items in jobs.group_by_recipient(plan).items():
        # what the person receives: everything due at the push time merged into one message
        print(f"→ {people.get(user_id, f'用户 #{user_id}')}（{len(items)} 条提醒，合成一条消息）")
        digest = texts.render_digest([texts.alert_item(settings, p.rule, p.facts, now) for p in items])
        print("  " + digest.replace("\n", "\n  "))
    print(f"试运行：将产生 {len(plan)} 条提醒（含已在队列的）@ {when}")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from handlers import texts
    from store import alerts, repos

    settings = _settings(args)
    now = datetime.now(UTC)
    if args.replies:
        return _replies_outbox(settings, args)
    with _open_db(settings) as db:
        rows = db.call(alerts.notifications, args.status, None, None, args.limit)
        backlog = db.call(alerts.backlog)
        people = {u.id: u.name for u in db.call(repos.list_users)}
    for n in rows:
        err = f" · {n.last_error}" if n.last_error else ""
        line = texts.alert_text(settings, n.rule, n.body, n.sent_at or now)[1].split("\n")[0]
        who = people.get(n.recipient_id, f"#{n.recipient_id}")
        print(f"#{n.id}\t{n.status}\t{who}\t{texts.PUSH_RULES.get(n.rule, n.rule)}\t尝试 {n.attempts} 次\t"
              f"{n.dedupe_key}\t{line}{err}")
    counts = "，".join(f"{texts.PUSH_STATUS.get(k, k)} {n}" for k, n in sorted(backlog.items()))
    print(f"共 {len(rows)} 条；全部提醒：{counts or '无'}")
    return 0


def _replies_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """Answers to messages that are kept until delivered (pending ones are being retried)."""
    from store import replies

    with _open_db(settings) as db:
        rows = db.call(replies.listed, args.status, args.limit)
        waiting = db.call(replies.undelivered)
    for r in rows:
        err = f" · {r.last_error}" if r.last_error else ""
        first = (r.body.get("text") or "").strip().split("\n")[0][:40]
        print(f"#{r.id}	{r.status}	{r.channel}:{r.peer}	尝试 {r.attempts} 次	{first}{err}")
    print(f"共 {len(rows)} 条回复；待送达 {waiting} 条")
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    """One JSON line per audio file; errors are reported per file and the run goes on."""
    import json

    from speech import SpeechError, WhisperTranscriber

    settings = _settings(args)
    speech = settings.speech.model_copy(update={"model": args.model} if args.model else {})
    hotwords: list[str] = []
    if args.customers:
        from extraction.customers import load_customers_csv

        # as the bot for one rep whose book is the whole file: the prompt takes the first names (the
        # file's order), correction by sound all of them
        hotwords = [c.name for c in load_customers_csv(args.customers)]
    transcriber = WhisperTranscriber.from_settings(speech)
    for name in args.files:
        try:
            data = Path(name).read_bytes()
            t = transcriber.transcribe(data, Path(name).suffix.lstrip(".").lower() or None, hotwords)
            out = {"file": name, "text": t.text, "duration_s": round(t.duration_s, 2),
                   "elapsed_s": round(t.timings.get("transcribe_s", 0.0), 3), "model": t.model}
        except (OSError, SpeechError) as exc:
            out = {"file": name, "error": str(exc)}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0




def cmd_extract(args: argparse.Namespace) -> int:
    from extraction.cli import extract_main

    load_settings(args.config)  # the [calendar] override resolves holidays as in the bot
    return extract_main(args.customers, sys.stdin, sys.stdout)


def cmd_match(args: argparse.Namespace) -> int:
    from extraction.matchcli import match_main

    return match_main(args.customers, sys.stdin, sys.stdout)


_ARGPARSE_ERRORS = (  # argparse's own error messages, in the CLI's language
    (re.compile(r"unrecognized arguments: (.*)"), "不认识的参数：\\1"),
    (re.compile(r"the following arguments are required: (.*)"), "缺少参数：\\1"),
    (re.compile(r"argument (\S+): invalid choice: (\S+) \(choose from (.*)\)"), "参数 \\1 的值 \\2 不可用，可选：\\3"),
    (re.compile(r"argument (\S+): invalid (\w+) value: (\S+)"), "参数 \\1 的值 \\3 格式不对（需要 \\2）"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 \\1 后面需要一个值"),
    (re.compile(r"invalid choice: (\S+) \(choose from (.*)\)"), "没有命令 \\1，可用：\\2"),
)


class _Parser(argparse.ArgumentParser):
    """argparse speaking Chinese: usage, section titles, -h and errors (exit code 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title, self._optionals.title = "参数", "选项"
        self.add_argument("-h", "--help", action="help", help="显示帮助并退出")

    def format_usage(self) -> str:
        return super().format_usage().replace("usage: ", "用法：", 1)

    def format_help(self) -> str:
        return super().format_help().replace("usage: ", "用法：", 1)

    def error(self, message: str) -> NoReturn:
        for pattern, chinese in _ARGPARSE_ERRORS:
            message = pattern.sub(chinese, message)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：{message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="salesbot", description="销售助手：拜访记录 → 跟进记录")
    p.add_argument("--config", help="TOML 配置文件（默认：环境变量 SALESBOT_CONFIG，或内置默认值）")
    p.add_argument("--db", help="数据库 URL 或 SQLite 文件路径（覆盖 database.url）")
    sub = p.add_subparsers(dest="command", required=True, title="命令", metavar="命令")

    d = sub.add_parser("demo", help="用一个新的演示数据库开始对话")
    d.add_argument("--user", default="zhang", help="以哪个控制台账号开始（默认 zhang）")
    d.add_argument("--keep", action="store_true", help="保留已有的演示数据库")
    d.set_defaults(fn=cmd_demo)

    sv = sub.add_parser("serve", help="运行企业微信/钉钉渠道、定时提醒和 HTTP 接口（/healthz、/metrics）",
                        description="运行企业微信/钉钉渠道、定时提醒和 HTTP 接口。启动时检查各渠道凭据，"
                                    "没有启用任何渠道时会提示；监听地址见配置 [server]。")
    sv.set_defaults(fn=cmd_serve)

    wk = sub.add_parser("worker", help="只处理共享任务队列（PostgreSQL，多台机器）：例如 GPU 机器上 --queues asr 只转写语音")
    wk.add_argument("--queues", help="notes（文字消息和命令）、asr（语音）或 notes,asr；默认 queue.queues")
    wk.set_defaults(fn=cmd_worker)

    c = sub.add_parser("chat", help="在配置的数据库上对话")
    c.add_argument("--user", required=True, help="控制台账号或姓名")
    c.set_defaults(fn=cmd_chat)

    s = sub.add_parser("say", help="发一条消息并打印回复")
    s.add_argument("--as", dest="as_user", required=True, help="发消息的人：控制台账号或姓名")
    s.add_argument("--demo", action="store_true", help=f"用演示数据库（{DEMO_DB}）")
    s.add_argument("--msg-id", help="消息编号（同一个编号发两次算同一条消息）")
    s.add_argument("text", nargs="+", help="消息内容")
    s.set_defaults(fn=cmd_say)

    b = sub.add_parser("db", help="数据库：upgrade 升级结构，current 查看版本，backup 在线备份（SQLite）")
    b.add_argument("action", choices=["upgrade", "current", "backup"], help="upgrade | current | backup")
    b.add_argument("target", nargs="?", help="backup：备份文件路径（不能已存在）")
    b.set_defaults(fn=cmd_db)

    u = sub.add_parser("users", help="用户：添加、修改、批量导入、列出、停用（离职交接）")
    u.add_argument("action", choices=["add", "update", "import", "list", "deactivate"],
                   help="add | update | import | list | deactivate")
    u.add_argument("name", nargs="?", help="姓名（import：名单文件 .xlsx/.csv）")
    u.add_argument("--to", help="deactivate：接手客户、进行中的商机和待办的同事")
    u.add_argument("--rename", help="update：新姓名")
    u.add_argument("--role", help="角色：rep（销售，默认）、manager（主管）、admin（管理员）")
    u.add_argument("--manager", help="主管姓名（update 时 - 表示去掉主管）")
    u.add_argument("--console", help="控制台账号（update 时 - 表示去掉）")
    u.add_argument("--wecom", help="企业微信 UserID（update 时 - 表示去掉）")
    u.add_argument("--dingtalk", help="钉钉 userId（update 时 - 表示去掉）")
    u.set_defaults(fn=cmd_users)

    cu = sub.add_parser("customers", help="客户维护：合并重复客户、撤销合并")
    cu_sub = cu.add_subparsers(dest="action", required=True, title="操作", metavar="操作")
    mg = cu_sub.add_parser("merge", help="把客户 DROP 并入 KEEP（编号）：先显示两边再确认；DROP 的名称变成别名")
    mg.add_argument("keep", type=int, help="保留的客户编号")
    mg.add_argument("drop", type=int, help="并入的客户编号")
    mg.add_argument("--yes", action="store_true", help="不再询问（没有终端时必须加）")
    um = cu_sub.add_parser("unmerge", help="撤销一次合并（默认最近一次），在 app.merge_undo_days 天内")
    um.add_argument("merge_id", type=int, nargs="?", help="合并编号（merge 时打印）")
    cu.set_defaults(fn=cmd_customers)

    j = sub.add_parser("jobs", help="提醒规则：run-once 立即运行一次")
    j.add_argument("action", choices=["run-once"], help="run-once")
    j.add_argument("--now", help="按这个 ISO 时间计算（默认现在；不带时区按配置的时区）")
    j.add_argument("--dry-run", action="store_true", help="只打印每个人会收到的提醒，不入队")
    j.add_argument("--rule", action="append", choices=list(RULE_NAMES), help="只运行这条规则（可重复）")
    j.add_argument("--demo", action="store_true", help=f"用演示数据库（{DEMO_DB}）")
    j.set_defaults(fn=cmd_jobs)

    o = sub.add_parser("outbox", help="列出待发送、已发送和发送失败的提醒")
    o.add_argument("--status", choices=["pending", "sent", "dead"], help="只看这种状态")
    o.add_argument("--limit", type=int, default=100, help="最多列出多少条（默认 100）")
    o.add_argument("--replies", action="store_true", help="列出对消息的回复（送达失败的会重试），而不是提醒")
    o.set_defaults(fn=cmd_outbox)

    im = sub.add_parser("import", help="从 Excel/CSV 导入数据")
    im.add_argument("what", choices=["customers"], help="customers")
    im.add_argument("file", help=".xlsx 或 .csv，第一行是表头（客户名称、地区、负责人、联系人、电话、最后跟进）")
    im.add_argument("--dry-run", action="store_true", help="只检查并写报告，不改数据")
    im.add_argument("--report", help="查重报告写到哪里（默认 文件名.dedupe-report.csv）")
    im.add_argument("--update-owner", action="store_true", help="匹配到的已有客户改用文件里的负责人（默认只报告不同）")
    im.set_defaults(fn=cmd_import)

    tr = sub.add_parser("transcribe", help="离线转写音频文件（每个文件输出一行 JSON）")
    tr.add_argument("files", nargs="+", metavar="文件", help="音频文件")
    tr.add_argument("--customers", help="customers.csv：其中的客户名称用来提示模型")
    tr.add_argument("--model", help="faster-whisper 模型目录或名称（默认 speech.model）")
    tr.set_defaults(fn=cmd_transcribe)

    x = sub.add_parser("extract", help="标准输入每行一个 JSON 记录，输出抽取结果（不需要数据库）")
    x.add_argument("--customers", help="customers.csv：id,name,region,owner")
    x.set_defaults(fn=cmd_extract)

    m = sub.add_parser("match", help="标准输入每行一个客户名称（JSON），输出匹配结果")
    m.add_argument("--customers", required=True, help="customers.csv")
    m.set_defaults(fn=cmd_match)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except DatabaseError as exc:  # a path or schema the operator must fix; the message says how
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the output went to a pipe that closed early (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
