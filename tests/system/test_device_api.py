"""System test: the devices' own API on the real rampart-server with its
real rampart-signer, on SQLite and on PostgreSQL (issue 5: check-in,
targets, device downloads, error reports; docs/formats/checkin.md).

Devices authenticate with the client certificate the tenant CA issued
them (mutual TLS, verified per request against the calling device's own
tenant). Targets documents are decoded here byte by byte and their
signature checked with `openssl pkeyutl` against the tenant's targets key.

What must NOT work: no certificate, a self-signed one, one from another CA
with a copied issuer name, an expired one, a revoked device, a certificate
whose CN is not its key's hash, tenant A's device reaching tenant B's
targets or images, SQL injection in every new string field, malformed and
oversized bodies, a Reader moving a device, another tenant's operators
reading error reports.
"""
import base64
import calendar
import csv
import http.client
import io
import json
import os
import socket
import ssl
import struct
import subprocess
import time
import urllib.parse

import pytest

from test_identity import SIGNER, Device, is_error
from test_images import ImgServer, pack
from test_server import INJECTIONS, Server, postgres  # noqa: F401 (fixture)

ZERO = "00000000-0000-0000-0000-000000000000"
CSV_HEADER = "Device ID,Event Type,Event Class,Event Count,Description,Start Time,End Time"


