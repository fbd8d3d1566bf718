"""System test: device admission on the real rampart-server with its real
rampart-signer, on SQLite and on PostgreSQL (issue 5, section 3).

Device keys and CSRs are made by openssl (Ed25519 and P-256); the issued
certificates are checked by `openssl verify` against the CA bundle the API
hands out, and revocation by `openssl verify -crl_check` against its CRL.
Many cases must NOT work: unclaimed devices, another tenant's devices, a
second claim, used or expired enrollment tokens, Readers, malformed CSRs
and bodies; none of them stops the server or its signer, and no response
ever carries CA key material.
"""
import hashlib
import http.client
import json
import os
import pathlib
import subprocess
import time

import pytest

from test_server import SERVER, Server, postgres  # noqa: F401 (fixture)

SIGNER = os.environ.get("RAMPART_SIGNER",
                        str(pathlib.Path(SERVER).resolve().parents[1] / "signer" / "rampart-signer"))


class IdServer(Server):
    """rampart-server with --keys/--signer; remembers every response body."""

    def __init__(self, url, tmp):
        self.keys = tmp / "ca-keys"
        self.seen = []
        super().__init__(url, tmp, extra=("--keys", str(self.keys), "--signer", SIGNER))

    def raw(self, method, path, token=None, data=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=30)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        ctype = resp.getheader("Content-Type")
        conn.close()
        self.seen.append(text)
        return resp.status, text, ctype

    def call(self, method, path, token=None, body=None, raw=None,
             ctype="application/json"):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        code, text, _ = self.raw(method, path, token, data,
                                 {"Content-Type": ctype} if data is not None else None)
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return code, doc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("id-" + request.param)
    if request.param == "sqlite":
        url = f"sqlite:{tmp / 'rampart.db'}"
    else:
        url = request.getfixturevalue("postgres")
    s = IdServer(url, tmp)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def world(srv):
    w = {}
    for t in ("a", "b"):
        code, ten = srv.call("POST", "/v1/tenants", srv.owner, {"name": f"id-tenant-{t}"})
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
        code, prod = srv.call("POST", f"/v1/tenants/{tid}/products", w[t]["Administrator"],
                              {"name": "Sensor"})
        assert code == 201
        w[t]["product"] = prod["id"]
        code, groups = srv.call("GET", f"/v1/tenants/{tid}/products/{prod['id']}"
                                "/device-groups", w[t]["Reader"])
        w[t]["group"] = groups[2]["id"]  # Production
    return w


class Device:
    """A device key and CSR made by openssl; id = SHA-256 of the DER SPKI."""
    count = 0

    def __init__(self, tmp, kind="ed25519"):
        Device.count += 1
        self.dir = tmp / f"dev{Device.count}"
        self.dir.mkdir()
        self.key = self.dir / "key.pem"
        if kind == "ed25519":
            args = ["-algorithm", "ed25519"]
        else:
            args = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "genpkey", *args, "-out", self.key], check=True,
                       capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform",
                              "DER"], check=True, capture_output=True).stdout
        self.id = hashlib.sha256(der).hexdigest()
        self.csr = subprocess.run(["openssl", "req", "-new", "-key", self.key, "-subj",
                                   "/CN=ignored"], check=True, capture_output=True,
                                  text=True).stdout


def is_error(doc, code):
    return (isinstance(doc, dict) and set(doc) == {"error"}
            and doc["error"]["code"] == code and doc["error"]["message"])


def claim(srv, t, dev, token=None, **extra):
    return srv.call("POST", f"/v1/tenants/{t['id']}/devices/claim",
                    token or t["Contributor"], {"device_id": dev.id, **extra})


def certificate(srv, t, dev):
    return srv.call("POST", "/v1/device/certificate", None,
                    {"tenant": t["id"], "csr": dev.csr})


def ca_bundle(srv, t, path):
    code, text, ctype = srv.raw("GET", f"/v1/tenants/{t['id']}/ca-certificates",
                                t["Reader"], headers={"Accept": "application/x-pem-file"})
    assert code == 200 and ctype == "application/x-pem-file", text
    path.write_bytes(text)
    return path


def openssl_verify(*args):
    return subprocess.run(["openssl", "verify", *map(str, args)], capture_output=True,
                          text=True)


# ---- what works -----------------------------------------------------------

