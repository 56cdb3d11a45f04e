//! The write-ahead log that makes every file-system operation atomic with respect to crashes.
//!
//! An operation runs between [`begin_op`] and [`end_op`]; every block it modifies is recorded
//! with [`log_write`] (which pins the buffer in the cache) instead of being written. When the
//! last concurrent operation ends, the group commits. [`recover`] replays a committed group
//! at boot.
//!
//! # The commit protocol
//!
//! 1. The group's blocks are copied from the cache into one buffer behind the header, which
//!    names their homes and carries a checksum of itself and of those blocks
//!    (`fsformat::LogHeader`). Header and log blocks are contiguous on the disk and go in
//!    **one request**; the group is committed when it is complete. A crash in the middle
//!    leaves a header whose checksum does not match what is in the log area (some blocks
//!    old, some new), which recovery ignores: the group did not commit, and no operation of
//!    it had returned.
//! 2. The blocks are written to their homes from that same buffer (one request per run of
//!    consecutive homes, all in flight at once), and the commit returns **without waiting**
//!    for them: the next commit waits for them before it overwrites the log area (the
//!    [`INSTALLING`] sleep lock spans a commit), and so does a clean shutdown ([`flush`]).
//!    The homes stay pinned in the cache until the installs are complete (a later group that
//!    logs one pins it again), so no one reads a home block from the disk before its new
//!    contents are there, and the installs write the committed bytes even if a later group
//!    changes the cached block meanwhile.
//! 3. The header is **not cleared**. It keeps naming the last group, installed or being
//!    installed; replaying it again writes the same contents to the same homes, which is
//!    harmless: a home block changes after its group only through a later group (whose
//!    commit replaces the header) or, as file data written in place, after a later group
//!    freed and reallocated it (again a later commit). Since a group's installs complete
//!    before the next commit request starts, at most the last committed group is not
//!    installed, and the header names it; an old header never meets a log area holding
//!    anything but its own blocks or a newer group's, which its checksum rejects.
//!
//! So an operation that logs waits for one request at its commit (header and log together),
//! where it used to wait for four (log, header, installs, clearing the header). File data is
//! written in place before the operation that makes it reachable ends (ordered data,
//! `filedata`), so before its group commits. Recovery installs a committed group and writes
//! an empty header.
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
use crate::drivers::virtio_blk::{self, BlockBuf, BlockWrites};
use crate::proc;
use crate::sync::{SleepLock, SpinLock};
use fsformat::{LogHeader, SuperBlock, BSIZE, LOGBLOCKS, LOG_WORDS_PER_BLOCK, MAXOPBLOCKS};

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
        header: LogHeader { n: 0, blocks: [0; LOGBLOCKS], checksum: 0 },
        waiting: 0,
    },
);

fn chan() -> usize {
    &LOG as *const _ as usize
}

