//! Copy-on-write fork: after fork, parent and child share every private page read-only, and
//! the first store by either side copies it, or makes it writable again when the other side
//! no longer holds it. The cases check what each side sees (heap, stack, data, bss, private
//! anonymous and private file mappings), a page shared by three processes, a store after the
//! other side exited (nothing copied: the kernel's COW_FAULTS and free-page counts), a
//! `read()` into a shared page, fork + exec copying nothing, and running out of memory at a
//! copy (only that process dies).
//!
//! The copy-on-write counter is global: a case reads it around one store while every other
//! process it made is blocked on a pipe, so the difference is that store's alone.

use crate::util::{self, check_pattern, map, unmap, Signal, TestResult, PG, RW};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use ulib::abi::{self, MAP_ANONYMOUS, MAP_PRIVATE, O_RDONLY, O_RDWR};
use ulib::{fs, process};

/// A word in .data (its initial value is not zero).
static DATA_WORD: AtomicU64 = AtomicU64::new(0x5eed_5eed);
/// A word in .bss.
static BSS_WORD: AtomicU64 = AtomicU64::new(0);

/// The copy-on-write fault counter.
fn cow_faults() -> Result<u64, alloc::string::String> {
    util::kstat(abi::kstat::COW_FAULTS)
}

/// The places one process stores its own values into after fork: a heap buffer, a stack
/// buffer, the .data and .bss words, a private anonymous mapping and a private file mapping
/// (page 0 copied by a store before fork, page 1 still the page cache's page).
struct Places<'a> {
    heap: &'a mut [u8],
    stack: &'a mut [u8],
    anon: usize,
    file: usize,
}

impl Places<'_> {
    /// Stores `v` everywhere (but in file page 1 only when `page1`).
    fn store(&mut self, v: u8, page1: bool) {
        self.heap[100] = v;
        // The stack buffer is read back through `black_box`, so the store really happens.
        self.stack[7] = v;
        core::hint::black_box(&mut *self.stack);
        DATA_WORD.store(u64::from(v), Ordering::Relaxed);
        BSS_WORD.store(u64::from(v) << 8, Ordering::Relaxed);
        // SAFETY: the mappings are two writable pages each, used only by this case.
        unsafe {
            util::store_byte(self.anon + 5, v);
            util::store_byte(self.anon + PG + 5, v);
            util::store_byte(self.file + 9, v);
            if page1 {
                util::store_byte(self.file + PG + 9, v);
            }
        }
    }

    /// Checks that every place holds `v` (file page 1: `page1`); `who` names the process.
    fn check(&self, who: &str, v: u8, page1: u8) -> TestResult {
        ensure!(self.heap[100] == v, "{}: heap byte is {:#x}, expected {:#x}", who, self.heap[100], v);
        let s = core::hint::black_box(&*self.stack)[7];
        ensure!(s == v, "{}: stack byte is {:#x}, expected {:#x}", who, s, v);
        let d = DATA_WORD.load(Ordering::Relaxed);
        ensure!(d == u64::from(v), "{}: .data word is {:#x}, expected {:#x}", who, d, v);
        let b = BSS_WORD.load(Ordering::Relaxed);
        ensure!(b == u64::from(v) << 8, "{}: .bss word is {:#x}, expected {:#x}", who, b, u64::from(v) << 8);
        for (name, at) in [
            ("anonymous page 0", self.anon + 5),
            ("anonymous page 1", self.anon + PG + 5),
            ("file page 0 (copied before fork)", self.file + 9),
            ("file page 1 (the cached page at fork)", self.file + PG + 9),
        ] {
            let v = if at == self.file + PG + 9 { page1 } else { v };
            // SAFETY: as in `store`.
            let got = unsafe { util::load_byte(at) };
            ensure!(got == v, "{}: {} holds {:#x}, expected {:#x}", who, name, got, v);
        }
        Ok(())
    }
}

/// Parent and child both store after fork, each its own value, to every kind of private
/// page; each then sees only its own values, and the file behind the private mapping is
/// untouched.
pub fn private_both_ways() -> TestResult {
    const F: &str = "mmcow";
    util::clean(&[F]);
    util::pattern_file(F, 40, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let file = map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    let anon = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let mut heap = vec![0u8; 2 * PG];
    let mut stack = [0u8; 64];
    let mut places = Places { heap: &mut heap, stack: &mut stack, anon, file };
    // Page 1 of the file mapping is only read: it stays the page cache's page until a store.
    places.store(0x11, false);
    let file_byte = util::pattern(40, PG + 9);
    // SAFETY: the private file mapping is two readable pages.
    ensure!(unsafe { util::load_byte(file + PG + 9) } == file_byte, "file page 1 is not the file's");
    let to_parent = Signal::new()?;
    let to_child = Signal::new()?;
    let before = cow_faults()?;
    let pid = util::spawn(|| {
        // The child stores first, then lets the parent store, then checks.
        places.store(0x22, true);
        to_parent.post(1);
        if !to_child.wait() {
            return 3;
        }
        match places.check("child", 0x22, 0x22) {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("cowprivate: {}", e);
                2
            }
        }
    })?;
    ensure!(to_parent.wait(), "the child died before its stores");
    places.check("parent, after the child's stores", 0x11, file_byte)?;
    places.store(0x33, true);
    to_child.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the child saw other values than its own (status {})", status);
    places.check("parent", 0x33, 0x33)?;
    ensure!(cow_faults()? > before, "stores to pages shared since fork made no copy-on-write fault");
    unmap(anon, 2 * PG)?;
    unmap(file, 2 * PG)?;
    let data = util::read_file(F)?;
    check_pattern("the file behind the private mapping", &data, 40, 0)?;
    util::remove(F)
}

