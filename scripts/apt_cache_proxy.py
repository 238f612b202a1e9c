#!/usr/bin/env python3
"""A small caching HTTP proxy for apt, shared by every test container.

Why our own: the container nodes install the same ~600 MB of .debs each, and a
bind-mounted /var/cache/apt/archives serialises them (apt holds the archive
lock through the whole install). Through this proxy every file downloads once
and every node installs in parallel. Files whose name fixes their content
(.deb, by-hash indexes) are cached on disk; everything else (InRelease) is
passed through so the nodes always see the current archive.

Standard library only, so it runs on a fresh machine before any venv exists.
Accepts proxy-style requests (`GET http://host/path`, what apt sends with
Acquire::http::Proxy) and path-style ones (`GET /host/path`, for debootstrap).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

IMMUTABLE_SUFFIXES = (".deb", ".udeb", ".ddeb", ".dsc", ".tar.xz", ".tar.gz")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
CHUNK = 1 << 16


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.passthrough = 0
        self.bytes_from_upstream = 0

    def add(self, field: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, field, getattr(self, field) + n)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "passthrough": self.passthrough,
                "bytes_from_upstream": self.bytes_from_upstream,
            }


class Cache:
    """On-disk store with one download at a time per file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, host: str, path: str) -> Path:
        # Normalise so "../" cannot escape the cache root.
        parts = [p for p in path.split("/") if p not in ("", ".", "..")]
        return self.root.joinpath(host, *parts)

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def is_immutable(path: str) -> bool:
    return path.endswith(IMMUTABLE_SUFFIXES) or "/by-hash/" in path


class Handler(BaseHTTPRequestHandler):
    server_version = "aihpc-apt-cache/1"
    cache: Cache
    stats: Stats

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("AIHPC_APT_CACHE_VERBOSE"):
            super().log_message(format, *args)

    def _target(self) -> tuple[str, str] | None:
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            return parts.netloc, parts.path + (f"?{parts.query}" if parts.query else "")
        trimmed = self.path.lstrip("/")
        if "/" not in trimmed:
            return None
        host, _, rest = trimmed.partition("/")
        return host, "/" + rest

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        if self.path == "/_stats":
            body = json.dumps(self.stats.as_dict()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        target = self._target()
        if target is None:
            self.send_error(400, "expected http://host/path or /host/path")
            return
        host, path = target
        url = f"http://{host}{path}"
        if is_immutable(path):
            self._serve_cached(url, self.cache.path_for(host, path), head)
        else:
            self.stats.add("passthrough")
            self._pass_through(url, head)

    def _serve_cached(self, url: str, dest: Path, head: bool) -> None:
        with self.cache.lock_for(str(dest)):
            if dest.exists():
                self.stats.add("hits")
            else:
                self.stats.add("misses")
                try:
                    self._download(url, dest)
                except urllib.error.HTTPError as err:
                    self.send_error(err.code, str(err.reason))
                    return
                except OSError as err:
                    self.send_error(502, f"upstream: {err}")
                    return
        size = dest.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if not head:
            with dest.open("rb") as src:
                shutil.copyfileobj(src, self.wfile, CHUNK)

    def _download(self, url: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as resp:
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := resp.read(CHUNK):
                        out.write(chunk)
                        self.stats.add("bytes_from_upstream", len(chunk))
                os.replace(tmp, dest)
            except BaseException:
                os.unlink(tmp)
                raise

    def _pass_through(self, url: str, head: bool) -> None:
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "host"
        }
        req = urllib.request.Request(url, headers=headers, method="HEAD" if head else "GET")
        try:
            resp = urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as err:
            # 304 Not Modified and 404 are answers, not failures: relay them.
            self.send_response(err.code)
            for k, v in err.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.end_headers()
            return
        except OSError as err:
            self.send_error(502, f"upstream: {err}")
            return
        with resp:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.end_headers()
            if not head:
                while chunk := resp.read(CHUNK):
                    self.wfile.write(chunk)
                    self.stats.add("bytes_from_upstream", len(chunk))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default="/var/cache/aihpc/apt-proxy")
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=3142)
    args = parser.parse_args(argv)

    Handler.cache = Cache(Path(args.cache_dir))
    Handler.stats = Stats()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    print(f"apt cache proxy on {args.bind}:{args.port}, cache {args.cache_dir}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
