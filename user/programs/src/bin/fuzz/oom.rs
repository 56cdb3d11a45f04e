//! `oom` mode: exhausting the kernel's resources on purpose. Each phase runs in its own child
//! under a watchdog; every refusal must be a clean -1 (never another value, never a kernel
//! panic), and the phase must end normally (a phase that stores into more memory than there
//! is may instead be killed by the kernel, status -1). Returns the number of phases that
//! went wrong.

use alloc::vec::Vec;
use ulib::abi::{self, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PGSIZE as PG, PROT_READ, PROT_WRITE};
use ulib::testing::{supervise, Outcome};
use ulib::{println, process, sys};

const RW: usize = PROT_READ | PROT_WRITE;
/// Most mappings, files, pipes or processes a phase tries before giving up on the limit.
const MAX_TRIES: usize = 400_000;
/// Ticks a phase may take (60 s).
const PHASE_TICKS: i32 = 600;

/// A phase: its name, its body (the exit status), and whether being killed is a normal end.
type Phase = (&'static str, fn() -> i32, bool);

/// Runs every phase; returns how many failed.
pub fn run(_seed: u64) -> usize {
    let phases: [Phase; 7] = [
        ("onepage", one_page_maps, false),
        ("splits", splits, false),
        ("sharedanon", shared_anon, true),
        ("files", || hold_until_refused(open_readme), false),
        ("pipes", || hold_until_refused(make_pipe), false),
        ("procs", procs, false),
        ("execargs", exec_args, false),
    ];
    let mut failed = 0;
    for (name, f, may_be_killed) in phases {
        let ok = match supervise(PHASE_TICKS, f) {
            Outcome::Exited(0) => true,
            Outcome::Exited(-1) if may_be_killed => true,
            Outcome::Exited(s) => {
                println!("fuzz: oom {}: exited with {}", name, s);
                false
            }
            Outcome::TimedOut => {
                println!("fuzz: oom {}: timed out", name);
                false
            }
            Outcome::NoFork => {
                println!("fuzz: oom {}: fork failed", name);
                false
            }
        };
        if !ok {
            failed += 1;
        }
        println!("fuzz: oom {}: {}", name, if ok { "ok" } else { "FAILED" });
    }
    failed
}

/// An anonymous mmap of `len` bytes anywhere: the address, or -1.
fn map(len: usize, flags: usize) -> isize {
    // SAFETY: the kernel chooses the address, in the mmap area far above the heap.
    unsafe { sys::mmap(0, len, RW, flags, -1, 0) }
}

/// munmap of memory only this phase's own mappings occupy.
fn unmap(addr: usize, len: usize) -> isize {
    // SAFETY: callers pass ranges of mappings they made and hold no Rust object in.
    unsafe { sys::munmap(addr, len) }
}

/// One-page private mappings until mmap fails; fork must then fail or work, and one munmap
/// frees them all.
fn one_page_maps() -> i32 {
    let (mut lo, mut hi, mut n) = (usize::MAX, 0, 0);
    let r = loop {
        let r = map(PG, MAP_PRIVATE | MAP_ANONYMOUS);
        if r < 0 || n == MAX_TRIES {
            break r;
        }
        (lo, hi, n) = (lo.min(r as usize), hi.max(r as usize + PG), n + 1);
    };
    if r != -1 {
        println!("fuzz: oom onepage: mmap returned {} after {} mappings", r, n);
        return 1;
    }
    let f = match sys::fork() {
        0 => sys::exit(0),
        -1 => "refused",
        pid if pid > 0 => match process::wait_pid(pid as i32) {
            Ok(0) => "worked",
            _ => return 1,
        },
        _ => return 1,
    };
    println!("fuzz: oom onepage: {} mappings, then mmap -1; fork {}", n, f);
    if unmap(lo, hi - lo) != 0 || map(PG, MAP_PRIVATE | MAP_ANONYMOUS) == -1 {
        return 1;
    }
    0
}

/// Three-page mappings until mmap fails, then the middle page of each unmapped until munmap
/// fails (a split costs the kernel heap like a mapping).
fn splits() -> i32 {
    let (mut lo, mut n) = (0, 0);
    loop {
        let r = map(3 * PG, MAP_PRIVATE | MAP_ANONYMOUS);
        if r == -1 || n == MAX_TRIES {
            break;
        }
        if r < 0 {
            return 1;
        }
        if n == 0 {
            lo = r as usize;
        } else if r as usize != lo + 3 * PG * n {
            println!("fuzz: oom splits: mapping {} not after the others", n);
            return 1;
        }
        n += 1;
    }
    // Some whole mappings go first (never a split), so that some splits have room.
    let freed = 32.min(n);
    if unmap(lo, 3 * PG * freed) != 0 {
        return 1;
    }
    let mut split = 0;
    for i in freed..n {
        let middle = lo + 3 * PG * i + PG;
        match unmap(middle, PG) {
            0 => split += 1,
            -1 => {
                // SAFETY: MAP_FIXED over the middle page of our own mapping, holding nothing.
                let r =
                    unsafe { sys::mmap(middle, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0) };
                if r != -1 {
                    println!(
                        "fuzz: oom splits: MAP_FIXED splitting a mapping returned {:#x} at the reserve",
                        r
                    );
                    return 1;
                }
                break;
            }
            r => {
                println!("fuzz: oom splits: munmap returned {}", r);
                return 1;
            }
        }
    }
    println!("fuzz: oom splits: {} mappings, {} splits before munmap -1 (MAP_FIXED too)", n, split);
    if unmap(lo, 3 * PG * n) != 0 {
        return 1;
    }
    0
}

/// One-page shared anonymous mappings, each stored into, until mmap fails or memory runs
/// out (then the kernel kills this process: allowed).
fn shared_anon() -> i32 {
    let mut n = 0;
    loop {
        let r = map(PG, MAP_SHARED | MAP_ANONYMOUS);
        if r == -1 || n == MAX_TRIES {
            break;
        }
        if r < 0 {
            return 1;
        }
        // SAFETY: a store into the page just mapped for us.
        unsafe { (r as *mut u8).write_volatile(1) };
        n += 1;
    }
    println!("fuzz: oom sharedanon: {} pages mapped and stored to, then mmap -1", n);
    0
}

/// Opens README: the descriptor or what the kernel returned.
fn open_readme() -> isize {
    sys::open(c"/README".as_ptr(), abi::O_RDONLY)
}

/// Makes a pipe: 0 or what the kernel returned.
fn make_pipe() -> isize {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a live local array of two i32.
    unsafe { sys::pipe(fds.as_mut_ptr()) }
}

/// Children that each call `make` until it fails, all holding what they got until the last
/// is done (so the kernel's global tables fill too), then this process does the same.
fn hold_until_refused(make: fn() -> isize) -> i32 {
    let mut gate = [0i32; 2];
    // SAFETY: `gate` is a live local array of two i32.
    if unsafe { sys::pipe(gate.as_mut_ptr()) } != 0 {
        return 1;
    }
    let mut kids = Vec::new();
    for _ in 0..12 {
        match sys::fork() {
            0 => {
                sys::close(gate[1]);
                let bad = until_refused(make).is_none();
                let mut b = [0u8; 1];
                // SAFETY: a read into a live local byte; it returns at EOF (all writers gone).
                unsafe { sys::read(gate[0], b.as_mut_ptr(), 1) };
                sys::exit(i32::from(bad));
            }
            -1 => break,
            pid => kids.push(pid as i32),
        }
    }
    let mine = until_refused(make);
    sys::close(gate[1]);
    let statuses = process::wait_all(&kids).unwrap_or_default();
    let ok = mine.is_some() && statuses.len() == kids.len() && statuses.iter().all(|&s| s == 0);
    println!("fuzz: oom: {} children, then {} more here before -1", kids.len(), mine.unwrap_or(0));
    i32::from(!ok)
}

/// Calls `make` until it returns -1; the count, or None if it returned another negative.
fn until_refused(make: fn() -> isize) -> Option<usize> {
    let mut n = 0;
    loop {
        match make() {
            -1 => return Some(n),
            r if r < 0 => return None,
            _ if n == MAX_TRIES => return Some(n),
            _ => n += 1,
        }
    }
}

/// Forks until fork fails (the children wait for a pipe to close), then lets them all go.
fn procs() -> i32 {
    let mut gate = [0i32; 2];
    // SAFETY: `gate` is a live local array of two i32.
    if unsafe { sys::pipe(gate.as_mut_ptr()) } != 0 {
        return 1;
    }
    let mut n = 0;
    let r = loop {
        match sys::fork() {
            0 => {
                sys::close(gate[1]);
                let mut b = [0u8; 1];
                // SAFETY: a read into a live local byte.
                unsafe { sys::read(gate[0], b.as_mut_ptr(), 1) };
                sys::exit(0);
            }
            pid if pid < 0 => break pid,
            _ => n += 1,
        }
    };
    sys::close(gate[1]);
    let mut status = 0;
    // SAFETY: `status` is a live local i32.
    while unsafe { sys::wait(&mut status) } > 0 {}
    println!("fuzz: oom procs: {} children, then fork {}", n, r);
    i32::from(r != -1)
}

/// exec of this program with argument lists that are too many, too big, or bad: each must
/// fail with -1 (an exec that works exits with 9).
fn exec_args() -> i32 {
    let big = alloc::vec![b'x'; 5000];
    let cases: [(&str, usize, &[u8]); 3] = [
        ("33 args", abi::MAXARG + 1, b"a"),
        ("32 args of 2000 bytes", abi::MAXARG, &big[..2000]),
        ("one arg of 5000 bytes", 4, &big[..]),
    ];
    for (what, count, arg) in cases {
        let mut strings: Vec<Vec<u8>> = Vec::new();
        strings.push(b"fuzz\0".to_vec());
        strings.push(b"--exit\0".to_vec());
        strings.push(b"9\0".to_vec());
        while strings.len() < count {
            let mut s = arg.to_vec();
            s.push(0);
            strings.push(s);
        }
        let mut ptrs: Vec<*const u8> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        let pid = sys::fork();
        if pid == 0 {
            let r = sys::exec(c"/fuzz".as_ptr(), ptrs.as_ptr());
            sys::exit(if r == -1 { 0 } else { 2 });
        }
        let s = process::wait_pid(pid as i32).unwrap_or(-2);
        if s != 0 {
            println!("fuzz: oom execargs: exec with {} gave status {} (9: it ran)", what, s);
            return 1;
        }
    }
    println!("fuzz: oom execargs: exec with too many, too big arguments: -1");
    0
}
