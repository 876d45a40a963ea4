"""gunicorn settings for `make run`; every value can be overridden on the command line.

Workers are stateless: all state is in the database (and Redis for rate limits when REDIS_URL
is set), so any number of them, on any number of machines, can serve behind one proxy.
"""

import atexit
import gc
import multiprocessing
import os
import shutil
import sys
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
# Slow clients cannot take the service down: a sync worker is held by one client sending its
# headers slowly (six of them stopped a five-worker server). This gthread worker reads each
# request whole in its event loop and only then gives it a thread (marketplace/core/serving.py), so
# threads only run the application and a few per worker suffice. gevent was not chosen:
# SQLite's busy wait and psycopg's calls would block its one thread.
worker_class = "marketplace.core.serving.BufferingThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
max_requests = 10000
max_requests_jitter = 1000
accesslog = None
# The app is imported once, in the master, and each worker is a fork of it: a worker replaced
# after max_requests starts in milliseconds instead of importing everything again (about 1.5 s
# of CPU each time, which under steady scanning was a tax of ~15 % on every request). Nothing
# in create_app opens a database connection; post_fork drops any pooled one all the same.
preload_app = True
errorlog = "-"

# Prometheus counters are per process; this folder lets /metrics add up every worker.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"shanhai-metrics-{os.getpid()}")
)

# Emptied when the server starts; made here rather than in on_starting because the preloaded
# app creates its metrics, and with them their files, before that hook runs.
shutil.rmtree(_metrics_dir, ignore_errors=True)
os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    # A pooled connection must never be shared by two processes (SQLAlchemy's advice for fork).
    app = worker.app.wsgi()
    app.extensions["shanhai"].engine.dispose(close=False)
    # The scan writer starts with the worker: it first drains the scan journals that dead
    # workers left (scans they answered but had not yet written), then writes behind.
    from marketplace.traceability.scanning import scan_recorder

    recorder = scan_recorder(app)
    if recorder is not None:
        recorder.start()


def pre_fork(server, worker):
    # Everything the preloaded app made is moved out of the collector's sight before forking:
    # a worker's collections then never write to those objects' headers, so their pages stay
    # shared with the master instead of being copied into every worker (the use Python's
    # gc.freeze documentation describes).
    gc.freeze()


def worker_exit(server, worker):
    # A worker leaving cleanly (max_requests reached, or a graceful shutdown) runs the exit
    # handlers (queued scans are written, logs flushed) and then leaves without the
    # interpreter's teardown of the whole preloaded app: that teardown touches every inherited
    # object, copies the pages it shares with the master and took ~0.4 s of CPU, paid at every
    # max_requests recycle. gunicorn calls this hook in a `finally` around the worker's
    # sys.exit: any other exit (a boot error, a crash) keeps its code and its usual path.
    leaving = sys.exc_info()[1]
    if isinstance(leaving, SystemExit) and leaving.code in (0, None):
        atexit._run_exitfuncs()  # CPython's own run of the exit handlers (underscored, long-standing)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _problems_for_what_gunicorn_refuses() -> None:
    # gunicorn answers a request it cannot parse (URI over limit_request_line: 414, headers over
    # their limits: 431, a malformed request line: 400) itself, with an HTML page, from
    # gunicorn.util.write_error. It has no setting for that page; every worker class calls the
    # module's function, so replacing it makes those answers problem+json like the app's.
    import gunicorn.util

    from marketplace.core.errors import write_server_problem

    gunicorn.util.write_error = write_server_problem


_problems_for_what_gunicorn_refuses()
