//! The user ABI of xv6-riscv that this kernel keeps exactly (see `shared/ABI.md`), plus the
//! project's own extension calls numbered above 23.
//!
//! Everything here is a plain constant or a byte layout: no logic, no `unsafe`, no allocation,
//! so the kernel, the user library and host tools share one definition.
#![no_std]
#![forbid(unsafe_code)]

/// System-call numbers (`a7` at `ecall`).
pub mod sys {
    pub const FORK: usize = 1;
    pub const EXIT: usize = 2;
    pub const WAIT: usize = 3;
    pub const PIPE: usize = 4;
    pub const READ: usize = 5;
    pub const KILL: usize = 6;
    pub const EXEC: usize = 7;
    pub const FSTAT: usize = 8;
    pub const CHDIR: usize = 9;
    pub const DUP: usize = 10;
    pub const GETPID: usize = 11;
    pub const SBRK: usize = 12;
    pub const PAUSE: usize = 13;
    pub const UPTIME: usize = 14;
    pub const OPEN: usize = 15;
    pub const WRITE: usize = 16;
    pub const MKNOD: usize = 17;
    pub const UNLINK: usize = 18;
    pub const LINK: usize = 19;
    pub const MKDIR: usize = 20;
    pub const CLOSE: usize = 21;
    pub const MMAP: usize = 22;
    pub const MUNMAP: usize = 23;
    /// Extension: `void poweroff(int status)`: stop the machine; QEMU exits with `status`.
    pub const POWEROFF: usize = 24;
    /// Extension: `uint64 kstat(int counter)`: read one kernel counter (see [`super::kstat`]).
    pub const KSTAT: usize = 25;
    /// Extension: `int vmmaps(int pid, struct vmmap *buf, int max)`: list the mappings of a
    /// process as [`super::VmMap`] records; returns how many mappings it has.
    pub const VMMAPS: usize = 26;
    /// Extension: `int mprotect(void *addr, size_t len, int prot)`: change the protection of
    /// whole mapped pages.
    pub const MPROTECT: usize = 27;
    /// Extension: `int msync(void *addr, size_t len, int flags)`: write back (`MS_SYNC`,
    /// `MS_ASYNC`) or drop (`MS_INVALIDATE`) the cached file pages of a mapped range.
    pub const MSYNC: usize = 28;
    /// Extension: `int madvise(void *addr, size_t len, int advice)`: advice about a mapped
    /// range (`MADV_*`).
    pub const MADVISE: usize = 29;
}

/// Counter identifiers for the `kstat` extension call.
pub mod kstat {
    /// Physical pages currently free in the page allocator.
    pub const FREE_PAGES: usize = 0;
    /// Disk blocks read by the block driver since boot.
    pub const DISK_READS: usize = 1;
    /// Disk blocks written by the block driver since boot.
    pub const DISK_WRITES: usize = 2;
    /// Total physical pages managed by the page allocator.
    pub const TOTAL_PAGES: usize = 3;
    /// Pages written back to files from shared mappings since boot.
    pub const PAGES_WRITTEN_BACK: usize = 4;
    /// Faults that mapped a fresh zero page of a private anonymous mapping.
    pub const ANON_FAULTS: usize = 5;
    /// Faults that mapped a page from a page cache (file or shared anonymous memory): the sum
    /// of [`COPY_FAULTS`] and [`SHARED_FAULTS`].
    pub const FILE_FAULTS: usize = 6;
    /// Pages held by page caches now (file pages and shared anonymous pages).
    pub const CACHE_PAGES: usize = 7;
    /// Page-cache pages whose dirty flag is set now: modified pages collected from the page
    /// tables at unmap and not (yet) written back.
    pub const CACHE_DIRTY: usize = 8;
    /// Page-cache faults that gave a private file mapping its own copy of the cached page (a
    /// store to a page of the mapping, the first one).
    pub const COPY_FAULTS: usize = 9;
    /// Page-cache faults that mapped the cached page itself: faults on shared mappings (file
    /// or anonymous), and loads from private file mappings (mapped read-only until a store).
    /// Pages mapped alongside by fault-around are not faults and are not counted.
    pub const SHARED_FAULTS: usize = 10;
    /// Pages brought into a page cache since boot (read from the file, or zeroed for shared
    /// anonymous memory): page-cache misses.
    pub const CACHE_FILLS: usize = 11;
    /// Regions of the calling process now, as `vmmaps` lists them: its mappings (the parts of
    /// the program image, the guard page and the stack among them) and the heap if not empty.
    pub const MAPPINGS: usize = 12;
    /// Clean page-cache pages evicted to free memory when an allocation for a fault failed
    /// (memory reclaim), since boot.
    pub const PAGES_RECLAIMED: usize = 13;
    /// Pages held by the page caches of files now ([`CACHE_PAGES`] without shared anonymous
    /// memory): the clean ones nobody maps are memory the kernel takes back when it runs out,
    /// so `FREE_PAGES + FILE_PAGES` is what a leak check compares.
    pub const FILE_PAGES: usize = 14;
    /// Copy-on-write faults since boot: stores to a private page that fork left shared
    /// read-only between processes and that another process still held, resolved by copying
    /// the page. A store to such a page that no other process holds any more makes it
    /// writable in place and is not counted (nothing is copied). Stores to a private file
    /// mapping's view of the page cache are [`COPY_FAULTS`].
    pub const COW_FAULTS: usize = 15;
    /// Dirty page-cache pages written back by memory reclaim so that their memory could be
    /// freed (pages of shared file mappings taken from a process when memory ran out), since
    /// boot.
    pub const PAGES_CLEANED: usize = 16;
    /// Time the harts spent idle (waiting in `wfi` with nothing to run: for the disk, a
    /// timer or input), summed over harts, in `time` CSR units (10 MHz), since boot. The
    /// benchmarks subtract it to count the guest's own work.
    pub const IDLE_TIME: usize = 17;
    /// Number of counters; `kstat(n)` for `n >= COUNT` fails.
    pub const COUNT: usize = 18;
}

