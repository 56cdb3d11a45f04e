//! The buffer cache: a fixed set of `NBUF` block-sized buffers holding recently used disk
//! blocks, so that each block has at most one in-memory copy and every access to it is
//! serialized by that buffer's sleep lock. Replacement is least-recently-released first.
//!
//! A buffer is handed out as a [`Buf`] guard (locked, contents valid); dropping the guard
//! releases it. The log pins buffers it has recorded ([`pin`]) so they stay cached until the
//! commit installs them. This module only reads whole blocks from the disk; it knows nothing
//! of the log, inodes or the on-disk layout, and never writes a block to disk (only the log
//! does, when it commits: it copies pinned buffers into its own requests).
//!
//! A cached block is found through a hash of its number (chains of slots, `Cache::heads`),
//! so a hit looks at a slot or two instead of all `NBUF`; only a miss scans every slot, for
//! the least recently released one.
//!
//! Locking: `CACHE` (spinlock) guards which block each slot holds, its reference count, its
//! age and the hash chains; a slot's contents are guarded by its sleep lock in `DATA`. Whoever holds a reference
//! may take the sleep lock; a slot is only reassigned while its count is zero, so the
//! `holds` tag inside the data always tells whether the contents are those of the slot's block.

use crate::drivers::virtio_blk;
use crate::proc;
use crate::sync::{SleepLock, SleepLockGuard, SpinLock};
use fsformat::BSIZE;

/// Number of buffers. The log may pin up to `2 * LOGBLOCKS` (60) of them (a group being
/// filled and the last one, until its installs complete); the rest serve reads
/// and the few buffers each running operation holds at once.
pub const NBUF: usize = 128;

#[derive(Clone, Copy)]
struct Slot {
    /// The block this slot is assigned to (meaningful while `refcnt > 0` or `cached`).
    blockno: u32,
    /// Holders of a `Buf` for this slot plus pins by the log.
    refcnt: u32,
    /// Whether `blockno` names a block (false until first use).
    cached: bool,
    /// Release time, for least-recently-used replacement.
    last_use: u64,
    /// The next slot in this slot's hash chain (`NONE`: the last), while `cached`.
    next: u8,
}

/// Hash chains: a power of two, so consecutive block numbers spread over every chain.
const NHASH: usize = 64;
/// No slot (the end of a chain).
const NONE: u8 = u8::MAX;
const _: () = assert!(NBUF < NONE as usize, "slot numbers must fit in a u8 below NONE");

/// The hash chain of `blockno`.
fn bucket(blockno: u32) -> usize {
    blockno as usize % NHASH
}

struct Cache {
    slots: [Slot; NBUF],
    /// The first slot of each hash chain; every cached slot is on the chain of its block.
    heads: [u8; NHASH],
    clock: u64,
    /// Processes sleeping in `get_slot` for a free slot (a release wakes only when some do).
    waiting: u32,
}

/// The contents of one buffer.
struct BufData {
    /// The block whose contents `bytes` hold, if any.
    holds: Option<u32>,
    bytes: [u8; BSIZE],
}

static CACHE: SpinLock<Cache> = SpinLock::new(
    "bcache",
    Cache {
        slots: [Slot { blockno: 0, refcnt: 0, cached: false, last_use: 0, next: NONE }; NBUF],
        heads: [NONE; NHASH],
        clock: 0,
        waiting: 0,
    },
);

static DATA: [SleepLock<BufData>; NBUF] =
    [const { SleepLock::new("buffer", BufData { holds: None, bytes: [0; BSIZE] }) }; NBUF];

fn chan() -> usize {
    &CACHE as *const _ as usize
}

/// A locked buffer whose contents are those of block `blockno()`.
pub struct Buf {
    slot: usize,
    blockno: u32,
    data: Option<SleepLockGuard<'static, BufData>>,
}

impl Buf {
    /// The block this buffer holds.
    pub fn blockno(&self) -> u32 {
        self.blockno
    }

    /// The block's bytes.
    pub fn data(&self) -> &[u8; BSIZE] {
        &self.guard().bytes
    }

    /// The block's bytes, for modification. The caller must record the change with
    /// `log::log_write` (inside a transaction) for it ever to reach the disk.
    pub fn data_mut(&mut self) -> &mut [u8; BSIZE] {
        &mut self.guard_mut().bytes
    }

