"""A local stand-in of the Hugging Face Hub for elm's tests (http.server on 127.0.0.1, a random
port): GET /<owner>/<name>/resolve/main/<file> answers as the Hub does — an LFS file
(*.safetensors) with a 302 to its CDN URL (/lfs/...) carrying X-Linked-Etag (the file's sha256)
and X-Linked-Size, any other file with a 200 and its git blob sha1 as ETag, a missing one with
a 404 and X-Error-Code: EntryNotFound. The CDN URL honours Range (206 + Content-Range, 416 past
the end). Every request is logged (path, Range, Authorization). Faults for the tests: stall a
file after N bytes (once), drop the connection after N bytes (once), answer 503 (a number of
times), serve a file with one byte flipped (the sha256 stays the real one), ignore Range (200
with the whole file), require a token."""
import hashlib
import http.server
import threading
import time


class Hub:
    def __init__(self):
        self.repos = {}  # "owner/name" -> {file: bytes}
        self.log = []  # (path, range or None, authorization or None)
        self.stall = {}  # (repo, file) -> bytes to send before stalling (once)
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.drop = {}  # (repo, file) -> bytes to send before closing the connection (once)
        self.unavailable = {}  # (repo, file) -> how many more requests get a 503
        self.corrupt = {}  # (repo, file) -> offset of the flipped byte
        self.ignore_range = False
        self.token = {}  # repo -> the bearer token it requires
        self.lock = threading.Lock()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def requests(self, suffix):
        with self.lock:
            return [r for r in self.log if r[0].endswith(suffix)]

    # ---- the answers ---------------------------------------------------------------------
    def handle(self, h):
        with self.lock:
            self.log.append((h.path, h.headers.get("Range"), h.headers.get("Authorization")))
        parts = h.path.split("?")[0].split("/")
        if len(parts) >= 6 and parts[3] == "resolve":  # /owner/name/resolve/main/file
            return self.resolve(h, parts[1] + "/" + parts[2], "/".join(parts[5:]))
        if len(parts) >= 5 and parts[1] == "lfs":  # /lfs/owner/name/file
            return self.cdn(h, parts[2] + "/" + parts[3], "/".join(parts[4:]))
        self.send(h, 404, b'{"error":"not found"}')

    def send(self, h, status, body, headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def resolve(self, h, repo, name):
        files = self.repos.get(repo, {})
        if self.unavailable.get((repo, name), 0) > 0:
            self.unavailable[(repo, name)] -= 1
            return self.send(h, 503, b'{"error":"Service Unavailable"}')
        want = self.token.get(repo)
        if want and h.headers.get("Authorization") != f"Bearer {want}":
            return self.send(h, 401, b'{"error":"Invalid credentials in Authorization header"}',
                             [("X-Error-Code", "GatedRepo")])
        if name not in files:
            return self.send(h, 404, b'{"error":"Entry not found"}',
                             [("X-Error-Code", "EntryNotFound")])
        data = files[name]
        if name.endswith(".safetensors"):
            sha = hashlib.sha256(data).hexdigest()
            return self.send(h, 302, b"", [("Location", f"{self.url}/lfs/{repo}/{name}"),
                                           ("X-Linked-Etag", f'"{sha}"'),
                                           ("X-Linked-Size", str(len(data))),
                                           ("ETag", '"0123456789abcdef0123456789abcdef01234567"')])
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self.send(h, 200, data, [("ETag", f'"{blob}"'), ("Content-Type", "application/json")])

    def cdn(self, h, repo, name):
        data = self.repos.get(repo, {}).get(name)
        if data is None:
            return self.send(h, 404, b"")
        sha = hashlib.sha256(data).hexdigest()
        if (repo, name) in self.corrupt:
            at = self.corrupt[(repo, name)]
            data = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
        start, rng = 0, h.headers.get("Range")
        if rng and not self.ignore_range:
            assert rng.startswith("bytes=") and rng.endswith("-"), rng
            start = int(rng[6:-1])
            if start >= len(data):
                return self.send(h, 416, b"", [("Content-Range", f"bytes */{len(data)}")])
        body = data[start:]
        h.send_response(206 if start else 200)
        h.send_header("ETag", f'"{sha}"')
        h.send_header("Accept-Ranges", "bytes")
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        n = self.drop.pop((repo, name), None)
        if n is not None:  # the promised Content-Length never arrives
            h.wfile.write(body[:n])
            h.wfile.flush()
            h.close_connection = True
            return
        n = self.stall.pop((repo, name), None)
        if n is None:
            h.wfile.write(body)
            return
        h.wfile.write(body[:n])  # then nothing until the test has killed the client
        h.wfile.flush()
        self.stalled.set()
        self.release.wait(60)
        h.close_connection = True


def wait_for(cond, seconds=30.0, step=0.05):
    """Polls cond() until it is true or the time is up (a bounded loop); returns its last value."""
    end = time.monotonic() + seconds
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)
