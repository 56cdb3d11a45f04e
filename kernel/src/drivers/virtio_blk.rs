//! The virtio block device in MMIO slot 0, driven through the `virtio-drivers` crate (modern
//! MMIO transport, non-blocking requests) and its interrupt (PLIC source `VIRTIO0_IRQ`).
//!
//! Up to `NSLOT` requests are in flight at once (the queue's size: with indirect descriptors
//! each request takes one ring entry). Each request is a heap block holding its header, its
//! status byte and its data (a buffer it owns, or memory lent by the starter), which stay put
//! until the request is reaped. A request is *started* (`start_*`, returning a [`Ticket`])
//! and later *waited for* ([`wait`]); the synchronous calls (`read_block`, `write_block`,
//! `read_run`) are a start and a wait. Batching callers (the log's commit and
//! install, `write()`'s data blocks) start several requests and wait for them all, which is
//! where the device overlaps them. A finished request leaves the queue when it is reaped,
//! whether or not its ticket was waited for yet, so holding tickets never blocks others.
//!
//! Completion: the device raises its interrupt when it puts a request in the used ring;
//! [`interrupt`] (on whichever hart the PLIC gave it to) acknowledges it, *then* reaps every
//! used entry (matching each token to its request, in whatever order the device finished
//! them), marks those requests done and wakes the processes sleeping on the disk channel. A
//! waiter checks its request and goes to sleep under the disk spinlock, and the handler
//! marks requests under the same lock, so no completion is missed between the check and the
//! sleep (`proc::sleep` takes the process lock before releasing the disk lock; the handler
//! wakes after releasing it). Acknowledging before reaping means a completion that arrives
//! during the reap raises a new interrupt. The disk lock disables interrupts on its hart, so
//! the interrupt never runs on a hart that holds it; on another hart the handler spins for it
//! briefly (it is never held across a sleep or a device wait).
//!
//! Where sleeping is impossible (before the first process runs, or when the caller holds
//! another spinlock) the waiter polls: it reaps the used ring itself with the disk lock held
//! until its request is done. It wakes no one; the interrupt of the completions it reaped
//! stays pending until acknowledged, and the handler always wakes the disk's sleepers, so
//! a sleeper whose request a poller reaped is still woken.
//!
//! Data buffers must be physically contiguous: the callers' buffers are kernel statics,
//! heap blocks, page frames (all identity-mapped) or a kernel stack (one heap block), and
//! `share` translates their address through the kernel page table. Every block is BSIZE
//! (1024) bytes; block numbers become sector numbers (512 bytes) in one place, `sector`.

use crate::mm::kvm::VIRTIO0;
use crate::mm::PhysAddr;
use crate::proc;
use crate::sync::{SpinLock, SpinLockGuard};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use fsformat::BSIZE;
use virtio_drivers::device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::{BufferDirection, Hal, PhysAddr as DmaAddr};

/// DMA through the kernel heap: physical memory is identity-mapped, so a heap address is
/// also the device's address.
struct KernelHal;

const PAGE: usize = 4096;

// SAFETY: dma_alloc returns zeroed, page-aligned, exclusively owned heap memory whose physical
// address equals its virtual address; share translates through the kernel page table, and
// every buffer it sees is physically contiguous (heap, statics, frames, or one kernel stack).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (DmaAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("dma layout");
        // SAFETY: the layout has non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        let p = NonNull::new(p).expect("virtio: out of DMA memory");
        (p.as_ptr() as DmaAddr, p)
    }

    unsafe fn dma_dealloc(_paddr: DmaAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout = Layout::from_size_align(pages * PAGE, PAGE).expect("dma layout");
        // SAFETY: the caller passes back what dma_alloc returned, with the same size.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: DmaAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("null MMIO address")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _dir: BufferDirection) -> DmaAddr {
        // Heap, static and frame buffers are identity-mapped; small buffers may sit on a
        // (physically contiguous) kernel stack mapped high, the only ones to translate.
        let va = buffer.as_ptr() as *mut u8 as usize;
        if crate::mm::kvm::kstack_slot(va).is_none() {
            return va as DmaAddr;
        }
        crate::mm::kvm::translate(va).expect("virtio: unmapped buffer").as_usize() as DmaAddr
    }

    unsafe fn unshare(_paddr: DmaAddr, _buffer: NonNull<[u8]>, _dir: BufferDirection) {}
}

