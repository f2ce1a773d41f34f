"""Start real, throwaway PostgreSQL, Redis and S3-compatible (moto) servers for tests.

Each server listens on a free port on 127.0.0.1 and keeps all its state in a
fresh directory under ``base_dir``; ``stop()`` kills it and removes the
directory. Only the standard library is used, so this works before (or
without) the project's own dependencies.

PostgreSQL refuses to run as root. When the current process is root, the data
directory is handed to an unprivileged system user (``lexbase-test``, created
if absent) and the PostgreSQL binaries run through ``runuser -u``.

Missing binaries raise :class:`ServiceUnavailable`; the caller (a pytest
fixture) decides whether that means skip or fail. ``scripts/provision-services.sh``
installs everything needed on Debian.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MotoServer",
    "PostgresServer",
    "RedisServer",
    "ServiceUnavailable",
    "find_free_port",
    "start_moto",
    "start_postgres",
    "start_redis",
]

PG_MAJOR = 15
PG_USER = "lexbase"
PG_DATABASE = "lexbase_test"
UNPRIVILEGED_USER = "lexbase-test"
BINDIR_ENV = "LEXBASE_TEST_PG_BINDIR"
STARTUP_TIMEOUT = 30.0


class ServiceUnavailable(RuntimeError):
    """A test service cannot be started (binaries missing, start failed)."""


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(cmd: list[str], *, what: str, timeout: float = 60.0) -> str:
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",  # the unprivileged user may not be able to enter our cwd
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"{what} failed: {exc}"
        raise ServiceUnavailable(msg) from exc
    if proc.returncode != 0:
        msg = (
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout.strip()}\n{proc.stderr.strip()}".rstrip()
        )
        raise ServiceUnavailable(msg)
    return proc.stdout


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_unprivileged_user() -> pwd.struct_passwd:
    """Return the user PostgreSQL runs as when we are root (create it if absent)."""
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    # A concurrent test process may create it first; check again afterwards.
    with contextlib.suppress(ServiceUnavailable):
        _run(
            [
                useradd,
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                UNPRIVILEGED_USER,
            ],
            what=f"creating user {UNPRIVILEGED_USER}",
        )
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as exc:
        msg = f"cannot create system user {UNPRIVILEGED_USER!r} to run PostgreSQL"
        raise ServiceUnavailable(msg) from exc


def _as_user(cmd: list[str]) -> list[str]:
    """Prefix cmd so it runs as the unprivileged user when we are root."""
    if not _is_root():
        return cmd
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", UNPRIVILEGED_USER, "--", *cmd]


def _pg_bindir() -> Path:
    candidates: list[Path] = []
    override = os.environ.get(BINDIR_ENV)
    if override:
        candidates.append(Path(override))
    candidates.append(Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(ServiceUnavailable):
            candidates.append(Path(_run([pg_config, "--bindir"], what="pg_config").strip()))
    for bindir in candidates:
        if all((bindir / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres", "psql")):
            return bindir
    tried = ", ".join(str(c) for c in candidates)
    msg = (
        f"PostgreSQL binaries (initdb, pg_ctl, postgres, psql) not found in: {tried}. "
        f"Run scripts/provision-services.sh as root or set {BINDIR_ENV}."
    )
    raise ServiceUnavailable(msg)


def _make_service_dir(base_dir: Path, prefix: str) -> Path:
    base_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir))
    path.chmod(0o755)
    return path


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Roughly: can user reach path (every component searchable by it)?"""
    for component in [*reversed(path.parents), path]:
        st = component.stat()
        if st.st_uid == user.pw_uid:
            bit = 0o100
        elif st.st_gid == user.pw_gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    url: str
    port: int
    datadir: Path
    bindir: Path = field(repr=False)
    workdir: Path = field(repr=False)
    user: str = PG_USER
    database: str = PG_DATABASE
    _stopped: bool = field(default=False, repr=False)

    def psql(self, sql: str, *, database: str | None = None) -> str:
        """Run sql through psql and return its unaligned, tuples-only output."""
        return _run(
            _as_user(
                [
                    str(self.bindir / "psql"),
                    "-X",
                    "-q",
                    "-At",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-d",
                    database or self.database,
                    "-c",
                    sql,
                ]
            ),
            what="psql",
        )

    def restart(self) -> None:
        """Stop the server (fast mode) and start it again, dropping every connection.

        Not a crash stop: this throwaway cluster runs with fsync and synchronous_commit off
        for speed, so a crash would lose recent commits by design of the test setup.
        """
        self.stop_server()
        self.start_server()

    def stop_server(self) -> None:
        """Stop the server (fast mode: connections dropped, commits kept); files stay."""
        pg_ctl = str(self.bindir / "pg_ctl")
        _run(
            _as_user([pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "stop"]),
            what="pg_ctl stop",
        )

    def start_server(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        _run(
            _as_user(
                [
                    pg_ctl,
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.datadir / "restart.log"),
                    "-w",
                    "start",
                ]
            ),
            what="pg_ctl start",
        )

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its files."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if (self.datadir / "postmaster.pid").exists():
                _run(
                    _as_user(
                        [
                            str(self.bindir / "pg_ctl"),
                            "-D",
                            str(self.datadir),
                            "-m",
                            "immediate",
                            "-w",
                            "stop",
                        ]
                    ),
                    what="pg_ctl stop",
                )
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_postgres(base_dir: Path) -> PostgresServer:
    """Initialise and start a PostgreSQL cluster with database lexbase_test and pgvector."""
    bindir = _pg_bindir()
    runas: pwd.struct_passwd | None = None
    if _is_root():
        if not shutil.which("runuser") and not Path("/usr/sbin/runuser").exists():
            msg = "running as root but runuser is missing; cannot start PostgreSQL"
            raise ServiceUnavailable(msg)
        runas = _ensure_unprivileged_user()

    workdir = _make_service_dir(base_dir, "postgres-")
    if runas is not None:
        if not _traversable_by(workdir, runas):
            # e.g. pytest's /tmp/pytest-of-root is 0700: use the system temp dir.
            shutil.rmtree(workdir, ignore_errors=True)
            workdir = _make_service_dir(Path(tempfile.gettempdir()), "lexbase-postgres-")
            if not _traversable_by(workdir, runas):
                shutil.rmtree(workdir, ignore_errors=True)
                msg = (
                    f"neither {base_dir} nor {tempfile.gettempdir()} is traversable by "
                    f"user {runas.pw_name!r}, which must run PostgreSQL"
                )
                raise ServiceUnavailable(msg)
        os.chown(workdir, runas.pw_uid, runas.pw_gid)
    datadir = workdir / "data"

    port = find_free_port()
    server = PostgresServer(
        url=f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}",
        port=port,
        datadir=datadir,
        bindir=bindir,
        workdir=workdir,
    )
    try:
        _run(
            _as_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "--auth=trust",
                    "-U",
                    PG_USER,
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ]
            ),
            what="initdb",
            timeout=120.0,
        )
        settings = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{datadir}'",
            "max_connections": "100",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# lexbase test settings\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        _run(
            _as_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-l",
                    str(workdir / "postgres.log"),
                    "-w",
                    "-t",
                    str(int(STARTUP_TIMEOUT)),
                    "start",
                ]
            ),
            what="pg_ctl start",
            timeout=STARTUP_TIMEOUT + 10,
        )
        server.psql(f"CREATE DATABASE {PG_DATABASE}", database="postgres")
        server.psql("CREATE EXTENSION IF NOT EXISTS vector")
    except BaseException as exc:
        log = workdir / "postgres.log"
        detail = ""
        if log.exists():
            detail = "\n--- postgres.log ---\n" + log.read_text(errors="replace")[-2000:]
        with contextlib.suppress(Exception):
            server.stop()
        if isinstance(exc, ServiceUnavailable) and detail:
            raise ServiceUnavailable(f"{exc}{detail}") from exc
        raise
    return server


