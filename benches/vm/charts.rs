//! SVG charts of the runs that vary a parameter: mmap/munmap cost against the number of
//! mappings (log scale), scan cost per page by file size and method, munmap cost against the
//! number of dirty pages, and fault cost by kind. Drawn with `plotters`' SVG backend and no
//! font files (the SVG names a generic font; the viewer draws the text). A chart whose run
//! is missing or gave no figures is left out.

use crate::report::fmt_insns;
use crate::run::{Row, RunResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// A chart written to a file, for the Markdown page to show under its benchmark.
pub struct Chart {
    /// The benchmark (spec) whose figures it shows.
    pub bench: &'static str,
    /// File name inside the charts directory.
    pub file: String,
    pub title: String,
}

/// Colours of the series, in order.
const COLOURS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];

/// Size of every chart in pixels.
const SIZE: (u32, u32) = (760, 440);

/// Draws every chart whose figures are in `runs` into `dir`; returns what was drawn.
pub fn draw_all(dir: &Path, runs: &[RunResult]) -> Result<Vec<Chart>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let rows = |spec: &str, bench: &str| -> Vec<&Row> {
        runs.iter()
            .filter(|r| r.spec.name == spec)
            .flat_map(|r| &r.rows)
            .filter(|r| r.bench == bench)
            .collect()
    };
    let mut charts = Vec::new();
    let mut add = |bench: &'static str, file: &str, title: &str, drawn: Result<bool, String>| {
        if drawn? {
            charts.push(Chart { bench, file: file.into(), title: title.into() });
        }
        Ok::<(), String>(())
    };

    let title = "mmap and munmap of one page vs. mappings present";
    add(
        "mapcount",
        "mapcount.svg",
        title,
        mapcount(&dir.join("mapcount.svg"), title, &rows("mapcount", "mapcount")),
    )?;

    let scan = rows("scan", "scan");
    let title = "Sequential scan: instructions per 4 KiB page";
    let sizes = distinct(&scan, |r| r.num("kib").map(|k| format!("{} MiB", k / 1024)));
    let methods = distinct(&scan, |r| r.word("method").map(str::to_string));
    let series = methods
        .iter()
        .map(|m| {
            let values = sizes
                .iter()
                .map(|s| {
                    let row = scan.iter().find(|r| {
                        r.word("method") == Some(m)
                            && r.num("kib").map(|k| format!("{} MiB", k / 1024)).as_ref() == Some(s)
                    });
                    row.and_then(|r| r.insns_per_op())
                })
                .collect();
            (m.clone(), values)
        })
        .collect();
    add(
        "scan",
        "scan.svg",
        title,
        bars(&dir.join("scan.svg"), title, "instructions per page", &sizes, series),
    )?;

    let wb = rows("writeback", "writeback");
    let title = "munmap of 256 shared pages vs. pages dirty";
    let dirty: Vec<String> = wb.iter().filter_map(|r| r.num("dirty")).map(|n| format!("{n} dirty")).collect();
    let series = vec![("munmap".to_string(), wb.iter().map(|r| r.insns_per_op()).collect())];
    add(
        "writeback",
        "writeback.svg",
        title,
        bars(&dir.join("writeback.svg"), title, "instructions per munmap", &dirty, series),
    )?;

    let faults = rows("fault", "fault");
    let title = "Page-fault cost by kind";
    let cases: Vec<String> = faults.iter().filter_map(|r| r.word("case")).map(str::to_string).collect();
    let series = vec![("fault".to_string(), faults.iter().map(|r| r.insns_per_op()).collect())];
    add(
        "fault",
        "fault.svg",
        title,
        bars(&dir.join("fault.svg"), title, "instructions per fault", &cases, series),
    )?;
    Ok(charts)
}

/// A legend of coloured squares and names, one per line, from the pixel `top_left` of the
/// plotting area (plotters' own legend box is sized for its estimated font and cuts names).
fn legend(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    top_left: (i32, i32),
    names: &[&str],
) -> Result<(), String> {
    let style = TextStyle::from(("sans-serif", 14)).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, name) in names.iter().enumerate() {
        let (x, y) = (top_left.0 + 14, top_left.1 + 16 + 22 * i as i32);
        let colour = COLOURS[i % COLOURS.len()];
        root.draw(&Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled())).map_err(plot_error)?;
        root.draw(&Text::new(name.to_string(), (x + 20, y), style.clone())).map_err(plot_error)?;
    }
    Ok(())
}

