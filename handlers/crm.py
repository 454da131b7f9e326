"""The CRM as the extraction engine sees it: a customer match index kept in step with the store.

The index is built once; after that, when the customer change log (store/changes.py) has moved,
only the customers changed since the last look are applied to it (new, renamed, merged away,
unmerged), whichever process changed them. Every use of the index holds one lock, so a note
never reads it half-updated.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from sqlmodel import Session

from extraction.customers import ASK, AUTO_LINK, CustomerIndex
from extraction.normalize import clean
from extraction.types import CustomerRef, FollowUpDraft, MatchResult
from store import changes, repos
from store.db import Database
from store.models import Customer

if TYPE_CHECKING:
    from extraction.split import Split


def normalized_name(name: str) -> str:
    """The exact-comparison key stored in customers.normalized_name."""
    return clean(name)


def _ref(c: Customer) -> CustomerRef:
    return CustomerRef(id=str(c.id), name=c.name, region=c.region, aliases=tuple(c.aliases or ()))


class CrmIndex:
    def __init__(self, db: Database, competitors: Sequence[str] = (), thresholds: tuple[float, float] | None = None,
                 tz: tzinfo = repos.SHANGHAI) -> None:
        self._db = db
        self._tz = tz  # app.timezone: the local date relative dates in notes count from
        self._competitors = tuple(competitors)  # the company-wide list from config
        self._thresholds = thresholds or (AUTO_LINK, ASK)  # matching.auto_link, matching.ask
        self._lock = threading.RLock()
        self._version = 0  # the newest customer_changes id applied to the index
        self._anchor: tuple[int, datetime] | None = None  # that change's entry (changes.entry)
        self._index: CustomerIndex | None = None

    def _load(self, s: Session) -> tuple[int, list[CustomerRef]]:
        mark = changes.newest(s)  # read first: a change racing the load is applied again later
        return mark, [_ref(c) for c in repos.all_customers(s)]

    def _refresh(self) -> CustomerIndex:
        """Bring the index up to date: built on first use, then customer by customer."""
        mark = self._db.call(changes.newest)
        if self._index is not None and mark == self._version:
            return self._index
        if self._index is None or mark < self._version or self._db.call(changes.entry, self._version) != self._anchor:
            # first use, or another log than the one read so far (a database restored from a backup)
            self._version, refs = self._db.call(self._load)
            self._index = CustomerIndex(refs, *self._thresholds)
        else:
            self._version, changed = self._db.call(changes.changed_since, self._version)
            for c in changed:
                if c.merged_into_id is None:
                    self._index.upsert(_ref(c))
                else:
                    self._index.remove(str(c.id))
        self._anchor = self._db.call(changes.entry, self._version)
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
            return extract(text, ref_time=ref_time, customers=self._refresh(), known_competitors=known, tz=self._tz)

    def split(self, text: str) -> Split:
        """`extraction.split.split_by_customer` against the current index."""
        from extraction.split import split_by_customer

        with self._lock:
            return split_by_customer(text, self._refresh())

    def warm_up(self) -> None:
        """Build the index and load the segmenter now, so the first note is not slow."""
        from datetime import UTC

        self.extract("预热", datetime.now(UTC))

    def match(self, name: str, region: str | None = None) -> MatchResult:
        with self._lock:
            return self._refresh().match(name, region)
