"""Engine, transaction scope and migrations.

Repository functions are plain sync functions taking a Session; `Database.run` executes one of
them as a single transaction in a worker thread so the event loop never blocks on the database.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

import store.changes  # logs writes to customers' identity on every ORM flush
import store.touch  # noqa: F401  (keeps customers.last_touch_at on every ORM flush)
from store.errors import DatabaseError

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")
# Names this process wherever boxes sharing a database record who holds what (claims, job runs).
BOX = f"{socket.gethostname()}:{os.getpid()}"


def insert_ignoring_duplicates(s: Session, model: type) -> Any:
    """INSERT … ON CONFLICT DO NOTHING … RETURNING id for the session's dialect.

    RETURNING (not rowcount) tells new rows from duplicates on every driver.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    ins = (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert
    return ins(model).on_conflict_do_nothing().returning(model.id)  # type: ignore[attr-defined]


def ours(name: str | None, type_: str, parent_names: Any) -> bool:
    """Whether a schema object belongs to our models (alembic's `include_name`): procrastinate's
    queue tables, functions and indexes on PostgreSQL are its own (migration 0015)."""
    return "procrastinate" not in (name or "")




def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Memory-mapped reads: the alert scans over a large CRM would otherwise spend half their
    # time in read() syscalls through SQLite's small page cache.
    cur.execute("PRAGMA mmap_size=1073741824")
    # A 64 MiB page cache (default 2 MiB), filled only as needed: a rule run that queues 400k alerts
    # otherwise spills dirty index pages to the WAL mid-transaction (first run 5.6 -> 4.9 s).
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def check_sqlite_path(path: str) -> None:
    """A SQLite file can be made at `path`: its folder exists (nothing is created behind the
    operator's back), is a folder and is writable, and the path itself is not a folder."""
    p = Path(path).expanduser()
    folder = p.parent
    if p.is_dir():
        raise DatabaseError(f"数据库路径 {p} 是一个目录：请给出文件名，例如 {p / 'salesbot.db'}")
    if not folder.exists():
        raise DatabaseError(f"数据库所在的目录 {folder} 不存在：请先创建它（mkdir -p {folder}），或换一个路径")
    if not folder.is_dir():
        raise DatabaseError(f"数据库路径 {p} 不可用：{folder} 是文件，不是目录")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseError(f"没有权限在目录 {folder} 里写数据库：请换一个路径，或给运行 salesbot 的用户写权限")


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            check_sqlite_path(path)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.echo = echo
        self.engine = make_engine(url, echo)
        self._statements: Engine | None = None  # `call_statement`'s own pool, made on first use

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (`salesbot db upgrade`)."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def ensure_schema(self) -> None:
        """SQLite upgrades itself; other databases must be upgraded by the operator."""
        if self.current_revision() == self.head_revision():
            return
        if self.is_sqlite:
            log.info("upgrading SQLite schema at %s", self.url)
            self.upgrade()
            return
        raise DatabaseError("数据库结构不是最新版本：请先运行 `salesbot db upgrade`")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception."""
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.session() as s:
            return fn(s, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self.call, fn, *args, **kwargs)

    def call_statement(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn`, which writes with exactly one SQL statement that ignores duplicates, as that
        statement alone: the inbox writer's path, which every webhook acknowledgement waits for.

        On PostgreSQL the statement runs in autocommit on a small pool of its own that skips the
        checkout ping: one round trip instead of four (ping, BEGIN, statement, COMMIT). PostgreSQL
        runs one statement atomically, so nothing is half-stored. A pooled connection found dead
        (the server restarted) is replaced and the statement sent once more: the first try either
        never ran or committed, and then the second stores nothing twice. SQLite keeps `call`.
        """
        if self.is_sqlite:
            return self.call(fn, *args)
        try:
            return self._one_statement(fn, *args)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("database connection lost (%s); sending the statement once more on a new one",
                        type(exc.orig).__name__)
        return self._one_statement(fn, *args)

    def _one_statement(self, fn: Callable[..., T], *args: Any) -> T:
        if self._statements is None:  # one writer thread uses it: one connection, one spare
            self._statements = create_engine(self.url, echo=self.echo, pool_size=1, max_overflow=1,
                                             isolation_level="AUTOCOMMIT")
        with Session(self._statements) as s:
            return fn(s, *args)

    def backup(self, target: Path) -> None:
        """A consistent copy of a SQLite database while it is in use (SQLite's online backup API,
        page by page; a plain file copy of a live WAL database can be torn)."""
        import sqlite3

        if not self.is_sqlite:
            raise DatabaseError("PostgreSQL 请用 pg_dump 备份（见 docs/deployment.md「备份」）")
        if target.exists():
            raise DatabaseError(f"{target} 已经存在：换一个文件名，备份不会覆盖已有文件")
        check_sqlite_path(str(target))
        source = self.url.split("///", 1)[1]
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._statements is not None:
            self._statements.dispose()
