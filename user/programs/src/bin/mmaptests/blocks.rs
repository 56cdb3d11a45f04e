//! Fork over whole 2 MiB blocks of anonymous memory, which the kernel shares between parent
//! and child without copying their page table (docs/architecture.md, *Fork*): each side still
//! sees only its own stores (heap, stack, private anonymous and private file mappings), the
//! stores after fork + exec or after the child's exit copy nothing (no copy-on-write fault,
//! no page taken), a grandchild shares what its parent still shares, munmap, mprotect,
//! madvise and sbrk in the child leave the parent's pages alone, and shared mappings stay
//! shared. The harness checks that every page comes back after each case.
//!
//! The mappings are placed at a fixed, 2 MiB-aligned address so that they cover whole blocks
//! (and a part of one more), with no file mapped beside them.

use crate::util::{self, map, unmap, Signal, TestResult, PG, RW};
use ulib::abi::{self, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, O_RDWR};
use ulib::{fs, memory, process};

/// One page-table page's worth of memory.
const BLOCK: usize = 2 << 20;
/// Where the cases map: 2 MiB-aligned, in the mmap area, far from anything else.
const BASE: usize = 0x21_0000_0000;
/// Three whole blocks and four pages of a fourth.
const LEN: usize = 3 * BLOCK + 4 * PG;
/// Every how many pages a case stores (all of them would take long on one hart).
const STEP: usize = 8;

fn cow_faults() -> Result<u64, alloc::string::String> {
    util::kstat(abi::kstat::COW_FAULTS)
}

/// Maps `LEN` bytes of anonymous memory at `BASE` with `share`.
fn map_blocks(share: usize) -> Result<usize, alloc::string::String> {
    let a = map(BASE, LEN, RW, share | MAP_ANONYMOUS | MAP_FIXED, -1, 0)?;
    ensure!(a == BASE, "mmap placed the blocks at {:#x}, not {:#x}", a, BASE);
    Ok(a)
}

/// Stores `v + page` into the first byte of every `STEP`th page of `[base, base + len)`.
fn store_all(base: usize, len: usize, v: u8) {
    store_half(base, len, v, 0);
    store_half(base, len, v, 1);
}

/// `store_all`, but only in every other one of those pages: those whose number of `STEP`s
/// from `base` is even (`half` 0) or odd (`half` 1).
fn store_half(base: usize, len: usize, v: u8, half: usize) {
    for off in (half * STEP * PG..len).step_by(2 * STEP * PG) {
        // SAFETY: the caller's writable mapping.
        unsafe { util::store_byte(base + off, v.wrapping_add((off / PG) as u8)) };
    }
}

/// Checks what `store_half(base, len, v, half)` stored.
fn check_half(who: &str, base: usize, len: usize, v: u8, half: usize) -> TestResult {
    for off in (half * STEP * PG..len).step_by(2 * STEP * PG) {
        // SAFETY: the caller's readable mapping.
        let got = unsafe { util::load_byte(base + off) };
        let want = v.wrapping_add((off / PG) as u8);
        ensure!(got == want, "{}: byte at {:#x} is {:#x}, expected {:#x}", who, base + off, got, want);
    }
    Ok(())
}

/// Checks what `store_all(base, len, v)` stored; `who` names the process.
fn check_all(who: &str, base: usize, len: usize, v: u8) -> TestResult {
    for off in (0..len).step_by(STEP * PG) {
        // SAFETY: the caller's readable mapping.
        let got = unsafe { util::load_byte(base + off) };
        let want = v.wrapping_add((off / PG) as u8);
        ensure!(got == want, "{}: byte at {:#x} is {:#x}, expected {:#x}", who, base + off, got, want);
    }
    Ok(())
}

/// The child's verdict as an exit status, printing the reason of a failure.
fn verdict(case: &str, r: TestResult) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            ulib::println!("{}: {}", case, e);
            2
        }
    }
}

/// A heap of more than one block (grown lazily), returned as (start, length).
fn big_heap() -> Result<(usize, usize), alloc::string::String> {
    let len = 2 * BLOCK + 16 * PG;
    let start = memory::sbrk_lazy(len).map_err(|e| alloc::format!("sbrk: {}", e))?;
    Ok((start, len))
}

