"""Load test: gunicorn on 127.0.0.1 against the 1x data, 8 concurrent clients.

Seeds the manage page's data (benchmarks.agent_list.seed, 1,000 agents), collects the
static files and starts gunicorn (`config.wsgi`, 2 workers x 4 threads, production
settings with plain http allowed) on a free port against this section's throwaway
database, logs a Manager in through the real login form, then runs CLIENTS threads,
each with its own keep-alive http.client connection, for BENCH_LOAD_SECONDS (default 30)
per page: the manage page and an editable ticket page. Reports requests/s, p50/p95/p99
latency and errors (a status other than 200, or an exception). gunicorn is stopped at
the end, also when something fails.

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import http.client
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.agent_list import seed
from benchmarks.runner import section_database_url
from benchmarks.timing import settle
from core.roles import MANAGER
from tickets.models import Ticket
from tickets.transitions import Status

AGENTS = int(os.environ.get("BENCH_AGENTS", "1000"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
WARMUP_SECONDS = 3.0
CLIENTS = 8
WORKERS = 2
THREADS = 4
TIMEOUT = 30
GOALS = {"manage": 150, "ticket": 100}  # requests per second
BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_PRODUCTION="1",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}",
        # Plain http on 127.0.0.1: no redirect to https (no TLS proxy in front here).
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=section_database_url(),
        LOG_LEVEL="WARNING",
    )
    return env


def _collectstatic(env: dict[str, str]) -> None:
    """What `make serve` does first: the manifest the production static storage needs."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )


def _start(port: int, env: dict[str, str], log) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    return subprocess.Popen(
        [
            str(gunicorn),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--timeout",
            "120",
            # No shared control socket under ~/.gunicorn: another gunicorn may be running.
            "--no-control-socket",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {seconds:.0f} s")


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def _login(port: int, username: str, password: str) -> str:
    """Log in through the login form; returns the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = _cookies(response)["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": f"http://127.0.0.1:{port}",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    session = _cookies(response).get("sessionid")
    if response.status != 302 or not session:
        raise RuntimeError(f"login failed: HTTP {response.status}")
    return f"sessionid={session}; csrftoken={csrf}"


@dataclass
class LoadFigures:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    first_error: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def _percentile(sorted_ms: list[float], fraction: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(fraction * len(sorted_ms)))]


def hammer(port: int, path: str, cookie: str, *, clients: int, seconds: float) -> LoadFigures:
    """`clients` threads, each on its own keep-alive connection, GET `path` as fast as the
    answers come back until `seconds` have passed; every answer's latency is kept."""
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    first_error: list[str] = []

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if not ok and not first_error:
                    first_error.append(f"HTTP {response.status}")
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            except (OSError, http.client.HTTPException) as error:
                ok = False
                if not first_error:
                    first_error.append(f"{type(error).__name__}: {error}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            latencies[n].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[n] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(ms for per_client in latencies for ms in per_client)
    return LoadFigures(
        requests=len(every),
        errors=sum(errors),
        seconds=elapsed,
        p50_ms=statistics.median(every) if every else float("nan"),
        p95_ms=_percentile(every, 0.95),
        p99_ms=_percentile(every, 0.99),
        first_error=first_error[0] if first_error else "",
    )


def _manager(password: str):
    user = get_user_model().objects.create_user("bench-load", password=password)
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


def run(out) -> str:
    """Seed 1x, serve it with gunicorn, load each page; return the markdown section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The load test runs on PostgreSQL only.")
    rng = random.Random(20261202)
    out.write(f"Seeding {AGENTS:,} agents (1x)...\n")
    with override_settings(DEBUG=False):  # no query log while seeding
        seeded = seed(agents=AGENTS, first_agent=1, rng=rng)
    out.write(f"  seeded in {seeded['seconds']:.0f} s\n")
    settle(out)
    password = secrets.token_urlsafe(16)
    user = _manager(password)
    ticket = (
        Ticket.objects.filter(
            status__in=[Status.NEW, Status.IN_REPAIR], billing_agent__is_active=True
        )
        .order_by("pk")
        .first()
    )
    paths = {"manage": "/billing-agents/", "ticket": f"/tickets/{ticket.pk}/"}
    port = _free_port()
    env = _server_env(port)
    out.write("Collecting static files (production storage needs the manifest)...\n")
    _collectstatic(env)
    results: dict[str, LoadFigures] = {}
    log_path = Path(f"/tmp/bench-gunicorn-{port}.log")
    with log_path.open("wb") as log:
        server = _start(port, env, log)
        try:
            _wait_until_up(port, server)
            out.write(f"gunicorn up on 127.0.0.1:{port} (pid {server.pid})\n")
            cookie = _login(port, user.username, password)
            load_before = os.getloadavg()[0]
            for name, path in paths.items():
                out.write(f"  warm-up {path}\n")
                hammer(port, path, cookie, clients=CLIENTS, seconds=WARMUP_SECONDS)
                out.write(f"  {CLIENTS} clients for {SECONDS:.0f} s on {path}\n")
                results[name] = hammer(port, path, cookie, clients=CLIENTS, seconds=SECONDS)
                f = results[name]
                out.write(
                    f"    {f.per_second:.1f} req/s, p50 {f.p50_ms:.0f} ms, "
                    f"p95 {f.p95_ms:.0f} ms, {f.errors} errors\n"
                )
            load_after = os.getloadavg()[0]
        finally:
            _stop(server)
            out.write(f"gunicorn stopped (log: {log_path})\n")
    return _report(seeded, paths, results, (load_before, load_after))


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _report(
    seeded: dict, paths: dict[str, str], results: dict[str, LoadFigures], load: tuple
) -> str:
    titles = {"manage": "manage page", "ticket": "editable ticket page"}
    lines = [
        "## Load test",
        "",
        f"- Date: {timezone.localtime():%Y-%m-%d %H:%M %Z}; machine: {os.cpu_count()} CPUs "
        f"(os.cpu_count()); load average (1 min) {load[0]:.1f} before the runs, "
        f"{load[1]:.1f} after (other work on the machine counts against these figures).",
        "",
        f"gunicorn (`config.wsgi`, {WORKERS} workers x {THREADS} threads, gthread) on "
        "127.0.0.1 with the production settings (DJANGO_PRODUCTION=1, DEBUG off, WhiteNoise "
        "manifest storage, persistent database connections; SECURE_SSL_REDIRECT off because "
        f"plain http) against the 1x data ({seeded['agents']:,} agents, "
        f"{seeded['customers']:,} customers, {seeded['tickets']:,} tickets), after a "
        "CHECKPOINT and sync of the seeding's writes. A Manager logs "
        f"in through the login form; then {CLIENTS} client threads in the benchmark process, "
        "each with its own keep-alive `http.client` connection, request one page as fast "
        f"as the answers come for {SECONDS:.0f} s (after a {WARMUP_SECONDS:.0f} s warm-up "
        "not counted). Errors: any status other than 200, or an exception. **Client and "
        f"server share the machine's {os.cpu_count()} cores**, so the client's own CPU "
        "time comes out of the server's.",
        "",
        "| page | path | requests | requests/s | p50 ms | p95 ms | p99 ms | errors | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, path in paths.items():
        f = results.get(name)
        if f is None:
            lines.append(f"| {titles[name]} | `{path}` | not measured | | | | | | |")
            continue
        goal = GOALS[name]
        ok = f.per_second >= goal and f.errors == 0
        error = f" (first: {f.first_error})" if f.first_error else ""
        lines.append(
            f"| {titles[name]} | `{path}` | {f.requests:,} | {f.per_second:.1f} "
            f"| {f.p50_ms:.0f} | {f.p95_ms:.0f} | {f.p99_ms:.0f} | {f.errors}{error} "
            f"| ≥ {goal} req/s, 0 errors: {_verdict(ok)} |"
        )
    return "\n".join(lines) + "\n"
