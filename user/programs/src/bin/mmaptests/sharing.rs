//! Mappings across processes: what fork copies and what it shares, pages a child touches
//! that the parent never did, munmap in a child leaving the parent intact, stores through
//! shared mappings seen at once by the other process (file and anonymous), nothing leaked by
//! fork and exit, a parent's munmap leaving its child's shared pages alone, many processes
//! faulting the same shared file pages at the same time, and processes mapping, writing back
//! and unmapping one file over and over at once.

use crate::util::{self, check_pattern, check_zero, map, unmap, Ctx, Signal, TestResult, PG, RW};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use ulib::abi::{MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDWR, PROT_READ};
use ulib::fs;

/// Fork copies every mapping: the child reads pages the parent never touched, sees the
/// parent's private stores made before fork, and its own private stores and its munmap of
/// everything leave the parent's mappings as they were.
pub fn fork_map() -> TestResult {
    const F: &str = "mmfork";
    util::clean(&[F]);
    util::pattern_file(F, 20, 4 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let b = map(0, 4 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let c = map(0, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let _ = fs::close(fd);
    // The parent touches page 0 of each mapping only.
    // SAFETY: the mappings are four pages each, `b` and `c` writable and used only here.
    let (ma, mb, mc) =
        unsafe { (util::bytes(a, 4 * PG), util::bytes_mut(b, 4 * PG), util::bytes_mut(c, 4 * PG)) };
    check_pattern("parent's shared page 0", &ma[..PG], 20, 0)?;
    mb[10] = 0x11;
    mc[20] = 0x22;
    util::expect_child_ok("reading and unmapping inherited mappings", || {
        let r = (|| -> TestResult {
            check_pattern("child's view of the shared mapping", ma, 20, 0)?;
            ensure!(mb[10] == 0x11, "child sees {:#x} at the parent's private store", mb[10]);
            check_pattern("child's private pages the parent never touched", &mb[PG..], 20, PG)?;
            ensure!(mc[20] == 0x22, "child sees {:#x} at the parent's anonymous store", mc[20]);
            check_zero("child's anonymous pages the parent never touched", &mc[PG..])?;
            mb[PG + 1] = 0x33;
            mc[2 * PG] = 0x44;
            unmap(a, 4 * PG)?;
            unmap(b, 4 * PG)?;
            unmap(c, 4 * PG)
        })();
        match r {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("forkmap child: {}", e);
                2
            }
        }
    })?;
    check_pattern("parent's shared mapping after the child's munmap", ma, 20, 0)?;
    ensure!(mb[10] == 0x11, "parent's private store became {:#x}", mb[10]);
    check_pattern("parent's private pages after the child wrote its copy", &mb[PG..], 20, PG)?;
    ensure!(mc[20] == 0x22, "parent's anonymous store became {:#x}", mc[20]);
    check_zero("parent's anonymous pages after the child wrote its copy", &mc[PG..])?;
    unmap(a, 4 * PG)?;
    unmap(b, 4 * PG)?;
    unmap(c, 4 * PG)?;
    let data = util::read_file(F)?;
    check_pattern("file behind the mappings", &data, 20, 0)?;
    util::remove(F)
}

/// After fork, a shared file mapping is one set of pages: the child's store is seen by the
/// parent while both are alive, and the parent's by the child; both reach the file.
pub fn fork_shared() -> TestResult {
    const F: &str = "mmfksh";
    util::clean(&[F]);
    util::pattern_file(F, 21, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    let to_parent = Signal::new()?;
    let to_child = Signal::new()?;
    let pid = util::spawn(|| {
        // SAFETY: two writable shared pages, which this child only accesses bytewise.
        unsafe { util::store_byte(a + 100, 0xc1) };
        to_parent.post(1);
        if !to_child.wait() {
            return 3;
        }
        // SAFETY: as above.
        let seen = unsafe { util::load_byte(a + PG + 200) };
        if seen == 0xd2 {
            0
        } else {
            2
        }
    })?;
    ensure!(to_parent.wait(), "child died before its store");
    // SAFETY: the parent's shared mapping, accessed bytewise.
    let seen = unsafe { util::load_byte(a + 100) };
    ensure!(seen == 0xc1, "parent sees {:#x} where the child stored 0xc1 (not shared)", seen);
    // SAFETY: as above.
    unsafe { util::store_byte(a + PG + 200, 0xd2) };
    to_child.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "child did not see the parent's store (status {})", status);
    unmap(a, 2 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data[100] == 0xc1, "file has {:#x} at the child's store", data[100]);
    ensure!(data[PG + 200] == 0xd2, "file has {:#x} at the parent's store", data[PG + 200]);
    check_pattern("rest of the file", &data[..100], 21, 0)?;
    util::remove(F)
}

/// Children that inherit file and anonymous mappings, touch every page and exit without
/// munmap (or after unmapping part) give every page back: the free count after they are
/// reaped is what it was before they were forked.
pub fn fork_leak() -> TestResult {
    const F: &str = "mmleak";
    util::clean(&[F]);
    util::pattern_file(F, 22, 4 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let maps = [
        map(0, 4 * PG, RW, MAP_SHARED, fd, 0)?,
        map(0, 4 * PG, RW, MAP_PRIVATE, fd, 0)?,
        map(0, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?,
        map(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?,
    ];
    let _ = fs::close(fd);
    // The parent stores into two pages of each mapping and reads the rest, so the caches of
    // the shared mappings hold every page before the children run: what they fault in later
    // is theirs alone and must be freed when they exit.
    for &m in &maps {
        for p in 0..4 {
            // SAFETY: page p of a writable mapping used only by this case.
            unsafe {
                if p < 2 {
                    util::store_byte(m + p * PG, 1);
                } else {
                    core::hint::black_box(util::load_byte(m + p * PG));
                }
            }
        }
    }
    let before = util::free()?;
    for round in 0..6 {
        let pid = util::spawn(|| {
            for &m in &maps {
                for p in 0..4 {
                    // SAFETY: as above; the child's own view of the mappings.
                    unsafe { util::store_byte(m + p * PG + 8, round as u8) };
                }
            }
            if round % 2 == 1 {
                // Leave a hole and a fragment behind to be torn down by exit.
                let _ = util::raw_munmap(maps[0] + PG, PG);
                let _ = util::raw_munmap(maps[2], 3 * PG);
            }
            0
        })?;
        ensure!(util::wait_for(pid)? == 0, "child {} failed", round);
    }
    let after = util::free()?;
    ensure!(after >= before, "forking and exiting 6 children with mappings leaked {} pages", before - after);
    for &m in &maps {
        unmap(m, 4 * PG)?;
    }
    util::remove(F)
}

/// MAP_SHARED|MAP_ANONYMOUS memory is shared between parent and child, pages neither had
/// touched before fork included, in both directions, and starts zeroed.
pub fn anon_shared() -> TestResult {
    const N: usize = 4;
    let a = map(0, N * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the parent's shared anonymous mapping, accessed bytewise.
    unsafe { util::store_byte(a, 0x5a) };
    let to_parent = Signal::new()?;
    let to_child = Signal::new()?;
    let pid = util::spawn(|| {
        // SAFETY: the child's view of the shared anonymous mapping.
        let m = unsafe { util::bytes_mut(a, N * PG) };
        if m[0] != 0x5a || m[1..].iter().any(|&b| b != 0) {
            return 2;
        }
        for p in 1..N {
            m[p * PG + p] = 0x60 + p as u8;
        }
        to_parent.post(1);
        if !to_child.wait() {
            return 3;
        }
        // SAFETY: a load from the mapping (the parent stored there).
        if unsafe { util::load_byte(a + 2 * PG + 99) } != 0x77 {
            return 4;
        }
        0
    })?;
    ensure!(to_parent.wait(), "child died before storing");
    for p in 1..N {
        // SAFETY: a load from the parent's mapping.
        let v = unsafe { util::load_byte(a + p * PG + p) };
        ensure!(v == 0x60 + p as u8, "parent sees {:#x} on page {} where the child stored", v, p);
    }
    // SAFETY: a store into the parent's mapping.
    unsafe { util::store_byte(a + 2 * PG + 99, 0x77) };
    to_child.post(1);
    match util::wait_for(pid)? {
        0 => {}
        2 => fail!("child's view after fork was not the parent's store and zeros"),
        4 => fail!("child did not see the parent's store after fork"),
        s => fail!("child failed with status {}", s),
    }
    // The pages outlive the child.
    // SAFETY: a load from the parent's mapping.
    let v = unsafe { util::load_byte(a + 3 * PG + 3) };
    ensure!(v == 0x63, "after the child exited, page 3 holds {:#x}", v);
    unmap(a, N * PG)
}

/// MAP_PRIVATE|MAP_ANONYMOUS memory is zeroed and, after fork, private both ways.
pub fn anon_private() -> TestResult {
    let a = map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the mapping is three writable pages used only here.
    let m = unsafe { util::bytes_mut(a, 3 * PG) };
    check_zero("fresh anonymous mapping", m)?;
    m[0] = 1;
    let to_parent = Signal::new()?;
    let to_child = Signal::new()?;
    let pid = util::spawn(|| {
        m[PG] = 2;
        to_parent.post(1);
        if !to_child.wait() {
            return 3;
        }
        if m[0] != 1 || m[2 * PG] != 0 || m[PG] != 2 {
            return 2;
        }
        0
    })?;
    ensure!(to_parent.wait(), "child died");
    ensure!(m[PG] == 0, "the child's private store is visible to the parent ({:#x})", m[PG]);
    m[2 * PG] = 9;
    to_child.post(1);
    ensure!(util::wait_for(pid)? == 0, "the parent's store after fork reached the child's copy");
    unmap(a, 3 * PG)
}

/// Two processes that map the same file shared on their own (not through fork) use one
/// physical page: a store by one is seen at once by the other, which had already faulted
/// the page in, with no munmap in between.
pub fn two_processes() -> TestResult {
    const F: &str = "mmtwo";
    util::clean(&[F]);
    util::pattern_file(F, 23, 2 * PG)?;
    let ready = Signal::new()?;
    let stored = Signal::new()?;
    let reader = util::spawn(|| {
        let r = (|| -> TestResult {
            let fd = util::open(F, ulib::abi::O_RDONLY)?;
            let a = map(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
            // SAFETY: two readable pages.
            let m = unsafe { util::bytes(a, 2 * PG) };
            check_pattern("reader's first page", &m[..PG], 23, 0)?;
            ready.post(1);
            ensure!(stored.wait(), "writer died");
            // SAFETY: loads from the reader's mapping, which the writer changed meanwhile.
            let (v0, v1) = unsafe { (util::load_byte(a + 100), util::load_byte(a + PG + 5)) };
            ensure!(v0 == 0xee, "reader sees {:#x} on its already-faulted page, not the writer's 0xee", v0);
            ensure!(v1 == 0xef, "reader sees {:#x} on a page it never touched, not 0xef", v1);
            unmap(a, 2 * PG)
        })();
        match r {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("twoprocs reader: {}", e);
                2
            }
        }
    })?;
    let writer = util::spawn(|| {
        let r = (|| -> TestResult {
            let fd = util::open(F, O_RDWR)?;
            let a = map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?;
            ensure!(ready.wait(), "reader died");
            // SAFETY: stores into the writer's shared mapping.
            unsafe {
                util::store_byte(a + 100, 0xee);
                util::store_byte(a + PG + 5, 0xef);
            }
            stored.post(1);
            Ok(())
        })();
        match r {
            Ok(()) => 0, // exit unmaps and writes back
            Err(e) => {
                ulib::println!("twoprocs writer: {}", e);
                2
            }
        }
    })?;
    let st = util::wait_all(&[reader, writer])?;
    ensure!(st == [0, 0], "reader and writer ended with {:?}", st);
    let data = util::read_file(F)?;
    ensure!(data[100] == 0xee && data[PG + 5] == 0xef, "the writer's stores did not reach the file");
    util::remove(F)
}

/// Pages of the shared file used by [`concurrent_faults`].
const CONC_PAGES: usize = 48;
/// Children faulting at once.
const CONC_KIDS: usize = 6;
/// Bytes at the end of each page where the children leave their marks.
const MARKS: usize = 64;

/// Several children (at least three harts' worth) fault the same shared file pages at the
/// same moment, half through the mapping inherited from the parent and half through their
/// own: all see the file's contents, and each child's mark on every page is seen by the
/// parent afterwards, which only holds if all of them got the same physical pages.
///
/// To make the faults meet, the children start together from a spin barrier in shared
/// memory, and the file's blocks are pushed out of the buffer cache first, so every first
/// fault of a page waits for the disk while the others arrive.
pub fn concurrent_faults() -> TestResult {
    const FLUSH: &str = "mmconcx";
    util::clean(&[FLUSH]);
    for round in 0..4 {
        concurrent_round(round)?;
    }
    Ok(())
}

/// Spins until `n` processes have arrived at the barrier word at `addr` (shared memory).
fn barrier(addr: usize, n: u32) {
    // SAFETY: `addr` is an aligned word in a shared writable mapping that only the barrier
    // uses; every access to it is atomic.
    let word = unsafe { &*(addr as *const AtomicU32) };
    word.fetch_add(1, Ordering::SeqCst);
    while word.load(Ordering::SeqCst) < n {
        core::hint::spin_loop();
    }
}

fn concurrent_round(round: usize) -> TestResult {
    const F: &str = "mmconc";
    const FLUSH: &str = "mmconcx";
    let seed = 30 + round;
    util::clean(&[F]);
    util::pattern_file(F, seed, CONC_PAGES * PG)?;
    // Writing another file larger than the buffer cache (128 blocks) evicts F's blocks.
    util::pattern_file(FLUSH, 1, 64 * PG)?;
    util::remove(FLUSH)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, CONC_PAGES * PG, RW, MAP_SHARED, fd, 0)?;
    let bar = map(0, PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    let mut pids = Vec::with_capacity(CONC_KIDS);
    for k in 0..CONC_KIDS {
        pids.push(util::spawn(|| {
            let m = if k % 2 == 1 {
                match map(0, CONC_PAGES * PG, RW, MAP_SHARED, fd, 0) {
                    Ok(m) => m,
                    Err(_) => return 5,
                }
            } else {
                a
            };
            barrier(bar, CONC_KIDS as u32);
            // Every child walks the pages in the same order, so they meet on each page.
            for p in 0..CONC_PAGES {
                // SAFETY: a load that faults page p of a shared mapping in.
                core::hint::black_box(unsafe { util::load_byte(m + p * PG) });
                // SAFETY: this child's own mark byte.
                unsafe { util::store_byte(m + p * PG + PG - 1 - k, k as u8 + 1) };
            }
            for p in 0..CONC_PAGES {
                // SAFETY: page p of the mapping; other children only store into the mark
                // bytes of other indices.
                let page = unsafe { util::bytes(m + p * PG, PG - MARKS) };
                if check_pattern("", page, seed, p * PG).is_err() {
                    return 2;
                }
            }
            0
        })?);
    }
    let st = util::wait_all(&pids)?;
    unmap(bar, PG)?;
    if let Some(k) = st.iter().position(|&s| s != 0) {
        match st[k] {
            2 => fail!("round {}: child {} read wrong contents from a shared page", round, k),
            5 => fail!("round {}: child {} could not map the file", round, k),
            s => fail!("round {}: child {} ended with status {}", round, k, s),
        }
    }
    let check = |what: &str, data: &[u8]| -> TestResult {
        for p in 0..CONC_PAGES {
            let page = &data[p * PG..(p + 1) * PG];
            check_pattern(what, &page[..PG - MARKS], seed, p * PG)?;
            for k in 0..CONC_KIDS {
                let got = page[PG - 1 - k];
                ensure!(
                    got == k as u8 + 1,
                    "{}: page {} lacks child {}'s mark (holds {:#x})",
                    what,
                    p,
                    k,
                    got
                );
            }
        }
        Ok(())
    };
    // SAFETY: the parent's own view of the shared pages.
    check("parent's mapping", unsafe { util::bytes(a, CONC_PAGES * PG) })?;
    let _ = fs::close(fd);
    unmap(a, CONC_PAGES * PG)?;
    check("file", &util::read_file(F)?)?;
    util::remove(F)
}

/// A parent that unmaps a shared page its child still maps leaves the page to the child:
/// the page is not freed (the parent's new pages, filled with another value, do not show
/// through) and the child's stores are kept.
pub fn parent_unmaps() -> TestResult {
    let a = map(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the case's own shared anonymous mapping.
    unsafe { util::bytes_mut(a, 2 * PG) }.fill(0x31);
    let go = Signal::new()?;
    let pid = util::spawn(|| {
        if !go.wait() {
            return 3;
        }
        // SAFETY: the child's mapping, which the parent no longer has.
        let m = unsafe { util::bytes_mut(a, 2 * PG) };
        if m.iter().any(|&b| b != 0x31) {
            return 2;
        }
        m.fill(0x32);
        0
    })?;
    unmap(a, 2 * PG)?;
    // Take fresh pages and fill them, so a wrongly freed page would be overwritten.
    let b = map(0, 64 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the case's own new mapping.
    unsafe { util::bytes_mut(b, 64 * PG) }.fill(0x77);
    go.post(1);
    match util::wait_for(pid)? {
        0 => {}
        2 => fail!("the child's shared page changed after the parent unmapped it (freed too early?)"),
        s => fail!("child failed with status {}", s),
    }
    // SAFETY: as above.
    ensure!(unsafe { util::bytes(b, 64 * PG) }.iter().all(|&v| v == 0x77), "the parent's new pages changed");
    unmap(b, 64 * PG)
}

/// Children of [`churn`].
const CHURN_KIDS: usize = 4;
/// Rounds each child of [`churn`] runs.
const CHURN_ROUNDS: usize = 12;

/// Several processes at once map the same file (shared and private), store into their own
/// pages, read everyone's, and unmap, over and over, so the file's page cache is created,
/// shared and dropped while others fault and write back: in the end the file holds every
/// child's last stores and nothing else changed.
pub fn churn() -> TestResult {
    const F: &str = "mmchurn";
    const SEED: usize = 40;
    let pages = 2 * CHURN_KIDS;
    util::clean(&[F]);
    util::pattern_file(F, SEED, pages * PG)?;
    let go = Signal::new()?;
    let mut pids = Vec::with_capacity(CHURN_KIDS);
    for k in 0..CHURN_KIDS {
        pids.push(util::spawn(|| {
            let Ok(fd) = util::open(F, O_RDWR) else { return 5 };
            if !go.wait() {
                return 3;
            }
            for r in 0..CHURN_ROUNDS {
                let Ok(a) = map(0, pages * PG, RW, MAP_SHARED, fd, 0) else { return 5 };
                let Ok(p) = map(0, pages * PG, PROT_READ, MAP_PRIVATE, fd, 0) else { return 5 };
                // SAFETY: the child's own mappings; only bytes 0..64 of each page change, and
                // each child stores only into its own two pages.
                let (ma, mp) = unsafe { (util::bytes_mut(a, pages * PG), util::bytes(p, pages * PG)) };
                for q in [2 * k, 2 * k + 1] {
                    ma[q * PG..q * PG + 64].fill(r as u8 + 1);
                }
                for q in 0..pages {
                    for m in [&ma[..], mp] {
                        if check_pattern("", &m[q * PG + 64..(q + 1) * PG], SEED, q * PG + 64).is_err() {
                            return 2;
                        }
                    }
                }
                if util::raw_munmap(p, pages * PG) != 0 || util::raw_munmap(a, pages * PG) != 0 {
                    return 4;
                }
            }
            0
        })?);
    }
    go.post(CHURN_KIDS);
    let st = util::wait_all(&pids)?;
    ensure!(st.iter().all(|&s| s == 0), "children ended with {:?} (2: wrong contents, 4: munmap failed)", st);
    let data = util::read_file(F)?;
    ensure!(data.len() == pages * PG, "file size changed to {}", data.len());
    for q in 0..pages {
        let head = &data[q * PG..q * PG + 64];
        ensure!(
            head.iter().all(|&b| b == CHURN_ROUNDS as u8),
            "page {} of the file starts with {:?}, not child {}'s last store",
            q,
            &head[..8],
            q / 2
        );
        check_pattern("rest of the file", &data[q * PG + 64..(q + 1) * PG], SEED, q * PG + 64)?;
    }
    util::remove(F)
}

/// Rounds of [`ping_pong`].
const PING_PONG_ROUNDS: usize = 24;

/// Round `i` of [`ping_pong`]'s `write()`: a prefix of the page, of a length that varies.
fn ping_bytes(i: usize) -> Vec<u8> {
    let len = 1 + (i * 613) % PG;
    (0..len).map(|j| ((i * 7 + j * 3) % 251) as u8).collect()
}

/// Round `i` of [`ping_pong`]'s store through the mapping: (offset, value).
fn pong_store(i: usize) -> (usize, u8) {
    ((i * 1031 + 5) % PG, 0xa5 ^ i as u8)
}

/// `write()` and stores through a shared mapping of the same page, alternating between two
/// processes, with no munmap between: the mapping shows each `write()` at once, and `read()`
/// shows each store at once. There is one copy of the page, so this holds by construction.
pub fn ping_pong() -> TestResult {
    const F: &str = "mmpingpong";
    util::clean(&[F]);
    util::pattern_file(F, 70, PG)?;
    let (to_child, to_parent) = (Signal::new()?, Signal::new()?);
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    let child = util::spawn(|| {
        let r = (|| -> TestResult {
            // SAFETY: the shared writable page, used only here in this process.
            let m = unsafe { util::bytes_mut(a, PG) };
            let mut model = util::pattern_vec(70, PG);
            for i in 0..PING_PONG_ROUNDS {
                ensure!(to_child.wait(), "writer died");
                let w = ping_bytes(i);
                model[..w.len()].copy_from_slice(&w);
                ensure!(*m == model[..], "round {}: the mapping does not show the write() just made", i);
                let (at, v) = pong_store(i);
                m[at] = v;
                model[at] = v;
                to_parent.post(1);
            }
            Ok(())
        })();
        match r {
            Ok(()) => 0,
            Err(e) => {
                ulib::println!("pingpong mapper: {}", e);
                2
            }
        }
    })?;
    let mut model = util::pattern_vec(70, PG);
    let mut result = Ok(());
    for i in 0..PING_PONG_ROUNDS {
        let w = ping_bytes(i);
        let wfd = util::open(F, O_RDWR)?;
        let wrote = fs::write_all(wfd, &w).ctx("write() over the mapped page");
        let _ = fs::close(wfd);
        wrote?;
        model[..w.len()].copy_from_slice(&w);
        to_child.post(1);
        if !to_parent.wait() {
            result = Err(alloc::format!("round {}: the mapping process died", i));
            break;
        }
        let (at, v) = pong_store(i);
        model[at] = v;
        let data = util::read_file(F)?;
        if data != model {
            result = Err(alloc::format!(
                "round {}: read() does not show the store just made through the mapping",
                i
            ));
            break;
        }
    }
    if result.is_err() {
        let _ = ulib::process::kill(child); // it may be waiting for a round that never comes
    }
    let status = util::wait_for(child)?;
    result?;
    ensure!(status == 0, "the mapping process failed with status {}", status);
    unmap(a, PG)?;
    util::remove(F)
}
