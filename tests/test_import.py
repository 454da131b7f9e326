"""Customer import from xlsx/csv: validation, dedupe in the file and against the database, reruns."""
from __future__ import annotations

import csv
import re
import zipfile
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


# ---------------------------------------------------------------- phones, owners, names

BRANDS = ["青松", "白鹭", "金桥", "远航", "明珠", "银河", "海燕", "星火", "春雷", "朝阳", "翠竹", "红枫",
          "蓝天", "紫荆", "长风", "泰山", "黄鹤"]
PHONE_FORMS = [  # (as typed in the file, as stored)
    ("13912345678.0", "13912345678"),                      # Excel float saved as text
    ("1.3712345678E10", "13712345678"),                    # Excel scientific display
    ("1.3612345678e+10", "13612345678"),
    ("１３５１２３４５６７８", "13512345678"),              # full width
    ("135 0000 1111", "13500001111"),
    ("150-1111-2222", "15011112222"),
    ("151.2222.3333", "15122223333"),
    ("(0512) 6677 8899", "051266778899"),
    ("+86 152 3333 4444", "15233334444"),
    ("0086 15344445555", "15344445555"),
    ("+86 10 6655 7788", "01066557788"),                   # landline abroad: trunk 0 restored
    ("010-66557788 转 12", "01066557788-12"),
    ("010-66557788 Ext 3", "01066557788-3"),
    ("010-66557788x4", "01066557788-4"),
    ("010-66557788分机5", "01066557788-5"),
    ("021-5777-1234-8", "02157771234-8"),
    ("13912340000／021-57771234；13812340000、0512-66778899，13912340000",
     "13912340000 / 02157771234 / 13812340000 / 051266778899"),
]
BAD_PHONE = "电话「{}」无法识别（手机11位，座机需带区号），未导入电话"


def _csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _phones(db: Database) -> dict[str, str | None]:
    return db.call(lambda s: {c.name: c.phone for c in s.exec(select(Contact))})


def _report(path: Path) -> dict[int, dict[str, str]]:
    return {int(r["row"]): r for r in csv.DictReader(path.open(encoding="utf-8-sig"))}


def test_phone_forms_are_normalized(db: Database, tmp_path: Path) -> None:
    rows: list[tuple[str, ...]] = [("客户名称", "地区", "负责人", "联系人", "电话")]
    rows += [(f"{BRANDS[i]}科技有限公司", "苏州", "张伟", f"联系人{i}", typed)
             for i, (typed, _) in enumerate(PHONE_FORMS)]
    result = db.call(import_customers, _csv(tmp_path / "phones.csv", rows))
    assert result.created == len(PHONE_FORMS) and not any(r.notes for r in result.rows)
    assert _phones(db) == {f"联系人{i}": stored for i, (_, stored) in enumerate(PHONE_FORMS)}


def test_excel_number_cells_keep_their_digits(db: Database, tmp_path: Path) -> None:
    """A phone typed into a number cell comes back from openpyxl as a float (1.3912345678E10)."""
    path = _xlsx(tmp_path / "num.xlsx", [("客户名称", "联系人", "电话"), ("青松科技有限公司", "王总", "PHONE")])
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<c r="C2" t="inlineStr"><is><t>PHONE</t></is></c>',
                          b'<c r="C2" t="n"><v>1.3912345678E10</v></c>', parts[sheet])
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    db.call(import_customers, path)
    assert _phones(db) == {"王总": "13912345678"}


def test_bad_phones_are_reported_with_row_numbers_and_not_stored(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path / "bad.csv", [
        ("客户名称", "负责人", "联系人", "电话"),
        ("青松科技有限公司", "张伟", "王总", "12345"),
        ("白鹭科技有限公司", "张伟", "李工", "2158881234"),            # landline that lost its 0 in Excel
        ("金桥科技有限公司", "张伟", "赵经理", "1.39123E+10"),       # Excel kept only 6 digits
        ("远航科技有限公司", "张伟", "钱总", "13900001111 / 555"),   # one good, one bad
        ("明珠科技有限公司", "张伟", "孙工", "13900002222-8"),       # a mobile has no extension
    ])
    assert main(["--db", db.url, "import", "customers", str(path)]) == 0
    out = capsys.readouterr().out
    for row, typed in ((2, "12345"), (3, "2158881234"), (4, "1.39123E+10"), (5, "555"), (6, "13900002222-8")):
        assert f"第 {row} 行：{BAD_PHONE.format(typed)}" in out
        assert BAD_PHONE.format(typed) in _report(path.with_suffix(".dedupe-report.csv"))[row]["messages"]
    assert len(_customers(db)) == 5  # the rows are imported all the same
    assert _phones(db) == {"王总": None, "李工": None, "赵经理": None, "钱总": "13900001111", "孙工": None}


def _owned(db: Database) -> dict[str, str | None]:
    def read(s: object) -> dict[str, str | None]:
        users = {u.id: u.name for u in repos.list_users(s)}  # type: ignore[arg-type]
        return {c.name: users.get(c.owner_id) for c in s.exec(select(Customer))}  # type: ignore[attr-defined]
    return db.call(read)


def _owner_file(db: Database, tmp_path: Path) -> Path:
    """Two customers in the CRM (one owned by 张伟, one in the public pool); the file says 李娜."""
    zhang = db.call(lambda s: repos.find_user(s, "张伟").id)  # type: ignore[union-attr]
    db.call(lambda s: repos.add_customer(s, "青松科技有限公司", "青松科技有限公司", zhang, "苏州"))
    db.call(lambda s: repos.add_customer(s, "白鹭科技有限公司", "白鹭科技有限公司", None, "苏州"))
    return _csv(tmp_path / "owners.csv", [("客户名称", "负责人"), ("青松科技有限公司", "李娜"),
                                          ("白鹭科技有限公司", "李娜")])


