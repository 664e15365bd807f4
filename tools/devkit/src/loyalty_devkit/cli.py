"""The project's CLI: `loyalty run | demo | token | audit | topics | openapi | asyncapi |
dlq replay | member erase | member export | member reapply-erasures | import balances |
import members | chaos | deps-audit | soak`."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loyalty_devkit import dlq, members
from loyalty_devkit.asyncapi_export import DEFAULT_FILE as DEFAULT_ASYNCAPI_FILE
from loyalty_devkit.asyncapi_export import AsyncApiError, is_current, write_document
from loyalty_devkit.demo import DEMO_REWARDS, HEADERS, demo_stream
from loyalty_devkit.dependency_audit import DEFAULT_OSV_URL, audit_requirements
from loyalty_devkit.local_broker import create_topics
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_devkit.openapi_export import DEFAULT_DIR as DEFAULT_OPENAPI_DIR
from loyalty_devkit.openapi_export import stale_documents, write_documents
from loyalty_devkit.platform_runner import database_url_for, member_token, run_platform
from loyalty_shared.http.auth import (
    ADMIN_SCOPE,
    FINANCE_SCOPE,
    MARKETING_SCOPE,
    SUPPORT_SCOPE,
    is_member_id,
)
from loyalty_shared.kafka.client import make_producer
from loyalty_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from loyalty_points.opening.service import ImportReport
    from loyalty_shared.program.schema import Program

app = typer.Typer(help="The loyalty platform's developer CLI.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter topics.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
member_app = typer.Typer(help="A member's data rights: erasure, export.", no_args_is_help=True)
app.add_typer(member_app, name="member")
import_app = typer.Typer(
    help="Bringing data over from the loyalty system this one replaces.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
console = Console()


class Scope(StrEnum):
    """The operator roles of contract 5.1."""

    support = SUPPORT_SCOPE
    marketing = MARKETING_SCOPE
    finance = FINANCE_SCOPE
    admin = ADMIN_SCOPE


Bootstrap = Annotated[
    str, typer.Option(envvar="LOYALTY_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers")
]


@app.command()
def run(
    local_dir: Annotated[Path, typer.Option(help="Where the local database keeps its data")] = Path(
        ".local"
    ),
    broker_port: Annotated[int, typer.Option(help="The local broker's port")] = 9092,
) -> None:
    """Start broker, PostgreSQL, the four services and the console (Ctrl-C stops all)."""
    local_dir.mkdir(parents=True, exist_ok=True)
    raise typer.Exit(asyncio.run(run_platform(local_dir, broker_port)))


@app.command()
def token(
    member_id: Annotated[str, typer.Argument(help="The token's sub: a member's or operator's id")],
    admin: Annotated[bool, typer.Option(help="Add the loyalty:admin scope")] = False,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(help="An operator scope to add (repeat for more)", case_sensitive=False),
    ] = None,
) -> None:
    """Print a JWT signed with the local secret (LOYALTY_JWT_SECRET if set): a member's, or with
    --scope / --admin an operator's (`loyalty token agent-7 --scope loyalty:support`)."""
    typer.echo(member_token(member_id, admin, [s.value for s in scope or ()]))


def _database_option(service: str, *names: str) -> typer.models.OptionInfo:
    """A service's database: the option (`names`, or one named after the parameter) and the
    variable the service itself reads (LOYALTY_<SERVICE>_DATABASE_URL)."""
    option: typer.models.OptionInfo = typer.Option(
        *names,
        envvar=f"LOYALTY_{service.upper()}_DATABASE_URL",
        help=f"The {service} database (default: the one `make run` keeps in .local)",
    )
    return option


#: The points database (`loyalty audit`, `loyalty import balances`).
PointsDatabase = Annotated[str | None, _database_option("points")]
#: The tiers and notifications databases (`loyalty import members`).
TiersDatabase = Annotated[str | None, _database_option("tiers", "--tiers-database-url")]
NotificationsDatabase = Annotated[
    str | None, _database_option("notifications", "--notifications-database-url")
]


