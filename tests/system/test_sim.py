"""rampart-sim: every simulated device over its real sockets, ptys and
directories (docs/sim.md), and every refusal. Each test starts its own
`rampart-sim serve --dir <tmp>`; instances are independent."""
import errno
import json
import os
import pathlib
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import time

import pytest

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
SIM = os.environ.get("RAMPART_SIM", str(SRC / "build" / "sim" / "rampart-sim"))

HDR = struct.Struct("<HHIII")
REPLY = 0x8000
OPEN, GPIO_GET, GPIO_SET, I2C_XFER, I2C_CONFIG, SPI_XFER, SPI_CONFIG = 1, 2, 3, 4, 5, 6, 7
PWM_APPLY, ADC_POLL = 8, 9
K_GPIO, K_I2C, K_SPI, K_PWM, K_ADC = 1, 2, 3, 4, 5
OUT, OPEN_DRAIN, OPEN_SOURCE = 1, 2, 4
SCD30 = 0x61


def crc8(data):
    """Sensirion's CRC-8: polynomial 0x31, init 0xFF."""
    c = 0xFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x31) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def word(v):
    b = struct.pack(">H", v)
    return b + bytes([crc8(b)])


def msg(op, a=0, b=0, data=b"", status=0):
    return HDR.pack(op, status, a, b, len(data)) + data


def seg(direction, length, data=b""):
    return struct.pack("<BBH", direction, 0, length) + data


