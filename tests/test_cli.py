"""The command line as a script uses it: `salesbot say`, `users`, `db`."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from store.db import Database


def test_say_records_a_note_that_query_then_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SALESBOT_CONFIG", raising=False)
    assert main(["say", "--demo", "--as", "zhang", "今天去无锡宏远见了李厂长，预算大概四十万，下周二我过去量尺寸"]) == 0
    out = capsys.readouterr().out
    assert "已记录" in out and "无锡宏远数控设备有限公司" in out and "40万" in out
    assert (tmp_path / "salesbot-demo.db").exists()
    assert main(["say", "--demo", "--as", "张伟", "查 宏远"]) == 0  # by display name too
    card = capsys.readouterr().out
    assert "下周二我过去量尺寸" in card and "量尺寸" in card.split("未完成待办")[1]
    assert main(["say", "--demo", "--as", "li", "查 宏远"]) == 0
    assert "不是你负责的客户" in capsys.readouterr().out
    assert main(["say", "--demo", "--as", "nobody", "帮助"]) == 2


def test_users_and_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "prod.db")
    assert main(["--db", db, "db", "upgrade"]) == 0
    head = Database(f"sqlite:///{db}").head_revision()
    assert f"当前版本：{head}（最新：{head}）" in capsys.readouterr().out
    assert main(["--db", db, "users", "add", "王经理", "--role", "manager", "--console", "wang"]) == 0
    assert main(["--db", db, "users", "add", "张伟", "--manager", "王经理", "--console", "zhang",
                 "--wecom", "ZhangWei"]) == 0
    assert main(["--db", db, "users", "add", "某人", "--manager", "不存在"]) == 2
    capsys.readouterr()
    assert main(["--db", db, "users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "wecom:ZhangWei" in listing and "主管=王经理" in listing
    assert main(["--db", db, "say", "--as", "zhang", "我的商机"]) == 0
    assert "没有进行中的商机" in capsys.readouterr().out
    assert main(["--db", db, "say", "--as", "zhang", "新建客户 北京华信科技有限公司"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "say", "--as", "zhang", "新建客户 华信信息技术服务中心"]) == 0
    assert "相似的客户「北京华信科技有限公司」" in capsys.readouterr().out  # asked before a near-duplicate
    assert main(["--db", db, "say", "--as", "zhang", "新建客户 华信信息技术服务中心 确认"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "customers", "merge", "1", "2", "--yes"]) == 0
    assert "已把「华信信息技术服务中心」并入「北京华信科技有限公司」" in capsys.readouterr().out
    assert main(["--db", db, "customers", "merge", "1", "2", "--yes"]) == 2


def test_bad_config_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SALESBOT_ALERTS_STALE_DEAL_REP_DAYS", "soon")
    assert main(["--db", str(tmp_path / "x.db"), "db", "current"]) == 2
    assert "alerts.stale_deal_rep_days" in capsys.readouterr().err


def test_demo_is_an_interactive_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("我的商机\n回款\n/as wang\n团队\n/quit\n"))
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "演示数据" in out
    assert "苏州恒达精密机械有限公司 · 方案报价" in out  # zhang's deals
    assert "已逾期30天" in out  # the overdue contract
    assert "团队商机概况" in out and "李娜" in out  # as the manager
    # A second start resets the demo database.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["demo"]) == 0