def _database(service: str, url: str | None) -> str:
    """`url`, or the service's database `make run` keeps in .local."""
    if url is not None:
        return url
    return database_url_for(LocalPostgres(Path(".local") / "pgdata").dsn(), service)


@app.command()
def audit(
    database_url: PointsDatabase = None,
) -> None:
    """Recompute every member's balances from the points ledger; exit 1 on any difference."""
    from loyalty_points.audit.service import audit as run_audit

    report = asyncio.run(run_audit(_database("points", database_url)))
    for line in report.lines():
        console.print(line, markup=False)
    raise typer.Exit(0 if report.clean else 1)


@app.command()
def topics(bootstrap: Bootstrap = "127.0.0.1:9092", partitions: int = 4) -> None:
    """Create every contract topic and its .dlq twin (existing ones are left alone)."""
    asyncio.run(create_topics(bootstrap, partitions=partitions))
    console.print("topics ready")


@app.command()
def openapi(
    check: Annotated[
        bool, typer.Option("--check", help="Only check: exit 1 if a document is out of date")
    ] = False,
    out: Annotated[Path, typer.Option(help="Where the documents live")] = DEFAULT_OPENAPI_DIR,
) -> None:
    """Write each service's OpenAPI document to docs/openapi/<service>.json, and the gateway's
    (one base URL) to docs/openapi/gateway.json (public host) and gateway-internal.json."""
    if check:
        stale = stale_documents(out)
        for path in stale:
            console.print(f"out of date: {path}")
        if stale:
            console.print("run `.venv/bin/loyalty openapi` to regenerate")
            raise typer.Exit(1)
        console.print("OpenAPI documents are current")
        return
    written = write_documents(out)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print("OpenAPI documents are current")


@app.command()
def asyncapi(
    check: Annotated[
        bool, typer.Option("--check", help="Only check: exit 1 if the document is out of date")
    ] = False,
    path: Annotated[Path, typer.Option(help="The AsyncAPI document")] = DEFAULT_ASYNCAPI_FILE,
) -> None:
    """Write the payload schemas of docs/asyncapi.yaml (below its marker line) from the event
    models; the rest of the document is hand-written."""
    try:
        current = is_current(path) if check else not write_document(path)
    except AsyncApiError as error:
        console.print(f"{path}: {error}")
        raise typer.Exit(1) from None
    if check and not current:
        console.print(f"out of date: {path}\nrun `.venv/bin/loyalty asyncapi` to regenerate")
        raise typer.Exit(1)
    console.print(f"{path} is current" if current else f"wrote {path}")


async def _publish(bootstrap: str, members: int, purchases: int, rate: float, seed: int) -> int:
    settings = ServiceSettings(kafka_bootstrap=bootstrap, jwt_secret="x" * 32)
    producer = make_producer(settings, client_id="loyalty-demo")
    await producer.start()
    sent = 0
    try:
        messages = list(demo_stream(members, purchases, seed))
        columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("events", total=len(messages))
            started = time.monotonic()
            for topic, key, value in messages:
                await producer.send(topic, value=value, key=key, headers=HEADERS)
                sent += 1
                progress.advance(task)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.flush()
    finally:
        await producer.stop()
    return sent


