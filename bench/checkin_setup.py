#!/usr/bin/env python3
"""Set up one rampart-server for bench/checkin.sh, through its real API.

Creates a tenant with an Administrator, a product (its Production group),
a developer signing key, one uploaded image (a package made by `rampart
package pack`, production-signed by the server's signer) and a deployment
of it to the group. Then, for each of the COUNT device keys made by
`checkin_load keygen` in KEYS (KEYS/<i>.key, KEYS/<i>.csr, KEYS/ids), claims
the device into that group and gets its certificate from POST
/v1/device/certificate (the real admission path, the real tenant CA),
written to KEYS/<i>.crt. Finally it adds claimed device rows up to DEVICES
in total, straight into the database in one statement (sqlite3 or psql):
those devices only need to exist so the tables have a realistic size;
they have random ids, no keys and never check in. Writes the check-in
body the simulated devices send to BODY (runtime version, clock, the
installed image as the deployment says).

usage: checkin_setup.py --port P --ca CERT --owner-token FILE --db URL
           --rampart CLI --keys DIR --count N --devices TOTAL --work DIR --body FILE
"""
import argparse
import http.client
import json
import pathlib
import shutil
import ssl
import subprocess
import sys
import time
import uuid

MANIFEST = {
    "SchemaVersion": 1, "Name": "co2monitor", "EntryPoint": "/bin/app",
    "Capabilities": {}, "ApplicationType": "Default",
}


class Api:
    """One keep-alive HTTPS connection to the server."""

    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None

    def call(self, method, path, token=None, body=None, raw=None,
             ctype="application/json", want=(200, 201)):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                        context=self.ctx, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if resp.status not in want:
            sys.exit(f"checkin_setup: {method} {path}: {resp.status} {text[:300]!r}")
        return json.loads(text) if text else None


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


def bulk_insert(db, tenant, product, group, count):
    """Add `count` claimed devices in one statement (one transaction)."""
    if count <= 0:
        return
    cols = "id, tenant_id, group_id, product_id, claimed_at, revoked_at"
    t, p, g = sql_text(tenant), sql_text(product), sql_text(group)
    if db.startswith("postgresql://"):
        sql = (f"INSERT INTO devices ({cols}) SELECT"
               f" encode(sha256(('rampart-bench-' || i)::text::bytea), 'hex'),"
               f" {t}, {g}, {p}, extract(epoch FROM now())::bigint, 0"
               f" FROM generate_series(1, {count}) AS i;")
        cmd = ["psql", "-q", "-v", "ON_ERROR_STOP=1", db, "-c", sql]
    else:
        path = db[len("sqlite:"):] if db.startswith("sqlite:") else db
        sql = (f".timeout 30000\n"
               f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
               f" WHERE i < {count}) INSERT INTO devices ({cols})"
               f" SELECT lower(hex(randomblob(32))), {t}, {g}, {p},"
               f" CAST(strftime('%s', 'now') AS INTEGER), 0 FROM n;\n")
        cmd = ["sqlite3", "-bail", path]
        r = subprocess.run(cmd, input=sql, capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"checkin_setup: sqlite3: {r.stderr.strip()}")
        return
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"checkin_setup: psql: {r.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--ca", "--owner-token", "--db", "--rampart", "--keys", "--work", "--body"):
        ap.add_argument(opt, required=True)
    for opt in ("--port", "--count", "--devices"):
        ap.add_argument(opt, required=True, type=int)
    a = ap.parse_args()
    work, keys = pathlib.Path(a.work), pathlib.Path(a.keys)
    work.mkdir(parents=True, exist_ok=True)
    api = Api(a.port, a.ca)
    owner = pathlib.Path(a.owner_token).read_text().strip()

    ten = api.call("POST", "/v1/tenants", owner, {"name": "bench"})
    t = ten["id"]
    api.call("POST", f"/v1/tenants/{t}/roles", owner, {"user": "bench-admin",
                                                       "role": "Administrator"})
    admin = api.call("POST", f"/v1/tenants/{t}/tokens", owner, {"user": "bench-admin"})["token"]
    product = api.call("POST", f"/v1/tenants/{t}/products", admin, {"name": "CO2 Monitor"})["id"]
    groups = api.call("GET", f"/v1/tenants/{t}/products/{product}/device-groups", admin)
    group = [g for g in groups if g["name"] == "Production"][0]["id"]

    # A developer key, a package signed with it, uploaded and deployed.
    subprocess.run([a.rampart, "key", "generate", "-o", work / "dev.key"], check=True,
                   capture_output=True)
    api.call("POST", f"/v1/tenants/{t}/products/{product}/signing-keys", admin,
             {"public_key": (work / "dev.pub").read_text()})
    app = work / "app"
    (app / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/true", app / "bin" / "app")
    (app / "bin" / "app").chmod(0o755)
    man = dict(MANIFEST, ComponentId=str(uuid.uuid4()))
    (work / "app.json").write_text(json.dumps(man))
    subprocess.run([a.rampart, "package", "pack", app, "--manifest", work / "app.json",
                    "--key", work / "dev.key", "--image-version", "1.0.0",
                    "-o", work / "app.rpk"], check=True, capture_output=True)
    image = api.call("POST", f"/v1/tenants/{t}/products/{product}/images", admin,
                     raw=(work / "app.rpk").read_bytes(), ctype="application/octet-stream")
    api.call("POST", f"/v1/tenants/{t}/products/{product}/device-groups/{group}/deployments",
             admin, {"images": [image["id"]]})

    # The simulated devices: claimed, then certified by the tenant CA.
    ids = (keys / "ids").read_text().split()
    if len(ids) < a.count:
        sys.exit(f"checkin_setup: {keys}/ids has {len(ids)} devices, {a.count} wanted")
    t0 = time.monotonic()
    for i in range(a.count):
        api.call("POST", f"/v1/tenants/{t}/devices/claim", admin,
                 {"device_id": ids[i], "product": product, "device_group": group})
        doc = api.call("POST", "/v1/device/certificate", None,
                       {"tenant": t, "csr": (keys / f"{i}.csr").read_text()})
        (keys / f"{i}.crt").write_text(doc["certificate"])
    print(f"checkin_setup: {a.count} devices claimed and certified in "
          f"{time.monotonic() - t0:.1f} s")

    t0 = time.monotonic()
    bulk_insert(a.db, t, product, group, a.devices - a.count)
    listed = a.devices
    print(f"checkin_setup: {a.devices - a.count} more devices inserted in "
          f"{time.monotonic() - t0:.1f} s ({listed} registered)")

    body = {
        "runtime_version": "0.5.0",
        "time": int(time.time()),
        "targets_version": 0,
        "installed": [{"component_id": image["component_id"], "image_id": image["id"],
                       "version": image["version"],
                       "security_version": image.get("security_version", 1),
                       "name": MANIFEST["Name"]}],
        "error_reports": [],
    }
    pathlib.Path(a.body).write_text(json.dumps(body))


if __name__ == "__main__":
    main()
