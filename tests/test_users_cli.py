"""`salesbot users add|update|import|list|deactivate`: duplicates refused, changes said, a sheet
imported idempotently (managers may come later in it), bad rows listed with their numbers."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main


def _db(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "team.db")]


def test_add_refuses_a_second_active_user_of_that_name_or_someone_elses_account(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path)
    assert main([*db, "users", "list"]) == 0
    assert "还没有用户" in capsys.readouterr().out  # an empty list says so
    assert main([*db, "users", "add", "王经理", "--role", "主管", "--wecom", "WangJ"]) == 0
    assert main([*db, "users", "add", "王经理"]) == 2
    assert "已经有用户 王经理（#1）" in capsys.readouterr().err
    assert main([*db, "users", "add", "张伟", "--wecom", "WangJ"]) == 2
    assert "企业微信账号 WangJ 已经属于 王经理" in capsys.readouterr().err
    assert main([*db, "users", "add", "张伟", "--role", "boss"]) == 2
    assert "角色「boss」不认识" in capsys.readouterr().err
    assert main([*db, "users", "list"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # still one user


def test_update_changes_role_manager_and_accounts_and_says_what_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path)
    for argv in (["王经理", "--role", "manager"], ["张伟", "--manager", "王经理", "--wecom", "ZW", "--console", "zw"]):
        assert main([*db, "users", "add", *argv]) == 0
    capsys.readouterr()
    assert main([*db, "users", "update", "张伟", "--role", "manager", "--manager", "-", "--wecom", "ZW2",
                 "--console", "-", "--rename", "张伟伟"]) == 0
    said = capsys.readouterr().out
    for part in ("姓名 张伟 → 张伟伟", "角色 rep → manager", "主管 王经理 → 无", "企业微信账号 ZW → ZW2", "控制台账号 zw → 无"):
        assert part in said
    assert main([*db, "users", "update", "张伟伟", "--role", "manager"]) == 0
    assert "没有变化" in capsys.readouterr().out
    assert main([*db, "users", "update", "张伟伟", "--manager", "张伟伟"]) == 2
    assert "不能是自己的主管" in capsys.readouterr().err
    assert main([*db, "users", "list"]) == 0
    assert "#2\t张伟伟\tmanager\t主管=-\twecom:ZW2" in capsys.readouterr().out


def test_import_adds_and_updates_a_team_from_a_sheet_and_a_second_run_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path)
    assert main([*db, "users", "add", "张伟", "--wecom", "ZW"]) == 0
    sheet = tmp_path / "team.csv"
    sheet.write_text("姓名,角色,主管,企业微信,钉钉\n"
                     "李娜,销售,赵总,LiNa,\n"  # her manager comes later in the sheet
                     "赵总,主管,,ZhaoZ,\n"
                     "张伟,销售,赵总,ZW,zw-ding\n"  # already there: gains a manager and a DingTalk id
                     ",销售,,,\n"
                     "钱七,老板,,,\n"
                     "孙八,销售,,LiNa,\n", encoding="utf-8")  # someone else's account
    capsys.readouterr()
    assert main([*db, "users", "import", str(sheet)]) == 1  # some rows need fixing
    out = capsys.readouterr().out
    assert out.startswith("新增 2 人，修改 1 人，无变化 0 人，有问题 3 行")
    assert "张伟：钉钉账号 无 → zw-ding；主管 无 → 赵总" in out
    assert "第 5 行：姓名为空" in out and "第 6 行：角色「老板」不认识" in out and "第 7 行：企业微信账号 LiNa 已经属于 李娜" in out
    assert main([*db, "users", "import", str(sheet)]) == 1
    assert capsys.readouterr().out.startswith("新增 0 人，修改 0 人，无变化 3 人，有问题 3 行")
    assert main([*db, "users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "李娜\trep\t主管=赵总\twecom:LiNa" in listing and "赵总\tmanager\t主管=-" in listing
    assert main([*db, "users", "import", str(tmp_path / "none.xlsx")]) == 2
    assert "找不到文件" in capsys.readouterr().err