@app.command()
def demo(
    bootstrap: Bootstrap = "127.0.0.1:9092",
    members: Annotated[int, typer.Option(min=1, max=100_000)] = 20,
    purchases: Annotated[int, typer.Option(min=0, max=1_000_000)] = 400,
    rate: Annotated[float, typer.Option(min=1, help="Events per second")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same stream")] = 0,
    points_url: str = "http://127.0.0.1:8001",
) -> None:
    """Publish members, purchases and refunds to a running platform, show some balances, then
    create a small rewards catalogue and redeem a reward."""
    seed = seed or int(time.time())
    sent = asyncio.run(_publish(bootstrap, members, purchases, rate, seed))
    console.print(f"published {sent} events (seed {seed}); balances a few seconds later:")
    time.sleep(2)
    admin = member_token("demo-admin", admin=True)
    table = Table("member", "available", "pending", "lifetime earned")
    with httpx.Client(base_url=points_url, headers={"Authorization": f"Bearer {admin}"}) as client:
        for n in range(1, min(members, 8) + 1):
            member_id = f"m-{n:04d}"
            try:
                body = client.get(f"/v1/members/{member_id}/points").raise_for_status().json()
            except httpx.HTTPError as exc:
                console.print(f"[red]points service not reachable at {points_url}: {exc}[/]")
                raise typer.Exit(1) from None
            table.add_row(
                member_id,
                str(body["available"]),
                str(body["pending"]),
                str(body["lifetime_earned"]),
            )
    console.print(table)
    with httpx.Client(base_url=points_url, headers={"Authorization": f"Bearer {admin}"}) as client:
        _demo_rewards(client, [f"m-{n:04d}" for n in range(1, min(members, 8) + 1)])
    console.print(
        'one member\'s view: curl -H "Authorization: Bearer $(.venv/bin/loyalty token m-0001)" '
        f"{points_url}/v1/members/m-0001/points"
    )


def _demo_rewards(client: httpx.Client, member_ids: list[str]) -> None:
    """A small catalogue (kept if a run before made it), and one member redeeming the cheapest
    reward they can afford."""
    for reward in DEMO_REWARDS:
        response = client.post("/v1/rewards", json=reward)
        if response.status_code not in (201, 409):
            console.print(f"[red]creating reward {reward['reward_id']}: {response.text}[/]")
            return
    console.print(f"catalogue: {', '.join(r['reward_id'] for r in DEMO_REWARDS)}")
    for member_id in member_ids:
        offer = client.get(f"/v1/members/{member_id}/rewards").raise_for_status().json()
        affordable = [r for r in offer["items"] if r["affordable"]]
        if not affordable:
            continue
        reward = affordable[0]
        redeemed = client.post(
            f"/v1/members/{member_id}/reward-redemptions",
            json={"reward_id": reward["reward_id"]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if redeemed.status_code != 201:
            console.print(f"[red]redeeming {reward['reward_id']}: {redeemed.text}[/]")
            return
        coupon = redeemed.json()
        console.print(
            f"{member_id} redeemed {reward['name']['en']} for {coupon['points']} points: "
            f"coupon {coupon['coupon_code']}, valid until {coupon['coupon_expires_at'][:10]}"
        )
        return
    console.print("no member has the points for a reward yet (points are pending 14 days)")


def _offsets(values: list[str]) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for value in values:
        partition, _, offset = value.partition("=")
        if not (partition.isdigit() and offset.isdigit()):
            raise typer.BadParameter(f"{value!r}: expected PARTITION=OFFSET, e.g. 0=1234")
        offsets[int(partition)] = int(offset)
    return offsets


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="The original topic (or its .dlq)")],
    bootstrap: Bootstrap = "127.0.0.1:9092",
    group: Annotated[
        str, typer.Option(help="Consumer group whose committed offsets say where to resume")
    ] = dlq.DEFAULT_GROUP,
    from_offset: Annotated[
        list[str] | None,
        typer.Option(
            "--from-offset",
            help="PARTITION=OFFSET to start at instead (repeatable; only those partitions)",
        ),
    ] = None,
    code: Annotated[
        list[str] | None, typer.Option(help="Only records with this error.code (repeatable)")
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(help="Only records dead-lettered by this service (repeatable)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be replayed; publish, commit nothing")
    ] = False,
    idle_s: Annotated[
        float, typer.Option(min=0.5, help="Stop after this long without a record")
    ] = 3.0,
) -> None:
    """Republish dead letters to their original topic: key, value and headers as they were
    (minus error.*), committing as it goes. Stops at records written after it started."""
    settings = ServiceSettings(kafka_bootstrap=bootstrap, jwt_secret="x" * 32)
    columns = (
        TextColumn("would replay" if dry_run else "replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(dlq.dlq_name(topic), total=None)

        def on_record(letter: dlq.DeadLetter) -> None:
            progress.advance(task)
            total = progress.tasks[task].total
            if total is not None and progress.tasks[task].completed > total:
                progress.update(task, total=progress.tasks[task].completed)

        try:
            report = asyncio.run(
                dlq.replay(
                    settings,
                    topic,
                    group=group,
                    from_offsets=_offsets(from_offset or []) or None,
                    codes=code or (),
                    services=service or (),
                    dry_run=dry_run,
                    idle_s=idle_s,
                    on_total=lambda total: progress.update(task, total=total),
                    on_record=on_record,
                )
            )
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    if dry_run:
        table = Table("partition", "offset", "key", "error.code", "error.service", "to", "replay")
        for letter in report.letters:
            table.add_row(
                str(letter.partition),
                str(letter.offset),
                (letter.key or b"").decode(errors="replace"),
                letter.code,
                letter.service,
                letter.original_topic,
                "yes" if letter.replay else "no (filtered)",
            )
        console.print(table)
        console.print(f"would replay {report.replayed} of {report.seen} from {report.dlq_topic}")
        return
    where = ", ".join(f"{p}={o}" for p, o in sorted(report.positions.items()))
    console.print(
        f"replayed {report.replayed} of {report.seen} from {report.dlq_topic} "
        f"(skipped {report.skipped}); group {group} committed at {where}"
    )


def _member_id(value: str) -> str:
    if not is_member_id(value):
        raise typer.BadParameter(
            "a member id has 1-128 characters, no surrounding spaces and no NUL"
        )
    return value


MemberIdArgument = Annotated[str, typer.Argument(help="The member's id", callback=_member_id)]


def _kafka(bootstrap: str) -> ServiceSettings:
    """Kafka settings from the environment (LOYALTY_KAFKA_*: security, credentials), as the
    services take them."""
    return ServiceSettings(kafka_bootstrap=bootstrap, jwt_secret="x" * 32)


@member_app.command("erase")
def member_erase(
    member_id: MemberIdArgument,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the answers")] = 60,
) -> None:
    """Publish member.erasure_requested (as the shop would) and wait until every service has
    answered privacy.erased; exit 1 if one did not within the timeout."""

    def answered(service: str) -> None:
        console.print(f"{service:<14} erased")

    console.print(
        f"erasure of {member_id} requested; waiting for the services (up to {timeout:.0f} s)"
    )
    done = asyncio.run(
        members.erase(_kafka(bootstrap), member_id, timeout_s=timeout, on_answer=answered)
    )
    missing = [s for s in members.SERVICES if s not in done]
    if missing:
        console.print(f"[red]no answer from {', '.join(missing)}[/]")
        raise typer.Exit(1)
    console.print(f"{member_id} erased in every service")


@member_app.command("export")
def member_export(
    member_id: MemberIdArgument,
    out: Annotated[
        Path | None, typer.Option(help="The JSON file to write (default: export-<id>.json)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="LOYALTY_TOKEN",
            help="A bearer token of the member, support or an admin (default: a local support one)",
        ),
    ] = None,
    points_url: str = "http://127.0.0.1:8001",
    tiers_url: str = "http://127.0.0.1:8002",
    notifications_url: str = "http://127.0.0.1:8003",
    feedback_url: str = "http://127.0.0.1:8004",
) -> None:
    """Everything the four services hold about a member, in one JSON file, with a line per
    service; exit 1 (and no file) if a service did not answer."""
    bearer = token or member_token("loyalty-cli", False, [SUPPORT_SCOPE])
    urls = {
        "points": points_url,
        "tiers": tiers_url,
        "notifications": notifications_url,
        "feedback": feedback_url,
    }
    target = out or Path(f"export-{member_id}.json")

    def line(result: members.ServiceExport) -> None:
        colour = "green" if result.document is not None else "red"
        console.print(f"[{colour}]{result.service:<14}[/] {result.summary()}", soft_wrap=True)

    async def gather() -> list[members.ServiceExport]:
        headers = {"Authorization": f"Bearer {bearer}"}
        clients = {s: httpx.AsyncClient(base_url=u, headers=headers) for s, u in urls.items()}
        try:
            return await members.export(member_id, clients, on_service=line)
        finally:
            for client in clients.values():
                await client.aclose()

    results = asyncio.run(gather())
    if any(r.document is None for r in results):
        console.print("[red]not written: a service did not answer[/]")
        raise typer.Exit(1)
    target.write_bytes(members.document(member_id, results))
    console.print(f"wrote {target}")


@member_app.command("reapply-erasures")
def member_reapply_erasures(
    bootstrap: Bootstrap = "127.0.0.1:9092",
    since: Annotated[
        datetime | None,
        typer.Option(help="Only erasures made at or after this time (the restored backup's)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the erasures; publish nothing")
    ] = False,
) -> None:
    """After a restore from a backup: publish again every member's latest erasure request found
    on loyalty.privacy (under its original id, so a service that still has it skips it)."""
    if since is not None and since.tzinfo is None:
        raise typer.BadParameter("give --since with an offset, e.g. 2026-12-01T02:00:00+00:00")
    due = asyncio.run(members.reapply(_kafka(bootstrap), since=since, dry_run=dry_run))
    table = Table("member", "request", "requested at", "erased at", "answered by")
    for e in due:
        table.add_row(
            e.member_id,
            e.request_id,
            e.requested_at.isoformat(),
            e.erased_at.isoformat(),
            ", ".join(sorted(e.services)),
        )
    console.print(table)
    verb = "would publish" if dry_run else "published"
    console.print(f"{verb} {len(due)} erasure request(s) again")


#: Where an import writes the rows it refused, besides listing the first 100.
RefusedCsv = Annotated[
    Path | None, typer.Option(help="Also write the refused rows (line, reason) to this CSV")
]


def _program(program_file: Path | None) -> Program:
    """The program an import follows (the default one without a file); exit 2 if it is not
    a valid program."""
    from loyalty_shared.program.loader import ProgramError, load_program

    try:
        return load_program(program_file)
    except ProgramError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@contextmanager
def _import_exits() -> Iterator[None]:
    """An import that stops short: exit 2 for a file it cannot read, 130 on Ctrl-C (the
    batches done stay imported, and a run again finishes)."""
    try:
        yield
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("interrupted: the batches done are imported; run again to finish")
        raise typer.Exit(130) from None


@import_app.command("balances")
def import_balances(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header, or NDJSON (.ndjson/.jsonl): member_id, points, "
            "expires_at (optional), source, id (optional; the line number otherwise)",
            exists=True,
            dir_okay=False,
        ),
    ],
    database_url: PointsDatabase = None,
    program_file: Annotated[
        Path | None,
        typer.Option(
            envvar="LOYALTY_PROGRAM_FILE",
            help="The program whose expiry policy dates rows without expires_at",
        ),
    ] = None,
    refused_csv: RefusedCsv = None,
) -> None:
    """Members' opening balances from the system this one replaces: each row an available lot
    and an `opening` ledger entry, once (a run again skips the rows done, so an interrupted
    import is finished by running it again). Exit 1 if a row was refused."""
    from loyalty_points.ledger.expiry import LotExpiry
    from loyalty_points.opening.service import import_balances as run_import

    program = _program(program_file)
    started = last = time.monotonic()

    def progress(report: ImportReport) -> None:
        nonlocal last
        if time.monotonic() - last < 2:
            return
        last = time.monotonic()
        rate = report.rows / (last - started)
        console.print(f"{report.line()} ({rate:,.0f} rows/s)", markup=False, highlight=False)

    with _import_exits():
        report = asyncio.run(
            run_import(
                _database("points", database_url),
                file,
                now=datetime.now(UTC),
                expiry=LotExpiry.of(program),
                on_progress=progress,
            )
        )
    _import_ended(report, refused_csv, time.monotonic() - started)


