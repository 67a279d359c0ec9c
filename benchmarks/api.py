#!/usr/bin/env python
"""Load benchmark of the partner API as production serves it, beside its floors (not a test).

    python scripts/with_services.py -- python benchmarks/api.py --scale medium
    DATABASE_URL=postgres://… REDIS_URL=redis://… python benchmarks/api.py --scale medium [--reuse]

One run:
1. loads the scoring benchmark's synthetic agency (benchmarks/scoring.py, the same seeded rows),
   scores every contact as of its time and computes the metrics of its 5,000-attendee event;
   with --reuse a database that already holds that dataset is measured as it is;
2. creates a partner API key with the read scope and, in this process (Django's test client),
   finds the URLs: the contact list's first page; `stage=…&score_min=…&ordering=-score` (the
   commonest stage, its median score); the page --depth (200) `next` links deep; a contact;
   the big event's metrics. It records each request's SQL (CaptureQueriesContext);
3. starts gunicorn as in production (`ror_crm.wsgi`, gunicorn.conf.py, sync workers, DEBUG off,
   DATABASE_CONN_MAX_AGE=60, the throttle counted in Redis, its rate raised so that nothing is
   throttled) once per --workers count (default 2 and 4), on free loopback ports, with
   benchmarks/api_settings.py: the product's settings and URLs plus two constant views;
4. measures in --rounds (3) interleaved rounds, each target for --seconds or --requests,
   whichever comes first, with --clients (16) concurrent clients on loopback (a thread each,
   a new connection per request: gunicorn's sync workers close every connection):
   - each endpoint on each server: req/s and p95 latency;
   - floor b on each server: `api/bench/drf-constant/`, a constant dict behind the same DRF
     authentication, permission and throttle; and `api/bench/django-constant/`, a plain Django
     view (the same middleware) answering the same dict;
   - floor a, once a round: the endpoint's own SQL replayed by psycopg, each client on its own
     connection, a unit being the request's whole set of statements (with the `SELECT 1` of the
     connection health check that CONN_HEALTH_CHECKS runs once per request);
5. reports each figure as the median of the rounds: req/s, ÷ floor (req/s ÷ the lower of floor
   a and b), p95 ms, and the DRF path's cost, plain Django req/s ÷ DRF constant req/s − 1;
6. splits one request of each endpoint and constant view in this process by where its time
   goes (SQL with the loading of its rows, ORM rows, filters, serialization, rendering,
   authentication, throttle, cache round trips, the rest); --split-requests 0 skips it.

Targets (the issue): every list endpoint ≥ 0.5 × its floor; the DRF path's authentication and
throttle ≤ 25 % over a plain Django view; p95 ≤ 50 ms at 16 clients on 4 workers; `--scale
medium` in under 5 minutes. The load generator shares the machine with the server and the
database: on a 2-core machine it takes a share of the cores it measures.

It prints the figures and writes them into BENCHMARKS.md (the section "api-<scale>") unless
--no-write. Like the scoring benchmark it refuses a database holding data unless --reset (empty
it, then load) or --reuse (measure the dataset it holds) is given.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scoring_dataset import load_scoring_benchmark, write_results_section  # benchmarks/, the running script's folder

scoring_benchmark = load_scoring_benchmark()
PROJECT_ROOT = scoring_benchmark.PROJECT_ROOT

# The throttle stays in the path (counted per key in Redis), at a rate no run reaches.
THROTTLE_RATE = "100000000/min"
CONN_MAX_AGE = "60"
TARGET_RATIO = 0.5  # every list endpoint ≥ 0.5 × its floor
TARGET_OVERHEAD = 0.25  # authentication + throttle ≤ 25 % over a plain Django view
TARGET_P95_MS = 50.0  # at 16 concurrent clients on 4 workers
TARGET_P95_WORKERS = 4
DRF_CONSTANT = "/api/bench/drf-constant/"
DJANGO_CONSTANT = "/api/bench/django-constant/"
SERVER_START_TIMEOUT = 60


def fail(message: str) -> None:
    print(f"benchmarks/api.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def setup_django() -> None:
    """The server's settings in this process too (DEBUG off, persistent connections, the raised
    throttle rate, the constant views), so that the SQL recorded here is the SQL the server sends."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.api_settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["DATABASE_CONN_MAX_AGE"] = CONN_MAX_AGE
    os.environ["API_THROTTLE_RATE"] = THROTTLE_RATE
    if not os.environ.get("DJANGO_SECRET_KEY"):
        os.environ["DJANGO_SECRET_KEY"] = "benchmark-only-" + secrets.token_urlsafe(40)
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, before collectstatic
    scoring_benchmark.setup_django()


