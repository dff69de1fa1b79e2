"""Drives agentd's web UI in Debian's headless Chromium with Playwright.

Run by the Rust tests in crates/agentd/tests/web_e2e.rs, one scenario per
run:

  driver.py auth     --login URL --login2 URL --out DIR
  driver.py approve  --login URL --out DIR --command TEXT
  driver.py deny     --login URL --out DIR --command TEXT --message TEXT
  driver.py history  --login URL --out DIR --phrase TEXT [--timezone TZ]
  driver.py elicit   --login URL --out DIR --phrase TEXT
  driver.py claude-terminal --login URL --out DIR --cwd DIR --phrase TEXT --command TEXT
  driver.py terminal --login URL --out DIR --cwd DIR
  driver.py processes --login URL --out DIR --session ID --pid PGID
  driver.py bench    --login URL --out DIR --socket PATH [--sessions N] [--events N]
  driver.py hq       --login HQ-URL --token T --runner NAME --session ID --command TEXT --cwd DIR --out DIR
                     (interactive: prints a line after the terminal echoes, waits for a
                     line on stdin while HQ is killed and restarted, then goes on)

Prints one JSON object (what it measured) on success; exits 1 with the
reason on failure. Screenshots go to DIR. Never downloads a browser.
"""

import argparse
import http.server
import json
import sys
import threading
import time
from urllib.parse import urlsplit

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
WAIT_MS = 30_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def watch_console(page, errors):
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))


def sign_in(context, login, errors):
    page = context.new_page()
    watch_console(page, errors)
    page.goto(login)
    # The code leaves the address bar: the sign-in redirects to /.
    expect(page).to_have_url(base_of(login) + "/", timeout=WAIT_MS)
    expect(page.get_by_role("status").filter(has_text="live")).to_be_visible(timeout=WAIT_MS)
    return page


def base_of(url):
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def shots(page, out, name):
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=f"{out}/{name}-{label}.png", full_page=False)
    page.set_viewport_size(DESKTOP)


