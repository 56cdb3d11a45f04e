//! File mappings in one process: contents and the zero tail past end-of-file, private writes
//! that never reach the file, the open-mode rules for shared writable mappings, write-back at
//! munmap clamped to the file size, untouched pages past end-of-file, laziness (the first
//! touch sees the file as it is then), mappings that outlive close and unlink, MAP_POPULATE,
//! `read`/`write`/`O_TRUNC` agreeing with a shared mapping of the same file, and zeros past
//! end-of-file in pages filled from the disk into recycled frames.

use crate::util::{self, check_pattern, check_zero, map, unmap, Ctx, TestResult, PG, RW};
use ulib::abi::{self, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_READ, PROT_WRITE};
use ulib::fs;

/// A 1.5-page file mapped private and read-only shows its bytes, then zeros to the end of the
/// second page; the mapping is readable to its last byte.
pub fn private_read() -> TestResult {
    const F: &str = "mmread";
    const LEN: usize = PG + PG / 2;
    util::clean(&[F]);
    util::pattern_file(F, 1, LEN)?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, LEN, PROT_READ, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: the mapping covers two readable pages.
    let m = unsafe { util::bytes(a, 2 * PG) };
    check_pattern("mapped file", &m[..LEN], 1, 0)?;
    check_zero("tail of the last page past end-of-file", &m[LEN..])?;
    // Reading twice gives the same bytes (the pages stay mapped).
    check_pattern("mapped file, read again", &m[..LEN], 1, 0)?;
    unmap(a, LEN)?;
    util::remove(F)
}

/// A MAP_PRIVATE, writable mapping of a file opened read-only takes writes (to the end of the
/// mapping, past end-of-file included) that the process reads back but the file never sees.
pub fn private_write() -> TestResult {
    const F: &str = "mmpriv";
    const LEN: usize = 2 * PG + 100;
    util::clean(&[F]);
    util::pattern_file(F, 2, LEN)?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, 3 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: three writable pages, used only here.
    let m = unsafe { util::bytes_mut(a, 3 * PG) };
    for (i, b) in m.iter_mut().enumerate() {
        *b = util::pattern(3, i);
    }
    check_pattern("private mapping after writes", m, 3, 0)?;
    unmap(a, 3 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "file size changed from {} to {}", LEN, data.len());
    check_pattern("file behind a written private mapping", &data, 2, 0)?;
    util::remove(F)
}

