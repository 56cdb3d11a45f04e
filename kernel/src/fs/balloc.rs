//! Disk block allocation: the free-block bitmap, the rule that keeps a freed block from being
//! reused before its free commits, and the deferred freeing of detached block trees.
//!
//! [`alloc`] finds a block free both in the bitmap and in the bitmap *as last committed*, sets
//! its bit and zeroes the block, all through the log; a full disk is an `Err(NoSpc)`, never a
//! panic. [`free`] clears a bit inside the caller's transaction; the first free that touches
//! a bitmap block in a log group first keeps a copy of that block (still holding every bit
//! the last commit had set), and `log` drops the copies when the group commits
//! ([`group_committed`]). So a block freed by an uncommitted transaction is never handed out
//! again before the free is durable: file data written in place ahead of the commit can
//! never land in a block that a crash would give back to its old file.
//!
//! Files are freed progressively by `inode` (from the end of their block tree, each
//! transaction clearing pointers and bits together). [`free_later`]/[`drain_pending`] remain
//! for the one case that cannot do so: truncating a file when no inode is free to hold its
//! blocks. That path detaches the tree in one transaction and clears the bits in later ones
//! (a crash in between leaks the blocks, never leaves one both free and in use).
//!
//! This module must not touch inodes; it sees only block numbers.

use super::{bio, log, sb};
use crate::sync::SpinLock;
use abi::Errno;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use fsformat::{bitmap_find_clear, indirect_get, BPB, BSIZE, MAXOPBLOCKS, NINDIRECT};

/// A detached piece of a file's block tree, waiting to be freed: `block`, `depth` levels of
/// indirect blocks above the data (0: a data block; 1: its entries are data blocks; 2 and 3:
/// its entries are trees one level less deep).
#[derive(Clone, Copy, Debug)]
pub struct Detached {
    pub block: u32,
    pub depth: usize,
}

/// Blocks waiting to be freed, used as a stack.
static PENDING: SpinLock<Vec<Detached>> = SpinLock::new("pending-free", Vec::new());
/// Bitmap blocks freed from in the current log group, as they were before the group's first
/// free touched them: (block number, contents). Emptied when the group commits.
static COMMITTED: SpinLock<Vec<(u32, Box<[u8; BSIZE]>)>> = SpinLock::new("balloc-committed", Vec::new());
/// Where the next bitmap search starts (a hint; correctness never depends on it).
static NEXT_HINT: AtomicU32 = AtomicU32::new(0);

/// The data area `[first, end)` as `first << 32 | end`, once known (0 before): every
/// block address read from the disk is checked against it, so it is kept where reading it
/// takes no lock (the superblock never changes once mounted).
static DATA_AREA: AtomicU64 = AtomicU64::new(0);

/// The data area `[first, end)` (`first >= end` on an image with no data blocks).
fn data_area() -> (u32, u32) {
    let mut area = DATA_AREA.load(Ordering::Relaxed);
    if area == 0 {
        let s = sb();
        area = u64::from(s.data_start()) << 32 | u64::from(s.size);
        DATA_AREA.store(area, Ordering::Relaxed);
    }
    ((area >> 32) as u32, area as u32)
}

/// Whether `b` may be a data block of a file (not metadata, not past the image).
pub fn is_data_block(b: u32) -> bool {
    let (first, end) = data_area();
    b >= first && b < end
}

/// Allocates a zeroed block (an indirect block, a directory block). Must run inside a
/// transaction; logs one bitmap block and the new block.
pub fn alloc() -> Result<u32, Errno> {
    let b = alloc_data()?;
    let mut buf = bio::read_for_overwrite(b);
    buf.data_mut().fill(0);
    log::log_write(&buf);
    Ok(b)
}

/// Allocates a data block of a regular file without zeroing it: the caller writes all of it
/// in place from a cache page before the transaction commits (ordered data, `filedata`).
/// Must run inside a transaction; logs one bitmap block.
pub fn alloc_data() -> Result<u32, Errno> {
    let (first, end) = data_area();
    if first >= end {
        return Err(Errno::NoSpc);
    }
    let hint = NEXT_HINT.load(Ordering::Relaxed).clamp(first, end - 1);
    let b = match find_and_set(hint, end) {
        Some(b) => b,
        None => find_and_set(first, hint).ok_or(Errno::NoSpc)?,
    };
    NEXT_HINT.store(b + 1, Ordering::Relaxed);
    Ok(b)
}