def auth(p, a):
    base = base_of(a.login)
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    result = {}
    # 1. Not signed in: the page says how to sign in; the API and the
    #    WebSocket refuse.
    anon = browser.new_context()
    page = anon.new_page()
    page.goto(base + "/")
    expect(page.get_by_text("agentd web", exact=False).first).to_be_visible(timeout=WAIT_MS)
    status = page.evaluate(
        """async () => {
        const s = await (await fetch('/api/session')).json();
        const g = await fetch('/graphql', {method: 'POST', headers: {'content-type': 'application/json'},
          body: JSON.stringify({query: '{ health { status } }'})});
        return [s.signed_in, g.status];
    }"""
    )
    if status != [False, 401]:
        fail(f"without the cookie /api/session and /graphql answered {status}, not [False, 401]")
    ws = page.evaluate(WS_PROBE)
    if ws.get("acked"):
        fail(f"a WebSocket without the cookie was accepted: {ws}")
    result["anonymous_ws"] = ws
    anon.close()

    # 2. The one-time link signs in once; a second use is refused.
    errors = []
    ctx = browser.new_context()
    page = sign_in(ctx, a.login, errors)
    cookies = ctx.cookies()
    session = [c for c in cookies if c["name"].startswith("agentd_session_")]
    if not session or not session[0]["httpOnly"] or session[0]["sameSite"] != "Strict":
        fail(f"the session cookie is not HttpOnly and SameSite=Strict: {cookies}")
    if page.evaluate("document.cookie").find("agentd_session") >= 0:
        fail("the page's script can read the session cookie")
    if "csrf" in page.url:
        fail(f"the CSRF key stayed in the address bar: {page.url}")
    me = page.evaluate("() => fetch('/api/session').then((r) => r.json())")
    if "csrf" in me or not me.get("signed_in"):
        fail(f"/api/session must say who is signed in and never give the key: {me}")
    # The cookie alone, as another local server that saw it could send it
    # (with any Origin it likes): refused everywhere.
    result["cookie_only"] = cookie_only(base, session[0])
    ws = page.evaluate(WS_PROBE)
    if not ws.get("acked"):
        fail(f"the signed-in page's WebSocket was refused: {ws}")
    other = browser.new_context()
    again = other.new_page()
    resp = again.goto(a.login)
    if resp.status != 401:
        fail(f"a used sign-in link answered {resp.status}, not 401")
    other.close()

    # 3. Another local origin cannot use the cookie: a cross-origin POST
    #    (fetch with credentials, and a form) and a WebSocket are refused.
    evil_port = serve_evil(base)
    evil = ctx.new_page()
    evil.goto(f"http://localhost:{evil_port}/evil.html")
    outcome = evil.evaluate(
        """async (base) => {
        const r = {};
        try {
          const g = await fetch(base + '/graphql', {method: 'POST', credentials: 'include',
            headers: {'content-type': 'application/json'},
            body: JSON.stringify({query: 'mutation { indexDocument(title: "csrf-marker", text: "csrf-marker") { id } }'})});
          r.fetch = g.status;
        } catch (e) { r.fetch = 'blocked: ' + e.message; }
        r.ws = await new Promise((done) => {
          const ws = new WebSocket(base.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
          ws.onopen = () => ws.send(JSON.stringify({type: 'connection_init', payload: {}}));
          ws.onmessage = (m) => done('message: ' + m.data);
          ws.onclose = (e) => done('closed ' + e.code);
          ws.onerror = () => done('error');
          setTimeout(() => done('timeout'), 10000);
        });
        return r;
    }""",
        base,
    )
    if str(outcome.get("ws", "")).find("connection_ack") >= 0:
        fail(f"a WebSocket from another origin was accepted: {outcome}")
    # The form POST: a top-level cross-site navigation.
    evil.set_content(
        f"""<form id=f method=POST action="{base}/graphql" enctype="text/plain">
        <input name='{{"query":"mutation {{ indexDocument(title: \\"csrf-marker\\", text: \\"x\\") {{ id }} }}","x":"' value='"}}'>
        </form>"""
    )
    with evil.expect_navigation():
        evil.evaluate("document.getElementById('f').submit()")
    form_status = evil.evaluate("document.body.innerText")
    result["cross_origin"] = {**outcome, "form": form_status[:200]}

    # 4. Signing out ends access.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("not signed in", exact=False)).to_be_visible(timeout=WAIT_MS)
    if errors:
        fail(f"console errors: {errors}")
    # A second browser signed in, for the Rust side to revoke.
    page2 = sign_in(browser.new_context(), a.login2, errors)
    result["revoke_probe"] = page2.evaluate(WS_PROBE)
    print(json.dumps(result))
    sys.stdout.flush()
    # Wait to be revoked: the Rust side revokes, the open WebSocket closes
    # and the API refuses.
    sys.stdin.readline()
    refused = page2.evaluate("fetch('/api/session').then(r => r.json()).then(j => j.signed_in)")
    if refused is not False:
        fail(f"a revoked browser still gets /api/session: {refused}")
    expect(page2.get_by_role("status").filter(has_text="reconnecting")).to_be_visible(timeout=WAIT_MS)
    print(json.dumps({"revoked": True}))
    browser.close()


# Opens a graphql-transport-ws WebSocket from the page and reports whether
# the daemon acknowledged it.
WS_PROBE = """() => new Promise((done) => {
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
  ws.onopen = () => ws.send(JSON.stringify({type: 'connection_init', payload: {csrf: localStorage.getItem('agentd.csrf') || undefined}}));
  ws.onmessage = (m) => { const t = JSON.parse(m.data).type; ws.close(); done({acked: t === 'connection_ack', type: t}); };
  ws.onclose = (e) => done({acked: false, code: e.code});
  ws.onerror = () => done({acked: false, error: true});
  setTimeout(() => done({acked: false, timeout: true}), 10000);
})"""


def cookie_only(base, cookie):
    """POST /graphql and a terminal's WebSocket with the cookie and a forged
    Origin but no CSRF key, from outside the browser: both refused."""
    import urllib.error
    import urllib.request

    host = urlsplit(base).netloc
    headers = {"Cookie": f"{cookie['name']}={cookie['value']}", "Origin": base, "Host": host,
               "Content-Type": "application/json", "X-Agentd-Csrf": "guess"}
    req = urllib.request.Request(base + "/graphql", method="POST", headers=headers,
                                 data=json.dumps({"query": "{ health { status } }"}).encode())
    try:
        with urllib.request.urlopen(req) as r:
            fail(f"the cookie alone was accepted on POST /graphql: {r.status}")
    except urllib.error.HTTPError as e:
        post = e.code
    if post != 401:
        fail(f"the cookie alone on POST /graphql answered {post}, not 401")
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(base.replace("http", "ws") + "/terminals/term_x?csrf=guess", origin=base,
                     additional_headers={"Cookie": headers["Cookie"]}):
            fail("the cookie alone opened a terminal socket")
    except InvalidStatus as e:
        term = e.response.status_code
    if term != 401:
        fail(f"the cookie alone on /terminals answered {term}, not 401")
    return {"post": post, "terminal": term}