@pytest.mark.parametrize("kind", ["ed25519", "p256"])
def test_claim_then_certificate(srv, world, tmp_path, kind):
    a = world["a"]
    dev = Device(tmp_path, kind)
    code, doc = claim(srv, a, dev, product=a["product"], device_group=a["group"])
    assert code == 201, doc
    assert doc["id"] == dev.id and doc["device_group_id"] == a["group"]
    assert doc["product_id"] == a["product"] and doc["certificate"] is None
    before = time.time()
    code, cert = certificate(srv, a, dev)
    assert code == 201, cert
    assert cert["device_id"] == dev.id and len(cert["serial"]) == 32
    pem = tmp_path / "cert.pem"
    pem.write_text(cert["certificate"])
    bundle = ca_bundle(srv, a, tmp_path / "ca.pem")
    r = openssl_verify("-CAfile", bundle, "-purpose", "sslclient", pem)
    assert r.returncode == 0, r.stdout + r.stderr
    subj = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-subject", "-enddate",
                           "-startdate", "-dateopt", "iso_8601"],
                          capture_output=True, text=True, check=True).stdout
    assert f"CN = {dev.id}" in subj or f"CN={dev.id}" in subj
    nb = time.mktime(time.strptime(cert["not_before"], "%Y-%m-%dT%H:%M:%SZ"))
    na = time.mktime(time.strptime(cert["not_after"], "%Y-%m-%dT%H:%M:%SZ"))
    assert na - nb == 86400
    assert abs(nb - before) < 120
    ra = time.mktime(time.strptime(cert["renew_after"], "%Y-%m-%dT%H:%M:%SZ"))
    assert ra - nb == 86400 * 2 // 3
    # The other tenant's CA does not verify it.
    other = ca_bundle(srv, world["b"], tmp_path / "ca-b.pem")
    assert openssl_verify("-CAfile", other, pem).returncode != 0
    # Renewal is the same call; the device now shows its certificate.
    code, again = certificate(srv, a, dev)
    assert code == 201 and again["serial"] != cert["serial"]
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{dev.id}", a["Reader"])
    assert code == 200 and shown["certificate"]["serial"] in (cert["serial"], again["serial"])
    code, listed = srv.call("GET", f"/v1/tenants/{a['id']}/devices", a["Reader"])
    assert code == 200 and dev.id in {d["id"] for d in listed}


def test_ca_certificates_json(srv, world):
    a = world["a"]
    code, doc = srv.call("GET", f"/v1/tenants/{a['id']}/ca-certificates", a["Reader"])
    assert code == 200
    assert doc["certificates"] and doc["certificates"][0]["generation"] >= 1
    assert doc["pem"].startswith("-----BEGIN CERTIFICATE-----")


def test_enrollment_token_once(srv, world, tmp_path):
    a = world["a"]
    code, tok = srv.call("POST", f"/v1/tenants/{a['id']}/enrollment-tokens",
                         a["Administrator"], {"product": a["product"], "expires_in": 600})
    assert code == 201, tok
    assert tok["token"].startswith("rpe_") and len(tok["token"]) == 68
    dev = Device(tmp_path, "p256")
    code, cert = srv.call("POST", "/v1/device/enroll", None,
                          {"token": tok["token"], "csr": dev.csr})
    assert code == 201, cert
    assert cert["device_id"] == dev.id
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{dev.id}", a["Reader"])
    assert code == 200 and shown["product_id"] == a["product"]
    # Used: refused, for this device and for another.
    for d in (dev, Device(tmp_path)):
        code, doc = srv.call("POST", "/v1/device/enroll", None,
                             {"token": tok["token"], "csr": d.csr})
        assert code == 401 and is_error(doc, "unauthorized"), doc


def test_enrollment_token_expired(srv, world, tmp_path):
    a = world["a"]
    code, tok = srv.call("POST", f"/v1/tenants/{a['id']}/enrollment-tokens",
                         a["Administrator"], {"expires_in": 1})
    assert code == 201
    time.sleep(2.2)
    dev = Device(tmp_path)
    code, doc = srv.call("POST", "/v1/device/enroll", None,
                         {"token": tok["token"], "csr": dev.csr})
    assert code == 401 and is_error(doc, "unauthorized")
    code, _ = srv.call("GET", f"/v1/tenants/{a['id']}/devices/{dev.id}", a["Reader"])
    assert code == 404