/// The PLIC source of virtio slot 0 on QEMU's `virt` machine.
pub const VIRTIO0_IRQ: u32 = 1;

/// Most blocks one request moves: a run of the page cache's largest readahead window.
pub const MAX_RUN: usize = 128;

/// Requests in flight at most: the crate's queue size (one entry per request, indirect
/// descriptors), so a token (the head descriptor's index) is below it.
const NSLOT: usize = 16;

/// A request's data: a buffer it owns (returned by `wait`), or memory the starter
/// keeps alive and untouched until it has waited (a page frame, a caller's buffer).
enum Data {
    Owned(Box<[u8]>),
    Lent { ptr: *mut u8, len: usize },
}

impl Data {
    fn bytes(&mut self) -> &mut [u8] {
        match self {
            Data::Owned(b) => b,
            // SAFETY: the starter lent `len` bytes at `ptr` until it waits for the request
            // (`Data::Lent`'s contract), and only the request touches them meanwhile.
            Data::Lent { ptr, len } => unsafe { core::slice::from_raw_parts_mut(*ptr, *len) },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Submitted; the device returns it with this token.
    Busy(u16),
    /// Completed (with or without success), waiting for its starter's `wait`.
    Done(bool),
}

/// One request: the header, the status byte and the data stay at these addresses (a heap
/// block of its own, owned by the [`Ticket`]) from submission until the request is reaped.
/// While it is in flight the disk also points to it (`Disk::inflight`); both sides touch it
/// only under the disk lock.
struct Request {
    state: State,
    write: bool,
    req: BlkReq,
    resp: BlkResp,
    data: Data,
}

struct Disk {
    dev: VirtIOBlk<KernelHal, MmioTransport<'static>>,
    /// The request behind each queue token (a descriptor index, below the queue size).
    inflight: [Option<NonNull<Request>>; NSLOT],
}

// SAFETY: the raw pointers name requests (and memory lent to them) that live until they are
// reaped; the disk lock serializes every access to them, from any hart.
unsafe impl Send for Disk {}

static DISK: SpinLock<Option<Disk>> = SpinLock::new("disk", None);
static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The channel processes sleep on for a completion or a free queue entry.
fn chan() -> usize {
    &DISK as *const _ as usize
}

/// The first 512-byte sector of block `blockno`.
fn sector(blockno: u32) -> usize {
    blockno as usize * (BSIZE / 512)
}

impl Disk {
    /// Moves every request the device has finished from the used ring to `Done`, in the
    /// device's order. Returns how many.
    fn reap(&mut self) -> usize {
        let mut n = 0;
        while let Some(token) = self.dev.peek_used() {
            let ptr = self
                .inflight
                .get_mut(token as usize)
                .and_then(Option::take)
                .expect("virtio: completion for no request");
            // SAFETY: an in-flight request lives until it is reaped (its ticket's `wait`
            // sleeps or polls until `Done`), and the disk lock, held here, guards it.
            let r = unsafe { &mut *ptr.as_ptr() };
            let data = r.data.bytes();
            // SAFETY: the same header, data and status buffers as at submission.
            let res = unsafe {
                if r.write {
                    self.dev.complete_write_blocks(token, &r.req, data, &mut r.resp)
                } else {
                    self.dev.complete_read_blocks(token, &r.req, data, &mut r.resp)
                }
            };
            r.state = State::Done(res.is_ok() && r.resp.status() == RespStatus::OK);
            n += 1;
        }
        n
    }
}

/// Finds and initializes the disk. Its interrupt is routed by `plic::init_hart`.
///
/// # Panics
/// If there is no virtio block device in slot 0 (the machine cannot run without its disk).
pub fn init() {
    let header = NonNull::new(VIRTIO0 as *mut VirtIOHeader).expect("virtio address");
    // SAFETY: VIRTIO0 is the identity-mapped MMIO window of slot 0, used by nothing else.
    let transport = unsafe { MmioTransport::new(header, 0x1000) }.expect("virtio: no device in slot 0");
    let mut dev = VirtIOBlk::<KernelHal, _>::new(transport).expect("virtio: not a block device");
    dev.enable_interrupts();
    assert!(dev.virt_queue_size() as usize >= NSLOT, "virtio: queue smaller than NSLOT");
    *DISK.lock() = Some(Disk { dev, inflight: [None; NSLOT] });
}

/// Whether the caller may sleep for the disk: it runs as a process and holds no spinlock
/// but the disk lock (given as `d`, so interrupts are off and the count is stable).
fn can_sleep(_d: &SpinLockGuard<'_, Option<Disk>>) -> bool {
    proc::try_current().is_some() && crate::arch::cpu::noff() == 1
}

/// Waits, with the disk lock held as `d`, until some request completes: sleeps when the
/// caller can, else reaps the used ring itself (spinning until something is there).
fn await_progress<'a>(mut d: SpinLockGuard<'a, Option<Disk>>) -> SpinLockGuard<'a, Option<Disk>> {
    if can_sleep(&d) {
        return proc::sleep(chan(), d);
    }
    let disk = d.as_mut().expect("disk not initialized");
    while disk.reap() == 0 {
        core::hint::spin_loop();
    }
    d
}

