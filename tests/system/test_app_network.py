"""End to end: unmodified network clients (curl with libcurl, mosquitto_pub
with libmosquitto) run as apps under the real rampartd, in real
compartments, against real servers on loopback. What the manifest allows
works; everything else is refused and never reaches the server. Needs
root; skips, saying so, otherwise."""
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from test_rampartd import Daemon, needs_root, pack, wait_for

pytestmark = needs_root

CURL = shutil.which("curl")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub")
MOSQUITTO_SUB = shutil.which("mosquitto_sub")

WEB = "e0000000-0000-4000-8000-0000000000e1"
MQTT = "e0000000-0000-4000-8000-0000000000e2"


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """An HTTP server on loopback that records the paths it served."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        seen = self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                body = b"rampart-e2e-ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            address_family = family

        self.httpd = S((host, 0), H)
        self.port = self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def netd(tmp_path_factory):
    import tempfile, pathlib
    work = pathlib.Path(tempfile.mkdtemp(prefix="rpn-", dir="/tmp"))
    os.chmod(work, 0o755)
    keys = {}
    for name in ("dev",):
        subprocess.run([os.environ.get("RAMPART"), "key", "generate", "-o", work / f"{name}.key"],
                       check=True, capture_output=True)
        keys[name] = work / f"{name}.key"
        keys[name + "_pub"] = work / f"{name}.pub"
    d = Daemon(work, config={"cgroup_parent": "rampart-test-net"}).start()
    r = d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
    assert r.code == 0, r
    yield d, work, keys
    assert d.stop() == 0, d.log.read_text()
    shutil.rmtree(work, ignore_errors=True)


def curl_app(d, work, keys, url, allowed, name="web", extra=()):
    pkg = pack(work, keys, WEB, ["-sS", "--max-time", "5", *extra, "-w", " HTTP %{http_code} ", url],
               name=name, exe=CURL, caps={"AllowedConnections": allowed})
    r = d.rp("device", "sideload", "deploy", pkg)
    assert r.code == 0, r


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_curl_reaches_an_allowed_address(netd):
    d, work, keys = netd
    srv = Server()
    try:
        curl_app(d, work, keys, f"http://127.0.0.1:{srv.port}/allowed",
                 [f"127.0.0.1:{srv.port}"])
        d.wait_log(WEB, "HTTP 200", timeout=15)
        assert "rampart-e2e-ok" in d.logs(WEB)
        assert "/allowed" in srv.seen
    finally:
        srv.close()


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_curl_refused_on_a_port_not_allowed(netd):
    d, work, keys = netd
    srv = Server()
    try:
        # Allowed: the same address on another port only.
        curl_app(d, work, keys, f"http://127.0.0.1:{srv.port}/denied",
                 [f"127.0.0.1:{srv.port + 1}"])
        d.wait_log(WEB, "HTTP 000", timeout=15)
        time.sleep(0.5)
        assert srv.seen == [], "a refused connection reached the server"
    finally:
        srv.close()


def host_name_on_loopback():
    """This machine's own name, if the host resolves it to a loopback
    address without the network (Debian's /etc/hosts does)."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return None, None
    addrs = [i[4][0] for i in infos if i[4][0].startswith("127.")]
    return (name, addrs[0]) if addrs and name != "localhost" else (None, None)


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_curl_resolves_only_allowed_names(netd):
    """The app's DNS goes to the guard's stub: an allowed name resolves
    (the machine's own name, which the host resolves to loopback; the
    app's /etc/hosts knows only localhost), any other name does not, and
    curl never connects."""
    name, addr = host_name_on_loopback()
    if not name:
        pytest.skip("the host does not resolve its own name to a loopback address")
    d, work, keys = netd
    srv = Server(socket.AF_INET, addr)
    try:
        curl_app(d, work, keys, f"http://{name}:{srv.port}/by-name",
                 [f"{name}:{srv.port}"])
        d.wait_log(WEB, "HTTP 200", timeout=15)
        assert "/by-name" in srv.seen
        n = len(srv.seen)
        r = d.rp("device", "sideload", "delete", "--component-id", WEB)
        assert r.code == 0, r
        curl_app(d, work, keys, f"http://{name}:{srv.port}/not-listed",
                 [f"example.invalid:{srv.port}"], name="web2")
        d.wait_log(WEB, "HTTP 000", timeout=15)
        assert "resolve" in d.logs(WEB).lower()
        assert len(srv.seen) == n
    finally:
        srv.close()


@pytest.mark.skipif(not (MOSQUITTO_PUB and MOSQUITTO_SUB and os.path.exists(MOSQUITTO)),
                    reason="mosquitto and its clients are not installed")
def test_mosquitto_pub_reaches_an_allowed_broker(netd):
    d, work, keys = netd
    port = free_port()
    conf = work / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    sub = None
    try:
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0,
                 what="mosquitto to listen")
        sub = subprocess.Popen([MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port),
                                "-t", "rampart/e2e", "-C", "1", "-W", "20"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        pkg = pack(work, keys, MQTT, ["-h", "127.0.0.1", "-p", str(port),
                                      "-t", "rampart/e2e", "-m", "hello from a compartment"],
                   name="mqtt", exe=MOSQUITTO_PUB,
                   caps={"AllowedConnections": [f"127.0.0.1:{port}"]})
        r = d.rp("device", "sideload", "deploy", pkg)
        assert r.code == 0, r
        out, _ = sub.communicate(timeout=25)
        assert "hello from a compartment" in out
    finally:
        if sub and sub.poll() is None:
            sub.kill()
        broker.terminate()
        broker.wait(10)
