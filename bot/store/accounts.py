"""Per-account polling state: the cursor lives with the posts (see Bridge.ingest); here are
the poll lease (one instance polls an account at a time) and the health record."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from bot.store.db import Store
from bot.store.models import AccountState, utcnow


def ensure_rows(store: Store, accounts: list[str]) -> None:
    with store.session() as session:
        existing = set(session.exec(select(AccountState.account)).all())
        for name in accounts:
            if name not in existing:
                session.add(AccountState(account=name))


def try_lease(store: Store, account: str, *, owner: str, seconds: float) -> bool:
    """Take or renew the right to poll `account`; a holder that stops renewing loses it."""
    now = utcnow()
    with store.session() as session:
        result = session.execute(
            sa.update(AccountState)
            .where(
                col(AccountState.account) == account,
                sa.or_(
                    col(AccountState.lease_owner).is_(None),
                    col(AccountState.lease_owner) == owner,
                    col(AccountState.lease_until) < now,
                ),
            )
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_leases(store: Store, *, owner: str) -> None:
    with store.session() as session:
        session.execute(
            sa.update(AccountState)
            .where(col(AccountState.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )


def record_failure(store: Store, account: str, *, error: str, retry_in: float) -> int:
    """Note a failed poll; returns how many failed in a row."""
    now = utcnow()
    with store.session() as session:
        state = session.get(AccountState, account) or AccountState(account=account)
        state.last_poll_at = now
        state.last_error = error[:500]
        state.consecutive_failures += 1
        state.next_poll_at = now + timedelta(seconds=retry_in)
        session.add(state)
        return state.consecutive_failures


def get(store: Store, account: str) -> AccountState:
    with store.read() as session:
        return session.get(AccountState, account) or AccountState(account=account)


def all_states(store: Store) -> list[AccountState]:
    with store.read() as session:
        return list(session.exec(select(AccountState).order_by(col(AccountState.account))))
