//! Write-back of shared file mappings: only modified pages are written (counted by the kernel
//! counter PAGES_WRITTEN_BACK), and modified pages reach the file when the process unmaps,
//! exits, is killed or execs; exec also frees the old mappings.

use crate::util::{self, check_pattern, map, unmap, Ctx, Signal, TestResult, PG, RW};
use alloc::format;
use ulib::abi::{MAP_PRIVATE, MAP_SHARED, O_RDWR};
use ulib::{fs, process};

/// Pages in the file of [`dirty_only`].
const M: usize = 8;

/// Of M shared pages all read and N written, munmap writes back exactly N; a mapping only
/// read writes back none; a private mapping written all over writes back none.
pub fn dirty_only() -> TestResult {
    const F: &str = "mmdirty";
    util::clean(&[F]);
    util::pattern_file(F, 80, M * PG)?;
    let fd = util::open(F, O_RDWR)?;
    for dirty in [&[1usize, 4, 7][..], &[][..], &[0, 1, 2, 3, 4, 5, 6, 7][..], &[5][..]] {
        // Each round starts from the pattern (the file is rewritten in place, never mapped
        // meanwhile).
        let w = util::open(F, O_RDWR)?;
        let r = fs::write_all(w, &util::pattern_vec(80, M * PG));
        let _ = fs::close(w);
        r.ctx("rewrite of the file")?;
        let a = map(0, M * PG, RW, MAP_SHARED, fd, 0)?;
        // SAFETY: M readable pages of the case's own mapping.
        check_pattern("shared mapping", unsafe { util::bytes(a, M * PG) }, 80, 0)?;
        for &p in dirty {
            // SAFETY: a store into the case's own shared mapping.
            unsafe { util::store_byte(a + p * PG + 17, 0xd0 + p as u8) };
        }
        let before = util::written_back()?;
        unmap(a, M * PG)?;
        let n = util::written_back()? - before;
        ensure!(n == dirty.len() as u64, "{} of {} pages dirtied, munmap wrote back {}", dirty.len(), M, n);
        let data = util::read_file(F)?;
        for &p in dirty {
            ensure!(data[p * PG + 17] == 0xd0 + p as u8, "store to page {} did not reach the file", p);
        }
    }
    // Private mappings never write back.
    let want = util::read_file(F)?;
    let a = map(0, M * PG, RW, MAP_PRIVATE, fd, 0)?;
    // SAFETY: M writable pages of the case's own private mapping.
    unsafe { util::bytes_mut(a, M * PG) }.fill(0x42);
    let before = util::written_back()?;
    unmap(a, M * PG)?;
    let n = util::written_back()? - before;
    ensure!(n == 0, "munmap of a written private mapping wrote back {} pages", n);
    let _ = fs::close(fd);
    let data = util::read_file(F)?;
    ensure!(data == want, "a private mapping's stores reached the file");
    util::remove(F)
}

/// Creates `name` (3 pages of pattern `seed`) and returns a descriptor open for reading and
/// writing.
fn fresh(name: &str, seed: usize) -> Result<i32, alloc::string::String> {
    util::clean(&[name]);
    util::pattern_file(name, seed, 3 * PG)?;
    util::open(name, O_RDWR)
}

/// Checks that `name` holds pattern `seed` except the stores of [`dirty_two`].
fn check_two(name: &str, seed: usize, when: &str) -> TestResult {
    let data = util::read_file(name)?;
    ensure!(data.len() == 3 * PG, "{} changed size to {}", name, data.len());
    ensure!(
        data[10] == 0xe0 && data[2 * PG + 20] == 0xe2,
        "stores to the shared mapping did not reach the file at {} (found {:#x}, {:#x})",
        when,
        data[10],
        data[2 * PG + 20]
    );
    check_pattern("untouched page of the file", &data[PG..2 * PG], seed, PG)
}

/// Stores into pages 0 and 2 of a three-page mapping at `a`.
fn dirty_two(a: usize) {
    // SAFETY: stores into the caller's shared writable mapping.
    unsafe {
        util::store_byte(a + 10, 0xe0);
        util::store_byte(a + 2 * PG + 20, 0xe2);
    }
}

/// A child that exits with a dirty shared mapping (no munmap) writes it back; so does one
/// that dies from a fault.
pub fn exit_writes_back() -> TestResult {
    const F: &str = "mmexit";
    let fd = fresh(F, 81)?;
    let before = util::written_back()?;
    let status = util::in_child(|| {
        let Ok(a) = map(0, 3 * PG, RW, MAP_SHARED, fd, 0) else { return 2 };
        dirty_two(a);
        0
    })?;
    ensure!(status == 0, "child failed with {}", status);
    let n = util::written_back()? - before;
    ensure!(n == 2, "exit wrote back {} pages, expected 2", n);
    check_two(F, 81, "exit")?;
    // A child that is killed by a fault after its stores.
    let fd2 = fresh("mmexit2", 82)?;
    util::expect_killed("a store to unmapped memory after writing a shared mapping", || {
        let Ok(a) = map(0, 3 * PG, RW, MAP_SHARED, fd2, 0) else { return };
        dirty_two(a);
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(0x3f_0000_0000, 1) };
    })?;
    check_two("mmexit2", 82, "death by fault")?;
    let _ = fs::close(fd);
    let _ = fs::close(fd2);
    util::remove(F)?;
    util::remove("mmexit2")
}