/// A request started and not yet waited for. [`wait`] consumes it; dropping it waits too
/// (the request's memory must outlive the device's use of it).
#[must_use = "a started request must be waited for"]
pub struct Ticket {
    r: NonNull<Request>,
}

// SAFETY: the request a ticket names is reached only under the disk lock (or by its owner
// after it is reaped), whichever hart holds the ticket; the log keeps tickets of its
// installs between commits, possibly waited for by another process.
unsafe impl Send for Ticket {}

/// Starts a request at block `blockno` with `data`; sleeps (or polls) while the queue is
/// full (it holds `NSLOT` requests; completed ones leave it when reaped, waited for or not,
/// so a caller may hold any number of tickets).
fn start(blockno: u32, write: bool, data: Data) -> Ticket {
    let r = NonNull::from(Box::leak(Box::new(Request {
        state: State::Busy(0),
        write,
        req: BlkReq::default(),
        resp: BlkResp::default(),
        data,
    })));
    let mut d = DISK.lock();
    loop {
        let disk = d.as_mut().expect("disk not initialized");
        if disk.inflight.iter().any(Option::is_none) {
            // SAFETY: the request is ours until submitted; the disk lock is held from here
            // until it is recorded in `inflight`.
            let req = unsafe { &mut *r.as_ptr() };
            let buf = req.data.bytes();
            let len = buf.len();
            // SAFETY: the header, data and status stay in the request, untouched, until
            // `reap` completes it with the same buffers.
            let token = unsafe {
                if write {
                    disk.dev.write_blocks_nb(sector(blockno), &mut req.req, buf, &mut req.resp)
                } else {
                    disk.dev.read_blocks_nb(sector(blockno), &mut req.req, buf, &mut req.resp)
                }
            };
            let token = match token {
                Ok(t) => t,
                // Without indirect descriptors a request takes three ring entries.
                Err(virtio_drivers::Error::QueueFull) => {
                    d = await_progress(d);
                    continue;
                }
                Err(e) => panic!("virtio: request refused: {e:?}"),
            };
            req.state = State::Busy(token);
            let entry = &mut disk.inflight[token as usize];
            assert!(entry.is_none(), "virtio: token {token} reused while in flight");
            *entry = Some(r);
            let count = (len / BSIZE) as u64;
            if write {
                WRITES.fetch_add(count, Ordering::Relaxed);
            } else {
                READS.fetch_add(count, Ordering::Relaxed);
            }
            return Ticket { r };
        }
        d = await_progress(d);
    }
}

/// Starts reading the blocks from `blockno` into `buf` (a whole number of blocks), which
/// [`wait`] gives back.
pub fn start_read(blockno: u32, buf: Box<[u8]>) -> Ticket {
    assert!(!buf.is_empty() && buf.len().is_multiple_of(BSIZE), "virtio: partial block");
    start(blockno, false, Data::Owned(buf))
}

/// Starts writing `buf` (a whole number of blocks) to the blocks from `blockno`; the request
/// owns the buffer until it completes ([`wait`] gives it back).
pub fn start_write(blockno: u32, buf: Box<[u8]>) -> Ticket {
    assert!(!buf.is_empty() && buf.len().is_multiple_of(BSIZE), "virtio: partial block");
    start(blockno, true, Data::Owned(buf))
}

