//! Truncation of a mapped file (open with O_TRUNC): the pages past the new end leave every
//! mapping of the file, in the truncating process and in others (resident counts drop to
//! zero, and touching them kills the process as an access past end-of-file does, private
//! copies included, even for a process reading the page in a loop on another hart); shared
//! stores made before the truncation are not written back; and when the file grows again,
//! an existing mapping shows the new bytes up to the mapping's length.

use crate::util::{self, check_pattern, check_zero, map, unmap, Signal, TestResult, PG, RW};
use ulib::abi::{MAP_PRIVATE, MAP_SHARED, O_RDWR, O_TRUNC, PROT_READ};
use ulib::{fs, process};

/// Pages of `start`'s mapping (a region of this process) that are present now.
fn resident(start: usize) -> Result<u64, alloc::string::String> {
    let maps = process::vmmaps(0).map_err(|e| alloc::format!("vmmaps failed ({})", e))?;
    match maps.iter().find(|m| m.start as usize == start) {
        Some(m) => Ok(m.resident),
        None => fail!("no mapping starts at {:#x}", start),
    }
}

/// Cuts `name` to nothing, as `open(name, O_TRUNC)` does.
fn truncate(name: &str) -> TestResult {
    let fd = util::open(name, O_RDWR | O_TRUNC)?;
    let _ = fs::close(fd);
    Ok(())
}

/// Maps `name` (4 pages) shared read-only and private read-write, touches every page (the
/// private mapping's page 1 by a store, which copies it), and returns the two addresses.
fn map_and_touch(name: &str) -> Result<(usize, usize), alloc::string::String> {
    let fd = util::open(name, O_RDWR)?;
    let shared = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let private = map(0, 4 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    for p in 0..4 {
        // SAFETY: both mappings are 4 pages of a 4-page file; the private one is writable.
        unsafe {
            core::hint::black_box(util::load_byte(shared + p * PG));
            core::hint::black_box(util::load_byte(private + p * PG));
        }
    }
    // SAFETY: as above.
    unsafe { util::store_byte(private + PG + 3, 0x66) };
    Ok((shared, private))
}

/// The process that truncates a file it maps loses every page of its mappings (shared,
/// private views of the cache and private copies alike), and touching any of them kills it.
pub fn own_mappings() -> TestResult {
    const F: &str = "mmtrself";
    util::clean(&[F]);
    for (what, page, private) in [
        ("the shared mapping's page 0", 0, false),
        ("the shared mapping's page 3", 3, false),
        ("the private mapping's copied page 1", 1, true),
        ("the private mapping's page 2", 2, true),
    ] {
        util::pattern_file(F, 50, 4 * PG)?;
        let status = util::in_child(|| {
            let r = (|| -> TestResult {
                let (shared, priv_) = map_and_touch(F)?;
                ensure!(resident(shared)? == 4 && resident(priv_)? == 4, "pages not resident before");
                truncate(F)?;
                let (s, p) = (resident(shared)?, resident(priv_)?);
                ensure!(s == 0 && p == 0, "after O_TRUNC {} shared and {} private pages still mapped", s, p);
                let at = if private { priv_ } else { shared } + page * PG;
                // SAFETY: a page past the new end of the file: the kernel kills us here.
                core::hint::black_box(unsafe { util::load_byte(at) });
                fail!("touching {} after O_TRUNC did not kill", what)
            })();
            if let Err(e) = r {
                ulib::println!("truncself: {}", e);
            }
            1
        })?;
        ensure!(status == -1, "touching {} after truncating: status {}, expected -1", what, status);
    }
    util::remove(F)
}

/// The truncated file's pages leave the page cache too: with its 4 pages mapped (so the
/// cache keeps them at the truncation itself), O_TRUNC still ends with 4 fewer file pages
/// cached (the code it runs was warmed up first, so nothing else fills the cache meanwhile).
pub fn cache_pages() -> TestResult {
    const F: &str = "mmtrcache";
    const G: &str = "mmtrwarm";
    util::clean(&[F, G]);
    util::pattern_file(F, 57, 4 * PG)?;
    util::pattern_file(G, 58, PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    for p in 0..4 {
        // SAFETY: the 4-page readable mapping made above.
        core::hint::black_box(unsafe { util::load_byte(a + p * PG) });
    }
    let file_pages = || util::kstat(ulib::abi::kstat::FILE_PAGES);
    let _ = file_pages()?;
    truncate(G)?;
    let before = file_pages()?;
    truncate(F)?;
    let after = file_pages()?;
    ensure!(
        before - after == 4,
        "O_TRUNC of a mapped 4-page file freed {} cached pages, expected 4",
        before - after
    );
    ensure!(resident(a)? == 0, "pages still mapped after O_TRUNC");
    unmap(a, 4 * PG)?;
    util::remove(F)?;
    util::remove(G)
}

/// Another process's mappings lose their pages too: a child maps and touches the file, the
/// parent truncates it, and the child then finds nothing resident and is killed at a touch.
pub fn other_process() -> TestResult {
    const F: &str = "mmtrother";
    util::clean(&[F]);
    util::pattern_file(F, 51, 4 * PG)?;
    let ready = Signal::new()?;
    let go = Signal::new()?;
    let pid = util::spawn(|| {
        let Ok((shared, private)) = map_and_touch(F) else { return 4 };
        ready.post(1);
        if !go.wait() {
            return 3;
        }
        match (resident(shared), resident(private)) {
            (Ok(0), Ok(0)) => {}
            (s, p) => {
                ulib::println!("truncother: resident after O_TRUNC: {:?} {:?}", s, p);
                return 2;
            }
        }
        // SAFETY: the private copy, past the new end: the kernel kills us here.
        core::hint::black_box(unsafe { util::load_byte(private + PG + 3) });
        5
    })?;
    ensure!(ready.wait(), "the child died before mapping");
    truncate(F)?;
    go.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "the child ended with {}, expected -1 (killed at its touch)", status);
    util::remove(F)
}

/// A process reading a mapped page in a loop (running in user mode, on another hart when
/// there is one) while another truncates the file is killed at a read past the new end.
pub fn spinning_reader() -> TestResult {
    const F: &str = "mmtrspin";
    util::clean(&[F]);
    util::pattern_file(F, 52, 2 * PG)?;
    let ready = Signal::new()?;
    let pid = util::spawn(|| {
        let Ok(fd) = fs::open(F, O_RDWR) else { return 4 };
        let Ok(a) = map(0, 2 * PG, RW, MAP_SHARED, fd, 0) else { return 4 };
        let _ = fs::close(fd);
        // SAFETY: the shared mapping, written and then read until the kernel kills us.
        unsafe { util::store_byte(a + PG, 1) };
        ready.post(1);
        loop {
            // SAFETY: as above.
            core::hint::black_box(unsafe { util::load_byte(a + PG) });
        }
    })?;
    ensure!(ready.wait(), "the child died before mapping");
    let _ = process::pause(1);
    truncate(F)?;
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "the reading child ended with {}, expected -1", status);
    util::remove(F)
}