def serve_evil(base):
    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>evil</title><p>another local site</p>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def decide(p, a, deny):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    page = sign_in(ctx, a.login, errors)
    row = page.locator("tr[data-status=needs_approval]")
    expect(row.first).to_be_visible(timeout=WAIT_MS)
    card = page.locator("article.approval").filter(has_text=a.command)
    expect(card).to_be_visible(timeout=WAIT_MS)
    # Why agentd asks: no rule decided it.
    expect(card.locator("p.asked")).to_contain_text("rules", timeout=WAIT_MS)
    shots(page, a.out, "deny-approval" if deny else "approval")
    t0 = time.monotonic()
    if deny:
        card.get_by_label("Deny message").fill(a.message)
        card.get_by_role("button", name="Deny").click()
        expect(card.get_by_role("status")).to_contain_text("denied", timeout=WAIT_MS)
    else:
        # The keyboard, as in the TUI: `j` selects the session, `a` approves
        # its oldest pending tool call.
        page.locator("body").press("j")
        expect(page.locator("tr.selected[data-status=needs_approval]")).to_have_count(1, timeout=WAIT_MS)
        page.locator("body").press("a")
        expect(card.get_by_role("status")).to_contain_text("allowed", timeout=WAIT_MS)
    decided_ms = (time.monotonic() - t0) * 1000
    # The board leaves needs-approval once Claude Code goes on.
    expect(page.locator("tr[data-status=needs_approval]")).to_have_count(0, timeout=WAIT_MS)
    shots(page, a.out, "board-after-deny" if deny else "board")
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"decided_ms": round(decided_ms, 1)}))
    browser.close()


def agents(p, a):
    """Sessions of two agents (`--session` codex, `--session2` gemini) are on
    the board with their agent, and the filter narrows the board to one."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    page = sign_in(ctx, a.login, errors)
    codex = page.locator(f"tr[data-session='{a.session}']")
    gemini = page.locator(f"tr[data-session='{a.session2}']")
    expect(codex.locator("td.agent")).to_have_text("codex", timeout=WAIT_MS)
    expect(gemini.locator("td.agent")).to_have_text("gemini", timeout=WAIT_MS)
    shots(page, a.out, "board-agents")
    page.get_by_label("Filter sessions").fill("gemini")
    expect(codex).to_have_count(0, timeout=WAIT_MS)
    expect(gemini).to_have_count(1, timeout=WAIT_MS)
    page.get_by_label("Filter sessions").fill("codex")
    expect(gemini).to_have_count(0, timeout=WAIT_MS)
    expect(codex).to_have_count(1, timeout=WAIT_MS)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"ok": True}))
    browser.close()


def processes(p, a):
    """A session whose agent (`--pid`, a process group leader) keeps a core
    busy shows its CPU and memory on the board; when the process group is
    killed, the figures leave the row without a reload (pushed by the
    `processes` subscription)."""
    import os
    import re
    import signal

    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    page = sign_in(ctx, a.login, errors)
    row = page.locator(f"tr[data-session='{a.session}']")
    expect(row.locator("td.cpu")).to_have_text(re.compile(r"^[0-9]+%!?$"), timeout=WAIT_MS)
    expect(row.locator("td.mem")).to_have_text(re.compile(r"^[0-9.]+[KMG]$"), timeout=WAIT_MS)
    busy = int(row.locator("td.cpu").inner_text().rstrip("%!"))
    shots(page, a.out, "board-processes")
    os.killpg(int(a.pid), signal.SIGKILL)
    expect(row.locator("td.cpu")).to_have_text("", timeout=WAIT_MS)
    expect(row.locator("td.mem")).to_have_text("", timeout=WAIT_MS)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"ok": True, "cpu_pct_shown": busy}))
    browser.close()


def history(p, a):
    """Search finds a phrase and opens the transcript at the hit; the usage
    table's rows (as the page shows them) are printed for the Rust side to
    compare with `agentd usage daily --json`."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP, timezone_id=a.timezone)
    page = sign_in(ctx, a.login, errors)
    page.goto(base_of(a.login) + "/#/search")
    page.get_by_label("Search all history").fill(a.phrase)
    page.get_by_role("button", name="Search").click()
    hit = page.locator("ol.hits a.hit").filter(has=page.locator("mark", has_text=a.phrase)).first
    expect(hit).to_be_visible(timeout=WAIT_MS)
    shots(page, a.out, "search")
    hit.click()
    target = page.locator("article.msg.target")
    expect(target).to_contain_text(a.phrase, timeout=WAIT_MS)
    expect(target).to_be_in_viewport(timeout=WAIT_MS)
    # The session's own usage, by model.
    expect(page.get_by_label("Usage of this session")).to_contain_text("claude-opus-5-5", timeout=WAIT_MS)
    shots(page, a.out, "transcript")
    opened = page.evaluate("() => location.hash")
    page.goto(base_of(a.login) + "/#/usage")
    page.get_by_label("Time zone").fill(a.timezone)
    page.get_by_label("Time zone").press("Enter")
    expect(page.locator(f"table.usage-table[data-timezone='{a.timezone}'] tbody tr").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("figure.chart canvas").first).to_be_visible(timeout=WAIT_MS)
    rows = page.evaluate("""() => [...document.querySelectorAll('table.usage-table tbody tr')].map((tr) => {
      const c = [...tr.querySelectorAll('td')];
      const num = (td) => Number(td.textContent.replaceAll(',', ''));
      return {period: c[0].textContent, input_tokens: num(c[1]), output_tokens: num(c[2]),
        cache_creation_tokens: num(c[3]), cache_read_tokens: num(c[4]), total_tokens: num(c[5]),
        cost_usd: c[6].dataset.cost === '' ? null : Number(c[6].dataset.cost)};
    })""")
    shots(page, a.out, "usage")
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"opened": opened, "usage": rows}))
    browser.close()