/// Finds a block in `[from, to)` that is free and whose free has committed, marks it used
/// (logged) and returns it.
fn find_and_set(from: u32, to: u32) -> Option<u32> {
    let bmapstart = sb().bmapstart;
    let mut b = from;
    while b < to {
        let base = b / BPB as u32 * BPB as u32;
        let block_end = base.saturating_add(BPB as u32).min(to);
        let mapno = bmapstart + b / BPB as u32;
        let mut map = bio::read(mapno);
        let found = {
            let committed = COMMITTED.lock();
            let copy = committed.iter().find(|(m, _)| *m == mapno).map(|(_, c)| &c[..]);
            bitmap_find_clear(map.data(), copy, (b - base) as usize, (block_end - base) as usize)
        };
        if let Some(bit) = found {
            map.data_mut()[bit / 8] |= 1 << (bit % 8);
            log::log_write(&map);
            return Some(base + bit as u32);
        }
        b = block_end;
    }
    None
}

/// Clears block `b`'s bit. Must run inside a transaction; the block may be allocated again
/// only after that transaction commits. A block that is already free or out of range means
/// a corrupt disk: it is reported and skipped.
pub fn free(b: u32) {
    if !is_data_block(b) {
        crate::println!("fs: not freeing out-of-range block {}", b);
        return;
    }
    let mapno = sb().bitmap_block(b);
    let mut map = bio::read(mapno);
    let bit = b as usize % BPB;
    let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
    let bits = map.data_mut();
    if bits[byte] & mask == 0 {
        crate::println!("fs: freeing free block {}", b);
        return;
    }
    remember_committed(mapno, bits);
    bits[byte] &= !mask;
    log::log_write(&map);
}

/// Keeps a copy of bitmap block `mapno` (contents `bits`, before this free changes them)
/// unless the group has one already. Until the group commits, `bits` still has every bit
/// set that the last commit had set: only frees clear bits, and this is the group's first
/// free in this block.
fn remember_committed(mapno: u32, bits: &[u8]) {
    if COMMITTED.lock().iter().any(|(m, _)| *m == mapno) {
        return;
    }
    let mut copy = Box::new([0u8; BSIZE]);
    copy.copy_from_slice(bits);
    // The caller holds the bitmap buffer's lock, so no one else added a copy meanwhile.
    COMMITTED.lock().push((mapno, copy));
}

/// The log group committed: its frees are durable, so the blocks they freed may be reused.
/// Called by `log` after the commit point, while no operation runs.
pub fn group_committed() {
    let copies = core::mem::take(&mut *COMMITTED.lock());
    drop(copies);
}

/// Queues detached block trees for freeing by the next `log::end_op`.
pub fn free_later(roots: impl IntoIterator<Item = Detached>) {
    PENDING.lock().extend(roots);
}

/// Frees every queued block, in transactions of their own that each log at most
/// `MAXOPBLOCKS` bitmap blocks. Called by `log::end_op` outside any transaction.
pub fn drain_pending() {
    while !PENDING.lock().is_empty() {
        log::begin_op();
        free_batch();
        log::end_op_only();
    }
}

/// Frees queued blocks until the next one would make this transaction log one bitmap block
/// too many, or the queue is empty.
fn free_batch() {
    let s = sb();
    let mut maps: [u32; MAXOPBLOCKS] = [0; MAXOPBLOCKS];
    let mut nmaps = 0;
    loop {
        let Some(item) = PENDING.lock().pop() else { return };
        let b = item.block;
        let map = s.bitmap_block(b);
        if !maps[..nmaps].contains(&map) {
            if nmaps == MAXOPBLOCKS {
                PENDING.lock().push(item);
                return;
            }
            maps[nmaps] = map;
            nmaps += 1;
        }
        if item.depth > 0 {
            queue_children(b, item.depth - 1);
        }
        free(b);
    }
}

/// Queues the non-zero entries of indirect block `b` (read before `b` itself is freed), trees
/// `depth` levels deep.
fn queue_children(b: u32, depth: usize) {
    if !is_data_block(b) {
        return;
    }
    let children: Vec<Detached> = {
        let buf = bio::read(b);
        (0..NINDIRECT)
            .map(|i| indirect_get(buf.data(), i))
            .filter(|&a| a != 0)
            .map(|block| Detached { block, depth })
            .collect()
    };
    PENDING.lock().extend(children);
}
