"""System test: the real rampart-server over HTTPS, on SQLite and on a real
PostgreSQL started here; the same suite runs against both backends.

Many cases must NOT work: another tenant's anything, a Reader's changes,
oversized or malformed bodies, unknown keys, SQL injection, missing or
invalid tokens, plain HTTP, TLS 1.2.
"""
import http.client
import json
import os
import pathlib
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse

import pytest

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
SERVER = os.environ.get("RAMPART_SERVER", str(SRC / "build" / "server" / "rampart-server"))
PGBIN = pathlib.Path("/usr/lib/postgresql/15/bin")

INJECTIONS = [
    "x'; DROP TABLE tenants; --",
    "\" OR 1=1 --",
    "a'); DELETE FROM tokens; --",
    "1; UPDATE roles SET role='Administrator'",
    "' UNION SELECT hash FROM tokens --",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_user():
    for name in ("rampart-pgtest", "postgres"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "rampart-pgtest"],
                   check=True)
    return pwd.getpwnam("rampart-pgtest")


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL on 127.0.0.1, run as an unprivileged user."""
    if os.geteuid() != 0:
        pytest.skip("PostgreSQL backend: needs root to run initdb as an unprivileged user")
    if not (PGBIN / "initdb").exists():
        pytest.skip(f"PostgreSQL backend: {PGBIN}/initdb is not installed")
    user = pg_user()
    top = tempfile.mkdtemp(prefix="rampart-pg-")
    os.chmod(top, 0o755)
    os.chown(top, user.pw_uid, user.pw_gid)
    data = os.path.join(top, "data")
    port = free_port()

    def as_user(*args):
        return subprocess.run(["runuser", "-u", user.pw_name, "--", *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    r = as_user(PGBIN / "initdb", "-D", data, "-A", "trust", "-U", "rampart", "--no-sync")
    assert r.returncode == 0, r.stderr
    r = as_user(PGBIN / "pg_ctl", "-D", data, "-w", "-l", os.path.join(top, "log"),
                "-o", f"-k {top} -p {port} -h 127.0.0.1 -c fsync=off", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield f"postgresql://rampart@127.0.0.1:{port}/postgres"
    finally:
        as_user(PGBIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(top, ignore_errors=True)


class Server:
    def __init__(self, url, tmp, extra=()):
        self.tmp = tmp
        self.cert = tmp / "cert.pem"
        key = tmp / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                        self.cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        self.url = url
        tok = tmp / "owner.token"
        r = subprocess.run([SERVER, "init", "--db", url, "--admin-token-out", tok],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (tok.stat().st_mode & 0o777) == 0o600
        self.owner = tok.read_text().strip()
        self.proc = subprocess.Popen(
            [SERVER, "serve", "--db", url, "--cert", self.cert, "--key", key,
             "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE, stderr=open(tmp / "server.log", "w"), text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), (tmp / "server.log").read_text()
        self.port = int(line.split()[1])
        self.ctx = ssl.create_default_context(cafile=str(self.cert))

    def call(self, method, path, token=None, body=None, raw=None,
             ctype="application/json"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=30)
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None and ctype:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return resp.status, doc

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        assert self.proc.returncode == 0, (self.tmp / "server.log").read_text()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        url = f"sqlite:{tmp / 'rampart.db'}"
    else:
        url = request.getfixturevalue("postgres")
    s = Server(url, tmp)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def world(srv):
    """Two tenants, each with an Administrator, a Contributor and a Reader,
    and one product."""
    w = {}
    for t in ("a", "b"):
        code, ten = srv.call("POST", "/v1/tenants", srv.owner, {"name": f"tenant-{t}"})
        assert code == 201, ten
        tid = ten["id"]
        w[t] = {"id": tid}
        for user, role in (("admin", "Administrator"), ("dev", "Contributor"),
                           ("viewer", "Reader")):
            code, doc = srv.call("POST", f"/v1/tenants/{tid}/roles", srv.owner,
                                 {"user": f"{user}-{t}", "role": role})
            assert code == 200, doc
            code, doc = srv.call("POST", f"/v1/tenants/{tid}/tokens", srv.owner,
                                 {"user": f"{user}-{t}"})
            assert code == 201, doc
            assert doc["token"].startswith("rpt_") and len(doc["token"]) == 68
            w[t][role] = doc["token"]
        code, prod = srv.call("POST", f"/v1/tenants/{tid}/products", w[t]["Contributor"],
                              {"name": "CO2 Monitor", "description": "sensor"})
        assert code == 201, prod
        w[t]["product"] = prod["id"]
    return w


def is_error(doc, code):
    return (isinstance(doc, dict) and set(doc) == {"error"}
            and doc["error"]["code"] == code and doc["error"]["message"])


# ---- what works -----------------------------------------------------------

def test_health(srv):
    assert srv.call("GET", "/v1/health") == (200, {"status": "ok"})


def test_product_gets_five_groups(srv, world):
    a = world["a"]
    code, groups = srv.call("GET", f"/v1/tenants/{a['id']}/products/{a['product']}"
                            "/device-groups", a["Reader"])
    assert code == 200
    assert [g["name"] for g in groups] == [
        "Development", "Field Test", "Production", "Production OS Evaluation",
        "Field Test OS Evaluation"]
    dev = groups[0]
    assert dev["update_policy"] == "NoThirdPartyAppUpdates"
    assert groups[3]["os_feed"] == "RetailEval"


def test_reader_reads(srv, world):
    a = world["a"]
    for path in ("", "/products", f"/products/{a['product']}", "/roles"):
        code, doc = srv.call("GET", f"/v1/tenants/{a['id']}{path}", a["Reader"])
        assert code == 200, (path, doc)


def test_tenant_list_is_own_tenant_only(srv, world):
    code, doc = srv.call("GET", "/v1/tenants", world["a"]["Administrator"])
    assert code == 200 and [t["id"] for t in doc] == [world["a"]["id"]]
    code, doc = srv.call("GET", "/v1/tenants", srv.owner)
    assert {world["a"]["id"], world["b"]["id"]} <= {t["id"] for t in doc}


def test_audit_records_changes(srv, world):
    a = world["a"]
    code, log = srv.call("GET", f"/v1/tenants/{a['id']}/audit", a["Administrator"])
    assert code == 200
    actions = {(e["actor"], e["action"]) for e in log}
    assert ("owner", "tenant.create") in actions
    assert ("dev-a", "product.create") in actions
    assert ("owner", "role.set") in actions
    assert all(e["time"].endswith("Z") for e in log)
    # Tenant B's changes are not in A's log.
    assert all(e["actor"][-2:] != "-b" for e in log)


def test_role_remove_revokes_tokens(srv, world):
    a = world["a"]
    tid = a["id"]
    assert srv.call("POST", f"/v1/tenants/{tid}/roles", a["Administrator"],
                    {"user": "temp", "role": "Reader"})[0] == 200
    code, tok = srv.call("POST", f"/v1/tenants/{tid}/tokens", a["Administrator"],
                         {"user": "temp"})
    assert code == 201
    assert srv.call("GET", f"/v1/tenants/{tid}", tok["token"])[0] == 200
    assert srv.call("DELETE", f"/v1/tenants/{tid}/roles/temp", a["Administrator"])[0] == 200
    code, doc = srv.call("GET", f"/v1/tenants/{tid}", tok["token"])
    assert code == 401 and is_error(doc, "unauthorized")
    code, doc = srv.call("DELETE", f"/v1/tenants/{tid}/roles/temp", a["Administrator"])
    assert code == 404 and is_error(doc, "not_found")


def test_duplicates_conflict(srv, world):
    a = world["a"]
    code, doc = srv.call("POST", "/v1/tenants", srv.owner, {"name": "tenant-a"})
    assert code == 409 and is_error(doc, "conflict")
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/products", a["Administrator"],
                         {"name": "CO2 Monitor"})
    assert code == 409 and is_error(doc, "conflict")


# ---- what must NOT work ---------------------------------------------------

def b_paths(b):
    t = b["id"]
    p = b["product"]
    return [
        ("GET", f"/v1/tenants/{t}", None),
        ("GET", f"/v1/tenants/{t}/products", None),
        ("GET", f"/v1/tenants/{t}/products/{p}", None),
        ("GET", f"/v1/tenants/{t}/products/{p}/device-groups", None),
        ("GET", f"/v1/tenants/{t}/roles", None),
        ("GET", f"/v1/tenants/{t}/audit", None),
        ("POST", f"/v1/tenants/{t}/products", {"name": "stolen"}),
        ("POST", f"/v1/tenants/{t}/roles", {"user": "admin-a", "role": "Administrator"}),
        ("POST", f"/v1/tenants/{t}/tokens", {"user": "admin-b"}),
        ("DELETE", f"/v1/tenants/{t}/roles/admin-b", None),
    ]


@pytest.mark.parametrize("role", ["Administrator", "Contributor", "Reader"])
def test_other_tenant_is_not_found(srv, world, role):
    tok = world["a"][role]
    for method, path, body in b_paths(world["b"]):
        code, doc = srv.call(method, path, tok, body)
        assert code == 404 and is_error(doc, "not_found"), (method, path, code, doc)
        assert world["b"]["id"] not in json.dumps(doc)
    # A's product under B's tenant, and B's product under A's tenant.
    code, _ = srv.call("GET", f"/v1/tenants/{world['a']['id']}/products/"
                       f"{world['b']['product']}", world["a"]["Administrator"])
    assert code == 404
    # Nothing changed in B.
    code, prods = srv.call("GET", f"/v1/tenants/{world['b']['id']}/products",
                           world["b"]["Reader"])
    assert [p["name"] for p in prods] == ["CO2 Monitor"]
    code, roles = srv.call("GET", f"/v1/tenants/{world['b']['id']}/roles",
                           world["b"]["Reader"])
    assert {r["user"] for r in roles} == {"admin-b", "dev-b", "viewer-b"}


def test_reader_changes_nothing(srv, world):
    a = world["a"]
    t = a["id"]
    for method, path, body in [
            ("POST", f"/v1/tenants/{t}/products", {"name": "nope"}),
            ("POST", f"/v1/tenants/{t}/roles", {"user": "viewer-a", "role": "Administrator"}),
            ("POST", f"/v1/tenants/{t}/tokens", {"user": "viewer-a"}),
            ("DELETE", f"/v1/tenants/{t}/roles/admin-a", None),
            ("GET", f"/v1/tenants/{t}/audit", None),
            ("POST", "/v1/tenants", {"name": "mine"})]:
        code, doc = srv.call(method, path, a["Reader"], body)
        assert code == 403 and is_error(doc, "forbidden"), (method, path, doc)
    code, roles = srv.call("GET", f"/v1/tenants/{t}/roles", a["Reader"])
    assert {"user": "viewer-a", "role": "Reader"} in roles


def test_contributor_cannot_manage_roles(srv, world):
    a = world["a"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/roles", a["Contributor"],
                         {"user": "dev-a", "role": "Administrator"})
    assert code == 403 and is_error(doc, "forbidden")
    code, doc = srv.call("POST", "/v1/tenants", a["Administrator"], {"name": "x"})
    assert code == 403


@pytest.mark.parametrize("token", [None, "", "rpt_", "rpt_" + "0" * 64, "rpt_" + "g" * 64,
                                   "Bearer", "x" * 5000, "rpt_" + "0" * 65])
def test_missing_or_invalid_token(srv, world, token):
    code, doc = srv.call("GET", f"/v1/tenants/{world['a']['id']}", token)
    assert code == 401 and is_error(doc, "unauthorized")


def test_other_auth_scheme(srv, world):
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx)
    conn.request("GET", "/v1/tenants", headers={"Authorization": "Basic " + srv.owner})
    assert conn.getresponse().status == 401


@pytest.mark.parametrize("size", [64 * 1024 + 1, 200 * 1024])
def test_oversized_body(srv, world, size):
    raw = '{"name": "' + "a" * size + '"}'
    if size < 128 * 1024:
        code, doc = srv.call("POST", "/v1/tenants", srv.owner, raw=raw)
        assert code == 413 and is_error(doc, "payload_too_large")
        return
    # Far over the cap libevent answers 413 and closes while the client is
    # still sending: either is a refusal; nothing is created.
    try:
        code, _ = srv.call("POST", "/v1/tenants", srv.owner, raw=raw)
        assert code == 413
    except (ssl.SSLError, ConnectionError):
        pass
    assert srv.call("GET", "/v1/health")[0] == 200


@pytest.mark.parametrize("raw", ['{"name": ', '{"name": "x"} trailing', "[]", '"x"',
                                 '{"name": "x", "name": "y"}', "", "\x00",
                                 '{"name": 5}', '{"name": null}', "{}"])
def test_malformed_json(srv, world, raw):
    code, doc = srv.call("POST", "/v1/tenants", srv.owner, raw=raw)
    assert code == 400 and is_error(doc, "bad_request"), (raw, doc)


@pytest.mark.parametrize("path,body,field", [
    ("/v1/tenants", {"name": "x", "colour": "red"}, "colour"),
    ("/products", {"name": "x", "owner": "me"}, "owner"),
    ("/roles", {"user": "u", "role": "Reader", "admin": True}, "admin"),
    ("/tokens", {"user": "admin-a", "expires": 1}, "expires"),
])
def test_unknown_keys(srv, world, path, body, field):
    if not path.startswith("/v1"):
        path = f"/v1/tenants/{world['a']['id']}{path}"
    code, doc = srv.call("POST", path, srv.owner, body)
    assert code == 400 and is_error(doc, "bad_request")
    assert field in doc["error"]["message"]


def test_wrong_content_type(srv, world):
    code, doc = srv.call("POST", "/v1/tenants", srv.owner, {"name": "x"},
                         ctype="text/plain")
    assert code == 415 and is_error(doc, "unsupported_media_type")


def test_unknown_route_and_method(srv, world):
    code, doc = srv.call("GET", "/v1/nope", srv.owner)
    assert code == 404 and is_error(doc, "not_found")
    code, doc = srv.call("DELETE", "/v1/tenants", srv.owner)
    assert code == 405 and is_error(doc, "method_not_allowed")
    for path in ("/v1/tenants/", "//v1/tenants", "/v1/tenants/%2e%2e", "/v1/../v1/health"):
        assert srv.call("GET", path, srv.owner)[0] == 404, path


@pytest.mark.parametrize("inj", INJECTIONS)
def test_sql_injection(srv, world, inj):
    a = world["a"]
    t = a["id"]
    adm = a["Administrator"]
    # Names are refused by their charset; descriptions are stored verbatim.
    assert srv.call("POST", "/v1/tenants", srv.owner, {"name": inj})[0] == 400
    assert srv.call("POST", f"/v1/tenants/{t}/products", adm, {"name": inj})[0] == 400
    assert srv.call("POST", f"/v1/tenants/{t}/roles", adm,
                    {"user": inj, "role": "Reader"})[0] == 400
    assert srv.call("POST", f"/v1/tenants/{t}/roles", adm,
                    {"user": "x", "role": inj})[0] == 400
    assert srv.call("POST", f"/v1/tenants/{t}/tokens", adm, {"user": inj})[0] == 400
    name = "inj " + str(abs(hash(inj)) % 10**8)
    code, prod = srv.call("POST", f"/v1/tenants/{t}/products", adm,
                          {"name": name, "description": inj})
    assert code == 201 and prod["description"] == inj
    code, again = srv.call("GET", f"/v1/tenants/{t}/products/{prod['id']}", adm)
    assert again["description"] == inj
    # In the path and the token.
    assert srv.call("GET", f"/v1/tenants/{t}/products/{urllib.parse.quote(inj, safe='')}", adm)[0] in (400, 404)
    assert srv.call("GET", f"/v1/tenants/{t}", inj)[0] == 401
    # Everything still there.
    code, tenants = srv.call("GET", "/v1/tenants", srv.owner)
    assert code == 200 and {"tenant-a", "tenant-b"} <= {x["name"] for x in tenants}
    assert srv.call("GET", f"/v1/tenants/{t}/roles", adm)[0] == 200


def test_plain_http_refused(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert b"HTTP/1" not in data and b"ok" not in data


def test_tls12_refused(srv):
    ctx = ssl.create_default_context(cafile=str(srv.cert))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(100)


def test_server_survives(srv):
    # After all the refusals above, the same process still answers.
    assert srv.proc.poll() is None
    assert srv.call("GET", "/v1/health")[0] == 200


def test_identity_without_signer_unavailable(srv, world):
    # This server runs without --keys: no CA, so identity routes say 503,
    # and nothing is claimed.
    a = world["a"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/devices/claim",
                         a["Administrator"], {"device_id": "ab" * 32})
    assert code == 503 and is_error(doc, "unavailable")
    code, doc = srv.call("GET", f"/v1/tenants/{a['id']}/devices", a["Reader"])
    assert code == 200 and doc == []
    # Access is checked before availability: another tenant still gets 404.
    code, doc = srv.call("GET", f"/v1/tenants/{world['b']['id']}/ca-certificates",
                         a["Administrator"])
    assert code == 404


def test_init_twice_refused(srv):
    r = subprocess.run([SERVER, "init", "--db", srv.url, "--admin-token-out",
                        srv.tmp / "second.token"], capture_output=True, text=True)
    assert r.returncode == 1 and "owner" in r.stderr
    assert not (srv.tmp / "second.token").exists()


# ---- the route table and the OpenAPI description agree --------------------

def test_routes_match_openapi():
    import yaml
    r = subprocess.run([SERVER, "routes"], capture_output=True, text=True, check=True)
    served = {tuple(line.split(" ", 1)) for line in r.stdout.splitlines()}
    spec = yaml.safe_load((SRC / "docs" / "api" / "openapi.yaml").read_text())
    assert spec["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in spec["paths"].items()
                 for m in ops if m in ("get", "post", "put", "delete", "patch")}
    assert served == described, (served - described, described - served)
