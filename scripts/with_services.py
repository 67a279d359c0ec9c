#!/usr/bin/env python3
"""Run a command beside throwaway PostgreSQL and Redis servers.

    python scripts/with_services.py -- pytest -q

Starts a private PostgreSQL cluster and a private Redis server in a fresh temporary
directory on free ports, exports DATABASE_URL and REDIS_URL to the command, and stops and
deletes both afterwards, also when the command fails or is interrupted. Parallel runs do
not clash: every run has its own directory, ports and socket.

Where the servers come from:
- DATABASE_URL and REDIS_URL both already set: used as they are, nothing is started
  (e.g. a CI service container).
- Otherwise the PostgreSQL server binaries (`pg_config --bindir`, `initdb` on PATH, or
  /usr/lib/postgresql/<version>/bin) and `redis-server` on PATH.
- Neither: with CI set, a clear error (exit 2), because a CI run that silently skips the
  real services proves nothing. Without CI, the command runs on SQLite with eager Celery
  and says so.

initdb refuses to run as root; as root the cluster is created and run as the `postgres`
user (via runuser or su), and the temporary directory is handed to that user.

Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_USER = "postgres"
DATABASE_NAME = "ror_crm"
START_ATTEMPTS = 3  # a free port can be taken by a parallel run between probe and bind: retry
NO_TESTS_COLLECTED = 5  # pytest's exit code when nothing ran


def say(message: str) -> None:
    sys.stderr.write(f"[with_services] {message}\n")
    sys.stderr.flush()


class ServiceError(RuntimeError):
    pass


class Terminated(BaseException):
    """SIGTERM/SIGHUP: unwind through the `finally` blocks that stop the servers."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bindir() -> Path | None:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            output = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout
            candidates.append(Path(output.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    # Debian keeps the server binaries off PATH; pg_config comes with libpq-dev, which may be absent.
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates.extend(Path(p) for p in sorted(versions, key=lambda p: int(Path(p).parent.name), reverse=True))
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


@dataclass
class Postgres:
    bindir: Path
    workdir: Path
    port: int = 0
    run_as: str | None = None  # the user owning the cluster when we are root
    data: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.workdir / "pgdata"
        self.log = self.workdir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self.run_as:
            if shutil.which("runuser"):
                args = ["runuser", "-u", self.run_as, "--", *args]
            else:
                args = ["su", self.run_as, "-s", "/bin/sh", "-c", shlex.join(args)]
        return subprocess.run(args, capture_output=True, text=True, cwd=self.workdir, **kwargs)

    def start(self) -> None:
        result = self._run([
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        ])
        if result.returncode != 0:
            raise ServiceError(f"initdb failed:\n{result.stdout}{result.stderr}")
        for _attempt in range(START_ATTEMPTS):
            self.port = free_port()
            # A test database needs no durability: skip fsync for speed. The socket lives in the
            # private directory, so no other cluster's socket (or permissions) get in the way.
            options = (
                f"-p {self.port} -h 127.0.0.1 -k {shlex.quote(str(self.workdir))} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            result = self._run([
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                "start",
            ])
            if result.returncode == 0:
                break
        else:
            raise ServiceError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{self.log_tail()}")
        result = subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, DATABASE_NAME],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise ServiceError(f"createdb failed:\n{result.stderr}")

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        # Immediate: the data is thrown away anyway, and a test that left a connection open
        # must not keep the run waiting.
        result = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        if result.returncode != 0:
            say(f"pg_ctl stop failed: {result.stderr.strip()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no PostgreSQL log)"


@dataclass
class Redis:
    executable: str
    workdir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        for _attempt in range(START_ATTEMPTS):
            self.port = free_port()
            log = self.workdir / f"redis-{self.port}.log"
            self.process = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir), "--logfile", str(log), "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is for the command; we stop Redis ourselves
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.ping():
                    return
                time.sleep(0.05)
            self.stop()
        raise ServiceError(f"redis-server did not start; see {log}:\n{log.read_text(errors='replace')[-2000:]}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def make_workdir(owner: str | None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="ror-test-services-"))
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    return workdir


def run_command(command: list[str], env: dict[str, str]) -> int:
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except (KeyboardInterrupt, Terminated):
        # SIGINT first: pytest then runs its teardowns (stopping the Celery worker) before
        # the servers go away. A child that ignores it gets SIGTERM, then SIGKILL.
        for stop_signal, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 5), (signal.SIGKILL, None)):
            if process.poll() is not None:
                break
            process.send_signal(stop_signal)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        raise


def exit_code_of(command: list[str], code: int) -> int:
    if code == NO_TESTS_COLLECTED and any("pytest" in part for part in command):
        say("pytest collected no tests: that is a failure, not a pass.")
    return code


def run_with_services(command: list[str], env: dict[str, str], *, bindir: Path | None, redis_server: str | None) -> int:
    """Run `command` with DATABASE_URL and REDIS_URL of servers started here; the exit code is the command's."""
    env = dict(env)
    if env.get("DATABASE_URL") and env.get("REDIS_URL"):
        say("DATABASE_URL and REDIS_URL are set: using those services, starting none.")
        return exit_code_of(command, run_command(command, env))

    missing = [name for name, found in (("PostgreSQL server binaries (initdb, pg_ctl)", bindir),
                                        ("redis-server", redis_server)) if not found]
    if missing:
        message = f"not found: {', '.join(missing)}."
        if env.get("CI"):
            say(f"ERROR: {message} CI must test against real PostgreSQL and Redis; install them "
                "(Debian: apt-get install postgresql redis-server) or set DATABASE_URL and REDIS_URL.")
            return 2
        say(f"{message} Falling back to SQLite and eager Celery; the tests that need the real "
            "services are skipped. Install PostgreSQL and Redis for the full run.")
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        return exit_code_of(command, run_command(command, env))

    run_as = POSTGRES_USER if os.geteuid() == 0 else None
    if run_as:
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            say(f"ERROR: running as root, and initdb refuses root; there is no `{run_as}` user to run it as.")
            return 2
    workdir = make_workdir(run_as)
    postgres = Postgres(bindir=bindir, workdir=workdir, run_as=run_as)
    redis = Redis(executable=redis_server, workdir=workdir)
    try:
        postgres.start()
        redis.start()
        env["DATABASE_URL"] = postgres.url
        env["REDIS_URL"] = redis.url
        env["TEST_SERVICES_DIR"] = str(workdir)  # server logs, for a command that wants to show them
        say(f"PostgreSQL {postgres.url} and Redis {redis.url} (in {workdir})")
        return exit_code_of(command, run_command(command, env))
    except ServiceError as exc:
        say(f"ERROR: {exc}")
        return 2
    except (KeyboardInterrupt, Terminated):
        say("interrupted; stopping the services.")
        return 130
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --, e.g. `-- pytest -q`")

    def terminate(signum, _frame):
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    return run_with_services(
        command, dict(os.environ), bindir=find_postgres_bindir(), redis_server=shutil.which("redis-server")
    )


if __name__ == "__main__":
    sys.exit(main())
