"""Replaying a dead letter into the service that refused it: the stored record goes through the
same decoding, inbox and handler as on its first delivery, in the caller's transaction, and the
outcome is known at once. A record refused again is dead-lettered again (on `<topic>.dlq` and
here, its position naming the dead letter it came from); one applied meanwhile (the shop sent it
again, `loyalty dlq replay`) is a duplicate to the inbox and changes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition

from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db import Connection, inbox
from loyalty_shared.dlq import repository
from loyalty_shared.dlq.schemas import ReplayResult
from loyalty_shared.kafka.applying import BatchApplier
from loyalty_shared.kafka.routing import Routes

#: The partition a replayed record claims to come from; its offset is the dead letter's id, so
#: its position (`topic:-1:id`) names the dead letter it was replayed from.
REPLAY_PARTITION = -1


@dataclass(frozen=True)
class Replayer:
    service: str
    routes: Routes
    #: The service's clock: when a replay happened, and the dead letters' summary's now.
    clock: Clock = system_clock

    async def replay(self, conn: Connection, dead_letter_id: int, *, by: str) -> ReplayResult:
        """Replay one dead letter (locked for the transaction); the caller checked it waits."""
        letter = await repository.one(conn, dead_letter_id, lock=True)
        assert letter is not None
        assert letter["replayed_at"] is None
        headers = tuple(zip(letter["header_names"], letter["header_values"], strict=True))
        event_id = letter["event_id"]
        applied_before = event_id is not None and await _claimed(conn, self.service, event_id)
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=letter["topic"],
            partition=REPLAY_PARTITION,
            offset=dead_letter_id,
            timestamp=int(time.time() * 1000),
            timestamp_type=0,
            key=letter["message_key"],
            value=letter["payload"],
            checksum=None,
            serialized_key_size=len(letter["message_key"] or b""),
            serialized_value_size=len(letter["payload"] or b""),
            headers=headers,
        )
        applier = BatchApplier(service=self.service, routes=self.routes)
        await applier.apply(conn, {TopicPartition(record.topic, REPLAY_PARTITION): [record]})
        again = await repository.at_position(
            conn, f"{record.topic}:{REPLAY_PARTITION}:{dead_letter_id}"
        )
        if again is not None:
            result = ReplayResult(
                id=dead_letter_id,
                outcome="refused",
                dead_letter_id=again["id"],
                code=again["code"],
                detail=again["detail"],
            )
        elif applied_before:
            result = ReplayResult(id=dead_letter_id, outcome="duplicate")
        elif event_id is not None and await _claimed(conn, self.service, event_id):
            result = ReplayResult(id=dead_letter_id, outcome="applied")
        else:
            result = ReplayResult(id=dead_letter_id, outcome="skipped")
        await repository.mark_replayed(
            conn, dead_letter_id, by=by, outcome=result.outcome, at=self.clock()
        )
        return result


async def _claimed(conn: Connection, service: str, event_id: str) -> bool:
    return await inbox.is_claimed(conn, service, event_id)