/// After fork, parent and child store different values into the same pages of every kind
/// (a heap larger than a block, the stack, a private anonymous mapping of whole blocks, a
/// private file mapping) and each sees only its own.
pub fn private_both_ways() -> TestResult {
    const F: &str = "mmblocks";
    util::clean(&[F]);
    util::pattern_file(F, 43, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let file = map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    let anon = map_blocks(MAP_PRIVATE)?;
    let (heap, heap_len) = big_heap()?;
    let mut stack = [0u8; 256];
    // Stores `v` into the halves `halves` of the anonymous memory, and the stack and file.
    let store = |stack: &mut [u8; 256], v: u8, halves: &[usize]| {
        for &h in halves {
            store_half(anon, LEN, v, h);
            store_half(heap, heap_len, v, h);
        }
        stack.fill(v);
        core::hint::black_box(&mut *stack);
        // SAFETY: the private file mapping is two writable pages.
        unsafe { util::store_byte(file + PG + 3, v) };
    };
    // Checks that the halves hold `v[0]` and `v[1]`, and the stack and file `v[0]`.
    let check = |who: &str, stack: &[u8; 256], v: [u8; 2]| -> TestResult {
        for (h, &value) in v.iter().enumerate() {
            check_half(who, anon, LEN, value, h)?;
            check_half(who, heap, heap_len, value, h)?;
        }
        let v = v[0];
        ensure!(core::hint::black_box(stack).iter().all(|&b| b == v), "{}: the stack lost its bytes", who);
        // SAFETY: as above.
        let f = unsafe { util::load_byte(file + PG + 3) };
        ensure!(f == v, "{}: the private file page holds {:#x}, expected {:#x}", who, f, v);
        Ok(())
    };
    store(&mut stack, 0x10, &[0, 1]);
    let (to_parent, to_child) = (Signal::new()?, Signal::new()?);
    let pid = util::spawn(|| {
        // Only half the pages: the child keeps reading the other half as it was at fork
        // while the parent stores into it, whichever side got the shared tables back.
        store(&mut stack, 0x20, &[0]);
        to_parent.post(1);
        if !to_child.wait() {
            return 3;
        }
        verdict("forkblocks", check("child", &stack, [0x20, 0x10]))
    })?;
    ensure!(to_parent.wait(), "the child died before its stores");
    check("parent, after the child's stores", &stack, [0x10, 0x10])?;
    store(&mut stack, 0x30, &[0, 1]);
    to_child.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the child saw other values than its own (status {})", status);
    check("parent", &stack, [0x30, 0x30])?;
    let data = util::read_file(F)?;
    util::check_pattern("the file behind the private mapping", &data, 43, 0)?;
    unmap(file, 2 * PG)?;
    unmap(anon, LEN)?;
    util::remove(F)
}

/// Fork + exec of a process with whole blocks written copies none of them, and gives back
/// every page; the parent's stores afterwards copy nothing and take no page (its page
/// tables are its own again without a copy).
pub fn fork_exec() -> TestResult {
    let anon = map_blocks(MAP_PRIVATE)?;
    store_all(anon, LEN, 1);
    let (cow0, free0) = (cow_faults()?, util::free()?);
    let pid = util::spawn(|| {
        let e = process::exec("mmaptests", &["mmaptests", "--exit", "0"]);
        ulib::println!("forkexecblocks: exec failed ({})", e);
        9
    })?;
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the exec'd child ended with {}", status);
    let (cow1, free1) = (cow_faults()?, util::free()?);
    // The child's own stack page, stored to before exec, is all it may have copied.
    ensure!(cow1 - cow0 < 8, "fork + exec made {} copy-on-write faults", cow1 - cow0);
    ensure!(free1 == free0, "fork + exec + wait kept {} pages", free0 as i64 - free1 as i64);
    store_all(anon, LEN, 2);
    let (cow2, free2) = (cow_faults()?, util::free()?);
    ensure!(cow2 == cow1, "the parent's stores after the exec made {} copies", cow2 - cow1);
    ensure!(free2 == free1, "the parent's stores after the exec took {} pages", free1 as i64 - free2 as i64);
    check_all("parent", anon, LEN, 2)?;
    unmap(anon, LEN)
}

/// A child that exits without touching anything: the parent's later stores to every block
/// copy nothing and take no page.
pub fn after_exit() -> TestResult {
    let anon = map_blocks(MAP_PRIVATE)?;
    let (heap, heap_len) = big_heap()?;
    store_all(anon, LEN, 5);
    store_all(heap, heap_len, 5);
    let status = util::in_child(|| 0)?;
    ensure!(status == 0, "the child ended with {}", status);
    let (cow0, free0) = (cow_faults()?, util::free()?);
    store_all(anon, LEN, 6);
    store_all(heap, heap_len, 6);
    let (cow1, free1) = (cow_faults()?, util::free()?);
    ensure!(cow1 == cow0, "{} copy-on-write faults for pages no one else held", cow1 - cow0);
    ensure!(free1 == free0, "stores to pages no one else held took {} pages", free0 as i64 - free1 as i64);
    check_all("parent", anon, LEN, 6)?;
    check_all("parent", heap, heap_len, 6)?;
    unmap(anon, LEN)
}

/// Three generations share the blocks: the child forks a grandchild before touching them;
/// the grandchild stores into one half of the pages, the child into the other, the parent
/// into all, and each sees its own stores and, where it stored nothing, the bytes of fork.
pub fn nested() -> TestResult {
    let anon = map_blocks(MAP_PRIVATE)?;
    store_all(anon, LEN, 0x40);
    let (grandchild_done, child_done, check) = (Signal::new()?, Signal::new()?, Signal::new()?);
    let pid = util::spawn(|| {
        let r = (|| -> TestResult {
            let g = util::spawn(|| {
                store_half(anon, LEN, 0x60, 0);
                grandchild_done.post(1);
                if !check.wait() {
                    return 3;
                }
                let r = check_half("grandchild", anon, LEN, 0x60, 0)
                    .and_then(|()| check_half("grandchild", anon, LEN, 0x40, 1));
                verdict("forknested", r)
            })?;
            ensure!(grandchild_done.wait(), "the grandchild died before its stores");
            check_all("child, after the grandchild's stores", anon, LEN, 0x40)?;
            store_half(anon, LEN, 0x50, 1);
            child_done.post(1);
            ensure!(check.wait(), "the parent died");
            check_half("child", anon, LEN, 0x40, 0)?;
            check_half("child", anon, LEN, 0x50, 1)?;
            let s = util::wait_for(g)?;
            ensure!(s == 0, "the grandchild saw other values than its own (status {})", s);
            Ok(())
        })();
        verdict("forknested", r)
    })?;
    ensure!(child_done.wait(), "the child died before its stores");
    check_all("parent, after the others' stores", anon, LEN, 0x40)?;
    store_all(anon, LEN, 0x70);
    check.post(2);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the child or grandchild failed (status {})", status);
    check_all("parent", anon, LEN, 0x70)?;
    unmap(anon, LEN)
}

/// munmap (part of a block, a whole block), mprotect, madvise(MADV_DONTNEED) and shrinking
/// the heap in the child change nothing in the parent, which still stores everywhere.
pub fn child_changes() -> TestResult {
    let anon = map_blocks(MAP_PRIVATE)?;
    let (heap, heap_len) = big_heap()?;
    store_all(anon, LEN, 0x11);
    store_all(heap, heap_len, 0x11);
    util::expect_child_ok("unmapping, protecting and dropping pages shared with its parent", || {
        let r = (|| -> TestResult {
            let ok =
                |r: isize, what: &str| if r == 0 { Ok(()) } else { Err(alloc::format!("{} failed", what)) };
            ok(util::raw_munmap(anon + 8 * PG, 16 * PG), "munmap of part of a block")?;
            ok(util::raw_munmap(anon + BLOCK, BLOCK), "munmap of a whole block")?;
            // SAFETY: mprotect and madvise of this process's own mapping.
            let p = unsafe { memory::mprotect(anon + 2 * BLOCK, BLOCK, abi::PROT_READ) };
            ok(if p.is_ok() { 0 } else { -1 }, "mprotect")?;
            // SAFETY: as above.
            let d = unsafe { memory::madvise(anon + 3 * BLOCK, 4 * PG, abi::MADV_DONTNEED) };
            ok(if d.is_ok() { 0 } else { -1 }, "madvise")?;
            ensure!(memory::brk() == heap + heap_len, "the allocator grew the heap after the case did");
            // SAFETY: the top of the heap is the case's own (checked above), untouched by Rust.
            unsafe { memory::sbrk_shrink(heap_len - 4 * PG) }.map_err(|_| "sbrk shrink failed")?;
            check_all("child, first pages", anon, 8 * PG, 0x11)?;
            check_all("child, protected block", anon + 2 * BLOCK, BLOCK, 0x11)?;
            // SAFETY: the pages MADV_DONTNEED dropped read as zeros again.
            let z = unsafe { util::load_byte(anon + 3 * BLOCK) };
            ensure!(z == 0, "a dropped page reads {:#x}", z);
            store_all(anon, 8 * PG, 0x22);
            check_all("child, heap", heap, 4 * PG, 0x11)?;
            Ok(())
        })();
        verdict("forkchanges", r)
    })?;
    check_all("parent", anon, LEN, 0x11)?;
    check_all("parent, heap", heap, heap_len, 0x11)?;
    store_all(anon, LEN, 0x33);
    store_all(heap, heap_len, 0x33);
    check_all("parent, after its stores", anon, LEN, 0x33)?;
    check_all("parent, heap after its stores", heap, heap_len, 0x33)?;
    unmap(anon, LEN)
}

/// A shared anonymous mapping of whole blocks stays shared across fork, both ways.
pub fn shared_stays_shared() -> TestResult {
    let anon = map_blocks(MAP_SHARED)?;
    store_all(anon, LEN, 1);
    let (to_parent, to_child) = (Signal::new()?, Signal::new()?);
    let pid = util::spawn(|| {
        let r = (|| -> TestResult {
            check_all("child", anon, LEN, 1)?;
            store_all(anon, LEN, 2);
            to_parent.post(1);
            ensure!(to_child.wait(), "the parent died");
            check_all("child, after the parent's stores", anon, LEN, 3)
        })();
        verdict("forksharedblocks", r)
    })?;
    ensure!(to_parent.wait(), "the child died before its stores");
    check_all("parent, after the child's stores", anon, LEN, 2)?;
    store_all(anon, LEN, 3);
    to_child.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the child did not see the parent's stores (status {})", status);
    unmap(anon, LEN)
}

/// Fork copies no page table of anonymous memory: a process with one page written in each of
/// 32 blocks forks, and while the child waits the fork has taken far fewer pages than the 32
/// level-0 tables a copy would need; the child's first store to one block copies that
/// block's table alone, and sees the parent's bytes.
pub fn tables_shared() -> TestResult {
    const BLOCKS: usize = 32;
    let big = map(BASE, BLOCKS * BLOCK, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)?;
    for b in 0..BLOCKS {
        // SAFETY: the writable mapping made above.
        unsafe { util::store_byte(big + b * BLOCK, b as u8 + 1) };
    }
    let (forked, go) = (Signal::new()?, Signal::new()?);
    let free0 = util::free()?;
    let pid = util::spawn(|| {
        forked.post(1);
        if !go.wait() {
            return 3;
        }
        // SAFETY: the inherited mapping.
        unsafe { util::store_byte(big + 5 * BLOCK + PG, 0x77) };
        for b in 0..BLOCKS {
            // SAFETY: as above.
            if unsafe { util::load_byte(big + b * BLOCK) } != b as u8 + 1 {
                return 2;
            }
        }
        0
    })?;
    ensure!(forked.wait(), "the child died at once");
    let taken = free0 as i64 - util::free()? as i64;
    go.post(1);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "the child did not see the parent's bytes (status {})", status);
    // The child's trap frame, root and a few tables of its own, and the stack pages the two
    // copy on their first stores: a handful, against 32 for copying the tables.
    ensure!(taken < BLOCKS as i64 / 2, "fork took {} pages for {} blocks of anonymous memory", taken, BLOCKS);
    unmap(big, BLOCKS * BLOCK)
}

