//! A mapping of a file larger than 32 MiB, touched sparsely: each touch reads about one page
//! from the disk and takes about one page of memory, offsets past 32 MiB map the right file
//! pages, and a store there is written back to the right place. Files larger than the free
//! memory, scanned through mappings (`bigscan`, `reclaimothers`, on a small machine) and
//! written and read back at the default machine size (`beyondram`, on a bigger disk); and
//! offsets past 4 GiB in files the host test puts in the image (`faroffsets`).

use crate::util::{self, map, unmap, Ctx, TestResult, PG, RW};
use alloc::vec;
use ulib::abi::{self, MAP_PRIVATE, MAP_SHARED, O_CREATE, O_RDWR, O_TRUNC, PROT_READ};
use ulib::{fs, println};

const MIB: usize = 1 << 20;
/// The file's size: 33 MiB and a bit, so the last page is partly past end-of-file.
const SIZE: usize = 33 * MIB + 1000;
/// Pages the file covers (the last one partly).
const PAGES: usize = SIZE.div_ceil(PG);
/// Touch one page in this many.
const STRIDE: usize = 256;

/// Byte `i` of the file: an 8-byte page number at the start of each page, a pattern after.
fn expected(i: usize) -> u8 {
    let (page, off) = (i / PG, i % PG);
    if off < 8 {
        (page as u64).to_le_bytes()[off]
    } else {
        util::pattern(90, i % MIB)
    }
}

/// Checks the touched page `p` of a mapping of the whole file at `a`.
fn check_page(what: &str, a: usize, p: usize) -> TestResult {
    // SAFETY: page p lies inside the caller's readable mapping.
    let page = unsafe { util::bytes(a + p * PG, PG) };
    for (k, &b) in page.iter().enumerate() {
        let i = p * PG + k;
        let want = if i < SIZE { expected(i) } else { 0 };
        ensure!(b == want, "{}: byte {} of page {} is {:#x}, expected {:#x}", what, k, p, b, want);
    }
    Ok(())
}

/// Writes the file in 1 MiB writes; returns the time taken in ticks.
fn create(name: &str) -> Result<usize, alloc::string::String> {
    let fd = fs::open(name, O_CREATE | O_RDWR | O_TRUNC).ctx("create the big file")?;
    let mut buf = vec![0u8; MIB];
    for (j, b) in buf.iter_mut().enumerate() {
        *b = util::pattern(90, j);
    }
    let t0 = util::ticks();
    let mut done = 0;
    while done < SIZE {
        let n = (SIZE - done).min(MIB);
        for p in (0..n).step_by(PG) {
            buf[p..p + 8].copy_from_slice(&(((done + p) / PG) as u64).to_le_bytes());
        }
        let r = fs::write_all(fd, &buf[..n]);
        if r.is_err() {
            let _ = fs::close(fd);
            fail!("write of the big file failed at offset {:#x}", done);
        }
        done += n;
    }
    let _ = fs::close(fd);
    Ok(util::ticks() - t0)
}

