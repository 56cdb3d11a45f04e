//! `cargo bench`: measures the memory system by running the guest benchmark programs
//! (`user/programs/src/bin/bench_*.rs`) in QEMU and reporting what they print.
//!
//! It builds the kernel and the user programs through the runner's library, boots one fresh
//! image per benchmark with `-icount shift=0 -smp 1` (the guest clock then counts executed
//! instructions: one `time` unit = 100 instructions), collects the `bench NAME key=value ...`
//! lines with the host time each arrived, prints a table per benchmark, and writes
//! target/bench/ (results.json, benchmarks.md, charts). A run of every benchmark also
//! regenerates docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks/*.svg.
//! `cargo bench -- NAME...` runs only the benchmarks whose name contains one of the NAMEs.
//!
//! It only reports: no figure is checked against a limit here or anywhere in the tests.

mod charts;
mod json;
mod report;
mod run;
mod system;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// One benchmark: a guest command run in a boot of its own.
pub struct Spec {
    /// Short name, matched by `cargo bench -- NAME`.
    pub name: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// What it measures and how, for docs/benchmarks.md (Markdown).
    pub about: &'static str,
    /// The guest's `sh -c` command.
    pub command: &'static str,
    /// Whether the run is instruction-counted (`-icount shift=0`).
    pub counted: bool,
    /// Harts.
    pub smp: u32,
    /// QEMU is killed after this long.
    pub timeout: Duration,
    /// Size of the file-system image in MiB (0: the default, 128 MiB).
    pub image_mib: u32,
}