/// Replays the group the log header commits, if any (it may be installed already: see the
/// module docs), then empties the log. Called once at mount, before any buffer is cached.
///
/// # Panics
/// If a committed header names a home block outside the inode, bitmap and data areas (the
/// disk holds no valid file system).
pub fn recover(sb: &SuperBlock) {
    LOG.lock().start = sb.logstart;
    let mut block = super::disk_buffer();
    virtio_blk::read_block(sb.logstart, &mut block);
    let header = LogHeader::decode(&block[..]);
    let n = header.n as usize;
    if n == 0 {
        return;
    }
    if n <= LOGBLOCKS {
        let mut area = BlockBuf::zeroed(n);
        let bytes = area.bytes_mut();
        virtio_blk::read_run(sb.logstart + 1, n, |i, b| bytes[i * BSIZE..(i + 1) * BSIZE].copy_from_slice(b));
        if header.is_committed(area.words()) {
            for &home in &header.blocks[..n] {
                assert!(home >= sb.inodestart && home < sb.size, "fs: corrupt log header (block {})", home);
            }
            drop(start_install(&header.blocks[..n], area, 0).wait());
            crate::println!("fs: recovered {} logged blocks", n);
        }
    }
    // Every home block is durable before the header goes.
    let mut empty = super::disk_buffer();
    LogHeader::default().encode(&mut empty[..]);
    virtio_blk::write_block(sb.logstart, &empty);
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

/// Writes the group to the disk (see the module docs for the protocol). Runs with
/// `committing` set and no operation outstanding, so the header is stable and no one
/// modifies a logged block meanwhile.
fn commit() {
    let (start, mut header) = {
        let log = LOG.lock();
        (log.start, log.header)
    };
    let n = header.n as usize;
    if n == 0 {
        return;
    }
    // The previous group's installs complete before its log blocks are overwritten.
    let mut installing = INSTALLING.lock();
    if let Some(previous) = installing.take() {
        previous.finish();
    }
    // Block 0 is the header; blocks 1..=n are the group's blocks as cached (pinned).
    let mut area = BlockBuf::zeroed(n + 1);
    let bytes = area.bytes_mut();
    for (i, &home) in header.blocks[..n].iter().enumerate() {
        bytes[(i + 1) * BSIZE..(i + 2) * BSIZE].copy_from_slice(bio::read(home).data());
    }
    header.seal(&area.words()[LOG_WORDS_PER_BLOCK..]);
    header.encode(&mut area.bytes_mut()[..BSIZE]);
    // The commit point: header and log blocks complete on the disk.
    virtio_blk::write_all_lent(&[(start, area.bytes())]);
    balloc::group_committed();
    // The installs run on while the operations go on; the pins keep the homes cached (a
    // later group logging one of them pins it again) until `finish`.
    let writes = start_install(&header.blocks[..n], area, 1);
    *installing = Some(Installing { writes, homes: header.blocks, n });
    drop(installing);
    LOG.lock().header.n = 0;
}

/// Starts writing log block `i` to its home `homes[i]`, for every `i`: block `skip + i` of
/// `area`. Every request is in flight at once (one per run of blocks consecutive both at
/// home and in the log); the returned writes keep `area` until they complete.
fn start_install(homes: &[u32], area: BlockBuf, skip: usize) -> BlockWrites {
    let n = homes.len();
    let mut order = [0usize; LOGBLOCKS];
    for (i, slot) in order[..n].iter_mut().enumerate() {
        *slot = i;
    }
    let order = &mut order[..n];
    order.sort_unstable_by_key(|&i| homes[i]);
    let mut writes = [(0u32, 0usize, 0usize); LOGBLOCKS];
    let mut count = 0;
    let mut k = 0;
    while k < n {
        let first = order[k];
        let mut run = 1;
        while k + run < n && order[k + run] == first + run && homes[first + run] == homes[first] + run as u32
        {
            run += 1;
        }
        writes[count] = (homes[first], skip + first, run);
        count += 1;
        k += run;
    }
    BlockWrites::start(area, &writes[..count])
}

/// The installs of the last committed group, still in flight, and its homes (pinned in the
/// cache until the installs complete).
struct Installing {
    writes: BlockWrites,
    homes: [u32; LOGBLOCKS],
    n: usize,
}

impl Installing {
    /// Waits for the installs, then lets the cache drop the blocks.
    fn finish(self) {
        drop(self.writes.wait());
        for &home in &self.homes[..self.n] {
            bio::unpin(home);
        }
    }
}

/// The group whose installs may still be in flight. Its sleep lock is held by a commit from
/// before it waits for the previous group's installs until it has stored its own, and by
/// [`flush`]: so no one writes the log area before the installs of the group it holds are
/// complete, and `flush` never misses a group being committed.
static INSTALLING: SleepLock<Option<Installing>> = SleepLock::new("log installs", None);

/// Waits until the last committed group is installed (its home blocks hold it). For a clean
/// shutdown: the log's contents are durable either way, but the image is then clean without
/// a replay. Must be called from a process, outside any transaction.
pub fn flush() {
    let mut installing = INSTALLING.lock();
    if let Some(i) = installing.take() {
        i.finish();
    }
}