/// An axis label: `0`, `750`, `2.5k`, `76.4M`.
fn compact(y: f64) -> String {
    let (v, unit) = match y.abs() {
        a if a >= 1e6 => (y / 1e6, "M"),
        a if a >= 1e3 => (y / 1e3, "k"),
        _ => (y, ""),
    };
    let text = format!("{v:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// The distinct values `key` gives for `rows`, in order of first appearance.
fn distinct(rows: &[&Row], key: impl Fn(&Row) -> Option<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in rows.iter().filter_map(|r| key(r)) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn plot_error(e: impl std::fmt::Display) -> String {
    format!("drawing a chart failed: {e}")
}

/// A white drawing area on an SVG file.
fn canvas(path: &Path) -> Result<DrawingArea<SVGBackend<'_>, Shift>, String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    Ok(root)
}

/// Lines of instructions per call against mappings present (log scale), one per `op`.
fn mapcount(path: &Path, title: &str, rows: &[&Row]) -> Result<bool, String> {
    let ops = ["mmap", "munmap"];
    let points: Vec<Vec<(f64, f64)>> = ops
        .iter()
        .map(|op| {
            rows.iter()
                .filter(|r| r.word("op") == Some(op))
                .filter_map(|r| Some((r.num("maps")? as f64, r.insns_per_op()?)))
                .collect()
        })
        .collect();
    let all: Vec<&(f64, f64)> = points.iter().flatten().collect();
    if all.is_empty() {
        return Ok(false);
    }
    let x_max = all.iter().map(|p| p.0).fold(10.0, f64::max) * 1.5;
    let y_max = all.iter().map(|p| p.1).fold(1.0, f64::max) * 1.2;
    let root = canvas(path)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d((5.0f64..x_max).log_scale(), 0.0f64..y_max)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("other mappings in the process")
        .y_desc("instructions per call")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| compact(*y))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_error)?;
    for (i, pts) in points.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(plot_error)?;
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled()))).map_err(plot_error)?;
    }
    legend(&root, chart.backend_coord(&(5.0, y_max)), &ops)?;
    root.present().map_err(plot_error)?;
    Ok(true)
}

/// Grouped bars: one group per category, one bar per series (a missing value leaves a gap),
/// each labelled with its value.
fn bars(
    path: &Path,
    title: &str,
    y_desc: &str,
    categories: &[String],
    series: Vec<(String, Vec<Option<f64>>)>,
) -> Result<bool, String> {
    let y_max = series.iter().flat_map(|(_, v)| v.iter().flatten()).fold(0.0, |a: f64, &b| a.max(b));
    if categories.is_empty() || y_max <= 0.0 {
        return Ok(false);
    }
    let n = categories.len() as f64;
    // Headroom above the tallest bar for its value and, with several series, the legend.
    let y_top = y_max * if series.len() > 1 { 1.45 } else { 1.15 };
    let root = canvas(path)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0f64..n, 0.0f64..y_top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_desc)
        .y_label_formatter(&|y| compact(*y))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_error)?;
    let width = 0.8 / series.len() as f64;
    let value_style = TextStyle::from(("sans-serif", 12)).pos(Pos::new(HPos::Center, VPos::Bottom));
    for (s, (name, values)) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        let rects: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(c, v)| v.map(|v| (c as f64 + 0.1 + s as f64 * width, v)))
            .collect();
        let drawn = chart
            .draw_series(
                rects.iter().map(|&(x, v)| Rectangle::new([(x, 0.0), (x + width, v)], colour.filled())),
            )
            .map_err(plot_error)?;
        if series.len() > 1 {
            drawn
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        }
        for &(x, v) in &rects {
            let (px, py) = chart.backend_coord(&(x + width / 2.0, v));
            root.draw(&Text::new(fmt_insns(v), (px, py - 3), value_style.clone())).map_err(plot_error)?;
        }
    }
    let label_style = TextStyle::from(("sans-serif", 15)).pos(Pos::new(HPos::Center, VPos::Top));
    for (c, name) in categories.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
        root.draw(&Text::new(name.as_str(), (px, py + 8), label_style.clone())).map_err(plot_error)?;
    }
    if series.len() > 1 {
        let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
        legend(&root, chart.backend_coord(&(0.0, y_top)), &names)?;
    }
    root.present().map_err(plot_error)?;
    Ok(true)
}