/// A shared mapping of a 33 MiB file touched at one page in 256 (and the last page) reads
/// and keeps only about those pages; a private window past 32 MiB and a shared store past
/// 32 MiB land on the right file pages.
pub fn big_file() -> TestResult {
    const F: &str = "mmbig";
    util::clean(&[F]);
    let took = create(F)?;
    println!("bigfile: wrote {} bytes in {}.{} s", SIZE, took / 10, took % 10);
    let st = fs::stat(F).ctx("stat")?;
    ensure!(st.size as usize == SIZE, "big file has size {}, expected {}", st.size, SIZE);
    let fd = util::open(F, O_RDWR)?;
    let free0 = util::free()?;
    let reads0 = util::kstat(abi::kstat::DISK_READS)?;
    let a = map(0, SIZE, PROT_READ, MAP_SHARED, fd, 0)?;
    let mut touched = 0;
    for p in (0..PAGES).step_by(STRIDE).chain([PAGES - 1]) {
        check_page("shared mapping", a, p)?;
        touched += 1;
    }
    let reads = util::kstat(abi::kstat::DISK_READS)? - reads0;
    let used = free0.saturating_sub(util::free()?);
    ensure!(
        reads <= touched * 8 + 16,
        "touching {} of {} pages read {} disk blocks (about 4 per page expected)",
        touched,
        PAGES,
        reads
    );
    ensure!(
        used <= 2 * touched + 32,
        "touching {} of {} pages used {} pages of memory",
        touched,
        PAGES,
        used
    );
    // A private writable window at 32 MiB: its stores stay private.
    let w = map(0, 4 * PG, RW, MAP_PRIVATE, fd, 32 * MIB)?;
    let first = 32 * MIB / PG;
    // SAFETY: four writable pages of the private window.
    let mw = unsafe { util::bytes_mut(w, 4 * PG) };
    ensure!(
        mw[..8] == (first as u64).to_le_bytes(),
        "private window at 32 MiB starts with page {:?}",
        &mw[..8]
    );
    mw[PG + 8] ^= 0xff;
    unmap(w, 4 * PG)?;
    // A shared store past 32 MiB, written back at munmap.
    let target = first + 5;
    let s = map(0, 8 * PG, RW, MAP_SHARED, fd, (first + 2) * PG)?;
    // SAFETY: a store into the shared window (page first + 5 of the file).
    unsafe { util::store_byte(s + 3 * PG + 100, !expected(target * PG + 100)) };
    unmap(s, 8 * PG)?;
    unmap(a, SIZE)?;
    // Map the file again (its cache is gone) and read the stored byte back from the disk.
    let b = map(0, SIZE, PROT_READ, MAP_PRIVATE, fd, 0)?;
    // SAFETY: loads from the new mapping.
    let (got, other) =
        unsafe { (util::load_byte(b + target * PG + 100), util::load_byte(b + (first + 1) * PG + 8)) };
    ensure!(got == !expected(target * PG + 100), "a shared store past 32 MiB did not reach the file");
    ensure!(other == expected((first + 1) * PG + 8), "a private store past 32 MiB reached the file");
    check_page("page next to the stored one", b, target + 1)?;
    unmap(b, SIZE)?;
    let _ = fs::close(fd);
    let t0 = util::ticks();
    util::remove(F)?;
    let t = util::ticks() - t0;
    println!("bigfile: unlinked it in {}.{} s", t / 10, t % 10);
    Ok(())
}

/// Free memory above which `bigscan` is skipped: a file larger than that, with its margin,
/// would not fit on the default 128 MiB image (the host test runs it with `--mem 48M`;
/// `beyondram` covers the default machine size on a bigger image).
const SCAN_SKIP_ABOVE: usize = 48 * MIB;
/// How much larger than the free memory the scanned file is.
const SCAN_MARGIN: usize = 8 * MIB;

/// Word `k` (8 bytes) of page `p` of the scanned file: the page number, then a pattern.
fn scan_word(p: usize, k: usize) -> u64 {
    ((p as u64) << 16) | (k as u64) | (0xa5 << 56)
}

/// Writes the scanned file of `size` bytes (a whole number of pages) in 1 MiB writes.
fn create_scan(name: &str, size: usize) -> TestResult {
    let fd = fs::open(name, O_CREATE | O_RDWR | O_TRUNC).ctx("create the scanned file")?;
    let mut buf = vec![0u8; MIB];
    let mut done = 0;
    while done < size {
        let n = (size - done).min(MIB);
        for (k, w) in buf[..n].chunks_exact_mut(8).enumerate() {
            let (p, at) = ((done + k * 8) / PG, k % (PG / 8));
            w.copy_from_slice(&scan_word(p, at).to_le_bytes());
        }
        if fs::write_all(fd, &buf[..n]).is_err() {
            let _ = fs::close(fd);
            fail!("write of the scanned file failed at offset {:#x}", done);
        }
        done += n;
    }
    let _ = fs::close(fd);
    Ok(())
}

