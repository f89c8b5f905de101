"""Headless Chromium driven through the DevTools protocol over a pipe, with the standard library.

Chromium (Debian's ``chromium``) runs with ``--remote-debugging-pipe``: it reads protocol
commands from file descriptor 3 and writes replies and events to descriptor 4, each message one
JSON text ended by a NUL byte. No websocket, no driver binary, no Python package.

:meth:`Chromium.open` loads a page and records every request the page makes (the protocol's
``Network.requestWillBeSent``, which names every URL a page asks for: documents, scripts,
styles, fonts, images, ``data:`` and ``file:`` ones included), the requests that failed and
the console errors. All the browser's traffic is also sent to a closed port on this machine
(``--proxy-server``), so even a page that asks for a remote URL cannot reach any host: the
request is recorded and fails.

:func:`build_docs` builds the documentation once per test process (``sphinx-build -W``, the
examples shortened) for every test that needs the built site.
"""
import base64
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")
BUILD = os.path.join(DOCS, "_build")

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-breakpad", "--metrics-recording-only",
    "--mute-audio", "--hide-scrollbars",
    # Every http(s) request goes to a port nothing listens on, here: none can leave.
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium_executable():
    """The Chromium on ``PATH`` (``$BRIAN_STDP_CHROMIUM`` first), or None."""
    explicit = os.environ.get("BRIAN_STDP_CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium; use as a context manager."""

    def __init__(self, executable=None, width=1280, height=1000, timeout=60.0):
        self.executable = executable or chromium_executable()
        if not self.executable:
            raise BrowserError("no Chromium found (apt-get install chromium)")
        self.width, self.height, self.timeout = width, height, timeout
        self._id = 0
        self._buffer = b""
        self._events = []
        self.profile = None
        self.process = None

    # --- the process and the pipe ---------------------------------------------------------
    def __enter__(self):
        import tempfile
        self.profile = tempfile.mkdtemp(prefix="brian_stdp_chromium_")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds_3_and_4():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(
            [self.executable, *FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=fds_3_and_4)
        os.close(to_child_r)
        os.close(from_child_w)
        try:
            self.version = self.send("Browser.getVersion")["product"]
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            try:
                self.send("Browser.close", timeout=10)
            except Exception:   # noqa: BLE001  (already gone: still reap it below)
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.process = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from Chromium in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed its pipe (it exited)")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _pump(self, seconds):
        """Collect the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._events.append(self._read_message(deadline))
        except BrowserError as error:
            if "in time" not in str(error):
                raise

    def evaluate(self, session, expression, timeout=None):
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=session,
                           timeout=timeout)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # --- pages ----------------------------------------------------------------------------
    def open(self, url, ready=None, settle=0.5, screenshot=None):
        """Load ``url`` in a new tab; wait for its load event, then for ``ready`` (a script
        expression, may be a promise, that yields true) and for no request to be pending.

        Returns a :class:`Page`; writes a full-page PNG to ``screenshot`` if given.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        try:
            self._events = []
            for domain in ("Network", "Page", "Runtime", "Log"):
                self.send(f"{domain}.enable", session=session)
            self.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                       "mobile": False}, session=session)
            navigation = self.send("Page.navigate", {"url": url}, session=session)
            if navigation.get("errorText"):
                raise BrowserError(f"cannot open {url}: {navigation['errorText']}")
            deadline = time.monotonic() + self.timeout
            while not any(e.get("method") == "Page.loadEventFired"
                          and e.get("sessionId") == session for e in self._events):
                self._events.append(self._read_message(deadline))
            if ready:
                ok = self.evaluate(session, ready)
                if not ok:
                    raise BrowserError(f"{url}: the page never became ready ({ready})")
            page = Page(url)
            while True:   # until every request has finished or failed
                self._pump(settle)
                page.collect([e for e in self._events if e.get("sessionId") == session])
                if not page.pending() or time.monotonic() > deadline:
                    break
            page.text = self.evaluate(session, "document.body.innerText")
            page.title = self.evaluate(session, "document.title")
            if screenshot:
                os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
                shot = self.send("Page.captureScreenshot",
                                 {"format": "png", "captureBeyondViewport": True},
                                 session=session)
                with open(screenshot, "wb") as handle:
                    handle.write(base64.b64decode(shot["data"]))
            page.session = session
            page.browser = self
            return page
        except Exception:
            self.send("Target.closeTarget", {"targetId": target})
            raise


class Page:
    """What one page load did: ``requests`` (every URL asked for), ``failed`` (URL, error),
    ``errors`` (console and log errors), ``text`` (the visible text)."""

    def __init__(self, url):
        self.url = url
        self.requests, self.failed, self.errors = [], [], []
        self._open = {}
        self.text = self.title = ""
        self.session = self.browser = None

    def collect(self, events):
        self.requests, self.failed, self.errors, self._open = [], [], [], {}
        for event in events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
                self._open[params["requestId"]] = params["request"]["url"]
            elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                url = self._open.pop(params["requestId"], None)
                if method == "Network.loadingFailed":
                    self.failed.append((url, params.get("errorText")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                self.errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                            for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                self.errors.append(str(params["exceptionDetails"].get("exception", {})
                                       .get("description", params["exceptionDetails"])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                self.errors.append(f"{params['entry'].get('text')} "
                                   f"({params['entry'].get('url', '')})")

    def pending(self):
        return list(self._open.values())

    def evaluate(self, expression):
        return self.browser.evaluate(self.session, expression)

    def remote_requests(self):
        """Requests for anything that is not in the built site on this machine."""
        return [url for url in self.requests
                if not (url.startswith("file://") or url.startswith("data:")
                        or url.startswith("blob:") or url == "about:blank")]


_BUILT = {}


def build_docs(outdir=None, short=True):
    """Build the HTML docs with ``sphinx-build -W`` (once per process and output directory)
    and return the output directory. ``short``: the gallery's examples run shortened."""
    outdir = outdir or os.path.join(BUILD, "html")
    if outdir in _BUILT:
        return _BUILT[outdir]
    env = dict(os.environ, MPLBACKEND="Agg")
    if short:
        env["BRIAN_STDP_EXAMPLE_SHORT"] = "1"
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                             "-b", "html", DOCS, outdir], capture_output=True, text=True,
                            env=env, timeout=1500)
    if result.returncode != 0:
        raise AssertionError(f"sphinx-build -W failed:\n{result.stdout[-5000:]}\n"
                             f"{result.stderr[-5000:]}")
    _remove_stale_pages(outdir)
    _BUILT[outdir] = outdir
    build_docs.seconds = time.time() - started
    return outdir


#: The pages Sphinx writes that have no source document.
SPHINX_PAGES = {"genindex", "search", "py-modindex"}


def site_pages(outdir):
    """The HTML pages of a built site, relative to it (Sphinx's ``_static``, ``_sources``,
    ``_downloads``, ``_images`` hold no pages)."""
    return sorted(path.relative_to(outdir).as_posix()
                  for path in pathlib.Path(outdir).rglob("*.html")
                  if not path.relative_to(outdir).parts[0].startswith("_"))


def _remove_stale_pages(outdir):
    """Remove the pages of documents the project no longer has (or now excludes): an
    incremental build keeps them, a fresh one would not write them."""
    import pickle
    with open(os.path.join(outdir, ".doctrees", "environment.pickle"), "rb") as handle:
        documents = set(pickle.load(handle).found_docs) | SPHINX_PAGES
    for page in site_pages(outdir):
        if page[:-len(".html")] not in documents:
            os.remove(os.path.join(outdir, page))