def _redis_ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A running throwaway Redis server."""

    url: str
    port: int
    workdir: Path = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)

    def ping(self) -> bool:
        """Return True if the server answers PING."""
        return _redis_ping(self.port)

    def shutdown(self) -> None:
        """Stop the server but keep its port and directory, for `start_again`. Persistence is
        off, so everything it held (queued messages included) is gone, as after a crash."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def start_again(self) -> None:
        """Start the server again on the same port, with the same arguments."""
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.process.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                msg = f"redis-server did not come back on port {self.port}"
                raise ServiceUnavailable(msg)
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate the server and delete its directory."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(base_dir: Path) -> RedisServer:
    """Start redis-server on a free port with persistence disabled."""
    exe = shutil.which("redis-server")
    if exe is None:
        msg = "redis-server not found on PATH; run scripts/provision-services.sh as root"
        raise ServiceUnavailable(msg)
    workdir = _make_service_dir(base_dir, "redis-")
    port = find_free_port()
    log = (workdir / "redis.log").open("wb")
    try:
        process = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--daemonize",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
        msg = f"cannot run {exe}: {exc}"
        raise ServiceUnavailable(msg) from exc
    log.close()  # the child has its own copy of the descriptor
    server = RedisServer(
        url=f"redis://127.0.0.1:{port}/0", port=port, workdir=workdir, process=process
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.ping():
        if process.poll() is not None or time.monotonic() > deadline:
            output = (workdir / "redis.log").read_text(errors="replace")[-2000:]
            server.stop()
            msg = f"redis-server did not answer PING on port {port}:\n{output}"
            raise ServiceUnavailable(msg)
        time.sleep(0.05)
    return server


def _http_answers(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - loopback test server
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP error is still an answer
    except OSError:
        return False


@dataclass
class MotoServer:
    """A running throwaway S3-compatible server (moto in server mode), state in memory.

    Started with a journal, moto's recorder appends every request to a file, and
    `start_again()` replays it into the restarted server: the objects outlive the process, as
    they would on a server that keeps them on disk."""

    url: str
    port: int
    workdir: Path = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    journal: Path | None = None
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # moto accepts any credentials

    def ping(self) -> bool:
        """Return True if the server answers HTTP."""
        return _http_answers(f"{self.url}/moto-api/")

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def start_again(self) -> None:
        """Start the server again on its port and replay its journal into it."""
        if self.journal is None:
            msg = "this moto server keeps no journal: a restart would forget its objects"
            raise RuntimeError(msg)
        self.process = _spawn_moto(self.workdir, self.port, self.journal)
        _await_moto(self)
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.url}/moto-api/recorder/replay-recording", method="POST"
        )
        with urllib.request.urlopen(request, timeout=120):  # noqa: S310
            pass

    def stop(self) -> None:
        """Terminate the server and delete its directory."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _spawn_moto(workdir: Path, port: int, journal: Path | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if journal is not None:
        env |= {"MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": str(journal)}
    with (workdir / "moto.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )


def _await_moto(server: MotoServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.ping():
        if server.process.poll() is not None or time.monotonic() > deadline:
            output = (server.workdir / "moto.log").read_text(errors="replace")[-2000:]
            server.stop()
            msg = f"moto.server did not answer HTTP on port {server.port}:\n{output}"
            raise ServiceUnavailable(msg)
        time.sleep(0.05)


def start_moto(base_dir: Path, *, journal: bool = False) -> MotoServer:
    """Start moto's S3-compatible server on a free port of 127.0.0.1 (with `journal`, one
    that `start_again()` can restart without losing its objects)."""
    try:
        import moto.server  # noqa: F401 - only checks that moto[server] is installed
    except ImportError as exc:
        msg = f"moto[server] is not installed ({exc}); install the dev extra"
        raise ServiceUnavailable(msg) from exc
    workdir = _make_service_dir(base_dir, "moto-")
    port = find_free_port()
    journal_path = workdir / "journal.jsonl" if journal else None
    try:
        process = _spawn_moto(workdir, port, journal_path)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        msg = f"cannot run moto.server: {exc}"
        raise ServiceUnavailable(msg) from exc
    server = MotoServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        workdir=workdir,
        process=process,
        journal=journal_path,
    )
    _await_moto(server)
    return server
