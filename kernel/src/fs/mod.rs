//! The file system: xv6's on-disk format (crate `fsformat`, with a doubly-indirect block)
//! behind a buffer cache, a write-ahead log, inodes, directories, path names, open files and
//! pipes. This module mounts the disk and exports the interface the rest of the kernel uses;
//! it must not know about system-call arguments or file descriptors.
//!
//! Layers, bottom up: `bio` (cached blocks) → `log` (transactions) and `balloc` (bitmap) →
//! `inode` (contents of one inode) → `dir` (entries) → `path` (names to inodes) →
//! `namespace` (create, link, unlink) → `file` (open files) and `pipe`.
//!
//! # Lock order
//! file offset (sleep) → `log::begin_op` (admission) → inode sleep locks (a parent directory
//! before its child, never two unrelated inodes) → buffer sleep locks (an indirect block
//! before the bitmap, the bitmap before a newly allocated block) → spinlocks (inode table,
//! buffer cache, log, pending frees, pipe rings) → process locks (through sleep/wakeup).
//! A process never waits in `begin_op` while holding an inode lock, and never touches user
//! memory while holding an inode lock or a spinlock.
//!
//! Every change to the disk happens inside a transaction; user actions can make a call fail
//! (disk full, no free inode, file too large), never panic the kernel.

mod balloc;
mod bio;
mod dir;
pub mod file;
mod filedata;
mod inode;
pub mod log;
mod namespace;
mod path;
pub mod pipe;

pub use filedata::WRITE_BACK_BATCH;
pub use inode::{evict_unused_pages, Inode, InodeGuard};
pub use namespace::{create, link, unlink};
pub use path::namei;

use crate::drivers::virtio_blk;
use crate::sync::SpinLock;
use alloc::boxed::Box;
use fsformat::{SuperBlock, BSIZE, ROOTINO};

/// The device number `fstat` reports (one disk).
pub const ROOTDEV: i32 = 1;

static SUPERBLOCK: SpinLock<Option<SuperBlock>> = SpinLock::new("superblock", None);

/// The mounted file system's superblock.
///
/// # Panics
/// Before `init` (a kernel bug).
fn sb() -> SuperBlock {
    SUPERBLOCK.lock().expect("file system used before init")
}

/// Mounts the file system: reads and checks the superblock, replays the log, and frees
/// inodes left unlinked but allocated (open when the machine stopped). Called once, by the
/// first process (it sleeps for the disk).
///
/// # Panics
/// If the disk holds no valid file system.
pub fn init() {
    let mut block = disk_buffer();
    virtio_blk::read_block(1, &mut block);
    let s = SuperBlock::decode(&block[..]);
    let disk = virtio_blk::capacity_blocks();
    let fits = s.ninodes > ROOTINO
        && s.inode_block(s.ninodes - 1) < s.bmapstart
        && s.bitmap_block(s.size - 1) < s.data_start();
    if !s.is_valid(disk) || !fits {
        panic!("fs: no valid file system on the disk ({} blocks): {:?}", disk, s);
    }
    *SUPERBLOCK.lock() = Some(s);
    log::recover(&s);
    let orphans = inode::reclaim_orphans();
    if orphans > 0 {
        crate::println!("fs: freed {} unlinked inodes that were still open at shutdown", orphans);
    }
}

/// A block buffer for I/O that bypasses the cache. Disk transfers need memory whose
/// address is physical (the heap, statics), never the kernel stack.
fn disk_buffer() -> Box<[u8; BSIZE]> {
    Box::new([0u8; BSIZE])
}

/// The root directory.
pub fn root() -> Inode {
    inode::get(ROOTINO)
}