/// One record of the `vmmaps` extension call: a mapping of a process, in a fixed C layout.
///
/// ```c
/// struct vmmap {
///     uint64 start;     // first address (page-aligned)
///     uint64 end;       // one past the last address (page-aligned)
///     uint64 offset;    // file offset of `start` (0 for anonymous memory)
///     uint64 resident;  // pages present in the process's page table now
///     uint32 inum;      // inode number of the mapped file; 0 for anonymous memory
///     uint32 prot;      // PROT_READ | PROT_WRITE | PROT_EXEC
///     uint32 flags;     // MAP_SHARED or MAP_PRIVATE, plus MAP_ANONYMOUS for anonymous memory,
///                       // plus one VMMAP_* role bit for the parts exec and sbrk made,
///                       // plus the advice (MADV_NORMAL/RANDOM/SEQUENTIAL) << 20
///     uint32 reserved;  // 0
/// };                    // 48 bytes, little-endian
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmMap {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub resident: u64,
    pub inum: u32,
    pub prot: u32,
    pub flags: u32,
}

/// `VmMap::flags` role bit: a segment of the program image (text, data, bss), made by exec.
pub const VMMAP_IMAGE: u32 = 1 << 16;
/// `VmMap::flags` role bit: the guard page below the stack (no access).
pub const VMMAP_GUARD: u32 = 1 << 17;
/// `VmMap::flags` role bit: the stack.
pub const VMMAP_STACK: u32 = 1 << 18;
/// `VmMap::flags` role bit: the heap (`sbrk`).
pub const VMMAP_HEAP: u32 = 1 << 19;
/// Every role bit: a record with none of them is a mapping made by `mmap`.
pub const VMMAP_ROLES: u32 = VMMAP_IMAGE | VMMAP_GUARD | VMMAP_STACK | VMMAP_HEAP;
/// `VmMap::flags` bits 20..22: the mapping's access-pattern advice, as the `MADV_*` value
/// `madvise` set (`MADV_NORMAL` 0, `MADV_RANDOM` 1, `MADV_SEQUENTIAL` 2).
pub const VMMAP_ADVICE_SHIFT: u32 = 20;
/// Mask of the advice bits in `VmMap::flags` (see [`VMMAP_ADVICE_SHIFT`]).
pub const VMMAP_ADVICE_MASK: u32 = 3 << VMMAP_ADVICE_SHIFT;

impl VmMap {
    /// Whether the record is a mapping made by `mmap` (not a part of the image, the guard
    /// page, the stack or the heap).
    pub fn from_mmap(&self) -> bool {
        self.flags & VMMAP_ROLES == 0
    }

