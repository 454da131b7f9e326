"""The CRM as the extraction engine sees it: a customer match index kept in step with the store.

The index is built once; after that, when the customer table's fingerprint (row count, newest
update) moves, only the customers updated since the last look are applied to it (new, renamed,
merged away), whichever process changed them. Every use of the index holds one lock, so a note
never reads it half-updated.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from extraction.customers import CustomerIndex
from extraction.normalize import clean
from extraction.types import CustomerRef, FollowUpDraft, MatchResult
from store import repos
from store.db import Database
from store.models import Customer


def normalized_name(name: str) -> str:
    """The exact-comparison key stored in customers.normalized_name."""
    return clean(name)


def _ref(c: Customer) -> CustomerRef:
    return CustomerRef(id=str(c.id), name=c.name, region=c.region, aliases=tuple(c.aliases or ()))


class CrmIndex:
    def __init__(self, db: Database, competitors: Sequence[str] = ()) -> None:
        self._db = db
        self._competitors = tuple(competitors)  # the company-wide list from config
        self._lock = threading.RLock()
        self._version: Any = None
        self._seen: datetime | None = None  # newest customers.updated_at applied to the index
        self._index: CustomerIndex | None = None

    def _load(self, s: Session) -> tuple[Any, list[CustomerRef], datetime | None]:
        customers = repos.all_customers(s)
        return repos.customers_version(s), [_ref(c) for c in customers], repos.newest_customer_update(s)

    def _refresh(self) -> CustomerIndex:
        """Bring the index up to date: built on first use, then customer by customer."""
        version = self._db.call(repos.customers_version)
        if self._index is not None and version == self._version:
            return self._index
        if self._index is None or self._seen is None:
            version, refs, self._seen = self._db.call(self._load)
            self._index = CustomerIndex(refs)
        else:
            changed = self._db.call(repos.customers_updated_since, self._seen)
            for c in changed:
                if c.merged_into_id is None:
                    self._index.upsert(_ref(c))
                else:
                    self._index.remove(str(c.id))
            self._seen = max((c.updated_at for c in changed), default=self._seen)
        self._version = version
        return self._index

    def index(self) -> CustomerIndex:
        """The current index. Use it only for a quick look; `extract`, `match` and `split`
        hold the lock while they read it."""
        with self._lock:
            return self._refresh()

    def known_competitors(self) -> tuple[str, ...]:
        """Config's company-wide brands and those reps confirmed (改 竞品), each once."""
        return tuple(dict.fromkeys((*self._competitors, *self._db.call(repos.known_competitors))))

    def extract(self, text: str, ref_time: datetime) -> FollowUpDraft:
        from extraction.extractor import extract  # heavy (jieba): loaded on first note

        known = self.known_competitors()
        with self._lock:
            return extract(text, ref_time=ref_time, customers=self._refresh(), known_competitors=known)

    def split(self, text: str) -> Any:
        """`extraction.split.split_by_customer` against the current index."""
        from extraction.split import split_by_customer

        with self._lock:
            return split_by_customer(text, self._refresh())

    def warm_up(self) -> None:
        """Build the index and load the segmenter now, so the first note is not slow."""
        from datetime import timezone

        self.extract("预热", datetime.now(timezone.utc))

    def match(self, name: str, region: str | None = None) -> MatchResult:
        with self._lock:
            return self._refresh().match(name, region)
