//! Facts read from the device tree at boot (RAM size, harts, kernel command line), copied
//! into statics before the memory holding the tree is handed to the page allocator.

use crate::sync::SpinLock;

pub struct BootInfo {
    pub ram_start: usize,
    pub ram_end: usize,
    pub harts: usize,
    bootargs: [u8; 512],
    bootargs_len: usize,
}

static INFO: SpinLock<BootInfo> = SpinLock::new(
    "bootinfo",
    BootInfo { ram_start: 0, ram_end: 0, harts: 1, bootargs: [0; 512], bootargs_len: 0 },
);

/// Parses the device tree at `dtb`.
///
/// # Panics
/// If the tree is missing or has no memory node (QEMU always provides both).
pub fn parse(dtb: usize) {
    // SAFETY: QEMU passed this address in a1; it points at a valid flattened device tree.
    let fdt = unsafe { fdt::Fdt::from_ptr(dtb as *const u8) }.expect("bad device tree");
    let mut info = INFO.lock();
    let region = fdt.memory().regions().next().expect("no memory region");
    info.ram_start = region.starting_address as usize;
    info.ram_end = info.ram_start + region.size.unwrap_or(128 << 20);
    info.harts = fdt.cpus().count();
    if let Some(args) = fdt.chosen().bootargs() {
        let n = args.len().min(info.bootargs.len());
        info.bootargs[..n].copy_from_slice(&args.as_bytes()[..n]);
        info.bootargs_len = n;
    }
}

/// (RAM start, RAM end, hart count).
pub fn memory() -> (usize, usize, usize) {
    let i = INFO.lock();
    (i.ram_start, i.ram_end, i.harts)
}

/// The kernel command line (QEMU `-append`), empty if none.
pub fn bootargs() -> &'static [u8] {
    let i = INFO.lock();
    let len = i.bootargs_len;
    let ptr = i.bootargs.as_ptr();
    // SAFETY: the buffer is a static written once at boot, before any caller.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// The region [start, end) of the device tree blob, so it is not reused before parsing.
pub fn dtb_size(dtb: usize) -> usize {
    // SAFETY: as in `parse`.
    unsafe { fdt::Fdt::from_ptr(dtb as *const u8) }.map(|f| f.total_size()).unwrap_or(0)
}
