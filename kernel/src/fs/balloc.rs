//! Disk block allocation: the free-block bitmap, and the deferred freeing of the blocks of
//! truncated files.
//!
//! [`alloc`] finds a clear bit, sets it and zeroes the block, all through the log; a full disk
//! is an `Err(NoSpc)`, never a panic. Freeing is deferred: a truncation only detaches the
//! block tree from its inode (one small transaction) and hands the roots to [`free_later`];
//! [`drain_pending`] (run by `log::end_op`) then clears their bits in transactions that each
//! touch at most `MAXOPBLOCKS` bitmap blocks. A 64 MiB file spans more bitmap blocks than one
//! operation may log, so freeing it in the caller's transaction could overflow the log.
//! A crash between detaching and freeing leaks blocks but never leaves a block both free and
//! in use.
//!
//! This module must not touch inodes; it sees only block numbers.

use super::{bio, log, sb};
use crate::sync::SpinLock;
use abi::Errno;
use alloc::vec::Vec;
use fsformat::{indirect_get, BPB, MAXOPBLOCKS, NINDIRECT};

/// A detached piece of a file's block tree, waiting to be freed.
#[derive(Clone, Copy, Debug)]
pub enum Detached {
    /// A data block.
    Data(u32),
    /// A singly-indirect block: its entries are data blocks.
    Single(u32),
    /// A doubly-indirect block: its entries are singly-indirect blocks.
    Double(u32),
}

/// Blocks waiting to be freed, used as a stack.
static PENDING: SpinLock<Vec<Detached>> = SpinLock::new("pending-free", Vec::new());
/// Where the next bitmap search starts (a hint; correctness never depends on it).
static NEXT_HINT: SpinLock<u32> = SpinLock::new("balloc-hint", 0);

/// Whether `b` may be a data block of a file (not metadata, not past the image).
pub fn is_data_block(b: u32) -> bool {
    let s = sb();
    b >= s.data_start() && b < s.size
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
    let s = sb();
    let (first, end) = (s.data_start(), s.size);
    if first >= end {
        return Err(Errno::NoSpc);
    }
    let hint = (*NEXT_HINT.lock()).clamp(first, end - 1);
    let b = match find_and_set(hint, end) {
        Some(b) => b,
        None => find_and_set(first, hint).ok_or(Errno::NoSpc)?,
    };
    *NEXT_HINT.lock() = b + 1;
    Ok(b)
}

/// Finds a free block in `[from, to)`, marks it used (logged) and returns it.
fn find_and_set(from: u32, to: u32) -> Option<u32> {
    let s = sb();
    let mut b = from;
    while b < to {
        let block_end = ((b / BPB as u32 + 1) * BPB as u32).min(to);
        let mut map = bio::read(s.bitmap_block(b));
        let bits = map.data_mut();
        while b < block_end {
            let bit = b as usize % BPB;
            let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
            if bits[byte] == 0xff && bit.is_multiple_of(8) && b + 8 <= block_end {
                b += 8;
                continue;
            }
            if bits[byte] & mask == 0 {
                bits[byte] |= mask;
                log::log_write(&map);
                return Some(b);
            }
            b += 1;
        }
    }
    None
}

/// Clears block `b`'s bit. Must run inside a transaction. A block that is already free or out
/// of range means a corrupt disk: it is reported and skipped.
fn free(b: u32) {
    if !is_data_block(b) {
        crate::println!("fs: not freeing out-of-range block {}", b);
        return;
    }
    let mut map = bio::read(sb().bitmap_block(b));
    let bit = b as usize % BPB;
    let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
    let bits = map.data_mut();
    if bits[byte] & mask == 0 {
        crate::println!("fs: freeing free block {}", b);
        return;
    }
    bits[byte] &= !mask;
    log::log_write(&map);
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
        let b = match item {
            Detached::Data(b) | Detached::Single(b) | Detached::Double(b) => b,
        };
        let map = s.bitmap_block(b);
        if !maps[..nmaps].contains(&map) {
            if nmaps == MAXOPBLOCKS {
                PENDING.lock().push(item);
                return;
            }
            maps[nmaps] = map;
            nmaps += 1;
        }
        match item {
            Detached::Data(_) => {}
            Detached::Single(b) => queue_children(b, Detached::Data),
            Detached::Double(b) => queue_children(b, Detached::Single),
        }
        free(b);
    }
}

/// Queues the non-zero entries of indirect block `b` (read before `b` itself is freed).
fn queue_children(b: u32, kind: fn(u32) -> Detached) {
    if !is_data_block(b) {
        return;
    }
    let children: Vec<Detached> = {
        let buf = bio::read(b);
        (0..NINDIRECT).map(|i| indirect_get(buf.data(), i)).filter(|&a| a != 0).map(kind).collect()
    };
    PENDING.lock().extend(children);
}
