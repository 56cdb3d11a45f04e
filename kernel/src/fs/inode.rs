//! In-memory inodes: the table of inodes in use, counted references ([`Inode`]), locking
//! ([`InodeGuard`]), and an inode's contents: block mapping (direct, singly-, doubly- and
//! triply-indirect: files up to `MAXFILE_BYTES`, a little over 16 GiB, with 64-bit sizes and
//! offsets), reading, writing, truncation, and the on-disk copy (`update`).
//!
//! An `Inode` is a reference: `clone` takes another, `drop` releases it. When the last
//! reference to an inode with no links goes away, the inode is queued and freed by the next
//! `end_op`: **drop an `Inode` only inside a transaction** (`log::begin_op`/`end_op`). A drop
//! needs no lock but the inode's own and may happen with others held.
//!
//! Freeing is crash-safe and bounded ([`free_orphan`]): the blocks go from the end of the
//! block tree, each transaction clearing both the pointers and their bitmap bits (at most
//! `MAXOPBLOCKS` logged blocks; a whole leaf table goes with its data blocks and only its
//! parent's entry cleared, so a transaction frees as many leaves as its bitmap blocks allow)
//! and shrinking the size to match; the inode itself (still
//! allocated with no links, so the orphan scan at mount finds it) is freed in the last one.
//! A crash at any point leaves a shorter consistent orphan that mount finishes freeing.
//! Truncation moves the block tree to a fresh inode with no links, in the caller's
//! transaction, and that inode is freed the same way.
//!
//! The table (`ITABLE`, a spinlock) guards which inodes are in memory and their reference
//! counts; an inode's sleep lock guards its contents (`InodeData`), which are read from disk
//! on first lock. This module must not know about directories' contents, paths or files.

use super::balloc::{self, Detached};
use super::filedata::Bytes;
use super::{bio, log, sb, ROOTDEV};
use crate::sync::{SleepLock, SleepLockGuard, SpinLock};
use crate::vm::pagecache::PageCache;
use abi::{Errno, Stat};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fsformat::{
    block_path, indirect_get, indirect_set, root_depth, root_first_block, subtree_blocks, DiskInode,
    SuperBlock, BSIZE, DINODE_SIZE, IPB, MAXFILE_BYTES, MAXOPBLOCKS, NADDRS, NDIRECT, NINDIRECT, ROOTINO,
    T_FILE, T_FREE,
};

/// An inode's contents, guarded by its sleep lock.
struct InodeData {
    /// Whether `di` has been read from disk.
    valid: bool,
    di: DiskInode,
}

struct InodeCore {
    inum: u32,
    data: SleepLock<InodeData>,
    /// The file's pages in memory (regular files only; empty for others). Lives and dies
    /// with the in-memory inode: see `vm::pagecache`.
    cache: PageCache,
}

struct Entry {
    core: Arc<InodeCore>,
    /// Live `Inode` values for this inode.
    refs: usize,
}

static ITABLE: SpinLock<BTreeMap<u32, Entry>> = SpinLock::new("itable", BTreeMap::new());

/// A counted reference to an in-memory inode (see the module docs for the drop rule).
pub struct Inode {
    core: Arc<InodeCore>,
}

/// Returns a reference to inode `inum`, without locking it or reading it from disk.
pub fn get(inum: u32) -> Inode {
    let mut table = ITABLE.lock();
    let entry = table.entry(inum).or_insert_with(|| Entry {
        core: Arc::new(InodeCore {
            inum,
            data: SleepLock::new("inode", InodeData { valid: false, di: DiskInode::default() }),
            cache: PageCache::new(0),
        }),
        refs: 0,
    });
    entry.refs += 1;
    Inode { core: entry.core.clone() }
}

