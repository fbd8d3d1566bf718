"""System test: image upload, production signing, download with Range, and
deployments on the real rampart-server with its real rampart-signer, on
SQLite and on PostgreSQL (issue 5, section 4).

Packages are made by the real `rampart` CLI. What must NOT work: a package
signed by an unregistered key, a tampered one, an oversized one, another
tenant seeing or fetching an image, a Reader uploading or deploying, a
deployment naming another product's image or two images of one component.
"""
import json
import shutil
import uuid

import pytest

from conftest import MANIFEST, run
from test_identity import SIGNER, IdServer, is_error
from test_server import Server, postgres  # noqa: F401 (fixture)


class ImgServer(IdServer):
    """rampart-server with its signer, a data directory and a 2 MiB cap."""

    def __init__(self, url, tmp):  # pylint: disable=super-init-not-called
        self.keys = tmp / "ca-keys"
        self.seen = []
        self.data = tmp / "data"
        Server.__init__(self, url, tmp, extra=(
            "--keys", str(self.keys), "--signer", SIGNER,
            "--data", str(self.data), "--max-image-mb", "2"))

    def upload(self, t, product, path_or_bytes, token):
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
        code, text, _ = self.raw("POST", f"/v1/tenants/{t}/products/{product}/images", token,
                                 data, {"Content-Type": "application/octet-stream"})
        return code, (json.loads(text) if text else None)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("img-" + request.param)
    if request.param == "sqlite":
        url = f"sqlite:{tmp / 'rampart.db'}"
    else:
        url = request.getfixturevalue("postgres")
    s = ImgServer(url, tmp)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def world(srv, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("world")
    w = {"tmp": tmp}
    for t in ("a", "b"):
        code, ten = srv.call("POST", "/v1/tenants", srv.owner, {"name": f"img-tenant-{t}"})
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
        for pname in ("Sensor", "Gateway"):
            code, prod = srv.call("POST", f"/v1/tenants/{tid}/products",
                                  w[t]["Administrator"], {"name": pname})
            assert code == 201
            w[t][pname] = prod["id"]
        code, groups = srv.call("GET", f"/v1/tenants/{tid}/products/{w[t]['Sensor']}"
                                "/device-groups", w[t]["Reader"])
        w[t]["group"] = groups[2]["id"]
    for name in ("dev", "other"):
        r = run("key", "generate", "-o", tmp / f"{name}.key")
        assert r.code == 0, r
    a = w["a"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/products/{a['Sensor']}/signing-keys",
                         a["Administrator"], {"public_key": (tmp / "dev.pub").read_text()})
    assert code == 201, doc
    w["dev_key_id"] = doc["key_id"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/products/{a['Gateway']}/signing-keys",
                         a["Administrator"], {"public_key": (tmp / "dev.pub").read_text()})
    assert code == 201, doc
    return w


def pack(tmp, key, component=None, version="1.0.0", size=0, name="pkg"):
    root = tmp / f"{name}-app"
    if root.exists():
        shutil.rmtree(root)
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/true", root / "bin" / "app")
    (root / "bin" / "app").chmod(0o755)
    if size:
        (root / "blob").write_bytes(bytes(range(256)) * (size // 256))
    man = json.loads(MANIFEST)
    man["ComponentId"] = component or str(uuid.uuid4())
    (tmp / f"{name}.json").write_text(json.dumps(man))
    out = tmp / f"{name}.rpk"
    if out.exists():
        out.unlink()
    r = run("package", "pack", root, "--manifest", tmp / f"{name}.json", "--key", key,
            "--image-version", version, "-o", out)
    assert r.code == 0, r
    return out


@pytest.fixture(scope="module")
def uploaded(srv, world):
    a, tmp = world["a"], world["tmp"]
    pkg = pack(tmp, tmp / "dev.key", name="first", size=300000)
    code, doc = srv.upload(a["id"], a["Sensor"], pkg, a["Contributor"])
    assert code == 201, doc
    return pkg, doc


# ---- what works -----------------------------------------------------------

def test_signing_keys_listed(srv, world):
    a = world["a"]
    code, keys = srv.call("GET", f"/v1/tenants/{a['id']}/products/{a['Sensor']}/signing-keys",
                          a["Reader"])
    assert code == 200 and [k["key_id"] for k in keys] == [world["dev_key_id"]]
    assert "PRIVATE" not in keys[0]["public_key"]


def test_upload_and_metadata(srv, world, uploaded):
    a = world["a"]
    pkg, doc = uploaded
    assert doc["product_id"] == a["Sensor"] and doc["version"] == "1.0.0"
    assert doc["developer_key_id"] == world["dev_key_id"]
    assert doc["size"] > pkg.stat().st_size  # plus the production signature
    assert len(doc["sha256"]) == 64
    assert (srv.data / "images" / doc["sha256"]).is_file()
    code, shown = srv.call("GET", f"/v1/tenants/{a['id']}/images/{doc['id']}", a["Reader"])
    assert code == 200 and shown == doc
    code, listed = srv.call("GET", f"/v1/tenants/{a['id']}/images", a["Reader"])
    assert code == 200 and doc["id"] in {i["id"] for i in listed}


def download(srv, t, image, token, rng=None):
    h = {"Range": rng} if rng else None
    return srv.raw("GET", f"/v1/tenants/{t}/images/{image}/content", token, headers=h)


def test_download_full_and_ranges(srv, world, uploaded, tmp_path):
    import hashlib
    a = world["a"]
    _, doc = uploaded
    code, full, ctype = download(srv, a["id"], doc["id"], a["Reader"])
    assert code == 200 and ctype == "application/octet-stream"
    assert len(full) == doc["size"] and hashlib.sha256(full).hexdigest() == doc["sha256"]
    n = len(full)
    for rng, want in (("bytes=0-99", full[:100]), ("bytes=1000-", full[1000:]),
                      ("bytes=-500", full[-500:]), (f"bytes=10-{n + 50}", full[10:]),
                      ("bytes=-999999999", full)):
        code, part, _ = download(srv, a["id"], doc["id"], a["Reader"], rng)
        assert code == 206 and part == want, rng
    # Resume: two halves make the file.
    half = n // 2
    first = download(srv, a["id"], doc["id"], a["Reader"], f"bytes=0-{half - 1}")[1]
    rest = download(srv, a["id"], doc["id"], a["Reader"], f"bytes={half}-")[1]
    assert first + rest == full
    for rng in (f"bytes={n}-", f"bytes={n + 10}-{n + 20}", "bytes=-0"):
        code, _, _ = download(srv, a["id"], doc["id"], a["Reader"], rng)
        assert code == 416, rng
    for rng in ("bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=5-2"):
        code, body, _ = download(srv, a["id"], doc["id"], a["Reader"], rng)
        assert code == 200 and body == full, rng
    # Verifies with the production key alone, and with the developer key.
    path = tmp_path / "down.rpk"
    path.write_bytes(full)
    code, text, ctype = srv.raw("GET", f"/v1/tenants/{a['id']}/image-key", a["Reader"],
                                headers={"Accept": "application/x-pem-file"})
    assert code == 200 and ctype == "application/x-pem-file" and b"PUBLIC KEY" in text
    prod = tmp_path / "prod.pub"
    prod.write_bytes(text)
    r = run("package", "verify", path, "--trust", prod)
    assert r.code == 0, r
    r = run("package", "verify", path, "--trust", world["tmp"] / "dev.pub")
    assert r.code == 0, r
    code, key = srv.call("GET", f"/v1/tenants/{a['id']}/image-key", a["Reader"])
    assert code == 200 and key["key_id"] == doc["production_key_id"]
    # Tenant B's production key does not verify A's image.
    code, text, _ = srv.raw("GET", f"/v1/tenants/{world['b']['id']}/image-key",
                            world["b"]["Reader"], headers={"Accept": "application/x-pem-file"})
    other = tmp_path / "other.pub"
    other.write_bytes(text)
    assert run("package", "verify", path, "--trust", other).code != 0


def test_deployments(srv, world, uploaded):
    a, tmp = world["a"], world["tmp"]
    _, first = uploaded
    base = f"/v1/tenants/{a['id']}/products/{a['Sensor']}/device-groups/{a['group']}/deployments"
    code, d1 = srv.call("POST", base, a["Contributor"], {"images": [first["id"]]})
    assert code == 201, d1
    assert d1["version"] >= 1 and [i["id"] for i in d1["images"]] == [first["id"]]
    second = pack(tmp, tmp / "dev.key", name="second")
    code, img2 = srv.upload(a["id"], a["Sensor"], second, a["Contributor"])
    assert code == 201, img2
    code, d2 = srv.call("POST", base, a["Administrator"], {"images": [first["id"], img2["id"]]})
    assert code == 201 and d2["version"] == d1["version"] + 1
    code, listed = srv.call("GET", base, a["Reader"])
    assert code == 200 and [d["id"] for d in listed[:2]] == [d2["id"], d1["id"]]
    # Same component twice: refused.
    comp = json.loads((tmp / "first.json").read_text())["ComponentId"]
    again = pack(tmp, tmp / "dev.key", component=comp, version="1.1.0", name="again")
    code, img3 = srv.upload(a["id"], a["Sensor"], again, a["Contributor"])
    assert code == 201, img3
    code, doc = srv.call("POST", base, a["Contributor"], {"images": [first["id"], img3["id"]]})
    assert code == 400 and is_error(doc, "bad_request"), doc
    # An image of another product: refused.
    gw = pack(tmp, tmp / "dev.key", name="gw")
    code, gimg = srv.upload(a["id"], a["Gateway"], gw, a["Contributor"])
    assert code == 201, gimg
    code, doc = srv.call("POST", base, a["Contributor"], {"images": [gimg["id"]]})
    assert code == 400 and is_error(doc, "bad_request"), doc
    # A component owned by another product cannot be uploaded to this one.
    code, doc = srv.upload(a["id"], a["Gateway"], again, a["Contributor"])
    assert code == 409 and is_error(doc, "conflict"), doc
    for body in ({"images": "x"}, {"images": ["nope"]}, {"images": [], "x": 1}, {},
                 {"images": [first["id"], first["id"]]}):
        code, doc = srv.call("POST", base, a["Contributor"], body)
        assert code == 400, (body, doc)
    code, listed = srv.call("GET", base, a["Reader"])
    assert listed[0]["id"] == d2["id"]


def test_audit(srv, world, uploaded):
    a = world["a"]
    code, log = srv.call("GET", f"/v1/tenants/{a['id']}/audit", a["Administrator"])
    actions = {e["action"] for e in log}
    for act in ("signing-key.add", "image.upload"):
        assert act in actions


# ---- what must NOT work ---------------------------------------------------

def test_unregistered_key_refused(srv, world):
    a, tmp = world["a"], world["tmp"]
    pkg = pack(tmp, tmp / "other.key", name="unreg")
    code, doc = srv.upload(a["id"], a["Sensor"], pkg, a["Contributor"])
    assert code == 422 and is_error(doc, "refused") and "trusted" in doc["error"]["message"]


def test_tampered_refused(srv, world):
    a, tmp = world["a"], world["tmp"]
    data = bytearray(pack(tmp, tmp / "dev.key", name="tamper").read_bytes())
    data[len(data) // 2] ^= 1
    code, doc = srv.upload(a["id"], a["Sensor"], bytes(data), a["Contributor"])
    assert code == 422 and is_error(doc, "refused"), doc
    code, doc = srv.upload(a["id"], a["Sensor"], b"not a package at all", a["Contributor"])
    assert code == 422 and is_error(doc, "refused"), doc
    # The reason, without the server's own file names.
    msg = doc["error"]["message"]
    assert "not a Rampart image package" in msg and "/" not in msg, msg


def test_oversized_refused(srv, world):
    a = world["a"]
    code, doc = srv.upload(a["id"], a["Sensor"], b"\0" * (2 * 1024 * 1024 + 1),
                           a["Contributor"])
    assert code == 413


def test_no_key_registered_refused(srv, world):
    b, tmp = world["b"], world["tmp"]
    pkg = pack(tmp, tmp / "dev.key", name="nokey")
    code, doc = srv.upload(b["id"], b["Sensor"], pkg, b["Contributor"])
    assert code == 422 and is_error(doc, "refused")


def test_other_tenant_sees_nothing(srv, world, uploaded):
    a, b = world["a"], world["b"]
    _, doc = uploaded
    for path in (f"/v1/tenants/{b['id']}/images/{doc['id']}",
                 f"/v1/tenants/{b['id']}/images/{doc['id']}/content",
                 f"/v1/tenants/{a['id']}/images/{doc['id']}",
                 f"/v1/tenants/{a['id']}/images/{doc['id']}/content",
                 f"/v1/tenants/{a['id']}/images",
                 f"/v1/tenants/{a['id']}/image-key",
                 f"/v1/tenants/{a['id']}/products/{a['Sensor']}/signing-keys"):
        code, body, _ = srv.raw("GET", path, b["Administrator"])
        assert code == 404, path
    code, listed = srv.call("GET", f"/v1/tenants/{b['id']}/images", b["Reader"])
    assert code == 200 and doc["id"] not in {i["id"] for i in listed}
    code, d = srv.call("POST", f"/v1/tenants/{b['id']}/products/{b['Sensor']}/device-groups/"
                       f"{b['group']}/deployments", b["Contributor"], {"images": [doc["id"]]})
    assert code == 404, d
    code, _ = srv.upload(a["id"], a["Sensor"], b"x", b["Administrator"])
    assert code == 404


def test_roles(srv, world, uploaded):
    a, tmp = world["a"], world["tmp"]
    _, doc = uploaded
    pkg = pack(tmp, tmp / "dev.key", name="reader")
    code, err = srv.upload(a["id"], a["Sensor"], pkg, a["Reader"])
    assert code == 403 and is_error(err, "forbidden")
    base = f"/v1/tenants/{a['id']}/products/{a['Sensor']}/device-groups/{a['group']}/deployments"
    code, err = srv.call("POST", base, a["Reader"], {"images": [doc["id"]]})
    assert code == 403 and is_error(err, "forbidden")
    for role in ("Reader", "Contributor"):
        code, err = srv.call("POST", f"/v1/tenants/{a['id']}/products/{a['Sensor']}/signing-keys",
                             a[role], {"public_key": (tmp / "other.pub").read_text()})
        assert code == 403, role


def test_bad_signing_keys(srv, world):
    a, tmp = world["a"], world["tmp"]
    path = f"/v1/tenants/{a['id']}/products/{a['Sensor']}/signing-keys"
    for body in ({"public_key": (tmp / "other.key").read_text()}, {"public_key": "junk"},
                 {"public_key": ""}, {"public_key": 5}, {"key": "x"}):
        code, doc = srv.call("POST", path, a["Administrator"], body)
        assert code == 400 and is_error(doc, "bad_request"), (body, doc)
    code, doc = srv.call("POST", path, a["Administrator"],
                         {"public_key": (tmp / "dev.pub").read_text()})
    assert code == 409


def test_wrong_content_type(srv, world):
    a = world["a"]
    code, doc = srv.call("POST", f"/v1/tenants/{a['id']}/products/{a['Sensor']}/images",
                         a["Contributor"], raw="{}")
    assert code == 415


def test_server_alive(srv):
    assert srv.proc.poll() is None
