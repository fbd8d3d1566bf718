"""Peripherals and system events through rampartd, end to end: a real
rampartd with the simulated board (boards/sim/sim.json) served by a real
rampart-sim in a temporary directory (config board_root), apps in real
compartments speaking the app socket and rpph directly
(tests/runtime/periph_app.c; no SDK). What is granted works; what is not
granted, not on the board, outside a handle's scope or a raw device node
is refused. Update deferral, power controls and device auth requests too.
Needs root; skips, saying so, otherwise."""
import json
import os
import pathlib
import signal
import subprocess
import time
import tty

import pytest

from test_rampartd import (SRC, Daemon, needs_root, pack, wait_for, run_cli,  # noqa: F401
                           work, keys)

PERIPH_APP = os.environ.get("RP_PERIPH_APP",
                            str(SRC / "build" / "tests" / "runtime" / "periph_app"))
SIM = os.environ.get("RAMPART_SIM", str(SRC / "build" / "sim" / "rampart-sim"))
BOARD = SRC / "boards" / "sim" / "sim.json"

pytestmark = [needs_root, pytest.mark.skipif(
    not (os.path.exists(PERIPH_APP) and os.path.exists(SIM)),
    reason="needs the built periph_app and rampart-sim")]

A = "a0000000-0000-4000-8000-0000000000a1"
B = "b0000000-0000-4000-8000-0000000000b2"
C = "c0000000-0000-4000-8000-0000000000c3"