/// Allocates a free on-disk inode, gives it type `typ` (everything else zero) and returns a
/// reference to it. Must run inside a transaction. `Err(NoSpc)` when every inode is in use.
pub fn alloc(typ: i16) -> Result<Inode, Errno> {
    let s = sb();
    let mut inum = 1;
    while inum < s.ninodes {
        let mut buf = bio::read(s.inode_block(inum));
        let block_end = ((inum / IPB as u32 + 1) * IPB as u32).min(s.ninodes);
        while inum < block_end {
            let o = SuperBlock::inode_offset(inum);
            let slot = &mut buf.data_mut()[o..o + DINODE_SIZE];
            if DiskInode::decode(slot).typ == T_FREE {
                DiskInode { typ, ..Default::default() }.encode(slot);
                log::log_write(&buf);
                drop(buf);
                return Ok(get(inum));
            }
            inum += 1;
        }
    }
    Err(Errno::NoSpc)
}

/// Frees inodes that are allocated on disk but have no links: files that were unlinked while
/// still open, or being freed, when the machine stopped. Only correct at mount, before any
/// file is open. Returns how many were freed. Each is freed progressively, as `free_orphan`
/// does, so a crash during this scan loses nothing either.
pub fn reclaim_orphans() -> usize {
    let s = sb();
    let mut freed = 0;
    for inum in ROOTINO + 1..s.ninodes {
        let orphan = {
            let buf = bio::read(s.inode_block(inum));
            let o = SuperBlock::inode_offset(inum);
            let di = DiskInode::decode(&buf.data()[o..o + DINODE_SIZE]);
            di.typ != T_FREE && di.nlink == 0
        };
        if orphan {
            free_orphan(inum);
            freed += 1;
        }
    }
    freed
}

/// Memory reclaim: drops the clean cached pages no one else references from the page cache
/// of every in-memory inode and returns how many were freed. Takes only spinlocks.
pub fn evict_unused_pages() -> usize {
    let cores: Vec<Arc<InodeCore>> = {
        let table = ITABLE.lock();
        let mut v = Vec::new();
        if v.try_reserve_exact(table.len()).is_err() {
            return 0; // the heap is exhausted too: nothing sensible to do here
        }
        v.extend(table.values().filter(|e| e.core.cache.len() > 0).map(|e| e.core.clone()));
        v
    };
    // An inode whose last reference went meanwhile is dropped here, with its cache.
    cores.iter().map(|c| c.cache.evict_unused()).sum()
}

/// Inodes with no links whose last reference went away, waiting for `end_op` to free them.
static ORPHANS: SpinLock<Vec<u32>> = SpinLock::new("orphans", Vec::new());

/// Frees the inodes queued by `Inode::drop`. Called by `log::end_op` outside any
/// transaction, with no inode lock held.
pub(super) fn free_queued_orphans() {
    loop {
        let Some(inum) = ORPHANS.lock().pop() else { return };
        free_orphan(inum);
    }
}

/// Frees inode `inum`, which has no links and no other reference (nothing can name it), in
/// transactions of its own: each frees blocks from the end of the tree ([`free_tail`]), the
/// last one the inode. Must run outside any transaction, holding no inode lock.
fn free_orphan(inum: u32) {
    let ip = get(inum);
    loop {
        log::begin_op();
        let done = {
            let mut g = ip.lock();
            let d = &mut *g.d;
            if d.di.typ == T_FREE || d.di.nlink != 0 {
                true
            } else if free_tail(inum, &mut d.di) {
                d.di = DiskInode::default();
                write_dinode(inum, &d.di);
                // Read again on next use: nothing can use it before it is allocated anew.
                d.valid = false;
                true
            } else {
                write_dinode(inum, &d.di);
                false
            }
        };
        log::end_op_only();
        if done {
            break;
        }
    }
    // Not a last reference to an unfreed orphan any more: this drop writes nothing.
    drop(ip);
}

/// The distinct blocks one freeing transaction may log: at most `MAXOPBLOCKS`, the inode's
/// own block counted from the start.
struct LogBudget {
    blocks: [u32; MAXOPBLOCKS],
    n: usize,
}

impl LogBudget {
    fn new(inode_block: u32) -> LogBudget {
        let mut blocks = [0; MAXOPBLOCKS];
        blocks[0] = inode_block;
        LogBudget { blocks, n: 1 }
    }

