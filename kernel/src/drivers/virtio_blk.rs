//! The virtio block device in MMIO slot 0, driven through the `virtio-drivers` crate
//! (modern MMIO transport). Requests are polled: the caller holds the disk lock while the
//! device completes one request, which keeps the driver simple and is fast under QEMU.
//! Callers are the file system's buffer cache (one block at a time) and the page cache, which
//! reads runs of consecutive blocks in one request (`read_run`); every block is BSIZE (1024)
//! bytes.

use crate::mm::kvm::VIRTIO0;
use crate::sync::SpinLock;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use fsformat::BSIZE;
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// DMA through the kernel heap: physical memory is identity-mapped, so a heap address is
/// also the device's address.
struct KernelHal;

const PAGE: usize = 4096;

// SAFETY: dma_alloc returns zeroed, page-aligned, exclusively owned heap memory whose physical
// address equals its virtual address; share translates through the kernel page table, and
// every buffer it sees is physically contiguous (heap, statics, or one kernel stack).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("dma layout");
        // SAFETY: the layout has non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        let p = NonNull::new(p).expect("virtio: out of DMA memory");
        (p.as_ptr() as PhysAddr, p)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("dma layout");
        // SAFETY: the caller passes back what dma_alloc returned, with the same size.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("null MMIO address")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _dir: BufferDirection) -> PhysAddr {
        // Heap and static buffers are identity-mapped; small request headers may sit on a
        // (physically contiguous) kernel stack mapped high.
        let va = buffer.as_ptr() as *mut u8 as usize;
        crate::mm::kvm::translate(va).expect("virtio: unmapped buffer").as_usize() as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _dir: BufferDirection) {}
}

/// Most blocks one request reads: a run of the page cache's largest readahead window.
pub const MAX_RUN: usize = 128;

/// The device and a bounce buffer in identity-mapped memory: callers' buffers may live on a
/// kernel stack, which is mapped high and has no identity mapping the device could use.
struct Disk {
    dev: VirtIOBlk<KernelHal, MmioTransport<'static>>,
    /// `MAX_RUN` blocks.
    bounce: alloc::boxed::Box<[u8]>,
}

static DISK: SpinLock<Option<Disk>> = SpinLock::new("disk", None);
static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Finds and initializes the disk.
///
/// # Panics
/// If there is no virtio block device in slot 0 (the machine cannot run without its disk).
pub fn init() {
    let header = NonNull::new(VIRTIO0 as *mut VirtIOHeader).expect("virtio address");
    // SAFETY: VIRTIO0 is the identity-mapped MMIO window of slot 0, used by nothing else.
    let transport = unsafe { MmioTransport::new(header, 0x1000) }.expect("virtio: no device in slot 0");
    let blk = VirtIOBlk::<KernelHal, _>::new(transport).expect("virtio: not a block device");
    let bounce = alloc::vec![0u8; MAX_RUN * BSIZE].into_boxed_slice();
    *DISK.lock() = Some(Disk { dev: blk, bounce });
}

/// Disk size in BSIZE blocks.
pub fn capacity_blocks() -> u64 {
    DISK.lock().as_ref().map(|d| d.dev.capacity() * 512 / BSIZE as u64).unwrap_or(0)
}

/// Reads block `blockno` into `buf`.
///
/// # Panics
/// On a device error (the disk is gone: nothing sensible can continue).
pub fn read_block(blockno: u32, buf: &mut [u8; BSIZE]) {
    let mut d = DISK.lock();
    let d = d.as_mut().expect("disk not initialized");
    d.dev.read_blocks(blockno as usize * (BSIZE / 512), &mut d.bounce[..BSIZE]).expect("virtio read failed");
    buf.copy_from_slice(&d.bounce[..BSIZE]);
    READS.fetch_add(1, Ordering::Relaxed);
}

/// Reads the `count` consecutive blocks from `first` with one request per `MAX_RUN` blocks,
/// handing block `first + k` to `put(k, bytes)` (with the disk lock held: `put` must only
/// copy). Counts `count` block reads.
///
/// # Panics
/// On a device error.
pub fn read_run(first: u32, count: usize, mut put: impl FnMut(usize, &[u8; BSIZE])) {
    let mut d = DISK.lock();
    let d = d.as_mut().expect("disk not initialized");
    let mut done = 0;
    while done < count {
        let n = (count - done).min(MAX_RUN);
        let sector = (first as usize + done) * (BSIZE / 512);
        d.dev.read_blocks(sector, &mut d.bounce[..n * BSIZE]).expect("virtio read failed");
        for (k, block) in d.bounce[..n * BSIZE].chunks_exact(BSIZE).enumerate() {
            put(done + k, block.try_into().expect("a BSIZE chunk"));
        }
        done += n;
    }
    READS.fetch_add(count as u64, Ordering::Relaxed);
}

/// Writes `buf` to block `blockno`.
///
/// # Panics
/// On a device error.
pub fn write_block(blockno: u32, buf: &[u8; BSIZE]) {
    let mut d = DISK.lock();
    let d = d.as_mut().expect("disk not initialized");
    d.bounce[..BSIZE].copy_from_slice(buf);
    d.dev.write_blocks(blockno as usize * (BSIZE / 512), &d.bounce[..BSIZE]).expect("virtio write failed");
    WRITES.fetch_add(1, Ordering::Relaxed);
}

/// Writes `count` consecutive blocks from `first` with one request, taking their bytes from
/// the frame `pa` at byte `off` (the blocks lie inside that page: at most 4).
///
/// # Panics
/// On a device error, or if the blocks leave the page (a kernel bug).
pub fn write_run(first: u32, pa: crate::mm::PhysAddr, off: usize, count: usize) {
    let len = count * BSIZE;
    let mut d = DISK.lock();
    let d = d.as_mut().expect("disk not initialized");
    crate::mm::page::read(pa, off, &mut d.bounce[..len]);
    d.dev.write_blocks(first as usize * (BSIZE / 512), &d.bounce[..len]).expect("virtio write failed");
    WRITES.fetch_add(count as u64, Ordering::Relaxed);
}

/// Blocks read since boot.
pub fn reads() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// Blocks written since boot.
pub fn writes() -> u64 {
    WRITES.load(Ordering::Relaxed)
}
