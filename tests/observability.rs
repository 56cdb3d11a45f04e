//! The observability tools through the runner: `pmap` lists the mappings a helper process made
//! (ranges, sizes, protection, sharing, inode and offset, resident pages, total), `vmstat`
//! prints every counter with values that add up (total and free pages, the faults the helper
//! took, page-cache pages back where they were) and repeats in rows, and Ctrl-P lists each
//! process's mappings under it. The helper is `mmaptests --maps` / `--hold`
//! (user/programs/src/bin/mmaptests/observe.rs): 8 private anonymous pages of which 3 are
//! written, 4 shared read-only pages of a 5-page file from offset 0x1000 with one page read,
//! and 2 untouched shared anonymous pages.

mod common;

use common::{interactive, run, TIMEOUT};

/// What the helper printed about its mappings.
#[derive(Debug)]
struct Demo {
    pid: u64,
    anon: u64,
    file: u64,
    shared: u64,
    inode: u64,
}

/// The helper's complete `demo pid P anon A file F shared S inode I` line, if printed yet (in
/// the interactive test it follows a shell prompt on the same line).
fn demo_line(out: &str) -> Option<&str> {
    let at = out.find("demo pid ")?;
    let rest = &out[at..];
    rest.find('\n').map(|end| rest[..end].trim_end())
}

