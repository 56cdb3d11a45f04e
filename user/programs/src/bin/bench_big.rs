//! bench_big: a file larger than the guest's memory, written, scanned and stored to through
//! mappings. `bench_big FILE MIB` runs three phases on a file of MIB MiB and prints one line
//! each:
//!
//! `bench big phase=P mib=MIB ops=PAGES time=T reclaimed=.. cleaned=.. written_back=..
//! disk_reads=.. disk_writes=.. min_free=..`
//!
//! Phases: `write` (the file written with 64 KiB `write()` calls), `scan` (mapped shared
//! read-only, one word loaded and checked per page, unmapped), `store` (mapped shared
//! read-write, one byte stored per page, unmapped: the dirty pages go back to the file under
//! memory pressure, and the rest at munmap). `reclaimed` and `cleaned` are the kernel's
//! counts of pages evicted and of dirty pages written back by reclaim; `min_free` is the
//! fewest free pages seen (sampled every 256 pages). The stores are then checked through a
//! new mapping on a sample of pages. The program exits 1 if anything fails.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec;
use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

const MIB: usize = 1 << 20;
/// Pages between samples of the free-page count.
const SAMPLE: usize = 256;

fn main(args: Args) -> i32 {
    let (Some(path), Some(mib)) = (args.get_str(1), args.get_str(2).and_then(|s| s.parse::<usize>().ok()))
    else {
        eprintln!("usage: bench_big FILE MIB");
        return 1;
    };
    match run(path, mib * MIB) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("bench_big: {}", msg);
            1
        }
    }
}

fn counter(id: usize) -> u64 {
    bench::counter(id).unwrap_or(0)
}

/// What one phase reports, from counters read at its start.
struct Phase {
    start: u64,
    counters: Counters,
    reclaimed: u64,
    cleaned: u64,
    min_free: u64,
}

impl Phase {
    fn begin() -> Phase {
        Phase {
            start: bench::now(),
            counters: Counters::read(),
            reclaimed: counter(kstat::PAGES_RECLAIMED),
            cleaned: counter(kstat::PAGES_CLEANED),
            min_free: counter(kstat::FREE_PAGES),
        }
    }

    fn sample(&mut self) {
        self.min_free = self.min_free.min(counter(kstat::FREE_PAGES));
    }

    fn end(mut self, phase: &str, size: usize) {
        let time = bench::now() - self.start;
        self.sample();
        Line::new("big")
            .word("phase", phase)
            .num("mib", (size / MIB) as u64)
            .time(time, (size / PGSIZE) as u64)
            .num("reclaimed", counter(kstat::PAGES_RECLAIMED) - self.reclaimed)
            .num("cleaned", counter(kstat::PAGES_CLEANED) - self.cleaned)
            .deltas(
                &self.counters,
                &Counters::read(),
                &[kstat::PAGES_WRITTEN_BACK, kstat::DISK_READS, kstat::DISK_WRITES],
            )
            .num("min_free", self.min_free)
            .print();
    }
}

fn run(path: &str, size: usize) -> Result<(), &'static str> {
    let pages = size / PGSIZE;
    let mut phase = Phase::begin();
    let fd =
        fs::open(path, abi::O_CREATE | abi::O_TRUNC | abi::O_RDWR).map_err(|_| "cannot create the file")?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = 0;
    while off < size {
        let n = buf.len().min(size - off);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = bench::pattern(off + i);
        }
        fs::write_all(fd, &buf[..n]).map_err(|_| "write failed")?;
        off += n;
        if off.is_multiple_of(SAMPLE * PGSIZE) {
            phase.sample();
        }
    }
    phase.end("write", size);

    let mut phase = Phase::begin();
    // SAFETY: a fresh shared read-only mapping of the file, read only within its length.
    unsafe {
        let a = memory::mmap(0, size, abi::PROT_READ, abi::MAP_SHARED, fd, 0).map_err(|_| "mmap failed")?;
        for p in 0..pages {
            let got = core::ptr::read_volatile((a + p * PGSIZE + 100) as *const u8);
            if got != bench::pattern(p * PGSIZE + 100) {
                return Err("the scan read a wrong byte");
            }
            if p % SAMPLE == 0 {
                phase.sample();
            }
        }
        memory::munmap(a, size).map_err(|_| "munmap failed")?;
    }
    phase.end("scan", size);

    let mut phase = Phase::begin();
    // SAFETY: a fresh shared read-write mapping of the file, stored to within its length.
    unsafe {
        let rw = abi::PROT_READ | abi::PROT_WRITE;
        let a = memory::mmap(0, size, rw, abi::MAP_SHARED, fd, 0).map_err(|_| "mmap failed")?;
        for p in 0..pages {
            core::ptr::write_volatile((a + p * PGSIZE + 200) as *mut u8, !bench::pattern(p * PGSIZE + 200));
            if p % SAMPLE == 0 {
                phase.sample();
            }
        }
        memory::munmap(a, size).map_err(|_| "munmap failed")?;
    }
    phase.end("store", size);

    // Every 97th page through a new mapping: the stored byte and its neighbour.
    // SAFETY: a fresh shared read-only mapping of the file, read only within its length.
    unsafe {
        let a = memory::mmap(0, size, abi::PROT_READ, abi::MAP_SHARED, fd, 0).map_err(|_| "mmap failed")?;
        for p in (0..pages).step_by(97) {
            let at = a + p * PGSIZE;
            let (b200, b201) = (
                core::ptr::read_volatile((at + 200) as *const u8),
                core::ptr::read_volatile((at + 201) as *const u8),
            );
            if b200 != !bench::pattern(p * PGSIZE + 200) || b201 != bench::pattern(p * PGSIZE + 201) {
                return Err("a store made through the mapping is not in the file");
            }
        }
        memory::munmap(a, size).map_err(|_| "munmap failed")?;
    }
    let _ = fs::close(fd);
    fs::unlink(path).map_err(|_| "unlink failed")?;
    Ok(())
}
