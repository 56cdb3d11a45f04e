//! Describes where the figures were taken: the date, the QEMU version, the host's processor,
//! core count and load, and the commit the tree was at. Read-only: it runs
//! `qemu-system-riscv64 --version` and `git rev-parse`, and reads /proc.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The circumstances of one benchmark run.
pub struct System {
    /// `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// The first line of `qemu-system-riscv64 --version`.
    pub qemu: String,
    /// The host processor's model name.
    pub cpu: String,
    /// Host cores available to this process.
    pub cores: usize,
    /// The host's 1, 5 and 15 minute load averages when the run started.
    pub load: String,
    /// `git rev-parse --short HEAD`; the tree may hold uncommitted changes.
    pub commit: String,
}

/// Describes this host now.
pub fn describe(root: &Path) -> System {
    let unknown = || "unknown".to_string();
    let output = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(|l| l.trim().to_string()))
    };
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(unknown);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| unknown());
    System {
        date: utc_now(),
        qemu: output(Command::new(vmos::tools::QEMU).arg("--version")).unwrap_or_else(unknown),
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load,
        commit: output(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root))
            .unwrap_or_else(unknown),
    }
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// The proleptic Gregorian date of the day `days` after 1970-01-01 (the usual era-based
/// conversion: 400-year eras of 146,097 days, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
