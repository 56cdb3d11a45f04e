//! Shared helpers of the QEMU integration tests: build the kernel and the user programs once
//! per test binary, give each QEMU its own fresh image, run a command through the `--run`
//! protocol with a timeout, and never run more than two QEMUs at once (the machine has two
//! cores).
//!
//! Everything here goes through the runner's library, so the tests boot exactly what
//! `cargo run` boots. Helpers panic with the guest's output on failure: that is the test
//! report.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;
use vmos::build::Artifacts;
use vmos::image::ImageSize;
use vmos::qemu::{Guest, Machine};

/// Default timeout for one `--run` command.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// Most QEMUs alive at once in one test binary.
const MAX_QEMUS: usize = 2;

/// The built kernel and programs; built on first use, once per test binary.
///
/// # Panics
/// When the tools are missing or a build fails, with the reason.
pub fn artifacts() -> &'static Artifacts {
    static BUILT: OnceLock<Result<Artifacts, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = vmos::repo_root();
        vmos::tools::check_all(&root).map_err(|e| e.to_string())?;
        vmos::build::build_all(&root, true, false).map_err(|e| e.to_string())
    });
    match built {
        Ok(a) => a,
        Err(msg) => panic!("cannot build the system under test:\n{msg}"),
    }
}

/// A counting semaphore of QEMU slots.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

static SLOTS: Slots = Slots { free: Mutex::new(MAX_QEMUS), freed: Condvar::new() };

/// Holds one QEMU slot until dropped.
pub struct SlotGuard(());

/// Waits for a free QEMU slot.
pub fn qemu_slot() -> SlotGuard {
    // A test that panicked while holding the lock leaves the count intact: keep going.
    let mut free = SLOTS.free.lock().unwrap_or_else(|e| e.into_inner());
    while *free == 0 {
        free = SLOTS.freed.wait(free).unwrap_or_else(|e| e.into_inner());
    }
    *free -= 1;
    SlotGuard(())
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        *SLOTS.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        SLOTS.freed.notify_one();
    }
}

/// A fresh image for one QEMU, deleted when dropped.
pub struct TempImage {
    pub path: PathBuf,
}

impl TempImage {
    /// Builds an image with README, the programs and `extra` under a unique name in cargo's
    /// temporary directory for integration tests.
    pub fn new(extra: &[PathBuf]) -> TempImage {
        TempImage::with_size(extra, ImageSize::default())
    }

