//! Observability: the memory counters of `kstat` (faults by kind, page-cache pages, dirty
//! pages, mappings) move as the mappings are used, and `vmmaps` describes the mappings of this
//! process and of others exactly (range, protection, sharing, file and offset, resident
//! pages), stays safe while the other process maps, unmaps and exits, and refuses bad pids
//! and buffers. Also the helper modes `--maps` and `--hold` behind the host test of `pmap` and
//! Ctrl-P (tests/observability.rs).

use crate::util::{self, map, unmap, Ctx, Signal, TestResult, PG, RW};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hint::black_box;
use ulib::abi::{self, kstat, VmMap, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDONLY, PROT_READ};
use ulib::{fs, println, process, sys};

/// Every region `vmmaps` lists for process `pid` (0: this one): the parts of its image, guard
/// page, stack and heap, then its mappings; or a failure naming the call.
fn regions_of(pid: i32) -> Result<Vec<VmMap>, String> {
    process::vmmaps(pid).map_err(|e| format!("vmmaps({}) failed ({})", pid, e))
}

/// The mappings process `pid` made with mmap (the records without a role bit).
fn maps_of(pid: i32) -> Result<Vec<VmMap>, String> {
    Ok(regions_of(pid)?.into_iter().filter(VmMap::from_mmap).collect())
}

/// The record of the mapping that starts at `start` among `maps`.
fn find(maps: &[VmMap], start: usize) -> Result<VmMap, String> {
    match maps.iter().find(|m| m.start == start as u64) {
        Some(m) => Ok(*m),
        None => Err(format!("vmmaps lists no mapping at {:#x} (it lists {:x?})", start, maps)),
    }
}

/// Checks every field of `m` but the resident count.
fn check_record(m: &VmMap, len: usize, prot: usize, flags: usize, inum: u32, offset: u64) -> TestResult {
    let want = VmMap {
        start: m.start,
        end: m.start + len as u64,
        offset,
        resident: m.resident,
        inum,
        prot: prot as u32,
        flags: flags as u32,
    };
    ensure!(*m == want, "vmmaps record {:x?}, expected {:x?}", m, want);
    Ok(())
}

/// Raw `vmmaps` into `buf` (room for `buf.len() / 48` records).
fn raw_vmmaps(pid: i32, buf: &mut [u8], max: i32) -> isize {
    assert!(max as usize * VmMap::SIZE <= buf.len());
    // SAFETY: the kernel writes at most `max` records, which fit in `buf`.
    unsafe { sys::vmmaps(pid, buf.as_mut_ptr(), max) }
}