def test_bad_enrollment_tokens(srv, world, tmp_path):
    dev = Device(tmp_path)
    for token in ("", "rpe_", "rpe_" + "0" * 64, "rpt_" + "0" * 64, "rpe_" + "z" * 64):
        code, doc = srv.call("POST", "/v1/device/enroll", None,
                             {"token": token, "csr": dev.csr})
        assert code == 401 and is_error(doc, "unauthorized"), (token, doc)


def test_revoke_puts_certificate_in_crl(srv, world, tmp_path):
    a = world["a"]
    dev = Device(tmp_path)
    assert claim(srv, a, dev)[0] == 201
    code, cert = certificate(srv, a, dev)
    assert code == 201
    pem = tmp_path / "cert.pem"
    pem.write_text(cert["certificate"])
    bundle = ca_bundle(srv, a, tmp_path / "ca.pem")
    crl = tmp_path / "crl.pem"

    def fetch_crl():
        code, text, ctype = srv.raw("GET", f"/v1/tenants/{a['id']}/crl", a["Reader"],
                                    headers={"Accept": "application/x-pem-file"})
        assert code == 200 and b"BEGIN X509 CRL" in text
        crl.write_bytes(text)

    fetch_crl()
    assert openssl_verify("-CAfile", bundle, "-crl_check", "-CRLfile", crl,
                          pem).returncode == 0
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/devices/{dev.id}/revoke",
                         a["Contributor"], {})
    assert code == 200 and doc["revoked"] is True, doc
    fetch_crl()
    r = openssl_verify("-CAfile", bundle, "-crl_check", "-CRLfile", crl, pem)
    assert r.returncode != 0 and "revoked" in (r.stdout + r.stderr)
    # A revoked device gets no new certificate (same refusal as unclaimed).
    code, doc = certificate(srv, a, dev)
    assert code == 403 and is_error(doc, "forbidden")
    # Revoking again is fine.
    assert srv.call("POST", f"/v1/tenants/{a['id']}/devices/{dev.id}/revoke",
                    a["Administrator"], {})[0] == 200


def test_audit_records_identity(srv, world):
    a = world["a"]
    code, log = srv.call("GET", f"/v1/tenants/{a['id']}/audit", a["Administrator"])
    assert code == 200
    actions = {e["action"] for e in log}
    for act in ("device.claim", "device.certificate", "device.revoke",
                "enrollment-token.create", "device.enroll"):
        assert act in actions, act


# ---- what must NOT work ---------------------------------------------------