/// A child killed with kill() while holding a dirty shared mapping writes it back.
pub fn kill_writes_back() -> TestResult {
    const F: &str = "mmkill";
    let fd = fresh(F, 83)?;
    let ready = Signal::new()?;
    let pid = util::spawn(|| {
        let Ok(a) = map(0, 3 * PG, RW, MAP_SHARED, fd, 0) else { return 2 };
        dirty_two(a);
        ready.post(1);
        loop {
            let _ = process::pause(100);
        }
    })?;
    ensure!(ready.wait(), "child died before its stores");
    process::kill(pid).map_err(|e| format!("kill failed ({})", e))?;
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "killed child exited with {}", status);
    check_two(F, 83, "kill")?;
    let _ = fs::close(fd);
    util::remove(F)
}

/// exec replaces the image: dirty shared pages are written back, the mappings are gone in
/// the new program (a touch there kills it) and their pages are free again.
pub fn exec_writes_back() -> TestResult {
    const F: &str = "mmexec";
    let fd = fresh(F, 84)?;
    let free0 = util::free()?;
    let before = util::written_back()?;
    let status = util::in_child(|| {
        let Ok(a) = map(0, 3 * PG, RW, MAP_SHARED, fd, 0) else { return 2 };
        let Ok(b) = map(0, 16 * PG, RW, ulib::abi::MAP_PRIVATE | ulib::abi::MAP_ANONYMOUS, -1, 0) else {
            return 2;
        };
        // SAFETY: sixteen writable pages of the child's own mapping.
        unsafe { util::bytes_mut(b, 16 * PG) }.fill(1);
        dirty_two(a);
        let _ = process::exec("mmaptests", &["mmaptests", "--exit", "7"]);
        3
    })?;
    // Our descriptor was the last holder of the file: closing it drops the file's page cache,
    // so every page the child used must be free again. Nothing allocates in this process
    // between the two readings (its heap would grow).
    let _ = fs::close(fd);
    let free1 = util::free()?;
    ensure!(status == 7, "child that exec'd ended with {}, expected 7 from the new program", status);
    ensure!(free1 >= free0, "exec with live mappings and exit left {} pages in use", free0 - free1);
    let n = util::written_back()? - before;
    ensure!(n == 2, "exec wrote back {} pages, expected 2", n);
    check_two(F, 84, "exec")?;
    // The new program no longer has the mapping.
    let fd = util::open(F, O_RDWR)?;
    let pid = util::spawn(|| {
        let Ok(a) = map(0, 3 * PG, RW, MAP_SHARED, fd, 0) else { return 2 };
        dirty_two(a);
        let hex = format!("{:x}", a);
        let _ = process::exec("mmaptests", &["mmaptests", "--touch", hex.as_str()]);
        3
    })?;
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "a program exec'd over a mapping could touch its address (status {})", status);
    let _ = fs::close(fd);
    util::remove(F)
}

/// A string in this program's read-only data, printed by the `--marker` helper mode.
pub static EXEC_MARKER: &str = "exec-sees-ORIGINAL";