    /// Counts `more` (block numbers; `None` logs nothing) if they all fit, else counts none
    /// of them and returns false.
    fn take(&mut self, more: &[Option<u32>]) -> bool {
        let before = self.n;
        for &b in more.iter().flatten() {
            if self.blocks[..self.n].contains(&b) {
                continue;
            }
            if self.n == MAXOPBLOCKS {
                self.n = before;
                return false;
            }
            self.blocks[self.n] = b;
            self.n += 1;
        }
        true
    }
}

/// The bitmap block a free of `b` logs (`None` for an address `balloc::free` refuses).
fn bitmap_of(b: u32) -> Option<u32> {
    balloc::is_data_block(b).then(|| sb().bitmap_block(b))
}

/// Frees blocks of `di` from the end of its tree, clearing each pointer and its bitmap bit
/// in the current transaction, until the next block would exceed the transaction's
/// `MAXOPBLOCKS` log blocks; the size shrinks to end before the lowest block freed. Returns
/// whether every block is gone. The caller writes `di` (its block is already counted).
fn free_tail(inum: u32, di: &mut DiskInode) -> bool {
    let mut budget = LogBudget::new(sb().inode_block(inum));
    let mut lowest = usize::MAX;
    let all = (NDIRECT..NADDRS).rev().all(|root| free_root(di, root, &mut budget, &mut lowest))
        && free_direct(di, &mut budget, &mut lowest);
    if lowest != usize::MAX {
        di.size = di.size.min((lowest * BSIZE) as u64);
    }
    all
}

fn free_direct(di: &mut DiskInode, budget: &mut LogBudget, lowest: &mut usize) -> bool {
    for i in (0..NDIRECT).rev() {
        let b = di.addrs[i];
        if b == 0 {
            continue;
        }
        if !budget.take(&[bitmap_of(b)]) {
            return false;
        }
        balloc::free(b);
        di.addrs[i] = 0;
        *lowest = i;
    }
    true
}

/// Frees the indirect tree rooted at `addrs[root]` (`root >= NDIRECT`), its last blocks
/// first; returns whether all of it is gone.
fn free_root(di: &mut DiskInode, root: usize, budget: &mut LogBudget, lowest: &mut usize) -> bool {
    let top = di.addrs[root];
    if top == 0 {
        return true;
    }
    let (depth, first) = (root_depth(root), root_first_block(root));
    if balloc::is_data_block(top) && !free_subtree(top, depth, first, budget, lowest) {
        return false;
    }
    if !budget.take(&[bitmap_of(top)]) {
        return false;
    }
    balloc::free(top);
    di.addrs[root] = 0;
    true
}

/// Frees what indirect block `ind` (`depth` levels above the data, holding file blocks
/// `first..`) points at, last entry first, clearing the entries; returns whether all are
/// gone (`ind` itself stays for the caller to free).
fn free_subtree(ind: u32, depth: usize, first: usize, budget: &mut LogBudget, lowest: &mut usize) -> bool {
    if depth == 1 {
        return free_entries(ind, first, budget, lowest);
    }
    let span = subtree_blocks(depth - 1);
    for i in (0..NINDIRECT).rev() {
        let child = indirect_get(bio::read(ind).data(), i);
        if child == 0 {
            continue;
        }
        if depth == 2 && free_whole_leaf(ind, i, child, first + i * span, budget, lowest) {
            continue;
        }
        if balloc::is_data_block(child) && !free_subtree(child, depth - 1, first + i * span, budget, lowest) {
            return false;
        }
        if !budget.take(&[Some(ind), bitmap_of(child)]) {
            return false;
        }
        let mut buf = bio::read(ind);
        indirect_set(buf.data_mut(), i, 0);
        log::log_write(&buf);
        drop(buf);
        balloc::free(child);
    }
    true
}