/// MAP_SHARED with PROT_WRITE needs a file opened for writing; read-only sharing and private
/// writable mappings of the same descriptor are fine.
pub fn shared_on_readonly_fd() -> TestResult {
    const F: &str = "mmshro";
    util::clean(&[F]);
    util::pattern_file(F, 4, PG)?;
    let fd = util::open(F, O_RDONLY)?;
    for prot in [PROT_WRITE, RW, RW | abi::PROT_EXEC] {
        let r = util::raw_mmap(0, PG, prot, MAP_SHARED, fd, 0);
        ensure!(r == -1, "MAP_SHARED with prot {} on an O_RDONLY descriptor returned {:#x}", prot, r);
    }
    let a = map(0, PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let b = map(0, PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: both mappings are one readable page.
    let (ma, mb) = unsafe { (util::bytes(a, PG), util::bytes(b, PG)) };
    check_pattern("shared read-only mapping", ma, 4, 0)?;
    check_pattern("private writable mapping", mb, 4, 0)?;
    unmap(a, PG)?;
    unmap(b, PG)?;
    // The same file opened read-write may be mapped shared and writable.
    let fd = util::open(F, O_RDWR)?;
    let c = map(0, PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    unmap(c, PG)?;
    util::remove(F)
}

/// Stores through a shared mapping of a 2.5-page file reach the file: the first page when it
/// alone is unmapped, the rest at the final munmap. Bytes past end-of-file are not written:
/// the file keeps its size.
pub fn shared_writeback() -> TestResult {
    const F: &str = "mmshwb";
    const LEN: usize = 2 * PG + PG / 2;
    util::clean(&[F]);
    util::pattern_file(F, 5, LEN)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 3 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: three writable pages, used only here.
    let m = unsafe { util::bytes_mut(a, 3 * PG) };
    check_pattern("shared mapping before writes", &m[..LEN], 5, 0)?;
    for (i, b) in m.iter_mut().enumerate() {
        *b = util::pattern(6, i);
    }
    unmap(a, PG)?;
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "file size is {} after a partial munmap, expected {}", data.len(), LEN);
    check_pattern("first page of the file after munmap of that page", &data[..PG], 6, 0)?;
    // The rest of the mapping is intact.
    // SAFETY: pages 1 and 2 are still mapped.
    let rest = unsafe { util::bytes(a + PG, 2 * PG) };
    check_pattern("rest of the mapping after a partial munmap", rest, 6, PG)?;
    unmap(a + PG, 2 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "file size is {} after munmap, expected {} (never grown)", data.len(), LEN);
    check_pattern("file after munmap", &data, 6, 0)?;
    util::remove(F)
}

/// munmap of pages never touched returns 0, also for a page wholly past end-of-file; touching
/// such a page (while mapped) kills the process.
pub fn untouched_past_eof() -> TestResult {
    const F: &str = "mmeof";
    const LEN: usize = 100;
    util::clean(&[F]);
    util::pattern_file(F, 7, LEN)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 4 * PG, RW, MAP_SHARED, fd, 0)?;
    let b = map(0, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    util::expect_killed("reading a mapped page wholly past end-of-file", || {
        // SAFETY: the load is meant to kill the process.
        core::hint::black_box(unsafe { util::load_byte(a + 2 * PG) });
    })?;
    util::expect_killed("writing a mapped page wholly past end-of-file", || {
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(a + PG + 8, 1) };
    })?;
    util::expect_killed("reading a private page wholly past end-of-file", || {
        // SAFETY: the load is meant to kill the process.
        core::hint::black_box(unsafe { util::load_byte(b + PG) });
    })?;
    unmap(a + 3 * PG, PG)?; // untouched, past end-of-file
    unmap(a + PG, PG)?; // untouched, past end-of-file
    unmap(b, 3 * PG)?; // untouched, first page inside the file
                       // The first page still works, its tail past end-of-file reads as zeros.
                       // SAFETY: page 0 of `a` is mapped and readable.
    let m = unsafe { util::bytes(a, PG) };
    check_pattern("first page", &m[..LEN], 7, 0)?;
    check_zero("first page past end-of-file", &m[LEN..])?;
    unmap(a, 3 * PG)?; // partly unmapped already
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "file size is {}, expected {}", data.len(), LEN);
    util::remove(F)
}

