"""Typed settings from TOML plus SALESBOT_* environment overrides.

Every setting has a default, so the product runs with no config file at all. A bad value
stops start-up with a message that names the key and says what is expected.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extraction.holidays import (
    FIRST_YEAR,
    LAST_YEAR,
    NAME_ALIASES,
    STATUTORY,
    HolidayBlock,
    install_calendar,
)

ENV_PREFIX = "SALESBOT_"

DEFAULT_STAGES = ["lead", "contacted", "needs", "quote", "trial", "negotiation", "won", "lost"]
DEFAULT_STAGE_LABELS = {
    "lead": "线索",
    "contacted": "初步接触",
    "needs": "需求确认",
    "quote": "方案报价",
    "trial": "试用验证",
    "negotiation": "商务谈判",
    "won": "赢单",
    "lost": "输单",
}


class ConfigError(Exception):
    """Raised with a message an operator can act on."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AppSettings(_Section):
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    undo_window_hours: int = Field(24, ge=1)  # 撤销 without a number reaches back this far
    merge_confirm_minutes: int = Field(30, ge=1, le=1440)  # a shown 合并客户 waits this long for 确认合并
    merge_undo_days: int = Field(7, ge=1, le=365)  # 撤销合并 can take a merge back this long after it

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("需要 IANA 时区名，例如 Asia/Shanghai") from exc
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("只能是 DEBUG、INFO、WARNING、ERROR 之一")
        return v.upper()


class DatabaseSettings(_Section):
    url: str = "sqlite:///salesbot.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "postgresql")):
            raise ValueError("需要 SQLAlchemy URL：sqlite:///路径.db 或 postgresql+psycopg://用户:密码@主机/库名")
        return v


class PipelineSettings(_Section):
    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    labels: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_STAGE_LABELS))

    @model_validator(mode="after")
    def _check(self) -> PipelineSettings:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages：每个阶段只能出现一次")
        for required in ("won", "lost"):
            if required not in self.stages:
                raise ValueError(f"stages：必须包含 {required!r}")
        missing = [s for s in self.stages if s not in self.labels]
        if missing:
            raise ValueError(f"labels：请给这些阶段起中文名：{'、'.join(missing)}")
        return self


