"""Customer import from Excel/CSV without duplicates.

Rows are validated (bad rows reported with their row numbers, never dropped silently), clustered
with the customer matcher inside the file and against the database, and written in one
transaction. Every row gets a decision in a dedupe report; re-running the same file changes nothing.
Uncertain matches are not guessed: they are reported for review and not imported.
Phones are normalized (Excel number forms, full width, +86, extensions; several per cell) and a
number that is not a valid mobile or landline is reported and not stored. A matched customer's
owner is only changed on request (`update_owner`); otherwise a differing owner is reported.
"""
from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import insert
from sqlmodel import Session, col, select

from extraction.contacts import normalize_phone
from extraction.customers import ASK, AUTO_LINK, CustomerIndex
from extraction.normalize import clean, display_name, nfkc
from extraction.types import CustomerRef
from store import changes, repos
from store.models import Contact, Customer, User, utcnow

HEADERS = {
    "name": ("客户名称", "公司名称", "客户", "名称", "单位名称", "企业名称", "customer", "name", "company"),
    "region": ("地区", "区域", "城市", "所在地", "省市", "region", "city"),
    "owner": ("负责人", "销售", "客户经理", "归属销售", "业务员", "owner", "sales"),
    "contact": ("联系人", "联系人姓名", "contact"),
    "phone": ("电话", "手机", "联系电话", "手机号", "phone", "mobile", "tel"),
    "external_id": ("客户编号", "编号", "客户id", "id", "code"),
    "last_contact": ("最后跟进", "最后跟进时间", "最后跟进日期", "最近跟进", "上次跟进", "最后联系", "最近联系",
                     "最后联系时间", "上次拜访", "最后拜访", "最近拜访", "last contact", "last_contact"),
}
MAX_NAME = 100
SCREEN_ROWS = 20  # per kind of warning, on screen; the report has every row

NoteKind = Literal["phone", "owner_differs", "owner_conflict", "owner_unknown", "review", "date"]
BAD_DATE = "最后跟进日期「{}」无法识别（如 2026-03-15），按导入时间开始计算未跟进天数"
FUTURE_DATE = "最后跟进日期「{}」在今天之后，按导入时间开始计算未跟进天数"


class ImportError_(Exception):
    """The file cannot be imported at all (message says why and what to do)."""


@dataclass(frozen=True)
class Note:
    """A warning on a row. The report shows `text`; the screen groups notes by `kind` (and the
    unknown-owner ones by `head` and `tail`, one line per owner name)."""

    kind: NoteKind
    text: str
    head: str = ""
    tail: str = ""


@dataclass
class Row:
    number: int  # spreadsheet row number, header = 1
    name: str = ""
    region: str | None = None
    owner: str | None = None
    contact: str | None = None
    phone: str | None = None
    external_id: str | None = None
    last_contact: str | None = None
    contacted_on: date | None = None  # last_contact read
    errors: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    decision: str = ""
    customer_id: int | None = None
    matched: str | None = None
    score: float | None = None
    cluster: int | None = None

    @property
    def warnings(self) -> list[str]:
        return [n.text for n in self.notes]

    def note(self, kind: NoteKind, text: str) -> None:
        self.notes.append(Note(kind, text))


@dataclass
class ImportResult:
    rows: list[Row]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    review: int = 0
    errors: int = 0
    owners_changed: int = 0
    dry_run: bool = False
    report_path: Path | None = None


# ---------------------------------------------------------------- reading