/// Starts writing `count` blocks from `blockno`, taking their bytes from frame `pa` at byte
/// `off` (inside the page). The caller keeps a reference to the frame until it has waited
/// for the ticket; stores into the page meanwhile may or may not reach the disk.
pub fn start_write_frame(blockno: u32, pa: PhysAddr, off: usize, count: usize) -> Ticket {
    let len = count * BSIZE;
    assert!(count > 0 && off + len <= PAGE, "virtio: blocks outside the page");
    // The device only reads the frame; the frame is identity-mapped.
    start(blockno, true, Data::Lent { ptr: (pa.as_usize() + off) as *mut u8, len })
}

/// Waits for the request of `t` to complete; returns its buffer when it owned one.
///
/// # Panics
/// On a device error (the disk is gone: nothing sensible can continue).
pub fn wait(t: Ticket) -> Option<Box<[u8]>> {
    let t = core::mem::ManuallyDrop::new(t);
    match finish(t.r) {
        Data::Owned(b) => Some(b),
        Data::Lent { .. } => None,
    }
}

/// Waits until request `r` is done, then frees it and returns its data.
fn finish(r: NonNull<Request>) -> Data {
    let mut d = DISK.lock();
    loop {
        // SAFETY: the request lives until freed below; the disk lock guards its state.
        let state = unsafe { (*r.as_ptr()).state };
        if let State::Done(ok) = state {
            drop(d);
            // SAFETY: reaped requests are no longer referenced by the disk; the ticket was
            // the only other owner and is consumed.
            let req = unsafe { Box::from_raw(r.as_ptr()) };
            assert!(ok, "virtio: {} failed", if req.write { "write" } else { "read" });
            return req.data;
        }
        d = await_progress(d);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        finish(self.r);
    }
}

/// Waits for every ticket of `ts` (in order: the device may finish them in any order).
pub fn wait_all(ts: impl IntoIterator<Item = Ticket>) {
    for t in ts {
        wait(t);
    }
}

/// Handles the device's interrupt (from `trap`, interrupts off, on any hart): acknowledge,
/// then reap, then wake the waiters.
pub fn interrupt() {
    {
        let mut d = DISK.lock();
        let Some(disk) = d.as_mut() else { return };
        disk.dev.ack_interrupt();
        disk.reap();
    }
    // Always: a poller (which never wakes anyone) may have reaped requests that sleepers
    // wait for; the interrupt those completions raised stays pending until acknowledged
    // here, so this wakeup follows every completion.
    proc::wakeup(chan());
}

/// Does `len` bytes at `buf` in one request from `blockno` and waits for it.
fn sync_lent(blockno: u32, write: bool, buf: *mut u8, len: usize) {
    // `buf` is borrowed by the caller for this whole call, which returns only after the
    // request completed.
    let t = start(blockno, write, Data::Lent { ptr: buf, len });
    wait(t);
}

/// 64-bit words per block.
const WORDS_PER_BLOCK: usize = BSIZE / 8;

/// Whole blocks of memory aligned for 64-bit words: bytes for the disk, words for code that
/// hashes them (the log's checksum reads aligned words at a few instructions each, where
/// bytes of unknown alignment cost several times more).
pub struct BlockBuf(Box<[u64]>);

