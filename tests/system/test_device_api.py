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

    def __init__(self, url, tmp):  # pylint: disable=super-init-not-called
        self.keys = tmp / "ca-keys"
        self.seen = []
        self.data = tmp / "data"
        Server.__init__(self, url, tmp, extra=(
            "--keys", str(self.keys), "--signer", SIGNER, "--data", str(self.data),
            "--max-image-mb", "2", "--checkin-interval", "600",
            "--targets-lifetime", "86400"))

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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev-" + request.param)
    if request.param == "sqlite":
        url = f"sqlite:{tmp / 'rampart.db'}"
    else:
        url = request.getfixturevalue("postgres")
    s = DevServer(url, tmp)
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
    # Re-sent reports are stored once; versions strictly increase.
    code, again, _, _ = d.checkin(srv, reports, installed, targets_version=payload["version"])
    assert code == 200, again
    assert again["reports_accepted"] == 0 and again["reports_acked_seq"] == 2
    assert again["targets_version"] > doc["targets_version"]
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