/// One page shared by three processes (the parent forks twice): the first two stores copy
/// it (one copy-on-write fault each), the third finds the frame its own and copies nothing;
/// each process keeps its own value.
pub fn three_sharers() -> TestResult {
    let a = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: one writable page used only by this case.
    unsafe { util::store_byte(a, 0x10) };
    let go: [Signal; 2] = [Signal::new()?, Signal::new()?];
    let done = Signal::new()?;
    let finish = Signal::new()?;
    let mut pids = Vec::new();
    for (k, v) in [(0usize, 0x21u8), (1, 0x32)] {
        let (go, done, finish) = (&go[k], &done, &finish);
        pids.push(util::spawn(move || {
            if !go.wait() {
                return 3;
            }
            // SAFETY: the inherited page.
            unsafe { util::store_byte(a, v) };
            done.post(1);
            if !finish.wait() {
                return 3;
            }
            // SAFETY: as above.
            i32::from(unsafe { util::load_byte(a) } != v) * 2
        })?);
    }
    // Both children are blocked on their pipes: each store below is the only one running.
    let mut copies = Vec::new();
    for g in &go {
        let before = cow_faults()?;
        g.post(1);
        ensure!(done.wait(), "a child died before its store");
        copies.push(cow_faults()? - before);
    }
    let before = cow_faults()?;
    // SAFETY: the parent's page.
    unsafe { util::store_byte(a, 0x43) };
    let last = cow_faults()? - before;
    finish.post(2);
    let statuses = util::wait_all(&pids)?;
    ensure!(statuses == [0, 0], "a child lost its own value (statuses {:?})", statuses);
    // SAFETY: as above.
    let mine = unsafe { util::load_byte(a) };
    ensure!(mine == 0x43, "the parent's page holds {:#x}, expected 0x43", mine);
    ensure!(copies == [1, 1], "the first two stores made {:?} copy-on-write faults, expected 1 each", copies);
    ensure!(last == 0, "the last holder's store made {} copy-on-write faults, expected none", last);
    unmap(a, PG)
}

