//! The human-readable results: a table per result-line name, printed on the console after
//! each run and gathered into benchmarks.md with the circumstances of the run and the charts.
//! Figures are shown as measured (plus instructions per operation); nothing is judged here.

use crate::charts::Chart;
use crate::run::{Row, RunResult};
use crate::system::System;
use std::fmt::Write;

/// A table of strings: a header row and body rows of the same width.
pub struct Table {
    pub head: Vec<String>,
    pub body: Vec<Vec<String>>,
}

/// `x` with a `,` between groups of three digits.
fn grouped(x: u64) -> String {
    let digits = x.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Instructions per operation, rounded to what the clock resolves (100 instructions per unit).
pub fn fmt_insns(x: f64) -> String {
    if x >= 100.0 {
        grouped(x.round() as u64)
    } else {
        format!("{x:.1}")
    }
}

/// The tables of one run: one per result-line name, in order of first appearance. Columns
/// are the keys in the order printed, `insns/op` after `time` (for instruction-counted runs
/// only), and `wall s` last.
pub fn tables(rows: &[Row], counted: bool) -> Vec<(String, Table)> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.bench.as_str()) {
            names.push(&r.bench);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let group: Vec<&Row> = rows.iter().filter(|r| r.bench == name).collect();
            let mut keys: Vec<&str> = Vec::new();
            for r in &group {
                for (k, _) in &r.fields {
                    if !keys.contains(&k.as_str()) {
                        keys.push(k);
                    }
                }
            }
            let has_insns = counted && group.iter().any(|r| r.insns_per_op().is_some());
            let mut head: Vec<String> = Vec::new();
            for k in &keys {
                head.push(k.to_string());
                if *k == "time" && has_insns {
                    head.push("insns/op".into());
                }
            }
            head.push("wall s".into());
            let body = group
                .iter()
                .map(|r| {
                    let mut cells = Vec::new();
                    for k in &keys {
                        let cell = r.fields.iter().find(|(f, _)| f == k);
                        cells.push(cell.map_or(String::new(), |(_, v)| v.to_string()));
                        if *k == "time" && has_insns {
                            cells.push(r.insns_per_op().map_or(String::new(), fmt_insns));
                        }
                    }
                    cells.push(format!("{:.2}", r.wall));
                    cells
                })
                .collect();
            (name.to_string(), Table { head, body })
        })
        .collect()
}

/// Whether a cell is right-aligned: numbers are.
fn numeric(cell: &str) -> bool {
    !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
}

/// The table with aligned columns, for a terminal.
fn aligned(t: &Table) -> String {
    let widths: Vec<usize> = (0..t.head.len())
        .map(|i| t.body.iter().map(|r| r[i].len()).chain([t.head[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| if numeric(c) { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        format!("  {}\n", parts.join("  ").trim_end())
    };
    let mut out = line(&t.head);
    for r in &t.body {
        out.push_str(&line(r));
    }
    out
}

/// The table in Markdown.
fn markdown_table(t: &Table) -> String {
    let mut out = format!("| {} |\n", t.head.join(" | "));
    let rule: Vec<&str> = (0..t.head.len())
        .map(|i| if t.body.iter().any(|r| numeric(&r[i])) { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for r in &t.body {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out
}

/// How a run ended, in a few words.
fn ending(r: &RunResult) -> String {
    let exit = match r.exit {
        Some(c) => format!("exit {c}"),
        None => "killed".into(),
    };
    format!("{:.1} s wall, {exit}", r.wall)
}

/// One run's results for the console.
pub fn console(r: &RunResult) -> String {
    let mut out = format!("\n== {}: {} ({})\n", r.spec.name, r.spec.title, ending(r));
    for (_, t) in tables(&r.rows, r.spec.counted) {
        out.push_str(&aligned(&t));
        out.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

/// The QEMU command line of a counted run, with the kernel, image and command left as names.
fn counted_command_line() -> String {
    let mut m = vmos::qemu::Machine::new("KERNEL".into(), "IMAGE".into());
    m.smp = 1;
    m.extra = vec!["-icount".into(), "shift=0".into()];
    format!("{} -append COMMAND", m.command_line())
}

/// The whole benchmarks.md.
pub fn markdown(system: &System, runs: &[RunResult], charts: &[Chart]) -> String {
    let mut out = String::from("# Benchmarks\n\n");
    let _ = write!(
        out,
        "Generated by `cargo bench` (benches/vm/) on {} from commit {}; do not edit by hand. \
         A full `cargo bench` rewrites this page, docs/benchmarks.json and the charts in \
         docs/benchmarks/; `cargo bench -- NAME` runs only the benchmarks whose name contains NAME \
         and writes its results to target/bench/ only. The guest programs are \
         `user/programs/src/bin/bench_*.rs`; they use only xv6's system calls 1-23, the `time` CSR and, \
         for the counter columns, `kstat` (25), so they can run on other xv6-ABI kernels.\n\n",
        system.date, system.commit
    );
    let _ = write!(
        out,
        "| | |\n|---|---|\n| QEMU | {} |\n| host | {}, {} cores (load average at the start: {}) |\n",
        system.qemu, system.cpu, system.cores, system.load
    );
    let _ =
        writeln!(out, "| counted runs | `{}` (each benchmark boots a fresh image) |", counted_command_line());
    out.push_str(
        "\n**Units.** Counted runs use `-icount shift=0 -smp 1`: QEMU's clock then follows executed \
         instructions, and one `time` unit (the 10 MHz timebase) is **100 guest instructions**. `time` \
         is a measured section's total in those units, `ops` the operations in it, and \
         `insns/op = (time − idle) × 100 / ops` (resolution: 100 instructions per section). A process waiting for \
         the disk sleeps; when no process can run the hart waits in `wfi`, and under `-icount` \
         (QEMU's default `sleep=on`) the clock then advances at host speed, so the `idle` column (the \
         kernel's `kstat` IDLE_TIME over the section, in `time` units) is host latency of the disk, \
         which changes from run to run with the host's load; `insns/op` leaves it out and counts the \
         guest's own work. `wall s` is host seconds since the \
         guest's previous output line (so it includes any untimed set-up before the row); host times \
         come from a shared 2-core machine and are indicative only. Counter columns are deltas of the \
         kernel's `kstat` counters over the section: `disk_reads`/`disk_writes` count 1 KiB blocks at \
         the disk driver (log writes included), `anon_faults`/`file_faults` faults by kind, \
         `written_back` pages written back from shared mappings.\n\n",
    );
    for r in runs {
        let _ = write!(out, "## {}: {}\n\n{}\n\n", r.spec.name, r.spec.title, r.spec.about);
        let _ = write!(out, "Command: `{}` ({}).\n\n", r.spec.command, ending(r));
        for (_, t) in tables(&r.rows, r.spec.counted) {
            out.push_str(&markdown_table(&t));
            out.push('\n');
        }
        for c in charts.iter().filter(|c| c.bench == r.spec.name) {
            let _ = write!(out, "![{}](benchmarks/{})\n\n", c.title, c.file);
        }
        for n in &r.notes {
            let _ = write!(out, "Note: {}\n\n", n.replace('\n', " / "));
        }
    }
    out
}
