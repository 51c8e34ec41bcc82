"""Benchmark: the clerk's pages under load, on SQLite and on PostgreSQL side by side.

For each database it builds a fresh database with N invoices and their history (bulk_create),
serves it with gunicorn on a free port of 127.0.0.1, logs a clerk in and drives the inbox, the
exception queue and invoice pages with a bounded load generator (threads, a fixed request count
and a time limit). It prints p50/p95 latency, requests per second and the queries each page
makes. PostgreSQL is a throw-away cluster started here (needs /usr/lib/postgresql/15/bin).

    .venv/bin/python bench/load.py [--invoices 100000] [--requests 60] [--threads 4]
                                   [--time-limit 30] [--db sqlite,postgres] [--pages inbox,invoice]
                                   [--json out.json] [--before-code OLD_TREE] [--code TREE]

Each page kind is driven on its own (``--requests`` per kind), so every row has its own rate and
server CPU per request (gunicorn + PostgreSQL, read from /proc: it holds on a busy machine where
wall-clock figures do not).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "bench-clerk-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Inside the seeding subprocess (Django configured from the environment) ---------------------

# (name, path or a callable of the seeded ids that picks one): the pages under load.
def page_paths(ids: dict, rng: random.Random) -> list[tuple[str, str]]:
    inv = ids["ids"]
    vendor = ids["vendor_ids"][0]
    return [
        ("inbox", "/"),
        ("inbox_p3", "/?page=3"),
        ("inbox_deep", "/?page=400"),
        ("work_tab", "/?state=work"),
        ("exception_tab", "/?state=exception"),
        ("vendor_filter", f"/?vendor={vendor}"),
        ("search", "/?q=B-00123"),
        ("exception_queue", "/exceptions/"),
        ("exception_kind", "/exceptions/?kind=duplicate"),
        ("invoice", [f"/invoices/{pk}/" for pk in rng.sample(inv["any"], min(200, len(inv["any"])))]),
        ("invoice_work", [f"/invoices/{pk}/" for pk in rng.sample(inv["work"], min(200, len(inv["work"])))]),
    ]


def seed(n_invoices: int) -> dict:
    """Migrate and seed ``n_invoices`` invoices with history; return the ids to drive."""
    import django

    django.setup()
    from django.core.management import call_command

    from _load_seed import seed_world

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    cpu0 = time.process_time()
    seeded = seed_world(n_invoices, password=PASSWORD)
    return {"seeded": seeded, "seed_s": round(time.perf_counter() - started, 1),
            "seed_cpu_s": round(time.process_time() - cpu0, 1)}


def prepare(seeded: dict) -> dict:
    """In the tree about to be served: apply its migrations (timed: that is where new indexes
    are built), refresh PostgreSQL's statistics, and count the queries each page makes
    (Django test client, same settings as gunicorn)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # Fresh bulk-loaded tables: give the planner statistics now rather than whenever
        # autovacuum gets to them, so every run sees the plans production would settle on.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-clerk"))
    queries = {}
    for name, target in page_paths(seeded, random.Random(5)):
        url = target if isinstance(target, str) else target[0]
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            status = client.get(url).status_code
        assert status == 200, (url, status)
        queries[name] = len(ctx)
    return {"queries": queries, "migrate_s": round(migrate_s, 1)}


# --- In the driver --------------------------------------------------------------------------------


@contextmanager
def postgres_cluster(workdir: Path):
    """A throw-away PostgreSQL cluster on a free port; yields its DATABASE_URL."""
    data = workdir / "pg"
    data.mkdir()
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} "
            "-c fsync=off -c synchronous_commit=off")
    subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
                    "-o", opts, "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_pg, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "bench"], check=True, capture_output=True)
        yield f"postgres://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


def _login(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = session.post(f"{base}/login/", data={"username": "bench-clerk", "password": PASSWORD,
                                                "csrfmiddlewaretoken": token},
                        headers={"Referer": f"{base}/login/"}, timeout=30, allow_redirects=False)
    assert resp.status_code == 302, resp.status_code
    return session


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p * len(values)) - 1))]


