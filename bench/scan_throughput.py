"""Scan throughput: the JSON scan of a unit code under gunicorn against a bare Flask endpoint
returning a body of the same size, side by side, with 10,000 and then 1,000,000 codes stored.

    .venv/bin/python bench/scan_throughput.py            # SQLite file, the default database
    .venv/bin/python bench/scan_throughput.py --database-url postgresql://postgres@127.0.0.1/bench

Load comes from wrk (Debian's package) on 127.0.0.1 only, bounded by --seconds per run; each
request scans a code drawn at random from 2,000 real minted codes, from one of 5,120 phones
behind a proxy (X-Forwarded-For, with TRUSTED_PROXIES=1 as in production), so that the per-phone
scan rate limit applies as it would to a region and is not spent by one address. The bare
endpoint and the scan take turns in short runs (--rounds of --seconds each): this machine's speed
wanders by ±10 % over minutes, so each scan run is set against the bare run just before it and
the median of those ratios is the figure; the medians of each are printed too. Prints both
throughputs and their ratios. --through-flask also measures the scan with the fast path off
(SCAN_FAST_PATH=0); --without-journal also measures it with no scan journal (SCAN_JOURNAL_DIR=
empty, scans queued in memory only), which tells what journalling each answered scan costs.
It also prints the servers' CPU time a request (read from /proc), whose ratio does not move
with other work on the machine as requests a second do. Nothing here is a pass/fail test: the
figures go into the README.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_APP = """
import os
from flask import Flask, Response

app = Flask(__name__)
BODY = b'{"x": "' + b"x" * (int(os.environ["BARE_BODY_SIZE"]) - 9) + b'"}'


