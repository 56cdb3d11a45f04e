//! The write-ahead log that makes every file-system operation atomic with respect to crashes.
//!
//! An operation runs between [`begin_op`] and [`end_op`]; every block it modifies is recorded
//! with [`log_write`] (which pins the buffer in the cache) instead of being written. When the
//! last concurrent operation ends, the group commits: the recorded blocks are copied to the log
//! area, the header naming them is written (the commit point), the blocks are written to their
//! homes, and the header is cleared. [`recover`] replays a committed but uninstalled log at
//! boot.
//!
//! `begin_op` admits an operation only if the log can hold `MAXOPBLOCKS` more blocks for it,
//! so each operation must add at most `MAXOPBLOCKS` distinct blocks to the group. The log
//! counts them per operation ([`op_room`]), so that a large write takes as many blocks as fit
//! and continues in the next operation. With every operation within its share, the group
//! never outgrows the log: `n + Σ(MAXOPBLOCKS - used)` over outstanding operations stays at
//! most `LOGBLOCKS`.
//!
//! This module owns the on-disk log area and the transaction bookkeeping; it must not decide
//! what an operation modifies. It never holds its spinlock across disk I/O.
//!
//! `end_op` also carries out deferred frees (unlinked inodes whose last reference went away,
//! see `inode::free_queued_orphans`, and `balloc::drain_pending`), in transactions of their
//! own, so callers of `end_op` must hold no inode lock (as xv6 requires anyway: an operation
//! ends after it has unlocked everything). A commit tells `balloc` (`group_committed`), so
//! that blocks freed in the group may be allocated again.

use super::{balloc, bio, inode};
use crate::drivers::virtio_blk;
use crate::proc;
use crate::sync::SpinLock;
use alloc::vec::Vec;
use fsformat::{LogHeader, SuperBlock, BSIZE, LOGBLOCKS, MAXOPBLOCKS};

/// Most operations admitted at once (each is promised `MAXOPBLOCKS` log slots).
const MAX_OPS: usize = LOGBLOCKS / MAXOPBLOCKS;

/// Log slots one outstanding operation has used: distinct blocks it added to the group.
#[derive(Clone, Copy)]
struct OpUse {
    /// The process running the operation ([`op_owner`]; 0: slot free). A process runs one
    /// at a time.
    owner: usize,
    used: usize,
}

/// Who runs an operation: the current process's slot address (no lock needed to find it,
/// unlike its pid), 0 outside process context.
fn op_owner() -> usize {
    proc::try_current().map_or(0, |p| p as *const proc::Proc as usize)
}

struct Log {
    /// First block of the log area (the header); the data blocks follow.
    start: u32,
    /// Operations between `begin_op` and `end_op`.
    outstanding: usize,
    /// What each outstanding operation has used of its `MAXOPBLOCKS`.
    ops: [OpUse; MAX_OPS],
    /// A commit is in progress; no operation may begin.
    committing: bool,
    /// Home blocks recorded by the current group, in first-write order.
    header: LogHeader,
    /// Processes sleeping in `begin_op` (`end_op` wakes only when some do).
    waiting: u32,
}

static LOG: SpinLock<Log> = SpinLock::new(
    "log",
    Log {
        start: 0,
        outstanding: 0,
        ops: [OpUse { owner: 0, used: 0 }; MAX_OPS],
        committing: false,
        header: LogHeader { n: 0, blocks: [0; LOGBLOCKS] },
        waiting: 0,
    },
);

fn chan() -> usize {
    &LOG as *const _ as usize
}

/// Replays a committed transaction left in the log by a crash, then empties the log.
/// Called once at mount, before any buffer is cached.
///
/// # Panics
/// If the log header is corrupt (the disk holds no valid file system).
pub fn recover(sb: &SuperBlock) {
    LOG.lock().start = sb.logstart;
    let mut block = super::disk_buffer();
    virtio_blk::read_block(sb.logstart, &mut block);
    let header = LogHeader::decode(&block[..]);
    let n = header.n as usize;
    assert!(n <= LOGBLOCKS, "fs: corrupt log header ({} blocks)", n);
    let mut tickets = Vec::new();
    if n > 0 {
        let mut area = alloc::vec![0u8; n * BSIZE];
        virtio_blk::read_run(sb.logstart + 1, n, |i, bytes| {
            area[i * BSIZE..(i + 1) * BSIZE].copy_from_slice(bytes)
        });
        for (i, &home) in header.blocks[..n].iter().enumerate() {
            assert!(home >= sb.inodestart && home < sb.size, "fs: corrupt log header (block {})", home);
            let bytes: alloc::boxed::Box<[u8]> = area[i * BSIZE..(i + 1) * BSIZE].into();
            tickets.push(virtio_blk::start_write(home, bytes));
        }
    }
    // Every home block is durable before the header is cleared.
    virtio_blk::wait_all(tickets);
    if n > 0 {
        crate::println!("fs: recovered {} logged blocks", n);
    }
    write_header(sb.logstart, &LogHeader::default());
}

fn write_header(start: u32, header: &LogHeader) {
    let mut block = super::disk_buffer();
    header.encode(&mut block[..]);
    virtio_blk::write_block(start, &block);
}