/// A read-only mapping of a file larger than the free memory, shared and then private, each
/// scanned two words per page from start to end: memory reclaim evicts pages read earlier, so the scanning process
/// is not killed, every word read is right, and kstat PAGES_RECLAIMED rises. Only meaningful
/// on a small machine: skipped when more than 48 MiB are free.
pub fn big_scan() -> TestResult {
    const F: &str = "mmscan";
    util::clean(&[F]);
    let free = util::free()? as usize * PG;
    if free > SCAN_SKIP_ABOVE {
        println!("bigscan: skipped: {} MiB free, the file would not fit on a 128 MiB image", free / MIB);
        return Ok(());
    }
    let size = (free + SCAN_MARGIN).next_multiple_of(PG);
    let t0 = util::ticks();
    create_scan(F, size)?;
    let took = util::ticks() - t0;
    println!("bigscan: {} MiB free, wrote {} MiB in {}.{} s", free / MIB, size / MIB, took / 10, took % 10);
    let reclaimed0 = util::kstat(abi::kstat::PAGES_RECLAIMED)?;
    // A shared mapping, then a private one (whose pages are the cached ones until a store).
    let status = util::in_child(|| {
        let Ok(fd) = util::open(F, O_RDWR) else { return 2 };
        for flags in [MAP_SHARED, MAP_PRIVATE] {
            let Ok(a) = map(0, size, PROT_READ, flags, fd, 0) else { return 3 };
            for p in 0..size / PG {
                // Word 0 and one word in the middle of each page.
                for k in [0, p % (PG / 8)] {
                    // SAFETY: a load from the child's own read-only mapping of the file.
                    let got = unsafe { core::ptr::read_volatile((a + p * PG + k * 8) as *const u64) };
                    let want = scan_word(p, k);
                    if got != want {
                        println!("bigscan: word {} of page {} is {:#x}, expected {:#x}", k, p, got, want);
                        return 4;
                    }
                }
            }
            if unmap(a, size).is_err() {
                return 5;
            }
        }
        let _ = fs::close(fd);
        0
    })?;
    let t = util::ticks() - t0 - took;
    ensure!(status == 0, "the scanning process ended with status {} (-1: killed)", status);
    let reclaimed = util::kstat(abi::kstat::PAGES_RECLAIMED)? - reclaimed0;
    let (pages, secs) = (size / PG, t / 10);
    println!("bigscan: scanned {} pages twice in {}.{} s, {} reclaimed", pages, secs, t % 10, reclaimed);
    ensure!(reclaimed > 0, "scanning a file larger than free memory reclaimed no page");
    util::remove(F)?;
    Ok(())
}

/// Memory reclaim across processes: one process maps a file of three quarters of the free
/// memory, reads all of it and sleeps holding the mapping; another then touches anonymous
/// memory worth half the free memory. The file pages the sleeper maps are clean and can be
/// read again, so the kernel must take them back rather than kill the second process.
/// (Skipped, like bigscan, on machines with much memory: `cargo test` runs it at 48 MiB.)
pub fn reclaim_others() -> TestResult {
    const F: &str = "mmothers";
    util::clean(&[F]);
    let free = util::free()? as usize * PG;
    if free > SCAN_SKIP_ABOVE {
        println!("reclaimothers: skipped: {} MiB free", free / MIB);
        return Ok(());
    }
    let size = (free * 3 / 4).next_multiple_of(PG);
    create_scan(F, size)?;
    let ready = util::Signal::new()?;
    let holder = util::spawn(|| {
        let Ok(fd) = util::open(F, abi::O_RDONLY) else { return 2 };
        let Ok(a) = map(0, size, PROT_READ, MAP_SHARED, fd, 0) else { return 3 };
        for p in 0..size / PG {
            // SAFETY: a load from the holder's own read-only mapping of the file.
            let got = unsafe { core::ptr::read_volatile((a + p * PG) as *const u64) };
            if got != scan_word(p, 0) {
                return 4;
            }
        }
        ready.post(1);
        loop {
            let _ = ulib::process::pause(100); // hold the mapping until killed
        }
    })?;
    if !ready.wait() {
        let _ = util::wait_for(holder);
        fail!("the process holding the mapping died before it had read the file");
    }
    let anon = (free / 2).next_multiple_of(PG);
    let status = util::in_child(|| {
        let Ok(a) = map(0, anon, RW, MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0) else { return 2 };
        // SAFETY: the child's own fresh writable mapping.
        let m = unsafe { util::bytes_mut(a, anon) };
        for p in 0..anon / PG {
            m[p * PG] = p as u8;
        }
        let ok = (0..anon / PG).all(|p| m[p * PG] == p as u8);
        if ok {
            0
        } else {
            3
        }
    })?;
    let _ = ulib::process::kill(holder);
    let _ = util::wait_for(holder);
    ensure!(
        status == 0,
        "touching {} MiB of anonymous memory ended with status {} while {} MiB of clean file pages were mapped by a sleeping process",
        anon / MIB,
        status,
        size / MIB
    );
    util::remove(F)
}