/// Frees the leaf table `leaf` (entry `i` of `parent`, holding file blocks `first..`) and
/// every data block it names in one go, if the bitmap blocks that takes fit in `budget`
/// together with `parent`'s entry; returns false, changing nothing, if they do not (the
/// caller then frees the leaf entry by entry). The leaf itself is freed without being
/// cleared or logged: nothing names it once the parent's entry is cleared in the same
/// transaction, so its stale entries never matter. Without this, every leaf (256 blocks) would
/// take a log slot of its own, and a 4 GiB file thousands of commits more.
fn free_whole_leaf(
    parent: u32,
    i: usize,
    leaf: u32,
    first: usize,
    budget: &mut LogBudget,
    lowest: &mut usize,
) -> bool {
    if !balloc::is_data_block(leaf) {
        return false;
    }
    let entries: [u32; NINDIRECT] = {
        let buf = bio::read(leaf);
        core::array::from_fn(|j| indirect_get(buf.data(), j))
    };
    let before = budget.n;
    let fits = budget.take(&[Some(parent), bitmap_of(leaf)])
        && entries.iter().all(|&b| b == 0 || budget.take(&[bitmap_of(b)]));
    if !fits {
        budget.n = before;
        return false;
    }
    // No buffer is held here: each `balloc::free` locks only its bitmap block.
    for (j, &b) in entries.iter().enumerate().rev() {
        if b != 0 {
            balloc::free(b);
            *lowest = first + j;
        }
    }
    let mut buf = bio::read(parent);
    indirect_set(buf.data_mut(), i, 0);
    log::log_write(&buf);
    drop(buf);
    balloc::free(leaf);
    true
}

/// Frees the data blocks indirect block `ind` points at (file blocks `first..`), last entry
/// first, clearing the entries; returns whether all are gone.
fn free_entries(ind: u32, first: usize, budget: &mut LogBudget, lowest: &mut usize) -> bool {
    let mut buf = bio::read(ind);
    let mut changed = false;
    let mut all = true;
    for j in (0..NINDIRECT).rev() {
        let b = indirect_get(buf.data(), j);
        if b == 0 {
            continue;
        }
        if !budget.take(&[Some(ind), bitmap_of(b)]) {
            all = false;
            break;
        }
        // Lock order: the indirect block before the bitmap.
        balloc::free(b);
        indirect_set(buf.data_mut(), j, 0);
        changed = true;
        *lowest = first + j;
    }
    if changed {
        log::log_write(&buf);
    }
    all
}

impl Clone for Inode {
    fn clone(&self) -> Self {
        let mut table = ITABLE.lock();
        table.get_mut(&self.core.inum).expect("inode table lost an entry").refs += 1;
        Inode { core: self.core.clone() }
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        let inum = self.core.inum;
        let mut table = ITABLE.lock();
        if table.get(&inum).map(|e| e.refs) == Some(1) {
            // Ours is the only reference, so no one holds or waits for the sleep lock and
            // this does not sleep; no one can take a new reference to an unlinked inode
            // until its on-disk type is free.
            let d = self.core.data.lock();
            if d.valid && d.di.nlink == 0 && d.di.typ != T_FREE {
                // Still allocated with no links until `end_op` frees it: an orphan that
                // mount would finish freeing after a crash.
                ORPHANS.lock().push(inum);
            }
        }
        let entry = table.get_mut(&inum).expect("inode table lost an entry");
        entry.refs -= 1;
        if entry.refs == 0 {
            table.remove(&inum);
        }
    }
}

/// Empties the file: clears its block addresses and size on disk and queues the old blocks
/// for freeing by the next `end_op` (see `balloc`). Only for truncation when no inode is free
/// to take the blocks: a crash before they are freed leaks them.
fn detach_blocks(inum: u32, di: &mut DiskInode) {
    let mut roots = Vec::new();
    for (i, &a) in di.addrs.iter().enumerate() {
        if a != 0 {
            roots.push(Detached { block: a, depth: root_depth(i) });
        }
    }
    di.addrs = [0; NADDRS];
    di.size = 0;
    write_dinode(inum, di);
    balloc::free_later(roots);
}