/// mmap reads nothing and allocates no page: data written to the file after mmap, before the
/// first touch, is what the first touch sees.
pub fn lazy() -> TestResult {
    const F: &str = "mmlazy";
    util::clean(&[F]);
    util::pattern_file(F, 8, 4 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    // This program's text is mapped lazily from its file: read the whole file first, so that
    // its pages are in the page cache and a first fault on code below (which would read the
    // program file) does not count as mmap reading the disk.
    let prog = util::open("mmaptests", abi::O_RDONLY)?;
    let mut chunk = alloc::vec![0u8; PG];
    while matches!(fs::read(prog, &mut chunk), Ok(n) if n > 0) {}
    let _ = fs::close(prog);
    drop(chunk);
    let free0 = util::free()?;
    let reads0 = util::kstat(abi::kstat::DISK_READS)?;
    let a = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let b = map(0, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0)?;
    let reads1 = util::kstat(abi::kstat::DISK_READS)?;
    let free1 = util::free()?;
    ensure!(reads1 == reads0, "mmap read the disk ({} block reads)", reads1 - reads0);
    ensure!(free1 >= free0, "mmap of 8 pages took {} pages before any touch", free0 - free1);
    // Rewrite the whole file after mmap.
    let new = util::pattern_vec(9, 4 * PG);
    let wfd = util::open(F, O_RDWR)?;
    fs::write_all(wfd, &new).ctx("rewrite of the file")?;
    let _ = fs::close(wfd);
    // SAFETY: both mappings are four readable pages.
    let (ma, mb) = unsafe { (util::bytes(a, 4 * PG), util::bytes(b, 4 * PG)) };
    check_pattern("shared mapping touched after the file changed", ma, 9, 0)?;
    check_pattern("private mapping touched after the file changed", mb, 9, 0)?;
    let _ = fs::close(fd);
    unmap(a, 4 * PG)?;
    unmap(b, 4 * PG)?;
    util::remove(F)
}

/// Two files mapped, their descriptors closed and their names unlinked: both mappings still
/// read the files; unmapping one leaves the other intact.
pub fn close_unlink() -> TestResult {
    const F1: &str = "mmcu1";
    const F2: &str = "mmcu2";
    util::clean(&[F1, F2]);
    util::pattern_file(F1, 10, 3 * PG)?;
    util::pattern_file(F2, 11, 2 * PG + 10)?;
    let fd1 = util::open(F1, O_RDWR)?;
    let fd2 = util::open(F2, O_RDONLY)?;
    let a = map(0, 3 * PG, RW, MAP_SHARED, fd1, 0)?;
    let b = map(0, 3 * PG, PROT_READ, MAP_PRIVATE, fd2, 0)?;
    fs::close(fd1).ctx("close")?;
    fs::close(fd2).ctx("close")?;
    util::remove(F1)?;
    util::remove(F2)?;
    ensure!(fs::open(F1, O_RDONLY).is_err(), "{} still opens after unlink", F1);
    // SAFETY: the mappings are readable; `a` is writable and used only here.
    let (ma, mb) = unsafe { (util::bytes_mut(a, 3 * PG), util::bytes(b, 2 * PG + 10)) };
    check_pattern("first file after close and unlink", ma, 10, 0)?;
    check_pattern("second file after close and unlink", mb, 11, 0)?;
    ma[5] = 0x5a; // a store to the unlinked file's shared page
    unmap(a, 3 * PG)?;
    check_pattern("second file after the first was unmapped", mb, 11, 0)?;
    unmap(b, 3 * PG)?;
    Ok(())
}

/// MAP_POPULATE maps every page at mmap time: the pages show the file and later touches
/// need no fault.
pub fn populate() -> TestResult {
    const F: &str = "mmpop";
    util::clean(&[F]);
    util::pattern_file(F, 12, 4 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, 4 * PG, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0)?;
    let maps = ulib::process::vmmaps(0).map_err(|e| alloc::format!("vmmaps failed ({})", e))?;
    let resident = maps.iter().find(|m| m.start == a as u64).map_or(0, |m| m.resident);
    ensure!(resident == 4, "MAP_POPULATE of 4 file pages left {} of them present", resident);
    let faults0 = util::kstat(abi::kstat::FILE_FAULTS)?;
    // SAFETY: four readable pages.
    let m = unsafe { util::bytes(a, 4 * PG) };
    check_pattern("populated mapping", m, 12, 0)?;
    let faults1 = util::kstat(abi::kstat::FILE_FAULTS)?;
    ensure!(faults1 == faults0, "touching populated pages took {} file faults", faults1 - faults0);
    let _ = fs::close(fd);
    unmap(a, 4 * PG)?;
    // An anonymous populated mapping is zeroed and present.
    let free2 = util::free()?;
    let b = map(0, 8 * PG, RW, MAP_PRIVATE | abi::MAP_ANONYMOUS | MAP_POPULATE, -1, 0)?;
    let free3 = util::free()?;
    ensure!(
        free2 >= free3 + 8,
        "MAP_POPULATE of 8 anonymous pages took only {}",
        free2.saturating_sub(free3)
    );
    // SAFETY: eight readable pages.
    check_zero("populated anonymous mapping", unsafe { util::bytes(b, 8 * PG) })?;
    unmap(b, 8 * PG)?;
    util::remove(F)
}

/// `write()` and `read()` agree with a shared mapping of the same file at every moment: a
/// write is seen through the mapping at once, a store through the mapping is seen by read()
/// before any write-back, and the write-back at munmap clobbers neither (only the stored byte
/// and the written bytes changed). A write that grows the file shows in the mapping's tail,
/// and after O_TRUNC the mapping has nothing inside the file (a touch kills), then shows what
/// is written next; the write-back of a page dirtied before the truncation does not bring the
/// old bytes back.
pub fn write_coherent() -> TestResult {
    const F: &str = "mmcoher";
    const LEN: usize = 3 * PG;
    const W: usize = PG + 3; // write() covers [0, W): all of page 0 and 3 bytes of page 1
    util::clean(&[F]);
    util::pattern_file(F, 60, LEN)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, LEN, RW, MAP_SHARED, fd, 0)?;
    // SAFETY: three writable pages, used only here.
    let m = unsafe { util::bytes_mut(a, LEN) };
    check_pattern("mapping before any change", m, 60, 0)?;
    m[PG + 5] = 0xaa; // a store through the mapping, not written back yet
    let wfd = util::open(F, O_RDWR)?;
    fs::write_all(wfd, &util::pattern_vec(61, W)).ctx("write() over a mapped file")?;
    let _ = fs::close(wfd);
    check_pattern("mapping right after write()", &m[..W], 61, 0)?;
    check_pattern("mapping past the written range", &m[W..PG + 5], 60, W)?;
    ensure!(m[PG + 5] == 0xaa, "the mapping's own store was lost: {:#x}", m[PG + 5]);
    let mut expect = util::pattern_vec(60, LEN);
    expect[..W].copy_from_slice(&util::pattern_vec(61, W));
    expect[PG + 5] = 0xaa;
    let data = util::read_file(F)?;
    ensure!(data == expect, "read() before munmap does not show the file as the mapping does");
    unmap(a, LEN)?;
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "file size {} after munmap, expected {}", data.len(), LEN);
    ensure!(data == expect, "write-back at munmap clobbered write() or lost the store");

    // Growth: a 1.5-page file mapped over 2 pages sees bytes appended past its old end.
    const SHORT: usize = PG + PG / 2;
    util::pattern_file(F, 62, SHORT)?;
    let b = map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?;
    // SAFETY: two writable pages, used only here.
    let m = unsafe { util::bytes_mut(b, 2 * PG) };
    check_zero("tail past end-of-file before the file grows", &m[SHORT..])?;
    let wfd = util::open(F, O_RDWR)?;
    let mut grown = util::pattern_vec(62, SHORT);
    grown.extend_from_slice(&[0x5c; 100]);
    fs::write_all(wfd, &grown).ctx("write() growing a mapped file")?;
    let _ = fs::close(wfd);
    ensure!(m[SHORT..SHORT + 100].iter().all(|&x| x == 0x5c), "appended bytes not seen through the mapping");
    check_zero("tail past the new end-of-file", &m[SHORT + 100..])?;

    // Truncation: dirty the page, truncate (the mapping's pages are now past the end: a
    // touch kills), write 10 bytes; the mapping shows exactly them, then zeros to the end of
    // that page, and its second page is still past the end.
    m[7] = 0x11;
    let tfd = fs::open(F, abi::O_RDWR | abi::O_TRUNC).ctx("open with O_TRUNC")?;
    util::expect_killed("touching a mapping of a file truncated to nothing", || {
        core::hint::black_box(m[0]);
    })?;
    fs::write_all(tfd, &[0x77; 10]).ctx("write() after O_TRUNC")?;
    let _ = fs::close(tfd);
    ensure!(m[..10].iter().all(|&x| x == 0x77), "bytes written after O_TRUNC not seen through the mapping");
    check_zero("mapping past the 10 bytes written after O_TRUNC", &m[10..PG])?;
    util::expect_killed("touching the second page of a mapping of a 10-byte file", || {
        core::hint::black_box(m[PG]);
    })?;
    unmap(b, 2 * PG)?;
    let _ = fs::close(fd);
    let data = util::read_file(F)?;
    ensure!(
        data == [0x77; 10],
        "file after truncate, write and munmap is {} bytes, not the 10 written",
        data.len()
    );
    util::remove(F)
}

