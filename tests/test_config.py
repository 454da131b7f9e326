"""Settings: defaults, TOML, SALESBOT_* overrides, and errors that name the key."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_file() -> None:
    s = load_settings(env={})
    assert s.database.url.startswith("sqlite:///")
    assert s.app.timezone == "Asia/Shanghai"
    assert s.pipeline.stages[-2:] == ["won", "lost"]
    assert s.wecom.secret == "" and s.dingtalk.client_secret == ""


def test_example_config_documents_every_setting_with_its_default() -> None:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    defaults = Settings().model_dump()
    for section, values in defaults.items():
        assert section in data, f"[{section}] missing from config.example.toml"
        for key, value in values.items():
            assert key in data[section], f"{section}.{key} missing from config.example.toml"
            assert data[section][key] == value, f"{section}.{key}: example differs from the default"


def test_toml_then_env_override(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[alerts]\nstale_deal_rep_days = 4\n[database]\nurl = "sqlite:///a.db"\n', encoding="utf-8")
    s = load_settings(cfg, env={"SALESBOT_DATABASE_URL": "sqlite:///b.db",
                                "SALESBOT_ALERTS_SILENT_CUSTOMER_DAYS": "[7, 21]",
                                "SALESBOT_WECOM_SECRET": "12345"})
    assert s.alerts.stale_deal_rep_days == 4
    assert s.database.url == "sqlite:///b.db"
    assert s.alerts.silent_customer_days == [7, 21]
    assert s.wecom.secret == "12345"  # string settings stay strings


@pytest.mark.parametrize(
    ("env", "key", "expect"),
    [
        ({"SALESBOT_ALERTS_STALE_DEAL_REP_DAYS": "abc"}, "alerts.stale_deal_rep_days", "需要整数"),
        ({"SALESBOT_ALERTS_STALE_DEAL_REP_DAYS": "0"}, "alerts.stale_deal_rep_days", "不能小于 1"),
        ({"SALESBOT_ALERTS_RULES_CRON": "every day"}, "alerts.rules_cron", "crontab"),
        ({"SALESBOT_APP_TIMEZONE": "Mars/Base"}, "app.timezone", "IANA 时区名"),
        ({"SALESBOT_DATABASE_URL": "mysql://x"}, "database.url", "sqlite:///"),
        ({"SALESBOT_ALERTS_QUIET_HOURS": "late"}, "alerts.quiet_hours", "HH:MM-HH:MM"),
        ({"SALESBOT_ALERTS_SILENT_CUSTOMER_DAYS": "[30, 14]"}, "alerts.silent_customer_days", "从小到大"),
        ({"SALESBOT_ALERTS_STALE_DEAL_MANAGER_DAYS": "2"}, "alerts", "不能小于 stale_deal_rep_days"),
        ({"SALESBOT_MATCHING_ASK": "0.95"}, "matching", "ask 必须小于 auto_link"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], key: str, expect: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env=env)
    assert key in str(err.value) and expect in str(err.value)


def test_unknown_key_and_bad_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\nulr = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"database\.ulr：没有这个设置项"):
        load_settings(cfg, env={})
    cfg.write_text("[database\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="不是有效的 TOML"):
        load_settings(cfg, env={})
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_settings(tmp_path / "missing.toml", env={})


def test_pipeline_needs_labels_and_terminal_stages() -> None:
    with pytest.raises(ConfigError, match="必须包含 'lost'"):
        load_settings(env={"SALESBOT_PIPELINE_STAGES": '["lead", "won"]'})
    with pytest.raises(ConfigError, match="请给这些阶段起中文名：bidding"):
        load_settings(env={"SALESBOT_PIPELINE_STAGES": '["lead", "bidding", "won", "lost"]'})