/// Copies `di` to inode `inum`'s slot on disk (through the log).
fn write_dinode(inum: u32, di: &DiskInode) {
    let mut buf = bio::read(sb().inode_block(inum));
    let o = SuperBlock::inode_offset(inum);
    di.encode(&mut buf.data_mut()[o..o + DINODE_SIZE]);
    log::log_write(&buf);
}

impl Inode {
    /// The inode number.
    pub fn inum(&self) -> u32 {
        self.core.inum
    }

    /// The file's page cache (empty unless this is a regular file). Looking pages up needs
    /// no inode lock; filling them does (`InodeGuard::page`).
    pub fn cache(&self) -> &PageCache {
        &self.core.cache
    }

    /// Locks the inode (sleeping while another process holds it), reading it from disk on
    /// first use.
    pub fn lock(&self) -> InodeGuard<'_> {
        self.locked(self.core.data.lock())
    }

    /// Locks the inode if no one holds it (for paths that must not wait, like memory
    /// reclaim), reading it from disk on first use.
    pub fn try_lock(&self) -> Option<InodeGuard<'_>> {
        self.core.data.try_lock().map(|d| self.locked(d))
    }

    fn locked<'a>(&'a self, mut d: SleepLockGuard<'a, InodeData>) -> InodeGuard<'a> {
        if !d.valid {
            let buf = bio::read(sb().inode_block(self.core.inum));
            let o = SuperBlock::inode_offset(self.core.inum);
            d.di = DiskInode::decode(&buf.data()[o..o + DINODE_SIZE]);
            d.valid = true;
            self.core.cache.set_size(d.di.size);
        }
        InodeGuard { ip: self, d }
    }
}

/// A locked inode: its contents may be read and changed. Changes to the metadata reach the
/// disk with [`InodeGuard::update`]; `write` and `truncate` update by themselves.
pub struct InodeGuard<'a> {
    ip: &'a Inode,
    d: SleepLockGuard<'a, InodeData>,
}

