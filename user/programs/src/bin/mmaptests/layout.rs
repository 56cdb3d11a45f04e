//! Where mappings go and how munmap cuts them: a hole punched in the middle (the right piece
//! keeps its file offset), one munmap across three mappings, ten thousand mappings, hints
//! and the reuse of freed ranges, MAP_FIXED replacing part of a mapping, and the heap that
//! may not grow into a mapping placed just above it.

use crate::util::{self, check_pattern, check_zero, map, unmap, TestResult, PG, RW};
use alloc::format;
use alloc::vec::Vec;
use core::hint::black_box;
use ulib::abi::{
    self, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_READ,
};
use ulib::{fs, memory};

/// Bottom of the area where the kernel places mappings (ABI: far above any heap).
const MMAP_AREA: usize = 0x20_0000_0000;

/// Checks in children that touching each of `addrs` kills.
fn all_kill(what: &str, addrs: &[usize]) -> TestResult {
    for &a in addrs {
        util::expect_killed(&format!("touching {:#x} ({})", a, what), || {
            // SAFETY: the load is meant to kill the process.
            black_box(unsafe { util::load_byte(a) });
        })?;
    }
    Ok(())
}

/// munmap of one page in the middle of a shared file mapping splits it: both pieces work,
/// the right piece still maps its own file pages (also ones never touched before), the hole
/// kills, and stores on each side reach the file at the right offsets. The same for an
/// anonymous mapping.
pub fn hole_punch() -> TestResult {
    const F: &str = "mmhole";
    util::clean(&[F]);
    util::pattern_file(F, 60, 5 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 5 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // Touch pages 0..=2 only; page 2 is written and then punched out.
    // SAFETY: stores into the case's own shared mapping.
    unsafe {
        util::store_byte(a + 1, 0xa0);
        black_box(util::load_byte(a + PG));
        util::store_byte(a + 2 * PG + 2, 0xa2);
    }
    unmap(a + 2 * PG, PG)?;
    all_kill("the punched page", &[a + 2 * PG, a + 3 * PG - 1])?;
    // SAFETY: the pages on both sides of the hole are still mapped.
    let (left, right) = unsafe { (util::bytes(a, 2 * PG), util::bytes(a + 3 * PG, 2 * PG)) };
    ensure!(left[1] == 0xa0, "left piece lost its store");
    check_pattern("left piece", &left[2..], 60, 2)?;
    check_pattern("right piece (never touched before the split)", right, 60, 3 * PG)?;
    // SAFETY: a store into the right piece.
    unsafe { util::store_byte(a + 4 * PG + 4, 0xa4) };
    unmap(a, 5 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data[1] == 0xa0, "file lacks the store to page 0");
    ensure!(data[2 * PG + 2] == 0xa2, "file lacks the store to the punched page (written back at munmap)");
    ensure!(data[4 * PG + 4] == 0xa4, "file lacks the store to page 4 at offset {:#x}", 4 * PG + 4);
    check_pattern("page 3 of the file", &data[3 * PG..4 * PG], 60, 3 * PG)?;
    util::remove(F)?;
    // Anonymous: a two-page hole.
    let b = map(0, 5 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    for p in 0..5 {
        // SAFETY: stores into the case's own anonymous mapping.
        unsafe { util::store_byte(b + p * PG, 0x10 + p as u8) };
    }
    unmap(b + PG, 2 * PG)?;
    all_kill("an anonymous hole", &[b + PG, b + 2 * PG + 100])?;
    for p in [0, 3, 4] {
        // SAFETY: loads from pages outside the hole.
        let v = unsafe { util::load_byte(b + p * PG) };
        ensure!(v == 0x10 + p as u8, "anonymous page {} holds {:#x} after the hole punch", p, v);
    }
    unmap(b, 5 * PG)
}

/// One munmap from inside the first of three adjacent mappings to inside the third removes
/// the middle one whole and trims the others; what is left still maps the right file pages.
pub fn span_three() -> TestResult {
    const F1: &str = "mmspan1";
    const F2: &str = "mmspan2";
    util::clean(&[F1, F2]);
    util::pattern_file(F1, 61, 3 * PG)?;
    util::pattern_file(F2, 62, 4 * PG)?;
    // Find nine free pages, then lay three mappings side by side there.
    let base = map(0, 9 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let f1 = util::open(F1, O_RDWR)?;
    let f2 = util::open(F2, O_RDONLY)?;
    let a = map(base, 3 * PG, RW, MAP_SHARED | MAP_FIXED, f1, 0)?;
    let b = map(base + 3 * PG, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)?;
    let c = map(base + 6 * PG, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, f2, PG)?;
    ensure!(
        a == base && b == base + 3 * PG && c == base + 6 * PG,
        "MAP_FIXED did not map at the addresses given"
    );
    let _ = fs::close(f1);
    let _ = fs::close(f2);
    // SAFETY: stores into the case's own mappings; a load from the third.
    unsafe {
        util::store_byte(a + PG + 9, 0xb1); // removed below: must be written back
        util::store_byte(a + 5, 0xb0); // kept
        util::store_byte(b + PG, 0xbb);
        black_box(util::load_byte(c));
    }
    unmap(base + PG, 7 * PG)?;
    all_kill(
        "a range unmapped across three mappings",
        &[base + PG, base + 3 * PG, base + 5 * PG, base + 7 * PG],
    )?;
    // SAFETY: the first page of the first mapping and the last of the third remain.
    let (first, last) = unsafe { (util::bytes(a, PG), util::bytes(base + 8 * PG, PG)) };
    ensure!(first[5] == 0xb0, "first mapping's remaining page lost its store");
    check_pattern("last page of the third mapping (file page 3)", last, 62, 3 * PG)?;
    let data = util::read_file(F1)?;
    ensure!(data[PG + 9] == 0xb1, "store to an unmapped page of the shared mapping did not reach the file");
    unmap(base, 9 * PG)?;
    let data = util::read_file(F1)?;
    ensure!(data[5] == 0xb0, "store to the first page did not reach the file");
    util::remove(F1)?;
    util::remove(F2)
}

/// Mappings in [`many_maps`].
const MANY: usize = 10_000;

/// A process holds 10,000 mappings (anonymous and of one file, alternating), each touched;
/// unmapping every other one and mapping again reuses the holes; one munmap removes them all.
pub fn many_maps() -> TestResult {
    const F: &str = "mmmany";
    util::clean(&[F]);
    util::pattern_file(F, 63, PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let mut addrs: Vec<usize> = Vec::with_capacity(MANY);
    for i in 0..MANY {
        let a = if i % 2 == 0 {
            map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        } else {
            map(0, PG, PROT_READ, MAP_SHARED, fd, 0)
        };
        match a {
            Ok(a) => addrs.push(a),
            Err(e) => fail!("mapping number {}: {}", i, e),
        }
    }
    let _ = fs::close(fd);
    for (i, &a) in addrs.iter().enumerate() {
        if i % 2 == 0 {
            // SAFETY: a store into the case's own anonymous page.
            unsafe { util::store_byte(a + 8, (i % 251) as u8) };
        }
    }
    for (i, &a) in addrs.iter().enumerate() {
        // SAFETY: loads from mapped pages.
        let v = unsafe { util::load_byte(a + 8) };
        let want = if i % 2 == 0 { (i % 251) as u8 } else { util::pattern(63, 8) };
        ensure!(v == want, "mapping {} at {:#x} holds {:#x}, expected {:#x}", i, a, v, want);
    }
    let mut sorted = addrs.clone();
    sorted.sort_unstable();
    ensure!(sorted.windows(2).all(|w| w[1] >= w[0] + PG), "two of the {} mappings overlap", MANY);
    let (lo, hi) = (sorted[0], sorted[MANY - 1] + PG);
    ensure!(
        lo >= MMAP_AREA && hi <= abi::USER_TOP,
        "mappings lie outside the mmap area: {:#x}..{:#x}",
        lo,
        hi
    );
    // Unmap every other mapping, then map as many again: they must reuse the holes.
    for &a in addrs.iter().step_by(2) {
        unmap(a, PG)?;
    }
    for i in 0..MANY / 2 {
        let a = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
        ensure!(
            a >= lo && a + PG <= hi,
            "new mapping {} at {:#x} is outside the holes in {:#x}..{:#x}",
            i,
            a,
            lo,
            hi
        );
    }
    unmap(lo, hi - lo)?;
    all_kill("pages of 10,000 mappings removed by one munmap", &[lo, addrs[MANY / 2], hi - PG])?;
    let again = map(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    ensure!(again >= lo && again < hi, "after unmapping everything a new mapping went to {:#x}", again);
    unmap(again, PG)?;
    util::remove(F)
}

/// A free hint is honoured exactly; a taken one is not, and the mapping goes elsewhere
/// without overlapping; hints in the program's part of the address space or running past
/// the top are not honoured; a range freed by munmap is reused by the next fitting mmap.
pub fn hint_and_reuse() -> TestResult {
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;
    let h = 0x30_0000_0000;
    let a = map(h, 2 * PG, RW, anon, -1, 0)?;
    ensure!(a == h, "a free hint {:#x} was not honoured (got {:#x})", h, a);
    let b = map(h, 2 * PG, RW, anon, -1, 0)?;
    ensure!(b + 2 * PG <= h || b >= h + 2 * PG, "mapping at a taken hint overlaps: {:#x}", b);
    let c = map(h + PG, PG, RW, anon, -1, 0)?;
    ensure!(c + PG <= h || c >= h + 2 * PG, "mapping at a hint inside a mapping overlaps: {:#x}", c);
    let h2 = h + 64 * PG;
    let d = map(h2, 3 * PG, RW, anon, -1, 0)?;
    ensure!(d == h2, "a second free hint {:#x} was not honoured (got {:#x})", h2, d);
    // A hint below the mmap area (the program's text) is not used.
    let brk = memory::brk();
    let e = map(0x1000, PG, RW, anon, -1, 0)?;
    ensure!(e >= brk, "a hint in the program's text gave {:#x}, below the break {:#x}", e, brk);
    let top = abi::USER_TOP;
    let f = map(top - PG, 2 * PG, RW, anon, -1, 0)?;
    ensure!(f + 2 * PG <= top, "a hint running past the top gave {:#x}..{:#x}", f, f + 2 * PG);
    for (m, n) in [(a, 2), (b, 2), (c, 1), (d, 3), (e, 1), (f, 2)] {
        unmap(m, n * PG)?;
    }
    // Gap reuse: free the middle of three mappings; the next mmaps that fit go there.
    let x1 = map(0, 3 * PG, RW, anon, -1, 0)?;
    let x2 = map(0, 3 * PG, RW, anon, -1, 0)?;
    let x3 = map(0, 3 * PG, RW, anon, -1, 0)?;
    unmap(x2, 3 * PG)?;
    let y = map(0, 2 * PG, RW, anon, -1, 0)?;
    ensure!(y >= x2 && y + 2 * PG <= x2 + 3 * PG, "freed range {:#x} was not reused (got {:#x})", x2, y);
    let z = map(0, PG, RW, anon, -1, 0)?;
    ensure!(
        z >= x2 && z + PG <= x2 + 3 * PG && (z + PG <= y || z >= y + 2 * PG),
        "the rest of the hole was not reused (got {:#x})",
        z
    );
    // SAFETY: stores into the case's own mappings.
    unsafe {
        util::store_byte(y, 1);
        util::store_byte(z, 2);
    }
    // SAFETY: loads from the same.
    let (vy, vz) = unsafe { (util::load_byte(y), util::load_byte(z)) };
    ensure!(vy == 1 && vz == 2, "reused ranges do not hold stores");
    for (m, n) in [(x1, 3), (x3, 3), (y, 2), (z, 1)] {
        unmap(m, n * PG)?;
    }
    Ok(())
}

/// MAP_FIXED over part of a mapping replaces just that part: the pages on either side keep
/// their file pages, the replaced dirty shared page is written back first, and
/// MAP_FIXED_NOREPLACE refuses to do the same and changes nothing.
pub fn fixed_replace() -> TestResult {
    const F: &str = "mmfix1";
    const G: &str = "mmfix2";
    util::clean(&[F, G]);
    util::pattern_file(F, 64, 4 * PG)?;
    util::pattern_file(G, 65, 2 * PG)?;
    let f = util::open(F, O_RDWR)?;
    let g = util::open(G, O_RDONLY)?;
    let a = map(0, 4 * PG, RW, MAP_SHARED, f, 0)?;
    // SAFETY: stores into the case's shared mapping; every page is touched.
    unsafe {
        for p in 0..4 {
            util::store_byte(a + p * PG + 3, 0xc0 + p as u8);
        }
    }
    let r = util::raw_mmap(a + PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, g, 0);
    ensure!(r == -1, "MAP_FIXED_NOREPLACE over a mapping returned {:#x}", r);
    // SAFETY: a load from the (unchanged) mapping.
    let v = unsafe { util::load_byte(a + PG + 3) };
    ensure!(v == 0xc1, "a refused MAP_FIXED_NOREPLACE changed the mapping");
    let b = map(a + PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, g, 0)?;
    ensure!(b == a + PG, "MAP_FIXED returned {:#x}, not {:#x}", b, a + PG);
    // SAFETY: four readable pages, now of two files.
    let m = unsafe { util::bytes(a, 4 * PG) };
    check_pattern("replaced pages", &m[PG..3 * PG], 65, 0)?;
    ensure!(m[3] == 0xc0 && m[3 * PG + 3] == 0xc3, "pages around the replaced part lost their stores");
    check_pattern("last page (file page 3)", &m[3 * PG + 4..], 64, 3 * PG + 4)?;
    // The replaced pages' stores reached F when they were unmapped by MAP_FIXED.
    let data = util::read_file(F)?;
    ensure!(data[PG + 3] == 0xc1 && data[2 * PG + 3] == 0xc2, "stores to replaced shared pages were lost");
    // Replace one page again, with anonymous memory.
    let c = map(a + 2 * PG, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)?;
    ensure!(c == a + 2 * PG, "MAP_FIXED anonymous returned {:#x}", c);
    // SAFETY: the anonymous page is readable.
    check_zero("anonymous page mapped over a file page", unsafe { util::bytes(c, PG) })?;
    check_pattern("file page left of it", &m[PG..2 * PG], 65, 0)?;
    unmap(a, 4 * PG)?;
    let data = util::read_file(F)?;
    ensure!(data[3] == 0xc0 && data[3 * PG + 3] == 0xc3, "stores to the kept pages were not written back");
    let _ = fs::close(f);
    let _ = fs::close(g);
    util::remove(F)?;
    util::remove(G)
}

/// The heap may not grow into a mapping: with one placed by MAP_FIXED right at the break,
/// sbrk fails (eager and lazy); with one a page above, the heap grows by exactly that page.
/// MAP_FIXED below the break fails and leaves the heap alone.
pub fn sbrk_below_fixed() -> TestResult {
    // From here to the end nothing may allocate: the allocator would move the break.
    let cur = memory::brk();
    let pad = cur.next_multiple_of(PG) - cur;
    if pad > 0 && memory::sbrk_eager(pad).is_err() {
        fail!("sbrk to a page boundary failed");
    }
    let t = memory::brk();
    ensure!(t.is_multiple_of(PG), "break {:#x} is not page-aligned", t);
    let anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let m = map(t, PG, RW, anon, -1, 0)?;
    ensure!(m == t, "MAP_FIXED at the break returned {:#x}", m);
    ensure!(memory::sbrk_eager(1).is_err(), "sbrk(1) grew the heap into a mapping");
    ensure!(memory::sbrk_lazy(PG).is_err(), "lazy sbrk grew the heap into a mapping");
    ensure!(memory::sbrk_lazy(1 << 30).is_err(), "lazy sbrk of 1 GiB grew the heap over a mapping");
    ensure!(memory::brk() == t, "failed sbrks moved the break");
    // SAFETY: a store into the mapping at the break.
    unsafe { util::store_byte(m + 5, 7) };
    // A fixed mapping may not go below the break (into the heap).
    // SAFETY: a load from the heap's last page, which is ours.
    let below = unsafe { util::load_byte(t - PG) };
    let r = util::raw_mmap(t - PG, PG, RW, anon, -1, 0);
    ensure!(r == -1, "MAP_FIXED over the heap's last page returned {:#x}", r);
    // SAFETY: as above.
    ensure!(unsafe { util::load_byte(t - PG) } == below, "a refused MAP_FIXED changed the heap");
    let r = util::raw_mmap(0, PG, RW, anon, -1, 0);
    ensure!(r == -1, "MAP_FIXED at address 0 returned {:#x}", r);
    unmap(m, PG)?;
    // One free page between the break and a mapping: the heap grows by that page, no more.
    let m2 = map(t + PG, PG, RW, anon, -1, 0)?;
    let Ok(p) = memory::sbrk_eager(PG) else { fail!("sbrk of the one free page below a mapping failed") };
    ensure!(p == t, "sbrk returned {:#x}, expected {:#x}", p, t);
    ensure!(memory::sbrk_eager(1).is_err(), "sbrk(1) grew the heap into a mapping one page up");
    // SAFETY: the page was just grown for us; m2 is the case's own mapping.
    unsafe {
        util::store_byte(p + 1, 3);
        util::store_byte(m2, 4);
    }
    unmap(m2, PG)?;
    ensure!(memory::sbrk_eager(PG).is_ok(), "sbrk failed after the mapping above the heap was removed");
    Ok(())
}

/// A 64 GiB anonymous mapping costs nothing until touched: three pages far apart are
/// usable and take about three pages of memory (plus page tables); munmap of the whole
/// range removes them.
pub fn huge_anon() -> TestResult {
    const LEN: usize = 64 << 30;
    let free0 = util::free()?;
    let a = map(0, LEN, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    ensure!(a + LEN <= abi::USER_TOP, "a 64 GiB mapping at {:#x} runs past the top", a);
    let offs = [0, LEN / 2 + 12345, LEN - 1];
    for (i, &o) in offs.iter().enumerate() {
        // SAFETY: stores into the case's own mapping.
        unsafe { util::store_byte(a + o, 0x50 + i as u8) };
    }
    for (i, &o) in offs.iter().enumerate() {
        // SAFETY: loads from the same.
        let v = unsafe { util::load_byte(a + o) };
        ensure!(v == 0x50 + i as u8, "byte at offset {:#x} of a huge mapping holds {:#x}", o, v);
    }
    let used = free0.saturating_sub(util::free()?);
    ensure!(used <= 3 + 3 * 3, "touching 3 pages of a 64 GiB mapping used {} pages", used);
    unmap(a, LEN)?;
    all_kill("a huge mapping after munmap", &[a + LEN / 2 + 12345])
}

/// The program of [`image_top`]: `s0 = mmap(0, 8192, PROT_READ|PROT_WRITE,
/// MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); exit(s0 < sbrk(0, 1))`, so it exits with 1 when the
/// kernel placed the mapping over its image, stack or heap.
const MMAP_BELOW_BRK: [u32; 16] = [
    0x0000_0513, // li   a0, 0
    0x0000_25b7, // lui  a1, 2          (8192)
    0x0030_0613, // li   a2, 3          (PROT_READ | PROT_WRITE)
    0x0220_0693, // li   a3, 0x22       (MAP_PRIVATE | MAP_ANONYMOUS)
    0xfff0_0713, // li   a4, -1
    0x0000_0793, // li   a5, 0
    0x0160_0893, // li   a7, 22         (mmap)
    0x0000_0073, // ecall
    0x0005_0413, // mv   s0, a0
    0x0000_0513, // li   a0, 0
    0x0010_0593, // li   a1, 1
    0x00c0_0893, // li   a7, 12         (sbrk)
    0x0000_0073, // ecall
    0x00a4_3533, // sltu a0, s0, a0
    0x0020_0893, // li   a7, 2          (exit)
    0x0000_0073, // ecall
];

/// A static RISC-V ELF64 executable with one read+execute segment at `vaddr` (entry there)
/// holding `code`, `memsz` bytes long in memory.
fn tiny_elf(vaddr: u64, memsz: u64, code: &[u32]) -> Vec<u8> {
    const CODE_AT: usize = 64 + 56;
    let mut e = alloc::vec![0u8; CODE_AT];
    e[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    let put16 = |e: &mut [u8], at: usize, v: u16| e[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |e: &mut [u8], at: usize, v: u32| e[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |e: &mut [u8], at: usize, v: u64| e[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put16(&mut e, 16, 2); // ET_EXEC
    put16(&mut e, 18, 0xf3); // EM_RISCV
    put32(&mut e, 20, 1);
    put64(&mut e, 24, vaddr); // entry
    put64(&mut e, 32, 64); // program headers right after this header
    put16(&mut e, 52, 64);
    put16(&mut e, 54, 56);
    put16(&mut e, 56, 1);
    let filesz = (code.len() * 4) as u64;
    put32(&mut e, 64, 1); // PT_LOAD
    put32(&mut e, 64 + 4, 5); // R | X
    put64(&mut e, 64 + 8, CODE_AT as u64);
    put64(&mut e, 64 + 16, vaddr);
    put64(&mut e, 64 + 24, vaddr);
    put64(&mut e, 64 + 32, filesz);
    put64(&mut e, 64 + 40, memsz);
    put64(&mut e, 64 + 48, PG as u64);
    for w in code {
        e.extend_from_slice(&w.to_le_bytes());
    }
    e
}

/// Issue 10 item 3: exec refuses a program whose image leaves no room below the mmap area
/// for its guard page, stack and some heap (its stack would lie in the mmap area, where mmap
/// could hand it out); a program ending just low enough runs, and mmap places its mapping
/// at or above its break.
pub fn image_top() -> TestResult {
    const NAME: &str = "mmimagetop";
    util::clean(&[NAME]);
    let top = MMAP_AREA as u64;
    let refused = [
        ("ending at the mmap area", top - PG as u64),
        ("ending where only the guard and stack fit", top - 3 * PG as u64),
        ("leaving 4 KiB of heap", top - 4 * PG as u64),
    ];
    for (what, vaddr) in refused {
        util::write_file(NAME, &tiny_elf(vaddr, PG as u64, &MMAP_BELOW_BRK))?;
        let s = util::in_child(|| ulib::process::exec(NAME, &[NAME]).0 as i32)?;
        ensure!(
            s == -1,
            "exec of a program {} ({:#x}) gave status {}, expected -1 (refused)",
            what,
            vaddr,
            s
        );
    }
    // Guard page, stack page and 1 MiB of heap fit exactly.
    let vaddr = top - (3 * PG as u64) - (1 << 20);
    util::write_file(NAME, &tiny_elf(vaddr, PG as u64, &MMAP_BELOW_BRK))?;
    let s = util::in_child(|| ulib::process::exec(NAME, &[NAME]).0 as i32)?;
    ensure!(
        s == 0,
        "the program at {:#x} exited with {} (1: mmap placed a mapping below its break)",
        vaddr,
        s
    );
    util::remove(NAME)
}
