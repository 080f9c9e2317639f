"""gunicorn settings for the help site: `gunicorn -c deploy/gunicorn.conf.py` from the code checkout.

Every value can be changed in the environment file (/etc/helpsite/helpsite.env) without
editing this file. Workers x threads is how many requests one host serves at once.
"""

import multiprocessing
import os

wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # nginx on the same host proxies to it
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
# The app's production check reads the same number: several workers need shared rate limits.
os.environ["WEB_CONCURRENCY"] = str(workers)
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A request that takes longer is a bug or an attack: the worker is replaced. Slow work (mail,
# the index) happens outside requests.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Each worker loads the app itself: background threads (the content watcher, the outbox
# sender) start in the process that serves.
preload_app = False
# X-Forwarded-* is Werkzeug's ProxyFix's job (PROXY_FIX_X_FOR, PROXY_FIX_X_PROTO): one place
# decides which proxies are trusted, not two.
forwarded_allow_ips = "127.0.0.1"
secure_scheme_headers = {}
accesslog = "-"  # to the journal
errorlog = "-"
proc_name = "helpsite"
