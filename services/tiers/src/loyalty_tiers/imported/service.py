"""Members' tiers and qualifying spend from the loyalty system this one replaces, a batch at a
time (`loyalty import members`). A member is imported once per source: their spend is added
to the import's day (so it counts over the qualifying window from then, like a purchase), and
they hold the highest of the tier they bring (until its `valid_until`), the tier that spend
supports (for the program's validity, as an upgrade by spend) and the tier they hold here
already. A tier given is an upgrade like any other (`tier.changed`, reason `import`, which
tells the points service the multiplier and congratulates nobody); from then on the evaluation
treats it as it treats an earned one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from loyalty_shared import audit_log
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import Principal
from loyalty_shared.program.schema import Program
from loyalty_tiers import ladder
from loyalty_tiers.events import emit, tier_changed
from loyalty_tiers.imported import repository
from loyalty_tiers.imported.repository import ImportedMember, ImportedTier
from loyalty_tiers.spend import repository as spend


async def import_members(
    conn: Connection,
    program: Program,
    rows: Sequence[ImportedMember],
    *,
    principal: Principal,
    now: datetime,
) -> set[str]:
    """Import the rows whose (source, member) was not imported before; returns their members,
    each recorded in the audit log under its source. Each member once in `rows`; the caller
    checked the tiers are the program's."""
    claimed = await repository.claim(conn, rows, now)
    new = [r for r in rows if r.member_id in claimed]
    if not new:
        return claimed
    for source in sorted({r.source for r in new}):
        await audit_log.record_each(
            conn,
            principal=principal,
            action="member.import",
            member_ids=sorted(r.member_id for r in new if r.source == source),
            details={"source": source},
            at=now,
        )
    members = [r.member_id for r in new]
    await repository.add_spend(conn, {r.member_id: r.qualifying_spend for r in new}, day=now.date())
    held = await spend.tiers_for_update(conn, members)
    window_start = now.date() - timedelta(days=program.tiers.qualifying_window_days)
    spends = await spend.spend_in_window(conn, members, since=window_start)
    await spend.remember_spend(conn, {m: spends.get(m, Decimal(0)) for m in held})
    validity = now + timedelta(days=program.tiers.validity_days)
    tiers = []
    for row in new:
        amount = spends.get(row.member_id, Decimal(0))
        target, until = program.base_tier.name, validity
        if row.tier is not None and row.valid_until is not None:
            target, until = row.tier, row.valid_until
        supported = ladder.supported(program, amount).name
        if ladder.rank(program, supported) > ladder.rank(program, target):
            target, until = supported, validity
        current = held.get(row.member_id, program.base_tier.name)
        if ladder.rank(program, target) > ladder.rank(program, current):
            tiers.append(
                ImportedTier(
                    source=row.source,
                    member_id=row.member_id,
                    from_tier=current,
                    to_tier=target,
                    valid_until=until,
                    spend=amount,
                )
            )
    await repository.record_tiers(conn, tiers, now)
    await emit(
        conn,
        [
            tier_changed(
                program,
                member_id=t.member_id,
                from_tier=t.from_tier,
                to_tier=t.to_tier,
                reason="import",
                spend=t.spend,
                valid_until=t.valid_until,
                cause=f"import:{t.source}",
            )
            for t in tiers
        ],
    )
    return claimed