def elicit(p, a):
    """An MCP server's elicitation answered through its form."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=PHONE, color_scheme="dark")
    page = sign_in(ctx, a.login, errors)
    page.goto(base_of(a.login) + "/#/approvals")
    card = page.locator("article.approval").filter(has_text=a.phrase)
    expect(card).to_be_visible(timeout=WAIT_MS)
    card.get_by_label("Repository").fill("agentd")
    card.get_by_label("Private").check()
    page.screenshot(path=f"{a.out}/elicitation-phone-dark.png")
    card.get_by_role("button", name="Submit").click()
    expect(card.get_by_role("status")).to_contain_text("answered", timeout=WAIT_MS)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"ok": True}))
    browser.close()


# Records every notification the page shows (as window.__notes).
NOTIFICATION_RECORDER = """
window.__notes = [];
const Real = window.Notification;
if (Real) {
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push(title + ' | ' + ((options && options.body) || ''));
    }
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
}
"""


def claude_terminal(p, a):
    """Claude Code started in a terminal from the browser: its permission
    prompt reaches the board, approving there lets the tool run."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    # Browser notifications, opted into; each one the page shows is recorded.
    ctx.grant_permissions(["notifications"], origin=base_of(a.login))
    ctx.add_init_script(NOTIFICATION_RECORDER)
    page = sign_in(ctx, a.login, errors)
    page.get_by_role("button", name="Notify me").click()
    expect(page.get_by_role("button", name="Notifications on")).to_be_visible(timeout=WAIT_MS)
    page.goto(base_of(a.login) + "/#/terminals")
    page.get_by_label("Run").select_option("claude")
    page.get_by_label("Directory").fill(a.cwd)
    page.get_by_role("button", name="Start terminal").click()
    rows = page.locator(".term-screen .xterm-rows")
    expect(rows).to_contain_text("\u276f", timeout=WAIT_MS * 2)
    term_url = page.url
    term_id = page.locator(".term-screen").get_attribute("data-terminal")
    page.locator(".term-screen").click()
    page.keyboard.type(a.phrase)
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("Do you want to proceed?", timeout=WAIT_MS * 2)
    shots(page, a.out, "claude-terminal")
    # The session started needing the user: one notification says so.
    page.wait_for_function("() => window.__notes.some((n) => n.includes('needs approval'))", timeout=WAIT_MS)
    page.goto(base_of(a.login) + "/#/")
    card = page.locator("article.approval").filter(has_text=a.command)
    expect(card).to_be_visible(timeout=WAIT_MS)
    card.get_by_role("button", name="Approve").click()
    expect(card.get_by_role("status")).to_contain_text("allowed", timeout=WAIT_MS)
    page.goto(term_url)
    rows = page.locator(".term-screen .xterm-rows")
    expect(rows).not_to_contain_text("Do you want to proceed?", timeout=WAIT_MS * 2)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"id": term_id}))
    browser.close()