/// How many times the free memory `beyondram`'s file is.
const BEYOND_FACTOR: usize = 2;

/// A file twice as large as the free memory, at the default machine size (it needs a disk of
/// more than 256 MiB: a slow case, run only when named): written with `write()` in 1 MiB
/// calls, then read back with `read()`, every word checked, then scanned through a
/// read-only `MAP_SHARED` mapping, two words per page. The page cache cannot hold the file,
/// so both scans live on reclaim; no process is killed.
pub fn beyond_ram() -> TestResult {
    const F: &str = "mmhuge";
    util::clean(&[F]);
    let free = util::free()? as usize * PG;
    let size = (BEYOND_FACTOR * free).next_multiple_of(MIB);
    let t0 = util::ticks();
    create_scan(F, size)?;
    let took = util::ticks() - t0;
    println!("beyondram: {} MiB free, wrote {} MiB in {}.{} s", free / MIB, size / MIB, took / 10, took % 10);
    let st = fs::stat(F).ctx("stat")?;
    ensure!(st.size as usize == size, "the file has size {}, expected {}", st.size, size);
    let reclaimed0 = util::kstat(abi::kstat::PAGES_RECLAIMED)?;
    let t1 = util::ticks();
    let status = util::in_child(|| {
        let Ok(fd) = util::open(F, abi::O_RDONLY) else { return 2 };
        let mut buf = vec![0u8; 64 * 1024];
        let mut off = 0;
        while off < size {
            let n = match fs::read(fd, &mut buf) {
                Ok(n) if n > 0 && n.is_multiple_of(8) => n,
                r => {
                    println!("beyondram: read at offset {:#x} returned {:?}", off, r.map_err(|_| ()));
                    return 3;
                }
            };
            for (k, w) in buf[..n].chunks_exact(8).enumerate() {
                let (p, at) = ((off + k * 8) / PG, (off + k * 8) % PG / 8);
                let got = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                if got != scan_word(p, at) {
                    println!(
                        "beyondram: read: word {} of page {} is {:#x}, expected {:#x}",
                        at,
                        p,
                        got,
                        scan_word(p, at)
                    );
                    return 4;
                }
            }
            off += n;
        }
        if !matches!(fs::read(fd, &mut buf), Ok(0)) {
            return 5;
        }
        let Ok(a) = map(0, size, PROT_READ, MAP_SHARED, fd, 0) else { return 6 };
        for p in 0..size / PG {
            for k in [0, p % (PG / 8)] {
                // SAFETY: a load from the child's own read-only mapping of the file.
                let got = unsafe { core::ptr::read_volatile((a + p * PG + k * 8) as *const u64) };
                if got != scan_word(p, k) {
                    println!(
                        "beyondram: mmap: word {} of page {} is {:#x}, expected {:#x}",
                        k,
                        p,
                        got,
                        scan_word(p, k)
                    );
                    return 7;
                }
            }
        }
        if unmap(a, size).is_err() {
            return 8;
        }
        let _ = fs::close(fd);
        0
    })?;
    let t = util::ticks() - t1;
    ensure!(status == 0, "the scanning process ended with status {} (-1: killed)", status);
    let reclaimed = util::kstat(abi::kstat::PAGES_RECLAIMED)? - reclaimed0;
    println!(
        "beyondram: read and mapped {} pages in {}.{} s, {} reclaimed",
        size / PG,
        t / 10,
        t % 10,
        reclaimed
    );
    ensure!(reclaimed > 0, "scanning a file twice the free memory reclaimed no page");
    util::remove(F)?;
    Ok(())
}