/// Parses the helper's demo line.
fn demo(out: &str) -> Demo {
    let line = demo_line(out).unwrap_or_else(|| panic!("no demo line:\n{out}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex address");
    assert_eq!(w.len(), 11, "demo line: {line}");
    Demo {
        pid: w[2].parse().unwrap(),
        anon: hex(w[4]),
        file: hex(w[6]),
        shared: hex(w[8]),
        inode: w[10].parse().unwrap(),
    }
}

/// The mapping rows pmap printed for `pid`, split into words, and its total line.
fn pmap_rows(out: &str, pid: u64) -> (Vec<Vec<&str>>, &str) {
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("pid {pid}:"))
        .unwrap_or_else(|| panic!("no `pid {pid}:`:\n{out}"));
    let header: Vec<&str> = lines[at + 1].split_whitespace().collect();
    assert_eq!(header, ["START-END", "KBYTES", "PROT", "SHARE", "RESIDENT", "OBJECT"], "header:\n{out}");
    let rows: Vec<Vec<&str>> = lines[at + 2..]
        .iter()
        .take_while(|l| l.starts_with("0x"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let total = lines.get(at + 2 + rows.len()).copied().unwrap_or("");
    (rows, total)
}

#[test]
fn pmap_lists_a_processs_mappings() {
    let (code, out) = run("pmap 99999; pmap x; mmaptests --maps");
    assert_eq!(code, 0, "mmaptests --maps (running pmap) failed:\n{out}");
    assert!(out.contains("pmap: no process 99999"), "pmap of a missing pid did not say so:\n{out}");
    assert!(out.contains("pmap: bad pid x"), "pmap of a non-number did not say so:\n{out}");
    let d = demo(&out);
    let (all, total) = pmap_rows(&out, d.pid);
    // The parts exec and sbrk made are tagged `[ ROLE ]`: the image's segments, one guard
    // page (no access), one stack page and the heap, below the mappings.
    let tagged = |role: &str| -> Vec<&Vec<&str>> {
        all.iter().filter(|r| r.len() > 2 && r[r.len() - 2] == role && r[r.len() - 1] == "]").collect()
    };
    assert!(!tagged("image").is_empty(), "no image rows:\n{out}");
    let guard = tagged("guard");
    assert!(guard.len() == 1 && guard[0][1..3] == ["4K", "---"], "guard row:\n{out}");
    let stack = tagged("stack");
    assert!(stack.len() == 1 && stack[0][1..4] == ["4K", "rw-", "private"], "stack row:\n{out}");
    assert_eq!(tagged("heap").len(), 1, "heap row:\n{out}");
    let rows: Vec<&Vec<&str>> = all.iter().filter(|r| r.last() != Some(&"]")).collect();
    assert_eq!(rows.len(), 3, "the helper has 3 mappings:\n{out}");
    let range = |start: u64, pages: u64| format!("{:#x}-{:#x}", start, start + pages * 4096);

    let anon =
        rows.iter().find(|r| r[0] == range(d.anon, 8)).unwrap_or_else(|| panic!("no anon row:\n{out}"));
    assert_eq!(anon[1..], ["32K", "rw-", "private", "3", "anon"], "anonymous mapping row:\n{out}");

    let file =
        rows.iter().find(|r| r[0] == range(d.file, 4)).unwrap_or_else(|| panic!("no file row:\n{out}"));
    let inode = d.inode.to_string();
    assert_eq!(file[1..4], ["16K", "r--", "shared"], "file mapping row:\n{out}");
    assert_eq!(file[5..], ["inode", inode.as_str(), "offset", "0x1000"], "file mapping row:\n{out}");
    // One page was read; fault-around may have mapped more of the cached file, never more
    // than the mapping's 4 pages.
    let file_res: u64 = file[4].parse().expect("resident pages");
    assert!((1..=4).contains(&file_res), "file mapping resident {file_res}:\n{out}");

    let shared =
        rows.iter().find(|r| r[0] == range(d.shared, 2)).unwrap_or_else(|| panic!("no shared row:\n{out}"));
    assert_eq!(shared[1..], ["8K", "rw-", "shared", "0", "anon"], "shared anonymous row:\n{out}");

    // Rows come in address order.
    let starts: Vec<u64> =
        all.iter().map(|r| u64::from_str_radix(&r[0][2..r[0].find('-').unwrap()], 16).unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "rows not in address order:\n{out}");
    assert!(total.starts_with(&format!("total: {} mappings, ", all.len())), "total line:\n{out}");
}

/// The long form of vmstat, as (label, value) pairs, for each report in `out`.
fn vmstat_reports(out: &str) -> Vec<Vec<(String, u64)>> {
    let mut reports = Vec::new();
    let mut cur: Vec<(String, u64)> = Vec::new();
    for line in out.lines() {
        let Some((label, value)) = line.trim_end().rsplit_once(' ') else { continue };
        let (label, value) = (label.trim(), value.trim());
        let Ok(v) = value.parse::<u64>() else { continue };
        if label == "free pages" && !cur.is_empty() {
            reports.push(std::mem::take(&mut cur));
        }
        if label.chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '-') && !label.is_empty() {
            cur.push((label.to_string(), v));
        }
    }
    if !cur.is_empty() {
        reports.push(cur);
    }
    reports
}

#[test]
fn vmstat_prints_counters_that_add_up() {
    let (code, out) = run("vmstat; mmaptests --maps; vmstat; vmstat 1 3");
    assert_eq!(code, 0, "output:\n{out}");
    let reports = vmstat_reports(&out);
    assert_eq!(reports.len(), 2, "expected two long vmstat reports:\n{out}");
    let labels = [
        "free pages",
        "total pages",
        "page-cache pages",
        "dirty page-cache pages",
        "anonymous zero-fill faults",
        "page-cache faults",
        "private copy faults",
        "shared map faults",
        "copy-on-write faults",
        "page-cache fills",
        "pages written back",
        "pages reclaimed",
        "pages cleaned by reclaim",
        "disk blocks read",
        "disk blocks written",
    ];
    for r in &reports {
        let got: Vec<&str> = r.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(got, labels, "vmstat's counters:\n{out}");
    }
    let value = |r: usize, label: &str| reports[r].iter().find(|(l, _)| l == label).unwrap().1;
    // 128 MiB of RAM: at most 32768 pages, most of them the allocator's.
    let total = value(0, "total pages");
    assert!((20_000..=32_768).contains(&total), "total pages {total}:\n{out}");
    assert!(value(0, "free pages") <= total && value(0, "free pages") > total / 2, "free pages:\n{out}");
    // The helper wrote 3 anonymous pages (the programs that ran also touch their own bss,
    // which is anonymous memory too: mmaptests statanon counts the 3 exactly, in one process)
    // and read one page of a fresh file through a shared mapping.
    let delta = |label: &str| value(1, label) - value(0, label);
    assert!(delta("anonymous zero-fill faults") >= 3, "anonymous faults:\n{out}");
    assert!(delta("shared map faults") >= 1, "shared faults:\n{out}");
    assert!(delta("page-cache fills") >= 1, "page-cache fills:\n{out}");
    // 128 MiB is far more than this run needs: nothing may be reclaimed.
    assert_eq!(delta("pages reclaimed"), 0, "pages reclaimed without memory pressure:\n{out}");
    assert_eq!(delta("pages cleaned by reclaim"), 0, "pages cleaned without memory pressure:\n{out}");
    assert_eq!(
        delta("page-cache faults"),
        delta("shared map faults") + delta("private copy faults"),
        "page-cache faults are the sum of shared and copy faults:\n{out}"
    );
    // Every mapping is gone when the helper exits, and nothing is left dirty. (The page cache
    // also holds the programs that run, read lazily, so its size is not compared here:
    // mmaptests statfile checks in one process that a file's pages go with its last user.)
    assert_eq!(value(1, "dirty page-cache pages"), 0, "dirty pages left:\n{out}");

    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let header = [
        "free", "cache", "dirty", "anon", "filef", "copy", "shrd", "cow", "fills", "wback", "dread", "dwrit",
    ];
    let head = lines.iter().position(|l| l.split_whitespace().eq(header));
    let head = head.unwrap_or_else(|| panic!("no `vmstat 1 3` header:\n{out}"));
    let rows: Vec<Vec<u64>> = lines[head + 1..]
        .iter()
        .map(|l| l.split_whitespace().map_while(|w| w.parse().ok()).collect::<Vec<u64>>())
        .take_while(|r| r.len() == header.len())
        .collect();
    assert_eq!(rows.len(), 3, "`vmstat 1 3` prints 3 rows:\n{out}");
    // First row: events since boot, so at least what the helper caused; free pages a gauge.
    assert!(rows[0][3] >= value(1, "anonymous zero-fill faults"), "first row counts since boot:\n{out}");
    assert!(rows.iter().all(|r| r[0] <= total), "free pages above total:\n{out}");
    // Later rows: differences over one idle tick.
    assert!(rows[1..].iter().all(|r| r[3] == 0), "anonymous faults while idle:\n{out}");
}

#[test]
fn ctrl_p_lists_each_processs_mappings() {
    let mut console = interactive();
    let guest = &mut console.guest;
    assert!(guest.wait_for(TIMEOUT, |o| o.contains("$ ")), "no prompt:\n{}", guest.output());
    guest.send("mmaptests --hold 600 &\n").unwrap();
    let held = guest.wait_for(TIMEOUT, |o| demo_line(o).is_some());
    assert!(held, "the helper did not start:\n{}", guest.output());
    let d = demo(&guest.output());
    guest.send("\x10").unwrap();
    let anon = format!("{:#x}-{:#x} rw- private 3/8 pages anon", d.anon, d.anon + 8 * 4096);
    let file_prefix = format!("{:#x}-{:#x} r-- shared ", d.file, d.file + 4 * 4096);
    let file_suffix = format!("/4 pages inode {} offset 0x1000", d.inode);
    let shared = format!("{:#x}-{:#x} rw- shared 0/2 pages anon", d.shared, d.shared + 2 * 4096);
    let listed = guest.wait_for(TIMEOUT, |o| {
        let lines: Vec<&str> = o.lines().map(str::trim).collect();
        lines.contains(&anon.as_str())
            && lines.contains(&shared.as_str())
            && lines.iter().any(|l| l.starts_with(&file_prefix) && l.ends_with(&file_suffix))
    });
    let out = guest.output();
    assert!(listed, "Ctrl-P did not list the helper's mappings:\n{out}");
    // Under the helper's own line, in address order.
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let me = lines.iter().rposition(|l| l.starts_with(&format!("{} ", d.pid)) && l.ends_with(" mmaptests"));
    let me = me.unwrap_or_else(|| panic!("no process line for pid {}:\n{out}", d.pid));
    // Its image, guard page, stack and heap come first, then the mappings.
    let first = me + lines[me..].iter().position(|l| *l == anon).expect("anon line after the process line");
    assert!(
        first > me + 1 && first <= me + 8,
        "the mappings do not follow the image, stack and heap:\n{out}"
    );
    assert!(lines[first + 1].starts_with(&file_prefix), "second mapping:\n{out}");
    assert_eq!(lines[first + 2], shared, "third mapping:\n{out}");
}

#[test]
fn ctrl_p_while_processes_map_and_unmap() {
    // Ctrl-P runs in the console's interrupt handler and must neither sleep nor wait for a
    // process that is changing its mappings: pressed over and over while cases map, unmap,
    // fork and exit on every hart, it lists what it can and the suite still passes.
    let mut console = interactive();
    let guest = &mut console.guest;
    assert!(guest.wait_for(TIMEOUT, |o| o.contains("$ ")), "no prompt:\n{}", guest.output());
    guest.send("mmaptests statrace churn manymaps forkshared statother\n").unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut presses = 0;
    let finished = |o: &str| o.contains("ALL TESTS PASSED") || o.contains("SOME TESTS FAILED");
    while !finished(&guest.output()) && std::time::Instant::now() < deadline {
        guest.send("\x10").unwrap();
        presses += 1;
        guest.wait_for(std::time::Duration::from_millis(50), finished);
    }
    let out = guest.output();
    assert!(
        out.contains("ALL TESTS PASSED"),
        "the suite did not pass under Ctrl-P ({presses} presses):\n{out}"
    );
    assert!(out.lines().any(|l| l.trim_end().ends_with(" mmaptests")), "Ctrl-P listed no process:\n{out}");
    assert!(guest.running(), "the guest died:\n{out}");
    let listed = out.lines().filter(|l| l.trim_start().starts_with("0x") && l.contains(" pages ")).count();
    let busy = out.matches("(mappings busy)").count();
    println!("{presses} Ctrl-P presses: {listed} mapping lines, {busy} processes busy");
}