def terminal(p, a):
    """A shell in a PTY from the browser: typing reaches it, resizing the
    viewport resizes the PTY, a reload replays what was there."""
    import re

    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    page = sign_in(ctx, a.login, errors)
    page.goto(base_of(a.login) + "/#/terminals")
    page.get_by_label("Run").select_option("shell")
    page.get_by_label("Directory").fill(a.cwd)
    page.get_by_role("button", name="Start terminal").click()
    screen = page.locator(".term-screen .xterm-rows")
    expect(screen).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".term-bar [role=status]")).to_have_text("live", timeout=WAIT_MS)
    term_id = page.locator(".term-screen").get_attribute("data-terminal")

    def text():
        return screen.inner_text()

    def wait_line(pattern, avoid=()):
        deadline = time.time() + 30
        while time.time() < deadline:
            for line in text().splitlines():
                line = line.strip()
                if re.fullmatch(pattern, line) and line not in avoid:
                    return line
            time.sleep(0.05)
        fail(f"no line matching {pattern!r} in the terminal: {text()!r}")

    def run(cmd):
        page.locator(".term-screen").click()
        page.keyboard.type(cmd)
        page.keyboard.press("Enter")

    # POSIX sh (dash in CI) has no $RANDOM; $$ is the shell pid.
    run("echo web-$((100000+$$))")
    echoed = wait_line(r"web-\d+")
    run("stty size")
    before = wait_line(r"\d+ \d+")
    page.set_viewport_size({"width": 900, "height": 560})
    time.sleep(0.3)
    run("stty size")
    after = wait_line(r"\d+ \d+", avoid=(before,))
    shots(page, a.out, "terminal")
    page.reload()
    expect(page.locator(".term-bar [role=status]")).to_have_text("live", timeout=WAIT_MS)
    expect(page.locator(".term-screen .xterm-rows")).to_contain_text(echoed, timeout=WAIT_MS)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"id": term_id, "echoed": echoed, "before": before, "after": after}))
    browser.close()


class Socket:
    """agentd's JSON-RPC over its Unix socket (newline-delimited)."""

    def __init__(self, path, name):
        import socket

        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.n = 0
        self.call("initialize", {"protocol_version": "1.0", "client": name})

    def send(self, method, params):
        self.n += 1
        self.f.write(json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params}).encode() + b"\n")
        self.f.flush()
        return self.n

    def read(self):
        return json.loads(self.f.readline())

    def call(self, method, params):
        i = self.send(method, params)
        while True:
            m = self.read()
            if m.get("id") == i:
                if "error" in m:
                    fail(f"{method}: {m['error']}")
                return m["result"]


def hook(sock, session, event, cwd, **fields):
    payload = {"session_id": session, "hook_event_name": event, "cwd": cwd,
               "transcript_path": f"/nonexistent/{session}.jsonl", **fields}
    sock.call("hook.ingest", {"payload": payload, "env": None})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round((len(xs) - 1) * p))]