class Handle:
    """One rpph connection to a device socket."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(str(path))  # blocking: waits while the backlog is full
        self.s.settimeout(5)

    def raw(self, datagram):
        self.s.send(datagram)
        r = self.s.recv(8192)
        assert len(r) >= 16, r
        op, st, a, b, ln = HDR.unpack(r[:16])
        assert a == 0 and ln == len(r) - 16
        return op, st, b, r[16:]

    def call(self, op, a=0, b=0, data=b""):
        rop, st, val, d = self.raw(msg(op, a, b, data))
        assert rop == op | REPLY
        return st, val, d

    def close(self):
        self.s.close()


class Sim:
    def __init__(self, seed=0):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="rs", dir="/tmp")) / "sim"
        self.p = subprocess.Popen([SIM, "serve", "--dir", str(self.dir), "--seed", str(seed)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        r, _, _ = select.select([self.p.stdout], [], [], 10)
        assert r, "rampart-sim did not start"
        line = self.p.stdout.readline()
        assert line == "ready\n", (line, self.p.stderr.read() if self.p.poll() is not None else "")

    def cli(self, *args, check=True, timeout=20):
        p = subprocess.run([SIM, "--dir", str(self.dir), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
        return p

    def json(self, *args):
        return json.loads(self.cli(*args).stdout)

    def h(self, name):
        return Handle(self.dir / name)

    def gpio(self, line, flags=0, value=0):
        h = self.h("gpiochip0")
        st, _, _ = h.call(OPEN, K_GPIO, line, struct.pack("<II", flags, value))
        assert st == 0, errno.errorcode.get(st, st)
        return h

    def i2c(self):
        h = self.h("i2c-0")
        assert h.call(OPEN, K_I2C)[0] == 0
        return h

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(10)
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        shutil.rmtree(self.dir.parent, ignore_errors=True)
        return rc, err


@pytest.fixture
def sim():
    s = Sim()
    yield s
    if s.p.poll() is None:
        s.stop()


def test_layout_and_clean_stop():
    s = Sim()
    d = s.dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o755
    for name in ("gpiochip0", "i2c-0", "spidev0.0", "control"):
        st = (d / name).lstat()
        assert stat.S_ISSOCK(st.st_mode), name
        assert stat.S_IMODE(st.st_mode) == 0o600, name
        assert st.st_uid == 0
    for name in ("uart0", "uart1"):
        assert (d / name).is_symlink()
        assert os.readlink(d / name).startswith("/dev/pts/")
    assert (d / "pwmchip0" / "npwm").read_text() == "2\n"
    assert (d / "pwmchip0" / "export").exists() and (d / "pwmchip0" / "unexport").exists()
    iio = d / "iio:device0"
    assert (iio / "name").read_text() == "rampart-sim-adc\n"
    assert (iio / "in_voltage_scale").read_text() == "0.805664062\n"
    for ch in range(4):
        assert (iio / f"in_voltage{ch}_raw").read_text() == "2048\n"
        assert (iio / "scan_elements" / f"in_voltage{ch}_type").read_text() == "le:u12/16>>0\n"
    # A second instance on the same directory is refused.
    p = subprocess.run([SIM, "serve", "--dir", str(d)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "another rampart-sim serves it" in p.stderr
    rc, err = s.stop()
    assert rc == 0, err
    assert "SIGTERM" in err
    assert not d.exists() or list(d.iterdir()) == []


def test_sigint_and_independent_instances():
    a, b = Sim(), Sim()
    try:
        a.cli("gpio", "set", 4, 0)
        assert a.cli("gpio", "get", 4).stdout == "0\n"
        assert b.cli("gpio", "get", 4).stdout == "1\n"
        h = a.gpio(7, OUT, 1)
        assert b.gpio(7, OUT, 0) is not None  # no EBUSY across instances
        h.close()
    finally:
        a.p.send_signal(signal.SIGINT)
        assert a.p.wait(10) == 0
        a.stop()
        b.stop()


# ---- gpiochip0 ----

def test_gpio_output(sim):
    h = sim.gpio(2, OUT, 0)
    assert sim.cli("gpio", "get", 2).stdout == "0\n"
    assert h.call(GPIO_GET) == (0, 0, b"")
    assert h.call(GPIO_SET, 1) == (0, 0, b"")
    assert sim.cli("gpio", "get", 2).stdout == "1\n"
    assert h.call(GPIO_GET)[1] == 1
    # The control side cannot drive a line an app holds as output.
    p = sim.cli("gpio", "set", 2, 0, check=False)
    assert p.returncode == 1 and "held as an output" in p.stderr
    st = sim.json("status")
    assert st["gpio"][2] == {"line": 2, "value": 1, "held": "output", "drive": "push-pull"}
    # Released: the line keeps its last value, and is free again.
    h.close()
    time.sleep(0.1)
    st = sim.json("status")
    assert st["gpio"][2]["held"] is None and st["gpio"][2]["value"] == 1
    h2 = sim.gpio(2, OUT | OPEN_DRAIN, 1)
    assert sim.json("status")["gpio"][2]["drive"] == "open-drain"
    h2.close()


def test_gpio_input_button(sim):
    assert sim.cli("gpio", "get", 0).stdout == "1\n"  # released, active low
    h = sim.gpio(0)
    assert h.call(GPIO_GET)[1] == 1
    sim.cli("gpio", "set", 0, 0)
    assert h.call(GPIO_GET)[1] == 0
    sim.cli("gpio", "set", 0, 1)
    assert h.call(GPIO_GET)[1] == 1
    assert h.call(GPIO_SET, 0)[0] == errno.EPERM
    assert sim.json("status")["gpio"][0]["held"] == "input"


def test_gpio_refusals(sim):
    h = sim.gpio(3, OUT, 0)
    other = sim.h("gpiochip0")
    # One holder per line.
    assert other.call(OPEN, K_GPIO, 3, struct.pack("<II", 0, 0))[0] == errno.EBUSY
    assert other.call(OPEN, K_GPIO, 3, struct.pack("<II", OUT, 1))[0] == errno.EBUSY
    # Before OPEN, every op is EBADF.
    assert other.call(GPIO_GET)[0] == errno.EBADF
    assert other.call(GPIO_SET, 1)[0] == errno.EBADF
    # Lines 0..15 only; kinds of other sockets; bad drive flags.
    assert other.call(OPEN, K_GPIO, 16, struct.pack("<II", 0, 0))[0] == errno.EINVAL
    assert other.call(OPEN, K_GPIO, 4095, struct.pack("<II", 0, 0))[0] == errno.EINVAL
    assert other.call(OPEN, K_GPIO, 4096, struct.pack("<II", 0, 0))[0] == errno.EBADMSG
    for kind in (K_I2C, K_SPI, K_PWM, K_ADC):
        assert other.call(OPEN, kind)[0] == errno.ENODEV
    assert other.call(OPEN, K_GPIO, 4, struct.pack("<II", OPEN_DRAIN, 0))[0] == errno.EINVAL
    assert other.call(OPEN, K_GPIO, 4, struct.pack("<II", OUT | OPEN_DRAIN | OPEN_SOURCE, 0))[0] == errno.EINVAL
    assert other.call(OPEN, K_GPIO, 4, struct.pack("<II", 8, 0))[0] == errno.EBADMSG
    assert other.call(OPEN, K_GPIO, 4, struct.pack("<II", OUT, 2))[0] == errno.EBADMSG
    # The line is still free after those refusals.
    assert other.call(OPEN, K_GPIO, 4, struct.pack("<II", 0, 0))[0] == 0
    # An open handle cannot be re-scoped.
    assert h.call(OPEN, K_GPIO, 5, struct.pack("<II", OUT, 0))[0] == errno.EPERM
    assert h.call(OPEN, K_GPIO, 3, struct.pack("<II", OUT, 0))[0] == errno.EPERM
    # Ops of another kind.
    assert h.call(I2C_XFER, SCD30, 3, b"\xd1\x00")[0] == errno.EBADF
    assert h.call(SPI_XFER, 0, 0, seg(2, 1))[0] == errno.EBADF
    assert h.call(PWM_APPLY, 0, 0, struct.pack("<IIII", 10, 5, 0, 1))[0] == errno.EBADF
    assert h.call(ADC_POLL, 0)[0] == errno.EBADF
    # Malformed: EBADMSG, and the connection stays usable.
    op, st, _, _ = h.raw(msg(GPIO_GET)[:10])
    assert st == errno.EBADMSG
    full = msg(GPIO_GET)
    op, st, _, _ = h.raw(full[:12] + struct.pack("<I", 4))
    assert (op, st) == (GPIO_GET | REPLY, errno.EBADMSG)
    op, st, _, _ = h.raw(msg(GPIO_GET, data=b"x" * 4097))
    assert st == errno.EBADMSG
    op, st, _, _ = h.raw(msg(GPIO_SET, 2))
    assert (op, st) == (GPIO_SET | REPLY, errno.EBADMSG)
    op, st, _, _ = h.raw(msg(GPIO_GET | REPLY))
    assert (op, st) == (GPIO_GET | REPLY, errno.EBADMSG)
    op, st, _, _ = h.raw(msg(GPIO_GET, status=5))
    assert st == errno.EBADMSG
    op, st, _, _ = h.raw(b"")
    assert st == errno.EBADMSG
    op, st, _, _ = h.raw(msg(99))
    assert (op, st) == (99 | REPLY, errno.EOPNOTSUPP)
    assert h.call(GPIO_SET, 1) == (0, 0, b"")
    assert sim.cli("gpio", "get", 3).stdout == "1\n"
    # SCM_RIGHTS passed to the simulator are dropped, the request served.
    h.s.sendmsg([msg(GPIO_GET)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", 0))])
    r = h.s.recv(100)
    assert HDR.unpack(r[:16])[:2] == (GPIO_GET | REPLY, 0)


def test_gpio_watch(sim):
    p = subprocess.Popen([SIM, "--dir", str(sim.dir), "gpio", "watch", "5", "--count", "3",
                          "--timeout", "10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr.readline() == "watching line 5 (value 1)\n"
    h = sim.gpio(5, OUT, 0)
    h.call(GPIO_SET, 0)  # no change: not reported
    h.call(GPIO_SET, 1)
    h.close()
    time.sleep(0.1)
    sim.cli("gpio", "set", 5, 0)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert out == "5 0\n5 1\n5 0\n"
    # Not enough changes before the timeout.
    p = sim.cli("gpio", "watch", 6, "--count", 1, "--timeout", 1, check=False)
    assert p.returncode == 1 and "timeout: 0 of 1" in p.stderr
    p = sim.cli("gpio", "watch", 6, "--timeout", 1, check=False)
    assert p.returncode == 0 and p.stdout == ""


# ---- i2c-0 and the SCD30 ----

def xfer(h, write=b"", read=0, addr=SCD30):
    return h.call(I2C_XFER, addr, read, write)


def test_scd30_datasheet_cycle(sim):
    assert crc8(b"\xbe\xef") == 0x92
    sim.cli("scd30", "set", "--co2", "439", "--temperature", "27.2", "--humidity", "48.8")
    h = sim.i2c()
    assert xfer(h, b"\xd1\x00", 3) == (0, 0, b"\x03\x42" + bytes([crc8(b"\x03\x42")]))
    # Set interval 2 s and start with ambient pressure 0: the datasheet bytes.
    assert xfer(h, b"\x46\x00\x00\x02\xe3") == (0, 0, b"")
    assert xfer(h, b"\x46\x00", 3)[2] == b"\x00\x02\xe3"
    assert xfer(h, b"\x00\x10\x00\x00\x81") == (0, 0, b"")
    assert xfer(h, b"\x02\x02", 3)[2] == b"\x00\x00\x81"
    assert sim.json("scd30", "get")["measuring"] is True
    deadline = time.monotonic() + 5
    while xfer(h, b"\x02\x02", 3)[2] != b"\x00\x01\xb0":
        assert time.monotonic() < deadline, "no data ready within the interval"
        time.sleep(0.1)
    # Write the command, then read: two transactions like the datasheet.
    assert xfer(h, b"\x03\x00") == (0, 0, b"")
    st, _, m = xfer(h, b"", 18)
    assert st == 0 and len(m) == 18
    for i in range(0, 18, 3):
        assert crc8(m[i:i + 2]) == m[i + 2]
    co2, t, rh = struct.unpack(">fff", m[0:2] + m[3:5] + m[6:8] + m[9:11] + m[12:14] + m[15:17])
    assert (co2, t, rh) == struct.unpack("<fff", struct.pack("<fff", 439.0, 27.2, 48.8))
    assert xfer(h, b"\x02\x02", 3)[2] == b"\x00\x00\x81"
    g = sim.json("scd30", "get")
    assert g["measurements_read"] == 1 and g["interval_s"] == 2
    assert g["co2"] == 439.0 and g["temperature"] == 27.2 and g["humidity"] == 48.8
    assert xfer(h, b"\x01\x04") == (0, 0, b"")
    assert sim.json("scd30", "get")["measuring"] is False
    # Configuration reaches the handle's own settings.
    assert h.call(I2C_CONFIG, 1, 100000)[0] == 0
    assert h.call(I2C_CONFIG, 2, 50)[0] == 0
    assert h.call(I2C_CONFIG, 1, 0)[0] == errno.EINVAL


def test_scd30_refusals(sim):
    h = sim.i2c()
    # No device at that address.
    assert xfer(h, b"\x00", 1, addr=0x10)[0] == errno.ENXIO
    assert xfer(h, b"", 1, addr=0x62)[0] == errno.ENXIO
    # A bad CRC: acknowledged, ignored, and the next read is NACKed.
    assert xfer(h, b"\x46\x00\x00\x05\x00") == (0, 0, b"")
    assert xfer(h, b"", 3)[0] == errno.EIO
    assert xfer(h, b"\x46\x00", 3)[2] == word(2)
    # Interval outside 2..1800: ignored like the chip; the limits work.
    for bad in (0, 1, 1801, 65535):
        assert xfer(h, b"\x46\x00" + word(bad))[0] == 0
    assert xfer(h, b"\x46\x00", 3)[2] == word(2)
    assert xfer(h, b"\x46\x00" + word(1800))[0] == 0
    assert xfer(h, b"\x46\x00", 3)[2] == word(1800)
    # Unknown command, wrong lengths, read without a command: EIO.
    assert xfer(h, b"\x12\x34")[0] == errno.EIO
    assert xfer(h, b"\x03")[0] == errno.EIO
    assert xfer(h, b"\x03\x00\x00\x00")[0] == errno.EIO
    assert xfer(h, b"", 3)[0] == errno.EIO
    # Measurement before any was made.
    assert xfer(h, b"\x03\x00", 18)[0] == errno.EIO
    # Malformed rpph: address over 7 bits, both parts empty, over 4096.
    assert h.call(I2C_XFER, 0x80, 1)[0] == errno.EBADMSG
    assert h.call(I2C_XFER, SCD30, 0)[0] == errno.EBADMSG
    assert h.call(I2C_XFER, SCD30, 4097)[0] == errno.EBADMSG
    assert h.call(I2C_CONFIG, 3, 1)[0] == errno.EBADMSG
    # Other kinds and a second OPEN.
    assert h.call(GPIO_GET)[0] == errno.EBADF
    assert h.call(SPI_CONFIG, 3, 0)[0] == errno.EBADF
    assert h.call(OPEN, K_I2C)[0] == errno.EPERM
    fresh = sim.h("i2c-0")
    assert xfer(fresh, b"\xd1\x00", 3)[0] == errno.EBADF
    assert fresh.call(OPEN, K_GPIO, 0, struct.pack("<II", 0, 0))[0] == errno.ENODEV
    # Control-side values are checked.
    for args in (("--co2", "-1"), ("--co2", "40001"), ("--temperature", "71"),
                 ("--temperature", "-40.5"), ("--humidity", "100.1"), ("--co2", "1.2345"),
                 ("--co2", "abc"), ("--co2", "1e3")):
        p = sim.cli("scd30", "set", *args, check=False)
        assert p.returncode != 0, args
    p = sim.cli("scd30", "set", check=False)
    assert p.returncode == 2
    assert sim.json("scd30", "get")["crc_errors"] == 1


def test_scd30_seeded_noise_is_deterministic():
    a, b = Sim(seed=7), Sim(seed=7)
    try:
        out = []
        for s in (a, b):
            h = s.i2c()
            assert xfer(h, b"\x00\x10\x00\x00\x81")[0] == 0
            out.append(h)
        time.sleep(2.2)
        ms = []
        for h in out:
            st, _, m = xfer(h, b"\x03\x00", 18)
            assert st == 0
            ms.append(m)
        assert ms[0] == ms[1]
        co2, t, rh = struct.unpack(">fff", ms[0][0:2] + ms[0][3:5] + ms[0][6:8] + ms[0][9:11]
                                   + ms[0][12:14] + ms[0][15:17])
        assert 398 <= co2 <= 402 and 20.9 <= t <= 21.1 and 49.8 <= rh <= 50.2
    finally:
        a.stop()
        b.stop()


# ---- spidev0.0 ----

def test_spi_loopback(sim):
    h = sim.h("spidev0.0")
    assert h.call(SPI_XFER, 0, 0, seg(2, 2))[0] == errno.EBADF
    assert h.call(OPEN, K_SPI) == (0, 0, b"")
    # Before any write: zeros.
    assert h.call(SPI_XFER, 0, 0, seg(2, 3)) == (0, 0, b"\0\0\0")
    assert h.call(SPI_XFER, 0, 0, seg(1, 4, b"ABCD") + seg(2, 2) + seg(2, 6)) == \
        (0, 0, b"AB" + b"ABCD\0\0")
    # The last write is kept for the next transfer.
    assert h.call(SPI_XFER, 0, 0, seg(2, 4)) == (0, 0, b"ABCD")
    assert h.call(SPI_XFER, 0, 0, seg(1, 1, b"z")) == (0, 0, b"")
    big = (bytes(range(256)) * 16)[:4088]  # 4096 bytes of data in all
    assert h.call(SPI_XFER, 0, 0, seg(1, 4088, big) + seg(2, 4088)) == (0, 0, big)
    # 64 segments are fine; 65, broken ones, and reads over 4096 are not.
    assert h.call(SPI_XFER, 0, 0, b"".join(seg(1, 1, b"q") if i % 2 == 0 else seg(2, 1)
                                            for i in range(64)))[2] == b"q" * 32
    assert h.call(SPI_XFER, 0, 0, seg(2, 1) * 65)[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, seg(2, 4096) + seg(2, 1))[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, seg(1, 5, b"abc"))[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, seg(3, 1))[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, seg(2, 0))[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, b"\x02\x00\x01")[0] == errno.EBADMSG
    assert h.call(SPI_XFER, 0, 0, b"")[0] == errno.EBADMSG
    # One chip select on spidev0.0.
    assert h.call(SPI_XFER, 1, 0, seg(2, 1))[0] == errno.EINVAL
    assert h.call(SPI_CONFIG, 3, 3)[0] == 0
    assert h.call(SPI_CONFIG, 4, 1)[0] == 0
    assert h.call(SPI_CONFIG, 1, 8000000)[0] == 0
    assert h.call(SPI_CONFIG, 3, 4)[0] == errno.EBADMSG
    assert h.call(SPI_CONFIG, 2, 4)[0] == errno.EBADMSG
    assert h.call(I2C_XFER, SCD30, 1)[0] == errno.EBADF
    assert h.call(OPEN, K_SPI)[0] == errno.EPERM


# ---- UARTs ----

def read_for(fd, n, timeout=3):
    out = b""
    end = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            out += os.read(fd, 4096)
    return out


def test_uarts(sim):
    fd0 = os.open(sim.dir / "uart0", os.O_RDWR | os.O_NOCTTY)
    fd1 = os.open(sim.dir / "uart1", os.O_RDWR | os.O_NOCTTY)
    try:
        data = bytes(range(256))
        os.write(fd0, data)
        assert read_for(fd0, 256) == data  # echoed, raw
        os.write(fd1, b"hello from the app\n")
        time.sleep(0.2)
        u = sim.json("status")["uart"]
        assert u["uart1"]["log"] == "hello from the app\n"
        assert u["uart1"]["rx_bytes"] == 19
        assert u["uart0"]["rx_bytes"] == 256 and u["uart0"]["tx_bytes"] == 256
        sim.cli("uart", "send", 1, "to the app")
        assert read_for(fd1, 10) == b"to the app"
        # The log keeps the last 256 bytes.
        os.write(fd1, b"x" * 300 + b"END")
        time.sleep(0.2)
        log = sim.json("status")["uart"]["uart1"]["log"]
        assert len(log) == 256 and log.endswith("xEND")
        assert sim.cli("uart", "send", 2, "x", check=False).returncode == 2
        assert sim.cli("uart", "send", 1, "", check=False).returncode == 2
    finally:
        os.close(fd0)
        os.close(fd1)


# ---- pwmchip0 and iio:device0 ----

def wait_for(path, present=True, timeout=1.0):
    end = time.monotonic() + timeout
    while path.exists() != present:
        assert time.monotonic() < end, f"{path} {'missing' if present else 'still there'}"
        time.sleep(0.02)


def test_pwm_export(sim):
    chip = sim.dir / "pwmchip0"
    assert sim.cli("pwm", "get", 1, check=False).returncode == 1
    (chip / "export").write_text("1\n")
    wait_for(chip / "pwm1")  # rampartd waits at most 1 s
    for f, v in (("period", "0\n"), ("duty_cycle", "0\n"), ("polarity", "normal\n"), ("enable", "0\n")):
        assert (chip / "pwm1" / f).read_text() == v
    assert (chip / "export").read_text() == ""
    (chip / "pwm1" / "period").write_text("1000000\n")
    (chip / "pwm1" / "duty_cycle").write_text("250000\n")
    (chip / "pwm1" / "polarity").write_text("inversed\n")
    (chip / "pwm1" / "enable").write_text("1\n")
    assert sim.json("pwm", "get", 1) == {"channel": 1, "exported": True, "period": 1000000,
                                         "duty_cycle": 250000, "enable": 1, "polarity": "inversed"}
    assert sim.json("status")["pwm"][0] == {"channel": 0, "exported": False}
    # A channel the chip does not have, and garbage, are ignored.
    (chip / "export").write_text("2\n")
    (chip / "export").write_text("../x\n")
    time.sleep(0.2)
    assert sorted(p.name for p in chip.iterdir()) == ["export", "npwm", "pwm1", "unexport"]
    (chip / "unexport").write_text("1\n")
    wait_for(chip / "pwm1", present=False)
    assert sim.cli("pwm", "get", 1, check=False).returncode == 1
    assert sim.cli("pwm", "get", 2, check=False).returncode == 2


def test_adc(sim):
    raw = sim.dir / "iio:device0" / "in_voltage3_raw"
    fd = os.open(raw, os.O_RDONLY)  # a reader keeps its fd, like sysfs
    try:
        sim.cli("adc", "set", 3, 4095)
        assert os.pread(fd, 32, 0) == b"4095\n"
        sim.cli("adc", "set", 3, 7)
        assert os.pread(fd, 32, 0) == b"7\n"
    finally:
        os.close(fd)
    assert sim.json("status")["adc"] == [2048, 2048, 2048, 7]
    assert sim.cli("adc", "set", 4, 1, check=False).returncode == 2
    assert sim.cli("adc", "set", 0, 4096, check=False).returncode == 2
    assert sim.cli("adc", "set", 0, -1, check=False).returncode == 2


# ---- control socket and the command line ----

def ctl(sim, data, timeout=3):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(str(sim.dir / "control"))
    c.sendall(data)
    out = b""
    try:
        while not out.endswith(b"\n") or out.count(b"\n") < data.count(b"\n"):
            r = c.recv(65536)
            if not r:
                break
            out += r
    except socket.timeout:
        pass
    c.close()
    return out


def test_control_refusals(sim):
    assert ctl(sim, b"gpio get 1\n") == b"ok 1\n"
    assert ctl(sim, b"status\nstatus extra\n").split(b"\n")[1] == b"error unknown request (gpio, scd30, pwm, adc, uart, status)"
    for bad in (b"gpio get 16\n", b"gpio get -1\n", b"gpio get 01\n", b"gpio set 1 2\n",
                b"nonsense\n", b"\n", b"gpio\n", b"a b c d e f g h i j\n", b"scd30 set co2\n",
                b"scd30 set volume=3\n", b"uart send 1 zz\n", b"uart send 1 abc\n",
                b"adc set 1 99999\n", b"pwm get 0\n", b"gpio get 1\x00\n"):
        r = ctl(sim, bad)
        assert r.startswith(b"error "), (bad, r)
    # An over-long line: the connection is dropped, the simulator lives on.
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(str(sim.dir / "control"))
    try:
        c.sendall(b"x" * 100000)
    except OSError:
        pass
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()
    assert sim.cli("gpio", "get", 1).stdout == "1\n"
    # The command line refuses before asking.
    for args in (("gpio", "get", "16"), ("gpio", "set", "1"), ("gpio", "set", "1", "x"),
                 ("bogus",), ("gpio", "get", "1", "--co2", "5"), ("status", "--dir")):
        p = sim.cli(*args, check=False)
        assert p.returncode == 2, args
    p = subprocess.run([SIM, "--dir", "/nonexistent/sim", "status"], capture_output=True, text=True)
    assert p.returncode == 1 and "is `rampart-sim serve" in p.stderr


def test_flooding_client_is_served_fairly(sim):
    flood = sim.gpio(8, OUT, 0)
    flood.s.setblocking(False)
    sent = 0
    req = msg(GPIO_GET)
    try:
        while sent < 20000:
            flood.s.send(req)
            sent += 1
    except BlockingIOError:
        pass
    assert sent > 100
    # Another client is answered promptly while the flood waits.
    other = sim.gpio(9, OUT, 1)
    t0 = time.monotonic()
    for _ in range(20):
        assert other.call(GPIO_GET) == (0, 1, b"")
    assert time.monotonic() - t0 < 2
    # Every flooded request gets its reply, in order, once read.
    flood.s.setblocking(True)
    flood.s.settimeout(5)
    for _ in range(sent):
        r = flood.s.recv(100)
        assert HDR.unpack(r[:16]) == (GPIO_GET | REPLY, 0, 0, 0, 0)
    flood.close()
    other.close()


def test_connection_cap(sim):
    hs = [sim.h("spidev0.0") for _ in range(64)]
    for h in hs:  # answered: each one is accepted and counted
        assert h.call(OPEN, K_SPI)[0] == 0
    extra = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    extra.connect(str(sim.dir / "gpiochip0"))
    extra.settimeout(5)
    try:
        extra.send(msg(GPIO_GET))
        assert extra.recv(100) == b""  # closed by the simulator
    except (ConnectionResetError, BrokenPipeError):
        pass
    extra.close()
    for h in hs:
        h.close()
    time.sleep(0.2)
    st = sim.json("status")
    assert st["refused_connections"] >= 1
    assert st["connections"] == 1  # the status request itself
    h = sim.gpio(1)
    h.close()


def test_watcher_that_stops_reading_is_dropped(sim):
    w = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    w.connect(str(sim.dir / "control"))
    w.sendall(b"gpio watch 5\n")
    time.sleep(0.1)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(str(sim.dir / "control"))
    c.setblocking(False)
    reqs = b"".join(b"gpio set 5 %d\n" % (i % 2) for i in range(150000))
    sent, end = 0, time.monotonic() + 30
    while sent < len(reqs):
        assert time.monotonic() < end
        try:
            sent += c.send(reqs[sent:sent + 65536])
        except BlockingIOError:
            pass
        try:
            while c.recv(65536):
                pass
        except BlockingIOError:
            pass
    time.sleep(0.3)
    st = sim.json("status")
    assert st["connections"] == 2  # the setter and this status request
    w.settimeout(5)
    got = b""
    while True:
        r = w.recv(65536)
        if not r:
            break
        got += r
    assert got.startswith(b"ok 1\n5 0\n5 1\n") and len(got) < 1024 * 1024
    w.close()
    c.close()