/// After three pages of a fresh private anonymous mapping are touched, the anonymous-fault
/// counter rose by exactly 3 and vmmaps shows the mapping with 3 resident pages; a read of a
/// fourth page adds one of each; the mapping count follows mmap, a splitting munmap and the
/// final munmap.
pub fn anon_counters() -> TestResult {
    let maps0 = util::kstat(kstat::MAPPINGS)?;
    let a = map(0, 8 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    ensure!(util::kstat(kstat::MAPPINGS)? == maps0 + 1, "kstat(MAPPINGS) did not rise by 1 after mmap");
    let faults0 = util::kstat(kstat::ANON_FAULTS)?;
    for k in [0, 2, 5] {
        // SAFETY: page k of our fresh writable mapping.
        unsafe { util::store_byte(a + k * PG + 9, 7) };
    }
    let faults = util::kstat(kstat::ANON_FAULTS)? - faults0;
    ensure!(faults == 3, "touching 3 anonymous pages counted {} anonymous faults, expected 3", faults);
    let me = maps_of(0)?;
    let m = find(&me, a)?;
    check_record(&m, 8 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0)?;
    ensure!(m.resident == 3, "vmmaps shows {} resident pages after 3 were touched", m.resident);
    let all = regions_of(0)?.len() as u64;
    let counted = util::kstat(kstat::MAPPINGS)?;
    ensure!(all == counted, "vmmaps lists {} regions, kstat(MAPPINGS) {}", all, counted);
    ensure!(maps_of(process::getpid())? == me, "vmmaps(getpid()) differs from vmmaps(0)");
    // SAFETY: page 7 of the mapping; a load changes nothing.
    black_box(unsafe { util::load_byte(a + 7 * PG) });
    let m = find(&maps_of(0)?, a)?;
    ensure!(m.resident == 4, "vmmaps shows {} resident pages after a 4th was read", m.resident);
    let faults = util::kstat(kstat::ANON_FAULTS)? - faults0;
    ensure!(faults == 4, "4 anonymous pages touched, {} anonymous faults counted", faults);
    unmap(a + 2 * PG, PG)?;
    ensure!(util::kstat(kstat::MAPPINGS)? == maps0 + 2, "a munmap splitting a mapping did not give 2");
    let me = maps_of(0)?;
    let (left, right) = (find(&me, a)?, find(&me, a + 3 * PG)?);
    ensure!(left.end == (a + 2 * PG) as u64 && left.resident == 1, "left piece after split: {:x?}", left);
    ensure!(right.end == (a + 8 * PG) as u64 && right.resident == 2, "right piece after split: {:x?}", right);
    unmap(a, 8 * PG)?;
    ensure!(util::kstat(kstat::MAPPINGS)? == maps0, "kstat(MAPPINGS) not back after munmap");
    Ok(())
}

/// File mappings: vmmaps shows the file's inode and the offset; reads of a shared mapping are
/// shared-map faults, a write to a private one a copy fault, and page-cache faults are their
/// sum; the file's pages enter the page cache (counted as fills) and leave it with the last
/// mapping.
pub fn file_counters() -> TestResult {
    const F: &str = "mmstatfile";
    util::clean(&[F]);
    util::pattern_file(F, 60, 6 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let ino = fs::fstat(fd).ctx("fstat")?.ino;
    let counters = [kstat::FILE_FAULTS, kstat::SHARED_FAULTS, kstat::COPY_FAULTS, kstat::CACHE_FILLS];
    let read_all = || -> Result<Vec<u64>, String> { counters.iter().map(|&c| util::kstat(c)).collect() };
    let cache0 = util::kstat(kstat::CACHE_PAGES)?;
    let before = read_all()?;
    let s = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 2 * PG)?;
    let p = map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: pages 0 and 2 of the shared mapping (file pages 2 and 4) are readable.
    let got = unsafe { [util::load_byte(s + 1), util::load_byte(s + 2 * PG + 1)] };
    ensure!(
        got == [util::pattern(60, 2 * PG + 1), util::pattern(60, 4 * PG + 1)],
        "shared mapping read {:?}",
        got
    );
    // SAFETY: page 1 of the private writable mapping (file page 1).
    unsafe { util::store_byte(p + PG + 3, 0x55) };
    let after = read_all()?;
    let d: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let (file, shared, copy, fills) = (d[0], d[1], d[2], d[3]);
    ensure!((1..=2).contains(&shared), "2 reads of a shared file mapping counted {} shared faults", shared);
    ensure!(copy == 1, "a store to a private file mapping counted {} copy faults, expected 1", copy);
    ensure!(file == shared + copy, "page-cache faults rose by {}, shared {} + copy {}", file, shared, copy);
    ensure!(fills >= 3, "3 file pages were touched, {} page-cache fills counted", fills);
    let cached = util::kstat(kstat::CACHE_PAGES)?;
    ensure!(cached >= cache0 + 3, "page-cache pages went from {} to {} after 3 file pages", cache0, cached);
    let me = maps_of(0)?;
    let (ms, mp) = (find(&me, s)?, find(&me, p)?);
    check_record(&ms, 4 * PG, PROT_READ, MAP_SHARED, ino, 2 * PG as u64)?;
    check_record(&mp, 2 * PG, RW, MAP_PRIVATE, ino, 0)?;
    ensure!((2..=4).contains(&ms.resident), "shared mapping: {} resident pages after 2 reads", ms.resident);
    ensure!((1..=2).contains(&mp.resident), "private mapping: {} resident pages after 1 store", mp.resident);
    unmap(s, 4 * PG)?;
    unmap(p, 2 * PG)?;
    let cached = util::kstat(kstat::CACHE_PAGES)?;
    ensure!(cached == cache0, "page-cache pages {} after the last mapping went, {} before", cached, cache0);
    util::remove(F)
}

/// Dirty page-cache pages: shared anonymous memory counts among the cached pages but never
/// as dirty (it has no file to be written to); a shared file mapping's dirty pages are
/// written back at munmap, leaving nothing dirty.
pub fn dirty_counters() -> TestResult {
    let dirty0 = util::kstat(kstat::CACHE_DIRTY)?;
    let cache0 = util::kstat(kstat::CACHE_PAGES)?;
    let a = map(0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: our fresh writable shared mapping.
    unsafe { util::bytes_mut(a, 4 * PG) }.fill(3);
    ensure!(util::kstat(kstat::CACHE_PAGES)? == cache0 + 4, "4 shared anonymous pages are not 4 cache pages");
    unmap(a, 2 * PG)?;
    let dirty = util::kstat(kstat::CACHE_DIRTY)?;
    ensure!(
        dirty == dirty0,
        "dirty cache pages went from {} to {} after unmapping shared anonymous memory",
        dirty0,
        dirty
    );
    ensure!(
        util::kstat(kstat::CACHE_PAGES)? == cache0 + 4,
        "shared anonymous pages went before their last mapping"
    );
    unmap(a + 2 * PG, 2 * PG)?;
    ensure!(util::kstat(kstat::CACHE_PAGES)? == cache0, "cache pages not back after the memory was freed");

    const F: &str = "mmstatdirty";
    util::clean(&[F]);
    util::pattern_file(F, 61, 3 * PG)?;
    let fd = util::open(F, abi::O_RDWR)?;
    let f = map(0, 3 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    let back0 = util::written_back()?;
    // SAFETY: pages 0 and 2 of our writable shared file mapping.
    unsafe {
        util::store_byte(f + 5, 1);
        util::store_byte(f + 2 * PG + 5, 2);
    }
    unmap(f, 3 * PG)?;
    let back = util::written_back()? - back0;
    ensure!(back == 2, "{} pages written back after 2 were stored to", back);
    ensure!(util::kstat(kstat::CACHE_DIRTY)? == dirty0, "dirty cache pages left after write-back");
    util::remove(F)
}

/// Another process's mappings: a child's anonymous and file mappings as it made and touched
/// them; while it exits (a zombie) it has none; once reaped its pid is refused.
pub fn other_process() -> TestResult {
    const F: &str = "mmstatother";
    util::clean(&[F]);
    util::pattern_file(F, 62, 2 * PG)?;
    let ino = fs::stat(F).ctx("stat")?.ino;
    let ready = Signal::new()?;
    let go = Signal::new()?;
    let base = 0x30_0000_0000;
    let pid = util::spawn(|| {
        let fd = fs::open(F, O_RDONLY).unwrap_or(-1);
        let a = util::raw_mmap(base, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0);
        let f = util::raw_mmap(base + 8 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | abi::MAP_FIXED, fd, PG);
        if a == -1 || f == -1 {
            return 2;
        }
        // SAFETY: our fresh mappings: two anonymous pages written, one file page read.
        unsafe {
            util::store_byte(base, 1);
            util::store_byte(base + 3 * PG, 1);
            black_box(util::load_byte(base + 8 * PG));
        }
        ready.post(1);
        // The parent never says go: it kills this child while it sleeps here.
        go.wait();
        0
    })?;
    ensure!(ready.wait(), "the child did not get ready");
    let maps = maps_of(pid)?;
    ensure!(maps.len() == 2, "the child has 2 mappings, vmmaps lists {}: {:x?}", maps.len(), maps);
    check_record(&maps[0], 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0)?;
    check_record(&maps[1], 2 * PG, PROT_READ, MAP_PRIVATE, ino, PG as u64)?;
    ensure!(maps[0].start == base as u64, "first mapping at {:#x}, expected {:#x}", maps[0].start, base);
    ensure!(maps[0].resident == 2, "child's anonymous mapping: {} resident, expected 2", maps[0].resident);
    ensure!((1..=2).contains(&maps[1].resident), "child's file mapping: {} resident", maps[1].resident);
    // Look while it dies: before its exit unmaps, all its regions; after, none.
    let total = regions_of(pid)?.len() as isize;
    let _ = process::kill(pid);
    for _ in 0..50 {
        let n = raw_vmmaps(pid, &mut [0u8; 4 * VmMap::SIZE], 4);
        ensure!((0..=total).contains(&n), "vmmaps of a dying child returned {}", n);
    }
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "the killed child exited with {}", status);
    ensure!(process::vmmaps(pid).is_err(), "vmmaps of a reaped child succeeded");
    util::remove(F)
}

/// A zombie has no mappings: vmmaps answers 0 for it until it is reaped.
pub fn zombie() -> TestResult {
    let (rd, wr) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = fs::close(rd);
        let a = util::raw_mmap(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if a == -1 {
            return 2;
        }
        // SAFETY: our fresh mapping.
        unsafe { util::store_byte(a as usize, 1) };
        0 // exit closes `wr`, after the mappings are gone
    })?;
    let _ = fs::close(wr);
    let mut b = [0u8; 1];
    ensure!(matches!(fs::read(rd, &mut b), Ok(0)), "expected end of file from the exiting child");
    let _ = fs::close(rd);
    let mut buf = [0u8; 2 * VmMap::SIZE];
    let n = raw_vmmaps(pid, &mut buf, 2);
    ensure!(n == 0, "vmmaps of a zombie returned {}, expected 0", n);
    ensure!(util::wait_for(pid)? == 0, "the child failed");
    let n = raw_vmmaps(pid, &mut buf, 2);
    ensure!(n == -1, "vmmaps of a reaped pid returned {}, expected -1", n);
    Ok(())
}

/// vmmaps while the other process maps, touches and unmaps as fast as it can: every record is
/// sane, nothing crashes, and a process killed meanwhile simply ends its list.
pub fn racing() -> TestResult {
    let go = Signal::new()?;
    let pid = util::spawn(|| {
        go.post(1);
        loop {
            let a = util::raw_mmap(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if a == -1 {
                return 2;
            }
            // SAFETY: our fresh mapping.
            unsafe { util::store_byte(a as usize + PG, 1) };
            if util::raw_munmap(a as usize, 3 * PG) != 0 {
                return 3;
            }
        }
    })?;
    ensure!(go.wait(), "the child did not start");
    let mut seen = 0;
    for i in 0..400 {
        let maps = maps_of(pid)?;
        ensure!(maps.len() <= 1, "the churning child has at most 1 mapping, vmmaps lists {}", maps.len());
        for m in &maps {
            ensure!(m.len() == 3 * PG as u64 && m.resident <= 3, "insane record {:x?}", m);
            seen += usize::from(m.resident > 0);
        }
        if i == 300 {
            let _ = process::kill(pid);
        }
    }
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "the churning child exited with {}", status);
    black_box(seen);
    Ok(())
}

/// More mappings than one batch of the kernel: all listed, in order; a short buffer gets the
/// first `max` records and the count of all, and nothing beyond `max` is written.
pub fn many() -> TestResult {
    const N: usize = 150;
    let base = 0x31_0000_0000;
    for k in 0..N {
        let prot = if k % 2 == 0 { RW } else { PROT_READ };
        map(base + 2 * k * PG, PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0)?;
    }
    let maps = maps_of(0)?;
    let ours: Vec<&VmMap> = maps.iter().filter(|m| m.start >= base as u64).collect();
    ensure!(ours.len() == N, "vmmaps lists {} of the {} mappings", ours.len(), N);
    for (k, m) in ours.iter().enumerate() {
        ensure!(m.start == (base + 2 * k * PG) as u64, "mapping {} listed at {:#x}", k, m.start);
    }
    let mut buf = alloc::vec![0xaau8; 11 * VmMap::SIZE];
    let total = regions_of(0)?.len();
    let n = raw_vmmaps(0, &mut buf, 10);
    ensure!(n as usize == total, "vmmaps with max 10 returned {}, expected {}", n, total);
    ensure!(buf[10 * VmMap::SIZE..].iter().all(|&b| b == 0xaa), "vmmaps wrote past max records");
    let n0 = raw_vmmaps(0, &mut [], 0);
    ensure!(n0 as usize == total, "vmmaps with max 0 returned {}", n0);
    unmap(base, 2 * N * PG)?;
    Ok(())
}

/// Bad arguments fail with -1 and change nothing: unknown, negative and reaped pids, a
/// negative max, a buffer in the read-only text, in the trampoline, in a PROT_READ mapping,
/// running off the end of a mapping, or wrapping around the address space; a count query
/// (max 0) ignores the buffer.
pub fn bad_args() -> TestResult {
    let a = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let b = map(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let call = |pid: i32, buf: usize, max: i32| {
        // SAFETY: the calls below aim at memory the kernel must refuse to write, or at the
        // scratch mapping `a`, which nothing else uses.
        unsafe { sys::vmmaps(pid, buf as *mut u8, max) }
    };
    let reaped = util::spawn(|| 0)?;
    util::wait_for(reaped)?;
    for pid in [-5, 999_999, reaped, i32::MIN] {
        ensure!(call(pid, a, 2) == -1, "vmmaps of pid {} did not fail", pid);
    }
    ensure!(call(0, a, -1) == -1, "vmmaps with max -1 did not fail");
    let bad = [
        (0usize, "address 0 (read-only text)"),
        (abi::TRAMPOLINE, "the trampoline"),
        (abi::TRAPFRAME, "the trap frame"),
        (b, "a PROT_READ mapping"),
        (a + 2 * PG - VmMap::SIZE / 2, "a buffer running off the end of a mapping"),
        (usize::MAX - 40, "a buffer wrapping around"),
    ];
    for (buf, what) in bad {
        ensure!(call(0, buf, 2) == -1, "vmmaps into {} did not fail", what);
    }
    // SAFETY: the PROT_READ page is readable.
    ensure!(unsafe { util::load_byte(b) } == 0, "the read-only page changed");
    // A count query ignores the buffer entirely.
    let n = regions_of(0)?.len();
    ensure!(call(0, 8, 0) == n as isize, "a count query with a bad buffer did not return {}", n);
    unmap(a, 2 * PG)?;
    unmap(b, PG)?;
    Ok(())
}

/// The mappings `--maps` and `--hold` make: their addresses and the file's inode.
struct Demo {
    anon: usize,
    file: usize,
    shared: usize,
    ino: u32,
}

/// Makes the demo mappings: 8 private anonymous pages of which 3 written, 4 shared read-only
/// pages of a 5-page file from its page 1 with one page read, and 2 untouched shared
/// anonymous pages.
fn demo() -> Result<Demo, String> {
    const F: &str = "mmobsdemo";
    util::clean(&[F]);
    util::pattern_file(F, 63, 5 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let ino = fs::fstat(fd).ctx("fstat")?.ino;
    let anon = map(0, 8 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let file = map(0, 4 * PG, PROT_READ, MAP_SHARED, fd, PG)?;
    let shared = map(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    let _ = fs::close(fd);
    util::remove(F)?; // the mapping keeps the inode
                      // SAFETY: our fresh mappings.
    unsafe {
        for k in [1, 4, 6] {
            util::store_byte(anon + k * PG, 1);
        }
        black_box(util::load_byte(file));
    }
    Ok(Demo { anon, file, shared, ino })
}

/// Prints the line the host test parses: `demo pid P anon A file F shared S inode I`.
fn announce(d: &Demo) {
    let me = process::getpid();
    println!("demo pid {} anon {:#x} file {:#x} shared {:#x} inode {}", me, d.anon, d.file, d.shared, d.ino);
}

/// Helper mode `--maps`: makes the demo mappings, prints where they are, runs `pmap` on this
/// process from a child and `vmstat` after it; exits with pmap's status.
pub fn maps_helper() -> i32 {
    let d = match demo() {
        Ok(d) => d,
        Err(e) => {
            println!("mmaptests --maps: {}", e);
            return 1;
        }
    };
    announce(&d);
    let pid_text = format!("{}", process::getpid());
    let status = util::in_child(|| {
        let e = process::exec("/pmap", &["pmap", pid_text.as_str()]);
        println!("exec pmap failed ({})", e);
        1
    });
    status.unwrap_or(1)
}

/// Helper mode `--hold TICKS`: makes the demo mappings, prints where they are, and sleeps
/// TICKS ticks (for a Ctrl-P in the meantime).
pub fn hold_helper(ticks: i32) -> i32 {
    let d = match demo() {
        Ok(d) => d,
        Err(e) => {
            println!("mmaptests --hold: {}", e);
            return 1;
        }
    };
    announce(&d);
    let _ = process::pause(ticks);
    0
}

/// `vmmaps` shows the whole address space in address order: the program's segments (its text
/// a private, executable mapping of the program file), the guard page (no access, one page),
/// the stack (read-write, just above the guard page), the heap (from the stack's end), then
/// the mappings.
pub fn whole_space() -> TestResult {
    let ino = fs::stat("mmaptests").ctx("stat mmaptests")?.ino;
    let a = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let all = regions_of(0)?;
    let role = |r: u32| all.iter().filter(move |m| m.flags & abi::VMMAP_ROLES == r);
    let text = role(abi::VMMAP_IMAGE).find(|m| m.prot & abi::PROT_EXEC as u32 != 0);
    let Some(text) = text else { fail!("no executable image segment among {:x?}", all) };
    ensure!(
        text.inum == ino && !text.anonymous() && !text.shared(),
        "the text is not a private mapping of mmaptests: {:x?}",
        text
    );
    ensure!(text.start == 0, "the text starts at {:#x}, not 0", text.start);
    let (guards, stacks, heaps) =
        (role(abi::VMMAP_GUARD).count(), role(abi::VMMAP_STACK).count(), role(abi::VMMAP_HEAP).count());
    ensure!(
        guards == 1 && stacks == 1 && heaps == 1,
        "{} guard, {} stack, {} heap records in {:x?}",
        guards,
        stacks,
        heaps,
        all
    );
    let (guard, stack, heap) =
        (role(abi::VMMAP_GUARD).next(), role(abi::VMMAP_STACK).next(), role(abi::VMMAP_HEAP).next());
    let (Some(guard), Some(stack), Some(heap)) = (guard, stack, heap) else { fail!("missing records") };
    ensure!(guard.len() == PG as u64 && guard.prot == 0, "guard record {:x?}", guard);
    ensure!(
        stack.start == guard.end && stack.prot == RW as u32 && stack.anonymous(),
        "stack record {:x?}",
        stack
    );
    ensure!(heap.start == stack.end && heap.prot == RW as u32, "heap record {:x?}", heap);
    let brk = ulib::memory::sbrk_lazy(0).ctx("sbrk(0)")? as u64;
    ensure!(
        heap.end == brk.next_multiple_of(PG as u64),
        "heap record ends at {:#x}, break {:#x}",
        heap.end,
        brk
    );
    ensure!(
        all.windows(2).all(|w| w[0].end <= w[1].start),
        "records overlap or are out of order: {:x?}",
        all
    );
    ensure!(all.iter().any(|m| m.start == a as u64 && m.from_mmap()), "the mmap'd page is not listed");
    ensure!(all.len() as u64 == util::kstat(kstat::MAPPINGS)?, "kstat(MAPPINGS) does not count every region");
    unmap(a, PG)
}