# Records, in the page, when each marker first shows in the bench row.
OBSERVE = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    const t = document.querySelector('tr[data-session="bench-live"] td.tool')?.textContent;
    if (t && !(t in window.__seen)) window.__seen[t] = Date.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def bench(p, a):
    """Hook event → board latency beside an events.subscribe client; first
    render of a 500-session board; bytes of a cold load."""
    import threading as th

    sock = Socket(a.socket, "web-bench")
    # 500 sessions in 40 projects, for the first render.
    for i in range(a.sessions):
        hook(sock, f"bench-{i:04}", "SessionStart", f"/tmp/bench/project-{i % 40}", source="startup",
             model="claude-opus-5-5")
    hook(sock, "bench-live", "SessionStart", "/tmp/bench/live", source="startup")
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(viewport=DESKTOP)
    errors = []
    login = ctx.new_page()
    login.goto(a.login)
    expect(login).to_have_url(base_of(a.login) + "/", timeout=WAIT_MS)
    login.close()

    # Cold load: a fresh context (no cache) with the cookie and the key.
    cold = browser.new_context(viewport=DESKTOP, storage_state=ctx.storage_state())
    page = cold.new_page()
    watch_console(page, errors)
    sizes = []
    page.on("requestfinished", lambda r: sizes.append((r.url, r.sizes())))
    t0 = time.monotonic()
    page.goto(base_of(a.login) + "/")
    page.wait_for_function(f"() => document.querySelectorAll('tr[data-session]').length >= {a.sessions + 1}",
                           timeout=WAIT_MS * 4)
    first_render_ms = (time.monotonic() - t0) * 1000
    def total(pick):
        return sum(z["responseBodySize"] + z["responseHeadersSize"] for u, z in sizes if pick(u))

    assets = total(lambda u: "/graphql" not in u and "/api/" not in u)
    shots(page, a.out, "board-500")

    # Hook event → board, beside a socket subscriber.
    page.evaluate(OBSERVE)
    sub = Socket(a.socket, "web-bench-subscriber")
    sub.send("events.subscribe", {"session_id": "bench-live"})
    seen_sub = {}

    def listen():
        while True:
            m = sub.read()
            ev = m.get("params") or {} if m.get("method") == "event" else {}
            tool = (ev.get("payload") or {}).get("tool_name")
            if tool and tool not in seen_sub:
                seen_sub[tool] = time.time() * 1000

    th.Thread(target=listen, daemon=True).start()
    board, socket_ms = [], []
    run = int(time.time())
    for i in range(a.events):
        marker = f"T{run}-{i}"
        sent = time.time() * 1000
        hook(sock, "bench-live", "PreToolUse", "/tmp/bench/live", tool_name=marker, tool_input={},
             tool_use_id=f"toolu_{i}")
        page.wait_for_function(f"() => window.__seen['{marker}'] !== undefined", timeout=WAIT_MS)
        board.append(page.evaluate(f"() => window.__seen['{marker}']") - sent)
        deadline = time.time() + 30
        while marker not in seen_sub and time.time() < deadline:
            time.sleep(0.001)
        socket_ms.append(seen_sub[marker] - sent)
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({
        "sessions": a.sessions,
        "first_render_ms": round(first_render_ms, 1),
        "cold_load_asset_bytes": assets,
        "cold_load_requests": len(sizes),
        "events": a.events,
        "board_p50_ms": round(pct(board, 0.5), 1),
        "board_p99_ms": round(pct(board, 0.99), 1),
        "socket_p50_ms": round(pct(socket_ms, 0.5), 1),
        "socket_p99_ms": round(pct(socket_ms, 0.99), 1),
    }))
    browser.close()


