//! pmap: lists the mappings of processes, one line per mapping, through the kernel's `vmmaps`
//! extension call.
//!
//! `pmap PID...` prints, for each pid, a line `pid PID:`, a header, then per mapping
//!
//! ```text
//! START-END                     KBYTES PROT SHARE   RESIDENT OBJECT
//! 0x0-0x17000                      92K r-x  private       15 inode 20 offset 0x1000 [ image ]
//! 0x1e000-0x1f000                   4K rw-  private        1 anon [ image ]
//! 0x1f000-0x20000                   4K ---  private        0 anon [ guard ]
//! 0x20000-0x21000                   4K rw-  private        1 anon [ stack ]
//! 0x21000-0x23000                   8K rw-  private        2 anon [ heap ]
//! 0x2000000000-0x2000008000        32K rw-  private        3 anon
//! 0x2000008000-0x200000c000        16K r--  shared         2 inode 23 offset 0x1000
//! ```
//!
//! (addresses in hexadecimal, size in KiB, resident pages present in the process's page
//! table, the file's inode number and the file offset of START for a file mapping, and the
//! part of the process the kernel made it for: the program image's segments, the guard page,
//! the stack, the heap; mappings made by mmap have no tag; PROT is the protection now, after
//! any `mprotect`; a mapping given `madvise` advice other than `MADV_NORMAL` ends its line
//! with `advice=random` or `advice=sequential`), and a last line
//! `total: N mappings, SIZEK, R resident pages`. A pid with no such process gives
//! `pmap: no process PID` on stderr, and the exit status is 1.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::format;
use ulib::io::Bstr;
use ulib::{abi, eprintln, println, process, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: pmap pid...");
        return 1;
    }
    let mut status = 0;
    for a in args.iter().skip(1) {
        let pid = core::str::from_utf8(a).ok().and_then(|s| s.parse::<i32>().ok()).filter(|&p| p > 0);
        let Some(pid) = pid else {
            eprintln!("pmap: bad pid {}", Bstr(a));
            status = 1;
            continue;
        };
        let Ok(maps) = process::vmmaps(pid) else {
            eprintln!("pmap: no process {}", pid);
            status = 1;
            continue;
        };
        show(pid, &maps);
    }
    status
}

/// Prints the mappings of process `pid`.
fn show(pid: i32, maps: &[abi::VmMap]) {
    println!("pid {}:", pid);
    println!("{:<29} {:>6} PROT SHARE   RESIDENT OBJECT", "START-END", "KBYTES");
    let (mut bytes, mut resident) = (0u64, 0u64);
    for m in maps {
        let range = format!("{:#x}-{:#x}", m.start, m.end);
        let share = if m.shared() { "shared" } else { "private" };
        let prot = prot_text(m.prot);
        let kb = m.len() / 1024;
        let role = match m.flags & abi::VMMAP_ROLES {
            abi::VMMAP_IMAGE => " [ image ]",
            abi::VMMAP_GUARD => " [ guard ]",
            abi::VMMAP_STACK => " [ stack ]",
            abi::VMMAP_HEAP => " [ heap ]",
            _ => "",
        };
        let advice = match m.advice() {
            abi::MADV_RANDOM => " advice=random",
            abi::MADV_SEQUENTIAL => " advice=sequential",
            _ => "",
        };
        if m.anonymous() {
            println!(
                "{:<29} {:>5}K {:<4} {:<7} {:>8} anon{}{}",
                range, kb, prot, share, m.resident, role, advice
            );
        } else {
            println!(
                "{:<29} {:>5}K {:<4} {:<7} {:>8} inode {} offset {:#x}{}{}",
                range, kb, prot, share, m.resident, m.inum, m.offset, role, advice
            );
        }
        bytes += m.len();
        resident += m.resident;
    }
    println!("total: {} mappings, {}K, {} resident pages", maps.len(), bytes / 1024, resident);
}

/// `rwx`-style text for PROT_* bits.
fn prot_text(prot: u32) -> &'static str {
    const TEXT: [&str; 8] = ["---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx"];
    TEXT[(prot & 7) as usize]
}
