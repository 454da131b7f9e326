"""The CRM as the extraction engine sees it: a customer match index kept in step with the store.

Building the index (and the jieba user dictionary behind it) costs time, so it is rebuilt only
when the customer table's fingerprint (row count, newest update) changes.
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
        self._lock = threading.Lock()
        self._version: Any = None
        self._index: CustomerIndex | None = None

    def _load(self, s: Session) -> tuple[Any, list[CustomerRef]]:
        return repos.customers_version(s), [_ref(c) for c in repos.all_customers(s)]

    def index(self) -> CustomerIndex:
        """The current index; rebuilt when the customer table changed since the last build."""
        version = self._db.call(repos.customers_version)
        with self._lock:
            if self._index is None or version != self._version:
                version, refs = self._db.call(self._load)
                self._index = CustomerIndex(refs)
                self._version = version
            return self._index

    def known_competitors(self) -> tuple[str, ...]:
        """Config's company-wide brands and those reps confirmed (改 竞品), each once."""
        return tuple(dict.fromkeys((*self._competitors, *self._db.call(repos.known_competitors))))

    def extract(self, text: str, ref_time: datetime) -> FollowUpDraft:
        from extraction.extractor import extract  # heavy (jieba): loaded on first note

        return extract(text, ref_time=ref_time, customers=self.index(), known_competitors=self.known_competitors())

    def warm_up(self) -> None:
        """Build the index and load the segmenter now, so the first note is not slow."""
        from datetime import timezone

        self.extract("预热", datetime.now(timezone.utc))

    def match(self, name: str, region: str | None = None) -> MatchResult:
        return self.index().match(name, region)