@app.get("/01/<path:rest>")
def bare(rest):
    return Response(BODY, mimetype="application/json")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def gunicorn(app: str, env: dict, workers: int, cwd: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn as `make run` starts it; the app's request log (one line a request) goes to `log`."""
    port = free_port()
    with log.open("a") as log_file:
        process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--access-logfile",
                "/dev/null",
                "--error-logfile",
                "-",
                "--log-level",
                "warning",
                app,
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


class Run(NamedTuple):
    rate: float  # requests a second
    requests: int


def wrk(base: str, paths: list[str], seconds: int, connections: int) -> Run:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - wrk reads it by name
    quoted = ",".join(json.dumps(p) for p in paths)
    script.write(f"""
paths = {{{quoted}}}
math.randomseed(7)
request = function()
  local phone = "10." .. math.random(0, 19) .. "." .. math.random(0, 255) .. ".7"
  return wrk.format("GET", paths[math.random(#paths)],
                    {{["Accept"] = "application/json", ["X-Forwarded-For"] = phone}})
end
""")
    script.close()
    output = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed responses:\n{output}")
    return Run(
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        int(re.search(r"(\d+) requests in", output).group(1)),
    )


def cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time a gunicorn server has used: its master, its workers, and workers gone (which
    the master has reaped, so they are in its children's times)."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int) -> tuple[int, float]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), sum(int(value) for value in fields[11:15]) / tick  # ppid; u+s+cu+cs

    total = times(server.pid)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent, used = times(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
            if parent == server.pid:
                total += used
    return total


def timed(server: subprocess.Popen, base: str, paths: list[str], seconds: int, connections: int):
    """wrk against `base`: requests a second, and the server's CPU microseconds a request."""
    before = cpu_seconds(server)
    run = wrk(base, paths, seconds, connections)
    return run.rate, (cpu_seconds(server) - before) / max(run.requests, 1) * 1e6


def mint(session_factory, actor_id: int, lot_id: int, sku_id: int, count: int, keys) -> None:
    from marketplace.accounts.models import User
    from marketplace.traceability import service
    from marketplace.traceability.models import CodeLevel

    while count > 0:
        step = min(count, service.MAX_UNIT_CODES)
        with session_factory() as session:
            service.mint_codes(
                session,
                actor=session.get(User, actor_id),
                lot_id=lot_id,
                sku_id=sku_id,
                level=CodeLevel.UNIT,
                quantity=step,
                keys=keys,
            )
            session.commit()
        count -= step


def settle(engine) -> None:
    """Let the database finish the bulk load's aftermath before timing: on PostgreSQL vacuum
    and analyse what was minted and checkpoint, on SQLite fold the WAL into the file. Otherwise
    autovacuum and checkpoints of a million fresh rows run during the first runs and take the
    cores from both servers alike."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
            connection.exec_driver_sql("CHECKPOINT")
    else:
        connection = engine.raw_connection()  # outside a transaction, which a checkpoint needs
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--through-flask", action="store_true", help="also measure the scan with SCAN_FAST_PATH=0"
    )
    parser.add_argument(
        "--without-journal",
        action="store_true",
        help="also measure the scan with no scan journal (SCAN_JOURNAL_DIR=)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    from fresh_database import migrated_engine

    import marketplace.app  # noqa: F401  (the whole marketplace: trace and gate receivers connect on import)
    from catalog import service as catalog_service
    from marketplace.core.config import Settings
    from marketplace.core.db import make_session_factory
    from marketplace.parties.models import Role
    from marketplace.traceability import service as codes_service
    from marketplace.traceability.models import Code
    from tests import factories

    workdir = Path(tempfile.mkdtemp(prefix="shanhai-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret",
        "CODE_SIGNING_KEYS": "b1:YmVuY2gtc2lnbmluZy1rZXktMzItYnl0ZXMtbG9uZw",
        "PUBLIC_BASE_URL": "http://bench.test",
        "SHANHAI_LOAD_DEMO": "0",
        "SHANHAI_INSTANCE_PATH": str(workdir),
        "TRUSTED_PROXIES": "1",
    }
    settings = Settings.from_env(env)
    engine = migrated_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        cooperative = factories.make_organisation(session)
        user = factories.make_user(session, role=Role.COOPERATIVE, organisation=cooperative)
        product = factories.make_product(session, cooperative=cooperative)
        sku = factories.make_sku(session, product=product)
        lot = catalog_service.register_lot(
            session,
            actor=user,
            product_id=product.id,
            lot_code="B1",
            harvested_on=date(2026, 4, 1),
            quantity=Decimal("1000"),
            unit="kg",
        )
        ids = (user.id, lot.id, sku.id)
        session.commit()

    bare_dir = workdir / "bare"
    bare_dir.mkdir()
    (bare_dir / "bare_app.py").write_text(BARE_APP)
    stored = 0
    results = []
    print(
        f"database: {settings.database_url.split('@')[-1]}; gunicorn workers (of the model "
        f"gunicorn.conf.py names): {args.workers}; wrk: 2 threads, {args.connections} connections, "
        f"{args.seconds} s a run"
    )
    for target in (int(size) for size in args.sizes.split(",")):
        started = time.perf_counter()
        mint(factory, *ids, target - stored, settings.signing_keys)
        stored = target
        print(f"\n{target:,} codes stored (minted in {time.perf_counter() - started:.1f} s)")
        settle(engine)
        with factory() as session:
            total = session.query(Code).count()
            sample_ids = random.Random(target).sample(range(1, total + 1), 2000)
            codes = session.query(Code).filter(Code.id.in_(sample_ids)).all()
            paths = [codes_service.code_uri(code, base_url="") for code in codes]
        app_process, app_base = gunicorn("wsgi:app", env, args.workers, ROOT, workdir / "app.log")
        wait_until_up(app_base + "/")
        flask_process, flask_base = (
            gunicorn("wsgi:app", {**env, "SCAN_FAST_PATH": "0"}, args.workers, ROOT, workdir / "flask.log")
            if args.through_flask
            else (None, None)
        )
        if flask_base:
            wait_until_up(flask_base + "/")
        plain_process, plain_base = (
            gunicorn("wsgi:app", {**env, "SCAN_JOURNAL_DIR": ""}, args.workers, ROOT, workdir / "plain.log")
            if args.without_journal
            else (None, None)
        )
        if plain_base:
            wait_until_up(plain_base + "/")
        with urllib.request.urlopen(
            urllib.request.Request(app_base + paths[0], headers={"Accept": "application/json"})
        ) as response:
            body_size = len(response.read())
        bare_process, bare_base = gunicorn(
            "bare_app:app",
            {**env, "BARE_BODY_SIZE": str(body_size)},
            args.workers,
            bare_dir,
            workdir / "bare.log",
        )
        wait_until_up(bare_base + paths[0])
        try:
            wrk(app_base, paths, 2, args.connections)  # warm the workers and caches
            wrk(bare_base, paths, 2, args.connections)
            if flask_base:
                wrk(flask_base, paths, 2, args.connections)
            if plain_base:
                wrk(plain_base, paths, 2, args.connections)
            # Alternate short runs: other work on this shared machine comes and goes over
            # minutes, so each scan run is compared with the bare run just before it.
            bares, scans, flasks, plains = [], [], [], []
            bare_cpu, scan_cpu = [], []
            for _ in range(args.rounds):
                rate, cpu = timed(bare_process, bare_base, paths, args.seconds, args.connections)
                bares.append(rate)
                bare_cpu.append(cpu)
                rate, cpu = timed(app_process, app_base, paths, args.seconds, args.connections)
                scans.append(rate)
                scan_cpu.append(cpu)
                if flask_base:
                    flasks.append(wrk(flask_base, paths, args.seconds, args.connections).rate)
                if plain_base:
                    plains.append(wrk(plain_base, paths, args.seconds, args.connections).rate)
            bare, scan = statistics.median(bares), statistics.median(scans)
            ratio = statistics.median(s / b for s, b in zip(scans, bares, strict=True))
        finally:
            stop(app_process)
            stop(bare_process)
            if flask_process:
                stop(flask_process)
            if plain_process:
                stop(plain_process)
        results.append((target, scan, bare, ratio))
        print(f"  body size {body_size} bytes")
        print(
            f"  bare Flask endpoint: {bare:8.0f} req/s median  (runs: {', '.join(f'{b:.0f}' for b in bares)})"
        )
        runs = ", ".join(f"{s:.0f}" for s in scans)
        print(f"  JSON scan (records a scan): {scan:8.0f} req/s median  (runs: {runs})")
        if flasks:
            flask = statistics.median(flasks)
            print(
                f"  JSON scan through Flask (SCAN_FAST_PATH=0): {flask:8.0f} req/s  "
                f"(runs: {', '.join(f'{f:.0f}' for f in flasks)}); / bare: {flask / bare:.2f}"
            )
        if plains:
            plain = statistics.median(plains)
            journalled = statistics.median(s / p for s, p in zip(scans, plains, strict=True))
            print(
                f"  JSON scan without the scan journal (SCAN_JOURNAL_DIR=): {plain:8.0f} req/s  "
                f"(runs: {', '.join(f'{p:.0f}' for p in plains)}); / bare: {plain / bare:.2f}; "
                f"with / without the journal: {journalled:.2f} median of the runs"
            )
        # Server CPU a request does not depend on what else the machine runs (wrk, other work),
        # unlike requests a second: its ratio is the throughput ratio on a machine of its own.
        bare_us, scan_us = statistics.median(bare_cpu), statistics.median(scan_cpu)
        print(
            f"  server CPU a request: bare {bare_us:.0f} µs, JSON scan {scan_us:.0f} µs; "
            f"bare / scan: {bare_us / scan_us:.2f}"
        )
        pairs = ", ".join(f"{s / b:.2f}" for s, b in zip(scans, bares, strict=True))
        print(f"  scan / bare, run by run: {pairs}")
        print(
            f"  scan / bare: {ratio:.2f} median of the runs, {scan / bare:.2f} of the medians "
            "(bar: at least 0.50)"
        )
    if len(results) >= 2:
        (small, scan_small, bare_small, ratio_small), (large, scan_large, bare_large, ratio_large) = (
            results[0],
            results[-1],
        )
        print(
            f"\nscan throughput at {large:,} vs {small:,} codes: {scan_large / scan_small:.2f} "
            f"(bar: at least 0.90); bare endpoint in the same runs: {bare_large / bare_small:.2f}; "
            f"scan / bare at {large:,} vs at {small:,}: {ratio_large / ratio_small:.2f}"
        )
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
