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


def test_bad_database_paths_are_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    cases = [(f"{a_file}/x.db", "是文件，不是目录"), (str(tmp_path / "no" / "dir" / "x.db"), "不存在：请先创建它"),
             (str(tmp_path), "是一个目录：请给出文件名"), ("/proc/nope/y.db", "不存在")]
    for path, why in cases:
        assert main(["--db", path, "users", "list"]) == 2
        err = capsys.readouterr().err
        assert why in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()  # nothing created behind the operator's back


def test_the_command_line_speaks_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import RULE_NAMES
    from scheduler import jobs

    with pytest.raises(SystemExit) as stop:
        main(["serve", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：salesbot serve") and "显示帮助并退出" in out and "凭据" in out
    for argv, said in ((["outbox", "--bogus"], "不认识的参数：--bogus"), (["users"], "缺少参数：action"),
                       (["outbox", "--limit", "x"], "参数 --limit 的值 'x' 格式不对"), (["nope"], "参数 命令 的值 'nope' 不可用")):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2 and said in capsys.readouterr().err
    assert set(RULE_NAMES) == set(jobs.RULES)


def test_voice_and_as_without_what_they_need_say_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from bot.console import repl

    monkeypatch.chdir(tmp_path)
    assert main(["say", "--demo", "--as", "zhang", "/voice nonexist.amr"]) == 2
    assert "找不到音频文件 nonexist.amr" in capsys.readouterr().err
    assert main(["say", "--demo", "--as", "zhang", "/voice"]) == 2
    assert "用法：/voice 音频文件路径" in capsys.readouterr().err
    sent: list[object] = []

    async def submit(msg: object) -> bool:
        sent.append(msg)
        return True

    async def drain() -> None:
        return None

    import asyncio
    asyncio.run(repl(submit, drain, "zhang", lambda name: name == "li",
                     io.StringIO("/as\n/as nobody\n/voice\n/voice nonexist.amr\n/as li\n/quit\n")))
    out = capsys.readouterr().out
    assert "用法：/as 用户名" in out and "没有用户 nobody" in out and "用法：/voice" in out
    assert "找不到音频文件 nonexist.amr" in out and "li> " in out and sent == []


def test_outbox_counts_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "o.db"), "outbox"]) == 0
    assert "共 0 条；全部提醒：无" in capsys.readouterr().out


def test_db_backup_copies_a_live_database_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(tmp_path / "live.db")]
    assert main([*db, "users", "add", "王经理", "--role", "manager"]) == 0
    target = tmp_path / "copy.db"
    assert main([*db, "db", "backup", str(target)]) == 0
    assert "已备份到" in capsys.readouterr().out
    assert main(["--db", str(target), "users", "list"]) == 0
    assert "王经理" in capsys.readouterr().out  # the copy opens and has the data
    assert main([*db, "db", "backup", str(target)]) == 2
    assert "已经存在" in capsys.readouterr().err
    assert main([*db, "db", "backup"]) == 2
