"""The services reach PostgreSQL as the manifests tell them (`sslmode=verify-full` and the
cluster's CA as `sslrootcert` in the database URL, deploy/generate.py): the pool, a single
connection and the migrations (dbmate) then talk TLS to a server whose certificate that CA signed
for the host named, and refuse a server signed by another CA or certified for another host."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from loyalty_devkit.local_broker import free_port
from loyalty_devkit.local_postgres import LocalPostgres, TlsListener
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import connect, create_pool
from loyalty_shared.settings import ServiceSettings
from tests.support.tokens import SECRET

Key = ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(directory: Path, name: str) -> tuple[x509.Certificate, Key]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _server_cert(directory: Path, ca: tuple[x509.Certificate, Key], host: str) -> None:
    """A server certificate for `host` only (not for 127.0.0.1), signed by `ca`."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class TlsServer:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port

    def dsn(self, host: str, ca: str, database: str = "postgres") -> str:
        """The database URL as deploy/generate.py writes it, for this server."""
        root_cert = self.root / f"{ca}.crt"
        return (
            f"postgresql://postgres@{host}:{self.port}/{database}"
            f"?sslmode=verify-full&sslrootcert={root_cert}"
        )


def _server_with_tls() -> Path | None:
    """A PostgreSQL build with TLS: the machine's (Debian's packages), not the embedded one."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    binaries = _server_with_tls()
    if binaries is None:
        pytest.skip("no PostgreSQL built with TLS on this machine (/usr/lib/postgresql/*/bin)")
    root = Path(tempfile.mkdtemp(prefix="loyalty-test-pg-tls-"))
    (root / "certs").mkdir()
    ca = _ca(root, "cluster-ca")
    _ca(root, "another-ca")
    _server_cert(root / "certs", ca, "localhost")
    port = free_port()
    server = LocalPostgres(
        root / "data",
        tls=TlsListener(
            port, root / "certs" / "server.crt", root / "certs" / "server.key", binaries
        ),
    )
    server.start()
    try:
        yield TlsServer(root, port)
    finally:
        server.remove()
        shutil.rmtree(root, ignore_errors=True)


async def test_a_service_connects_over_tls_to_the_host_its_cluster_ca_certified(
    tls_server: TlsServer,
) -> None:
    dsn = tls_server.dsn("localhost", "cluster-ca")
    pool = await create_pool(dsn, ServiceSettings(jwt_secret=SECRET))
    try:
        assert await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await pool.close()
    conn = await connect(dsn)
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()


async def test_a_server_certified_by_another_ca_is_refused(tls_server: TlsServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(tls_server.dsn("localhost", "another-ca"))


async def test_a_server_certified_for_another_host_is_refused(tls_server: TlsServer) -> None:
    """127.0.0.1 is the same server, but its certificate names `localhost` only."""
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(tls_server.dsn("127.0.0.1", "cluster-ca"))


async def test_the_migrations_connect_over_tls_with_the_same_url(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    """dbmate (the migration Job) reads the same URL: `sslmode=verify-full` and `sslrootcert`."""
    (tmp_path / "migrations").mkdir()
    await migrate(
        tls_server.dsn("localhost", "cluster-ca", "tls_migrated"), tmp_path / "migrations"
    )
    conn = await connect(tls_server.dsn("localhost", "cluster-ca", "tls_migrated"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
    finally:
        await conn.close()