class AlertSettings(_Section):
    stale_deal_rep_days: int = Field(3, ge=1)  # working days without an update → the rep
    stale_deal_manager_days: int = Field(5, ge=1)  # → also the rep's manager
    silent_customer_days: list[int] = Field(default_factory=lambda: [15, 30])  # owner, then manager
    # A customer silent this many days goes back to the public pool by itself, its former owner and
    # their manager told (0: never; managers can still 释放客户 by hand).
    release_silent_days: int = Field(0, ge=0)
    unpaid_after_signing_days: int = Field(7, ge=1)  # signed, no payment at all → collection list
    collection_lead_days: int = Field(7, ge=0)  # … listed from this many days before the money is due
    quote_no_reply_hours: int = Field(48, ge=1)
    quiet_hours: str = "21:00-08:30"  # pushes inside this local window wait until it ends
    # Scheduled pushes queued before this local time go out together at it (one message per person
    # a day when the crons below run before it); queued later in a working day, they go at once.
    push_time: str = "09:00"
    working_days_only: bool = True  # pushes wait for the next working day (weekends, holidays)
    digest_cron: str = "30 8 * * *"  # to-dos due today/overdue (working days only)
    rules_cron: str = "30 8 * * *"  # stale deals, silent customers, payments, quotes
    funnel_cron: str = "30 8 * * mon"  # weekly funnel report to managers
    delivery_interval_seconds: int = Field(30, ge=1)
    max_attempts: int = Field(6, ge=1)  # then the push is marked dead
    retry_base_seconds: int = Field(60, ge=1)  # exponential backoff: base, 2×base, 4×base …
    # How long a delivery round holds the pushes it took (several boxes on one database): longer
    # than any send can take, or a slow send's pushes may be taken and sent again by another box.
    claim_seconds: int = Field(300, ge=10)

    @model_validator(mode="after")
    def _order(self) -> AlertSettings:
        if self.stale_deal_manager_days < self.stale_deal_rep_days:
            raise ValueError("stale_deal_manager_days 不能小于 stale_deal_rep_days")
        return self

    @field_validator("silent_customer_days")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if not v or any(d < 1 for d in v) or v != sorted(set(v)):
            raise ValueError("需要从小到大、不重复的正整数天数列表，例如 [15, 30]")
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        import re

        if v and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError('需要时间段 "HH:MM-HH:MM"，例如 "21:00-08:30"；不要免打扰写 ""')
        return v

    @field_validator("push_time")
    @classmethod
    def _push_time(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError('需要本地时间 "HH:MM"，例如 "09:00"')
        return v

    @field_validator("digest_cron", "rules_cron", "funnel_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError(f'需要 crontab 表达式 "分 时 日 月 星期"（{exc}）') from exc
        return v


class MatchingSettings(_Section):
    auto_link: float = Field(0.85, gt=0, le=1)
    ask: float = Field(0.6, gt=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> MatchingSettings:
        if self.ask >= self.auto_link:
            raise ValueError("ask 必须小于 auto_link")
        return self


class ExtractionSettings(_Section):
    # Company-wide competitor brands: found in every note wherever they are mentioned, on top of
    # those the extractor recognises by how they are talked about and those reps confirmed (改 竞品).
    competitors: list[str] = Field(default_factory=list)

    @field_validator("competitors")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        names = [x.strip() for x in v if x.strip()]
        if any(len(x) < 2 for x in names):
            raise ValueError("竞品名称至少两个字")
        return list(dict.fromkeys(names))


class HolidayBlockSettings(_Section):
    """One holiday's days off in one year, as the State Council's notice gives them."""

    name: str  # 元旦 春节 清明 劳动节 端午 中秋 国庆 (五一, 国庆节 … accepted)
    start: date  # first day off
    end: date  # last day off
    workdays: list[date] = Field(default_factory=list)  # weekend days worked instead (调休上班)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v.strip() not in NAME_ALIASES:
            raise ValueError(f"需要法定节假日名称：{'、'.join(STATUTORY)} 之一")
        return NAME_ALIASES[v.strip()]

    @model_validator(mode="after")
    def _check(self) -> HolidayBlockSettings:
        if not FIRST_YEAR <= self.start.year <= LAST_YEAR:
            raise ValueError(f"start：需要 {FIRST_YEAR}–{LAST_YEAR} 年之间的日期")
        if not 0 <= (self.end - self.start).days < 15:
            raise ValueError(f"{self.name}：end 不能早于 start，放假最多 15 天（写第一天和最后一天）")
        for d in self.workdays:
            if d.weekday() < 5 or self.start <= d <= self.end \
                    or abs(d - self.start) > timedelta(days=20):
                raise ValueError(f"{self.name}：workdays 里的 {d} 不是假期前后 20 天内的周六或周日"
                                 "（只写调休上班的周末）")
        return self


class CalendarSettings(_Section):
    # Holiday schedules for years the chinesecalendar package does not have yet (or corrections):
    # days named here win over the package for holidays, working days and alerts.
    holidays: list[HolidayBlockSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlap(self) -> CalendarSettings:
        blocks = sorted(self.holidays, key=lambda b: b.start)
        for a, b in zip(blocks, blocks[1:]):
            if b.start <= a.end:
                raise ValueError(f"holidays：{a.name}（{a.start}..{a.end}）和 {b.name}（{b.start}..{b.end}）"
                                 "重叠了；重叠的日子只写在其中一个里")
        return self

    def blocks(self) -> list[HolidayBlock]:
        return [HolidayBlock(b.name, b.start, b.end, tuple(b.workdays)) for b in self.holidays]


class WecomSettings(_Section):
    enabled: bool = False
    corp_id: str = ""
    agent_id: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    callback_path: str = "/wecom/callback"
    timestamp_window_s: int = Field(300, ge=10)
    max_body_bytes: int = Field(65536, ge=1024)


class DingtalkSettings(_Section):
    enabled: bool = False
    client_id: str = ""
    client_secret: str = ""
    robot_code: str = ""
    openapi_endpoint: str = "https://api.dingtalk.com"
    card_template_id: str = ""  # interactive card template for 确认/修改/撤销 buttons; "" = text replies
    # DingTalk's limits, kept by every box together: robot messages to one person or group a minute
    # (not published for app robots: 20, as for group robots) and calls per OpenAPI a second (20 on
    # the standard edition: 每应用每接口 QPS; raise it if the organisation bought more)
    sends_per_peer_per_minute: int = Field(20, ge=1)
    api_calls_per_second: int = Field(20, ge=1)


class SpeechSettings(_Section):
    model: str = "bundled:whisper-base"
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = Field(1, ge=1)
    workers: int = Field(2, ge=1)
    beam_size: int = Field(5, ge=1)
    queue_size: int = Field(8, ge=0)  # voice notes that may wait beyond the running ones
    max_duration_s: float = Field(120, gt=0)
    cache_dir: str = ""  # where the bundled model is assembled; "" = $SALESBOT_CACHE_DIR or ~/.cache/salesbot
    pool_mode: str = "thread"
    correct: bool = True  # rewrite misheard words toward the rep's CRM names and sales terms by sound

    @field_validator("pool_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("thread", "process"):
            raise ValueError('只能是 "thread"（默认）或 "process"')
        return v


class QueueSettings(_Section):
    """The shared work queue (PostgreSQL only; one SQLite box works in-process)."""

    # "auto": shared on PostgreSQL, in-process on SQLite; "local" keeps one PostgreSQL box in-process
    mode: str = Field("auto", pattern="^(auto|local|shared)$")
    queues: list[str] = Field(default_factory=lambda: ["notes", "asr"])  # what `serve` works on
    concurrency: int = Field(8, ge=1, le=256)  # jobs at once per process (different senders)
    poll_seconds: float = Field(0.2, gt=0, le=60)  # a sender's next message waits at most this
    stalled_seconds: int = Field(30, ge=5)  # a box silent this long is dead: others take its jobs
    # answers (the reply outbox): how long a box holds one it is sending, the retry backoff's
    # base, and when an answer that still cannot be delivered is given up ("dead")
    reply_claim_seconds: int = Field(60, ge=10)
    reply_retry_seconds: int = Field(15, ge=1)
    reply_give_up_hours: float = Field(24, gt=0)

    def shared_on(self, url: str) -> bool:
        """Whether messages go through the queue all boxes share (PostgreSQL only)."""
        postgres = url.startswith("postgresql")
        if self.mode == "shared" and not postgres:
            raise ConfigError("配置错误：queue.mode = \"shared\" 需要 PostgreSQL（database.url）")
        return postgres and self.mode != "local"

    @field_validator("queues")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        if not v or not set(v) <= {"notes", "asr"}:
            raise ValueError('需要非空列表，元素是 "notes"（文字和命令）或 "asr"（语音）')
        return v


class ServerSettings(_Section):
    # this machine only unless the config says otherwise (a reverse proxy in front, docs/deployment.md)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # several `serve` processes on one box share the port (SO_REUSEPORT; PostgreSQL only: on
    # SQLite a second process on the same file is a mistake this would hide)
    reuse_port: bool = False


class Settings(_Section):
    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    extraction: ExtractionSettings = Field(default_factory=ExtractionSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    wecom: WecomSettings = Field(default_factory=WecomSettings)
    dingtalk: DingtalkSettings = Field(default_factory=DingtalkSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)

    @model_validator(mode="after")
    def _one_process_per_sqlite_file(self) -> Settings:
        if self.server.reuse_port and self.database.url.startswith("sqlite"):
            raise ValueError("server.reuse_port：多个进程需要 PostgreSQL（database.url）；"
                             "一个 SQLite 文件只能由一个 serve 进程使用")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.app.timezone)

    def stage_label(self, key: str | None) -> str:
        if key is None:
            return "未判断"
        return self.pipeline.labels.get(key, key)


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Map SALESBOT_<SECTION>_<KEY> variables onto the settings tree."""
    out: dict[str, dict[str, Any]] = {}
    for section, sfield in Settings.model_fields.items():
        model = sfield.default_factory  # type: ignore[assignment]
        for key, kfield in model.model_fields.items():  # type: ignore[union-attr]
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name not in env:
                continue
            raw = env[name]
            value: Any = raw
            if kfield.annotation is not str:
                try:
                    value = tomllib.loads(f"v = {raw}")["v"]
                except tomllib.TOMLDecodeError:
                    value = raw
            out.setdefault(section, {})[key] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in extra.items():
        target = merged.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"配置错误：[{section}] 必须是一个表")
        target.update(values)
    return merged


# pydantic's error types in the CLI's language (our own validators already speak Chinese)
_PYDANTIC_ERRORS = {
    "extra_forbidden": "没有这个设置项（请对照 config.example.toml 检查拼写）",
    "int_parsing": "需要整数", "int_from_float": "需要整数", "float_parsing": "需要数字",
    "bool_parsing": "需要 true 或 false", "string_type": "需要字符串", "list_type": "需要列表，例如 [1, 2]",
    "dict_type": "需要表，例如 {键 = \"值\"}", "date_from_datetime_parsing": "需要日期，例如 2027-01-01",
    "date_parsing": "需要日期，例如 2027-01-01", "missing": "缺少这个设置",
    "greater_than_equal": "不能小于 {ge}", "greater_than": "必须大于 {gt}", "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
}


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "（顶层）"
        known = _PYDANTIC_ERRORS.get(e["type"])
        msg = known.format(**e.get("ctx", {})) if known else e["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}：{msg}（收到 {e.get('input')!r}）")
    return "配置错误：\n" + "\n".join(lines)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load settings: defaults < TOML file < SALESBOT_* environment variables."""
    env = os.environ if env is None else env
    path = path or env.get(f"{ENV_PREFIX}CONFIG")
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"配置错误：找不到配置文件 {p}（可以复制 config.example.toml 开始）")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"配置错误：{p} 不是有效的 TOML：{exc}") from exc
    data = _merge(data, _env_overrides(env))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    install_calendar(settings.calendar.blocks())  # one calendar for notes, alerts and digests
    return settings