class Sim:
    def __init__(self, d):
        self.dir = pathlib.Path(d)
        self.proc = subprocess.Popen([SIM, "serve", "--dir", self.dir],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", line

    def run(self, *args):
        p = subprocess.run([SIM, "--dir", self.dir, *map(str, args)], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout

    def status(self):
        return json.loads(self.run("status"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


@pytest.fixture
def sim(work):
    s = Sim(work / "sim")
    yield s
    s.stop()


def start(work, keys, config):
    d = Daemon(work, config={"cgroup_parent": "rampart-test-periph", **config}).start()
    r = d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
    assert r.code == 0, r
    return d


@pytest.fixture
def simd(work, keys, sim):
    d = start(work, keys, {"board": str(BOARD), "board_root": str(sim.dir)})
    yield d
    assert d.stop() == 0, d.log.read_text()


def deploy(d, work, keys, cid, steps, caps, name="periph", version="1.0.0"):
    r = d.rp("device", "sideload", "deploy",
             pack(work, keys, cid, steps, name=name, exe=PERIPH_APP, caps=caps,
                  version=version))
    return r


def result(d, cid, step, timeout=15):
    """The result of the first log line 'periph: <step>...: <result>'."""
    def find():
        for line in d.logs(cid).splitlines():
            if line.startswith("periph: " + step):
                return line
        return None
    line = wait_for(find, timeout, 0.1, f"'{step}' in the log of {cid}")
    return line


def reply(d, cid, request):
    line = result(d, cid, "req " + request)
    rest = line[len("periph: req " + request + ": "):]
    fd = rest.endswith(" +fd")
    return json.loads(rest[:-4] if fd else rest), fd


def gpio_out(line, value):
    return json.dumps({"open": "Gpio", "id": line, "direction": "output",
                       "output_mode": "PushPull", "value": value}, separators=(",", ":"))


def gpio_in(line):
    return json.dumps({"open": "Gpio", "id": line, "direction": "input"},
                      separators=(",", ":"))


def op(kind, n, **kw):
    return json.dumps({"open": kind, "id": n, **kw}, separators=(",", ":"))


# ---- granted peripherals work ----------------------------------------------------

def test_gpio_i2c_spi_uart_on_the_simulated_board(simd, sim, work, keys):
    steps = ["req", gpio_out(2, 1), "gpio-get", "gpio-set", "0", "reopen",
             "req", gpio_in(0), "gpio-get", "gpio-set", "1",
             "req", op("I2cMaster", 0), "i2c-read", "0x61", "d100", "3",
             "i2c-read", "0x10", "00", "1", "bad-op",
             "req", op("SpiMaster", 0, chip_select=0), "spi-xfer", "a55a", "2",
             "req", op("Uart", 0), "uart-echo", "hello",
             "req", gpio_out(3, 0), "hold"]
    caps = {"Gpio": [0, 2, 3], "I2cMaster": ["I2C0"], "SpiMaster": ["SPI0"],
            "Uart": ["UART0"]}
    r = deploy(simd, work, keys, A, steps, caps)
    assert r.code == 0, r
    result(simd, A, "holding")
    log = simd.logs(A)
    # GPIO output: the handle drives the simulated line, and only that line.
    rep, fd = reply(simd, A, gpio_out(2, 1))
    assert rep == {"opened": "Gpio", "id": 2} and fd
    lines = [l for l in log.splitlines() if l.startswith("periph: gpio-")]
    assert lines[0] == "periph: gpio-get: ok value 1 data ", log
    assert lines[1].startswith("periph: gpio-set: ok"), log
    assert "periph: reopen: status EPERM" in log
    # The input line reads what the board side sets (released: 1); it
    # cannot be driven.
    assert lines[2] == "periph: gpio-get: ok value 1 data ", log
    assert lines[3] == "periph: gpio-set: status EPERM", log
    # I2C: the SCD30 at 0x61 answers its firmware-version command; nobody
    # at 0x10; a GPIO op on an I2C handle is refused.
    assert "periph: i2c-read: ok value 0 data " in log
    assert "periph: i2c-read: status ENXIO" in log
    assert "periph: bad-op: status EBADF" in log
    # SPI loopback, UART echo.
    assert "periph: spi-xfer: ok value 0 data a55a" in log
    assert "periph: uart-echo: got 'hello'" in log
    st = sim.status()
    g = {x["line"]: x for x in st["gpio"]}
    # periph_app keeps one handle: each open closed the previous one, and
    # a closed handle releases its line (an output keeps its last value).
    assert g[2]["value"] == 0 and not g[2]["held"], g[2]
    assert not g[0]["held"] and g[3]["held"], g
    assert sim.run("gpio", "get", 2).strip() == "0"
    # The handles belong to the app: stopping it releases the lines.
    assert simd.rp("device", "app", "stop", "--component-id", A).code == 0
    simd.wait_state(A, "stopped")
    wait_for(lambda: not any(x["held"] for x in sim.status()["gpio"]),
             what="the lines to be released")


def test_pwm_and_adc_served_by_rampartd(simd, sim, work, keys):
    sim.run("adc", "set", 1, 1234)
    steps = ["req", op("Pwm", 0), "pwm", "0", "1000000", "250000", "0", "1",
             "sleep", "300", "pwm", "0", "200000", "100000", "1", "1",
             "pwm", "5", "1000", "10", "0", "1", "reopen", "bad-op",
             "req", op("Adc", 0), "adc-poll", "1", "adc-bits", "1", "adc-ref", "1", "2500",
             "adc-poll", "9", "hold"]
    r = deploy(simd, work, keys, A, steps, {"Pwm": ["PWM0"], "Adc": ["ADC0"]})
    assert r.code == 0, r
    result(simd, A, "holding")
    log = simd.logs(A)
    pwm = [l for l in log.splitlines() if l.startswith("periph: pwm")]
    assert pwm[0].startswith("periph: pwm: ok"), log
    assert pwm[1].startswith("periph: pwm: ok"), log
    # sim.json's pwmchip0 has npwm 2.
    assert pwm[2] == "periph: pwm: status EINVAL", log
    assert "periph: reopen: status EPERM" in log
    assert "periph: bad-op: status EBADF" in log
    assert "periph: adc-poll: ok value 1234 data " in log
    assert "periph: adc-bits: ok value 12 data " in log
    assert "periph: adc-ref: ok" in log
    assert "periph: adc-poll: status ENODEV" in log
    ch = json.loads(sim.run("pwm", "get", 0))
    # The second apply shrank the period below the first duty: written in
    # an order sysfs accepts, polarity while disabled.
    assert (ch["period"], ch["duty_cycle"], ch["enable"]) == (200000, 100000, 1), ch
    assert ch["polarity"] in ("inversed", 1), ch
    # rampartd serves the handles; they go when the app stops.
    pid = simd.proc.pid

    def socks():
        return sum(1 for f in os.listdir(f"/proc/{pid}/fd")
                   if os.readlink(f"/proc/{pid}/fd/{f}").startswith("socket:"))
    with_app = socks()
    assert simd.rp("device", "app", "stop", "--component-id", A).code == 0
    simd.wait_state(A, "stopped")
    # The app socket, its connection and the served ADC handle (the PWM
    # one went when the app opened the ADC: periph_app keeps one handle).
    assert socks() <= with_app - 3, (with_app, socks())
    assert "pwm0" in os.listdir(sim.dir / "pwmchip0")


# ---- what must be refused -----------------------------------------------------------

def test_not_granted_missing_and_malformed_refused(simd, sim, work, keys):
    steps = ["req", gpio_out(5, 0), "req", op("I2cMaster", 0), "req", op("Uart", 0),
             "req", gpio_out(99, 0), "req", op("Pwm", 3),
             "req", '{"open":"Gpio","id":3}',
             "req", '{"open":"Gpio","id":3,"direction":"output","bogus":1}',
             "req", '{"open":"Gpio","id":3,"direction":"input","value":1}',
             "req", '{"open":"Uart","id":0,"connect":"x"}',
             "req", gpio_in(3), "req", gpio_out(3, 1),
             "hold"]
    r = deploy(simd, work, keys, B, steps, {"Gpio": [3]})
    assert r.code == 0, r
    result(simd, B, "holding")
    rep, fd = reply(simd, B, gpio_out(5, 0))
    assert rep["code"] == -13 and not fd, rep
    assert "Gpio 5 is not granted by this app's manifest" in rep["error"]
    rep, _ = reply(simd, B, op("I2cMaster", 0))
    assert rep["code"] == -13 and '"I2C0" is not granted' in rep["error"], rep
    rep, _ = reply(simd, B, op("Uart", 0))
    assert rep["code"] == -13, rep
    rep, _ = reply(simd, B, gpio_out(99, 0))
    assert rep["code"] == -19 and "the board has no Gpio 99" in rep["error"], rep
    rep, _ = reply(simd, B, op("Pwm", 3))
    assert rep["code"] == -19, rep
    for bad in ['{"open":"Gpio","id":3}',
                '{"open":"Gpio","id":3,"direction":"output","bogus":1}',
                '{"open":"Gpio","id":3,"direction":"input","value":1}',
                '{"open":"Uart","id":0,"connect":"x"}']:
        rep, fd = reply(simd, B, bad)
        assert rep["code"] == -22 and not fd, (bad, rep)
    # The same line twice: the simulated chip holds a line for one handle.
    rep, fd = reply(simd, B, gpio_in(3))
    assert rep == {"opened": "Gpio", "id": 3} and fd
    rep, fd = reply(simd, B, gpio_out(3, 1))
    assert rep["code"] == -16 and not fd, rep
    assert simd.alive()


def test_device_nodes_are_not_in_the_compartment(simd, sim, work, keys):
    # The host has serial ports and the sim's devices; the compartment has
    # none of them, nor /sys.
    paths = ["/dev/gpiochip0", "/dev/i2c-1", "/dev/spidev0.0", "/dev/ttyAMA0",
             "/dev/ttyS0", "/dev/ttyUSB0", "/sys/class/pwm/pwmchip0/export",
             "/sys/class/gpio/export", str(sim.dir / "gpiochip0"), str(sim.dir / "uart0"),
             "/dev/mem"]
    steps = []
    for p in paths:
        steps += ["devopen", p]
    r = deploy(simd, work, keys, A, steps + ["hold"], {"Gpio": [1], "Uart": ["UART0"]})
    assert r.code == 0, r
    result(simd, A, "holding")
    log = simd.logs(A)
    for p in paths:
        line = result(simd, A, f"devopen {p}:")
        assert line == f"periph: devopen {p}: ENOENT", log
    assert "OPENED" not in log


def test_install_refuses_what_the_board_lacks_and_shared_lines(simd, sim, work, keys):
    r = deploy(simd, work, keys, A, ["hold"], {"Gpio": [77]})
    assert r.code == 1 and "Capabilities.Gpio: 77 is not a peripheral of this device's board" \
        in r.err, r
    r = deploy(simd, work, keys, A, ["hold"], {"I2cMaster": ["I2C7"]})
    assert r.code == 1 and '"I2C7" is not a peripheral' in r.err, r
    assert simd.apps() == {}
    r = deploy(simd, work, keys, A, ["hold"], {"Gpio": [4], "Uart": ["UART1"]})
    assert r.code == 0, r
    r = deploy(simd, work, keys, B, ["hold"], {"Gpio": [4]}, name="other")
    assert r.code == 1 and "Capabilities.Gpio: 4 is already used by the installed app" \
        in r.err, r
    r = deploy(simd, work, keys, B, ["hold"], {"Uart": ["UART1"]}, name="other")
    assert r.code == 1 and 'Capabilities.Uart: "UART1" is already used' in r.err, r
    assert set(simd.apps()) == {A}


def test_no_board_configured(work, keys):
    d = start(work, keys, {})
    try:
        r = deploy(d, work, keys, A, ["req", gpio_out(1, 0), "hold"], {"Gpio": [1]})
        assert r.code == 0, r
        rep, fd = reply(d, A, gpio_out(1, 0))
        assert rep["code"] == -19 and "no board configured" in rep["error"], rep
    finally:
        assert d.stop() == 0


def test_bad_board_or_config_refused_at_start(work):
    bad = work / "bad.json"
    bad.write_text('{"Metadata": {"Type": "Azure Sphere Hardware Definition", "Version": 1}, '
                   '"Peripherals": [{"Name": "X", "Type": "Gpio"}]}')
    for cfg, msg in [({"board": str(bad)}, f"board {bad}"),
                     ({"board": str(work / "none.json")}, "none.json"),
                     ({"board": "boards/sim/sim.json"}, "board: must be an absolute path"),
                     ({"board_root": "tmp"}, "board_root: must be an absolute path"),
                     ({"power_actions": 1}, "power_actions: must be a boolean"),
                     ({"update_notice_ms": 600001}, "update_notice_ms: must be")]:
        d = Daemon(work, config=cfg)
        p = subprocess.run([os.environ.get("RAMPARTD", "rampartd"), "--state-dir", d.state,
                            "--config", d.config, "--socket", d.sock, "--foreground"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and msg in p.stderr, (cfg, p.stderr)


# ---- uart and sysfs-like directories without the simulator -------------------------

def test_own_board_with_a_pty_and_sysfs_dirs(work, keys):
    """A board file of the test's own: a pty as the UART, a PWM chip whose
    pwm0/ exists already, an IIO directory, and a UART that is not a tty."""
    root = work / "board"
    (root / "pwmchip0" / "pwm0").mkdir(parents=True)
    for f in ("period", "duty_cycle", "enable"):
        (root / "pwmchip0" / "pwm0" / f).write_text("0\n")
    (root / "pwmchip0" / "pwm0" / "polarity").write_text("normal\n")
    (root / "iio").mkdir()
    (root / "iio" / "in_voltage0_raw").write_text("4095\n")
    master, slave = os.openpty()
    tty.setraw(slave)
    os.symlink(os.ttyname(slave), root / "uart0")
    (root / "notatty").write_text("")
    board = work / "b.json"
    per = [
        {"Name": "U0", "Type": "Uart", "AppManifestValue": "UART0", "MainCoreHeaderValue": "(0)",
         "Rampart": {"Linux": {"Device": "/run/rampart-sim/uart0"}}},
        {"Name": "U1", "Type": "Uart", "AppManifestValue": "UART1", "MainCoreHeaderValue": "(1)",
         "Rampart": {"Linux": {"Device": "/run/rampart-sim/notatty"}}},
        {"Name": "P0", "Type": "Pwm", "AppManifestValue": "PWM0", "MainCoreHeaderValue": "(0)",
         "Rampart": {"Linux": {"Chip": "/run/rampart-sim/pwmchip0"}}},
        {"Name": "A0", "Type": "Adc", "AppManifestValue": "ADC0", "MainCoreHeaderValue": "(0)",
         "Rampart": {"Linux": {"Device": "/run/rampart-sim/iio"}}},
    ]
    board.write_text(json.dumps({"Metadata": {"Type": "Azure Sphere Hardware Definition",
                                              "Version": 1},
                                 "Description": {"Name": "test board"}, "Peripherals": per}))
    d = start(work, keys, {"board": str(board), "board_root": str(root)})
    try:
        steps = ["req", op("Uart", 1), "req", op("Uart", 0), "sleep", "500",
                 "uart-echo", "pong", "req", op("Pwm", 0), "pwm", "0", "1000", "500", "0", "1",
                 "req", op("Adc", 0), "adc-poll", "0", "hold"]
        r = deploy(d, work, keys, A, steps, {"Uart": ["UART0", "UART1"], "Pwm": ["PWM0"],
                                             "Adc": ["ADC0"]})
        assert r.code == 0, r
        rep, fd = reply(d, A, op("Uart", 1))
        assert rep["code"] == -19 and "not a terminal" in rep["error"], rep
        rep, fd = reply(d, A, op("Uart", 0))
        assert fd, rep
        # Play the other end of the line: echo what the app writes.
        os.set_blocking(master, False)
        got = b""
        end = time.monotonic() + 10
        while b"pong" not in got and time.monotonic() < end:
            try:
                got += os.read(master, 100)
            except BlockingIOError:
                time.sleep(0.05)
        os.write(master, b"pong")
        assert "periph: uart-echo: got 'pong'" in result(d, A, "uart-echo")
        assert result(d, A, "pwm").startswith("periph: pwm: ok")
        pw = root / "pwmchip0" / "pwm0"
        assert [(pw / f).read_text().strip() for f in ("period", "duty_cycle", "enable")] \
            == ["1000", "500", "1"]
        assert result(d, A, "adc-poll") == "periph: adc-poll: ok value 4095 data "
    finally:
        assert d.stop() == 0
        os.close(master)
        os.close(slave)


# ---- system events: deferring an update --------------------------------------------

SYSEV = {"SystemEventNotifications": True, "SoftwareUpdateDeferral": True}
REGISTER = '{"sysevent":"register","events":["UpdateReadyForInstall"]}'


def defer(n):
    return '{"sysevent":"defer","event":"UpdateReadyForInstall","minutes":%d}' % n


RESUME = '{"sysevent":"resume","event":"UpdateReadyForInstall"}'


@pytest.fixture
def evd(work, keys):
    d = start(work, keys, {"update_notice_ms": 1500})
    yield d
    assert d.stop() == 0, d.log.read_text()


def test_app_defers_its_own_update_then_resumes(evd, work, keys):
    steps = ["req", REGISTER, "wait-event", "req", defer(30), "sleep", "4000",
             "req", RESUME, "hold"]
    assert deploy(evd, work, keys, A, steps, SYSEV).code == 0
    rep, _ = reply(evd, A, REGISTER)
    assert rep == {"registered": ["UpdateReadyForInstall"]}
    r = deploy(evd, work, keys, A, ["hold"], SYSEV, version="2.0.0")
    assert r.code == 0, r
    assert "update deferred by periph (" + A + ") until" in r.out, r
    ev = json.loads(result(evd, A, "event:")[len("periph: event: "):])
    assert ev == {"event": "UpdateReadyForInstall", "component_id": A,
                  "max_deferral_minutes": 1440}
    rep, _ = reply(evd, A, defer(30))
    assert rep["deferred_until"] > time.time() + 29 * 60
    # Still the old version, and the list says why.
    app = evd.app(A)
    assert app["version"] == "1.0.0" and app["state"] == "running"
    assert app["state_detail"].startswith("update 2.0.0 deferred until ")
    assert "update 2.0.0 deferred until" in evd.rp("device", "app", "list").out
    # Another sideload meanwhile is refused, saying why.
    r = deploy(evd, work, keys, B, ["hold"], {}, name="other")
    assert r.code == 1 and "an update of " + A + " is waiting" in r.err, r
    # The app resumes: the update is installed.
    wait_for(lambda: evd.app(A)["version"] == "2.0.0", 15, 0.2, "the update")
    evd.wait_state(A, "running")
    assert evd.app(A)["state_detail"] is None


def test_deferral_ends_when_the_deferring_app_stops(evd, work, keys):
    assert deploy(evd, work, keys, C, ["hold"], {}, name="target").code == 0
    steps = ["req", REGISTER, "wait-event", "req", defer(60), "hold"]
    assert deploy(evd, work, keys, B, steps, SYSEV, name="deferrer").code == 0
    result(evd, B, "req " + REGISTER)
    r = deploy(evd, work, keys, C, ["hold"], {}, name="target", version="2.0.0")
    assert r.code == 0 and "deferred by deferrer" in r.out, r
    assert evd.app(C)["version"] == "1.0.0"
    assert evd.rp("device", "app", "stop", "--component-id", B).code == 0
    wait_for(lambda: evd.app(C)["version"] == "2.0.0", 15, 0.2, "the update")


def test_no_answer_means_install_after_the_notice(evd, work, keys):
    assert deploy(evd, work, keys, B, ["req", REGISTER, "hold"], SYSEV, name="silent").code == 0
    result(evd, B, "holding")
    t0 = time.monotonic()
    r = deploy(evd, work, keys, C, ["hold"], {}, name="target")
    assert r.code == 0 and "Installed " + C in r.out, r
    assert time.monotonic() - t0 >= 1.2  # the notice window (1.5 s)
    assert evd.app(C)["version"] == "1.0.0" and evd.app(C)["state_detail"] is None


def test_sysevents_need_their_capabilities(evd, work, keys):
    steps = ["req", REGISTER, "req", defer(5), "req", RESUME,
             "req", '{"sysevent":"register","events":["Nope"]}',
             "req", '{"sysevent":"defer","event":"UpdateReadyForInstall","minutes":1441}', "hold"]
    assert deploy(evd, work, keys, A, steps, {}).code == 0
    rep, _ = reply(evd, A, REGISTER)
    assert rep["code"] == -1 and "SystemEventNotifications" in rep["error"], rep
    rep, _ = reply(evd, A, defer(5))
    assert rep["code"] == -1 and "SoftwareUpdateDeferral" in rep["error"], rep
    rep, _ = reply(evd, A, RESUME)
    assert rep == {"resumed": True}
    rep, _ = reply(evd, A, '{"sysevent":"register","events":["Nope"]}')
    assert rep["code"] == -22
    rep, _ = reply(evd, A, '{"sysevent":"defer","event":"UpdateReadyForInstall","minutes":1441}')
    assert rep["code"] == -22


# ---- power, device auth, storage -------------------------------------------------------

def test_power_deviceauth_and_storage(evd, work, keys):
    steps = ["req", '{"power":"ForceReboot"}', "req", '{"power":"ForcePowerDown"}',
             "req", '{"power":"SetPowerProfile","profile":"Balanced"}',
             "req", '{"deviceauth":"status"}', "req", '{"storage":"quota"}', "hold"]
    caps = {"PowerControls": ["ForceReboot"], "MutableStorage": {"SizeKB": 64}}
    assert deploy(evd, work, keys, A, steps, caps).code == 0
    rep, _ = reply(evd, A, '{"power":"ForceReboot"}')
    assert rep == {"done": False, "reason": "power actions disabled by configuration"}
    rep, _ = reply(evd, A, '{"power":"ForcePowerDown"}')
    assert rep["code"] == -1 and "ForcePowerDown is not in this app's " \
        "Capabilities.PowerControls" in rep["error"], rep
    rep, _ = reply(evd, A, '{"power":"SetPowerProfile","profile":"Balanced"}')
    assert rep["code"] == -1
    rep, _ = reply(evd, A, '{"deviceauth":"status"}')
    assert rep == {"ready": False, "reason": "the device has no certificate yet"}
    rep, _ = reply(evd, A, '{"storage":"quota"}')
    assert rep["size_kb"] == 64 and 0 <= rep["used_kb"] <= 64, rep
    ev = [e for e in evd.report() if "AppRequest: ForceReboot requested" in e["description"]]
    assert len(ev) == 1 and ev[0]["event_type"] == "Planned", evd.report()
    assert evd.alive()