/// `faroffsets`' files, put in the image by the host test (tests/bigfs.rs), which checks the
/// image after the case: `mmfar` is `FAR_SIZE` bytes of holes but for [`FAR_ACROSS`] across
/// byte 4 GiB and [`FAR_END`] in its last bytes; `mmwide` has every block allocated up to
/// past the doubly-indirect range (about 66 MiB) and ends with [`WIDE_END`].
const GIB: usize = 1 << 30;
const FAR_SIZE: usize = 5 * GIB + 123;
const FAR_ACROSS: &[u8] = b"ACROSS4G";
const FAR_END: &[u8] = b"END";
const WIDE_SIZE: usize = (9 + 256 + 256 * 256) * 1024 + 2 * MIB;
const WIDE_END: &[u8] = b"wide!";
/// What the case stores through shared mappings, and where (checked by the host test).
const FAR_STORE: &[u8] = b"STORED";
const FAR_STORE_AT: usize = 4 * GIB + 3 * PG + 7;
const FAR_LAST: &[u8] = b"LASTPAGE";
const FAR_LAST_AT: usize = FAR_SIZE - 20;

/// Compares `want` with the bytes at `addr`.
fn expect_bytes(what: &str, addr: usize, want: &[u8]) -> TestResult {
    // SAFETY: the caller's readable mapping covers `want.len()` bytes at `addr`.
    let got = unsafe { util::bytes(addr, want.len()) };
    ensure!(got == want, "{}: found {:?}, expected {:?}", what, got, want);
    Ok(())
}

/// File offsets past 4 GiB (slow: run only when named, on the image tests/bigfs.rs makes):
/// `stat` reports a 5 GiB size; a shared mapping across byte 4 GiB reads the bytes mkfs put
/// there through the triply-indirect block, and zeros in holes; stores past 4 GiB and in
/// the file's last page reach the disk at munmap (allocating blocks in holes) and read back
/// after the cache is gone; a file reaching past the doubly-indirect range is read at its
/// end and unlinked (its blocks freed in bounded transactions). The host test checks the
/// stores and the image's consistency afterwards.
pub fn far_offsets() -> TestResult {
    let st = fs::stat("mmfar").ctx("stat mmfar (made by tests/bigfs.rs)")?;
    ensure!(st.size as usize == FAR_SIZE, "mmfar has size {}, expected {}", st.size, FAR_SIZE);
    let fd = util::open("mmfar", O_RDWR)?;
    let a = map(0, 8 * PG, RW, MAP_SHARED, fd, 4 * GIB - PG)?;
    expect_bytes("bytes across 4 GiB", a + PG - 3, FAR_ACROSS)?;
    expect_bytes("a hole after 4 GiB", a + 2 * PG, &[0; 16])?;
    // SAFETY: a store into the shared writable mapping (a hole page of the file).
    unsafe { util::bytes_mut(a + FAR_STORE_AT - (4 * GIB - PG), FAR_STORE.len()) }.copy_from_slice(FAR_STORE);
    unmap(a, 8 * PG)?;
    let last = (FAR_SIZE - 1) / PG * PG;
    let b = map(0, PG, RW, MAP_SHARED, fd, last)?;
    expect_bytes("the last bytes", b + FAR_SIZE - FAR_END.len() - last, FAR_END)?;
    expect_bytes("past end-of-file", b + FAR_SIZE - last, &[0; 8])?;
    // SAFETY: a store into the shared writable mapping of the last page.
    unsafe { util::bytes_mut(b + FAR_LAST_AT - last, FAR_LAST.len()) }.copy_from_slice(FAR_LAST);
    unmap(b, PG)?;
    let _ = fs::close(fd);
    // The inode and its cache are gone: map again and read the stores from the disk.
    let fd = util::open("mmfar", abi::O_RDONLY)?;
    let c = map(0, PG, PROT_READ, MAP_PRIVATE, fd, FAR_STORE_AT / PG * PG)?;
    expect_bytes("the store past 4 GiB, read back", c + FAR_STORE_AT % PG, FAR_STORE)?;
    unmap(c, PG)?;
    let d = map(0, PG, PROT_READ, MAP_SHARED, fd, last)?;
    expect_bytes("the store in the last page, read back", d + FAR_LAST_AT - last, FAR_LAST)?;
    unmap(d, PG)?;
    let _ = fs::close(fd);
    let st = fs::stat("mmfar").ctx("stat mmfar again")?;
    ensure!(st.size as usize == FAR_SIZE, "write-back changed the size to {}", st.size);
    // The wide file: its end through the triply-indirect block, then unlink it.
    let st = fs::stat("mmwide").ctx("stat mmwide (made by tests/bigfs.rs)")?;
    ensure!(st.size as usize == WIDE_SIZE, "mmwide has size {}, expected {}", st.size, WIDE_SIZE);
    let fd = util::open("mmwide", abi::O_RDONLY)?;
    let tail = (WIDE_SIZE - 1) / PG * PG;
    let e = map(0, PG, PROT_READ, MAP_SHARED, fd, tail)?;
    expect_bytes("the end of mmwide", e + WIDE_SIZE - WIDE_END.len() - tail, WIDE_END)?;
    unmap(e, PG)?;
    let _ = fs::close(fd);
    let (t0, writes0) = (util::ticks(), util::kstat(abi::kstat::DISK_WRITES)?);
    util::remove("mmwide")?;
    let (t, writes) = (util::ticks() - t0, util::kstat(abi::kstat::DISK_WRITES)? - writes0);
    println!(
        "faroffsets: unlinked a {} MiB file in {}.{} s, {} disk blocks written",
        WIDE_SIZE / MIB,
        t / 10,
        t % 10,
        writes
    );
    Ok(())
}