/// Starts a file-system operation, sleeping while a commit runs or while the log could not
/// hold this operation's worst case on top of those already admitted.
/// Operations must not nest: a process calls `end_op` before its next `begin_op`.
pub fn begin_op() {
    let mut log = LOG.lock();
    loop {
        let reserved = log.header.n as usize + (log.outstanding + 1) * MAXOPBLOCKS;
        if log.committing || reserved > LOGBLOCKS {
            log.waiting += 1;
            log = proc::sleep(chan(), log);
            log.waiting -= 1;
        } else {
            log.outstanding += 1;
            let owner = op_owner();
            let slot = log.ops.iter_mut().find(|o| o.owner == 0).expect("log: more operations than slots");
            *slot = OpUse { owner, used: 0 };
            return;
        }
    }
}

/// Log slots the current operation may still fill: `MAXOPBLOCKS` minus the distinct blocks
/// it has added to the group. Operations that write an unbounded amount (file writes) check
/// this before each block and continue in a new transaction when it runs out.
pub fn op_room() -> usize {
    let owner = op_owner();
    let log = LOG.lock();
    let used = log.ops.iter().find(|o| o.owner == owner).map_or(MAXOPBLOCKS, |o| o.used);
    MAXOPBLOCKS.saturating_sub(used)
}

/// Ends a file-system operation; the last one out commits the group. Then frees blocks that
/// truncations detached (in transactions of their own). The caller must hold no inode lock.
pub fn end_op() {
    end_op_only();
    inode::free_queued_orphans();
    balloc::drain_pending();
}

/// `end_op` without the deferred frees (used by the freeing loop itself).
pub(super) fn end_op_only() {
    let commit_now = {
        let mut log = LOG.lock();
        assert!(log.outstanding > 0, "end_op without begin_op");
        assert!(!log.committing, "end_op during commit");
        log.outstanding -= 1;
        let owner = op_owner();
        if let Some(op) = log.ops.iter_mut().find(|o| o.owner == owner) {
            op.owner = 0;
        }
        if log.outstanding == 0 && log.header.n > 0 {
            log.committing = true;
            true
        } else {
            // Reservations shrank (or a group that logged nothing ended: nothing to commit):
            // a waiting begin_op may fit now.
            if log.waiting > 0 {
                proc::wakeup(chan());
            }
            false
        }
    };
    if commit_now {
        commit();
        let mut log = LOG.lock();
        log.committing = false;
        if log.waiting > 0 {
            proc::wakeup(chan());
        }
    }
}

/// Records that `b` was modified by the current operation: it will be written to the disk at
/// commit, and stays cached (pinned) until then. Writing a block twice in one group costs one
/// log slot.
///
/// # Panics
/// Outside a transaction, or if the group outgrows the log (both kernel bugs: every operation
/// stays within `MAXOPBLOCKS` blocks).
pub fn log_write(b: &bio::Buf) {
    let mut log = LOG.lock();
    assert!(log.outstanding > 0, "log_write outside of a transaction");
    let n = log.header.n as usize;
    if log.header.blocks[..n].contains(&b.blockno()) {
        return;
    }
    assert!(n < LOGBLOCKS, "fs: transaction too big for the log");
    log.header.blocks[n] = b.blockno();
    log.header.n += 1;
    let owner = op_owner();
    if let Some(op) = log.ops.iter_mut().find(|o| o.owner == owner) {
        op.used += 1;
    }
    drop(log);
    bio::pin(b);
}

/// Writes the group to the disk. Runs with `committing` set and no operation outstanding, so
/// the header is stable and no one modifies a logged block meanwhile.
///
/// Each step waits for its writes to complete before the next starts, which keeps the
/// barriers that crash consistency needs while several requests are in flight: the log
/// blocks (one request: the log area is contiguous) are durable before the header that
/// commits them; the header before any home block is overwritten; every home block (all
/// submitted together, consecutive homes in one request) before the header is cleared.
fn commit() {
    let (start, header) = {
        let log = LOG.lock();
        (log.start, log.header)
    };
    let n = header.n as usize;
    if n == 0 {
        return;
    }
    // The cached (pinned) buffers hold exactly what the log must contain.
    let mut area = alloc::vec![0u8; n * BSIZE].into_boxed_slice();
    for (i, &home) in header.blocks[..n].iter().enumerate() {
        area[i * BSIZE..(i + 1) * BSIZE].copy_from_slice(bio::read(home).data());
    }
    virtio_blk::wait(virtio_blk::start_write(start + 1, area));
    write_header(start, &header);
    // The commit point: the group's frees are durable.
    balloc::group_committed();
    install(&header.blocks[..n]);
    for &home in &header.blocks[..n] {
        bio::unpin(&bio::read(home));
    }
    LOG.lock().header.n = 0;
    write_header(start, &LogHeader::default());
}

/// Writes the cached (pinned) buffers of `homes` to their home blocks, every request in
/// flight at once (one per run of consecutive block numbers), and waits for them all. The
/// buffers stay pinned meanwhile, so no one reads a home block from the disk before its new
/// contents are there.
fn install(homes: &[u32]) {
    let mut sorted: Vec<u32> = homes.to_vec();
    sorted.sort_unstable();
    let mut tickets = Vec::new();
    let mut k = 0;
    while k < sorted.len() {
        let mut run = 1;
        while k + run < sorted.len() && sorted[k + run] == sorted[k] + run as u32 {
            run += 1;
        }
        let mut bytes = alloc::vec![0u8; run * BSIZE].into_boxed_slice();
        for (j, chunk) in bytes.chunks_exact_mut(BSIZE).enumerate() {
            chunk.copy_from_slice(bio::read(sorted[k + j]).data());
        }
        tickets.push(virtio_blk::start_write(sorted[k], bytes));
        k += run;
    }
    virtio_blk::wait_all(tickets);
}
