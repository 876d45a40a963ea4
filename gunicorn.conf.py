"""gunicorn settings for `make run`; every value can be overridden on the command line."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = "-"