# --------------------------------------------------------------------------- dataset


@dataclass
class Data:
    contacts: int
    events: int
    big_event_id: int
    generated_s: float | None = None  # None: reused
    scored_s: float | None = None  # None: the scores were there


def prepare_data(scale: Any, seed: int, *, reset: bool, reuse: bool) -> Data:
    """The scoring benchmark's dataset, every contact scored as of its time, the big event's metrics."""
    from django.db import connection

    from contacts.models import Contact
    from events.models import Event
    from scoring.models import ContactScore, EventMetrics
    from scoring.services import compute_event_metrics
    from scoring.services.recompute import chunk_size_setting

    occupied = scoring_benchmark.existing_rows()
    generated_s = None
    if occupied and reuse:
        contacts = Contact.objects.count()
        if contacts != scale.contacts:
            fail(f"--reuse: the database holds {contacts:,} contacts, the scale {scale.name} {scale.contacts:,}; "
                 "give --reset to load the scale's dataset instead")
        print(f"Reusing the dataset in the database ({contacts:,} contacts).")
    else:
        if occupied and not reset:
            fail(f"the database already holds data ({', '.join(occupied)}); give --reuse to measure it as it is "
                 "(the scoring benchmark's dataset of this scale) or --reset to empty it and load the dataset")
        print(f"Generating scale {scale.name} ({scale.contacts:,} contacts, seed {seed}) …")
        started = time.perf_counter()
        if occupied:
            print("  --reset: emptying the benchmark's tables and the tables referring to them")
            scoring_benchmark.reset_database()
        scoring_benchmark.generate(scale, seed)
        generated_s = time.perf_counter() - started

    # The generator loads the 5,000-attendee event last.
    big_event = Event.objects.order_by("-pk").first()
    scored_s = None
    if ContactScore.objects.count() < Contact.objects.count():
        print("Scoring every contact …")
        started = time.perf_counter()
        scoring_benchmark.measure_workers_recompute(chunk_size_setting(), os.cpu_count() or 1)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scoring_contactscore")
        scored_s = time.perf_counter() - started
    if not EventMetrics.objects.filter(event=big_event).exists():
        started = time.perf_counter()
        compute_event_metrics(big_event.pk, as_of=scoring_benchmark.AS_OF + timedelta(days=1), clv=False)
        print(f"  metrics of event {big_event.pk}: {time.perf_counter() - started:.2f} s")
    return Data(Contact.objects.count(), Event.objects.count(), big_event.pk, generated_s, scored_s)


# --------------------------------------------------------------------------- endpoints


@dataclass
class Endpoint:
    name: str
    path: str
    is_list: bool
    statements: list[str] = field(default_factory=list)  # its SQL, as recorded in this process
    note: str = ""