def transcript_bench(p, a):
    """First render of a long transcript's page."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(viewport=DESKTOP)
    errors = []
    sign_in(ctx, a.login, errors).close()
    page = ctx.new_page()
    watch_console(page, errors)
    t0 = time.monotonic()
    page.goto(base_of(a.login) + f"/#/session/{a.session}")
    expect(page.locator("article.msg").first).to_be_visible(timeout=WAIT_MS * 4)
    first_ms = (time.monotonic() - t0) * 1000
    total = page.locator("section[aria-label=Transcript] p.muted").inner_text()
    shots(page, a.out, "transcript-long")
    # Scrolling to the end of the first page stays responsive.
    t1 = time.monotonic()
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.evaluate("() => new Promise(requestAnimationFrame)")
    scroll_ms = (time.monotonic() - t1) * 1000
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"first_render_ms": round(first_ms, 1), "shown": total, "scroll_ms": round(scroll_ms, 1)}))
    browser.close()


def terminal_bench(p, a):
    """Keystroke → echo through the daemon's PTY, and `cat` of a big file
    into the browser's terminal."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(viewport=DESKTOP)
    errors = []
    page = sign_in(ctx, a.login, errors)
    # Through the daemon: a WebSocket from the page, a byte in, its echo
    # back (no screen in between).
    raw = page.evaluate("""([id, n]) => new Promise((done) => {
      const ws = new WebSocket(location.origin.replace('http', 'ws') + '/terminals/' + id
        + '?csrf=' + encodeURIComponent(localStorage.getItem('agentd.csrf')));
      ws.binaryType = 'arraybuffer';
      const xs = []; let t0 = null; let phase = 0;
      const key = () => { t0 = performance.now(); ws.send(new Uint8Array([97])); };
      ws.onmessage = (m) => {
        if (typeof m.data === 'string') {
          if (phase === 0) {
            phase = 1;
            ws.send(new TextEncoder().encode('stty -icanon; exec cat\\n'));
            setTimeout(() => { phase = 2; key(); }, 700);
          }
          return;
        }
        if (phase !== 2 || t0 === null) return;
        xs.push(performance.now() - t0); t0 = null;
        if (xs.length >= n) { ws.close(); done(xs); return; }
        setTimeout(key, 2);
      };
    })""", [a.session, a.events])
    page.goto(base_of(a.login) + f"/#/terminals/{a.session}")
    expect(page.locator(".term-bar [role=status]")).to_have_text("live", timeout=WAIT_MS)
    screen = page.locator(".term-screen")
    screen.click()
    time.sleep(0.5)
    page.evaluate("""() => {
      window.__t = [];
      const box = document.querySelector('.term-screen');
      let last = Number(box.dataset.offset || 0);
      document.addEventListener('keydown', () => window.__t.push({down: performance.now()}), true);
      new MutationObserver(() => {
        const now = Number(box.dataset.offset || 0);
        if (now > last) {
          last = now;
          const e = window.__t.find((x) => x.echo === undefined);
          if (e) e.echo = performance.now();
        }
      }).observe(box, {attributes: true, attributeFilter: ['data-offset']});
    }""")
    rtt = []
    for i in range(a.events):
        page.keyboard.press("a")
        page.wait_for_function(f"() => window.__t.length > {i} && window.__t[{i}].echo !== undefined", timeout=WAIT_MS)
        t = page.evaluate(f"() => window.__t[{i}]")
        rtt.append(t["echo"] - t["down"])
    # Throughput: a fresh shell would be cleaner, but cat is running: end it
    # and start the big cat from a shell the daemon started (the Rust side
    # passes a second terminal).
    page.goto(base_of(a.login) + f"/#/terminals/{a.session2}")
    expect(page.locator(".term-bar [role=status]")).to_have_text("live", timeout=WAIT_MS)
    page.locator(".term-screen").click()
    start_offset = int(page.locator(".term-screen").get_attribute("data-offset") or 0)
    t0 = time.monotonic()
    page.keyboard.type(f"cat {a.cwd}; echo CAT-DONE-$((40+2))\n")
    expect(page.locator(".term-screen .xterm-rows")).to_contain_text("CAT-DONE-42", timeout=600_000)
    secs = time.monotonic() - t0
    got = int(page.locator(".term-screen").get_attribute("data-offset") or 0) - start_offset
    if errors:
        fail(f"console errors: {errors}")
    print(json.dumps({"keys": len(rtt), "rtt_p50_ms": round(pct(rtt, 0.5), 2), "rtt_p99_ms": round(pct(rtt, 0.99), 2),
                      "raw_p50_ms": round(pct(raw, 0.5), 2), "raw_p99_ms": round(pct(raw, 0.99), 2),
                      "cat_bytes": got, "cat_s": round(secs, 2)}))
    browser.close()


# Console errors a page logs while HQ is down or refuses on purpose (its
# polling and the terminal's re-attach retry by themselves).
EXPECTED_WHILE_DOWN = ("ERR_CONNECTION_REFUSED", "WebSocket connection to", "status of 401", "status of 503")


