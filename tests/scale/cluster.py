"""A PostgreSQL cluster of this test run's own: a primary, a streaming replica made with pg_basebackup and
PgBouncer in transaction pooling, each on its own free port under a temporary directory.

Debian's PostgreSQL 15 server binaries and PgBouncer run as the `postgres` user when the suite runs as
root (initdb and pgbouncer refuse root). Nothing here touches the machine's own server on 5432.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("SM_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = os.environ.get("SM_TEST_PGBOUNCER", shutil.which("pgbouncer") or "/usr/sbin/pgbouncer")
RUN_AS = "postgres"
DB = "meals"


class ClusterUnavailable(RuntimeError):
    """The binaries this harness needs are missing or a server would not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", RUN_AS, "--", *cmd]


def _run(cmd: list[str]) -> None:
    # output to a file, not a pipe: a server started in the background keeps the pipe open
    with tempfile.TemporaryFile("w+") as out:
        res = subprocess.run(_as_server_user(cmd), stdout=out, stderr=out, timeout=120, check=False)
        if res.returncode != 0:
            out.seek(0)
            raise ClusterUnavailable(f"{Path(cmd[0]).name} failed: {out.read().strip()[-2000:]}")


def check_binaries() -> None:
    missing = [
        str(p) for p in (PG_BIN / "initdb", PG_BIN / "pg_ctl", PG_BIN / "pg_basebackup") if not p.exists()
    ]
    if not Path(PGBOUNCER).exists():
        missing.append("pgbouncer (apt-get install pgbouncer)")
    if missing:
        raise ClusterUnavailable("missing: " + ", ".join(missing))


def _wait(dsn: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Server:
    """One PostgreSQL server: a data directory and a port."""

    data: Path
    port: int
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data.with_suffix(".log")

    def dsn(self, db: str = DB) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def url(self, db: str = DB) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"])
        _wait(self.dsn("postgres"))

    def kill(self) -> None:
        """Stops at once, as a crash would (no checkpoint, clients cut off)."""
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def promote(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "promote"])
        deadline = time.monotonic() + 30
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                if time.monotonic() > deadline:
                    raise ClusterUnavailable("promotion did not finish")
                time.sleep(0.05)


@dataclass
class Cluster:
    root: Path
    primary: Server
    replica: Server
    bouncer_port: int

    def bouncer_url(self, db: str = DB) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.bouncer_port}/{db}"

    def failover_url(self, db: str = DB) -> str:
        """Both servers; libpq connects to whichever accepts writes (the primary, or the promoted replica)."""
        return (
            f"postgresql+psycopg://postgres@/{db}?host=127.0.0.1:{self.primary.port}"
            f"&host=127.0.0.1:{self.replica.port}&target_session_attrs=read-write&connect_timeout=2"
        )

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.dsn("postgres"), autocommit=True) as p:
            row = p.execute("SELECT pg_current_wal_lsn()").fetchone()
            assert row is not None
            target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.replica.dsn("postgres"), autocommit=True) as r:
            while True:
                done = r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
                if done == (True,):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("the replica did not catch up")
                time.sleep(0.05)

    def stop(self) -> None:
        pid = self.root / "pgbouncer.pid"
        if pid.exists():
            try:
                os.kill(int(pid.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass
        for server in (self.replica, self.primary):
            try:
                server.stop()
            except ClusterUnavailable:
                pass


SERVER_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 100
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
full_page_writes = off
wal_receiver_status_interval = 1s
"""

BOUNCER_INI = """
[databases]
* = host=127.0.0.1 port={upstream}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root}/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
pidfile = {root}/pgbouncer.pid
logfile = {root}/pgbouncer.log
ignore_startup_parameters = extra_float_digits,options
"""


def start_cluster(root: Path, *, synchronous: bool = True) -> Cluster:
    """Primary, replica and pooler under `root`. Synchronous: a commit returns once the replica has it,
    so a promoted replica holds every commit a client was told about."""
    check_binaries()
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid = pwd.getpwnam(RUN_AS)
        os.chown(root, uid.pw_uid, uid.pw_gid)
    primary = Server(root / "primary", free_port())
    replica = Server(root / "replica", free_port())
    _run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(primary.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-N",
            "-E",
            "UTF8",
        ]
    )
    conf = SERVER_CONF.format(port=primary.port, sockets=root)
    _append(primary.data / "postgresql.conf", conf)
    _append(primary.data / "pg_hba.conf", "host replication postgres 127.0.0.1/32 trust\n")
    primary.start()
    with psycopg.connect(primary.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DB}")
    _run([
        str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast",
    ])  # fmt: skip
    # a promoted replica has no standby of its own: it must not wait for one
    _append(replica.data / "postgresql.conf", f"port = {replica.port}\nsynchronous_standby_names = ''\n")
    _write(
        replica.data / "postgresql.auto.conf",
        f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres application_name=replica'\n",
    )
    replica.start()
    if synchronous:  # only now: with no standby yet every commit would wait
        with psycopg.connect(primary.dsn("postgres"), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'replica'")
            conn.execute("SELECT pg_reload_conf()")
    bouncer_port = free_port()
    _write(root / "userlist.txt", '"postgres" ""\n')
    _write(root / "pgbouncer.ini", BOUNCER_INI.format(upstream=primary.port, port=bouncer_port, root=root))
    _run([PGBOUNCER, "-d", str(root / "pgbouncer.ini")])
    cluster = Cluster(root, primary, replica, bouncer_port)
    try:
        _wait(cluster.bouncer_url().replace("+psycopg", ""))
        cluster.wait_replayed()
    except Exception:
        cluster.stop()
        raise
    return cluster


def _append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    if os.geteuid() == 0:
        uid = pwd.getpwnam(RUN_AS)
        os.chown(path, uid.pw_uid, uid.pw_gid)
