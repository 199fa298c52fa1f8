"""A local stand-in for the three platforms `elm fetch` reads (tests/data/test_fetch*.py).

Serves, on 127.0.0.1 and a free port, the documented response shapes of X API v2
(/2/users/by/username/:name, /2/users/:id/tweets), Bluesky's AppView
(app.bsky.feed.getAuthorFeed) and Mastodon (/api/v1/accounts/lookup, /api/v1/accounts/:id/statuses
with a Link header), from fixtures the test builds (Fixture), paginated PAGE posts at a time.
Every request is logged (time, path, query, Authorization); faults can be queued per endpoint
(x_user, x_tweets, bsky, masto_lookup, masto): "ok" (served), "reset", "truncated", "hang",
"badjson",
(429, reset time), ("retry-after", seconds) or a status code."""
import html
import json
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = 3

TEXTS = [
    "Café déjà vu — naïve façade, 50% off & <free> 🎉",
    "日本語のテキストと絵文字 🍣🗾",
    "family 👩\u200d👩\u200d👧 and flags 🇫🇷🇯🇵",
    "Ελληνικά και русский текст",
    "plain ascii post number {i}",
    "quotes \"double\" and 'single' and a backslash \\ here",
    "math ∑ x² ≤ ∞, arrows → ⇒",
    "tab\tand\nnewline inside",
]


class Post:
    """One post of the fixture: the fields every platform's shape is built from."""

    def __init__(self, i, kind, text, when):
        self.i, self.kind, self.text, self.when = i, kind, text, when  # kind: post|reply|repost


def make_posts(n, start=0, seed=1):
    """n posts, oldest first, ids start+1.., a reply every 4th and a repost every 5th."""
    out = []
    for k in range(start, start + n):
        kind = "repost" if k % 5 == 3 else "reply" if k % 4 == 1 else "post"
        text = TEXTS[(k * 3 + seed) % len(TEXTS)].replace("{i}", str(k)) + f" #{k}"
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1600000000 + k * 3600 + seed))
        out.append(Post(k + 1, kind, text, when))
    return out


# ---- the platforms' shapes ------------------------------------------------------------------

def x_id(p):
    return str(1000000000000 + p.i)


def x_tweet(p):
    # X's API escapes &, < and > in texts; a t.co link stands for the expanded URL.
    text = p.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    t = {"id": x_id(p), "text": text + " https://t.co/abc" + str(p.i),
         "created_at": p.when + ".000Z", "lang": "en",
         "edit_history_tweet_ids": [x_id(p)],
         "entities": {"urls": [{"start": 0, "end": 1, "url": "https://t.co/abc" + str(p.i),
                                "expanded_url": f"https://example.com/post/{p.i}?a=1&b=2",
                                "display_url": f"example.com/post/{p.i}"}]}}
    if p.kind == "reply":
        t["referenced_tweets"] = [{"type": "replied_to", "id": "5"}]
    if p.kind == "repost":
        t["text"] = "RT @other: " + t["text"]
        t["referenced_tweets"] = [{"type": "retweeted", "id": "6"}]
    return t


def x_expected(p):
    text = p.text + f" https://example.com/post/{p.i}?a=1&b=2"
    return ("RT @other: " + text) if p.kind == "repost" else text


BSKY_DID = "did:plc:abcdefgh"


def bsky_uri(p):
    return f"at://{BSKY_DID}/app.bsky.feed.post/3k{p.i:06d}"


def bsky_item(p):
    rec = {"$type": "app.bsky.feed.post", "text": p.text, "createdAt": p.when + ".123Z",
           "langs": ["en"]}
    if p.kind == "reply":
        parent = {"uri": "at://did:plc:other/app.bsky.feed.post/1", "cid": "bafy1"}
        rec["reply"] = {"root": parent, "parent": parent}
    post = {"uri": bsky_uri(p), "cid": f"bafy{p.i}",
            "author": {"did": BSKY_DID, "handle": "someone.bsky.social"},
            "record": rec, "indexedAt": p.when + ".200Z", "likeCount": p.i}
    item = {"post": post}
    if p.kind == "repost":
        post["author"] = {"did": "did:plc:other", "handle": "other.bsky.social"}
        rec["createdAt"] = "2019-05-05T05:05:05.000Z"
        item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost",
                          "by": {"did": BSKY_DID, "handle": "someone.bsky.social"},
                          "indexedAt": p.when + ".300Z"}
    return item