/// Shared stores made before the truncation are not written back: after O_TRUNC and the
/// munmap of a mapping holding dirty pages, the file is empty, nothing was written back, and
/// when it grows again by one byte the rest of its first page reads as zeros.
pub fn no_write_back() -> TestResult {
    const F: &str = "mmtrwb";
    util::clean(&[F]);
    util::pattern_file(F, 53, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: the writable shared mapping made above.
    unsafe { util::bytes_mut(a, 2 * PG) }.fill(0xab);
    let wb = util::written_back()?;
    truncate(F)?;
    unmap(a, 2 * PG)?;
    ensure!(util::written_back()? == wb, "pages past the new end were written back");
    let data = util::read_file(F)?;
    ensure!(data.is_empty(), "the truncated file holds {} bytes after munmap", data.len());
    let fd = util::open(F, O_RDWR)?;
    let w = fs::write(fd, &[7]);
    ensure!(w == Ok(1), "write of one byte: {:?}", w);
    let b = map(0, PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: one readable page of a one-byte file.
    let page = unsafe { util::bytes(b, PG) };
    ensure!(page[0] == 7, "the byte written after truncation reads {:#x}", page[0]);
    check_zero("the rest of the page after the file grew", &page[1..])?;
    unmap(b, PG)?;
    util::remove(F)
}

/// A file that grows again is visible through an existing mapping, up to the mapping's
/// length: after O_TRUNC and a write of 2 pages, the 4-page shared and private mappings show
/// the new bytes in pages 0 and 1 and kill at page 2; after 4 more pages are written, pages
/// 2 and 3 show them too.
pub fn grows_again() -> TestResult {
    const F: &str = "mmtrgrow";
    util::clean(&[F]);
    util::pattern_file(F, 54, 4 * PG)?;
    let (shared, private) = map_and_touch(F)?;
    let fd = util::open(F, O_RDWR | O_TRUNC)?;
    let w = fs::write_all(fd, &util::pattern_vec(55, 2 * PG));
    ensure!(w.is_ok(), "write of 2 pages after O_TRUNC failed");
    for (what, m) in [("shared", shared), ("private", private)] {
        // SAFETY: pages 0 and 1 lie inside the file again.
        check_pattern(what, unsafe { util::bytes(m, 2 * PG) }, 55, 0)?;
        util::expect_killed("touching page 2, past the new end", || {
            // SAFETY: the kernel kills us here.
            core::hint::black_box(unsafe { util::load_byte(m + 2 * PG) });
        })?;
    }
    let w = fs::write_all(fd, &util::pattern_vec(56, 4 * PG));
    let _ = fs::close(fd);
    ensure!(w.is_ok(), "write of 4 more pages failed");
    let mut expect = util::pattern_vec(55, 2 * PG);
    expect.extend_from_slice(&util::pattern_vec(56, 2 * PG));
    for (what, m) in [("shared", shared), ("private", private)] {
        // SAFETY: the whole 4-page mapping lies inside the 6-page file.
        let got = unsafe { util::bytes(m, 4 * PG) };
        ensure!(got == &expect[..], "the {} mapping does not show the file grown to 6 pages", what);
    }
    unmap(shared, 4 * PG)?;
    unmap(private, 4 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data.len() == 6 * PG, "the file holds {} bytes, expected {}", data.len(), 6 * PG);
    util::remove(F)
}
