"""Customer import from xlsx/csv: validation, dedupe in the file and against the database, reruns."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.__main__ import main
from store import repos
from store.db import Database
from store.importer import ImportError_, import_customers
from store.models import Contact, Customer

ROWS = [
    ("客户名称", "地区", "负责人", "联系人", "电话"),
    ("苏州恒达精密机械有限公司", "苏州", "张伟", "王总", "13800000001"),
    ("苏州恒达精密机械", "苏州", "张伟", "采购李工", ""),          # same company, suffix missing
    ("蘇州恆達精密機械有限公司", "苏州", "张伟", "", ""),          # same, Traditional
    ("无锡恒达精密机械有限公司", "无锡", "张伟", "", ""),          # same brand, other city: different
    ("北京华信科技有限公司", "北京", "李娜", "赵经理", ""),
    ("北京华信科技", "北京", "李娜", "", ""),                       # duplicate of the row above
    ("北京华新科技有限公司", "北京", "李娜", "", ""),              # near-name, really different
    ("", "上海", "张伟", "", ""),                                  # bad: no name
    ("😀", "上海", "张伟", "", ""),                                # bad: garbage name
    ("宁波锦泰液压设备有限公司", "宁波", "不存在的人", "", ""),    # unknown owner: imported unowned
]


def _xlsx(path: Path, rows: list[tuple[str, ...]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = Database(f"sqlite:///{tmp_path / 'crm.db'}")
    d.ensure_schema()
    d.call(lambda s: (repos.add_user(s, "张伟", identities={"console": "zhang"}), repos.add_user(s, "李娜")))
    yield d
    d.dispose()


def _customers(db: Database) -> list[Customer]:
    return db.call(lambda s: list(s.exec(select(Customer).order_by(Customer.id))))


def test_xlsx_with_duplicates_imports_cleanly_and_rerun_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "客户.xlsx", ROWS)
    result = db.call(import_customers, path)
    names = [c.name for c in _customers(db)]
    assert sorted(names) == sorted([
        "苏州恒达精密机械有限公司", "无锡恒达精密机械有限公司", "北京华信科技有限公司",
        "北京华新科技有限公司", "宁波锦泰液压设备有限公司"])
    by_row = {r.number: r for r in result.rows}
    assert by_row[3].decision == "duplicate_in_file" and by_row[4].decision == "duplicate_in_file"
    assert by_row[3].customer_id == by_row[2].customer_id == by_row[4].customer_id
    assert by_row[5].customer_id != by_row[2].customer_id  # 无锡 is another company
    assert by_row[7].customer_id == by_row[6].customer_id
    assert by_row[8].customer_id != by_row[6].customer_id  # 华新 is not 华信
    assert by_row[9].decision == "error" and "为空" in by_row[9].errors[0]
    assert by_row[10].decision == "error"
    assert "公海" in by_row[11].warnings[0]
    hengda = next(c for c in _customers(db) if c.name == "苏州恒达精密机械有限公司")
    assert "苏州恒达精密机械" in hengda.aliases and hengda.region == "苏州"
    contacts = db.call(lambda s: {c.name for c in s.exec(select(Contact).where(Contact.customer_id == hengda.id))})
    assert contacts == {"王总", "采购李工"}
    assert (result.created, result.errors) == (5, 2)

    again = db.call(import_customers, path)
    assert len(_customers(db)) == 5
    assert again.created == 0 and again.updated == 0 and again.unchanged == 5
    assert {r.decision for r in again.rows if not r.errors} == {"unchanged"}


def test_rows_matching_existing_customers_are_merged_into_them(db: Database, tmp_path: Path) -> None:
    db.call(lambda s: repos.add_customer(s, "苏州恒达精密机械有限公司", "x", 1, "苏州"))
    path = tmp_path / "more.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([("公司名称", "区域", "销售", "联系人"), ("横达精密机械", "苏州", "张伟", "刘工"),
                                 ("杭州云帆科技有限公司", "杭州", "张伟", "")])
    result = db.call(import_customers, path)
    assert result.created == 1 and result.updated == 1
    assert [c.name for c in _customers(db)] == ["苏州恒达精密机械有限公司", "杭州云帆科技有限公司"]
    assert "横达精密机械" in _customers(db)[0].aliases  # the ASR-style spelling now matches directly


def test_dry_run_and_cli_report(db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _xlsx(tmp_path / "list.xlsx", ROWS)
    url = db.url
    assert main(["--db", url, "import", "customers", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and "第 9 行" in out and "第 10 行" in out
    assert _customers(db) == []
    report = path.with_suffix(".dedupe-report.csv")
    lines = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert len(lines) == len(ROWS) - 1 and {"row", "decision", "score", "cluster"} <= set(lines[0])
    assert main(["--db", url, "import", "customers", str(path)]) == 0
    assert len(_customers(db)) == 5


def test_unreadable_files_are_explained(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ImportError_, match="无法读取 Excel"):
        db.call(import_customers, bad)
    no_name = _xlsx(tmp_path / "y.xlsx", [("地区", "电话"), ("苏州", "1")])
    with pytest.raises(ImportError_, match="找不到客户名称列"):
        db.call(import_customers, no_name)
    with pytest.raises(ImportError_, match="不支持"):
        db.call(import_customers, tmp_path / "z.txt")