    fn guard(&self) -> &BufData {
        self.data.as_ref().expect("buffer used after release")
    }

    fn guard_mut(&mut self) -> &mut BufData {
        self.data.as_mut().expect("buffer used after release")
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        drop(self.data.take());
        release(self.slot);
    }
}

/// Drops one reference to `slot`; a slot nobody references becomes the youngest candidate
/// for reuse, and waiters for a free slot are woken.
fn release(slot: usize) {
    let mut c = CACHE.lock();
    c.clock += 1;
    let now = c.clock;
    let s = &mut c.slots[slot];
    assert!(s.refcnt > 0, "bio: releasing an unreferenced buffer");
    s.refcnt -= 1;
    if s.refcnt == 0 {
        s.last_use = now;
        let wake = c.waiting > 0;
        drop(c);
        if wake {
            proc::wakeup(chan());
        }
    }
}

impl Cache {
    /// The slot caching `blockno`, if any.
    fn find(&self, blockno: u32) -> Option<usize> {
        let mut i = self.heads[bucket(blockno)];
        while i != NONE {
            let s = &self.slots[i as usize];
            if s.blockno == blockno {
                return Some(i as usize);
            }
            i = s.next;
        }
        None
    }

    /// Takes cached slot `i` off its hash chain.
    fn unlink(&mut self, i: usize) {
        let next = self.slots[i].next;
        let head = &mut self.heads[bucket(self.slots[i].blockno)];
        if *head as usize == i {
            *head = next;
            return;
        }
        let mut j = *head;
        while self.slots[j as usize].next as usize != i {
            j = self.slots[j as usize].next;
            assert!(j != NONE, "bio: slot missing from its hash chain");
        }
        self.slots[j as usize].next = next;
    }

    /// Gives unreferenced slot `i` to `blockno`, with one reference.
    fn assign(&mut self, i: usize, blockno: u32) {
        if self.slots[i].cached {
            self.unlink(i);
        }
        let head = &mut self.heads[bucket(blockno)];
        self.slots[i] = Slot { blockno, refcnt: 1, cached: true, last_use: 0, next: *head };
        *head = i as u8;
    }
}

/// Finds the slot caching `blockno`, or assigns the least recently used free slot to it, and
/// takes a reference. Sleeps while every slot is referenced.
fn get_slot(blockno: u32) -> usize {
    let mut c = CACHE.lock();
    loop {
        if let Some(i) = c.find(blockno) {
            c.slots[i].refcnt += 1;
            return i;
        }
        let victim = c
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.refcnt == 0)
            .min_by_key(|(_, s)| (s.cached, s.last_use))
            .map(|(i, _)| i);
        if let Some(i) = victim {
            c.assign(i, blockno);
            return i;
        }
        // Counted under the lock the releaser reads it under: no wakeup is lost.
        c.waiting += 1;
        c = proc::sleep(chan(), c);
        c.waiting -= 1;
    }
}

/// Returns a locked buffer holding block `blockno`, reading it from the disk if it is not
/// cached. May sleep (for the buffer's lock, a free slot, or the disk).
pub fn read(blockno: u32) -> Buf {
    let slot = get_slot(blockno);
    let mut data = DATA[slot].lock();
    if data.holds != Some(blockno) {
        virtio_blk::read_block(blockno, &mut data.bytes);
        data.holds = Some(blockno);
    }
    Buf { slot, blockno, data: Some(data) }
}

/// Returns a locked buffer for block `blockno` without reading the disk: the caller must
/// overwrite all of it before releasing it (a block just allocated, or a whole-block write).
pub fn read_for_overwrite(blockno: u32) -> Buf {
    let slot = get_slot(blockno);
    let mut data = DATA[slot].lock();
    data.holds = Some(blockno);
    Buf { slot, blockno, data: Some(data) }
}

/// Keeps `b`'s block cached after `b` is released (the log's pending write).
pub fn pin(b: &Buf) {
    CACHE.lock().slots[b.slot].refcnt += 1;
}

/// Undoes one `pin` of block `blockno` (which a pin keeps cached, so it is found without
/// reading or locking the buffer).
///
/// # Panics
/// If the block is not cached (it was not pinned: a kernel bug).
pub fn unpin(blockno: u32) {
    let slot = CACHE.lock().find(blockno).expect("bio: unpinning a block that is not cached");
    release(slot);
}