def test_unclaimed_and_other_tenant_refused_alike(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    unclaimed = Device(tmp_path)
    code, doc1 = certificate(srv, a, unclaimed)
    assert code == 403 and is_error(doc1, "forbidden")
    mine = Device(tmp_path)
    assert claim(srv, a, mine)[0] == 201
    code, doc2 = certificate(srv, b, mine)  # A's device asking as B
    assert code == 403 and doc2 == doc1
    for tenant in ("nope", "00000000-0000-4000-8000-000000000000"):
        code, doc = srv.call("POST", "/v1/device/certificate", None,
                             {"tenant": tenant, "csr": mine.csr})
        assert code == 403 and doc == doc1
    # B's operators do not see A's device.
    code, doc = srv.call("GET", f"/v1/tenants/{b['id']}/devices/{mine.id}",
                         b["Administrator"])
    assert code == 404
    code, doc = srv.call("POST", f"/v1/tenants/{b['id']}/devices/{mine.id}/revoke",
                         b["Administrator"], {})
    assert code == 404
    code, doc = srv.call("GET", f"/v1/tenants/{a['id']}/devices", b["Administrator"])
    assert code == 404


def test_second_claim_conflicts_without_leak(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    dev = Device(tmp_path)
    assert claim(srv, a, dev)[0] == 201
    code, doc = claim(srv, b, dev)
    assert code == 409 and is_error(doc, "conflict")
    text = json.dumps(doc)
    assert a["id"] not in text and "id-tenant-a" not in text
    code, same = claim(srv, a, dev)
    assert code == 409 and same == doc  # the same answer for its own tenant
    code, _ = srv.call("GET", f"/v1/tenants/{b['id']}/devices/{dev.id}", b["Reader"])
    assert code == 404


def test_roles(srv, world, tmp_path):
    a = world["a"]
    t = a["id"]
    dev = Device(tmp_path)
    code, doc = claim(srv, a, dev, token=a["Reader"])
    assert code == 403 and is_error(doc, "forbidden")
    assert claim(srv, a, dev)[0] == 201
    code, doc = srv.call("POST", f"/v1/tenants/{t}/devices/{dev.id}/revoke", a["Reader"], {})
    assert code == 403 and is_error(doc, "forbidden")
    for role in ("Reader", "Contributor"):
        code, doc = srv.call("POST", f"/v1/tenants/{t}/enrollment-tokens", a[role], {})
        assert code == 403 and is_error(doc, "forbidden")
    code, shown = srv.call("GET", f"/v1/tenants/{t}/devices/{dev.id}", a["Reader"])
    assert code == 200 and shown["revoked"] is False


@pytest.mark.parametrize("body", [
    {"device_id": "ab" * 31},
    {"device_id": "zz" * 32},
    {"device_id": "ab" * 33},
    {"device_id": 5},
    {"device_id": "ab" * 32, "colour": "red"},
    {"device_id": "ab" * 32, "product": "x'; DROP TABLE devices; --"},
    {},
])
def test_bad_claims(srv, world, body):
    a = world["a"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/devices/claim", a["Administrator"],
                         body)
    assert code == 400 and is_error(doc, "bad_request"), (body, doc)


def test_claim_into_other_tenants_product(srv, world, tmp_path):
    a, b = world["a"], world["b"]
    code, doc = claim(srv, a, Device(tmp_path), product=b["product"])
    assert code == 404
    code, doc = claim(srv, a, Device(tmp_path), device_group=b["group"])
    assert code == 404


def tampered(csr):
    lines = csr.strip().splitlines()
    mid = len(lines) // 2
    ch = lines[mid][5]
    lines[mid] = lines[mid][:5] + ("A" if ch != "A" else "B") + lines[mid][6:]
    return "\n".join(lines) + "\n"


def test_malformed_csrs_refused(srv, world, tmp_path):
    a = world["a"]
    dev = Device(tmp_path)
    assert claim(srv, a, dev)[0] == 201
    rsa = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", rsa], check=True, capture_output=True)
    rsa_csr = subprocess.run(["openssl", "req", "-new", "-key", rsa, "-subj", "/CN=x"],
                             check=True, capture_output=True, text=True).stdout
    cert = subprocess.run(["openssl", "req", "-x509", "-key", dev.key, "-subj", "/CN=x",
                           "-days", "1"], check=True, capture_output=True, text=True).stdout
    for csr in ("", "garbage", tampered(dev.csr), rsa_csr, cert, dev.csr + dev.csr,
                dev.csr.replace("CERTIFICATE REQUEST", "CERTIFICATE"), "A" * 5000):
        code, doc = srv.call("POST", "/v1/device/certificate", None,
                             {"tenant": a["id"], "csr": csr})
        assert code == 400 and is_error(doc, "bad_request"), (csr[:40], doc)
    # The signer is still there: the good CSR still gets its certificate.
    assert certificate(srv, a, dev)[0] == 201


@pytest.mark.parametrize("raw", ['{"tenant": ', "[]", '{"tenant": "x", "csr": 1}',
                                 '{"tenant": "x", "csr": "y", "extra": 1}',
                                 '{"tenant": "x", "tenant": "y", "csr": "z"}', "\x00"])
def test_malformed_json(srv, raw):
    for path in ("/v1/device/certificate", "/v1/device/enroll"):
        code, doc = srv.call("POST", path, None, raw=raw)
        assert code == 400 and is_error(doc, "bad_request"), (path, raw, doc)


def test_oversized_body(srv, world):
    raw = json.dumps({"tenant": world["a"]["id"], "csr": "A" * (64 * 1024)})
    code, doc = srv.call("POST", "/v1/device/certificate", None, raw=raw)
    assert code == 413 and is_error(doc, "payload_too_large")


def test_survives_and_never_leaks_keys(srv, world, tmp_path):
    a = world["a"]
    assert srv.proc.poll() is None
    dev = Device(tmp_path)
    assert claim(srv, a, dev)[0] == 201
    assert certificate(srv, a, dev)[0] == 201
    keyfiles = list(srv.keys.rglob("*.key"))
    assert keyfiles
    secrets = []
    for k in keyfiles:
        body = [ln for ln in k.read_text().splitlines() if not ln.startswith("-----")]
        secrets += [ln.encode() for ln in body if len(ln) >= 16]
    assert secrets
    for text in srv.seen:
        assert b"PRIVATE KEY" not in text
        for s in secrets:
            assert s not in text