def bsky_id(p):
    return bsky_uri(p) + ("#repost" if p.kind == "repost" else "")


def masto_id(p):
    return str(109000000000000000 + p.i)


def masto_html(p):
    # Mastodon's sanitised HTML: paragraphs, <br>, entities, a link split into spans, a mention.
    body = html.escape(p.text, quote=True).replace("\n", "<br>")
    return (f"<p>{body}</p><p>see <a href=\"https://example.com/a?x=1&amp;y=2\" rel=\"nofollow "
            f"noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span "
            f"class=\"ellipsis\">example.com/a?x=1&amp;</span><span class=\"invisible\">y=2"
            f"</span></a> with <span class=\"h-card\"><a href=\"https://m.example/@bob\" "
            f"class=\"u-url mention\">@<span>bob</span></a></span> &amp; co&#39;s &quot;x&quot;"
            f" &#x1F600;</p>")


def masto_expected(p):
    return p.text + "\n\nsee https://example.com/a?x=1&y=2 with @bob & co's \"x\" \U0001F600"


def masto_status(p):
    s = {"id": masto_id(p), "created_at": p.when + ".000Z", "in_reply_to_id": None,
         "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
         "visibility": "public", "language": "en", "uri": "https://m.example/x",
         "content": masto_html(p), "reblog": None, "account": {"id": "77", "acct": "user"}}
    if p.kind == "reply":
        s["in_reply_to_id"] = "42"
    if p.kind == "repost":
        inner = dict(s)
        inner["id"] = "5"
        s["content"] = ""
        s["language"] = None
        s["reblog"] = inner
    return s


