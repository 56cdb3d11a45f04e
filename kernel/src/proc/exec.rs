//! `exec`: replace the current process's image with a static ELF64 RISC-V program.
//!
//! The new address space is built completely before the old one is touched, so a bad file
//! (short, wrong machine, overlapping or absurd segments, too many arguments) leaves the caller
//! running with an error. Layout per ABI.md: segments from their page-aligned vaddrs, a guard
//! page, one stack page holding the argument strings and the argv array, then the heap.

use crate::arch::trampoline::TrapFrame;
use crate::fs::{self, log};
use crate::mm::addr::page_round_up;
use crate::mm::pagetable::PteFlags;
use crate::mm::{PhysAddr, PGSIZE};
use crate::vm::space::HEAP_LIMIT;
use crate::vm::Vm;
use abi::Errno;
use alloc::sync::Arc;

const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const EM_RISCV: u16 = 0xf3;
const ET_EXEC: u16 = 2;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// More program headers than this is not a program we load.
const MAX_PHNUM: usize = 64;
/// Heap a program gets room for at least, between its stack and the mmap area.
const MIN_HEAP: usize = 1 << 20;
/// Highest end of a loadable segment: the guard page, the stack and [`MIN_HEAP`] must still
/// fit below `HEAP_LIMIT`, where the mmap area begins, so that no mapping is ever placed over
/// the stack or heap.
const IMAGE_LIMIT: usize = HEAP_LIMIT - (1 + crate::param::USERSTACK) * PGSIZE - MIN_HEAP;

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

struct Segment {
    vaddr: usize,
    memsz: usize,
    offset: u32,
    filesz: usize,
    flags: u32,
}

/// Reads exactly `buf.len()` bytes at `off`, or fails with `NoExec`.
fn read_exact(ip: &mut fs::InodeGuard<'_>, off: u32, buf: &mut [u8]) -> Result<(), Errno> {
    match ip.read(off, buf) {
        Ok(n) if n == buf.len() => Ok(()),
        _ => Err(Errno::NoExec),
    }
}

/// Parses and validates the ELF header and program headers; returns (entry, load segments).
fn parse(ip: &mut fs::InodeGuard<'_>) -> Result<(usize, alloc::vec::Vec<Segment>), Errno> {
    let mut eh = [0u8; EHDR_SIZE];
    read_exact(ip, 0, &mut eh)?;
    if eh[0..4] != ELF_MAGIC
        || eh[4] != 2
        || eh[5] != 1
        || u16_at(&eh, 18) != EM_RISCV
        || u16_at(&eh, 16) != ET_EXEC
    {
        return Err(Errno::NoExec);
    }
    let entry = u64_at(&eh, 24) as usize;
    let phoff = u64_at(&eh, 32);
    let phentsize = u16_at(&eh, 54) as usize;
    let phnum = u16_at(&eh, 56) as usize;
    if phentsize != PHDR_SIZE || phnum == 0 || phnum > MAX_PHNUM || phoff > u32::MAX as u64 {
        return Err(Errno::NoExec);
    }
    let mut segs = alloc::vec::Vec::new();
    for i in 0..phnum {
        let mut ph = [0u8; PHDR_SIZE];
        let off = (phoff as usize).checked_add(i * PHDR_SIZE).filter(|&o| o <= u32::MAX as usize);
        read_exact(ip, off.ok_or(Errno::NoExec)? as u32, &mut ph)?;
        if u32_at(&ph, 0) != PT_LOAD {
            continue;
        }
        let s = Segment {
            flags: u32_at(&ph, 4),
            offset: u32::try_from(u64_at(&ph, 8)).map_err(|_| Errno::NoExec)?,
            vaddr: u64_at(&ph, 16) as usize,
            filesz: u64_at(&ph, 32) as usize,
            memsz: u64_at(&ph, 40) as usize,
        };
        let end = s.vaddr.checked_add(s.memsz).ok_or(Errno::NoExec)?;
        if !s.vaddr.is_multiple_of(PGSIZE) || s.memsz < s.filesz || end > IMAGE_LIMIT || s.memsz == 0 {
            return Err(Errno::NoExec);
        }
        if (s.offset as usize).checked_add(s.filesz).is_none_or(|e| e > u32::MAX as usize) {
            return Err(Errno::NoExec);
        }
        segs.push(s);
    }
    if segs.is_empty() {
        return Err(Errno::NoExec);
    }
    Ok((entry, segs))
}

