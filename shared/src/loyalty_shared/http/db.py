"""The request's database transaction: opened by the dependency, committed when the endpoint
returns, rolled back when it raises. Services and repositories never commit.

One exception to the rollback: an error whose class says `commit_transaction = True` is a
refusal the service has recorded (an Idempotency-Key's refused spend, answered the same when the
key comes again), so the transaction commits and the error is still answered."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request

from loyalty_shared.db import Connection, Pool
from loyalty_shared.runtime import runtime_of


async def _transaction(request: Request) -> AsyncIterator[Connection]:
    runtime = runtime_of(request)
    async with runtime.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        except BaseException as exc:
            if getattr(exc, "commit_transaction", False):
                await transaction.commit()
            else:
                await transaction.rollback()
            raise
        await transaction.commit()
        runtime.on_commit()  # the transaction may have written events


async def _read_only(request: Request) -> AsyncGenerator[Connection, None]:
    # one snapshot for every statement: a tier read before a consumer's commit and the spend
    # after it (or the other way round) would answer a silver member with no spend
    pool = runtime_of(request).pool
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        yield conn


async def _pool(request: Request) -> Pool:  # async: a plain def would run in a thread
    return runtime_of(request).pool


#: Function-scoped: the commit happens before the answer is sent, so a transaction that fails to
#: commit is answered as the error it is, never with the success the endpoint returned.
Transaction = Annotated[Connection, Depends(_transaction, scope="function")]
#: The pool itself, for a read that is one statement (atomic by itself): the statement takes a
#: connection and gives it back. BEGIN and COMMIT would triple the round trips of the app's
#: hottest endpoints, and a generator dependency holding a connection costs a tenth of a read.
SingleStatement = Annotated[Pool, Depends(_pool)]
#: A read of several statements, all from one snapshot (repeatable read).
#: Function-scoped like `Transaction`: the connection goes back to the pool when the endpoint
#: returns, before the answer (and before an audited read records itself with another).
ReadOnly = Annotated[Connection, Depends(_read_only, scope="function")]

#: The dependencies that reach the database: an operation using one can answer the 503 of a
#: database away (documented by loyalty_shared.http.openapi).
DATABASE_DEPENDENCIES: frozenset[Callable[..., object]] = frozenset(
    {_transaction, _read_only, _pool}
)