/// Pages shared with a child that exits without touching them: the parent's later stores
/// copy nothing (no copy-on-write fault, no page taken from the free pool).
pub fn after_exit() -> TestResult {
    const PAGES: usize = 16;
    let a = map(0, PAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    for p in 0..PAGES {
        // SAFETY: the writable mapping made above.
        unsafe { util::store_byte(a + p * PG, p as u8 + 1) };
    }
    let status = util::in_child(|| 0)?;
    ensure!(status == 0, "the child ended with {}", status);
    let (cow0, free0) = (cow_faults()?, util::kstat(abi::kstat::FREE_PAGES)?);
    for p in 0..PAGES {
        // SAFETY: as above.
        unsafe { util::store_byte(a + p * PG + 1, 0x77) };
    }
    let (cow1, free1) = (cow_faults()?, util::kstat(abi::kstat::FREE_PAGES)?);
    ensure!(cow1 == cow0, "{} copy-on-write faults for pages no one else held", cow1 - cow0);
    ensure!(free1 == free0, "stores to pages no one else held took {} pages", free0 as i64 - free1 as i64);
    for p in 0..PAGES {
        // SAFETY: as above.
        let (x, y) = unsafe { (util::load_byte(a + p * PG), util::load_byte(a + p * PG + 1)) };
        ensure!(x == p as u8 + 1 && y == 0x77, "page {} holds {:#x} {:#x}", p, x, y);
    }
    unmap(a, PAGES * PG)
}

/// `read()` into a page shared since fork: the kernel copies the page before it stores, so
/// the child's buffer gets the file's bytes and the parent's keeps its own.
pub fn read_into_shared() -> TestResult {
    const F: &str = "mmcowrd";
    util::clean(&[F]);
    util::pattern_file(F, 41, PG)?;
    let buf = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the writable page made above, used only here.
    let b = unsafe { util::bytes_mut(buf, PG) };
    b.fill(0x5a);
    util::expect_child_ok("reading a file into a page shared with its parent", || {
        let Ok(fd) = fs::open(F, O_RDONLY) else { return 4 };
        let before = cow_faults().unwrap_or(u64::MAX);
        let r = fs::read(fd, b);
        let after = cow_faults().unwrap_or(0);
        let _ = fs::close(fd);
        if r != Ok(PG) {
            return 5;
        }
        if after <= before {
            return 6; // the kernel wrote into the shared frame without copying it
        }
        i32::from(check_pattern("child's buffer", b, 41, 0).is_err()) * 2
    })?;
    ensure!(b.iter().all(|&x| x == 0x5a), "the child's read() changed the parent's buffer");
    unmap(buf, PG)?;
    util::remove(F)
}

/// Fork + exec copies nothing: a parent with 64 private pages written forks a child that
/// execs at once; the few copy-on-write faults are the child's stack before exec, not the
/// 64 pages, and afterwards the parent's stores to them copy nothing either (exec dropped
/// the child's references).
pub fn fork_exec() -> TestResult {
    const PAGES: usize = 64;
    let a = map(0, PAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    for p in 0..PAGES {
        // SAFETY: the writable mapping made above.
        unsafe { util::store_byte(a + p * PG, 1) };
    }
    let before = cow_faults()?;
    let pid = util::spawn(|| {
        let e = process::exec("mmaptests", &["mmaptests", "--exit", "0"]);
        ulib::println!("cowexec: exec failed ({})", e);
        9
    })?;
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the exec'd child ended with {}", status);
    let during = cow_faults()? - before;
    ensure!(during < 8, "fork + exec made {} copy-on-write faults (it copied the parent's pages)", during);
    let before = cow_faults()?;
    for p in 0..PAGES {
        // SAFETY: as above.
        unsafe { util::store_byte(a + p * PG, 2) };
    }
    let after = cow_faults()? - before;
    ensure!(after == 0, "the parent's stores after the child exec'd made {} copies", after);
    unmap(a, PAGES * PG)
}

/// A child that has taken every free page and then stores to pages shared with its parent
/// is killed when a copy cannot be had; the parent's pages keep their bytes, and every page
/// comes back (the harness checks the free count).
pub fn copy_oom() -> TestResult {
    const PAGES: usize = 2048;
    let a = map(0, PAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    for p in 0..PAGES {
        // SAFETY: the writable mapping made above.
        unsafe { util::store_byte(a + p * PG, (p % 251) as u8 + 1) };
    }
    util::expect_killed("copy-on-write stores with no memory left", || {
        // Take every free page through the eager break, which fails cleanly (-1) when
        // memory is gone; no allocation happens in this child from here on.
        let mut step = 256 * PG;
        while step >= PG {
            if ulib::memory::sbrk_eager(step).is_err() {
                step /= 2;
            }
        }
        for p in 0..PAGES {
            // SAFETY: the inherited mapping; the kernel kills this child when no copy can
            // be made (reclaim gives back only clean file pages).
            unsafe { util::store_byte(a + p * PG + 1, 0xee) };
        }
    })?;
    for p in 0..PAGES {
        // SAFETY: as above.
        let (x, y) = unsafe { (util::load_byte(a + p * PG), util::load_byte(a + p * PG + 1)) };
        ensure!(x == (p % 251) as u8 + 1 && y == 0, "the parent's page {} holds {:#x} {:#x}", p, x, y);
    }
    unmap(a, PAGES * PG)
}

/// Forks that fail half-way for lack of memory leave the parent intact: a process holding
/// 1024 written private pages and most of memory forks until fork fails; its pages keep
/// their bytes, and every page comes back (the harness checks the free count).
pub fn fork_oom() -> TestResult {
    const PAGES: usize = 1024;
    let status = util::in_child(|| {
        let r = (|| -> TestResult {
            let a = map(0, PAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
            for p in 0..PAGES {
                // SAFETY: the writable mapping made above.
                unsafe { util::store_byte(a + p * PG, (p % 13) as u8 + 1) };
            }
            // Leave about 6 pages free: enough for some of a child's page tables, not all.
            let mut step = 256 * PG;
            while step >= PG {
                if util::kstat(abi::kstat::FREE_PAGES)? < 6 + (step / PG) as u64 {
                    step /= 2;
                    continue;
                }
                if ulib::memory::sbrk_eager(step).is_err() {
                    step /= 2;
                }
            }
            let mut failed = false;
            for _ in 0..8 {
                match process::fork() {
                    Ok(process::Fork::Child) => process::exit(0),
                    Ok(process::Fork::Parent(pid)) => {
                        let s = util::wait_for(pid)?;
                        ensure!(s == 0, "a child ended with {}", s);
                    }
                    Err(_) => failed = true,
                }
                // SAFETY: the mapping made above.
                let x = unsafe { util::load_byte(a) };
                ensure!(x == 1, "page 0 holds {:#x} after a fork", x);
                // Take one more page, so that a later fork fails earlier.
                let _ = ulib::memory::sbrk_eager(PG);
            }
            for p in 0..PAGES {
                // SAFETY: as above.
                unsafe {
                    let x = util::load_byte(a + p * PG);
                    ensure!(x == (p % 13) as u8 + 1, "page {} holds {:#x} after the forks", p, x);
                    util::store_byte(a + p * PG + 2, 0x99);
                    ensure!(util::load_byte(a + p * PG + 2) == 0x99, "page {} lost a store", p);
                }
            }
            ulib::println!("forkoom: a fork failed: {}", failed);
            Ok(())
        })();
        match r {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("forkoom: {}", e);
                2
            }
        }
    })?;
    ensure!(status == 0, "the forking process ended with status {}", status);
    Ok(())
}
