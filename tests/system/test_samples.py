"""The samples end to end: a real rampart-sim as the board, a real rampartd
configured with the simulated board, a real mosquitto on a free loopback
port, and the samples packed from their own app_manifest.json (resolved
through boards/sim/sample_appliance.json), signed and sideloaded. Each test
starts and stops what it needs.

Then the "must NOT work" list, with grantprobe (tests/apps/grantprobe.c):
peripherals a manifest does not grant (EACCES from the SDK), one line
granted to two apps (the second install refused), device nodes opened
directly (absent from the compartment), storage written past its quota
(ENOSPC, the app keeps running), a partner channel to an app that does not
list the asker (refused).

Needs root (rampartd makes namespaces, cgroups, mounts); skips otherwise."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from test_rampartd import Daemon, IS_ROOT, RAMPART, wait_for

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
SIM = os.environ.get("RP_SIM", str(SRC / "build" / "sim" / "rampart-sim"))
SAMPLES = pathlib.Path(os.environ.get("RP_SAMPLES", str(SRC / "build" / "samples")))
GRANTPROBE = os.environ.get("RP_GRANTPROBE", str(SRC / "build" / "tests" / "grantprobe"))
BOARD = SRC / "boards" / "sim" / "sample_appliance.json"
BASE_BOARD = SRC / "boards" / "sim" / "sim.json"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_SUB = shutil.which("mosquitto_sub")

BUILT = "RAMPARTD" in os.environ and all(
    os.path.exists(p) for p in (RAMPART, SIM, GRANTPROBE, SAMPLES / "blink" / "blink",
                                SAMPLES / "co2monitor" / "co2monitor",
                                SAMPLES / "rtpartner" / "rtpartner"))
pytestmark = pytest.mark.skipif(
    not IS_ROOT or not BUILT,
    reason="the samples' system tests need root and the built rampartd, rampart-sim, "
           "samples and grantprobe; run `meson test system-samples` as root")
needs_mqtt = pytest.mark.skipif(
    not (MOSQUITTO_SUB and os.path.exists(MOSQUITTO)),
    reason="mosquitto and mosquitto-clients are not installed")


def manifest(name):
    return json.loads((SRC / "samples" / name / "app_manifest.json").read_text())


BLINK = manifest("blink")["ComponentId"]
CO2 = manifest("co2monitor")["ComponentId"]
PARTNER = manifest("rtpartner")["ComponentId"]
HELLO_RUST = manifest("hello-rust")["ComponentId"]
PROBE = "9a000000-0000-4000-8000-0000000000a1"
PROBE2 = "9a000000-0000-4000-8000-0000000000a2"

LED = 2        # SAMPLE_LED
BUTTON_1 = 0   # SAMPLE_BUTTON_1 (active low)
ALARM_LED = 3  # SAMPLE_CO2_ALARM_LED
GREEN_LED = 4  # SAMPLE_RGBLED_GREEN


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sim:
    """rampart-sim serving the simulated board in a private directory."""

    def __init__(self, d):
        self.dir = pathlib.Path(d)
        self.proc = subprocess.Popen([SIM, "serve", "--dir", self.dir], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"rampart-sim did not start: {line!r}"
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def cli(self, *args, check=True):
        p = subprocess.run([SIM, "--dir", self.dir, *map(str, args)], capture_output=True,
                           text=True, timeout=30)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    def gpio(self, line):
        return int(self.cli("gpio", "get", line).stdout.strip())

    def wait_gpio(self, line, value, timeout=15):
        wait_for(lambda: self.gpio(line) == value, timeout, 0.1,
                 f"line {line} to read {value}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Broker:
    def __init__(self, work):
        self.port = free_port()
        conf = work / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0,
                 what="mosquitto to listen")

    def subscribe(self, topic, count, timeout):
        """mosquitto_sub for count messages; returns the Popen."""
        return subprocess.Popen([MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(self.port),
                                 "-t", topic, "-C", str(count), "-W", str(timeout)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Bench:
    """One test's world: the sim, rampartd in development mode with a
    trusted key, and helpers to pack and deploy apps."""

    def __init__(self, work):
        self.work = work
        self.key = work / "dev.key"
        r = subprocess.run([RAMPART, "key", "generate", "-o", self.key], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        self.sim = Sim(work / "sim")
        self.d = Daemon(work, config={
            "cgroup_parent": "rampart-test-samples",
            "board": str(BASE_BOARD),
            "board_root": str(self.sim.dir),
            "update_notice_ms": 5000,  # generous: a loaded machine must not turn a deferral into a timeout
        }).start()
        r = self.d.rp("device", "enable-development", "--trust-key", work / "dev.pub")
        assert r.code == 0, r

    def pack(self, name, exe, man, version="1.0.0"):
        tree = self.work / f"tree-{name}-{version}"
        (tree / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy(exe, tree / "bin" / "app")
        (tree / "bin" / "app").chmod(0o755)
        mp = self.work / f"{name}-{version}.json"
        mp.write_text(json.dumps(man))
        out = self.work / f"{name}-{version}.rpk"
        r = subprocess.run([RAMPART, "package", "pack", tree, "--manifest", mp,
                            "--board", BOARD, "--key", self.key, "-o", out,
                            "--image-version", version], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return out

    def deploy(self, pkg, ok=True):
        r = self.d.rp("device", "sideload", "deploy", pkg)
        if ok:
            assert r.code == 0, r
        return r

    def sample(self, name, cmdargs=None, caps=None, version="1.0.0", deploy=True):
        """Pack (and deploy) a sample from its own manifest, with CmdArgs
        and Capabilities entries replaced where given."""
        man = manifest(name)
        if cmdargs is not None:
            man["CmdArgs"] = cmdargs
        for k, v in (caps or {}).items():
            if v is None:
                man["Capabilities"].pop(k, None)
            else:
                man["Capabilities"][k] = v
        pkg = self.pack(name, SAMPLES / name / name, man, version)
        if deploy:
            self.deploy(pkg)
        return pkg

    def probe(self, args, caps, cid=PROBE, name="grantprobe", deploy=True):
        man = {"SchemaVersion": 1, "Name": name, "ComponentId": cid,
               "EntryPoint": "/bin/app", "CmdArgs": list(map(str, args)),
               "Capabilities": caps, "ApplicationType": "Default"}
        pkg = self.pack(name, GRANTPROBE, man)
        if deploy:
            self.deploy(pkg)
        return pkg

    def wait_log(self, cid, text, timeout=10):
        """Daemon.wait_log, with the app's log and state in the failure."""
        try:
            return self.d.wait_log(cid, text, timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}\nstate: {self.d.app(cid)}\nlog:\n{self.d.logs(cid)}")

    def restart(self, cid):
        r = self.d.rp("device", "app", "stop", "--component-id", cid)
        assert r.code == 0, r
        self.d.wait_state(cid, "stopped")
        r = self.d.rp("device", "app", "start", "--component-id", cid)
        assert r.code == 0, r

    def co2(self, **kw):
        args = []
        for k, v in kw.items():
            args += [f"--{k}", str(v)]
        self.sim.cli("scd30", "set", *args)

    def close(self):
        rc = self.d.stop()
        self.sim.stop()
        assert rc == 0, self.d.log.read_text()


