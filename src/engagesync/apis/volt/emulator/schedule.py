"""What the virtual clock makes happen at Volt: scheduled waves go out, and the status changes the
carrier would report (sent, then delivered or failed) are applied, each with its webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import contract
from .model import TenantModel

if TYPE_CHECKING:
    from . import VoltApi


def process_due(api: VoltApi, now: float) -> None:
    """Apply everything due at ``now``, in time order: scheduled waves, then carrier status changes
    (each with its webhook). Zero delays make a change due at once, so this loops until nothing is."""
    store = api.ctx.store
    with store.tx():
        for _ in range(1000):
            waves = store.all(
                "SELECT * FROM vt_waves WHERE status = 'scheduled' AND scheduled_at <= ? "
                "ORDER BY scheduled_at, tenant_id, id",
                (now,),
            )
            for wave in waves:
                TenantModel(api, wave["tenant_id"]).run_wave(wave)
            due = store.all(
                "SELECT * FROM vt_transitions WHERE due_at <= ? ORDER BY due_at, tenant_id, seq, status = 'sent' DESC",
                (now,),
            )
            for tr in due:
                tenant = TenantModel(api, tr["tenant_id"])
                final = tr["status"] in contract.FINAL_STATUSES
                store.execute(
                    "UPDATE vt_messages SET status = ?, status_description = ?, confirmed_at = ? "
                    "WHERE tenant_id = ? AND seq = ?",
                    (tr["status"], tr["description"], tr["due_at"] if final else None, tr["tenant_id"], tr["seq"]),
                )
                store.execute(
                    "DELETE FROM vt_transitions WHERE tenant_id = ? AND seq = ? AND status = ?",
                    (tr["tenant_id"], tr["seq"], tr["status"]),
                )
                row = store.one(
                    "SELECT * FROM vt_messages WHERE tenant_id = ? AND seq = ?", (tr["tenant_id"], tr["seq"])
                )
                if row is not None:
                    api.emit(tenant, contract.EVENT_FINALIZED if final else contract.EVENT_SENT, row)
            if not waves and not due:
                return