    /// [`TempImage::new`] with a size other than the default (sparse on the host).
    pub fn with_size(extra: &[PathBuf], size: ImageSize) -> TempImage {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fs-{}-{n}.img", std::process::id()));
        let root = vmos::repo_root();
        vmos::image::make_image(&root, artifacts(), extra, &path, size).unwrap_or_else(|e| panic!("{e}"));
        TempImage { path }
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How to run one command.
#[derive(Clone, Debug)]
pub struct Run {
    pub command: String,
    pub smp: u32,
    pub mem: String,
    pub timeout: Duration,
    pub extra: Vec<PathBuf>,
    /// The image's size and inode count.
    pub image: ImageSize,
}

impl Run {
    /// `command` with the runner's defaults (3 harts, 128M) and [`TIMEOUT`].
    pub fn new(command: &str) -> Run {
        Run {
            command: command.to_string(),
            smp: 3,
            mem: "128M".into(),
            timeout: TIMEOUT,
            extra: Vec::new(),
            image: ImageSize::default(),
        }
    }

    pub fn smp(mut self, n: u32) -> Run {
        self.smp = n;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Run {
        self.timeout = t;
        self
    }

    pub fn add(mut self, path: PathBuf) -> Run {
        self.extra.push(path);
        self
    }

    /// Boots a fresh image, runs the command, and returns (QEMU's exit code, output with
    /// carriage returns removed).
    ///
    /// # Panics
    /// When QEMU cannot start, is killed by a signal, or the timeout expires.
    pub fn go(&self) -> (i32, String) {
        let kernel = artifacts().kernel.clone();
        let image = TempImage::with_size(&self.extra, self.image);
        let mut machine = Machine::new(kernel, image.path.clone());
        machine.smp = self.smp;
        machine.mem = self.mem.clone();
        machine.append = Some(self.command.clone());
        let _slot = qemu_slot();
        let outcome = Guest::start(&machine, false)
            .and_then(|g| g.finish(Some(self.timeout)))
            .unwrap_or_else(|e| panic!("{e}"));
        let output = outcome.output.replace('\r', "");
        if outcome.timed_out {
            panic!(
                "`{}` (smp {}) did not finish within {} s; output:\n{output}",
                self.command,
                self.smp,
                self.timeout.as_secs()
            );
        }
        let code = outcome.code.unwrap_or_else(|| {
            panic!("QEMU died from a signal running `{}`; output:\n{output}", self.command)
        });
        (code, output)
    }
}

/// Runs `command` with the defaults; see [`Run::go`].
pub fn run(command: &str) -> (i32, String) {
    Run::new(command).go()
}

/// Runs `command` and checks that it exited 0; returns the output.
pub fn run_ok(command: &str) -> String {
    let (code, out) = run(command);
    assert_eq!(code, 0, "`{command}` exited with {code}; output:\n{out}");
    out
}

/// Whether `out` has a line that is exactly `line` (ignoring trailing spaces).
pub fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l.trim_end() == line)
}

/// The lines of `out` from the first one equal to `first` (trailing spaces ignored) on.
pub fn lines_from<'a>(out: &'a str, first: &str) -> Vec<&'a str> {
    out.lines().map(str::trim_end).skip_while(|l| *l != first).collect()
}

/// An interactive guest (console on a pipe) with its own image and QEMU slot. Dropping it
/// kills QEMU first, then frees the image and the slot.
pub struct Console {
    pub guest: Guest,
    _image: TempImage,
    _slot: SlotGuard,
}

/// Starts an interactive guest on a fresh image (no `-append`: init starts the shell).
pub fn interactive() -> Console {
    let image = TempImage::new(&[]);
    let machine = Machine::new(artifacts().kernel.clone(), image.path.clone());
    let slot = qemu_slot();
    let guest = Guest::interactive(&machine, false).unwrap_or_else(|e| panic!("{e}"));
    Console { guest, _image: image, _slot: slot }
}

/// The repository's README.md, as the guest's `README` holds it.
pub fn readme() -> String {
    std::fs::read_to_string(vmos::repo_root().join("README.md")).expect("README.md")
}

/// One `test NAME: OK|FAILED` line of a guest test suite.
#[derive(Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
}

/// The case results a suite printed, in order.
pub fn parse_cases(out: &str) -> Vec<CaseResult> {
    out.lines()
        .filter_map(|l| {
            let (name, verdict) = l.trim().strip_prefix("test ")?.rsplit_once(": ")?;
            let passed = match verdict {
                "OK" => true,
                "FAILED" => false,
                _ => return None,
            };
            Some(CaseResult { name: name.to_string(), passed })
        })
        .collect()
}

/// Runs the guest test suite `program` on `smp` harts and fails, naming every failed case,
/// when a case failed, when no case ran, or when the suite's exit status is not 0.
pub fn run_suite(program: &str, smp: u32, timeout: Duration) {
    let (code, out) = Run::new(program).smp(smp).timeout(timeout).go();
    let cases = parse_cases(&out);
    let failed: Vec<&str> = cases.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
    assert!(
        failed.is_empty(),
        "{program} (smp {smp}): {} of {} cases FAILED: {}\noutput:\n{out}",
        failed.len(),
        cases.len(),
        failed.join(", ")
    );
    assert!(!cases.is_empty(), "{program} (smp {smp}) ran no test case (exit {code}); output:\n{out}");
    assert_eq!(
        code,
        0,
        "{program} (smp {smp}): all {} cases passed but it exited with {code}; output:\n{out}",
        cases.len()
    );
}