/// exec reads a program through the same page cache as everything else: a copy of this
/// program changed through a shared mapping (the marker string patched in place) and exec'd
/// before any munmap or write-back runs the changed bytes.
pub fn exec_sees_shared_stores() -> TestResult {
    const COPY: &str = "mmexeccp";
    const OUT: &str = "mmexecout";
    util::clean(&[COPY, OUT]);
    let program = util::read_file("mmaptests")?;
    util::write_file(COPY, &program)?;
    let fd = util::open(COPY, O_RDWR)?;
    let a = map(0, program.len(), RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: the whole writable shared mapping of the copy, used only here.
    let m = unsafe { util::bytes_mut(a, program.len()) };
    let Some(at) = m.windows(EXEC_MARKER.len()).position(|w| w == EXEC_MARKER.as_bytes()) else {
        fail!("the marker string is not in the program file");
    };
    m[at + EXEC_MARKER.len() - 8..at + EXEC_MARKER.len()].copy_from_slice(b"PATCHED!");
    let status = util::in_child(|| {
        let _ = fs::close(1);
        if fs::open(OUT, ulib::abi::O_CREATE | O_RDWR) != Ok(1) {
            return 2;
        }
        let _ = process::exec(COPY, &[COPY, "--marker"]);
        3
    })?;
    unmap(a, program.len())?;
    ensure!(status == 0, "the patched copy ended with status {}", status);
    let out = util::read_file(OUT)?;
    ensure!(
        out.windows(8).any(|w| w == b"PATCHED!"),
        "exec ran the bytes on the disk, not the page cache's: it printed {:?}",
        core::str::from_utf8(&out).unwrap_or("?")
    );
    util::remove(COPY)?;
    util::remove(OUT)
}

/// What `--store-poweroff` stores at the start of each page of its file.
pub const POWEROFF_TEXT: &[u8] = b"stored through a mapping, then poweroff";

/// The `--store-poweroff FILE` helper: a file of two pages of `.`, a shared writable mapping
/// of it, [`POWEROFF_TEXT`] stored at the start of each page, and `poweroff(0)` with the
/// mapping still in place: the kernel must write the stores back before it stops.
pub fn store_then_poweroff(name: &str) -> i32 {
    let Ok(fd) = ulib::fs::open(name, ulib::abi::O_CREATE | O_RDWR | ulib::abi::O_TRUNC) else { return 2 };
    if ulib::fs::write_all(fd, &[b'.'; 2 * PG]).is_err() {
        return 3;
    }
    let Ok(a) = util::map(0, 2 * PG, RW, MAP_SHARED, fd, 0) else { return 4 };
    for page in 0..2 {
        // SAFETY: the process's own shared writable mapping of two pages.
        let m = unsafe { util::bytes_mut(a + page * PG, POWEROFF_TEXT.len()) };
        m.copy_from_slice(POWEROFF_TEXT);
    }
    ulib::println!("stored; powering off");
    ulib::process::poweroff(0)
}

/// Pages in the file of [`batched`]: direct, singly- and doubly-indirect blocks, and more
/// than one write-back batch of the kernel (32 pages).
const BATCH_PAGES: usize = 80;

/// Byte offsets stored to in each dirtied page of [`batched`]: one in each of its four disk
/// blocks.
const IN_PAGE: [usize; 4] = [5, 1024 + 6, 2048 + 7, 3072 + 8];

/// The byte [`batched`] stores at `off` of the file.
pub fn stored_byte(off: usize) -> u8 {
    (off / PG) as u8 ^ 0x5a ^ (off % 7) as u8
}

/// munmap writes back a run of contiguous dirty pages longer than a batch, crossing the
/// direct/indirect boundaries, and scattered ones, including a partial last page: after the
/// file's cache is dropped (no descriptor or mapping holds it), the file read again from the
/// disk holds every store and nothing else changed, and its size is unchanged.
pub fn batched() -> TestResult {
    const F: &str = "mmbatch";
    let size = BATCH_PAGES * PG - 1000; // the last page has three live blocks
    util::clean(&[F]);
    util::pattern_file(F, 85, size)?;
    let dirty: alloc::vec::Vec<usize> = (0..40).chain([45, 50, 51, 63, 70, BATCH_PAGES - 1]).collect();
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, BATCH_PAGES * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    let live = |off: usize| off < size;
    for &p in &dirty {
        for off in IN_PAGE.iter().map(|&o| p * PG + o).filter(|&o| live(o)) {
            // SAFETY: a store into the case's own shared mapping, inside the file.
            unsafe { util::store_byte(a + off, stored_byte(off)) };
        }
    }
    let before = util::written_back()?;
    unmap(a, BATCH_PAGES * PG)?;
    let n = util::written_back()? - before;
    ensure!(n == dirty.len() as u64, "{} pages dirtied, munmap wrote back {}", dirty.len(), n);
    // Nothing holds the file now: its cache is gone, and this reads the disk.
    let reads = util::kstat(ulib::abi::kstat::DISK_READS)?;
    let data = util::read_file(F)?;
    let read = util::kstat(ulib::abi::kstat::DISK_READS)? - reads;
    ensure!(read >= size.div_ceil(1024) as u64, "the file came from the cache ({} blocks read)", read);
    check_stores(&data, size, 85, &dirty)?;
    util::remove(F)
}

/// Checks that `data` (a file of `size` bytes of pattern `seed`) holds the stores of
/// [`batched`] in the pages `dirty` and the pattern everywhere else.
pub fn check_stores(data: &[u8], size: usize, seed: usize, dirty: &[usize]) -> TestResult {
    ensure!(data.len() == size, "the file's size changed from {} to {}", size, data.len());
    let stored = |off: usize| dirty.contains(&(off / PG)) && IN_PAGE.contains(&(off % PG));
    for (off, &b) in data.iter().enumerate() {
        let want = if stored(off) { stored_byte(off) } else { util::pattern(seed, off) };
        ensure!(b == want, "file byte {} (page {}) is {:#x}, expected {:#x}", off, off / PG, b, want);
    }
    Ok(())
}