def test_owner_difference_is_reported_and_not_applied(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _owner_file(db, tmp_path)
    assert main(["--db", db.url, "import", "customers", str(path)]) == 0
    out = capsys.readouterr().out
    line = "第 2 行：负责人不同：文件为「李娜」，系统为「张伟」（未修改；加 --update-owner 才按文件修改）"
    assert line in out
    assert "第 3 行：负责人不同：文件为「李娜」，系统为公海（无负责人）（未修改" in out
    assert line.split("：", 1)[1] in _report(path.with_suffix(".dedupe-report.csv"))[2]["messages"]
    assert _owned(db) == {"青松科技有限公司": "张伟", "白鹭科技有限公司": None}


def test_owner_difference_is_applied_with_update_owner_but_never_on_dry_run(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _owner_file(db, tmp_path)
    args = ["--db", db.url, "import", "customers", str(path), "--update-owner"]
    assert main([*args, "--dry-run"]) == 0
    assert "第 2 行：负责人不同：文件为「李娜」，系统为「张伟」（试运行：将按文件改为「李娜」）" in capsys.readouterr().out
    assert _owned(db) == {"青松科技有限公司": "张伟", "白鹭科技有限公司": None}

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "第 2 行：负责人不同：文件为「李娜」，系统为「张伟」（已按文件改为「李娜」）" in out
    assert "第 3 行：负责人不同：文件为「李娜」，系统为公海（无负责人）（已按文件改为「李娜」）" in out
    assert _owned(db) == {"青松科技有限公司": "李娜", "白鹭科技有限公司": "李娜"}

    assert main(args) == 0  # nothing left to change
    out = capsys.readouterr().out
    assert "负责人不同" not in out and "更新 0 个，无变化 2 个" in out


def test_unknown_owners_are_listed_on_screen_by_name(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db.call(lambda s: repos.add_customer(s, "紫荆科技有限公司", "紫荆科技有限公司", None, "苏州"))
    path = _csv(tmp_path / "unknown.csv", [
        ("客户名称", "负责人"), ("青松科技有限公司", "王五"), ("白鹭科技有限公司", "赵六"),
        ("金桥科技有限公司", "王五"), ("远航科技有限公司", "张伟"), ("明珠科技有限公司", "王五"),
        ("紫荆科技有限公司", "王五"),
    ])
    assert main(["--db", db.url, "import", "customers", str(path)]) == 0
    out = capsys.readouterr().out
    assert "负责人「王五」不是系统用户：第 2、4、6 行（客户放入公海）" in out
    assert "负责人「赵六」不是系统用户：第 3 行（客户放入公海）" in out
    assert "负责人「王五」不是系统用户：第 7 行（负责人未修改）" in out  # an existing customer keeps its owner


def test_screen_lists_at_most_twenty_rows_per_kind(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[tuple[str, ...]] = [("客户名称", "联系人", "电话")]
    rows += [("青松科技有限公司", f"联系人{i}", "123") for i in range(30)]
    path = _csv(tmp_path / "many.csv", rows)
    assert main(["--db", db.url, "import", "customers", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "第 21 行：电话「123」" in out and "第 22 行：" not in out
    assert "……另有 10 行，见查重报告" in out
    assert len(_report(path.with_suffix(".dedupe-report.csv"))) == 30


def test_traditional_and_full_width_names_are_stored_canonical(db: Database, tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "names.xlsx", [
        ("客户名称", "地区"), ("蘇州恆達精密機械有限公司", "苏州"), ("深圳Ａｂｃ電子　 有限公司", "深圳"),
        ("杭州云帆科技有限公司", "杭州"),
    ])
    result = db.call(import_customers, path)
    by_name = {c.name: c for c in _customers(db)}
    assert set(by_name) == {"苏州恒达精密机械有限公司", "深圳Abc电子 有限公司", "杭州云帆科技有限公司"}
    assert by_name["苏州恒达精密机械有限公司"].aliases == ["蘇州恆達精密機械有限公司"]
    assert by_name["深圳Abc电子 有限公司"].aliases == ["深圳Ａｂｃ電子　 有限公司"]
    assert by_name["杭州云帆科技有限公司"].aliases == []
    assert result.rows[0].matched == "苏州恒达精密机械有限公司"

    again = db.call(import_customers, path)  # the file's spellings still match: nothing changes
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert {c.name: c.aliases for c in _customers(db)} == {n: c.aliases for n, c in by_name.items()}


def test_same_brand_and_city_in_another_business_waits_for_review_and_is_never_folded(
        db: Database, tmp_path: Path) -> None:
    db.call(lambda s: repos.add_customer(s, "无锡盛和精密机械有限公司", "x", 1, "无锡"))
    path = _csv(tmp_path / "sister.csv", [("客户名称", "地区"), ("无锡盛和自动化有限公司", "无锡"),
                                          ("无锡盛和物流有限公司", "无锡"), ("盛和精机", "无锡")])
    result = db.call(import_customers, path)
    decisions = {r.name: r.decision for r in result.rows}
    assert decisions["无锡盛和自动化有限公司"] == "review"  # a related business: maybe a sister company
    assert decisions["无锡盛和物流有限公司"] == "review"  # unrelated, but the same brand and city: asked
    assert decisions["盛和精机"] in ("existing_updated", "unchanged")  # a short form of the same business
    names = [c.name for c in _customers(db)]
    assert names == ["无锡盛和精密机械有限公司"]
    assert "无锡盛和自动化有限公司" not in _customers(db)[0].aliases
