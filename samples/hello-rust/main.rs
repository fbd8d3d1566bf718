//! hello-rust: a Rampart app written in Rust, with the standard library
//! only (no crates), calling the applibs C API through FFI. It is packed,
//! signed, sideloaded and run exactly like the C samples: rampartd does
//! not know or care which language an app's ELF came from.
//!
//! It logs a greeting, counts its runs in its mutable storage, blinks
//! SAMPLE_RGBLED_GREEN three times, shows that a GPIO its manifest does not
//! grant is refused (EACCES, through errno like any C caller sees it), then
//! idles until SIGTERM.
//!
//! Builds with the Rust of Debian 12 (1.63) and later.

use std::ffi::CString;
use std::fs::File;
use std::io::{Error, Read, Seek, SeekFrom, Write};
use std::os::raw::{c_char, c_int};
use std::os::unix::io::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::Duration;

// The applibs functions this app uses (sdk/include/applibs/*.h).
type GpioId = c_int;
type GpioValueType = u8;
type GpioOutputModeType = u8;
const GPIO_VALUE_LOW: GpioValueType = 0;
const GPIO_VALUE_HIGH: GpioValueType = 1;
const GPIO_OUTPUT_MODE_PUSH_PULL: GpioOutputModeType = 0;

extern "C" {
    fn Log_Debug(fmt: *const c_char, ...) -> c_int;
    fn GPIO_OpenAsOutput(id: GpioId, mode: GpioOutputModeType, value: GpioValueType) -> c_int;
    fn GPIO_SetValue(fd: c_int, value: GpioValueType) -> c_int;
    fn Storage_OpenMutableFile() -> c_int;
    // From the C library, for the SIGTERM handler.
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
}

// The values `rampart board generate-header` writes into
// hw/sample_appliance.h for the simulated board (SIM_GPIO4 and SIM_GPIO2).
const SAMPLE_RGBLED_GREEN: GpioId = 4;
const SAMPLE_LED: GpioId = 2;
const SIGTERM: c_int = 15;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_signum: c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn log(msg: &str) {
    // A message with a NUL byte cannot be a C string: log what precedes it.
    let text = CString::new(msg.split('\0').next().unwrap_or("")).unwrap_or_default();
    unsafe {
        Log_Debug(b"%s\n\0".as_ptr() as *const c_char, text.as_ptr());
    }
}

/// The number of this run: the stored count plus one, written back.
fn count_runs() -> Result<u64, Error> {
    let fd = unsafe { Storage_OpenMutableFile() };
    if fd < 0 {
        return Err(Error::last_os_error());
    }
    // The File owns the descriptor from here on and closes it.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut text = String::new();
    (&mut file).take(32).read_to_string(&mut text)?;
    let previous: u64 = text.trim().parse().unwrap_or(0);
    let runs = previous.saturating_add(1);
    file.seek(SeekFrom::Start(0))?;
    file.set_len(0)?;
    file.write_all(format!("{}\n", runs).as_bytes())?;
    file.sync_all()?;
    Ok(runs)
}

fn blink(times: u32) -> Result<(), Error> {
    let fd = unsafe {
        GPIO_OpenAsOutput(SAMPLE_RGBLED_GREEN, GPIO_OUTPUT_MODE_PUSH_PULL, GPIO_VALUE_LOW)
    };
    if fd < 0 {
        return Err(Error::last_os_error());
    }
    let led = unsafe { File::from_raw_fd(fd) };
    for i in 1..=times {
        for value in [GPIO_VALUE_HIGH, GPIO_VALUE_LOW] {
            if unsafe { GPIO_SetValue(fd, value) } != 0 {
                return Err(Error::last_os_error());
            }
            sleep(Duration::from_millis(200));
        }
        log(&format!("hello-rust: blink {} of {}", i, times));
    }
    drop(led);
    Ok(())
}

fn main() {
    unsafe {
        signal(SIGTERM, on_sigterm);
    }
    log("hello-rust: hello from Rust, through applibs");
    match count_runs() {
        Ok(n) => log(&format!("hello-rust: run number {} (counted in mutable storage)", n)),
        Err(e) => log(&format!("hello-rust: no mutable storage: {}", e)),
    }
    if let Err(e) = blink(3) {
        log(&format!("hello-rust: SAMPLE_RGBLED_GREEN: {}", e));
    }
    // Not in this app's manifest: the SDK refuses it.
    let fd = unsafe { GPIO_OpenAsOutput(SAMPLE_LED, GPIO_OUTPUT_MODE_PUSH_PULL, GPIO_VALUE_LOW) };
    if fd < 0 {
        log(&format!("hello-rust: SAMPLE_LED refused as it must be: {}", Error::last_os_error()));
    } else {
        log("hello-rust: SAMPLE_LED opened although the manifest does not grant it");
        drop(unsafe { File::from_raw_fd(fd) });
    }
    log("hello-rust: idle until SIGTERM");
    while !STOP.load(Ordering::SeqCst) {
        sleep(Duration::from_millis(100));
    }
    log("hello-rust: exiting");
}
