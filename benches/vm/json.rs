//! The machine-readable results: a small JSON value type with a pretty printer, and the
//! layout of results.json / docs/benchmarks.json built from the runs. Writing only; nothing
//! here reads JSON back.

use crate::run::{RunResult, Value};
use crate::system::System;
use std::fmt::Write;

/// A JSON value. Objects keep their keys in insertion order.
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }

    /// The value as indented JSON text, ending in a newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Float(x) if x.is_finite() => {
                let _ = write!(out, "{}", (x * 1000.0).round() / 1000.0);
            }
            Json::Float(_) => out.push_str("null"),
            Json::Str(s) => quote(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 2);
                    item.write(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push_str("{\n");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    pad(out, indent + 2);
                    quote(out, k);
                    out.push_str(": ");
                    v.write(out, indent + 2);
                    out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

/// Appends `s` as a JSON string literal.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The whole results document.
pub fn results(system: &System, runs: &[RunResult]) -> Json {
    Json::obj([
        ("date", Json::str(&system.date)),
        ("commit", Json::str(&system.commit)),
        ("qemu", Json::str(&system.qemu)),
        ("host_cpu", Json::str(&system.cpu)),
        ("host_cores", Json::Int(system.cores as i64)),
        ("host_load_at_start", Json::str(&system.load)),
        (
            "units",
            Json::str(
                "time: guest `time` CSR units (10 MHz timebase); under -icount shift=0 one unit = 100 \
                 guest instructions, so insns_per_op = (time - idle) * 100 / ops (idle: time the hart \
                 waited in wfi, which runs at host speed; counted runs only). wall_s: host seconds since the \
                 guest's previous output line.",
            ),
        ),
        ("runs", Json::Arr(runs.iter().map(run).collect())),
    ])
}

fn run(r: &RunResult) -> Json {
    let rows = r
        .rows
        .iter()
        .map(|row| {
            let mut pairs = vec![("bench".to_string(), Json::str(&row.bench))];
            for (k, v) in &row.fields {
                let v = match v {
                    Value::Int(n) => Json::Int(*n as i64),
                    Value::Word(w) => Json::str(w),
                };
                pairs.push((k.clone(), v));
            }
            if let Some(x) = row.insns_per_op().filter(|_| r.spec.counted) {
                pairs.push(("insns_per_op".into(), Json::Float(x)));
            }
            pairs.push(("wall_s".into(), Json::Float(row.wall)));
            Json::Obj(pairs)
        })
        .collect();
    Json::obj([
        ("name", Json::str(r.spec.name)),
        ("title", Json::str(r.spec.title)),
        ("command", Json::str(r.spec.command)),
        ("instruction_counted", Json::Bool(r.spec.counted)),
        ("qemu", Json::str(&r.qemu)),
        ("exit", r.exit.map_or(Json::Null, |c| Json::Int(c.into()))),
        ("wall_s", Json::Float(r.wall)),
        ("results", Json::Arr(rows)),
        ("notes", Json::Arr(r.notes.iter().map(|n| Json::str(n)).collect())),
    ])
}