def _map_headers(header: Sequence[object]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for i, h in enumerate(header):
        key = str(h or "").strip().lower().replace(" ", "")
        for field_name, names in HEADERS.items():
            if key in names and field_name not in cols:
                cols[field_name] = i
    if "name" not in cols:
        raise ImportError_(
            "找不到客户名称列：表头需要有「客户名称」「公司名称」或「名称」之一（第一行是表头）。"
        )
    return cols


def _read_csv(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportError_("CSV 文件编码无法识别：请另存为 UTF-8 编码的 CSV。")
    yield from csv.reader(io.StringIO(text))


def _read_xlsx(path: Path) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportError_(f"无法读取 Excel 文件：{exc}。请确认是 .xlsx 格式（旧版 .xls 请另存为 .xlsx）。") from exc
    try:
        for values in wb.worksheets[0].iter_rows(values_only=True):
            yield list(values)
    finally:
        wb.close()


def _cell_text(value: object) -> str:
    """A cell as text; a whole-number float (a phone typed into a number cell) without its '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of a sheet's non-empty rows, header first (.xlsx or .csv)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table: Iterator[Sequence[object]] = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path)
    else:
        raise ImportError_(f"不支持的文件类型 {suffix}：请用 .xlsx 或 .csv。")
    for number, values in enumerate(table, 1):
        cells = [_cell_text(v) for v in values]
        if any(cells):
            yield number, cells


def read_rows(path: Path) -> list[Row]:
    cols: dict[str, int] | None = None
    rows: list[Row] = []
    for number, cells in read_table(path):
        if cols is None:
            cols = _map_headers(cells)
            continue
        row = Row(number)
        for field_name, i in cols.items():
            value = cells[i] if i < len(cells) else ""
            setattr(row, field_name, value or (None if field_name != "name" else ""))
        rows.append(row)
    if cols is None:
        raise ImportError_("文件是空的：第一行应该是表头（客户名称、地区、负责人……）。")
    return rows


# ---------------------------------------------------------------- validation


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")


def read_date(text: str) -> date | None:
    """2026-03-15, 2026/3/15, 2026.3.15, 2026年3月15日 (a spreadsheet's time of day ignored)."""
    m = _DATE_RE.fullmatch(nfkc(text).strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _check_date(row: Row, today: date) -> None:
    """The last-contact cell read into `contacted_on`, or a note saying the import time is used."""
    if not row.last_contact:
        return
    d = read_date(row.last_contact)
    if d is None:
        row.note("date", BAD_DATE.format(row.last_contact))
    elif d > today:
        row.note("date", FUTURE_DATE.format(row.last_contact))
    else:
        row.contacted_on = d


def _prior_touch(cluster: list[Row]) -> datetime | None:
    """The newest last-contact date of a customer's rows, as the start of that local day."""
    days = [r.contacted_on for r in cluster if r.contacted_on is not None]
    return datetime.combine(max(days), datetime.min.time(), tzinfo=repos.SHANGHAI) if days else None


def _validate(row: Row) -> None:
    name = row.name
    if not name:
        row.errors.append("客户名称为空")
    elif len(name) > MAX_NAME:
        row.errors.append(f"客户名称超过 {MAX_NAME} 个字")
    elif len(clean(name)) < 2 or not any(ch.isalpha() for ch in name):
        row.errors.append("客户名称无效（至少两个汉字或字母）")


# ---------------------------------------------------------------- phones


_PHONE_SEPARATORS = re.compile(r"[/;,、\n]")  # after NFKC: ／ ； ， are / ; ,
_EXCEL_FLOAT_RE = re.compile(r"(\d+)\.0+")
_EXCEL_SCI_RE = re.compile(r"(\d)(?:\.(\d+))?e\+?(\d{1,2})")
_COUNTRY_RE = re.compile(r"\(?(?:\+|00)\s*86\)?[\s\-.]*")
_EXT_LABEL_RE = re.compile(r"(转|ext\.?|x|分机)[\s:#]*(?=\d)")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_MOBILE_START_RE = re.compile(r"1[3-9]")
# 0 + area code + number, 10-12 digits; 01x is only ever 010 (013… is a mobile with a stray 0)
_LANDLINE_RE = re.compile(r"0(?:10|[2-9]\d)\d{7,9}(?:-\d{1,5})?")
BAD_PHONE = "电话「{}」无法识别（手机11位，座机需带区号），未导入电话"


@dataclass(frozen=True)
class Phones:
    """A phone cell read: its valid numbers, normalized, and the parts that are not valid numbers."""

    good: tuple[str, ...]
    bad: tuple[str, ...]

    @property
    def value(self) -> str | None:
        """What is stored: every valid number, joined by ' / ' (None when there is none)."""
        return " / ".join(self.good) or None


def _unexcel(text: str) -> str | None:
    """Undo Excel's number display ('13912345678.0', '1.3912345678e+10'); None if digits are lost.

    '1.39123e+10' is all Excel kept of the number: its missing digits are never guessed.
    """
    if m := _EXCEL_FLOAT_RE.fullmatch(text):
        return m.group(1)
    if m := _EXCEL_SCI_RE.fullmatch(text):
        digits, size = m.group(1) + (m.group(2) or ""), int(m.group(3)) + 1
        if len(digits) > size and not digits[size:].strip("0"):
            digits = digits[:size]
        return digits if len(digits) == size else None
    return text


def _one_phone(part: str) -> str | None:
    """One number (NFKC, lower case) as `normalize_phone` writes it, or None if it is not valid."""
    text = _unexcel(part.strip())
    if text is None:
        return None
    if m := _COUNTRY_RE.match(text):
        rest = text[m.end():].lstrip("()")
        # +86 21 5888 1234 / +86 10 …: abroad a landline's trunk 0 is dropped; put it back
        text = "0" + rest if re.match(r"[1-9]", rest) and not _MOBILE_START_RE.match(rest) else rest
    value = normalize_phone(_EXT_LABEL_RE.sub(r"\1", text))
    return value if _MOBILE_RE.fullmatch(value) or _LANDLINE_RE.fullmatch(value) else None


def read_phones(raw: str) -> Phones:
    """Every number in a phone cell (split on / ; , 、 and line breaks), each validated."""
    parts = [p.strip() for p in _PHONE_SEPARATORS.split(nfkc(raw).lower()) if p.strip()]
    good: list[str] = []
    bad: list[str] = []
    for part in parts:
        value = _one_phone(part)
        if value is None:
            bad.append(raw.strip() if len(parts) == 1 else part)
        elif value not in good:
            good.append(value)
    return Phones(tuple(good), tuple(bad))


def _check_phone(row: Row) -> None:
    """Keep the row's valid numbers, normalized; say which ones are dropped and why."""
    if not row.phone:
        return
    phones = read_phones(row.phone)
    for bad in phones.bad:
        row.note("phone", BAD_PHONE.format(bad))
    row.phone = phones.value
    if row.phone and not row.contact:
        row.note("phone", f"电话「{row.phone}」没有联系人姓名，未导入电话")


# ---------------------------------------------------------------- clustering


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


_FORK_INDEX: CustomerIndex | None = None  # shared with forked workers (copy-on-write)
PARALLEL_FROM = 20_000  # below this, one process is faster than forking


def _pairs(span: tuple[int, int]) -> list[tuple[int, int]]:
    """Row pairs (i, j) whose names match at or above AUTO_LINK, for queries i in [start, stop)."""
    index = _FORK_INDEX
    assert index is not None
    out = []
    for i in range(*span):
        ref = index.customers[i]
        m = index.match(ref.name, ref.region)
        for c in (m.best, *m.alternates):
            if c is not None and c.id != ref.id and c.score >= AUTO_LINK:
                out.append((i, int(c.id)))
    return out


def _all_pairs(index: CustomerIndex, n: int, progress: Callable[[int, int], None]) -> list[tuple[int, int]]:
    """Query every row against the file's own index, on every core for large files."""
    global _FORK_INDEX
    _FORK_INDEX = index
    step = 2_000
    spans = [(a, min(a + step, n)) for a in range(0, n, step)]
    workers = min(os.cpu_count() or 1, 4)
    pairs: list[tuple[int, int]] = []
    try:
        if n < PARALLEL_FROM or workers < 2:
            for span in spans:
                pairs += _pairs(span)
                progress(span[1], n)
            return pairs
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for span, found in zip(spans, pool.map(_pairs, spans)):
                pairs += found
                progress(span[1], n)
        return pairs
    finally:
        _FORK_INDEX = None


def _cluster(rows: list[Row], progress: Callable[[int, int], None]) -> list[list[Row]]:
    """Group rows naming the same organisation: exact normalized names, then fuzzy matches."""
    if not rows:
        return []
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(clean(r.name), []).append(r)
    reps = [g[0] for g in groups.values()]
    index = CustomerIndex([CustomerRef(str(i), r.name, r.region) for i, r in enumerate(reps)])
    uf = _UnionFind(len(reps))
    for i, j in _all_pairs(index, len(reps), progress):
        uf.union(i, j)
    clusters: dict[int, list[Row]] = {}
    for i, g in enumerate(groups.values()):
        clusters.setdefault(uf.find(i), []).extend(g)
    return list(clusters.values())


# ---------------------------------------------------------------- import


class _Owners:
    """Owner names in the file resolved to system users (one query per distinct name)."""

    def __init__(self, s: Session) -> None:
        self._s = s
        self._found: dict[str, User | None] = {}
        self._names = {u.id: u.name for u in repos.list_users(s)}  # current owners, inactive ones too

    def find(self, name: str) -> User | None:
        if name not in self._found:
            self._found[name] = repos.find_user(self._s, name)
        return self._found[name]

    def named_by(self, cluster: list[Row]) -> list[User]:
        """The distinct users the cluster's rows name as owner (more than one: the file disagrees)."""
        users: dict[int | None, User] = {}
        for r in cluster:
            if r.owner and (u := self.find(r.owner)) is not None:
                users.setdefault(u.id, u)
        return list(users.values())

    def label(self, owner_id: int | None) -> str:
        """How the CRM's current owner is shown in a message."""
        return f"「{self._names.get(owner_id, '?')}」" if owner_id is not None else "公海（无负责人）"


def _db_match(index: Callable[[], CustomerIndex], exact: dict[str, int],
              cluster: list[Row]) -> tuple[int | None, float, bool]:
    """(customer id, score, uncertain) for a cluster against the database."""
    found: dict[int, float] = {}
    uncertain = False
    for r in cluster:
        key = clean(r.name)
        if key in exact:
            found[exact[key]] = 1.0
            continue
        m = index().match(r.name, r.region)
        if m.best is not None:
            found[int(m.best.id)] = max(found.get(int(m.best.id), 0), m.best.score)
        elif any(c.score >= ASK for c in m.alternates):
            uncertain = True
    if len(found) == 1 and not uncertain:
        cid, score = next(iter(found.items()))
        return cid, score, False
    if not found and not uncertain:
        return None, 0.0, False
    return None, max(found.values(), default=0.0), True


class _Crm:
    """The database side of an import, loaded in a few queries (never one per row)."""

    def __init__(self, s: Session) -> None:
        self.customers = {c.id: c for c in repos.all_customers(s)}
        self.exact: dict[str, int] = {}
        for c in self.customers.values():
            for n in (c.name, *c.aliases):
                self.exact.setdefault(clean(n), c.id)  # type: ignore[arg-type]
        self.contacts: dict[int, set[str]] = {}
        for cid, name in s.exec(select(Contact.customer_id, Contact.name)):
            self.contacts.setdefault(cid, set()).add(name)
        self._index: CustomerIndex | None = None

    def index(self) -> CustomerIndex:
        """Built only when some row is not an exact hit (re-imports never need it)."""
        if self._index is None:
            self._index = CustomerIndex([CustomerRef(str(c.id), c.name, c.region, tuple(c.aliases))
                                         for c in self.customers.values()])
        return self._index


def _clusters(crm: _Crm, valid: list[Row], progress: Callable[[int, int], None]) -> list[list[Row]]:
    """Exact hits on known customers grouped by customer; everything else clustered fuzzily."""
    known: dict[int, list[Row]] = {}
    rest = []
    for r in valid:
        cid = crm.exact.get(clean(r.name))
        if cid is None:
            rest.append(r)
        else:
            known.setdefault(cid, []).append(r)
    return list(known.values()) + _cluster(rest, progress)


def import_customers(s: Session, path: Path, dry_run: bool = False,
                     progress: Callable[[int, int], None] | None = None,
                     update_owner: bool = False) -> ImportResult:
    """Import a customer list; the caller's transaction commits it (or nothing, on dry run).

    A matched customer whose owner differs from the file's keeps its owner unless `update_owner`.
    """
    progress = progress or (lambda _done, _total: None)
    rows = read_rows(path)
    now = utcnow()
    for r in rows:
        _validate(r)
        if not r.errors:
            _check_phone(r)
            _check_date(r, now.astimezone(repos.SHANGHAI).date())
    owners = _Owners(s)
    crm = _Crm(s)
    result = ImportResult(rows, dry_run=dry_run)
    created: list[tuple[dict[str, object], list[Row]]] = []
    for n, cluster in enumerate(_clusters(crm, [r for r in rows if not r.errors], progress), 1):
        for r in cluster:
            r.cluster = n
        cid, score, uncertain = _db_match(crm.index, crm.exact, cluster)
        named = owners.named_by(cluster)
        owner = named[0] if len(named) == 1 else None
        if uncertain:
            for r in cluster:
                r.decision, r.score = "review", round(score, 3)
                r.note("review", "与已有客户相似但不能确定是同一家，未导入；请核对后手工新建或合并")
            result.review += len(cluster)
            outcome = "客户待核对，未导入"
        elif cid is None:
            created.append((_new_customer(cluster, owner, now), cluster))
            _note_conflict(cluster, named, "未设负责人，客户放入公海")
            outcome = "客户放入公海" if owner is None else f"负责人按同一客户的其他行设为「{owner.name}」"
        else:
            customer = crm.customers[cid]
            changed = _fold_in(s, crm, customer, cluster, dry_run, now)
            if owner is not None and owner.id != customer.owner_id:
                _owner_differs(s, owners, customer, cluster, owner, update_owner, dry_run, now)
                result.owners_changed += update_owner
                changed = changed or update_owner
            _note_conflict(cluster, named, "负责人未修改")
            result.updated += changed
            result.unchanged += not changed
            for r in cluster:
                r.decision = "existing_updated" if changed else "unchanged"
                r.customer_id, r.matched, r.score = customer.id, customer.name, round(score, 3)
            outcome = "负责人未修改"
        _note_unknown_owners(cluster, owners, outcome)
    result.created = len(created)
    if not dry_run and created:
        _insert_new(s, created, now)
    result.errors = sum(1 for r in rows if r.errors)
    for r in rows:
        if r.errors:
            r.decision = "error"
    return result


def _new_customer(cluster: list[Row], owner: User | None, now: datetime) -> dict[str, object]:
    """The INSERT values of a customer new to the CRM, named in its canonical spelling.

    The file's own spellings, where they differ, become aliases so they keep matching as typed.
    """
    primary = max(cluster, key=lambda r: (len(r.name), -r.number))
    name = display_name(primary.name)
    for r in cluster:
        r.decision = "new" if r is primary else "duplicate_in_file"
        r.matched, r.score = name, 1.0
    return {
        "name": name, "normalized_name": clean(name),
        "region": next((r.region for r in cluster if r.region), None),
        "owner_id": owner.id if owner else None,
        "external_id": next((r.external_id for r in cluster if r.external_id), None),
        "aliases": list(dict.fromkeys(r.name for r in cluster if r.name != name)),
        "created_at": now, "updated_at": now, "prior_touch_at": _prior_touch(cluster),
        # a new customer's newest touch is its last contact from the file, else its creation
        "last_touch_at": _prior_touch(cluster) or now,
    }


def _insert_new(s: Session, created: list[tuple[dict[str, object], list[Row]]], now: datetime) -> None:
    """Batched INSERT … RETURNING (ORM objects cost ~0.1 ms each to build at this volume)."""
    stmt = insert(Customer).returning(col(Customer.id), sort_by_parameter_order=True)
    ids = s.execute(stmt, [v for v, _ in created]).scalars().all()
    changes.record(s.connection(), ids)  # match indexes in every process pick them up
    contacts = []
    for cid, (_, cluster) in zip(ids, created):
        phones: dict[str, str | None] = {}
        for r in cluster:
            r.customer_id = cid
            if r.contact and not phones.get(r.contact):
                phones[r.contact] = r.phone  # a later row without a phone does not erase it
        for name, phone in phones.items():
            contacts.append({"customer_id": cid, "name": name, "phone": phone, "created_at": now})
    if contacts:
        s.execute(insert(Contact), contacts)


def _owner_differs(s: Session, owners: _Owners, customer: Customer, cluster: list[Row], owner: User,
                   update: bool, dry_run: bool, now: datetime) -> None:
    """Say on each row naming `owner` that the CRM has another owner; with `update`, take the file's.

    The message keeps the old owner, so the change can be undone by hand.
    """
    current = owners.label(customer.owner_id)
    if not update:
        tail = "（未修改；加 --update-owner 才按文件修改）"
    elif dry_run:
        tail = f"（试运行：将按文件改为「{owner.name}」）"
    else:
        tail = f"（已按文件改为「{owner.name}」）"
    for r in cluster:
        if r.owner and (u := owners.find(r.owner)) is not None and u.id == owner.id:
            r.note("owner_differs", f"负责人不同：文件为「{r.owner}」，系统为{current}{tail}")
    if update and not dry_run:
        customer.owner_id = owner.id
        customer.updated_at = now
        s.add(customer)


def _note_conflict(cluster: list[Row], named: list[User], outcome: str) -> None:
    """Rows of one customer naming different owners: no owner is picked from the file."""
    if len(named) > 1:
        text = f"同一客户在文件中有不同负责人（{'、'.join(u.name for u in named)}），{outcome}"
        for r in cluster:
            r.note("owner_conflict", text)


def _note_unknown_owners(cluster: list[Row], owners: _Owners, outcome: str) -> None:
    for r in cluster:
        if r.owner and owners.find(r.owner) is None:
            head = f"负责人「{r.owner}」不是系统用户"
            r.notes.append(Note("owner_unknown", f"{head}，{outcome}", head, outcome))


def _add_contacts(s: Session, crm: _Crm, customer: Customer, cluster: list[Row], write: bool) -> bool:
    known = crm.contacts.setdefault(customer.id, set())  # type: ignore[arg-type]
    added = False
    for r in cluster:
        if r.contact and r.contact not in known:
            known.add(r.contact)
            added = True
            if write:
                s.add(Contact(customer_id=customer.id, name=r.contact, phone=r.phone))  # type: ignore[arg-type]
    return added


def _fold_in(s: Session, crm: _Crm, customer: Customer, cluster: list[Row], dry_run: bool, now: datetime) -> bool:
    """Add the cluster's other spellings as aliases and its contacts; True if anything changed."""
    known = {clean(customer.name), *(clean(a) for a in customer.aliases)}
    aliases = list(customer.aliases)
    for r in cluster:
        if clean(r.name) not in known:
            aliases.append(r.name)
            known.add(clean(r.name))
    changed = aliases != list(customer.aliases)
    prior = _prior_touch(cluster)
    newer = prior is not None and (customer.prior_touch_at is None or prior > customer.prior_touch_at)
    if (changed or newer) and not dry_run:
        customer.aliases = aliases
        customer.prior_touch_at = prior if newer else customer.prior_touch_at
        customer.updated_at = now
        s.add(customer)  # store/touch.py moves last_touch_at up to a newer prior contact
    changed = changed or newer
    return _add_contacts(s, crm, customer, cluster, write=not dry_run) or changed


# ---------------------------------------------------------------- report


REPORT_FIELDS = ["row", "name", "region", "owner", "phone", "cluster", "decision", "customer_id",
                 "matched_name", "score", "messages"]


def write_report(result: ImportResult, path: Path) -> Path:
    """One line per row: what happened to it and why (UTF-8 with BOM so Excel opens it)."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(REPORT_FIELDS)
        for r in sorted(result.rows, key=lambda r: r.number):
            w.writerow([r.number, r.name, r.region or "", r.owner or "", r.phone or "", r.cluster or "",
                        r.decision,
                        r.customer_id or "", r.matched or "", "" if r.score is None else r.score,
                        "；".join(r.errors + r.warnings)])
    result.report_path = path
    return path


def summary_lines(result: ImportResult, limit: int = SCREEN_ROWS) -> list[str]:
    """What the CLI prints: the totals, then each kind of problem for at most `limit` rows (or owner
    names), so a 5,000-row file stays readable; the report has every row."""
    head = "【试运行，未写入】" if result.dry_run else ""
    lines = [(f"{head}共 {len(result.rows)} 行：新建 {result.created} 个客户，更新 {result.updated} 个，"
              f"无变化 {result.unchanged} 个，待核对 {result.review} 行，错误 {result.errors} 行")]
    lines += _capped([f"  第 {r.number} 行：{'；'.join(r.errors)}" for r in result.rows if r.errors], limit, "行")
    kinds: tuple[NoteKind, ...] = ("phone", "date", "owner_differs", "owner_conflict", "review")
    for kind in kinds:
        per_row = [(r.number, [n.text for n in r.notes if n.kind == kind]) for r in result.rows]
        lines += _capped([f"  第 {n} 行：{'；'.join(texts)}" for n, texts in per_row if texts], limit, "行")
    lines += _capped(_unknown_owner_lines(result.rows, limit), limit, "个负责人")
    return lines


def _capped(lines: list[str], limit: int, unit: str) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"  ……另有 {len(lines) - limit} {unit}，见查重报告"]


def _unknown_owner_lines(rows: list[Row], limit: int) -> list[str]:
    """One line per unknown owner name (and outcome) with its row numbers."""
    groups: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        for n in r.notes:
            if n.kind == "owner_unknown":
                groups.setdefault((n.head, n.tail), []).append(r.number)
    lines = []
    for (head, tail), numbers in groups.items():
        shown = "、".join(map(str, numbers[:limit]))
        more = f" 等共 {len(numbers)} 行" if len(numbers) > limit else " 行"
        lines.append(f"  {head}：第 {shown}{more}（{tail}）")
    return lines


def terminal_progress(label: str) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr, redrawn at most every 0.2 s."""
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done != total and now - last[0] < 0.2:
            return
        last[0] = now
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
