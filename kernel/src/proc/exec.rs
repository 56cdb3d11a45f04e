//! `exec`: replace the current process's image with a static ELF64 RISC-V program.
//!
//! The new address space is built completely before the old one is touched, so a bad file
//! (short, wrong machine, overlapping or absurd segments, too many arguments) leaves the caller
//! running with an error. Layout per ABI.md: segments from their page-aligned vaddrs (mapped
//! from the program file's page cache, see `load`), a guard page (a mapping with no access),
//! one stack page holding the argument strings and the argv array, then the heap. Each part
//! is a mapping of its own, so `vmmaps` and `pmap` show the whole address space.

use crate::arch::trampoline::TrapFrame;
use crate::fs::file::File;
use crate::fs::{self, log};
use crate::mm::addr::{page_round_down, page_round_up};
use crate::mm::pagetable::PteFlags;
use crate::mm::{PhysAddr, PGSIZE};
use crate::vm::fault::pte_flags;
use crate::vm::space::HEAP_LIMIT;
use crate::vm::Vm;
use abi::Errno;
use alloc::sync::Arc;
use vmspace::Prot;

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
    match ip.read(u64::from(off), buf) {
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

/// Maps the segments of the program into `vm` and returns the end of the highest one.
///
/// A segment whose file offset is page-aligned (every program our linker makes) becomes a
/// private mapping of the program file, read lazily through its page cache at the first touch:
/// every process running the program shares the text pages, and exec costs the same whatever
/// the program's size. Where the file part ends inside a page and zero-filled memory (bss)
/// follows, that page is a private copy made now, with the file's bytes up to the segment's
/// end and zeros after, and the rest of the bss is anonymous memory. A segment whose offset is
/// not page-aligned is copied into anonymous memory now.
///
/// ```text
///  vaddr             round_down(file end)   file end      round_up(mem end)
///  |--- file mapping ---|---- copied page ----|---- anonymous (bss) ----|
/// ```
fn load(vm: &Vm, ip: &mut fs::InodeGuard<'_>, file: &Arc<File>, segs: &[Segment]) -> Result<usize, Errno> {
    let mut top = 0;
    for s in segs {
        let mut prot = Prot::READ;
        if s.flags & PF_W != 0 {
            prot |= Prot::WRITE;
        }
        if s.flags & PF_X != 0 {
            prot |= Prot::EXEC;
        }
        let (start, file_end, mem_end) = (s.vaddr, s.vaddr + s.filesz, s.vaddr + s.memsz);
        // The part mapped from the file: whole pages, and a partial last page too when no bss
        // follows in it (the bytes after the segment in that page are the file's, as in Linux).
        let mapped_end = if !(s.offset as usize).is_multiple_of(PGSIZE) {
            start
        } else if mem_end > file_end {
            page_round_down(file_end)
        } else {
            page_round_up(file_end)
        };
        if mapped_end > start {
            vm.map_private(start, mapped_end, prot, Some(file.clone()), s.offset as u64)?;
        }
        let end = page_round_up(mem_end);
        if end > mapped_end {
            vm.map_private(mapped_end, end, prot, None, 0)?;
        }
        // Bytes of the file that fall in the anonymous part are copied in now.
        if file_end > mapped_end {
            let first = page_round_down(mapped_end);
            vm.map_zeroed(first, page_round_up(file_end), pte_flags(prot))?;
            let mut chunk = alloc::vec![0u8; PGSIZE];
            let mut va = mapped_end;
            while va < file_end {
                let n = (file_end - va).min(PGSIZE - va % PGSIZE);
                read_exact(ip, s.offset + (va - start) as u32, &mut chunk[..n])?;
                vm.write_image(va, &chunk[..n])?;
                va += n;
            }
        }
        top = top.max(mem_end);
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
    // Made before the transaction, and dropped after it on failure: its mappings hold the
    // program file, whose closing may need a transaction of its own.
    let vm = Vm::new(tf)?;
    // Likewise a reference to the program file: the last one must go after `end_op`.
    let mut file: Option<Arc<File>> = None;
    log::begin_op();
    let r = (|| {
        let ip = fs::namei(path)?;
        let mut g = ip.lock();
        if g.file_type() != abi::T_FILE {
            return Err(Errno::NoExec);
        }
        let (entry, segs) = parse(&mut g)?;
        if !crate::mm::heap::has_room_for_user(core::mem::size_of::<File>() + 64) {
            return Err(Errno::NoMem);
        }
        let f = file.insert(Arc::new(File::from_inode(ip.clone(), abi::T_FILE, 0, true, false)));
        let top = load(&vm, &mut g, f, &segs)?;
        Ok((entry, top))
    })();
    log::end_op();
    drop(file);
    let (entry, top) = r?;
    let guard = page_round_up(top);
    let stack_bottom = guard + PGSIZE;
    let stack_top = stack_bottom + crate::param::USERSTACK * PGSIZE;
    vm.map_private(guard, stack_bottom, Prot::NONE, None, 0)?;
    vm.map_private(stack_bottom, stack_top, Prot::READ | Prot::WRITE, None, 0)?;
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