impl InodeGuard<'_> {
    pub fn inum(&self) -> u32 {
        self.ip.core.inum
    }

    /// T_FILE, T_DIR or T_DEVICE (T_FREE only on a corrupt disk).
    pub fn file_type(&self) -> i16 {
        self.d.di.typ
    }

    pub fn nlink(&self) -> i16 {
        self.d.di.nlink
    }

    /// Sets the link count in memory; call `update` to write it.
    pub fn set_nlink(&mut self, n: i16) {
        self.d.di.nlink = n;
    }

    /// Sets a device's numbers in memory; call `update` to write them.
    pub fn set_device(&mut self, major: i16, minor: i16) {
        self.d.di.major = major;
        self.d.di.minor = minor;
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.d.di.size
    }

    /// What `update` writes that a file write can change: the size and the block roots.
    pub(super) fn write_snapshot(&self) -> (u64, [u32; NADDRS]) {
        (self.d.di.size, self.d.di.addrs)
    }

    /// Sets the size in memory and in the page cache's mirror; call `update` to write it.
    pub(super) fn set_size(&mut self, size: u64) {
        self.d.di.size = size;
        self.ip.core.cache.set_size(size);
    }

    /// The file's page cache.
    pub fn cache(&self) -> &PageCache {
        &self.ip.core.cache
    }

    pub fn major(&self) -> i16 {
        self.d.di.major
    }

    pub fn stat(&self) -> Stat {
        Stat {
            dev: ROOTDEV,
            ino: self.inum(),
            typ: self.d.di.typ,
            nlink: self.d.di.nlink,
            size: self.d.di.size,
        }
    }

    /// Writes the in-memory inode to disk. Must run inside a transaction.
    pub fn update(&mut self) {
        write_dinode(self.inum(), &self.d.di);
    }

    /// Frees the file's contents (size 0). Must run inside a transaction. The block tree moves,
    /// in this transaction, to a fresh inode with no links, which the end of the operation
    /// frees progressively (after a crash, mount does): so the file is empty and no block is
    /// lost whenever the machine stops. Logs at most two inode blocks.
    pub fn truncate(&mut self) {
        let inum = self.inum();
        if self.d.di.addrs.iter().all(|&a| a == 0) {
            self.d.di.size = 0;
            self.update();
        } else if let Ok(holder) = alloc(T_FILE) {
            {
                // A second inode lock, but of an inode no one else can reach yet.
                let mut h = holder.lock();
                h.d.di.addrs = self.d.di.addrs;
                h.d.di.size = self.d.di.size;
                h.update();
            }
            self.d.di.addrs = [0; NADDRS];
            self.d.di.size = 0;
            self.update();
            // The last reference to an inode with no links: queued for freeing.
            drop(holder);
        } else {
            detach_blocks(inum, &mut self.d.di);
        }
        // Cached pages go; those still mapped read as zeros from now on.
        self.ip.core.cache.truncate(0);
    }

    /// Reads up to `dst.len()` bytes at `off` into a kernel buffer; returns the count (0 at or
    /// past the end). Holes read as zeros. Regular files are read through their page cache,
    /// directories through the buffer cache.
    pub fn read(&mut self, off: u64, dst: &mut [u8]) -> Result<usize, Errno> {
        let size = self.d.di.size;
        if off >= size {
            return Ok(0);
        }
        let n = (size - off).min(dst.len() as u64) as usize;
        let dst = &mut dst[..n];
        if self.file_type() == abi::T_FILE {
            return self.read_file(off, dst);
        }
        self.read_meta(off, dst)
    }

    /// `read` of a directory (or other metadata) through the buffer cache; `dst` ends at most
    /// at the end of the file.
    fn read_meta(&mut self, off: u64, dst: &mut [u8]) -> Result<usize, Errno> {
        let n = dst.len();
        let mut done = 0;
        while done < n {
            let pos = off as usize + done;
            let (bn, boff) = (pos / BSIZE, pos % BSIZE);
            let m = (BSIZE - boff).min(n - done);
            let piece = &mut dst[done..done + m];
            match self.lookup_block(bn) {
                Ok(Some(b)) => piece.copy_from_slice(&bio::read(b).data()[boff..boff + m]),
                Ok(None) => piece.fill(0),
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            done += m;
        }
        Ok(done)
    }

    /// Writes `src` at `off` (which may be at most the size), growing the file and allocating
    /// blocks as needed. Must run inside a transaction. Returns the count written, which is
    /// short when the operation's share of the log runs out (the caller continues in a new
    /// transaction; the first block is always written), the disk is full or the file reaches
    /// `MAXFILE_BYTES`; an error when nothing could be written (`NoSpc` at the largest size).
    /// Regular files are written through their page cache (`filedata`: data in place,
    /// metadata logged), directories through the buffer cache and the log.
    pub fn write(&mut self, off: u64, src: &[u8]) -> Result<usize, Errno> {
        self.write_from(off, Bytes::Kernel(src))
    }

    /// `write` from `src`, which may be pinned user memory (`write()` of a regular file,
    /// `fs::file`): only a regular file takes that [Inval otherwise].
    pub fn write_from(&mut self, off: u64, src: Bytes<'_>) -> Result<usize, Errno> {
        if off > self.d.di.size {
            return Err(Errno::Inval);
        }
        let end = off.saturating_add(src.len() as u64).min(MAXFILE_BYTES);
        if end <= off {
            return if src.is_empty() { Ok(0) } else { Err(Errno::NoSpc) };
        }
        let src = src.prefix((end - off) as usize);
        if self.file_type() == abi::T_FILE {
            return self.write_file(off, src);
        }
        match src {
            Bytes::Kernel(s) => self.write_meta(off, s),
            Bytes::User { .. } => Err(Errno::Inval),
        }
    }

    /// `write` of a directory (or other metadata) through the buffer cache and the log; `src`
    /// starts at most at the end of the file and fits below `MAXFILE_BYTES`.
    fn write_meta(&mut self, off: u64, src: &[u8]) -> Result<usize, Errno> {
        let n = src.len();
        let mut done = 0;
        let mut failure = None;
        while done < n {
            let pos = off as usize + done;
            let (bn, boff) = (pos / BSIZE, pos % BSIZE);
            let m = (BSIZE - boff).min(n - done);
            // Room for this block's worst case plus the final inode update.
            if done > 0 && self.write_cost(bn).map_or(true, |c| c + 1 > log::op_room()) {
                break;
            }
            let b = match self.map_block(bn) {
                Ok(b) => b,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let mut buf = if m == BSIZE { bio::read_for_overwrite(b) } else { bio::read(b) };
            buf.data_mut()[boff..boff + m].copy_from_slice(&src[done..done + m]);
            log::log_write(&buf);
            done += m;
        }
        let new_end = off + done as u64;
        if new_end > self.d.di.size {
            self.d.di.size = new_end;
        }
        // Even a failed write may have allocated indirect blocks: record them.
        self.update();
        match failure {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// Reads file blocks `first .. first + n` (at most 128) straight from the disk, for the
    /// page cache: `put(k, bytes)` receives block `first + k` (holes and blocks past the
    /// largest file are skipped: the caller's buffer stays as it was, zeros). One request per
    /// run of consecutive disk blocks. File data never passes through the buffer cache, so
    /// the disk holds the newest bytes of every block not in the page cache. The inode lock
    /// held by the guard keeps writers of the file out meanwhile. `put` runs with a spinlock
    /// held: it must only copy.
    ///
    /// # Panics
    /// If `n` is more than 128 (a kernel bug: the page cache reads at most 32 pages at once).
    pub fn read_direct(
        &self,
        first: usize,
        n: usize,
        mut put: impl FnMut(usize, &[u8; BSIZE]),
    ) -> Result<(), Errno> {
        assert!(n <= 128, "read_direct: {n} blocks at once");
        let mut disk = [0u32; 128];
        let disk = &mut disk[..n];
        self.lookup_blocks(first, disk)?;
        let from_disk = |k: usize| disk[k] != 0;
        let mut k = 0;
        while k < n {
            if !from_disk(k) {
                k += 1;
                continue;
            }
            let mut run = 1;
            while k + run < n && from_disk(k + run) && disk[k + run] == disk[k] + run as u32 {
                run += 1;
            }
            crate::drivers::virtio_blk::read_run(disk[k], run, |j, bytes| put(k + j, bytes));
            k += run;
        }
        Ok(())
    }

    /// The disk blocks holding file blocks `first`, `first + 1`, ...: `out[k]` for block
    /// `first + k`, 0 for a hole or a block past the largest file. The tables above a leaf
    /// are walked once per leaf (once per 256 blocks), and the entries of a leaf are read in
    /// one hold of its buffer, with the data area's bounds read once per call: a run of
    /// blocks costs a few instructions per block (the cold read and write-back paths look up
    /// every block they move).
    pub(super) fn lookup_blocks(&self, first: usize, out: &mut [u32]) -> Result<(), Errno> {
        let s = sb();
        let (lo, hi) = (s.data_start(), s.size);
        // As `checked`, 0 for a hole.
        let valid = |a: u32| if a == 0 || (lo..hi).contains(&a) { Ok(a) } else { Err(Errno::Io) };
        let mut k = 0;
        while k < out.len() {
            let Some(path) = block_path(first + k) else {
                out[k..].fill(0); // past the largest file, and so is the rest
                break;
            };
            let Some((&j, upper)) = path.indices().split_last() else {
                out[k] = valid(self.d.di.addrs[path.root])?;
                k += 1;
                continue;
            };
            // The rest of this leaf's entries that the call wants.
            let n = (NINDIRECT - j).min(out.len() - k);
            let part = &mut out[k..k + n];
            match self.walk_tables(path.root, upper)? {
                None => part.fill(0),
                Some(table) => {
                    let buf = bio::read(table);
                    for (i, slot) in part.iter_mut().enumerate() {
                        *slot = valid(indirect_get(buf.data(), j + i))?;
                    }
                }
            }
            k += n;
        }
        Ok(())
    }

    /// Follows `addrs[root]` through the entries `indices` of successive indirect blocks;
    /// returns the block reached, `None` where an address is 0.
    fn walk_tables(&self, root: usize, indices: &[usize]) -> Result<Option<u32>, Errno> {
        let Some(mut b) = checked(self.d.di.addrs[root])? else { return Ok(None) };
        for &i in indices {
            match checked(indirect_get(bio::read(b).data(), i))? {
                Some(next) => b = next,
                None => return Ok(None),
            }
        }
        Ok(Some(b))
    }

    /// The disk block holding file block `bn`, or `None` for a hole.
    fn lookup_block(&self, bn: usize) -> Result<Option<u32>, Errno> {
        match block_path(bn) {
            None => Ok(None),
            Some(path) => self.walk_tables(path.root, path.indices()),
        }
    }

    /// The most log slots writing file block `bn` may take: the data block, plus for each
    /// block to allocate the block and its bitmap block, plus the indirect block whose entry
    /// would be set (the inode itself is not counted).
    pub(super) fn write_cost(&self, bn: usize) -> Result<usize, Errno> {
        const NEW: usize = 2;
        let path = block_path(bn).ok_or(Errno::NoSpc)?;
        let Some(mut b) = checked(self.d.di.addrs[path.root])? else {
            // The root and every level below it are new.
            return Ok((path.depth + 1) * NEW);
        };
        for (level, &i) in path.indices().iter().enumerate() {
            match checked(indirect_get(bio::read(b).data(), i))? {
                Some(next) => b = next,
                // This table's entry is set, and the levels below it (data included) are new.
                None => return Ok(1 + (path.depth - level) * NEW),
            }
        }
        Ok(1)
    }

    /// The disk block holding file block `bn`, allocating it (and indirect blocks on the way)
    /// if needed. Must run inside a transaction.
    fn map_block(&mut self, bn: usize) -> Result<u32, Errno> {
        self.map_block_with(bn, balloc::alloc)
    }

    /// `map_block`, with the data block itself (not indirect blocks) allocated by `alloc`.
    pub(super) fn map_block_with(
        &mut self,
        bn: usize,
        alloc: fn() -> Result<u32, Errno>,
    ) -> Result<u32, Errno> {
        let path = block_path(bn).ok_or(Errno::NoSpc)?;
        let Some((&last, upper)) = path.indices().split_last() else {
            return self.map_root(path.root, alloc);
        };
        let mut table = self.map_root(path.root, balloc::alloc)?;
        for &i in upper {
            table = map_entry(table, i, balloc::alloc)?;
        }
        map_entry(table, last, alloc)
    }

    /// `addrs[i]`, allocated by `alloc` if zero (the caller updates the inode).
    fn map_root(&mut self, i: usize, alloc: fn() -> Result<u32, Errno>) -> Result<u32, Errno> {
        let a = self.d.di.addrs[i];
        if a != 0 {
            return checked(a)?.ok_or(Errno::Io);
        }
        let b = alloc()?;
        self.d.di.addrs[i] = b;
        Ok(b)
    }
}

/// Entry `i` of indirect block `ind`, allocated by `alloc` (and the entry logged) if zero.
fn map_entry(ind: u32, i: usize, alloc: fn() -> Result<u32, Errno>) -> Result<u32, Errno> {
    let mut buf = bio::read(ind);
    let a = indirect_get(buf.data(), i);
    if a != 0 {
        return checked(a)?.ok_or(Errno::Io);
    }
    let b = alloc()?;
    indirect_set(buf.data_mut(), i, b);
    log::log_write(&buf);
    Ok(b)
}

/// A block address read from disk: `None` for 0, an error if it points outside the data
/// area (a corrupt disk must not make the kernel touch metadata or nonexistent blocks).
fn checked(a: u32) -> Result<Option<u32>, Errno> {
    match a {
        0 => Ok(None),
        a if balloc::is_data_block(a) => Ok(Some(a)),
        _ => Err(Errno::Io),
    }
}