impl BlockBuf {
    /// `blocks` blocks of zeros.
    pub fn zeroed(blocks: usize) -> BlockBuf {
        BlockBuf(alloc::vec![0u64; blocks * WORDS_PER_BLOCK].into_boxed_slice())
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the words are initialized memory of `8 * len` bytes, which u8 (alignment 1,
        // every value valid) may view; the borrow of `self` keeps them alive and unchanged.
        unsafe { core::slice::from_raw_parts(self.0.as_ptr() as *const u8, self.0.len() * 8) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; the mutable borrow of `self` makes this the only view, and
        // every byte pattern is a valid u64.
        unsafe { core::slice::from_raw_parts_mut(self.0.as_mut_ptr() as *mut u8, self.0.len() * 8) }
    }

    /// The blocks as native (little-endian) 64-bit words.
    pub fn words(&self) -> &[u64] {
        &self.0
    }
}

/// Writes each `(blockno, bytes)` of `writes` (whole blocks from `blockno` on), every
/// request in flight at once, and returns when all are complete. The bytes are lent to the
/// device meanwhile (no copy).
///
/// # Panics
/// On a device error.
pub fn write_all_lent(writes: &[(u32, &[u8])]) {
    let mut tickets = Vec::new();
    for &(blockno, bytes) in writes {
        // The device only reads the bytes, which this call borrows until every request
        // has completed.
        tickets.push(start_write_lent(blockno, bytes.as_ptr(), bytes.len()));
    }
    wait_all(tickets);
}

/// Writes of whole blocks from a [`BlockBuf`], started and not yet waited for: the buffer
/// stays with them until they have completed ([`BlockWrites::wait`], or dropping them).
pub struct BlockWrites {
    // Declared first, so dropped (waited for) before the buffer they read.
    tickets: Vec<Ticket>,
    buf: BlockBuf,
}

impl BlockWrites {
    /// Starts, for each `(blockno, first, count)` of `writes`, the write of blocks
    /// `first .. first + count` of `buf` to the blocks from `blockno` on; all are in flight
    /// at once.
    pub fn start(buf: BlockBuf, writes: &[(u32, usize, usize)]) -> BlockWrites {
        let mut tickets = Vec::with_capacity(writes.len());
        for &(blockno, first, count) in writes {
            let bytes = &buf.bytes()[first * BSIZE..(first + count) * BSIZE];
            // The buffer's heap block does not move when `buf` does, and it is dropped only
            // after the tickets (field order, and `wait`).
            tickets.push(start_write_lent(blockno, bytes.as_ptr(), bytes.len()));
        }
        BlockWrites { tickets, buf }
    }

    /// Waits for every write; returns the buffer.
    pub fn wait(self) -> BlockBuf {
        let BlockWrites { tickets, buf } = self;
        wait_all(tickets);
        buf
    }
}

/// Starts writing the `len` bytes at `ptr` (whole blocks) to the blocks from `blockno`; the
/// caller keeps them alive and unchanged until it has waited for the ticket.
fn start_write_lent(blockno: u32, ptr: *const u8, len: usize) -> Ticket {
    assert!(len > 0 && len.is_multiple_of(BSIZE), "virtio: partial block");
    // The device only reads the bytes.
    start(blockno, true, Data::Lent { ptr: ptr as *mut u8, len })
}

/// Disk size in BSIZE blocks.
pub fn capacity_blocks() -> u64 {
    DISK.lock().as_ref().map(|d| d.dev.capacity() * 512 / BSIZE as u64).unwrap_or(0)
}

/// Reads block `blockno` into `buf` (straight into it: `buf` is physically contiguous).
///
/// # Panics
/// On a device error.
pub fn read_block(blockno: u32, buf: &mut [u8; BSIZE]) {
    sync_lent(blockno, false, buf.as_mut_ptr(), BSIZE);
}

/// Writes `buf` to block `blockno`.
///
/// # Panics
/// On a device error.
pub fn write_block(blockno: u32, buf: &[u8; BSIZE]) {
    // The device only reads the buffer.
    sync_lent(blockno, true, buf.as_ptr() as *mut u8, BSIZE);
}

/// A heap buffer of `n` blocks, or None when the heap cannot spare it.
fn try_buffer(n: usize) -> Option<Box<[u8]>> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(n * BSIZE).ok()?;
    v.resize(n * BSIZE, 0);
    Some(v.into_boxed_slice())
}

/// Reads the `count` consecutive blocks from `first`, with every request (one per
/// `MAX_RUN` blocks) in flight at once, handing block `first + k` to `put(k, bytes)`.
///
/// # Panics
/// On a device error.
pub fn read_run(first: u32, count: usize, mut put: impl FnMut(usize, &[u8; BSIZE])) {
    let mut pending: Vec<(usize, Ticket)> = Vec::new();
    let mut done = 0;
    while done < count {
        let mut n = (count - done).min(MAX_RUN);
        let buf = loop {
            match try_buffer(n) {
                Some(b) => break b,
                None if n > 1 => n /= 2,
                None => panic!("virtio: no memory for a block buffer"),
            }
        };
        pending.push((done, start_read(first + done as u32, buf)));
        done += n;
    }
    for (at, t) in pending {
        let buf = wait(t).expect("an owned buffer");
        for (k, block) in buf.chunks_exact(BSIZE).enumerate() {
            put(at + k, block.try_into().expect("a BSIZE chunk"));
        }
    }
}

/// Blocks read since boot.
pub fn reads() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// Blocks written since boot.
pub fn writes() -> u64 {
    WRITES.load(Ordering::Relaxed)
}