class CpuMeter:
    """CPU seconds (user + system) spent by the server side: gunicorn (master and workers, read
    from /proc including reaped children) and, for PostgreSQL, the postmaster with its backends."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> float:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # [1] is the parent pid; [11:15] utime, stime, cutime, cstime (reaped children).
                stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
        total, todo = 0, list(self.pids)
        while todo:
            pid = todo.pop()
            total += stats.get(pid, (0, 0))[1]
            todo.extend(child for child, (ppid, _cpu) in stats.items() if ppid == pid)
        return total / self.tick


def drive(base: str, paths: list[str], *, requests_total: int, threads: int, time_limit: float,
          meter: CpuMeter) -> dict:
    """``threads`` logged-in sessions request ``paths`` (round robin) until ``requests_total``
    are done or ``time_limit`` seconds are up. Returns latency, rate and server CPU per request."""
    sessions = [_login(base) for _ in range(threads)]
    for session in sessions:  # warm each worker's caches (templates, permissions) off the clock
        session.get(base + paths[0], timeout=120)
    lock = threading.Lock()
    todo = iter(range(requests_total))
    timings: list[float] = []
    errors = []
    deadline = time.monotonic() + time_limit

    def worker(session):
        while time.monotonic() < deadline:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            path = paths[i % len(paths)]
            start = time.perf_counter()
            resp = session.get(base + path, timeout=120)
            elapsed = time.perf_counter() - start
            with lock:
                timings.append(elapsed)
                if resp.status_code != 200:
                    errors.append((path, resp.status_code))

    cpu0, client0 = meter.read(), time.process_time()
    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    server_cpu, client_cpu = meter.read() - cpu0, time.process_time() - client0
    done = len(timings)
    return {
        "requests": done, "seconds": round(wall, 2), "req_per_s": round(done / wall, 1),
        "p50_ms": round(statistics.median(timings) * 1000, 1), "p95_ms": round(_pct(timings, 0.95) * 1000, 1),
        "server_cpu_ms": round(server_cpu * 1000 / done, 1), "client_cpu_ms": round(client_cpu * 1000 / done, 1),
        "errors": errors[:5], "error_count": len(errors),
    }


def _postmaster_pid(url: str, workdir: Path) -> int | None:
    pidfile = workdir / "pg" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if url.startswith("postgres") and pidfile.exists() else None


def _subprocess(code: Path, env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=code, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{args[0]} failed in {code}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_side(db: str, args) -> dict:
    """One database: seed it once (with the first tree's schema), then for each tree (``before``
    if given, then ``after``): migrate, start gunicorn on it and drive every page kind."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ap-load-{db}-"))
    os.chmod(workdir, 0o755)
    trees = ([("before", args.before_code.resolve())] if args.before_code else []) + [("after", args.code.resolve())]
    try:
        with (postgres_cluster(workdir) if db == "postgres" else _nullctx(f"sqlite:///{workdir / 'load.sqlite3'}")) as url:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url,
                   "AP_VAR_DIR": str(workdir / "var"), "DJANGO_DEBUG": "0", "AP_LOG_LEVEL": "WARNING",
                   "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "AP_EXTRACT_ON_INGEST": "0"}
            env.pop("REDIS_URL", None)
            t0 = time.perf_counter()
            seeded = _subprocess(trees[0][1], {**env, "PYTHONPATH": str(trees[0][1])}, "--seed", str(args.invoices))
            print(f"[{db}] seeded in {time.perf_counter() - t0:.0f} s: {seeded['seeded']['counts']} "
                  f"(inserts {seeded['seed_s']} s wall, {seeded['seed_cpu_s']} s CPU in Python)",
                  file=sys.stderr, flush=True)
            ids_file = workdir / "seeded.json"
            ids_file.write_text(json.dumps(seeded["seeded"]))
            runs = {}
            for label, code in trees:
                tree_env = {**env, "PYTHONPATH": str(code)}
                prepared = _subprocess(code, tree_env, "--prepare", str(ids_file))
                print(f"[{db} {label}] migrate {prepared['migrate_s']} s, queries {prepared['queries']}",
                      file=sys.stderr, flush=True)
                runs[label] = {"migrate_s": prepared["migrate_s"], "pages": serve_and_drive(
                    db, label, code, tree_env, workdir, url, seeded["seeded"], prepared["queries"], args)}
            return {"db": db, "rows": seeded["seeded"]["counts"], "seed_s": seeded["seed_s"],
                    "seed_cpu_s": seeded["seed_cpu_s"], "runs": runs}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def serve_and_drive(db, label, code, env, workdir, url, seeded, queries, args) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--timeout", "120", "--log-level", "warning"],
        cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=(workdir / f"gunicorn-{label}.log").open("wb"),
        start_new_session=True,
    )
    try:
        _wait_for_port(port, timeout=60)
        meter = CpuMeter([server.pid] + [p for p in [_postmaster_pid(url, workdir)] if p])
        pages = {}
        for name, target in page_paths(seeded, random.Random(5)):
            if args.pages and name not in args.pages:
                continue
            paths = [target] if isinstance(target, str) else target
            pages[name] = drive(f"http://127.0.0.1:{port}", paths, requests_total=args.requests,
                                threads=args.threads, time_limit=args.time_limit, meter=meter)
            pages[name]["queries"] = queries.get(name)
            print(f"[{db} {label}] {_row(name, pages[name])}", file=sys.stderr, flush=True)
        return pages
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def _nullctx(value):
    yield value