/// A file whose last mapping went and which was unlinked gives its inode number to the next
/// file created, and that file's mappings show its own bytes: the page cache belongs to the
/// in-memory inode and goes with it, so no cache is ever found again by inode number.
pub fn inode_reuse() -> TestResult {
    const A: &str = "mmreuse1";
    const B: &str = "mmreuse2";
    util::clean(&[A, B]);
    util::pattern_file(A, 31, 2 * PG)?;
    let ino = fs::stat(A).ctx("stat")?.ino;
    let fd = util::open(A, O_RDONLY)?;
    let a = map(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: two readable pages of the mapping.
    check_pattern("the first file through its mapping", unsafe { util::bytes(a, 2 * PG) }, 31, 0)?;
    unmap(a, 2 * PG)?;
    util::remove(A)?;
    util::pattern_file(B, 32, 2 * PG)?;
    let reused = fs::stat(B).ctx("stat")?.ino;
    ensure!(reused == ino, "the new file got inode {}, not the freed {}: nothing to check", reused, ino);
    let fd = util::open(B, O_RDONLY)?;
    let b = map(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: as above.
    let r =
        check_pattern("the new file with the reused inode number", unsafe { util::bytes(b, 2 * PG) }, 32, 0);
    unmap(b, 2 * PG)?;
    r?;
    util::remove(B)
}

/// A file read from the disk into frames that held other data (a page-cache fill does not
/// zero its readahead frames first, since it writes every byte): a mapping, then `read()`,
/// each on a cold cache, show the file's bytes and zeros past end-of-file, both in the
/// partial last block and in the last page's block wholly past it.
pub fn cold_tail() -> TestResult {
    const F: &str = "mmcoldtail";
    const PAGES: usize = 5;
    const LEN: usize = PAGES * PG - 1500;
    util::clean(&[F]);
    util::pattern_file(F, 3, LEN)?;
    // Nothing holds the file now, so its cache is gone: each look below reads the disk.
    let reads = util::kstat(abi::kstat::DISK_READS)?;
    junk_free_frames()?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, PAGES * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: the mapping covers PAGES readable pages, the last one partly inside the file.
    let m = unsafe { util::bytes(a, PAGES * PG) };
    check_pattern("cold mapping of the file", &m[..LEN], 3, 0)?;
    check_zero("cold mapping past end-of-file", &m[LEN..])?;
    unmap(a, PAGES * PG)?;
    junk_free_frames()?;
    let data = util::read_file(F)?;
    ensure!(data.len() == LEN, "read() of the file gave {} bytes, expected {}", data.len(), LEN);
    check_pattern("cold read() of the file", &data, 3, 0)?;
    let read = util::kstat(abi::kstat::DISK_READS)? - reads;
    ensure!(read >= 2 * LEN.div_ceil(1024) as u64, "the file came from the cache ({} blocks read)", read);
    util::remove(F)
}

/// Leaves 64 pages full of 0xee at the head of the kernel's free list (the next pages it
/// hands out).
fn junk_free_frames() -> TestResult {
    let junk = map(0, 64 * PG, RW, MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: 64 writable pages of the case's own anonymous mapping.
    unsafe { util::bytes_mut(junk, 64 * PG) }.fill(0xee);
    unmap(junk, 64 * PG)
}