class Fixture:
    """The accounts the server knows, each a list of posts oldest first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.x = {}      # username -> (user id, posts)
        self.bsky = {}   # handle -> posts
        self.masto = {}  # acct -> (account id, posts)
        self.log = []    # (time, path, query dict, authorization)
        self.faults = {}  # endpoint -> list of faults, consumed in order
        self.delay = 0.0  # seconds before each page is answered
        self.gate = None  # a threading.Event X's second and later pages wait for
        self.stuck = False  # Bluesky answers the first page, with the same cursor, forever
        self.token = "secret-token"
        self.headers = {}  # endpoint -> list of header lists, one per answer, added in order


def _page(posts, start):
    return posts[start:start + PAGE], start + PAGE < len(posts)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def fault(self, endpoint):
        """Serves the next queued fault of the endpoint; True when one was served."""
        fx = self.server.fx
        with fx.lock:
            q = fx.faults.get(endpoint)
            f = q.pop(0) if q else None
        if f is None or f == "ok":
            return False
        if f == "reset":  # RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif f == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b'{"data": [{"id": "1", "te')
            self.wfile.flush()
            self.close_connection = True
        elif f == "hang":  # no answer for longer than the test's timeout
            time.sleep(2.5)
            self.close_connection = True
        elif f == "badjson":
            self.reply(200, b'{"data": [ this is not json')
        elif isinstance(f, tuple) and f[0] == "retry-after":
            self.reply(429, {"error": "RateLimitExceeded"}, [("Retry-After", str(f[1]))])
        elif isinstance(f, tuple) and f[0] == 429:
            self.reply(429, {"title": "Too Many Requests"},
                       [("x-rate-limit-limit", "1500"), ("x-rate-limit-remaining", "0"),
                        ("x-rate-limit-reset", str(f[1]))])
        else:
            self.reply(int(f), {"error": "fault " + str(f)})
        return True

    def do_GET(self):
        fx = self.server.fx
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        with fx.lock:
            fx.log.append((time.time(), u.path, q, self.headers.get("Authorization")))
        parts = u.path.strip("/").split("/")
        try:
            if u.path.startswith("/2/"):
                return self.x(parts, q)
            if u.path == "/xrpc/app.bsky.feed.getAuthorFeed":
                return self.bsky(q)
            if u.path.startswith("/api/v1/accounts"):
                return self.masto(parts, q)
        except (BrokenPipeError, ConnectionResetError):
            return
        self.reply(404, {"error": "no route"})

    def x(self, parts, q):
        fx = self.server.fx
        if self.headers.get("Authorization") != "Bearer " + fx.token:
            return self.reply(401, {"title": "Unauthorized", "type": "about:blank",
                                    "status": 401, "detail": "Unauthorized"})
        if parts[:4] == ["2", "users", "by", "username"]:
            if self.fault("x_user"):
                return
            name = parts[4]
            if name not in fx.x:
                return self.reply(200, {"errors": [{"value": name, "detail":
                                                    f"Could not find user with username: [{name}].",
                                                    "title": "Not Found Error"}]})
            return self.reply(200, {"data": {"id": fx.x[name][0], "name": name,
                                             "username": name}})
        if len(parts) == 4 and parts[3] == "tweets":
            if self.fault("x_tweets"):
                return
            if fx.gate is not None and "pagination_token" in q:
                fx.gate.wait(30)  # the second page waits until the test lets it go
            time.sleep(fx.delay)
            acc = [v for v in fx.x.values() if v[0] == parts[2]]
            if not acc:
                return self.reply(404, {"errors": [{"title": "Not Found Error"}]})
            posts = list(reversed(acc[0][1]))  # newest first
            ex = q.get("exclude", "").split(",")
            posts = [p for p in posts if not (p.kind == "repost" and "retweets" in ex)
                     and not (p.kind == "reply" and "replies" in ex)]
            if "since_id" in q:
                posts = [p for p in posts if int(x_id(p)) > int(q["since_id"])]
            start = int(q.get("pagination_token", "tok0")[3:])
            page, more = _page(posts, start)
            meta = {"result_count": len(page)}
            if page:
                meta["newest_id"], meta["oldest_id"] = x_id(page[0]), x_id(page[-1])
            if more:
                meta["next_token"] = f"tok{start + PAGE}"
            body = {"meta": meta}
            if page:
                body["data"] = [x_tweet(p) for p in page]
            return self.reply(200, body, [("x-rate-limit-limit", "1500"),
                                          ("x-rate-limit-remaining", "1499"),
                                          ("x-rate-limit-reset", str(int(time.time()) + 900))])
        self.reply(404, {"errors": [{"title": "Not Found Error"}]})

    def bsky(self, q):
        fx = self.server.fx
        if self.fault("bsky"):
            return
        time.sleep(fx.delay)
        actor = q.get("actor", "")
        if actor not in fx.bsky:
            return self.reply(400, {"error": "InvalidRequest", "message": "Profile not found"})
        posts = list(reversed(fx.bsky[actor]))
        if q.get("filter") == "posts_no_replies":
            posts = [p for p in posts if p.kind != "reply"]
        start = 0 if fx.stuck else int(q.get("cursor", "c0")[1:])
        page, more = _page(posts, start)
        body = {"feed": [bsky_item(p) for p in page]}
        if more:
            body["cursor"] = "stuck" if fx.stuck else f"c{start + PAGE}"
        self.reply(200, body)

    def masto(self, parts, q):
        fx = self.server.fx
        if parts[3] == "lookup":
            if self.fault("masto_lookup"):
                return
            acct = q.get("acct", "")
            if acct not in fx.masto:
                return self.reply(404, {"error": "Record not found"})
            return self.reply(200, {"id": fx.masto[acct][0], "username": acct.split("@")[0],
                                    "acct": acct})
        if self.fault("masto"):
            return
        time.sleep(fx.delay)
        acc = [v for v in fx.masto.values() if v[0] == parts[3]]
        if not acc:
            return self.reply(404, {"error": "Record not found"})
        posts = list(reversed(acc[0][1]))
        if q.get("exclude_replies") == "true":
            posts = [p for p in posts if p.kind != "reply"]
        if q.get("exclude_reblogs") == "true":
            posts = [p for p in posts if p.kind != "repost"]
        if "since_id" in q:
            posts = [p for p in posts if int(masto_id(p)) > int(q["since_id"])]
        if "max_id" in q:
            posts = [p for p in posts if int(masto_id(p)) < int(q["max_id"])]
        page = posts[:PAGE]
        headers = []
        if page:  # as Mastodon does: a next link whenever the page is not empty
            base = f"http://127.0.0.1:{self.server.server_port}/api/v1/accounts/{parts[3]}/statuses"
            headers.append(("Link", f"<{base}?limit=40&max_id={masto_id(page[-1])}>; rel=\"next\", "
                                    f"<{base}?limit=40&min_id={masto_id(page[0])}>; rel=\"prev\""))
        with fx.lock:
            q = fx.headers.get("masto")
            headers += q.pop(0) if q else []
        self.reply(200, [masto_status(p) for p in page], headers)


def start(fx):
    """Starts the server for fixture fx on a free loopback port; returns (server, base URL)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.fx = fx
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}"