    /// Size of the C layout in bytes.
    pub const SIZE: usize = 48;

    /// The mapping's advice (`MADV_NORMAL`, `MADV_RANDOM` or `MADV_SEQUENTIAL`), from the
    /// advice bits of `flags`.
    pub fn advice(&self) -> usize {
        ((self.flags & VMMAP_ADVICE_MASK) >> VMMAP_ADVICE_SHIFT) as usize
    }

    /// Whether the mapping is `MAP_SHARED`.
    pub fn shared(&self) -> bool {
        self.flags & MAP_SHARED as u32 != 0
    }

    /// Whether the mapping is anonymous memory (no file).
    pub fn anonymous(&self) -> bool {
        self.flags & MAP_ANONYMOUS as u32 != 0
    }

    /// Length of the mapping in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the mapping is empty (never true for a record the kernel wrote).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The C layout (offsets 0, 8, 16, 24, 32, 36, 40; 44..48 reserved, zero).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..8].copy_from_slice(&self.start.to_le_bytes());
        b[8..16].copy_from_slice(&self.end.to_le_bytes());
        b[16..24].copy_from_slice(&self.offset.to_le_bytes());
        b[24..32].copy_from_slice(&self.resident.to_le_bytes());
        b[32..36].copy_from_slice(&self.inum.to_le_bytes());
        b[36..40].copy_from_slice(&self.prot.to_le_bytes());
        b[40..44].copy_from_slice(&self.flags.to_le_bytes());
        b
    }

    /// Parses the C layout.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> VmMap {
        let u64_at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        VmMap {
            start: u64_at(0),
            end: u64_at(8),
            offset: u64_at(16),
            resident: u64_at(24),
            inum: u32_at(32),
            prot: u32_at(36),
            flags: u32_at(40),
        }
    }
}

/// `sbrk` growth types (second argument).
pub const SBRK_EAGER: usize = 1;
pub const SBRK_LAZY: usize = 2;

/// `open` flags.
pub const O_RDONLY: usize = 0x000;
pub const O_WRONLY: usize = 0x001;
pub const O_RDWR: usize = 0x002;
pub const O_CREATE: usize = 0x200;
pub const O_TRUNC: usize = 0x400;

/// `mmap` protection bits.
pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const PROT_EXEC: usize = 4;

/// `mmap` flags (Linux values).
pub const MAP_SHARED: usize = 0x01;
pub const MAP_PRIVATE: usize = 0x02;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;
pub const MAP_POPULATE: usize = 0x8000;
pub const MAP_FIXED_NOREPLACE: usize = 0x10_0000;

/// `msync` flags (Linux values). `MS_ASYNC` and `MS_SYNC` together fail.
pub const MS_ASYNC: usize = 1;
pub const MS_INVALIDATE: usize = 2;
pub const MS_SYNC: usize = 4;

/// `madvise` advice (Linux values).
pub const MADV_NORMAL: usize = 0;
pub const MADV_RANDOM: usize = 1;
pub const MADV_SEQUENTIAL: usize = 2;
pub const MADV_WILLNEED: usize = 3;
pub const MADV_DONTNEED: usize = 4;

/// Inode types as `fstat` reports them.
pub const T_DIR: i16 = 1;
pub const T_FILE: i16 = 2;
pub const T_DEVICE: i16 = 3;

/// Device major number of the console.
pub const CONSOLE_MAJOR: i16 = 1;

/// Limits user programs assume.
pub const MAXARG: usize = 32;
pub const MAXPATH: usize = 128;
pub const NOFILE: usize = 16;
pub const DIRSIZ: usize = 14;
pub const BSIZE: usize = 1024;

/// Page size and the top of the user address space.
pub const PGSIZE: usize = 4096;
pub const MAXVA: usize = 1 << 38;
/// The trampoline page: the highest page of the user half.
pub const TRAMPOLINE: usize = MAXVA - PGSIZE;
/// The trap frame page, just below the trampoline.
pub const TRAPFRAME: usize = TRAMPOLINE - PGSIZE;
/// First address no user access may touch: the top four pages of the user half are the
/// kernel's (trap frame, trampoline and two reserved pages), per ABI.md.
pub const USER_TOP: usize = MAXVA - 4 * PGSIZE;

/// Timer: one tick is this many `time` units (10 MHz timebase: 0.1 s).
pub const TICK_TIME_UNITS: u64 = 1_000_000;