/// Loads the segments of the program into `space`; returns the end of the highest one.
fn load(vm: &Vm, ip: &mut fs::InodeGuard<'_>, segs: &[Segment]) -> Result<usize, Errno> {
    let mut top = 0;
    let mut chunk = alloc::vec![0u8; PGSIZE];
    for s in segs {
        let mut flags = PteFlags::R;
        if s.flags & PF_W != 0 {
            flags |= PteFlags::W;
        }
        if s.flags & PF_X != 0 {
            flags |= PteFlags::X;
        }
        vm.map_zeroed(s.vaddr, s.vaddr + s.memsz, flags)?;
        let mut done = 0;
        while done < s.filesz {
            let n = (s.filesz - done).min(PGSIZE - (s.vaddr + done) % PGSIZE);
            read_exact(ip, s.offset + done as u32, &mut chunk[..n])?;
            vm.write_image(s.vaddr + done, &chunk[..n])?;
            done += n;
        }
        top = top.max(s.vaddr + s.memsz);
    }
    Ok(top)
}

/// Pushes the argument strings and the argv array onto the stack page ending at `sp`.
/// Returns the new sp (= argv address).
fn push_args(vm: &Vm, stack_bottom: usize, mut sp: usize, args: &[&[u8]]) -> Result<usize, Errno> {
    if args.len() > abi::MAXARG {
        return Err(Errno::TooBig);
    }
    let mut ptrs = [0u64; abi::MAXARG + 1];
    for (i, a) in args.iter().enumerate() {
        sp = sp.checked_sub(a.len() + 1).ok_or(Errno::TooBig)? & !15;
        if sp < stack_bottom {
            return Err(Errno::TooBig);
        }
        vm.write_image(sp, a)?;
        vm.write_image(sp + a.len(), &[0])?;
        ptrs[i] = sp as u64;
    }
    let table = (args.len() + 1) * 8;
    sp = sp.checked_sub(table).ok_or(Errno::TooBig)? & !15;
    if sp < stack_bottom {
        return Err(Errno::TooBig);
    }
    for (i, p) in ptrs[..=args.len()].iter().enumerate() {
        vm.write_image(sp + i * 8, &p.to_le_bytes())?;
    }
    Ok(sp)
}

/// Builds the new image from the file at `path`.
fn build(path: &[u8], args: &[&[u8]], tf: PhysAddr) -> Result<(Arc<Vm>, usize, usize), Errno> {
    log::begin_op();
    let r = (|| {
        let ip = fs::namei(path)?;
        let mut g = ip.lock();
        if g.file_type() != abi::T_FILE {
            return Err(Errno::NoExec);
        }
        let (entry, segs) = parse(&mut g)?;
        let vm = Vm::new(tf)?;
        let top = load(&vm, &mut g, &segs)?;
        Ok((vm, entry, top))
    })();
    log::end_op();
    let (vm, entry, top) = r?;
    let guard = page_round_up(top);
    let stack_bottom = guard + PGSIZE;
    let stack_top = stack_bottom + crate::param::USERSTACK * PGSIZE;
    vm.map_zeroed(stack_bottom, stack_top, PteFlags::R | PteFlags::W)?;
    let sp = push_args(&vm, stack_bottom, stack_top, args)?;
    vm.set_heap_start(stack_top);
    Ok((vm, entry, sp))
}

/// Replaces the current process's program with the one at `path`, with arguments `args`
/// (kernel copies). On success returns argc; the process resumes at the new entry point.
pub fn exec(path: &[u8], args: &[&[u8]]) -> Result<usize, Errno> {
    let pr = super::current_private();
    let (vm, entry, sp) = build(path, args, pr.trapframe.get())?;
    let p = super::current();
    let name = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
    p.lock.lock().name = super::ProcName::new(name).0;
    // The old image's mappings go (dirty shared pages written back); a reader still holding
    // the old space finds it torn down.
    if let Some(old) = super::set_vm(p, pr, Some(vm)) {
        old.tear_down();
    }
    super::with_trapframe(|tf| {
        tf.epc = entry;
        tf.regs[TrapFrame::SP] = sp;
        tf.regs[TrapFrame::A0] = args.len();
        tf.regs[TrapFrame::A1] = sp;
    });
    Ok(args.len())
}
