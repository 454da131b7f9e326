"""Managing the team: add with duplicate checks, update, and an idempotent import from a sheet.

A user is known by display name (unique among active users) and by IM accounts (one user per
channel account). `UserError` messages are Chinese and say what to do; the CLI prints them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from store.importer import ImportError_, read_table
from store.models import User, UserIdentity
from store.repos import add_user, find_user

CHANNELS = ("console", "wecom", "dingtalk")
CHANNEL_NAMES = {"console": "控制台账号", "wecom": "企业微信账号", "dingtalk": "钉钉账号"}
ROLE_WORDS = {"rep": "rep", "销售": "rep", "业务员": "rep", "客户经理": "rep",
              "manager": "manager", "主管": "manager", "经理": "manager", "销售经理": "manager", "组长": "manager",
              "admin": "admin", "管理员": "admin"}
HEADERS = {"name": ("姓名", "名字", "用户", "name"), "role": ("角色", "岗位", "role"),
           "manager": ("主管", "上级", "直属主管", "manager"), "console": ("控制台", "控制台账号", "console"),
           "wecom": ("企业微信", "企业微信账号", "企业微信id", "wecom", "userid"),
           "dingtalk": ("钉钉", "钉钉账号", "钉钉id", "dingtalk")}
CLEAR = "-"  # an update value that removes a manager or an IM account


class UserError(Exception):
    """A user change that cannot be made as asked (the message says why and what to do)."""


@dataclass
class UserSpec:
    """What an admin said about one user; None leaves a field as it is."""

    name: str
    role: str | None = None
    manager: str | None = None  # a name, or CLEAR
    ids: dict[str, str] = field(default_factory=dict)  # channel → IM id, or CLEAR


def _owner_of(s: Session, channel: str, im_id: str) -> User | None:
    return s.exec(select(User).join(UserIdentity, col(UserIdentity.user_id) == col(User.id))
                  .where(UserIdentity.channel == channel, UserIdentity.im_id == im_id)).first()


def _check_ids(s: Session, spec: UserSpec, user: User | None) -> None:
    for channel, im_id in spec.ids.items():
        if im_id == CLEAR:
            continue
        owner = _owner_of(s, channel, im_id)
        if owner is not None and (user is None or owner.id != user.id):
            raise UserError(f"{CHANNEL_NAMES[channel]} {im_id} 已经属于 {owner.name}（#{owner.id}）：一个账号只能对应一个人")


def _role(word: str | None) -> str | None:
    if word is None or not word.strip():
        return None
    role = ROLE_WORDS.get(word.strip().lower())
    if role is None:
        raise UserError(f"角色「{word}」不认识：用 销售(rep)、主管(manager) 或 管理员(admin)")
    return role


def _manager(s: Session, name: str | None, user: User | None) -> tuple[bool, int | None]:
    """(whether to set the manager, its id): CLEAR removes it; a name must be an active user."""
    if name is None or not name.strip():
        return False, None
    if name.strip() == CLEAR:
        return True, None
    m = find_user(s, name.strip())
    if m is None:
        raise UserError(f"没有在职用户 {name}：先添加主管，或检查姓名")
    if user is not None and m.id == user.id:
        raise UserError(f"{name} 不能是自己的主管")
    return True, m.id


def add(s: Session, spec: UserSpec) -> User:
    """A new user; refused when an active user has the name or an IM account is someone else's."""
    existing = find_user(s, spec.name)
    if existing is not None:
        raise UserError(f"已经有用户 {spec.name}（#{existing.id}）：要修改请用 salesbot users update {spec.name} …；"
                        "真是同名的另一个人，请加以区分（如 张伟2）")
    _check_ids(s, spec, None)
    role = _role(spec.role) or "rep"
    _, manager_id = _manager(s, spec.manager, None)
    manager = s.get(User, manager_id) if manager_id else None
    return add_user(s, spec.name, role, manager, {c: v for c, v in spec.ids.items() if v != CLEAR})