/// Every benchmark, in the order they run.
pub static SPECS: &[Spec] = &[
    Spec {
        name: "fault",
        title: "page-fault cost, by kind",
        about: "A 1 MiB file (256 pages) is made first (`mkfile` row). `bench_fault` then touches one \
                byte of each of 256 pages: `anon` = first write to private anonymous memory (zero-fill); \
                `present` = the same loop over pages already present (the loop itself, no fault); \
                `file_uncached` = first read through a shared mapping of the file when no mapping holds \
                its pages (`disk_reads` shows whether the disk was read); `file_cached` = first read \
                through a second mapping while the first still holds every page; `private_write` = first \
                write to a private mapping of the file while the first mapping holds the pages (a copy). \
                `insns/op` is the cost of one fault.",
        command: "bench_mkfile bfault 1m; bench_fault bfault",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "scan",
        title: "sequential scan of a 4 MiB and a 32 MiB file: mmap vs read()",
        about: "Both files are written in the guest first, in 4 KiB `write()` calls (`mkfile` rows: \
                their `wall s` is the host time that took). `bench_scan` then reads each file four ways, \
                adding up every 64-bit word (each loaded whole, as one aligned `ld`: about 4 \
                instructions per word, 2,000 per page, the same loop for every method): `read` = \
                `read()` into one 4 KiB buffer; `mmap` = map the \
                whole file shared read-only and load every word (no other mapping holds the pages, so \
                they come from the disk); `mmap_cached` = the same through a second \
                mapping while a first one holds every page; `read_cached` = `read()` calls alone (no \
                summing) while that mapping keeps every page in the file's page cache; `write_cached` = \
                `write()` calls of 4 KiB rewriting the file's own bytes while its pages are cached \
                (each call writes its blocks to the disk before it returns, so the disk's time is \
                in it). `ops` = pages of the file, so `insns/op` is the cost per 4 KiB page, \
                everything included (open, mmap, faults, munmap, close).",
        command: "bench_mkfile scan4m 4m; bench_mkfile scan32m 32m; bench_scan scan4m scan32m",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(900),
        image_mib: 0,
    },
    Spec {
        name: "mapcount",
        title: "mmap + munmap of one page with 10 ... 10,000 other mappings",
        about: "`bench_mapcount` grows the process to 10, 100, 1,000 and 10,000 one-page anonymous \
                mappings (adjacent ones differ in protection, so none can be merged; `create` rows: the \
                cost of adding them), and at each count maps one anonymous page and unmaps it again \
                (untouched) 100 times (`mmap` and `munmap` rows: one call each). `teardown` = unmapping \
                all 10,000 one by one.",
        command: "bench_mapcount",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "mmapsize",
        title: "mmap of a 4 KiB vs a 64 MiB file",
        about: "A 4 KiB and a 64 MiB file are written in the guest first (`mkfile` rows; the file system \
                has neither holes nor seek, so the 64 MiB file is written in full). `bench_mmapsize` maps \
                each whole file shared read-only and unmaps it, untouched, 100 times: one call per op. \
                Nothing is read at mmap time, so the costs should not depend on the size and \
                `disk_reads` should be 0.",
        command: "bench_mkfile small 4k; bench_mkfile big64m 64m; bench_mmapsize small big64m",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(900),
        image_mib: 0,
    },
    Spec {
        name: "writeback",
        title: "munmap write-back of N dirty pages out of 256",
        about: "`bench_wback` maps 256 pages of a 1 MiB file shared read-write, reads every page (all \
                resident and clean), writes one byte in N of them, and times the `munmap`. \
                `written_back` is the kernel's count of pages written back (it should be N); \
                `disk_writes` counts blocks at the disk driver, the log's copies included.",
        command: "bench_mkfile bwback 1m; bench_wback bwback",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "overlap",
        title: "a computing process while another reads a cold file (one hart)",
        about: "Two 4 MiB files are written first (`mkfile` rows) and closed, so their pages leave \
                the cache. `bench_overlap` reads the first with 4 KiB `read()` calls while nothing \
                else runs (`alone`), then forks a child that counts in a shared page and reads the \
                second the same way (`with_compute`). `progress` = how far the child counted during \
                the read; `compute_pct` = that as a percentage of what it counts alone in the same \
                time. With one hart, a kernel that keeps the CPU while the disk works gives 0; one \
                whose readers sleep lets the child run from each sleep to the next tick (the reader, \
                woken by the disk, waits for the child's slice to end, so its own time grows). Under \
                `-icount`, a hart idle in `wfi` advances the clock at host speed (QEMU's default \
                `sleep=on`): the `alone` row's time includes the disk's host latency.",
        command: "bench_mkfile ovalone 4m; bench_mkfile ovshared 4m; bench_overlap ovalone ovshared",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(600),
        image_mib: 0,
    },
    Spec {
        name: "fork",
        title: "fork + exit (and fork + exec) of a process with 64 MiB mapped, 1 MiB and 16 MiB touched",
        about: "`bench_fork` forks 10 times a child that exits at once, for a parent with no mapping \
                (`none`), with a private anonymous mapping of 64 MiB whose first 1 MiB (then 16 MiB) \
                was written (`anon_private`, shared copy-on-write by fork), and with the same shared \
                (`anon_shared`). `fork` = until fork returns \
                in the parent; `fork_exit_wait` = until `wait` returns the child's status; `fork_exec_wait` = \
                fork of a child that execs `exec_tiny` at once, until `wait` returns. `cow_faults` = \
                copy-on-write copies made during the 10 operations (`kstat` COW_FAULTS). A file-backed \
                64 MiB mapping is not measured: it needs a 64 MiB file written in the same boot (see \
                `mmapsize` for what that costs); a shared anonymous mapping takes the same page-cache \
                path.",
        command: "bench_fork 64 1024 16384",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "mprotect",
        title: "mprotect of 256 present pages",
        about: "`bench_mprotect` maps 256 pages of anonymous memory, writes every page (all present), \
                and times 20 `mprotect` calls over all of them each way (`ops` = calls, so `insns/op` is \
                the cost of flipping 256 pages once): `to_read` = private, read-write to read-only (W \
                cleared in 256 entries; each timed call follows stores that made the pages writable \
                again); `to_write` = private, read-only to read-write (the entries stay read-only: the \
                next store decides); `store_after` = one store to each of the 256 pages after that \
                (`ops` = pages: a write fault that sets W on a page no one else holds); \
                `shared_to_read` / `shared_to_write` = the same flips of a shared anonymous mapping, \
                whose entries get W back at once.",
        command: "bench_mprotect",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "exec",
        title: "exec of a small and of a 1 MiB program",
        about: "`bench_exec` forks 20 times a child that execs the program, which exits at once, and \
                waits for it (one untimed run first). `exec_tiny` does nothing; `exec_big` carries \
                1 MiB of initialized data in its file that it never touches. The kernel maps program \
                segments lazily from the file's page cache, so both should cost about the same.",
        command: "bench_exec exec_tiny exec_big",
        counted: true,
        smp: 1,
        timeout: Duration::from_secs(300),
        image_mib: 0,
    },
    Spec {
        name: "big",
        title: "a 256 MiB file on a 128 MiB machine: write(), scan and stores through mappings",
        about: "Not instruction-counted (the host seconds are the figure: the target is the whole \
                run in under a minute). `bench_big` writes a 256 MiB file with 64 KiB `write()` \
                calls (`write`), maps it shared read-only and loads one byte per page (`scan`), then \
                maps it shared read-write, stores one byte in every page and unmaps it (`store`): \
                dirty pages must be written back under memory pressure (`cleaned` = pages reclaim \
                wrote back, `reclaimed` = pages evicted, `written_back` = all write-backs, munmap's \
                included), and no process may be killed; a sample of the stores is then checked \
                through a new mapping. `min_free` = the fewest free pages seen (of 32,768). `time` is \
                in 10 MHz units of the guest clock (real time here).",
        command: "bench_big bigf 256",
        counted: false,
        smp: 1,
        timeout: Duration::from_secs(900),
        image_mib: 512,
    },
    Spec {
        name: "usertests",
        title: "wall time of one usertests run (the QEMU test suite, for the record)",
        about: "Not instruction-counted: `usertests` run as `cargo test` runs it (3 harts, 128 MiB, no \
                `-icount`), timed on the host. The whole `cargo test` is not timed here: it boots \
                usertests three times (1, 3 and 4 harts) besides the other QEMU tests, which would \
                take several times this run, longer than the benchmark run should.",
        command: "usertests",
        counted: false,
        smp: 3,
        timeout: Duration::from_secs(900),
        image_mib: 0,
    },
];