/// The kernel reads memory a child still shares with its parent (a `write` buffer, an `open`
/// path) through the shared page table: the right bytes, and no page taken for a copy of the
/// table.
pub fn kernel_reads() -> TestResult {
    const F: &str = "mmrdblk";
    util::clean(&[F]);
    util::pattern_file(F, 44, PG)?;
    let (heap, _) = big_heap()?;
    // A block of the heap with nothing else in it.
    let buf = (heap + BLOCK).next_multiple_of(BLOCK) + 8 * PG;
    // SAFETY: heap pages this case grew the break for, used by nothing else.
    let bytes = unsafe { util::bytes_mut(buf, 256) };
    for (i, b) in bytes[..64].iter_mut().enumerate() {
        *b = util::pattern(45, i);
    }
    bytes[128..128 + F.len()].copy_from_slice(F.as_bytes());
    bytes[128 + F.len()] = 0;
    let (rd, wr) = fs::pipe().map_err(|e| alloc::format!("pipe: {}", e))?;
    let status = util::in_child(|| {
        let free = || util::kstat(abi::kstat::FREE_PAGES).unwrap_or(0);
        let before = free();
        let n = fs::write(wr, &bytes[..64]);
        let after = free();
        let fd = ulib::sys::open((buf + 128) as *const u8, abi::O_RDONLY);
        let mut first = [0u8; 1];
        let read = fs::read(fd as i32, &mut first);
        match () {
            _ if n != Ok(64) => 4,
            _ if after != before => 5,
            _ if fd < 0 => 6,
            _ if read != Ok(1) || first[0] != util::pattern(44, 0) => 7,
            _ => 0,
        }
    })?;
    let _ = fs::close(wr);
    let mut got = [0u8; 64];
    let n = fs::read(rd, &mut got);
    let _ = fs::close(rd);
    ensure!(status != 5, "reading a buffer shared since fork took a page");
    ensure!(status == 0, "the child's write or open from shared memory failed (status {})", status);
    ensure!(n == Ok(64), "the pipe holds {:?} bytes, not 64", n);
    util::check_pattern("the bytes written from shared memory", &got, 45, 0)?;
    util::remove(F)
}
