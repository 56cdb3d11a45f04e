//! Crash consistency: boot the `crashwork` workload on an image, kill QEMU at a chosen moment,
//! boot the same image again (log replay and orphan clean-up at mount), then check the image
//! on the host with `mkfs::check_fs` (consistent, no orphan, no leaked block) and against the
//! workload's output (every completed operation present with its exact content, nothing
//! under /cw but pattern data).
//!
//! A crash point is (seed, lines, delay): the kill comes `delay` ms after the workload printed
//! `lines` protocol lines; odd seeds also kill the second boot shortly after it starts (a
//! crash during the clean-up at mount) and boot a third time. Seeds are deterministic; the
//! moment of a kill is not, so a point checks behaviour, never timing.
//!
//! Environment: `CRASH_POINTS=N` (default 20) points from `CRASH_SEED` (default 1) on;
//! `CRASH_LINE=K` kills after exactly K lines and `CRASH_DELAY_MAX=MS` bounds the delay
//! (default 300), for sweeping one window. Failing images are kept under target/tmp/.

mod common;

use common::{artifacts, qemu_slot, TempImage};
use fsformat::{BSIZE, T_DIR, T_FILE};
use mkfs::ImageReader;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use vmos::qemu::{Guest, Machine};

/// Rounds of the workload per crash point (two take about 20 s to run through).
const ROUNDS: u32 = 2;
/// Protocol lines (`begin`/`ok`) a complete two-round run prints, plus a few so that some
/// points let the workload finish.
const LINES: u64 = 125;

/// The FNV-1a hash of a path; the same as crashwork's.
fn seed_of(path: &str) -> u32 {
    path.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Byte `off` of a file whose seed is `seed`; the same as crashwork's.
fn pattern(seed: u32, off: usize) -> u8 {
    let mut x = seed ^ ((off / 4) as u32).wrapping_mul(0x9e37_79b9);
    x ^= x >> 15;
    x = x.wrapping_mul(0x2c1b_3c6d);
    x ^= x >> 12;
    (x >> (8 * (off % 4))) as u8
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// What a completed operation left at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    File(usize),
    Dir,
    Gone,
}

/// The state every completed operation promises, from the workload's complete output lines.
/// A path whose last line is a `begin` (an operation in progress at the crash) promises
/// nothing.
fn expectations(output: &str) -> BTreeMap<String, State> {
    let mut expect = BTreeMap::new();
    let complete = &output[..output.rfind('\n').map_or(0, |i| i + 1)];
    for line in complete.lines().map(str::trim_end) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["begin", path] => {
                expect.remove(*path);
            }
            ["ok", "file", path, size] => {
                if let Ok(size) = size.parse() {
                    expect.insert(path.to_string(), State::File(size));
                }
            }
            ["ok", "dir", path] => {
                expect.insert(path.to_string(), State::Dir);
            }
            ["ok", "gone", path] => {
                expect.insert(path.to_string(), State::Gone);
            }
            _ => {}
        }
    }
    expect
}

fn protocol_lines(output: &str) -> u64 {
    output.lines().filter(|l| l.starts_with("begin ") || l.starts_with("ok ")).count() as u64
}

/// Checks a file's content: every 1 KiB block its pattern; blocks of `m*` files (filled
/// through a mapping after being written as zeros) may still be zeros.
fn content_problem(path: &str, data: &[u8]) -> Option<String> {
    let s = seed_of(path);
    let zeros_ok = path.rsplit('/').next().is_some_and(|n| n.starts_with('m'));
    for (k, block) in data.chunks(BSIZE).enumerate() {
        let exact = block.iter().enumerate().all(|(i, &b)| b == pattern(s, k * BSIZE + i));
        let zeros = zeros_ok && block.iter().all(|&b| b == 0);
        if !exact && !zeros {
            return Some(format!("{path}: block {k} holds neither its pattern nor (allowed) zeros"));
        }
    }
    None
}