/// Dirty pages written back under memory pressure: a shared writable mapping of a file larger
/// than the free memory gets a store in every page (two words: word 0 and one in the
/// middle), front to back; reclaim must write back and free the pages stored to earlier
/// rather than kill the process. Then `read()` finds every store in the file, and kstat
/// PAGES_CLEANED shows that reclaim (not only munmap) wrote pages back. Skipped like bigscan
/// on machines with much memory: `cargo test` runs it at 48 MiB.
pub fn big_write() -> TestResult {
    const F: &str = "mmbigw";
    util::clean(&[F]);
    let free = util::free()? as usize * PG;
    if free > SCAN_SKIP_ABOVE {
        println!("bigwrite: skipped: {} MiB free, the file would exceed 64 MiB", free / MIB);
        return Ok(());
    }
    let size = (free + SCAN_MARGIN).next_multiple_of(PG);
    create_scan(F, size)?;
    let cleaned0 = util::kstat(abi::kstat::PAGES_CLEANED)?;
    let stored = |p: usize, k: usize| !scan_word(p, k);
    let status = util::in_child(|| {
        let Ok(fd) = util::open(F, O_RDWR) else { return 2 };
        let Ok(a) = map(0, size, RW, MAP_SHARED, fd, 0) else { return 3 };
        for p in 0..size / PG {
            for k in [0, p % (PG / 8)] {
                // SAFETY: a store into the child's own writable mapping of the file.
                unsafe { core::ptr::write_volatile((a + p * PG + k * 8) as *mut u64, stored(p, k)) };
            }
        }
        if unmap(a, size).is_err() {
            return 4;
        }
        let _ = fs::close(fd);
        0
    })?;
    ensure!(status == 0, "the storing process ended with status {} (-1: killed)", status);
    let cleaned = util::kstat(abi::kstat::PAGES_CLEANED)? - cleaned0;
    // Every page as read() sees it: the two stored words changed, the others as written.
    let fd = util::open(F, abi::O_RDONLY)?;
    let mut page = vec![0u8; PG];
    for p in 0..size / PG {
        if !matches!(fs::read(fd, &mut page), Ok(n) if n == PG) {
            let _ = fs::close(fd);
            fail!("read of page {} of the file failed", p);
        }
        for k in 0..PG / 8 {
            let got = u64::from_le_bytes(page[k * 8..k * 8 + 8].try_into().unwrap());
            let want = if k == 0 || k == p % (PG / 8) { stored(p, k) } else { scan_word(p, k) };
            if got != want {
                let _ = fs::close(fd);
                fail!("word {} of page {} reads {:#x}, expected {:#x}", k, p, got, want);
            }
        }
    }
    let _ = fs::close(fd);
    println!(
        "bigwrite: stored to {} pages of a {} MiB file with {} MiB free, {} written back by reclaim",
        size / PG,
        size / MIB,
        free / MIB,
        cleaned
    );
    ensure!(cleaned > 0, "storing to a file larger than free memory wrote no page back under pressure");
    util::remove(F)
}