def _wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout} s")


HEADER = f"{'page':<16}{'req':>5}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'srv CPU ms/req':>16}{'queries':>9}"


def _row(name: str, r: dict) -> str:
    return (f"{name:<16}{r['requests']:>5}{r['req_per_s']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}"
            f"{r['server_cpu_ms']:>16}{r['queries'] if r['queries'] is not None else '?':>9}"
            + (f"  ERRORS {r['error_count']}: {r['errors']}" if r["error_count"] else ""))


def report(results: list[dict]) -> None:
    for r in results:
        runs = r["runs"]
        print(f"\n{r['db']}: {r['rows']['invoices']} invoices, {sum(r['rows'].values())} rows "
              f"(bulk inserts {r['seed_s']} s, {r['seed_cpu_s']} s CPU); "
              + ", ".join(f"migrate {label} {run['migrate_s']} s" for label, run in runs.items()))
        if "before" in runs:
            print(f"{'page':<16}{'p50 ms before':>14}{'after':>8}{'p95 before':>12}{'after':>8}"
                  f"{'req/s before':>14}{'after':>7}{'CPU ms/req before':>19}{'after':>7}{'queries':>10}")
            for name, p in runs["after"]["pages"].items():
                b = runs["before"]["pages"][name]
                queries = f"{b['queries']}->{p['queries']}"
                print(f"{name:<16}{b['p50_ms']:>14}{p['p50_ms']:>8}{b['p95_ms']:>12}{p['p95_ms']:>8}"
                      f"{b['req_per_s']:>14}{p['req_per_s']:>7}{b['server_cpu_ms']:>19}{p['server_cpu_ms']:>7}"
                      f"{queries:>10}")
        else:
            print(HEADER)
            for name, p in runs["after"]["pages"].items():
                print(_row(name, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60, help="requests per page kind")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=30, help="seconds per page kind at most")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pages", type=lambda s: s.split(","), default=None, help="only these page kinds")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="project tree to serve (e.g. an older commit from git archive, for 'before')")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--before-code", type=Path,
                        help="an older tree (git archive REF | tar -x -C DIR) served first on the same data")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None or args.prepare is not None:
        # The script's own folder (bench/) comes first on sys.path and has modules named like
        # the project's apps (bench/approvals.py): put the served tree first, bench/ last.
        here = str(Path(__file__).resolve().parent)
        sys.path[:] = [os.getcwd()] + [p for p in sys.path if p not in (here, "")] + [here]
        print(json.dumps(seed(args.seed) if args.seed is not None else prepare(json.loads(args.prepare.read_text()))))
        return
    load0 = os.getloadavg()
    results = [run_side(db, args) for db in args.db.split(",")]
    print(f"{args.invoices} invoices, {args.threads} client threads, gunicorn {args.web_workers} workers, "
          f"code {args.code}; load average at start {load0[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
