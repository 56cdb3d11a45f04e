//! Runs one benchmark: a fresh image, one QEMU with the benchmark's command, the guest's
//! output collected with the host time each line arrived, and the `bench` lines parsed into
//! [`Row`]s. It decides nothing about what the figures mean.

use crate::Spec;
use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};
use vmos::build::Artifacts;
use vmos::image::ImageSize;
use vmos::qemu::{Guest, Machine};

/// A value on a result line: a number, or a word.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(u64),
    Word(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Word(w) => f.write_str(w),
        }
    }
}

/// One result line: `bench NAME key=value ...`.
#[derive(Clone, Debug)]
pub struct Row {
    /// The NAME (`fault`, `mkfile`, ...).
    pub bench: String,
    /// The pairs, in the order printed.
    pub fields: Vec<(String, Value)>,
    /// Host seconds between the guest's previous output line and this one.
    pub wall: f64,
}

impl Row {
    /// The number under `key`.
    pub fn num(&self, key: &str) -> Option<u64> {
        self.fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| match v {
            Value::Int(n) => Some(*n),
            Value::Word(_) => None,
        })
    }

    /// The word under `key`.
    pub fn word(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| match v {
            Value::Word(w) => Some(w.as_str()),
            Value::Int(_) => None,
        })
    }

    /// Guest instructions per operation: (`time` − `idle`) units × 100 / `ops` (idle time,
    /// the hart waiting in `wfi` for the disk, advances the clock at host speed under
    /// `-icount` and is not guest work).
    pub fn insns_per_op(&self) -> Option<f64> {
        let (time, ops) = (self.num("time")?, self.num("ops")?);
        let busy = time.saturating_sub(self.num("idle").unwrap_or(0));
        (ops > 0).then(|| busy as f64 * 100.0 / ops as f64)
    }
}

/// What one benchmark's run gave.
pub struct RunResult {
    pub spec: &'static Spec,
    /// The QEMU command line, paths relative to the repository.
    pub qemu: String,
    /// Host seconds from starting QEMU to its exit.
    pub wall: f64,
    /// QEMU's exit code (the command's status); `None` when it was killed.
    pub exit: Option<i32>,
    pub rows: Vec<Row>,
    /// What went wrong or is worth knowing, one sentence each.
    pub notes: Vec<String>,
}

/// Splits the output into complete lines as it grows, stamping each with the host time since
/// the previous one.
struct LineClock {
    consumed: usize,
    last: Instant,
    lines: Vec<(String, f64)>,
}

impl LineClock {
    fn observe(&mut self, out: &str, now: Instant, final_part: bool) {
        let Some(rest) = out.get(self.consumed..) else { return };
        let mut complete = rest.len();
        if !final_part {
            complete = rest.rfind('\n').map_or(0, |i| i + 1);
        }
        for line in rest[..complete].lines() {
            let line = line.trim_end_matches('\r').to_string();
            self.lines.push((line, now.duration_since(self.last).as_secs_f64()));
            self.last = now;
        }
        self.consumed += complete;
    }
}

/// Parses `bench NAME key=value ...`; `None` for any other line.
pub fn parse_line(line: &str) -> Option<(String, Vec<(String, Value)>)> {
    let mut words = line.trim().strip_prefix("bench ")?.split_whitespace();
    let name = words.next()?.to_string();
    let mut fields = Vec::new();
    for w in words {
        let (k, v) = w.split_once('=')?;
        let v = v.parse().map(Value::Int).unwrap_or_else(|_| Value::Word(v.to_string()));
        fields.push((k.to_string(), v));
    }
    Some((name, fields))
}

/// Boots `spec` on a fresh image under `out` and collects its results.
pub fn run(spec: &'static Spec, root: &Path, artifacts: &Artifacts, out: &Path) -> Result<RunResult, String> {
    let image = out.join(format!("{}.img", spec.name));
    let mut size = ImageSize::default();
    if spec.image_mib > 0 {
        size.blocks = spec.image_mib * 1024;
    }
    vmos::image::make_image(root, artifacts, &[], &image, size).map_err(|e| e.to_string())?;
    let mut machine = Machine::new(artifacts.kernel.clone(), image.clone());
    machine.smp = spec.smp;
    machine.append = Some(spec.command.to_string());
    if spec.counted {
        machine.extra = vec!["-icount".into(), "shift=0".into()];
    }

    let start = Instant::now();
    let mut guest = Guest::start(&machine, false).map_err(|e| e.to_string())?;
    let clock = RefCell::new(LineClock { consumed: 0, last: start, lines: Vec::new() });
    let deadline = start + spec.timeout;
    while guest.running() && Instant::now() < deadline {
        guest.wait_for(Duration::from_millis(500), |text| {
            clock.borrow_mut().observe(text, Instant::now(), false);
            false
        });
    }
    let outcome = guest.finish(Some(Duration::ZERO)).map_err(|e| e.to_string())?;
    let wall = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&image);
    let mut clock = clock.into_inner();
    clock.observe(&outcome.output, Instant::now(), true);

    let mut result = RunResult {
        spec,
        qemu: machine.command_line().replace(&format!("{}/", root.display()), ""),
        wall,
        exit: outcome.code,
        rows: Vec::new(),
        notes: Vec::new(),
    };
    for (line, wall) in &clock.lines {
        if let Some((bench, fields)) = parse_line(line) {
            result.rows.push(Row { bench, fields, wall: *wall });
        } else if line.starts_with("bench_") && line.contains(": ") {
            result.notes.push(format!("the guest said: {line}"));
        }
    }
    if spec.name == "usertests" {
        result.rows.push(suite_row(&clock.lines, spec.smp, wall));
    }
    if outcome.timed_out {
        result.notes.push(format!("QEMU was killed after {} s", spec.timeout.as_secs()));
    } else if outcome.code != Some(0) {
        result.notes.push(format!("the command exited with status {:?}", outcome.code));
    }
    if result.rows.is_empty() {
        let tail: Vec<&str> = clock.lines.iter().rev().take(15).map(|(l, _)| l.as_str()).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        result.notes.push(format!("no result line; the output ended with:\n{}", tail.join("\n")));
    }
    Ok(result)
}

/// The row of a test-suite run: its case counts and wall time.
fn suite_row(lines: &[(String, f64)], smp: u32, wall: f64) -> Row {
    let verdicts: Vec<bool> = lines
        .iter()
        .filter_map(|(l, _)| {
            let (_, verdict) = l.trim().strip_prefix("test ")?.rsplit_once(": ")?;
            match verdict {
                "OK" => Some(true),
                "FAILED" => Some(false),
                _ => None,
            }
        })
        .collect();
    let passed = verdicts.iter().filter(|&&ok| ok).count() as u64;
    let fields = vec![
        ("smp".to_string(), Value::Int(smp.into())),
        ("cases".to_string(), Value::Int(verdicts.len() as u64)),
        ("passed".to_string(), Value::Int(passed)),
    ];
    Row { bench: "usertests".into(), fields, wall }
}
