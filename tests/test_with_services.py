"""scripts/with_services.py: the launcher `make test` runs the suite with."""

import importlib.util
import os
import socket
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "with_services.py"

spec = importlib.util.spec_from_file_location("with_services", SCRIPT)
with_services = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = with_services  # dataclasses look their module up there
spec.loader.exec_module(with_services)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CI"}}
    return {**env, **extra}


def test_in_ci_missing_services_are_an_error_not_a_skip(capsys):
    code = with_services.run_with_services(
        python("raise SystemExit(0)"), clean_env(CI="true"), bindir=None, redis_server=None
    )

    assert code == 2
    assert "CI must test against real PostgreSQL and Redis" in capsys.readouterr().err


def test_without_ci_missing_services_fall_back_to_sqlite_and_say_so(capsys):
    # The command fails unless it runs without DATABASE_URL/REDIS_URL (SQLite, eager Celery).
    command = python("import os, sys; sys.exit(3 if {'DATABASE_URL', 'REDIS_URL'} & set(os.environ) else 0)")
    env = clean_env(DATABASE_URL="postgres://nowhere/x")

    code = with_services.run_with_services(command, env, bindir=None, redis_server="/usr/bin/redis-server")

    assert code == 0
    assert "Falling back to SQLite and eager Celery" in capsys.readouterr().err


def test_no_tests_collected_stays_a_failure(capsys):
    code = with_services.run_with_services(
        [sys.executable, "-c", "raise SystemExit(5)", "pytest"], clean_env(), bindir=None, redis_server=None
    )

    assert code == 5
    assert "pytest collected no tests" in capsys.readouterr().err


def test_starts_real_servers_for_the_command_and_removes_them_afterwards(tmp_path):
    bindir, redis_server = with_services.find_postgres_bindir(), with_services.shutil.which("redis-server")
    if bindir is None or redis_server is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL server binaries and redis-server")
        pytest.skip("PostgreSQL server binaries or redis-server not installed")
    report = tmp_path / "seen.txt"
    # The command proves both servers answer, and writes down where they were.
    probe = f"""
import os, socket, psycopg
from urllib.parse import urlsplit
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    assert conn.execute("select current_database()").fetchone()[0] == "ror_crm"
redis = urlsplit(os.environ["REDIS_URL"])
with socket.create_connection((redis.hostname, redis.port)) as sock:
    sock.sendall(b"PING\\r\\n")
    assert sock.recv(16).startswith(b"+PONG")
open({str(report)!r}, "w").write(" ".join(os.environ[k] for k in ("DATABASE_URL", "REDIS_URL", "TEST_SERVICES_DIR")))
raise SystemExit(7)  # the command's own exit code must come back
"""
    code = with_services.run_with_services(python(probe), clean_env(), bindir=bindir, redis_server=redis_server)

    assert code == 7
    database_url, redis_url, workdir = report.read_text().split()
    for url in (database_url, redis_url):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # stopped: nothing listens any more
    assert not Path(workdir).exists()