def hq(p, a):
    """HQ's web UI: sign in with a user token, see a runner's real Claude
    Code session on the board, approve its tool call, then use a shell on
    the runner through HQ; HQ is killed and restarted meanwhile (by the Rust
    side) and the terminal re-attaches with its earlier output."""
    import re

    base = a.login.rstrip("/")
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    errors = []
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    watch_console(page, errors)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(base + "/")
    token = page.get_by_label("Your user token")
    token.fill("agentd_hq_user_" + "0" * 64)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked", timeout=WAIT_MS)
    token.fill(a.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header.top")).to_contain_text("operator", timeout=WAIT_MS)
    # The board follows HQ's live feed (GraphQL over a WebSocket, signed in
    # by the cookie and the CSRF key).
    expect(page.locator("header.top .live.on")).to_have_text("live", timeout=WAIT_MS)
    if not any(u.endswith("/hq/graphql") for u in sockets):
        fail(f"no GraphQL WebSocket opened: {sockets}")
    # The page forgot the token: only the CSRF key is kept.
    stored = page.evaluate("JSON.stringify(Object.values(localStorage))")
    if a.token in stored:
        fail("the page kept the user token")
    row = page.locator(f"tr[data-session='{a.session}']")
    expect(row).to_contain_text(a.runner, timeout=WAIT_MS)
    expect(row).to_contain_text("needs approval", timeout=WAIT_MS)
    shots(page, a.out, "hq-board")
    page.get_by_role("link", name="Approvals").click()
    card = page.locator("article.approval").filter(has_text=a.command)
    expect(card).to_be_visible(timeout=WAIT_MS)
    expect(card).to_contain_text(a.runner)
    shots(page, a.out, "hq-approval")
    card.get_by_role("button", name="Allow").click()
    expect(card).to_have_count(0, timeout=WAIT_MS)
    page.get_by_role("link", name="Board").click()
    expect(row).not_to_contain_text("needs approval", timeout=WAIT_MS)

    # Usage: every runner asked, added up, each runner accounted for.
    page.get_by_role("link", name="Usage").click()
    usage = page.get_by_role("region", name="Usage")
    expect(usage.get_by_role("table")).to_contain_text("Total", timeout=WAIT_MS)
    expect(usage.get_by_role("listitem").filter(has_text=a.runner)).to_have_count(1, timeout=WAIT_MS)
    page.get_by_role("link", name="Terminals").click()
    page.get_by_label("Kind").select_option("shell")
    page.get_by_label("Directory").fill(a.cwd)
    page.get_by_role("button", name="Start terminal").click()
    screen = page.locator(".term-screen .xterm-rows")
    status = page.locator(".term-bar [role=status]")
    expect(screen).to_be_visible(timeout=WAIT_MS)
    expect(status).to_have_text("live", timeout=WAIT_MS)
    term_id = page.locator(".term-screen").get_attribute("data-terminal")

    def wait_line(pattern, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in screen.inner_text().splitlines():
                if re.fullmatch(pattern, line.strip()):
                    return line.strip()
            time.sleep(0.05)
        fail(f"no line matching {pattern!r} in the terminal: {screen.inner_text()!r}")

    def run(cmd):
        page.locator(".term-screen").click()
        page.keyboard.type(cmd)
        page.keyboard.press("Enter")

    run("echo hq-$((100000+$$))")
    echoed = wait_line(r"hq-\d+")
    print(json.dumps({"id": term_id, "echoed": echoed}))
    sys.stdout.flush()
    sys.stdin.readline()
    # HQ was killed and restarted: the page attaches again by itself once
    # the runner has linked again.
    expect(status).to_have_text("live", timeout=120_000)
    run("echo again-$((100000+$$))")
    again = wait_line(r"again-\d+", timeout=60)
    # A reload after the restart: still signed in (the cookie's key is in
    # HQ's root), and the runner replays the terminal's earlier output.
    page.reload()
    expect(status).to_have_text("live", timeout=WAIT_MS)
    expect(screen).to_contain_text(echoed, timeout=WAIT_MS)
    expect(screen).to_contain_text(again, timeout=WAIT_MS)
    shots(page, a.out, "hq-terminal")
    unexpected = [e for e in errors if not any(x in e for x in EXPECTED_WHILE_DOWN)]
    if unexpected:
        fail(f"console errors: {unexpected}")
    print(json.dumps({"again": again}))
    browser.close()


SCENARIOS = {
    "hq": hq,
    "auth": auth,
    "agents": agents,
    "processes": processes,
    "approve": lambda p, a: decide(p, a, deny=False),
    "deny": lambda p, a: decide(p, a, deny=True),
    "elicit": elicit,
    "history": history,
    "terminal": terminal,
    "claude-terminal": claude_terminal,
    "bench": bench,
    "transcript-bench": transcript_bench,
    "terminal-bench": terminal_bench,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--session")
    ap.add_argument("--session2")
    ap.add_argument("--cwd")
    ap.add_argument("--phrase")
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--socket")
    ap.add_argument("--sessions", type=int, default=500)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--login", required=True)
    ap.add_argument("--login2")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command")
    ap.add_argument("--message")
    ap.add_argument("--token")
    ap.add_argument("--runner")
    ap.add_argument("--pid")
    a = ap.parse_args()
    with sync_playwright() as p:
        SCENARIOS[a.scenario](p, a)


if __name__ == "__main__":
    main()
