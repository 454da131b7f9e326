"""Answers to inbound messages, kept until the platform took them (the reply outbox).

The answer is written in the same transaction that closes its inbox row, so a message is never
"done" with its answer only in memory. Delivery claims the row (a token and a lease, as pushes
do in store/alerts.py), so boxes sharing the database send each answer once; a row whose claim
ran out is claimed again `in_doubt` (its holder may have sent it before dying).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from store import alerts, repos
from store.db import insert_ignoring_duplicates
from store.models import OutgoingReply


def finish(s: Session, inbox_id: int, status: str, error: str | None, channel: str, peer: str,
           body: dict[str, Any] | None, token: str | None, lease_until: datetime | None,
           now: datetime) -> int | None:
    """Close the inbox row and store its answer, held by `token`; the answer's id, or None when
    there is nothing to send or the message already has an answer (a replay)."""
    repos.inbox_finish(s, inbox_id, status, error)
    if body is None:
        return None
    values = {"inbox_id": inbox_id, "channel": channel, "peer": peer, "body": body, "status": "pending",
              "attempts": 0, "next_attempt_at": now, "claim_token": token, "claimed_until": lease_until,
              "in_doubt": False, "created_at": now}
    new = s.execute(insert_ignoring_duplicates(s, OutgoingReply), [values]).first()
    return int(new[0]) if new is not None else None


def _claimable(now: datetime) -> Any:
    return and_(col(OutgoingReply.status) == "pending", col(OutgoingReply.next_attempt_at) <= now,
                or_(col(OutgoingReply.claimed_until).is_(None), col(OutgoingReply.claimed_until) < now))


def claim(s: Session, now: datetime, token: str, lease_until: datetime, channels: list[str],
          limit: int = 200) -> list[OutgoingReply]:
    """Take the answers due now on `channels` (those this box can send on) for one delivery round
    (see store/alerts.claim_due); a row whose previous claim ran out comes back `in_doubt`."""
    ids = select(OutgoingReply.id).where(_claimable(now), col(OutgoingReply.channel).in_(channels)).order_by(
        col(OutgoingReply.id)).limit(limit)
    stmt = (update(OutgoingReply).where(col(OutgoingReply.id).in_(alerts.claimable_ids(s, ids)), _claimable(now))
            .values(in_doubt=col(OutgoingReply.claim_token).is_not(None), claim_token=token,
                    claimed_until=lease_until)
            .returning(OutgoingReply).execution_options(synchronize_session=False))
    return sorted(s.scalars(stmt), key=lambda r: r.id or 0)


def _held(s: Session, reply_id: int, token: str) -> OutgoingReply | None:
    r = s.get(OutgoingReply, reply_id)
    return r if r is not None and r.claim_token == token else None


def mark_sent(s: Session, reply_id: int, token: str, now: datetime) -> bool:
    """Record delivery; False when the claim had run out (another box may send it too)."""
    r = _held(s, reply_id, token)
    if r is None:
        return False
    r.status, r.sent_at, r.attempts = "sent", now, r.attempts + 1
    r.claim_token = r.claimed_until = None
    s.add(r)
    return True


def mark_failed(s: Session, reply_id: int, token: str, error: str, now: datetime, base_seconds: int,
                give_up_after: timedelta) -> str:
    """Count a failed attempt and free the claim: back off exponentially, or give up once the
    answer is older than `give_up_after` ("dead"). Returns the row's status."""
    r = _held(s, reply_id, token)
    if r is None:
        return "lost-claim"
    r.attempts += 1
    r.last_error = error[:500]
    r.claim_token = r.claimed_until = None
    r.in_doubt = False  # this attempt's outcome is known: it failed
    if now - r.created_at >= give_up_after:
        r.status = "dead"
    else:
        r.next_attempt_at = now + timedelta(seconds=min(base_seconds * 2 ** (r.attempts - 1), 3600))
    s.add(r)
    return r.status


def expedite(s: Session, channel: str, now: datetime) -> int:
    """The platform takes answers again: every answer of `channel` waiting out a backoff is due
    now, instead of up to an hour later. Returns how many were brought forward."""
    result = s.exec(update(OutgoingReply).where(col(OutgoingReply.channel) == channel,
                                                   col(OutgoingReply.status) == "pending",
                                                   col(OutgoingReply.attempts) > 0,
                                                   col(OutgoingReply.next_attempt_at) > now)
                       .values(next_attempt_at=now).execution_options(synchronize_session=False),
                       execution_options={"preserve_rowcount": True})
    return int(result.rowcount)


def undelivered(s: Session) -> int:
    """Answers not yet taken by their platform (/healthz, /metrics)."""
    return int(s.exec(select(func.count()).select_from(OutgoingReply)
                      .where(col(OutgoingReply.status) == "pending")).one())


def listed(s: Session, status: str | None = None, limit: int = 100) -> list[OutgoingReply]:
    """Stored answers, newest first (`salesbot outbox --replies`)."""
    q = select(OutgoingReply)
    if status:
        q = q.where(col(OutgoingReply.status) == status)
    return list(s.exec(q.order_by(col(OutgoingReply.id).desc()).limit(limit)))