def api_client(key: str) -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_ACCEPT="application/json")


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def get_ok(client: Any, path: str) -> Any:
    response = client.get(path)
    if response.status_code != 200:
        fail(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
    return response


def find_endpoints(client: Any, big_event_id: int, depth: int) -> list[Endpoint]:
    """The issue's five requests, with the parameters and the deep cursor worked out on this dataset."""
    from django.db.models import Count

    from scoring.models import ContactScore

    stages = ContactScore.objects.values("stage").annotate(n=Count("contact_id")).order_by("-n", "stage")
    stage, in_stage = stages[0]["stage"], stages[0]["n"]
    median = ContactScore.objects.filter(stage=stage).order_by("score").values_list("score", flat=True)[in_stage // 2]
    score_min = int(median)  # a round figure a client would send, at or below the median

    url, pages = "/api/v1/contacts/", 0
    started = time.perf_counter()
    while pages < depth:
        next_url = get_ok(client, url).json()["next"]
        if not next_url:
            break
        url, pages = local_path(next_url), pages + 1
    print(f"  walked {pages} next links in {time.perf_counter() - started:.1f} s")

    middle = ContactScore.objects.order_by("contact_id").values_list("contact_id", flat=True)[
        ContactScore.objects.count() // 2]
    return [
        Endpoint("contacts, first page", "/api/v1/contacts/", True),
        Endpoint("contacts, stage + score_min, ordering=-score",
                 f"/api/v1/contacts/?stage={stage}&score_min={score_min}&ordering=-score", True,
                 note=f"stage={stage} (the commonest, {in_stage:,} contacts), score_min={score_min} (its median)"),
        Endpoint(f"contacts, cursor {pages} pages deep", url, True, note=f"{pages} `next` links from the first page"),
        Endpoint("contact detail", f"/api/v1/contacts/{middle}/", False),
        Endpoint("event metrics", f"/api/v1/events/{big_event_id}/metrics/", False,
                 note=f"the {scoring_benchmark.BIG_EVENT_ATTENDEES:,}-attendee event"),
    ]


def record_sql(client: Any, endpoints: list[Endpoint]) -> None:
    """Each endpoint's statements as it sends them, after a warm-up request, plus the connection's
    health check (one `SELECT 1` per request on a persistent connection, outside the query log)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings = connection.settings_dict
    health_check = ["SELECT 1"] if settings["CONN_HEALTH_CHECKS"] and settings["CONN_MAX_AGE"] else []
    for endpoint in endpoints:
        get_ok(client, endpoint.path)
        with CaptureQueriesContext(connection) as queries:
            get_ok(client, endpoint.path)
        endpoint.statements = health_check + [query["sql"] for query in queries.captured_queries]
        writes = [sql for sql in endpoint.statements if not sql.lstrip().upper().startswith("SELECT")]
        if writes:
            fail(f"{endpoint.name} sends statements other than SELECT: {writes[:2]}")


# --------------------------------------------------------------------------- load generator


@dataclass
class Run:
    completed: int
    seconds: float
    latencies: list[float]
    cpu_s: float  # this process's CPU time during the run: what the load generator itself took

    @property
    def per_s(self) -> float:
        return self.completed / self.seconds

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def drive(units: list[Callable[[], None]], seconds: float, max_units: int) -> Run:
    """Run each unit (one client each) in its own thread, again and again, until `seconds` have
    passed or `max_units` were started altogether; every unit's duration is recorded."""
    barrier = threading.Barrier(len(units) + 1)
    lock = threading.Lock()
    started_units = 0
    latencies: list[list[float]] = [[] for _ in units]
    errors: list[BaseException] = []
    deadline = 0.0

    def take() -> bool:
        nonlocal started_units
        with lock:
            if started_units >= max_units:
                return False
            started_units += 1
            return True

    def client(index: int) -> None:
        unit, mine = units[index], latencies[index]
        barrier.wait()
        try:
            while time.perf_counter() < deadline and take():
                began = time.perf_counter()
                unit()
                mine.append(time.perf_counter() - began)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(len(units))]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    flat = [latency for mine in latencies for latency in mine]
    return Run(len(flat), elapsed, flat, time.process_time() - cpu)


class BadResponse(RuntimeError):
    pass


def http_unit(port: int, path: str, key: str) -> Callable[[], None]:
    """One GET on a new connection, read to the end (the sync worker closes it after the answer)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Api-Key {key}\r\n"
        "Accept: application/json\r\nConnection: close\r\n\r\n"
    ).encode()

    def unit() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        if answer[9:12] != b"200":
            raise BadResponse(f"GET {path} answered {answer[:300]!r}")

    return unit


class SqlReplay:
    """--clients psycopg connections of their own (plain psycopg: its own loaders, Django's client-side
    binding), kept open for the whole run as gunicorn's workers keep theirs."""

    def __init__(self, clients: int) -> None:
        import psycopg
        from django.db import connection

        params = connection.get_connection_params()
        for name in ("context", "cursor_factory"):
            params.pop(name, None)
        self.connections = [
            psycopg.connect(**params, autocommit=True, cursor_factory=psycopg.ClientCursor) for _ in range(clients)
        ]

    def units(self, statements: list[str]) -> list[Callable[[], None]]:
        def unit_of(conn: Any) -> Callable[[], None]:
            cursor = conn.cursor()

            def unit() -> None:
                for sql in statements:
                    cursor.execute(sql)
                    if cursor.description is not None:
                        cursor.fetchall()

            return unit

        return [unit_of(conn) for conn in self.connections]

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DJANGO_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "benchmarks.api_settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": CONN_MAX_AGE,
        "API_THROTTLE_RATE": THROTTLE_RATE,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


class Server:
    """gunicorn with the production command's settings (gunicorn.conf.py, sync workers, its access
    log written to the null device) on a free loopback port."""

    def __init__(self, workers: int, log_dir: Path) -> None:
        self.workers = workers
        self.log = log_dir / f"gunicorn-{workers}-workers.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> None:
        for _attempt in range(3):  # a free port can be taken between the probe and gunicorn's bind
            self.port = free_port()
            with self.log.open("ab") as output:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "ror_crm.wsgi:application", "--config", "gunicorn.conf.py",
                     "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--timeout", "60",
                     "--access-logfile", os.devnull],
                    cwd=PROJECT_ROOT, env=server_env(), stdout=output, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            if self.wait_until_serving():
                return
            self.stop()
        fail(f"gunicorn with {self.workers} workers did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def wait_until_serving(self) -> bool:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        request = f"GET {DJANGO_CONSTANT} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request)
                    if sock.recv(64)[9:12] == b"200":
                        return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the arbiter stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def servers(worker_counts: list[int]) -> Iterator[dict[int, Server]]:
    with tempfile.TemporaryDirectory(prefix="api-benchmark-") as log_dir:
        started: dict[int, Server] = {}
        try:
            for workers in worker_counts:
                server = Server(workers, Path(log_dir))
                server.start()
                started[workers] = server
                print(f"  gunicorn, {workers} sync workers, on 127.0.0.1:{server.port}")
            yield started
        finally:
            for server in started.values():
                server.stop()


# --------------------------------------------------------------------------- measurement


@dataclass
class Figure:
    """One target measured in every round."""

    runs: list[Run] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return statistics.median(run.per_s for run in self.runs)

    @property
    def p95_ms(self) -> float:
        return statistics.median(run.p95_ms for run in self.runs)

    def rounds(self) -> str:
        return ", ".join(f"{run.per_s:,.0f}" for run in self.runs)


@dataclass
class Results:
    endpoints: list[Endpoint]
    workers: list[int]
    clients: int
    http: dict[tuple[str, int], Figure] = field(default_factory=lambda: defaultdict(Figure))  # (target, workers)
    sql: dict[str, Figure] = field(default_factory=lambda: defaultdict(Figure))  # endpoint name

    def floor(self, endpoint: Endpoint, workers: int) -> float:
        return min(self.sql[endpoint.name].per_s, self.http[(DRF_CONSTANT, workers)].per_s)

    def ratio(self, endpoint: Endpoint, workers: int) -> float:
        return self.http[(endpoint.path, workers)].per_s / self.floor(endpoint, workers)

    def overhead(self, workers: int) -> float:
        """What the DRF path (authentication, permission, throttle, DRF's dispatch and rendering)
        costs over a plain Django view answering the same dict: plain req/s ÷ DRF req/s − 1."""
        return self.http[(DJANGO_CONSTANT, workers)].per_s / self.http[(DRF_CONSTANT, workers)].per_s - 1

    def client_cores(self) -> float:
        """The load generator's median CPU use during the HTTP runs, in cores."""
        return statistics.median(run.cpu_s / run.seconds for figure in self.http.values() for run in figure.runs)

    def replay_cores(self) -> float:
        """This process's median CPU use while replaying SQL (psycopg loading the rows), in cores."""
        return statistics.median(run.cpu_s / run.seconds for figure in self.sql.values() for run in figure.runs)


def measure(endpoints: list[Endpoint], running: dict[int, Server], key: str, args: argparse.Namespace) -> Results:
    results = Results(endpoints, sorted(running), args.clients)
    replay = SqlReplay(args.clients)
    targets = [("plain Django constant", DJANGO_CONSTANT), ("DRF constant", DRF_CONSTANT),
               *((endpoint.name, endpoint.path) for endpoint in endpoints)]

    def http(server: Server, path: str, seconds: float, max_units: int) -> Run:
        return drive([http_unit(server.port, path, key) for _ in range(args.clients)], seconds, max_units)

    try:
        warmup_requests = 4 * args.clients  # enough for every worker to have served each target
        print(f"Warming up (every target {args.warmup:g} s or {warmup_requests} requests) …")
        for server in running.values():
            for _name, path in targets:
                http(server, path, args.warmup, warmup_requests)
        for endpoint in endpoints:
            drive(replay.units(endpoint.statements), args.warmup, warmup_requests)

        for round_number in range(1, args.rounds + 1):
            print(f"Round {round_number} of {args.rounds}:")
            for workers, server in running.items():
                for name, path in targets:
                    run = http(server, path, args.seconds, args.requests)
                    results.http[(path, workers)].runs.append(run)
                    print(f"  {workers} workers  {name:<48} {run.per_s:8,.0f} req/s  p95 {run.p95_ms:6.1f} ms  "
                          f"({run.completed:,} in {run.seconds:.1f} s)")
            for endpoint in endpoints:
                run = drive(replay.units(endpoint.statements), args.seconds, args.requests)
                results.sql[endpoint.name].runs.append(run)
                print(f"  SQL floor  {endpoint.name:<48} {run.per_s:8,.0f} /s     p95 {run.p95_ms:6.1f} ms  "
                      f"({len(endpoint.statements)} statements)")
    finally:
        replay.close()
    return results


# --------------------------------------------------------------------------- where one request's time goes


SPLIT_PARTS = ["SQL", "ORM rows", "filters", "serialization", "rendering", "authentication", "throttle",
               "cache", "rest"]


class Split:
    """Time of a request by the innermost part it is in: wrappers around the product's and the
    frameworks' functions mark where a part begins and ends; what no part holds is `rest`
    (middleware, URL resolving, DRF's dispatch, pagination, …). The wrappers cost about a
    microsecond a call, most of it in the per-row ORM part."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[str] = []
        self.mark = 0.0
        self.restore: list[tuple[Any, str, Any]] = []

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        if self.stack:
            self.totals[self.stack[-1]] += now - self.mark
        self.stack.append(part)
        self.mark = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.totals[self.stack.pop()] += now - self.mark
        self.mark = now

    def wrap(self, owner: Any, name: str, part: str) -> None:
        raw = owner.__dict__[name]
        is_classmethod = isinstance(raw, classmethod)
        original = raw.__func__ if is_classmethod else raw

        def wrapper(*args, **kwargs):
            self.enter(part)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, name, classmethod(wrapper) if is_classmethod else wrapper)
        self.restore.append((owner, name, raw))

    def install(self) -> None:
        from django.core.cache.backends.redis import RedisCache
        from django.db.backends.utils import CursorWrapper
        from django.db.models import Model
        from django.db.models.query import RelatedPopulator
        from django.db.models.sql.compiler import SQLCompiler
        from rest_framework import generics, serializers

        from partners.authentication import APIKeyAuthentication
        from partners.renderers import JSONRenderer
        from partners.serializers import PartnerModelSerializer
        from partners.throttling import APIKeyRateThrottle

        self.wrap(SQLCompiler, "execute_sql", "SQL")  # the round trip and psycopg's loading of the rows
        self.wrap(CursorWrapper, "execute", "SQL")
        self.wrap(Model, "from_db", "ORM rows")
        self.wrap(RelatedPopulator, "populate", "ORM rows")
        self.wrap(generics.GenericAPIView, "filter_queryset", "filters")
        self.wrap(serializers.Serializer, "to_representation", "serialization")
        self.wrap(serializers.ListSerializer, "to_representation", "serialization")
        self.wrap(PartnerModelSerializer, "to_representation", "serialization")  # reads in one pass
        self.wrap(JSONRenderer, "render", "rendering")
        self.wrap(APIKeyAuthentication, "authenticate", "authentication")
        self.wrap(APIKeyRateThrottle, "allow_request", "throttle")
        for name in ("get", "get_many", "add", "incr"):
            self.wrap(RedisCache, name, "cache")

    def uninstall(self) -> None:
        for owner, name, raw in reversed(self.restore):
            setattr(owner, name, raw)
        self.restore.clear()


def split_requests(client: Any, endpoints: list[Endpoint], requests: int) -> dict[str, dict[str, float]]:
    """Milliseconds per request by part, each endpoint `requests` times in this process (the test client)."""
    splits = {}
    for endpoint in endpoints:
        get_ok(client, endpoint.path)
        split = Split()
        split.install()
        try:
            for _ in range(requests):
                split.enter("rest")
                get_ok(client, endpoint.path)
                split.leave()
        finally:
            split.uninstall()
        splits[endpoint.name] = {part: split.totals[part] * 1000 / requests for part in SPLIT_PARTS}
    return splits


# --------------------------------------------------------------------------- report


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(results: Results) -> list[str]:
    lines = []
    for workers in results.workers:
        ratios = [(endpoint, results.ratio(endpoint, workers)) for endpoint in results.endpoints if endpoint.is_list]
        worst = min(ratios, key=lambda item: item[1])
        lines.append(f"List endpoints ≥ {TARGET_RATIO:g} × their floor, {workers} workers: "
                     f"{met(worst[1] >= TARGET_RATIO)} (lowest: {worst[0].name}, {worst[1]:.2f}).")
    for workers in results.workers:
        overhead = results.overhead(workers)
        lines.append(f"Authentication + throttle ≤ {TARGET_OVERHEAD:.0%} over a plain Django view, {workers} workers: "
                     f"{met(overhead <= TARGET_OVERHEAD)} ({overhead:.0%}).")
    if TARGET_P95_WORKERS in results.workers:
        p95 = [(endpoint, results.http[(endpoint.path, TARGET_P95_WORKERS)].p95_ms) for endpoint in results.endpoints]
        worst = max(p95, key=lambda item: item[1])
        lines.append(f"p95 ≤ {TARGET_P95_MS:g} ms at {results.clients} clients on {TARGET_P95_WORKERS} "
                     f"workers: {met(worst[1] <= TARGET_P95_MS)} (highest: {worst[0].name}, {worst[1]:.0f} ms).")
    return lines


def table_rows(results: Results) -> list[list[str]]:
    rows = []
    for endpoint in results.endpoints:
        sql = results.sql[endpoint.name]
        for workers in results.workers:
            figure = results.http[(endpoint.path, workers)]
            target = "" if not endpoint.is_list else f"≥ {TARGET_RATIO:g}"
            rows.append([endpoint.name, str(workers), f"{figure.per_s:,.0f}", f"{sql.per_s:,.0f}",
                         f"{results.http[(DRF_CONSTANT, workers)].per_s:,.0f}",
                         f"{results.ratio(endpoint, workers):.2f}", target, f"{figure.p95_ms:.1f}", figure.rounds()])
    for name, path in (("DRF constant (floor b)", DRF_CONSTANT), ("plain Django constant", DJANGO_CONSTANT)):
        for workers in results.workers:
            figure = results.http[(path, workers)]
            rows.append([name, str(workers), f"{figure.per_s:,.0f}", "", "", "", "", f"{figure.p95_ms:.1f}",
                         figure.rounds()])
    return rows


HEADER = ["endpoint", "workers", "req/s", "floor a: SQL/s", "floor b: DRF constant req/s", "÷ floor", "target",
          "p95 ms", "rounds, req/s"]


def print_report(results: Results, splits: dict[str, dict[str, float]] | None) -> None:
    print()
    widths = [max(len(row[i]) for row in [HEADER, *table_rows(results)]) for i in range(len(HEADER))]
    for row in [HEADER, *table_rows(results)]:
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width)
                        in enumerate(zip(row, widths, strict=True))))
    print()
    for workers in results.workers:
        print(f"DRF path over plain Django, {workers} workers: {results.overhead(workers):+.0%}")
    for line in targets(results):
        print(line.replace("**", ""))
    print(f"Load generator: {results.client_cores():.2f} cores (median over the HTTP runs); SQL replay: "
          f"{results.replay_cores():.2f} cores of this process (median over its runs).")
    if splits:
        print()
        print("Where one request's time goes, in this process (ms per request):")
        width = max(len(part) for part in SPLIT_PARTS) + 2
        print(f"{'endpoint':<48}" + "".join(f"{part:>{width}}" for part in [*SPLIT_PARTS, "total"]))
        for name, parts in splits.items():
            print(f"{name:<48}" + "".join(f"{value:>{width}.2f}" for value in [*parts.values(), sum(parts.values())]))


@dataclass
class Context:
    scale: Any
    data: Data
    args: argparse.Namespace
    load_average: tuple[float, float, float]
    total_s: float = 0.0


def markdown_section(results: Results, splits: dict[str, dict[str, float]] | None, context: Context) -> str:
    machine = scoring_benchmark.machine_info()
    args = context.args
    redis = "in Redis" if os.environ.get("REDIS_URL") else "in each worker's memory (no REDIS_URL)"
    lines = [
        f"### partner API at {context.data.contacts:,} contacts",
        "",
        f"Measured {machine['date']} on {machine['cores']} cores (load average {context.load_average[0]:.2f} when the "
        f"measurements began: the machine is shared), PostgreSQL {machine['postgresql']}, Python {machine['python']}, "
        f"gunicorn {importlib.metadata.version('gunicorn')} sync workers, DEBUG off, DATABASE_CONN_MAX_AGE={CONN_MAX_AGE}, "
        f"the throttle counted {redis}. {args.clients} concurrent clients on loopback (a thread each, a new "
        f"connection per request), each target for {args.seconds:g} s or {args.requests:,} requests, "
        f"median of {args.rounds} interleaved rounds; the load generator took {results.client_cores():.2f} cores of "
        f"the machine while measuring, the SQL replay's client side (psycopg loading the rows) "
        f"{results.replay_cores():.2f}. Dataset of benchmarks/scoring.py (seed {args.seed}): "
        f"{context.data.contacts:,} contacts, {context.data.events:,} events, every contact scored. "
        f"Whole run {context.total_s:.0f} s.",
        "",
        "Floor a: the endpoint's own SQL replayed by psycopg (its statements per second, each client on its own "
        "connection); floor b: a constant dict behind the same DRF authentication, permission and throttle. "
        "÷ floor: req/s ÷ the lower of the two.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|" + "---:|" * 5 + "---|---:|---|",
        *("| " + " | ".join(row) + " |" for row in table_rows(results)),
        "",
        *(f"- {endpoint.name}: `{endpoint.path if len(endpoint.path) < 80 else endpoint.path[:60] + '…'}`, "
          f"{len(endpoint.statements)} SQL statements"
          + (f"; {endpoint.note}" if endpoint.note else "") + "."
          for endpoint in results.endpoints),
        "",
        *(f"- {line}" for line in targets(results)),
    ]
    if splits:
        lines += [
            "",
            "One request of each endpoint in a single process (Django's test client, no gunicorn), ms by part: "
            "SQL (round trips and psycopg's loading of the rows), ORM rows (model instances), filters (the view's "
            "filter backends: filter set, search, ordering), serialization, rendering, authentication and throttle "
            "(their Python), cache (Redis round trips of both), the rest (middleware, routing, DRF's dispatch, "
            "pagination):",
            "",
            "| endpoint | " + " | ".join(SPLIT_PARTS) + " | total |",
            "|---|" + "---:|" * (len(SPLIT_PARTS) + 1),
            *(f"| {name} | " + " | ".join(f"{value:.2f}" for value in parts.values()) + f" | {sum(parts.values()):.2f} |"
              for name, parts in splits.items()),
        ]
    return "\n".join(lines)


def write_markdown(key: str, section: str) -> None:
    write_results_section(scoring_benchmark.BENCHMARKS_MD, key, section)


# --------------------------------------------------------------------------- main


def worker_counts(value: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts, e.g. 2,4") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("worker counts are whole numbers ≥ 1")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(scoring_benchmark.SCALES), default="small",
                        help="dataset size (default: small)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    parser.add_argument("--reset", action="store_true", help="empty a database that already holds data, then load")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the scale's dataset the database already holds (scores and metrics added if missing)")
    parser.add_argument("--workers", type=worker_counts, default=[2, 4], help="gunicorn sync workers, e.g. 2,4 (default)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per target and round (default 2)")
    parser.add_argument("--requests", type=int, default=20_000, help="at most this many requests per target and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; figures are their medians (default 3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per target and server")
    parser.add_argument("--depth", type=int, default=200, help="pages of the deep cursor (default 200)")
    parser.add_argument("--split-requests", type=int, default=20,
                        help="requests per endpoint in the in-process time split (0 skips it; default 20)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.reset and args.reuse:
        parser.error("--reset and --reuse exclude each other")
    if args.clients < 1 or args.requests < 1 or args.rounds < 1 or args.seconds <= 0:
        parser.error("--clients, --requests and --rounds must be ≥ 1, --seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_started = time.perf_counter()
    setup_django()
    scoring_benchmark.require_postgresql()
    scoring_benchmark.migrate()
    if not os.environ.get("REDIS_URL"):
        print("No REDIS_URL: the throttle counts in each process's memory, not in Redis as in production.")

    from partners.models import PartnerAPIKey

    scale = scoring_benchmark.Scale(args.scale, scoring_benchmark.SCALES[args.scale])
    data = prepare_data(scale, args.seed, reset=args.reset, reuse=args.reuse)
    api_key, key = PartnerAPIKey.objects.create_key(name="benchmarks/api.py", can_read=True, can_write=False)
    try:
        client = api_client(key)
        print("Finding the requests and their SQL …")
        endpoints = find_endpoints(client, data.big_event_id, args.depth)
        record_sql(client, endpoints)
        for endpoint in endpoints:
            print(f"  {endpoint.name}: {len(endpoint.statements)} statements, {endpoint.path[:100]}")
        print("Starting gunicorn …")
        load_average = os.getloadavg()
        with servers(args.workers) as running:
            results = measure(endpoints, running, key, args)
        constants = [Endpoint("DRF constant", DRF_CONSTANT, False), Endpoint("plain Django constant", DJANGO_CONSTANT, False)]
        splits = split_requests(client, endpoints + constants, args.split_requests) if args.split_requests else None
    finally:
        api_key.delete()
    context = Context(scale, data, args, load_average, time.perf_counter() - run_started)
    print_report(results, splits)
    print(f"Whole run: {context.total_s:.0f} s (load average at the start of the measurements: "
          f"{', '.join(f'{value:.2f}' for value in load_average)}).")
    if not args.no_write:
        write_markdown(f"api-{scale.name}", markdown_section(results, splits, context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