/// `struct stat { int dev; uint ino; short type; short nlink; uint64 size; }`, 24 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: i32,
    pub ino: u32,
    pub typ: i16,
    pub nlink: i16,
    pub size: u64,
}

impl Stat {
    /// Size of the C layout in bytes.
    pub const SIZE: usize = 24;

    /// The C layout: little-endian fields at offsets 0, 4, 8, 10, 16 (12..16 is padding).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.dev.to_le_bytes());
        b[4..8].copy_from_slice(&self.ino.to_le_bytes());
        b[8..10].copy_from_slice(&self.typ.to_le_bytes());
        b[10..12].copy_from_slice(&self.nlink.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b
    }

    /// Parses the C layout.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Stat {
        Stat {
            dev: i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            ino: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            typ: i16::from_le_bytes([b[8], b[9]]),
            nlink: i16::from_le_bytes([b[10], b[11]]),
            size: u64::from_le_bytes([b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23]]),
        }
    }
}

/// Kernel error codes. User programs only ever see -1; the code names the reason inside the
/// kernel and in diagnostics.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// Operation not permitted.
    Perm = 1,
    /// No such file or directory.
    NoEnt = 2,
    /// No such process.
    Srch = 3,
    /// I/O error.
    Io = 5,
    /// Argument list too long.
    TooBig = 7,
    /// Exec format error.
    NoExec = 8,
    /// Bad file descriptor.
    BadF = 9,
    /// No children.
    Child = 10,
    /// Out of memory.
    NoMem = 12,
    /// Permission denied (access mode).
    Access = 13,
    /// Bad address.
    Fault = 14,
    /// File exists.
    Exist = 17,
    /// Cross-device link.
    XDev = 18,
    /// Not a directory.
    NotDir = 20,
    /// Is a directory.
    IsDir = 21,
    /// Invalid argument.
    Inval = 22,
    /// Too many open files.
    MFile = 24,
    /// No space left on device.
    NoSpc = 28,
    /// Broken pipe.
    Pipe = 32,
    /// File name too long.
    NameTooLong = 36,
    /// Function not implemented.
    NoSys = 38,
    /// Directory not empty.
    NotEmpty = 39,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_layout_matches_c() {
        let s = Stat { dev: 1, ino: 2, typ: T_FILE, nlink: 3, size: 0x1122_3344_5566_7788 };
        let b = s.to_bytes();
        assert_eq!(b[4], 2);
        assert_eq!(b[8], 2);
        assert_eq!(b[10], 3);
        assert_eq!(b[16], 0x88);
        assert_eq!(Stat::from_bytes(&b), s);
    }

    #[test]
    fn vmmap_layout_matches_c() {
        let m = VmMap {
            start: 0x20_0000_0000,
            end: 0x20_0000_3000,
            offset: 0x1000,
            resident: 2,
            inum: 23,
            prot: (PROT_READ | PROT_WRITE) as u32,
            flags: (MAP_PRIVATE | MAP_ANONYMOUS) as u32,
        };
        let b = m.to_bytes();
        assert_eq!(b[4], 0x20);
        assert_eq!(b[9], 0x30);
        assert_eq!(b[17], 0x10);
        assert_eq!(b[24], 2);
        assert_eq!(b[32], 23);
        assert_eq!(b[36], 3);
        assert_eq!(b[40], 0x22);
        assert_eq!(&b[44..], &[0; 4]);
        assert_eq!(VmMap::from_bytes(&b), m);
        assert_eq!(m.len(), 0x3000);
        assert!(m.anonymous() && !m.shared());
        assert_eq!(m.advice(), MADV_NORMAL);
        let r = VmMap { flags: m.flags | (MADV_SEQUENTIAL as u32) << VMMAP_ADVICE_SHIFT, ..m };
        assert_eq!(r.advice(), MADV_SEQUENTIAL);
        assert_eq!(r.flags & VMMAP_ROLES, 0, "advice bits are not role bits");
        assert!(r.anonymous() && !r.shared());
    }

    #[test]
    fn trap_pages_sit_at_top_of_sv39_user_half() {
        assert_eq!(TRAMPOLINE, 0x3f_ffff_f000);
        assert_eq!(TRAPFRAME, 0x3f_ffff_e000);
        assert_eq!(USER_TOP, 0x3f_ffff_c000);
    }
}