class DevServer(ImgServer):
    """rampart-server with its signer, a data directory and device options."""

    def __init__(self, url, tmp, workers=1):  # pylint: disable=super-init-not-called
        self.keys = tmp / "ca-keys"
        self.seen = []
        self.data = tmp / "data"
        self.workers = workers
        Server.__init__(self, url, tmp, extra=(
            "--keys", str(self.keys), "--signer", SIGNER, "--data", str(self.data),
            "--max-image-mb", "2", "--checkin-interval", "600",
            "--targets-lifetime", "86400", "--workers", str(workers)))

    def log(self):
        return (self.tmp / "server.log").read_text()

    def dev(self, method, path, cert=None, key=None, body=None, raw=None, headers=None,
            ctype="application/json"):
        """A request with a client certificate (or none)."""
        ctx = ssl.create_default_context(cafile=str(self.cert))
        if cert:
            ctx.load_cert_chain(str(cert), str(key))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30)
        h = dict(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", ctype)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            text = resp.read()
        finally:
            conn.close()
        self.seen.append(text)
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return resp.status, doc, text, resp


# Each backend with one event loop and with three (serve --workers 3:
# several threads, each with its own database connection, sharing the
# listener and the signer).
@pytest.fixture(scope="module", params=["sqlite", "postgresql", "sqlite-3", "postgresql-3"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev-" + request.param)
    kind, _, workers = request.param.partition("-")
    if kind == "sqlite":
        url = f"sqlite:{tmp / 'rampart.db'}"
    else:
        url = request.getfixturevalue("postgres")
        if workers:
            # A database of its own on the module's PostgreSQL.
            subprocess.run(["psql", url, "-q", "-c", f"CREATE DATABASE rp_w{workers}"],
                           check=True, capture_output=True)
            url = url.rsplit("/", 1)[0] + f"/rp_w{workers}"
    s = DevServer(url, tmp, workers=int(workers or 1))
    yield s
    s.stop()


class Enrolled(Device):
    """A claimed device with its certificate on disk."""

    def __init__(self, srv, t, tmp, group=None, kind="ed25519"):
        super().__init__(tmp, kind)
        extra = {"device_group": group} if group else {}
        code, doc = srv.call("POST", f"/v1/tenants/{t['id']}/devices/claim",
                             t["Contributor"], {"device_id": self.id, **extra})
        assert code == 201, doc
        code, cert = srv.call("POST", "/v1/device/certificate", None,
                              {"tenant": t["id"], "csr": self.csr})
        assert code == 201, cert
        self.issued = cert
        self.cert = self.dir / "cert.pem"
        self.cert.write_text(cert["certificate"])
        self.seq = 0

    def call(self, srv, method, path, **kw):
        return srv.dev(method, path, self.cert, self.key, **kw)

    def checkin(self, srv, reports=(), installed=(), targets_version=0, **extra):
        body = {"runtime_version": "0.5.0", "time": int(time.time()),
                "targets_version": targets_version, "installed": list(installed),
                "error_reports": list(reports), **extra}
        return self.call(srv, "POST", "/v1/device/checkin", body=body)

    def report(self, component, **kw):
        self.seq += 1
        r = {"seq": self.seq, "time": int(time.time()) - 60, "component_id": component,
             "app_name": "co2monitor", "event_type": "AppExit",
             "event_class": "Unplanned", "exit_code": 1, "signal": 0,
             "description": "exit status 1 after 3.2 s", "image_version": "1.0.0",
             "security_version": 1}
        r.update(kw)
        return r


@pytest.fixture(scope="module")
def world(srv, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("devworld")
    w = {"tmp": tmp}
    from conftest import run
    for name in ("dev",):
        r = run("key", "generate", "-o", tmp / f"{name}.key")
        assert r.code == 0, r
    for t in ("a", "b"):
        code, ten = srv.call("POST", "/v1/tenants", srv.owner, {"name": f"dev-tenant-{t}"})
        assert code == 201, ten
        tid = ten["id"]
        w[t] = {"id": tid}
        for user, role in (("admin", "Administrator"), ("dev", "Contributor"),
                           ("viewer", "Reader")):
            assert srv.call("POST", f"/v1/tenants/{tid}/roles", srv.owner,
                            {"user": f"{user}-{t}", "role": role})[0] == 200
            code, doc = srv.call("POST", f"/v1/tenants/{tid}/tokens", srv.owner,
                                 {"user": f"{user}-{t}"})
            assert code == 201
            w[t][role] = doc["token"]
        code, prod = srv.call("POST", f"/v1/tenants/{tid}/products",
                              w[t]["Administrator"], {"name": "Sensor"})
        assert code == 201
        w[t]["product"] = prod["id"]
        code, groups = srv.call("GET", f"/v1/tenants/{tid}/products/{prod['id']}"
                                "/device-groups", w[t]["Reader"])
        w[t]["groups"] = [g["id"] for g in groups]
        w[t]["group"] = groups[2]["id"]  # Production
        code, doc = srv.call("POST", f"/v1/tenants/{tid}/products/{prod['id']}/signing-keys",
                             w[t]["Administrator"], {"public_key": (tmp / "dev.pub").read_text()})
        assert code == 201, doc
        pkg = pack(tmp, tmp / "dev.key", name=f"app-{t}", size=70000)
        code, img = srv.upload(tid, prod["id"], pkg, w[t]["Contributor"])
        assert code == 201, img
        w[t]["image"] = img
        w[t]["pkg"] = pkg
        code, dep = srv.call("POST", f"/v1/tenants/{tid}/products/{prod['id']}/device-groups/"
                             f"{w[t]['group']}/deployments", w[t]["Contributor"],
                             {"images": [img["id"]]})
        assert code == 201, dep
        w[t]["device"] = Enrolled(srv, w[t], tmp, group=w[t]["group"])
    # An image of A that is uploaded but deployed nowhere.
    pkg = pack(tmp, tmp / "dev.key", name="undeployed")
    code, img = srv.upload(w["a"]["id"], w["a"]["product"], pkg, w["a"]["Contributor"])
    assert code == 201, img
    w["undeployed"] = img
    return w


def decode_targets(b64):
    doc = base64.b64decode(b64, validate=True)
    assert doc[:8] == b"RAMPTGT\0"
    ver, flags, plen = struct.unpack("<HHI", doc[8:16])
    assert (ver, flags) == (1, 0)
    region = doc[:16 + plen]
    payload = json.loads(doc[16:16 + plen])
    sb = doc[16 + plen:]
    assert sb[:8] == b"RAMPSIG\0" and sb[-8:] == b"RAMPEND\0"
    count = struct.unpack("<H", sb[10:12])[0]
    assert count == 1
    alg, _, slen = struct.unpack("<BBH", sb[16:20])
    assert alg == 1 and slen == 64
    key_id = sb[20:52].hex()
    sig = sb[52:52 + 64]
    return payload, region, key_id, sig


def openssl_verify_ed25519(tmp, pem, region, sig):
    (tmp / "tk.pem").write_text(pem)
    (tmp / "region.bin").write_bytes(region)
    (tmp / "sig.bin").write_bytes(sig)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", tmp / "tk.pem",
                        "-rawin", "-in", tmp / "region.bin", "-sigfile", tmp / "sig.bin"],
                       capture_output=True, text=True)
    return r.returncode == 0


# ---- what works -----------------------------------------------------------

def test_checkin_gets_signed_targets(srv, world, tmp_path):
    a = world["a"]
    d = a["device"]
    img = a["image"]
    comp = img["component_id"]
    installed = [{"component_id": comp, "image_id": img["id"], "version": "1.0.0",
                  "security_version": 1, "name": "co2monitor"}]
    reports = [d.report(comp), d.report(comp, event_type="AppCrash", signal=11,
                                        exit_code=0, description="killed by SIGSEGV")]
    code, doc, _, _ = d.checkin(srv, reports, installed)
    assert code == 200, doc
    assert set(doc) == {"targets", "targets_version", "reports_accepted",
                        "reports_acked_seq", "next_checkin_s", "certificate_renew_after"}
    assert doc["reports_accepted"] == 2 and doc["reports_acked_seq"] == 2
    assert doc["next_checkin_s"] == 600
    ra = calendar.timegm(time.strptime(d.issued["renew_after"], "%Y-%m-%dT%H:%M:%SZ"))
    assert doc["certificate_renew_after"] == ra
    payload, region, key_id, sig = decode_targets(doc["targets"])
    assert payload["tenant"] == a["id"] and payload["device"] == d.id
    assert payload["device_group"] == a["group"] and payload["product"] == a["product"]
    assert payload["version"] == doc["targets_version"] >= 1
    assert payload["expires"] - payload["issued_at"] == 86400
    assert abs(payload["issued_at"] - time.time()) < 120
    assert payload["images"] == [{
        "component_id": comp, "image_id": img["id"], "version": img["version"],
        "security_version": img["security_version"], "type": "application",
        "size": img["size"], "sha256": img["sha256"]}]
    # Signed by the tenant's targets key, which both routes publish.
    code, key, _, _ = d.call(srv, "GET", "/v1/device/targets-key")
    assert code == 200 and key["key_id"] == key_id
    code, key2 = srv.call("GET", f"/v1/tenants/{a['id']}/targets-key", a["Reader"])
    assert code == 200 and key2["pem"] == key["pem"] and key2["key_id"] == key_id
    assert openssl_verify_ed25519(tmp_path, key["pem"], region, sig)
    bad = bytearray(region)
    bad[-3] ^= 1
    assert not openssl_verify_ed25519(tmp_path, key["pem"], bytes(bad), sig)
    # Re-sent reports are stored once; with nothing changed the device gets
    # the very same document again (it treats the same bytes as nothing
    # to do), not a new version.
    code, again, _, _ = d.checkin(srv, reports, installed, targets_version=payload["version"])
    assert code == 200, again
    assert again["reports_accepted"] == 0 and again["reports_acked_seq"] == 2
    assert again["targets"] == doc["targets"]
    assert again["targets_version"] == doc["targets_version"]
    # The device object shows what it reported.
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{d.id}", a["Reader"])
    assert code == 200
    assert shown["runtime_version"] == "0.5.0" and shown["installed"] == installed
    assert shown["last_checkin"].endswith("Z")
    code, listed = srv.call("GET", f"/v1/tenants/{a['id']}/devices", a["Reader"])
    mine = [x for x in listed if x["id"] == d.id][0]
    assert mine["installed"] == installed


def test_no_certificate_refused(srv, world):
    for path, method in (("/v1/device/checkin", "POST"), ("/v1/device/targets-key", "GET"),
                         (f"/v1/device/images/{world['a']['image']['id']}/content", "GET")):
        code, doc, _, _ = srv.dev(method, path, body={} if method == "POST" else None)
        assert code == 401 and is_error(doc, "unauthenticated"), (path, doc)
        assert doc["error"]["message"] == "client certificate refused"
    assert "no client certificate" in srv.log()


def test_device_without_group_gets_empty_targets(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path)
    code, doc, _, _ = d.checkin(srv)
    assert code == 200, doc
    payload, _, _, _ = decode_targets(doc["targets"])
    assert payload["device_group"] == ZERO and payload["product"] == ZERO
    assert payload["images"] == [] and payload["device"] == d.id
    code, doc2, _, _ = d.checkin(srv)
    assert doc2["targets"] == doc["targets"]
    # Moved into the group (Contributor), it gets the group's deployment.
    code, moved = srv.call("PUT", f"/v1/tenants/{a['id']}/devices/{d.id}/device-group",
                           a["Contributor"], {"device_group": a["group"],
                                              "product": a["product"]})
    assert code == 200, moved
    assert moved["device_group_id"] == a["group"] and moved["product_id"] == a["product"]
    code, doc3, _, _ = d.checkin(srv)
    payload, _, _, _ = decode_targets(doc3["targets"])
    assert payload["device_group"] == a["group"]
    assert [i["image_id"] for i in payload["images"]] == [a["image"]["id"]]


def test_device_downloads_deployed_image(srv, world):
    a = world["a"]
    d = a["device"]
    img = a["image"]
    code, _, body, resp = d.call(srv, "GET", f"/v1/device/images/{img['id']}/content")
    assert code == 200 and body == a["pkg"].read_bytes() or len(body) == img["size"]
    assert resp.getheader("ETag") == f'"{img["sha256"]}"'
    import hashlib
    assert hashlib.sha256(body).hexdigest() == img["sha256"]
    code, _, part, resp = d.call(srv, "GET", f"/v1/device/images/{img['id']}/content",
                                 headers={"Range": "bytes=100-199"})
    assert code == 206 and part == body[100:200]
    assert resp.getheader("Content-Range") == f"bytes 100-199/{img['size']}"
    code, _, _, _ = d.call(srv, "GET", f"/v1/device/images/{img['id']}/content",
                           headers={"Range": f"bytes={img['size']}-"})
    assert code == 416


def test_certificate_response_pins_keys(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, kind="p256")
    code, key = srv.call("GET", f"/v1/tenants/{a['id']}/targets-key", a["Reader"])
    assert code == 200
    assert d.issued["targets_key"] == key["pem"]
    code, cas = srv.call("GET", f"/v1/tenants/{a['id']}/ca-certificates", a["Reader"])
    assert d.issued["ca_certificates"] == cas["pem"]
    code, _, text, resp = d.call(srv, "GET", "/v1/device/targets-key",
                                 headers={"Accept": "application/x-pem-file"})
    assert code == 200 and resp.getheader("Content-Type") == "application/x-pem-file"
    assert text.decode() == key["pem"]
    # A P-256 device checks in too.
    assert d.checkin(srv)[0] == 200


def test_error_reports_listing(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    t = a["id"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    comp = a["image"]["component_id"]
    now = int(time.time())
    reps = [d.report(comp, time=now - 300), d.report(comp, time=now - 200),
            d.report(comp, time=now - 100, event_type="AppCrash", signal=11, exit_code=0,
                     description="signal=11, \"SIGSEGV\""),
            d.report(comp, time=now - 50, event_class="Planned", description="=cmd|' /C calc'!A0")]
    code, doc, _, _ = d.checkin(srv, reps)
    assert code == 200 and doc["reports_accepted"] == 4 and doc["reports_acked_seq"] == 4
    code, listing = srv.call("GET", f"/v1/tenants/{t}/error-reports?device={d.id}", a["Reader"])
    assert code == 200, listing
    rows = listing["error_reports"]
    assert len(rows) == 3
    assert [r["end_time"] for r in rows] == sorted([r["end_time"] for r in rows], reverse=True)
    exits = [r for r in rows if r["kind"] == "AppExit" and r["event_type"] == "Unplanned"]
    assert len(exits) == 1 and exits[0]["event_count"] == 2
    assert exits[0]["event_class"] == "Application"
    assert exits[0]["description"] == (f"exit status 1 after 3.2 s; component_id={comp}; "
                                       "name=co2monitor")
    assert exits[0]["device_id"] == d.id and exits[0]["product"] == a["product"]
    assert exits[0]["device_group"] == a["group"] and exits[0]["component_id"] == comp
    assert exits[0]["app_name"] == "co2monitor"
    assert exits[0]["start_time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 300))
    assert exits[0]["end_time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 200))
    # Filters.
    for q, n in ((f"device={d.id}&since={now - 150}", 2), (f"device={d.id}&until={now - 250}", 1),
                 (f"device={d.id}&since={now - 150}&until={now - 60}", 1),
                 (f"device_group={a['group']}&device={d.id}", 3),
                 (f"product={a['product']}&device={d.id.upper()}", 3),
                 (f"device_group={a['groups'][0]}", 0)):
        code, listing = srv.call("GET", f"/v1/tenants/{t}/error-reports?{q}", a["Reader"])
        assert code == 200 and len(listing["error_reports"]) == n, (q, listing)
    # CSV, by Accept or by format=csv: Azure Sphere's columns, cells escaped.
    code, text, ctype = srv.raw("GET", f"/v1/tenants/{t}/error-reports?device={d.id}",
                                a["Reader"], headers={"Accept": "text/csv"})
    assert code == 200 and ctype.startswith("text/csv"), text
    code2, text2, _ = srv.raw("GET", f"/v1/tenants/{t}/error-reports?device={d.id}&format=csv",
                              a["Reader"])
    assert code2 == 200 and text2 == text
    lines = text.decode().splitlines()
    assert lines[0] == CSV_HEADER
    rows = list(csv.reader(io.StringIO(text.decode())))[1:]
    assert len(rows) == 3 and all(len(r) == 7 for r in rows)
    # Description as on the device: the device's text, then the app.
    assert all(f"; component_id={comp}; name=co2monitor" in r[4] for r in rows)
    by_desc = {r[4].split("; component_id=")[0]: r for r in rows}
    assert 'signal=11, "SIGSEGV"' in by_desc
    assert "'=cmd|' /C calc'!A0" in by_desc  # no formula for a spreadsheet
    assert by_desc["exit status 1 after 3.2 s"][1:4] == ["Unplanned", "Application", "2"]


def test_error_reports_access(srv, world):
    a, b = world["a"], world["b"]
    code, doc = srv.call("GET", f"/v1/tenants/{a['id']}/error-reports", b["Administrator"])
    assert code == 404 and is_error(doc, "not_found")
    assert srv.call("GET", f"/v1/tenants/{a['id']}/error-reports", None)[0] == 401
    # B's own listing never shows A's devices.
    code, doc = srv.call("GET", f"/v1/tenants/{b['id']}/error-reports", b["Reader"])
    assert code == 200
    assert all(r["device_id"] != a["device"].id for r in doc["error_reports"])


@pytest.mark.parametrize("query", [
    "colour=red", "device=xyz", "product=nope", "since=-1", "since=abc", "since=1&since=2",
    "format=xml", "device_group=x'%20OR%201=1", "since=5&until=4", "&", "since",
    "device=" + "a" * 65, "product=" + urllib.parse.quote("x'; DROP TABLE error_reports; --"),
])
def test_error_reports_bad_query(srv, world, query):
    a = world["a"]
    code, doc = srv.call("GET", f"/v1/tenants/{a['id']}/error-reports?{query}", a["Reader"])
    assert code == 400 and is_error(doc, "bad_request"), (query, doc)


def test_device_group_roles_and_tenants(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    d = Enrolled(srv, a, tmp_path)
    path = f"/v1/tenants/{a['id']}/devices/{d.id}/device-group"
    body = {"device_group": a["group"]}
    code, doc = srv.call("PUT", path, a["Reader"], body)
    assert code == 403 and is_error(doc, "forbidden")
    # B's operators: A's device, tenant and groups do not exist for them.
    code, doc = srv.call("PUT", path, b["Administrator"], body)
    assert code == 404
    code, doc = srv.call("PUT", f"/v1/tenants/{b['id']}/devices/{d.id}/device-group",
                         b["Administrator"], {"device_group": b["group"]})
    assert code == 404
    # A group of another tenant, of another product, or unknown.
    code, doc = srv.call("PUT", path, a["Contributor"], {"device_group": b["group"]})
    assert code == 404
    code, doc = srv.call("PUT", path, a["Contributor"],
                         {"device_group": a["group"], "product": b["product"]})
    assert code == 400
    for bad in ({}, {"device_group": "x"}, {"device_group": a["group"], "colour": 1},
                {"device_group": 5}):
        code, doc = srv.call("PUT", path, a["Contributor"], bad)
        assert code == 400 and is_error(doc, "bad_request"), (bad, doc)
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{d.id}", a["Reader"])
    assert shown["device_group_id"] is None


# ---- mutual TLS: what must NOT work ----------------------------------------

def openssl(*args, **kw):
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True,
                          check=True, **kw)


def ca_subject(srv, t, tmp):
    code, text, _ = srv.raw("GET", f"/v1/tenants/{t['id']}/ca-certificates", t["Reader"],
                            headers={"Accept": "application/x-pem-file"})
    (tmp / "real-ca.pem").write_bytes(text)
    out = openssl("x509", "-in", tmp / "real-ca.pem", "-noout", "-subject",
                  "-nameopt", "compat").stdout
    return out.split("subject=", 1)[1].strip()


EXT = """[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def sign_leaf(tmp, key, cn, ca_cert, ca_key, name):
    """A device-profile certificate for key with subject CN=cn signed by
    ca_key (openssl x509 -req); returns (path, serial hex)."""
    (tmp / "ext.cnf").write_text(EXT)
    csr = tmp / f"{name}.csr"
    openssl("req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr)
    serial = "41" + os.urandom(15).hex()
    out = tmp / f"{name}.pem"
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
            "0x" + serial, "-days", "1", "-sha256", "-extfile", tmp / "ext.cnf",
            "-extensions", "v3", "-out", out)
    return out, serial


def db_exec(srv, sql):
    if srv.url.startswith("sqlite:"):
        import sqlite3
        con = sqlite3.connect(srv.url[len("sqlite:"):], timeout=10)
        con.execute(sql)
        con.commit()
        con.close()
    else:
        subprocess.run(["psql", srv.url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                       check=True, capture_output=True)


def record_cert(srv, t, dev_id, serial, nb, na):
    db_exec(srv, "INSERT INTO device_certs (serial, device_id, tenant_id, generation,"
            f" not_before, not_after) VALUES ('{serial}', '{dev_id}', '{t['id']}', 1,"
            f" {nb}, {na})")


def refused(srv, cert, key, why):
    before = len(srv.log())
    for method, path in (("POST", "/v1/device/checkin"), ("GET", "/v1/device/targets-key")):
        body = {"runtime_version": "0.5.0", "time": 1, "targets_version": 0} \
            if method == "POST" else None
        code, doc, _, _ = srv.dev(method, path, cert, key, body=body)
        assert code == 401 and is_error(doc, "unauthenticated"), (path, doc)
        assert doc["error"]["message"] == "client certificate refused"
    assert why in srv.log()[before:], srv.log()[before:]


def self_signed(tmp, key, subj, section, out, ski=None):
    """openssl req -x509 with only the extensions of section (of EXT);
    ski replaces the [ca] section's subjectKeyIdentifier."""
    ext = EXT
    if ski:
        head, ca = ext.split("[ca]\n")
        ca = ca.replace("subjectKeyIdentifier = hash", f"subjectKeyIdentifier = {ski}")
        ca = ca.replace("authorityKeyIdentifier = keyid\n", "")
        ext = head + "[ca]\n" + ca
    cnf = tmp / "req.cnf"
    cnf.write_text("[req]\ndistinguished_name = dn\n[dn]\n" + ext)
    openssl("req", "-x509", "-config", cnf, "-extensions", section, "-key", key,
            "-subj", subj, "-days", "30", "-out", out)
    return out


def test_self_signed_refused(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    # A device-profile leaf (CA:FALSE, clientAuth, CN = its key's hash) that
    # signed itself, and a self-signed CA-style one.
    leaf = self_signed(tmp_path, d.key, f"/CN={d.id}", "v3", tmp_path / "self.pem")
    refused(srv, leaf, d.key, "self-signed certificate")
    ca = self_signed(tmp_path, d.key, f"/CN={d.id}", "ca", tmp_path / "self-ca.pem")
    refused(srv, ca, d.key, "is a CA certificate")
    # The device's own certificate still works.
    assert d.checkin(srv)[0] == 200


def test_other_ca_with_copied_name_refused(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    subject = ca_subject(srv, a, tmp_path)
    assert "Rampart tenant" in subject
    fake_key = tmp_path / "fake-ca.key"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", fake_key)
    # The same name and even the same key identifier as the real CA.
    ski = openssl("x509", "-in", tmp_path / "real-ca.pem", "-noout", "-ext",
                  "subjectKeyIdentifier").stdout.splitlines()[1].strip()
    fake = self_signed(tmp_path, fake_key, subject, "ca", tmp_path / "fake-ca.pem", ski=ski)
    assert openssl("x509", "-in", fake, "-noout", "-subject", "-nameopt",
                   "compat").stdout.split("=", 1)[1].strip() == subject
    cert, serial = sign_leaf(tmp_path, d.key, d.id, fake, fake_key, "forged")
    # Even recorded as if the service had issued it, it does not chain.
    now = int(time.time())
    record_cert(srv, a, d.id, serial, now - 60, now + 86400)
    refused(srv, cert, d.key, "certificate signature failure")


def test_cn_not_key_hash_refused(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    other = Enrolled(srv, a, tmp_path, group=a["group"])
    ca_subject(srv, a, tmp_path)
    ca_key = srv.keys / a["id"] / "ca-1.key"
    # Signed by the real tenant CA, recorded, but CN names another device.
    cert, serial = sign_leaf(tmp_path, d.key, other.id, tmp_path / "real-ca.pem", ca_key,
                             "wrong-cn")
    now = int(time.time())
    record_cert(srv, a, d.id, serial, now - 60, now + 86400)
    refused(srv, cert, d.key, "client certificate refused")
    # The control: the same CA and recipe with the right CN is accepted.
    good, serial = sign_leaf(tmp_path, d.key, d.id, tmp_path / "real-ca.pem", ca_key, "right-cn")
    record_cert(srv, a, d.id, serial, now - 60, now + 86400)
    code, doc, _, _ = srv.dev("GET", "/v1/device/targets-key", good, d.key)
    assert code == 200, doc
    # ... but not when the service has no record of its serial.
    unknown, _ = sign_leaf(tmp_path, d.key, d.id, tmp_path / "real-ca.pem", ca_key, "unrecorded")
    refused(srv, unknown, d.key, "did not issue")


def side_signer(srv, req):
    """Ask a second rampart-signer on the same key directory directly."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    p = subprocess.Popen([SIGNER, "--keydir", str(srv.keys), "--fd", str(b.fileno())],
                         pass_fds=[b.fileno()])
    b.close()
    try:
        a.send(json.dumps(req).encode())
        resp = json.loads(a.recv(200000))
    finally:
        a.close()
        p.wait(timeout=10)
    assert resp["ok"], resp
    return resp["result"]


def test_expired_refused(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    now = int(time.time())
    res = side_signer(srv, {"v": 1, "op": "issue", "tenant": a["id"], "csr": d.csr,
                            "not_before": now - 3000, "not_after": now - 100})
    record_cert(srv, a, d.id, res["serial"], now - 3000, now - 100)
    cert = tmp_path / "expired.pem"
    cert.write_text(res["certificate"])
    refused(srv, cert, d.key, "expired")


def test_revoked_device_refused(srv, world, tmp_path):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    assert d.checkin(srv)[0] == 200
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/devices/{d.id}/revoke",
                         a["Contributor"], {})
    assert code == 200
    refused(srv, d.cert, d.key, "revoked")


class KeptAlive:
    """One kept-alive mutual-TLS connection of a device, reused request after
    request (the server verifies its certificate once per connection)."""

    def __init__(self, srv, d):
        ctx = ssl.create_default_context(cafile=str(srv.cert))
        ctx.load_cert_chain(str(d.cert), str(d.key))
        self.conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx,
                                                timeout=30)
        self.sock = None

    def checkin(self):
        self.conn.request("POST", "/v1/device/checkin", body=json.dumps(good_body()),
                          headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        doc = json.loads(resp.read())
        # Still the same TCP connection: the server's cache is what answers.
        assert self.sock is None or self.conn.sock is self.sock
        self.sock = self.conn.sock
        return resp.status, doc

    def close(self):
        self.conn.close()


def test_kept_alive_connection_sees_revocation(srv, world, tmp_path):
    """The verified certificate is cached on its connection, revocation is
    not: revoking the device, or only its certificate's serial, refuses the
    very next request on the same connection."""
    a = world["a"]
    d1 = Enrolled(srv, a, tmp_path, group=a["group"])
    d2 = Enrolled(srv, a, tmp_path, group=a["group"])
    c1, c2 = KeptAlive(srv, d1), KeptAlive(srv, d2)
    for c in (c1, c2):
        for _ in range(3):
            code, doc = c.checkin()
            assert code == 200, doc
    before = len(srv.log())
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/devices/{d1.id}/revoke",
                         a["Contributor"], {})
    assert code == 200, doc
    code, doc = c1.checkin()
    assert code == 401 and is_error(doc, "unauthenticated"), doc
    assert "revoked" in srv.log()[before:]
    db_exec(srv, f"UPDATE device_certs SET revoked_at = 1 WHERE device_id = '{d2.id}'")
    code, doc = c2.checkin()
    assert code == 401 and is_error(doc, "unauthenticated"), doc
    assert "the certificate is revoked" in srv.log()[before:]
    c1.close()
    c2.close()


def test_kept_alive_connection_sees_group_change(srv, world, tmp_path):
    """The device's group is read at every request, not cached with its
    certificate."""
    a = world["a"]
    d = Enrolled(srv, a, tmp_path)
    c = KeptAlive(srv, d)
    code, doc = c.checkin()
    assert code == 200, doc
    assert decode_targets(doc["targets"])[0]["device_group"] == ZERO
    code, moved = srv.call("PUT", f"/v1/tenants/{a['id']}/devices/{d.id}/device-group",
                           a["Contributor"], {"device_group": a["group"]})
    assert code == 200, moved
    code, doc = c.checkin()
    assert code == 200, doc
    payload = decode_targets(doc["targets"])[0]
    assert payload["device_group"] == a["group"]
    assert [i["image_id"] for i in payload["images"]] == [a["image"]["id"]]
    c.close()


def test_new_document_when_deployment_changes_or_document_ages(srv, world, tmp_path):
    """A re-served document is replaced by a new, higher version as soon as
    the group gets a new deployment, or once it is half its lifetime old."""
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    code, first, _, _ = d.checkin(srv)
    assert code == 200, first
    assert d.checkin(srv)[1]["targets"] == first["targets"]
    # A new deployment of the group (the same image again, version + 1).
    code, dep = srv.call("POST", f"/v1/tenants/{a['id']}/products/{a['product']}/"
                         f"device-groups/{a['group']}/deployments", a["Contributor"],
                         {"images": [a["image"]["id"]]})
    assert code == 201, dep
    code, second, _, _ = d.checkin(srv)
    assert code == 200 and second["targets"] != first["targets"]
    assert second["targets_version"] > first["targets_version"]
    p1, p2 = decode_targets(first["targets"])[0], decode_targets(second["targets"])[0]
    assert p2["images"] == p1["images"] and p2["issued_at"] >= p1["issued_at"]
    assert d.checkin(srv)[1]["targets"] == second["targets"]
    # Aged past half the lifetime (86400 s here): a new one.
    db_exec(srv, "UPDATE device_targets SET issued_at = issued_at - 43200"
            f" WHERE device_id = '{d.id}'")
    code, third, _, _ = d.checkin(srv)
    assert code == 200 and third["targets_version"] > second["targets_version"]
    assert decode_targets(third["targets"])[0]["issued_at"] >= p2["issued_at"]
    # Another device of the group got its own document, never this one.
    other = a["device"].checkin(srv)[1]
    assert decode_targets(other["targets"])[0]["device"] == a["device"].id


def test_quiet_checkin_writes_nothing(srv, world, tmp_path):
    """A check-in that reports nothing new does not write: last_checkin has
    a one-minute resolution. A change, or a report, is written at once."""
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    assert d.checkin(srv)[0] == 200
    where = f"FROM devices WHERE id = '{d.id}'"
    now = int(time.time())
    assert abs(db_count(srv, f"SELECT last_checkin {where}") - now) < 60
    db_exec(srv, f"UPDATE devices SET last_checkin = {now - 30} WHERE id = '{d.id}'")
    assert d.checkin(srv)[0] == 200
    assert db_count(srv, f"SELECT last_checkin {where}") == now - 30
    db_exec(srv, f"UPDATE devices SET last_checkin = {now - 61} WHERE id = '{d.id}'")
    assert d.checkin(srv)[0] == 200
    assert db_count(srv, f"SELECT last_checkin {where}") >= now
    # A new runtime version is written within the minute.
    db_exec(srv, f"UPDATE devices SET last_checkin = {now - 30} WHERE id = '{d.id}'")
    code, doc, _, _ = d.checkin(srv, runtime_version="0.5.1")
    assert code == 200, doc
    assert db_count(srv, f"SELECT last_checkin {where}") >= now
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{d.id}", a["Reader"])
    assert shown["runtime_version"] == "0.5.1"
    # So is a report, and the answer acknowledges it.
    db_exec(srv, f"UPDATE devices SET last_checkin = {now - 30} WHERE id = '{d.id}'")
    comp = a["image"]["component_id"]
    code, doc, _, _ = d.checkin(srv, [d.report(comp)], runtime_version="0.5.1")
    assert code == 200 and doc["reports_accepted"] == 1 and doc["reports_acked_seq"] == 1
    assert db_count(srv, f"SELECT COUNT(*) FROM error_reports WHERE device_id = '{d.id}'") == 1
    # A quiet one still answers with the acknowledged seq.
    code, doc, _, _ = d.checkin(srv, runtime_version="0.5.1")
    assert code == 200 and doc["reports_accepted"] == 0 and doc["reports_acked_seq"] == 1


def test_concurrent_checkins(srv, world, tmp_path):
    """Devices checking in at once, each on its own kept-alive connection
    (on the multi-worker servers, on several threads and database
    connections at once): every report stored exactly once, every answer
    right, every new document signed."""
    import threading
    a = world["a"]
    comp = a["image"]["component_id"]
    devs = [Enrolled(srv, a, tmp_path, group=a["group"] if i % 2 else None)
            for i in range(8)]
    rounds = 12
    errors = []

    def one(d):
        try:
            c = KeptAlive(srv, d)
            for n in range(1, rounds + 1):
                body = good_body()
                body["error_reports"] = [d.report(comp, seq=n)]
                c.conn.request("POST", "/v1/device/checkin", body=json.dumps(body),
                               headers={"Content-Type": "application/json"})
                resp = c.conn.getresponse()
                doc = json.loads(resp.read())
                if resp.status != 200 or doc["reports_acked_seq"] != n or \
                        doc["reports_accepted"] != 1:
                    errors.append((d.id, n, resp.status, doc))
                    return
                payload = decode_targets(doc["targets"])[0]
                if payload["device"] != d.id:
                    errors.append((d.id, n, "foreign document"))
            c.close()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append((d.id, repr(exc)))

    threads = [threading.Thread(target=one, args=(d,)) for d in devs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    for d in devs:
        n = db_count(srv, f"SELECT COUNT(*) FROM error_reports WHERE device_id = '{d.id}'")
        assert n == rounds
    assert srv.proc.poll() is None


def test_device_cannot_reach_other_tenant(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    d = a["device"]
    # B's deployed image, A's undeployed image, an unknown id: all 404 alike.
    answers = []
    for img in (b["image"]["id"], world["undeployed"]["id"],
                "11111111-2222-4333-8444-555555555555", "x'; DROP TABLE images; --"):
        code, doc, _, _ = d.call(srv, "GET", f"/v1/device/images/{urllib.parse.quote(img)}/content")
        assert code in (404,), (img, doc)
        answers.append(doc)
    assert all(x == answers[0] for x in answers[:3])
    # Its targets name A and only A's images, whatever it says about itself.
    code, doc, _, _ = d.checkin(srv, installed=[{
        "component_id": b["image"]["component_id"], "image_id": b["image"]["id"],
        "version": "1.0.0", "security_version": 1}])
    assert code == 200
    payload, _, _, _ = decode_targets(doc["targets"])
    assert payload["tenant"] == a["id"] and payload["device_group"] == a["group"]
    assert b["image"]["id"] not in json.dumps(payload)
    # Its certificate is no token: B's (or A's) operator routes say 401.
    for path in (f"/v1/tenants/{b['id']}/images", f"/v1/tenants/{a['id']}/devices",
                 f"/v1/tenants/{b['id']}/error-reports"):
        code, doc, _, _ = d.call(srv, "GET", path)
        assert code == 401, (path, doc)
    # B's device sees B's world.
    code, doc, _, _ = b["device"].checkin(srv)
    payload, _, _, _ = decode_targets(doc["targets"])
    assert payload["tenant"] == b["id"] and payload["images"][0]["image_id"] == b["image"]["id"]
    code, key_a, _, _ = d.call(srv, "GET", "/v1/device/targets-key")
    code, key_b, _, _ = b["device"].call(srv, "GET", "/v1/device/targets-key")
    assert key_a["key_id"] != key_b["key_id"]


# ---- check-in bodies: what must NOT work -----------------------------------

def good_body():
    return {"runtime_version": "0.5.0", "time": int(time.time()), "targets_version": 0,
            "installed": [], "error_reports": []}


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.update(colour="red"), "colour"),
    (lambda b: b.update(runtime_version=5), "runtime_version"),
    (lambda b: b.update(runtime_version=""), "runtime_version"),
    (lambda b: b.update(runtime_version="0.5.0 beta"), "runtime_version"),
    (lambda b: b.pop("time"), "time"),
    (lambda b: b.update(time=-1), "time"),
    (lambda b: b.update(time=1.5), "time"),
    (lambda b: b.update(targets_version="7"), "targets_version"),
    (lambda b: b.update(installed={}), "installed"),
    (lambda b: b.update(installed=[{}] * 65), "installed"),
    (lambda b: b.update(installed=[{"component_id": "x", "image_id": "y", "version": "1",
                                    "security_version": 1}]), "installed[0].component_id"),
    (lambda b: b.update(installed=[{"component_id": ZERO, "image_id": ZERO, "version": "1",
                                    "security_version": 2 ** 32}]),
     "installed[0].security_version"),
    (lambda b: b.update(error_reports=[{"seq": 0}]), "error_reports[0].seq"),
    (lambda b: b.update(error_reports=[{"seq": 1, "time": 1, "component_id": ZERO,
                                        "event_type": "AppExploded", "event_class": "Planned"}]),
     "error_reports[0].event_type"),
    (lambda b: b.update(error_reports=[{"seq": 1, "time": 1, "component_id": ZERO,
                                        "event_type": "AppExit", "event_class": "Planned",
                                        "description": "tab\there"}]),
     "error_reports[0].description"),
    (lambda b: b.update(error_reports=[{"seq": 1, "time": 1, "component_id": ZERO,
                                        "event_type": "AppExit", "event_class": "Planned",
                                        "description": "x" * 257}]),
     "error_reports[0].description"),
    (lambda b: b.update(error_reports=[{"seq": 1, "time": 1, "component_id": ZERO,
                                        "event_type": "AppExit", "event_class": "Planned",
                                        "unknown": 1}]), "unknown"),
    (lambda b: b.update(error_reports=[{"seq": i + 1, "time": 1, "component_id": ZERO,
                                        "event_type": "AppExit", "event_class": "Planned"}
                                       for i in range(65)]), "error_reports"),
])
def test_bad_checkin_bodies(srv, world, mutate, field):
    d = world["a"]["device"]
    body = good_body()
    mutate(body)
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", body=body)
    assert code == 400 and is_error(doc, "bad_request"), (body, doc)
    assert field in doc["error"]["message"], doc


@pytest.mark.parametrize("raw", ['{"time": ', "[]", '"x"', "", "\x00", "null",
                                 '{"runtime_version": "1", "runtime_version": "2",'
                                 ' "time": 1, "targets_version": 0}',
                                 '{"runtime_version": "1", "time": 1, "targets_version": 0} x'])
def test_malformed_checkin_json(srv, world, raw):
    d = world["a"]["device"]
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", raw=raw)
    assert code == 400 and is_error(doc, "bad_request"), (raw, doc)


def test_checkin_limits(srv, world):
    d = world["a"]["device"]
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", raw="{" + " " * (256 * 1024) + "}")
    assert code == 413 and is_error(doc, "payload_too_large")
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", body=good_body(),
                             ctype="text/plain")
    assert code == 415
    # A full body just under the cap works: 64 reports of 256 characters.
    body = good_body()
    comp = world["a"]["image"]["component_id"]
    base = int(time.time() * 1000) % 10 ** 9
    body["error_reports"] = [d.report(comp, seq=base + i, description="d" * 256)
                             for i in range(64)]
    body["installed"] = [{"component_id": ZERO, "image_id": ZERO, "version": "1",
                          "security_version": 1, "name": "n" * 64}] * 64
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", body=body)
    assert code == 200 and doc["reports_accepted"] == 64, doc


@pytest.mark.parametrize("inj", INJECTIONS)
def test_sql_injection_in_checkin(srv, world, tmp_path, inj):
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    comp = a["image"]["component_id"]
    # Refused by their grammar.
    for mutate in (lambda b: b.update(runtime_version=inj),
                   lambda b: b.update(installed=[{"component_id": inj, "image_id": ZERO,
                                                  "version": "1", "security_version": 0}]),
                   lambda b: b.update(installed=[{"component_id": ZERO, "image_id": ZERO,
                                                  "version": inj, "security_version": 0}]),
                   lambda b: b.update(error_reports=[d.report(comp, event_type=inj)]),
                   lambda b: b.update(error_reports=[d.report(comp, event_class=inj)]),
                   lambda b: b.update(error_reports=[d.report(comp, image_version=inj)]),
                   lambda b: b.update(error_reports=[d.report(inj)])):
        body = good_body()
        mutate(body)
        assert d.call(srv, "POST", "/v1/device/checkin", body=body)[0] == 400
    # Stored verbatim.
    body = good_body()
    body["installed"] = [{"component_id": comp, "image_id": ZERO, "version": "1",
                          "security_version": 0, "name": inj}]
    body["error_reports"] = [d.report(comp, app_name=inj, description=inj)]
    code, doc, _, _ = d.call(srv, "POST", "/v1/device/checkin", body=body)
    assert code == 200 and doc["reports_accepted"] == 1, doc
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{d.id}", a["Reader"])
    assert shown["installed"][0]["name"] == inj
    code, listing = srv.call("GET", f"/v1/tenants/{a['id']}/error-reports?device={d.id}",
                             a["Reader"])
    assert code == 200
    assert [(r["app_name"], r["description"]) for r in listing["error_reports"]] == [
        (inj, f"{inj}; component_id={comp}; name={inj}")]
    # Everything is still there.
    code, devices = srv.call("GET", f"/v1/tenants/{a['id']}/devices", a["Reader"])
    assert code == 200 and a["device"].id in {x["id"] for x in devices}
    assert a["device"].checkin(srv)[0] == 200


def db_count(srv, sql):
    if srv.url.startswith("sqlite:"):
        import sqlite3
        con = sqlite3.connect(srv.url[len("sqlite:"):], timeout=10)
        n = con.execute(sql).fetchone()[0]
        con.close()
        return n
    out = subprocess.run(["psql", srv.url, "-At", "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip())


def test_reports_capped_per_device(srv, world, tmp_path):
    """At most 10000 rows per device; the oldest seq go first."""
    a = world["a"]
    d = Enrolled(srv, a, tmp_path, group=a["group"])
    comp = a["image"]["component_id"]
    ctx = ssl.create_default_context(cafile=str(srv.cert))
    ctx.load_cert_chain(str(d.cert), str(d.key))
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    total = 10000 + 3 * 64
    for first in range(1, total + 1, 64):
        body = good_body()
        body["error_reports"] = [d.report(comp, seq=n, description=f"r{n % 7}")
                                 for n in range(first, min(first + 64, total + 1))]
        conn.request("POST", "/v1/device/checkin", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        doc = json.loads(resp.read())
        assert resp.status == 200, doc
    conn.close()
    assert doc["reports_acked_seq"] == total
    where = f"FROM error_reports WHERE device_id = '{d.id}'"
    assert db_count(srv, f"SELECT COUNT(*) {where}") == 10000
    assert db_count(srv, f"SELECT MIN(seq) {where}") == total - 10000 + 1
    # Re-sending a dropped one stores it again only to drop it again.
    code, doc, _, _ = d.checkin(srv, [d.report(comp, seq=1)])
    assert code == 200 and db_count(srv, f"SELECT COUNT(*) {where}") == 10000


def test_server_survives(srv, world):
    assert srv.proc.poll() is None
    assert srv.call("GET", "/v1/health")[0] == 200
    assert world["a"]["device"].checkin(srv)[0] == 200
    for text in srv.seen:
        assert b"PRIVATE KEY" not in text