@pytest.fixture
def bench():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rps-", dir="/tmp"))
    os.chmod(work, 0o755)
    b = None
    try:
        b = Bench(work)
        yield b
    finally:
        if b:
            b.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def broker(bench):
    b = Broker(bench.work)
    yield b
    b.stop()


def watch_intervals(sim, line, count, timeout):
    """Seconds between successive changes of line, timed as they arrive."""
    p = subprocess.Popen([SIM, "--dir", sim.dir, "gpio", "watch", str(line),
                          "--count", str(count), "--timeout", str(timeout)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stamps = []
    for out in p.stdout:
        if out.strip():
            stamps.append(time.monotonic())
    p.wait(timeout + 5)
    assert len(stamps) == count, f"saw {len(stamps)} changes of line {line}, wanted {count}"
    return [b - a for a, b in zip(stamps, stamps[1:])]


def held_lines(status):
    """The GPIO lines an app holds, from `rampart-sim status`."""
    return [l["line"] for l in status["gpio"] if l.get("held")]


def telemetry(lines):
    return [json.loads(l) for l in lines.splitlines() if l.strip()]


def seqs(log):
    """The seq of every telemetry line in co2monitor's log."""
    out = []
    for l in log.splitlines():
        i = l.find("co2monitor: telemetry {")
        if i >= 0:
            out.append(json.loads(l[i + len("co2monitor: telemetry "):])["seq"])
    return out


# ---- blink ------------------------------------------------------------------

def test_blink_toggles_the_led_and_the_button_changes_the_rate(bench):
    bench.sample("blink")
    bench.wait_log(BLINK, "blinks every 500 ms")
    slow = watch_intervals(bench.sim, LED, 6, 15)
    assert 0.35 < sum(slow) / len(slow) < 0.75, slow
    # Press and release the button (active low).
    bench.sim.cli("gpio", "set", BUTTON_1, 0)
    time.sleep(0.2)
    bench.sim.cli("gpio", "set", BUTTON_1, 1)
    bench.wait_log(BLINK, "blink interval now 250 ms")
    fast = watch_intervals(bench.sim, LED, 6, 15)
    assert 0.15 < sum(fast) / len(fast) < 0.35, fast
    # The LED line is held by blink: the sim refuses to drive it.
    assert bench.sim.cli("gpio", "set", LED, 1, check=False).returncode != 0
    assert bench.d.app(BLINK)["state"] == "running"


@pytest.mark.skipif(not shutil.which("cmake"), reason="cmake is not installed")
def test_azure_style_cmake_app_builds_and_runs(bench):
    """An app written the way Azure Sphere's samples are (applibs, the
    generated hw/sample_appliance.h, CMakeLists.txt with azsphere_*
    functions) is built by `rampart package build` and runs unchanged."""
    out = bench.work / "azure-blink.rpk"
    env = dict(os.environ)
    san = os.environ.get("RP_SANITIZE", "none")
    if san and san != "none":  # libapplibs.a is instrumented in this build
        env["LDFLAGS"] = (env.get("LDFLAGS", "") + f" -fsanitize={san}").strip()
    r = subprocess.run([RAMPART, "package", "build", "--source",
                        SRC / "tests" / "data" / "apps" / "azure-blink", "--key", bench.key,
                        "-o", out, "--build-dir", bench.work / "azure-build"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    bench.deploy(out)
    gaps = watch_intervals(bench.sim, LED, 4, 15)
    assert 0.3 < sum(gaps) / len(gaps) < 0.8, gaps
    assert "LED on" in bench.d.logs("5b8d3c1e-7f2a-4e6b-9c0d-1a2b3c4d5e6f")


# ---- co2monitor -------------------------------------------------------------

@needs_mqtt
def test_co2monitor_telemetry_reaches_the_broker(bench, broker):
    bench.co2(co2=812, temperature=22.5, humidity=41)
    topic = "rampart/test/co2"
    sub = broker.subscribe(topic, 3, 40)
    time.sleep(0.5)
    bench.sample("co2monitor", cmdargs=["--Hostname", "127.0.0.1", "--Port", str(broker.port),
                                        "--Topic", topic],
                 caps={"AllowedConnections": [f"127.0.0.1:{broker.port}"]})
    out, err = sub.communicate(timeout=50)
    msgs = telemetry(out)
    assert len(msgs) == 3, (out, err, bench.d.logs(CO2))
    for m in msgs:
        assert {"co2", "temperature", "humidity", "seq"} <= set(m), m
        assert abs(m["co2"] - 812) < 30, m
        assert abs(m["temperature"] - 22.5) < 2, m
        assert abs(m["humidity"] - 41) < 5, m
    s = [m["seq"] for m in msgs]
    assert s == sorted(s) and len(set(s)) == 3, s
    assert "connected to the broker" in bench.d.logs(CO2)


@needs_mqtt
def test_co2monitor_broker_not_in_the_manifest_is_refused(bench, broker):
    """The same app, told to use a broker its manifest does not list:
    rampartd's network guard refuses the connection; nothing arrives."""
    sub = broker.subscribe("rampart/test/denied", 1, 8)
    other = free_port()
    bench.sample("co2monitor", cmdargs=["--Hostname", "127.0.0.1", "--Port", str(broker.port),
                                        "--Topic", "rampart/test/denied"],
                 caps={"AllowedConnections": [f"127.0.0.1:{other}"]})
    out, _ = sub.communicate(timeout=15)
    assert out.strip() == ""
    log = bench.d.logs(CO2)
    assert "not sent: not connected to the broker" in log, log
    assert "connected to the broker 127" not in log


def test_co2monitor_led_follows_the_threshold(bench):
    bench.co2(co2=600)
    bench.sample("co2monitor", cmdargs=["--Threshold", "1000"],
                 caps={"AllowedConnections": None})
    bench.wait_log(CO2, "co2monitor: telemetry {", timeout=20)
    assert bench.sim.gpio(ALARM_LED) == 0
    bench.co2(co2=2000)
    bench.sim.wait_gpio(ALARM_LED, 1)
    bench.wait_log(CO2, "above the threshold of 1000 ppm: alarm on")
    bench.co2(co2=700)
    bench.sim.wait_gpio(ALARM_LED, 0)
    bench.wait_log(CO2, "alarm off")


def partner_setup(bench, threshold):
    bench.sample("rtpartner", cmdargs=["--Period", "1", "--Threshold", str(threshold)])
    bench.wait_log(PARTNER, "waiting for co2monitor")
    bench.sample("co2monitor", cmdargs=["--Partner", PARTNER], caps={"AllowedConnections": None})


def test_partner_commands_and_replies_flow_both_ways(bench):
    bench.co2(co2=900)
    partner_setup(bench, 1500)
    bench.wait_log(CO2, f"connected to partner {PARTNER}", timeout=15)
    bench.wait_log(PARTNER, f"channel from {CO2}")
    # The partner drives; the monitor decides and replies.
    bench.wait_log(PARTNER, '"re":"set_threshold"', timeout=20)
    bench.wait_log(PARTNER, '"re":"measure_now"', timeout=20)
    bench.wait_log(PARTNER, "ppm: must be 400..10000, got 50", timeout=20)
    plog = bench.d.logs(PARTNER)
    replies = [json.loads(l[l.index("reply ") + 6:]) for l in plog.splitlines()
               if "rtpartner: reply " in l]
    ok_set = [r for r in replies if r.get("re") == "set_threshold" and r["ok"]]
    assert ok_set and ok_set[0]["threshold"] == 1500, replies
    measured = [r for r in replies if r.get("re") == "measure_now"]
    assert measured and measured[0]["ok"] and abs(measured[0]["co2"] - 900) < 30, replies
    refused = [r for r in replies if r.get("ok") is False]
    assert refused and "ppm: must be 400..10000" in refused[0]["error"], replies
    mlog = bench.d.logs(CO2)
    assert "partner command set_threshold" in mlog
    assert "threshold set to 1500 ppm" in mlog
    assert "refused a partner message: ppm: must be 400..10000, got 50" in mlog
    # The refused command changed nothing.
    assert "threshold set to 50" not in mlog


def test_co2monitor_settings_survive_a_restart(bench):
    bench.co2(co2=900)
    partner_setup(bench, 1500)
    bench.wait_log(CO2, "threshold set to 1500 ppm", timeout=20)
    bench.wait_log(CO2, "co2monitor: telemetry {", timeout=20)
    # The partner goes away; the monitor keeps what it was told.
    r = bench.d.rp("device", "sideload", "delete", "--component-id", PARTNER)
    assert r.code == 0, r
    before = max(seqs(bench.d.logs(CO2)))
    bench.restart(CO2)
    bench.wait_log(CO2, "restored settings: threshold 1500 ppm", timeout=15)
    log = bench.d.logs(CO2)
    run2 = log[log.rindex("restored settings"):]
    wait_for(lambda: seqs(bench.d.logs(CO2)[len(log) - len(run2):]), 20, 0.2,
             "telemetry after the restart")
    after = seqs(bench.d.logs(CO2)[len(log) - len(run2):])
    assert after[0] > before, (before, after)
    # The threshold still drives the LED: 1200 ppm is below 1500.
    bench.co2(co2=1200)
    time.sleep(3)
    assert bench.sim.gpio(ALARM_LED) == 0
    bench.co2(co2=1600)
    bench.wait_log(CO2, "above the threshold of 1500 ppm: alarm on", timeout=20)
    bench.sim.wait_gpio(ALARM_LED, 1)


def test_co2monitor_defers_an_update_while_the_alarm_is_on(bench):
    bench.co2(co2=2500)
    bench.sample("co2monitor", cmdargs=["--Threshold", "1000"], caps={"AllowedConnections": None})
    # The line reads 1 before any app holds it: wait for the monitor's own
    # word that the alarm is on (it registered for updates before that).
    bench.wait_log(CO2, "above the threshold of 1000 ppm: alarm on", timeout=20)
    bench.sim.wait_gpio(ALARM_LED, 1, timeout=20)
    pkg = bench.sample("co2monitor", cmdargs=["--Threshold", "1000"],
                       caps={"AllowedConnections": None}, version="1.0.1", deploy=False)
    r = bench.deploy(pkg)
    assert "deferred" in (r.out + r.err), r
    bench.wait_log(CO2, "deferring it (the CO2 alarm is on")
    assert bench.d.app(CO2)["version"] == "1.0.0"
    # The air clears: the monitor lets the update proceed.
    bench.co2(co2=500)
    bench.wait_log(CO2, "idle again: the update may proceed", timeout=20)
    wait_for(lambda: (bench.d.app(CO2) or {}).get("version") == "1.0.1", 20, 0.2,
             "the update to be applied")
    bench.d.wait_state(CO2, "running")


# ---- hello-rust -------------------------------------------------------------

@pytest.mark.skipif(not (SAMPLES / "hello-rust" / "hello-rust").exists(),
                    reason="hello-rust was not built (no rustc)")
def test_hello_rust_runs_and_logs(bench):
    bench.sample("hello-rust")
    bench.wait_log(HELLO_RUST, "idle until SIGTERM", timeout=15)
    log = bench.d.logs(HELLO_RUST)
    assert "hello from Rust, through applibs" in log
    assert "run number 1 (counted in mutable storage)" in log
    assert "blink 3 of 3" in log
    assert "SAMPLE_LED refused as it must be: Permission denied" in log
    bench.restart(HELLO_RUST)
    bench.wait_log(HELLO_RUST, "run number 2", timeout=15)


# ---- must NOT work ----------------------------------------------------------

def test_peripherals_not_granted_are_refused_with_eacces(bench):
    # Granted: SAMPLE_BUTTON_2 only (line 1).
    bench.probe(["gpio-in", 1, "gpio-out", LED, "gpio-in", BUTTON_1, "i2c", 0, "uart", 0],
                {"Gpio": [1]})
    bench.wait_log(PROBE, "grantprobe: done")
    log = bench.d.logs(PROBE)
    assert "gpio-in 1: ok" in log
    assert f"gpio-out {LED}: EACCES" in log
    assert f"gpio-in {BUTTON_1}: EACCES" in log
    assert "i2c 0: EACCES" in log
    assert "uart 0: EACCES" in log
    # Only the granted line is held, by grantprobe, as an input.
    status = json.loads(bench.sim.cli("status").stdout)
    assert LED not in held_lines(status) and 1 in held_lines(status), status


def test_one_line_two_apps_the_second_install_is_refused(bench):
    bench.sample("blink")
    pkg = bench.probe(["gpio-out", LED], {"Gpio": [LED]}, deploy=False)
    r = bench.deploy(pkg, ok=False)
    assert r.code != 0, r
    assert f"Capabilities.Gpio: {LED} is already used by the installed app {BLINK}" in r.err, r
    assert bench.d.app(PROBE) is None


def test_device_nodes_cannot_be_opened_directly(bench):
    bench.probe(["open", "/dev/gpiochip0", "open", "/dev/i2c-1", "open", "/dev/i2c-0",
                 "open", "/dev/ttyS0", "open", str(bench.sim.dir / "gpiochip0"),
                 "open", "/sys/class/gpio/export"],
                {"Gpio": [LED], "I2cMaster": ["I2C0"]})
    bench.wait_log(PROBE, "grantprobe: done")
    log = bench.d.logs(PROBE)
    for path in ("/dev/gpiochip0", "/dev/i2c-1", "/dev/i2c-0", "/dev/ttyS0",
                 str(bench.sim.dir / "gpiochip0"), "/sys/class/gpio/export"):
        line = [l for l in log.splitlines() if f"open {path}:" in l]
        assert line and ": ok" not in line[0], (path, log)


def test_storage_past_its_quota_is_enospc_and_the_app_keeps_running(bench):
    bench.probe(["fill", 1024], {"MutableStorage": {"SizeKB": 64}})
    bench.wait_log(PROBE, "grantprobe: done", timeout=20)
    log = bench.d.logs(PROBE)
    assert "fill 1024: ENOSPC" in log, log
    time.sleep(1)
    app = bench.d.app(PROBE)
    assert app["state"] == "running" and app["restarts"] == 0, app


def test_partner_channel_to_an_app_that_does_not_list_the_asker_is_refused(bench):
    # rtpartner lists co2monitor only; grantprobe lists rtpartner.
    bench.sample("rtpartner")
    bench.wait_log(PARTNER, "waiting for co2monitor")
    bench.probe(["connect", PARTNER, "connect", CO2],
                {"AllowedApplicationConnections": [PARTNER]})
    bench.wait_log(PROBE, "grantprobe: done")
    log = bench.d.logs(PROBE)
    assert f"connect {PARTNER}: EACCES" in log, log
    # Not in its own manifest either.
    assert f"connect {CO2}: EACCES" in log, log
    assert "channel from" not in bench.d.logs(PARTNER)