def _import_ended(report: ImportReport, refused_csv: Path | None, elapsed: float) -> None:
    """An import's refused rows (the first 100, all of them in `refused_csv`), its figures,
    and exit 1 if a row was refused."""
    from loyalty_points.opening.service import csv_of

    for refusal in report.refused[:100]:
        console.print(f"refused line {refusal.line}: {refusal.reason}", markup=False)
    if len(report.refused) > 100:
        console.print(f"... and {len(report.refused) - 100} more refused rows", markup=False)
    if refused_csv is not None:
        refused_csv.write_text(csv_of(report), encoding="utf-8")
        console.print(f"wrote {refused_csv}")
    typer.echo(
        f"{report.line()} in {elapsed:.1f} s ({report.rows / max(elapsed, 1e-6):,.0f} rows/s)"
    )
    raise typer.Exit(1 if report.refused else 0)


@import_app.command("members")
def import_members(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header, or NDJSON (.ndjson/.jsonl): member_id, source, and "
            "contacts (name, email, phone, locale, consent_email, consent_sms, consent_push) "
            "and/or tier, tier_valid_until, qualifying_spend",
            exists=True,
            dir_okay=False,
        ),
    ],
    tiers_database_url: TiersDatabase = None,
    notifications_database_url: NotificationsDatabase = None,
    program_file: Annotated[
        Path | None,
        typer.Option(envvar="LOYALTY_PROGRAM_FILE", help="The program whose tiers rows name"),
    ] = None,
    refused_csv: RefusedCsv = None,
) -> None:
    """Members from the system this one replaces: contacts and consents to the notifications
    service, tier, its validity and qualifying spend to the tiers service, each row once (a
    run again skips the rows done, so an interrupted import is finished by running it again).
    Exit 1 if a row was refused."""
    from loyalty_devkit.member_import import MembersReport
    from loyalty_devkit.member_import import import_members as run_import

    program = _program(program_file)
    started = time.monotonic()
    columns = (
        TextColumn("importing members"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("rows", total=None, summary="reading the file")

        def progress(report: MembersReport) -> None:
            summary = f"imported {report.imported:,} refused {len(report.refused):,}"
            bar.update(task, completed=report.rows, summary=summary)

        with _import_exits():
            report = asyncio.run(
                run_import(
                    _database("tiers", tiers_database_url),
                    _database("notifications", notifications_database_url),
                    file,
                    program=program,
                    now=datetime.now(UTC),
                    on_total=lambda total: bar.update(task, total=total, summary=""),
                    on_progress=progress,
                )
            )
    _import_ended(report, refused_csv, time.monotonic() - started)


@app.command()
def chaos(
    seed: Annotated[int, typer.Option(help="Same seed, same workload (0: pick one)")] = 0,
    events: Annotated[int, typer.Option(min=10, help="Records published")] = 50_000,
    members: Annotated[int, typer.Option(min=1)] = 2_000,
    kills: Annotated[int, typer.Option(min=0, help="Service processes SIGKILLed")] = 24,
    duration: Annotated[
        float | None,
        typer.Option(
            min=10, help="Seconds over which the workload and faults are spread (default: by size)"
        ),
    ] = None,
    postgres_restart: Annotated[bool, typer.Option(help="Restart PostgreSQL once")] = True,
    broker_pause: Annotated[bool, typer.Option(help="SIGSTOP/SIGCONT the broker once")] = True,
    keep: Annotated[bool, typer.Option(help="Keep the temporary folder (logs, data)")] = False,
    refund_probes: Annotated[
        bool,
        typer.Option(
            help="Also publish well-formed refunds the contract refuses (larger than what is "
            "left, a refund id again, another member's order): they must change nothing"
        ),
    ] = True,
) -> None:
    """Two replicas of every service under SIGKILLs, a PostgreSQL restart and a broker pause,
    a generated workload, then every member checked against an independent oracle."""
    from loyalty_devkit.chaos.config import Config
    from loyalty_devkit.chaos.driver import run_chaos

    seed = seed or int(time.time()) % 1_000_000
    config = Config(
        seed=seed,
        events=events,
        members=members,
        kills=kills,
        duration_s=duration or max(60.0, events / 250),
        postgres_restart=postgres_restart,
        broker_pause=broker_pause,
        keep=keep,
        refund_probes=refund_probes,
    )
    report = run_chaos(config)
    for line in report.mismatches[:30]:
        console.print(f"mismatch: {line}", markup=False, soft_wrap=True)
    for finding in report.findings[:10]:
        console.print(f"finding (not counted): {finding}", markup=False, soft_wrap=True)
    for note in report.notes:
        console.print(note, markup=False, soft_wrap=True)
    timings = " ".join(f"{k}={v:.0f}s" for k, v in report.timings.items())
    console.print(
        f"replay: loyalty chaos --seed {seed} --events {events} --members {members} "
        f"--kills {kills}{'' if refund_probes else ' --no-refund-probes'}   ({timings})",
        markup=False,
    )
    typer.echo(report.line())
    raise typer.Exit(1 if report.mismatches else 0)


@app.command("deps-audit")
def deps_audit(
    requirements: Annotated[
        Path, typer.Argument(help="Hashed requirements exported from uv.lock (uv export)")
    ],
    osv_url: Annotated[
        str, typer.Option(envvar="LOYALTY_OSV_URL", help="OSV query endpoint (or a mirror)")
    ] = DEFAULT_OSV_URL,
    skip_when_unreachable: Annotated[
        bool, typer.Option(help="Warn and pass when the advisory service cannot be reached")
    ] = False,
) -> None:
    """Known vulnerabilities in the locked dependencies (pip-audit against OSV)."""
    outcome = audit_requirements(
        requirements, osv_url=osv_url, skip_when_unreachable=skip_when_unreachable
    )
    console.print(outcome.message, markup=False, soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
def soak(
    minutes: Annotated[float, typer.Option(min=0.1, help="How long the load runs")] = 10.0,
    rate: Annotated[
        float, typer.Option(min=1, help="Shop events per second (purchases, refunds, members)")
    ] = 200.0,
    http_rate: Annotated[
        float, typer.Option(min=0, help="HTTP calls per second (reads, redemptions, answers)")
    ] = 20.0,
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between samples")] = 5.0,
    warmup: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds of the load not judged (default: a fifth of it)"),
    ] = None,
    drain_timeout: Annotated[
        float, typer.Option(min=10, help="Seconds lag and outboxes get to reach zero after")
    ] = 300.0,
    limit_mib_per_hour: Annotated[
        float,
        typer.Option(min=0, help="Memory rise per hour the second half may still show"),
    ] = 50.0,
    seed: Annotated[int, typer.Option(help="Same seed, same mix of events (0: pick one)")] = 0,
    out: Annotated[Path, typer.Option(help="Where each run's folder goes")] = Path(".local/soak"),
) -> None:
    """Steady load on one process of each service; memory, outbox backlog and consumer lag
    sampled, plotted to PNG and judged (exit 1 if memory grows without bound or lag or an
    outbox does not drain)."""
    from loyalty_devkit.soak.command import SoakConfig, run_soak

    config = SoakConfig(
        seed=seed or int(time.time()) % 1_000_000,
        minutes=minutes,
        rate=rate,
        http_rate=http_rate,
        interval_s=interval,
        warmup_s=warmup,
        drain_timeout_s=drain_timeout,
        limit_mib_per_hour=limit_mib_per_hour,
        out=out,
    )
    raise typer.Exit(run_soak(config, console))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
