"""Message handlers: command routers first, the free-text note route last."""
from __future__ import annotations

from handlers.router import Router


def build_router() -> Router:
    from handlers import commands, contracts, corrections, followup

    root = Router()
    # Longer command words first so "新建客户" is not read as something shorter.
    root.include(commands.router)
    root.include(contracts.router)
    root.include(corrections.router)
    root.include(followup.router)
    root.commands.sort(key=lambda c: -max(len(w) for w in c.words))
    return root
