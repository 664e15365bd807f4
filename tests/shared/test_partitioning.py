"""The platform's producers put a member's events on the partition Kafka's own clients choose for
that key (murmur2), however many partitions the topic has."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from loyalty_shared.kafka.client import KeyedPartitions


@pytest.mark.parametrize("count", [1, 3, 4, 12])
def test_a_key_lands_where_the_default_partitioner_puts_it_again_and_again(count: int) -> None:
    partitions = list(range(count))
    keys = [f"m-{n}".encode() for n in range(3000)] + ["会员-7".encode(), b""]
    chosen = KeyedPartitions(size=100)

    for _ in range(2):  # the second time from what it kept (or not, past its size)
        assert [chosen(key, partitions, partitions) for key in keys] == [
            DefaultPartitioner()(key, partitions, partitions) for key in keys
        ]


def test_a_record_without_a_key_goes_to_a_partition_that_is_up() -> None:
    assert KeyedPartitions()(None, [0, 1, 2, 3], [2]) == 2