/// Compares the image with the promises and looks for garbage under /cw.
fn verify(image: &Path, expect: &BTreeMap<String, State>) -> Vec<String> {
    let mut errors = Vec::new();
    let mut img = ImageReader::open(image).expect("open the image");
    for (path, state) in expect {
        let found = img.lookup(path).expect("lookup");
        let inode = found.map(|i| img.inode(i).expect("inode"));
        match (state, inode) {
            (State::Gone, None) => {}
            (State::Gone, Some(_)) => errors.push(format!("{path}: removed, but still there")),
            (State::Dir, Some(di)) if di.typ == T_DIR => {}
            (State::File(size), Some(di)) if di.typ == T_FILE => {
                let data = img.contents(&di).expect("contents");
                if data.len() != *size {
                    errors.push(format!("{path}: size {} instead of {size}", data.len()));
                } else if let Some(e) = content_problem(path, &data) {
                    errors.push(e);
                } else if path.rsplit('/').next().is_some_and(|n| n.starts_with('m'))
                    && data.iter().enumerate().any(|(i, &b)| b != pattern(seed_of(path), i))
                {
                    errors.push(format!("{path}: written back through the mapping, but zeros remain"));
                }
            }
            (state, inode) => errors.push(format!("{path}: expected {state:?}, found {inode:?}")),
        }
    }
    if let Some(files) = img.files_under("/cw").expect("walk /cw") {
        for (path, inum) in files {
            let di = img.inode(inum).expect("inode");
            let data = img.contents(&di).expect("contents");
            errors.extend(content_problem(&path, &data));
        }
    }
    errors
}

/// Boots `image` running `command`. With `kill_at` = (lines, delay), kills QEMU `delay` ms
/// after the output holds `lines` protocol lines (or as soon as it exits by itself).
/// Returns the output and whether QEMU was killed.
fn boot(image: &Path, command: &str, kill_at: Option<(u64, u64)>) -> (String, bool) {
    let mut machine = Machine::new(artifacts().kernel.clone(), image.to_path_buf());
    machine.append = Some(command.to_string());
    let _slot = qemu_slot();
    let mut guest = Guest::start(&machine, false).unwrap_or_else(|e| panic!("{e}"));
    match kill_at {
        Some((lines, delay)) => {
            guest.wait_for(Duration::from_secs(300), |out| protocol_lines(out) >= lines);
            std::thread::sleep(Duration::from_millis(delay));
            let killed = guest.running();
            (guest.kill().replace('\r', ""), killed)
        }
        None => {
            let outcome = guest.finish(Some(Duration::from_secs(300))).unwrap_or_else(|e| panic!("{e}"));
            (outcome.output.replace('\r', ""), outcome.timed_out)
        }
    }
}

/// Runs one crash point; returns a description of each failure (none: passed) and a summary.
fn crash_point(seed: u64) -> (Vec<String>, String, TempImage) {
    let mut rng = Rng(seed);
    let lines = env_u64("CRASH_LINE").unwrap_or_else(|| rng.below(LINES));
    let delay = rng.below(env_u64("CRASH_DELAY_MAX").unwrap_or(300) + 1);
    let image = TempImage::new(&[]);
    let (work, killed) = boot(&image.path, &format!("crashwork {ROUNDS}"), Some((lines, delay)));
    let mut failures = Vec::new();
    if !killed && !work.contains("crashwork done") {
        failures.push(format!("the workload failed before the crash:\n{work}"));
    }
    let expect = expectations(&work);
    let mut summary =
        format!("seed {seed}: kill after {lines} lines + {delay} ms ({} promises)", expect.len());
    if seed % 2 == 1 {
        let mount_delay = rng.below(1500);
        let (out, killed) = boot(&image.path, "echo up", Some((0, mount_delay)));
        summary += &format!(
            ", 2nd boot killed after {mount_delay} ms{}",
            if killed { "" } else { " (had finished)" }
        );
        let _ = out;
    }
    let (out, _) = boot(&image.path, "echo rebooted", None);
    if !out.lines().any(|l| l.trim_end() == "rebooted") {
        failures.push(format!("the reboot did not run its command:\n{out}"));
    }
    for l in out.lines().filter(|l| l.starts_with("fs: ")) {
        summary += &format!("; {l}");
    }
    match mkfs::check_fs(&image.path) {
        Ok(report) if report.is_clean() => {}
        Ok(report) => failures.push(format!("check_fs: {report}")),
        Err(e) => failures.push(format!("check_fs: {e}")),
    }
    failures.extend(verify(&image.path, &expect));
    (failures, summary, image)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn crash_points() {
    let points = env_u64("CRASH_POINTS").unwrap_or(20);
    let first = env_u64("CRASH_SEED").unwrap_or(1);
    artifacts();
    let next = AtomicU64::new(first);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= first + points {
                    return;
                }
                let (failures, summary, image) = crash_point(seed);
                if failures.is_empty() {
                    eprintln!("ok   {summary}");
                } else {
                    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-fail-{seed}.img"));
                    let _ = std::fs::copy(&image.path, &kept);
                    eprintln!(
                        "FAIL {summary} (image kept at {})\n  {}",
                        kept.display(),
                        failures.join("\n  ")
                    );
                    failed.lock().unwrap().push(format!("{summary}:\n  {}", failures.join("\n  ")));
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(failed.is_empty(), "{} of {points} crash points failed:\n{}", failed.len(), failed.join("\n"));
}