const USAGE: &str = "\
usage: cargo bench [-- [NAME...] [--list]]

Runs the guest benchmarks in QEMU (-icount shift=0 -smp 1) and reports their figures.
NAME...  run only the benchmarks whose name contains one of these words
--list   list the benchmarks and exit";

fn main() -> ExitCode {
    // cargo passes `--bench`; other arguments starting with `-` are options.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--list") {
        for s in SPECS {
            println!("{:<10} {}", s.name, s.title);
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&str> = args.iter().filter(|a| !a.starts_with('-')).map(String::as_str).collect();
    let selected: Vec<&'static Spec> =
        SPECS.iter().filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f))).collect();
    if selected.is_empty() {
        eprintln!("bench: no benchmark matches {filters:?}; `cargo bench -- --list` lists them");
        return ExitCode::FAILURE;
    }
    match bench(&selected, selected.len() == SPECS.len()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds, runs `specs`, prints and writes the results (also to docs/ when `all`). Returns
/// whether every run exited 0.
fn bench(specs: &[&'static Spec], all: bool) -> Result<bool, String> {
    let root = vmos::repo_root();
    vmos::tools::check_all(&root).map_err(|e| e.to_string())?;
    eprintln!("bench: building the kernel and the user programs");
    let artifacts = vmos::build::build_all(&root, true, false).map_err(|e| e.to_string())?;
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let system = system::describe(&root);

    let mut results = Vec::new();
    for spec in specs {
        eprintln!("bench: {} ({}): `{}`", spec.name, spec.title, spec.command);
        let result = run::run(spec, &root, &artifacts, &out)?;
        print!("{}", report::console(&result));
        results.push(result);
    }

    write_reports(&out, &system, &results)?;
    eprintln!("bench: results in {}", out.display());
    if all {
        write_reports(&root.join("docs"), &system, &results)?;
        eprintln!("bench: docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks/*.svg regenerated");
    } else {
        eprintln!(
            "bench: a partial run leaves docs/ alone (run `cargo bench` without a NAME to regenerate it)"
        );
    }
    Ok(results.iter().all(|r| r.exit == Some(0)))
}

/// Writes benchmarks.md, the JSON file (`results.json` under target/, `benchmarks.json` in
/// docs/) and the charts (under `benchmarks/`) into `dir`.
fn write_reports(dir: &Path, system: &system::System, results: &[run::RunResult]) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let charts = charts::draw_all(&dir.join("benchmarks"), results)?;
    let json_name = if dir.ends_with("docs") { "benchmarks.json" } else { "results.json" };
    write(json_name, json::results(system, results).pretty())?;
    write("benchmarks.md", report::markdown(system, results, &charts))
}