def update(s: Session, spec: UserSpec, new_name: str | None = None) -> list[str]:
    """Change an active user's name, role, manager or IM accounts; returns what changed (words)."""
    user = find_user(s, spec.name)
    if user is None:
        raise UserError(f"没有在职用户 {spec.name}（salesbot users list 查看）")
    _check_ids(s, spec, user)
    changed: list[str] = []
    if new_name and new_name != user.name:
        if find_user(s, new_name) is not None:
            raise UserError(f"已经有用户 {new_name}：换一个名字")
        changed.append(f"姓名 {user.name} → {new_name}")
        user.name = new_name
    role = _role(spec.role)
    if role is not None and role != user.role:
        changed.append(f"角色 {user.role} → {role}")
        user.role = role
    set_manager, manager_id = _manager(s, spec.manager, user)
    if set_manager and manager_id != user.manager_id:
        old, new = s.get(User, user.manager_id) if user.manager_id else None, s.get(User, manager_id) if manager_id else None
        changed.append(f"主管 {old.name if old else '无'} → {new.name if new else '无'}")
        user.manager_id = manager_id
    for channel, im_id in spec.ids.items():
        changed += _set_identity(s, user, channel, im_id)
    s.add(user)
    s.flush()
    return changed


def _set_identity(s: Session, user: User, channel: str, im_id: str) -> list[str]:
    current = s.exec(select(UserIdentity).where(UserIdentity.user_id == user.id,
                                                UserIdentity.channel == channel)).first()
    old = current.im_id if current else None
    new = None if im_id == CLEAR else im_id
    if old == new:
        return []
    if current is not None:
        s.delete(current)
        s.flush()
    if new is not None:
        s.add(UserIdentity(user_id=user.id, channel=channel, im_id=new))  # type: ignore[arg-type]
    return [f"{CHANNEL_NAMES[channel]} {old or '无'} → {new or '无'}"]


@dataclass
class UserImport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "第 n 行：why"


def _cell(cells: list[str], cols: dict[str, int], f: str) -> str | None:
    i = cols.get(f)
    return (cells[i].strip() or None) if i is not None and i < len(cells) else None


def _specs(path: Path) -> list[tuple[int, UserSpec]]:
    cols: dict[str, int] | None = None
    out: list[tuple[int, UserSpec]] = []
    for number, cells in read_table(path):
        if cols is None:
            keys = [c.strip().lower().replace(" ", "") for c in cells]
            cols = {f: keys.index(n) for f, names in HEADERS.items() for n in names if n in keys}
            if "name" not in cols:
                raise ImportError_("找不到姓名列：表头需要有「姓名」（第一行是表头；其余列：角色、主管、企业微信、钉钉、控制台）")
            continue
        ids = {c: v for c in CHANNELS if (v := _cell(cells, cols, c))}
        out.append((number, UserSpec(_cell(cells, cols, "name") or "", _cell(cells, cols, "role"),
                                     _cell(cells, cols, "manager"), ids)))
    return out


def import_users(s: Session, path: Path) -> UserImport:
    """Add or update the sheet's users (name, role, manager, IM ids); running it again changes
    nothing. Everyone is added first and managers are set after, so a manager may come later in
    the sheet. A bad row is reported and skipped; the others go in."""
    result = UserImport()
    rows = _specs(path)
    changes: dict[str, list[str]] = {}  # existing users: what the sheet changed

    def apply(number: int, step: UserSpec, new: bool) -> None:
        try:
            with s.begin_nested():  # a bad row leaves nothing behind
                if new:
                    add(s, step)
                    result.added.append(step.name)
                elif step.name not in result.added:
                    changes.setdefault(step.name, []).extend(update(s, step))
                else:
                    update(s, step)
        except UserError as exc:
            result.errors.append(f"第 {number} 行：{exc}")

    for number, spec in rows:  # pass 1: the people
        if not spec.name:
            result.errors.append(f"第 {number} 行：姓名为空")
            continue
        apply(number, UserSpec(spec.name, spec.role, None, spec.ids), find_user(s, spec.name) is None)
    for number, spec in rows:  # pass 2: who reports to whom
        if spec.name and spec.manager and find_user(s, spec.name) is not None:
            apply(number, UserSpec(spec.name, manager=spec.manager), False)
    result.updated = [f"{n}：{'；'.join(c)}" for n, c in changes.items() if c]
    result.unchanged = sum(1 for c in changes.values() if not c)
    return result
