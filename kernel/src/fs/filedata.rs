//! The data of regular files, through the page cache the in-memory inode owns
//! (`vm::pagecache`). `read`, `write`, `exec` and the fault handler all use these pages; the
//! buffer cache never holds file data (only metadata: inodes, directories, bitmaps, indirect
//! blocks, and the log).
//!
//! Reading: a page missing from the cache is read straight from the disk into a fresh frame,
//! together with the absent pages that follow it up to the caller's window (readahead), one
//! disk request per run of consecutive disk blocks. The readahead frames are not zeroed
//! first: every byte is written, from the disk or as zeros (holes, past end-of-file).
//!
//! Writing is *ordered*, as ext3/ext4's default mode: the bytes go into the cache page, and
//! the file blocks they touch are written in place, directly from the page, before the
//! transaction that allocates them or changes the size commits (a `write` starts the
//! requests of all its pages, one per run of consecutive blocks in a page, and waits for
//! them together before it returns). Only metadata (bitmap,
//! indirect blocks, the inode) goes through the log, so data is written once. After a crash
//! a file holds, per block, its old or its new bytes, never another file's; a block freed by
//! a transaction that has not committed is not reused before it does (`balloc`), so new data
//! never lands in a block that a crash would give back to its old file.
//!
//! A `write` takes its bytes from a kernel buffer or, in the common case, straight from the
//! user's frames, pinned by the caller before the inode lock ([`Bytes::User`]): one copy into
//! the cache page, with nothing that can fault. When a page to be written is itself one of
//! those frames (the buffer is a mapping of the same file), the write stops before it, so no
//! source byte changes before it is read, and the caller writes the rest from a copy.
//!
//! Write-back of dirty mapped pages goes in batches (`Inode::write_back_pages`): one request
//! per run of consecutive disk blocks across the batch's pages, all in flight at once.
//!
//! Every function here runs with the inode locked (an `InodeGuard`), which serializes fills,
//! writes and size changes of the file; the cache's own spinlock covers lookups.

use super::inode::{Inode, InodeGuard};
use super::{balloc, log};
use crate::drivers::virtio_blk;
use crate::mm::uaccess::UserPages;
use crate::mm::{frame, page, PhysAddr, PGSIZE};
use crate::vm::pagecache::MAX_READAHEAD;
use crate::vm::reclaim::alloc_frame;
use abi::Errno;
use alloc::vec::Vec;
use fsformat::BSIZE;

/// File blocks per page.
const BLOCKS_PER_PAGE: usize = PGSIZE / BSIZE;

// `read_pages` tracks the blocks of one fill in a `u128`.
const _: () = assert!(MAX_READAHEAD as usize * BLOCKS_PER_PAGE <= 128);

/// The bytes a write stores: a kernel buffer, or the first `len` bytes of a range of user
/// memory the caller pinned (`UserPages::pin_in`), copied from its frames into the cache pages.
#[derive(Clone, Copy)]
pub enum Bytes<'a> {
    Kernel(&'a [u8]),
    User { pages: &'a UserPages, len: usize },
}

impl<'a> Bytes<'a> {
    /// The number of bytes.
    pub fn len(&self) -> usize {
        match self {
            Bytes::Kernel(s) => s.len(),
            Bytes::User { len, .. } => *len,
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `len` bytes (all of them when there are fewer).
    pub fn prefix(self, len: usize) -> Bytes<'a> {
        match self {
            Bytes::Kernel(s) => Bytes::Kernel(&s[..len.min(s.len())]),
            Bytes::User { pages, len: all } => Bytes::User { pages, len: len.min(all) },
        }
    }

    /// Whether a store into frame `pa` could change these bytes.
    fn holds(&self, pa: PhysAddr) -> bool {
        match self {
            Bytes::Kernel(_) => false,
            Bytes::User { pages, .. } => pages.holds(pa),
        }
    }

    /// Copies bytes [from, from + len) into frame `pa` at byte `at` (inside the page).
    fn copy_to_page(&self, from: usize, pa: PhysAddr, at: usize, len: usize) {
        match self {
            Bytes::Kernel(s) => page::write(pa, at, &s[from..from + len]),
            Bytes::User { pages, .. } => pages.copy_to_frame(from, pa, at, len),
        }
    }
}

impl InodeGuard<'_> {
    /// The page at `index` of this regular file, with a frame reference for the caller: from
    /// the cache, or read from the disk together with up to `window - 1` following pages
    /// that are not cached either (readahead stops quietly where memory runs out). Fails for
    /// a page wholly past end-of-file [Fault], or when not even the first page can be
    /// allocated [NoMem].
    pub fn page(&self, index: u64, window: u64) -> Result<PhysAddr, Errno> {
        let cache = self.cache();
        if let Some(pa) = cache.lookup(index) {
            return Ok(pa);
        }
        let size = self.size();
        let file_pages = size.div_ceil(PGSIZE as u64);
        if index >= file_pages {
            return Err(Errno::Fault);
        }
        let end = index + window.clamp(1, MAX_READAHEAD).min(file_pages - index);
        let count = cache.absent_run(index, end) as usize;
        let mut frames: Vec<PhysAddr> = Vec::new();
        if frames.try_reserve_exact(count).is_err() {
            return Err(Errno::NoMem);
        }
        // The first page may evict unused cached pages to make room; readahead never does.
        // The readahead pages are not zeroed: `read_pages` writes every byte of them.
        if let Some(pa) = alloc_frame() {
            frames.push(pa);
        }
        while frames.len() < count {
            match frame::alloc_for_overwrite() {
                Some(pa) => frames.push(pa),
                None => break,
            }
        }
        if frames.is_empty() {
            return Err(Errno::NoMem);
        }
        if let Err(e) = self.read_pages(index, &frames, size) {
            for pa in frames {
                frame::free(pa);
            }
            return Err(e);
        }
        Ok(cache.insert_run(index, &frames))
    }

    /// Fills the fresh pages `frames[k]` (at most `MAX_READAHEAD`; their old bytes may be
    /// anything) with page `first + k` of the file, whose size is `size`, writing every byte:
    /// holes and bytes past end-of-file read as zeros.
    fn read_pages(&self, first: u64, frames: &[PhysAddr], size: u64) -> Result<(), Errno> {
        let first_block = first as usize * BLOCKS_PER_PAGE;
        let file_blocks = size.div_ceil(BSIZE as u64) as usize;
        let nblocks = (frames.len() * BLOCKS_PER_PAGE).min(file_blocks - first_block);
        let mut filled = 0u128; // bit k: block k of the run came from the disk
        self.read_direct(first_block, nblocks, |k, bytes| {
            // Block k of the run lands in page k / 4 at (k % 4) * BSIZE.
            page::write(frames[k / BLOCKS_PER_PAGE], (k % BLOCKS_PER_PAGE) * BSIZE, bytes);
            filled |= 1 << k;
        })?;
        for k in (0..frames.len() * BLOCKS_PER_PAGE).filter(|&k| filled & (1 << k) == 0) {
            // A hole, or a block past end-of-file.
            page::write(frames[k / BLOCKS_PER_PAGE], (k % BLOCKS_PER_PAGE) * BSIZE, &[0; BSIZE]);
        }
        // The last block may hold stale bytes past end-of-file: readers must see zeros.
        let tail = size as usize % PGSIZE;
        let last = (size.div_ceil(PGSIZE as u64) - 1).checked_sub(first).map(|i| i as usize);
        if let Some(&pa) = last.filter(|_| tail != 0).and_then(|i| frames.get(i)) {
            page::zero_from(pa, tail);
        }
        Ok(())
    }

    /// Reads `dst.len()` bytes at `off` (which `InodeGuard::read` keeps inside the file) into
    /// a kernel buffer through the cache; returns the count. For `exec` and other kernel
    /// readers; `read()` copies straight from the cache pages to user memory instead
    /// (`fs::file`).
    pub(super) fn read_file(&self, off: u64, dst: &mut [u8]) -> Result<usize, Errno> {
        let n = dst.len();
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let (index, at) = (pos / PGSIZE as u64, (pos % PGSIZE as u64) as usize);
            let m = (PGSIZE - at).min(n - done);
            let window = (n - done).div_ceil(PGSIZE) as u64;
            let pa = match self.page(index, window) {
                Ok(pa) => pa,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            page::read(pa, at, &mut dst[done..done + m]);
            frame::free(pa);
            done += m;
        }
        Ok(done)
    }

    /// Writes `src` at `off` (at most the size) through the cache, growing the file and
    /// allocating blocks as needed. Must run inside a transaction. The data blocks touched go
    /// to the disk before this returns (ordered data, see the module docs); metadata is
    /// logged. Returns the count written, which is short when the operation's share of the
    /// log runs out (the caller continues in a new transaction; the first block is always
    /// written), the disk is full or the file reaches `MAXFILE_BYTES`; an error when nothing
    /// could be written. The count is also short, possibly 0, when a page to write holds
    /// bytes of `src` (see the module docs).
    /// `src` starts at most at the end of the file and ends at most at `MAXFILE_BYTES`
    /// (`InodeGuard::write` checks). Offsets are 64-bit: positions are `usize` here, which
    /// is 64-bit on this kernel's only target.
    pub(super) fn write_file(&mut self, off: u64, src: Bytes<'_>) -> Result<usize, Errno> {
        let n = src.len();
        let mut done = 0;
        let mut failure = None;
        let before = self.write_snapshot();
        let mut in_flight = InFlight::new();
        // Whether the operation is known to have a log slot left for the inode's update,
        // with nothing logged since it was checked (blocks already allocated log nothing).
        let mut room_for_inode = false;
        while done < n {
            let pos = off as usize + done;
            let (index, at) = (pos / PGSIZE, pos % PGSIZE);
            let want = (PGSIZE - at).min(n - done);
            // The page, if cached (the inode lock keeps it there until `page_for_write`). A
            // page holding bytes of the source is not written: stop before it.
            let cached = self.cache().lookup(index as u64);
            if let Some(pa) = cached.filter(|&pa| src.holds(pa)) {
                frame::free(pa);
                break;
            }
            // Allocate the blocks this piece touches, one by one while the log has room.
            let first_bn = pos / BSIZE;
            let last_bn = (pos + want - 1) / BSIZE;
            let mut disk = [0u32; BLOCKS_PER_PAGE];
            let mut mapped = 0;
            // The blocks already allocated, looked up together (0: one to allocate).
            let mut found = [0u32; BLOCKS_PER_PAGE];
            if let Err(e) = self.lookup_blocks(first_bn, &mut found[..=last_bn - first_bn]) {
                failure = Some(e);
                if let Some(pa) = cached {
                    frame::free(pa);
                }
                break;
            }
            for (bn, &existing) in (first_bn..=last_bn).zip(&found) {
                let first_of_op = done == 0 && mapped == 0;
                // A block already allocated (an overwrite) needs no allocation and logs
                // nothing; like every block, it needs the slot of the inode's update.
                if existing != 0 {
                    if !first_of_op && !room_for_inode {
                        if log::op_room() == 0 {
                            break;
                        }
                        room_for_inode = true;
                    }
                    disk[mapped] = existing;
                    mapped += 1;
                    continue;
                }
                // `write_cost` counts the data block itself, which is not logged here: that slot
                // is the inode update's. In a leaf table that exists it is the entry, the block
                // and its bitmap block (`write_cost`'s answer, without its walk). The block
                // mapped just before this one, if any, went through this block's leaf when
                // they share it, so the leaf exists.
                let cost = match leaf_of(bn) {
                    Some(l) if mapped > 0 && l.1 > 0 && leaf_of(bn - 1) == Some(l) => Ok(3),
                    _ => self.write_cost(bn),
                };
                if !first_of_op && cost.map_or(true, |c| c > log::op_room()) {
                    break;
                }
                room_for_inode = false;
                match self.map_data_block(bn) {
                    Ok(b) => disk[mapped] = b,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
                mapped += 1;
            }
            if mapped == 0 {
                if let Some(pa) = cached {
                    frame::free(pa);
                }
                break;
            }
            let covered = want.min((first_bn + mapped) * BSIZE - pos);
            let pa = match self.page_for_write(index as u64, at, covered, cached) {
                Ok(pa) => pa,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            src.copy_to_page(done, pa, at, covered);
            let first_in_page = first_bn - index * BLOCKS_PER_PAGE;
            // The frame reference is kept until its writes complete.
            in_flight.add_page(pa, first_in_page, &disk[..mapped]);
            done += covered;
            if (pos + covered) as u64 > self.size() {
                self.set_size((pos + covered) as u64);
            }
            if covered < want {
                break; // out of log room or disk space
            }
        }
        // The data is on the disk before the transaction can commit (and before `write`
        // returns): every block of every page was in flight at once.
        in_flight.wait();
        // Even a failed write may have allocated blocks: record them. An overwrite inside the
        // file changes nothing in the inode, so it logs nothing at all.
        if self.write_snapshot() != before {
            self.update();
        }
        match failure {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// The page at `index` for a write of `len` bytes at byte `at` of it, with a frame
    /// reference: the cached page (`cached`, when the caller looked it up already, with a
    /// reference this takes over); or, when the write leaves none of the page's bytes inside
    /// the file untouched, a fresh zeroed page (nothing to read); else the page read from the
    /// disk.
    fn page_for_write(
        &self,
        index: u64,
        at: usize,
        len: usize,
        cached: Option<PhysAddr>,
    ) -> Result<PhysAddr, Errno> {
        let cache = self.cache();
        if let Some(pa) = cached.or_else(|| cache.lookup(index)) {
            return Ok(pa);
        }
        let page_start = index as usize * PGSIZE;
        let live = (self.size() as usize).saturating_sub(page_start).min(PGSIZE);
        if live == 0 || (at == 0 && len >= live) {
            let pa = alloc_frame().ok_or(Errno::NoMem)?;
            return Ok(cache.insert_run(index, &[pa]));
        }
        self.page(index, 1)
    }

    /// Writes the blocks of page `index` before end-of-file from frame `pa` in place, if
    /// they are all allocated; returns false (writing nothing) when the page has a hole.
    fn write_back_in_place(&self, index: u64, pa: PhysAddr) -> Result<bool, Errno> {
        let nblocks = self.live_blocks(index);
        let mut disk = [0u32; BLOCKS_PER_PAGE];
        self.lookup_blocks(index as usize * BLOCKS_PER_PAGE, &mut disk[..nblocks])?;
        if disk[..nblocks].contains(&0) {
            return Ok(false);
        }
        write_blocks(pa, 0, &disk[..nblocks]);
        Ok(true)
    }

    /// Like `write_back_in_place`, allocating the missing blocks. Must run inside a
    /// transaction (at most 4 data blocks and their indirect blocks: within one operation's
    /// share of the log).
    fn write_back_allocating(&mut self, index: u64, pa: PhysAddr) -> Result<(), Errno> {
        let nblocks = self.live_blocks(index);
        let first_bn = index as usize * BLOCKS_PER_PAGE;
        let mut disk = [0u32; BLOCKS_PER_PAGE];
        let mut r = Ok(());
        for (k, slot) in disk[..nblocks].iter_mut().enumerate() {
            match self.map_data_block(first_bn + k) {
                Ok(b) => *slot = b,
                Err(e) => {
                    r = Err(e);
                    break;
                }
            }
        }
        self.update();
        r?;
        write_blocks(pa, 0, &disk[..nblocks]);
        Ok(())
    }

    /// The number of blocks of page `index` that lie (at least partly) before end-of-file.
    fn live_blocks(&self, index: u64) -> usize {
        let page_start = index as usize * PGSIZE;
        (self.size() as usize).saturating_sub(page_start).min(PGSIZE).div_ceil(BSIZE)
    }

    /// The disk block holding file block `bn` of a regular file, allocated if needed (not
    /// zeroed: the caller writes all of it from a page). Must run inside a transaction.
    fn map_data_block(&mut self, bn: usize) -> Result<u32, Errno> {
        self.map_block_with(bn, balloc::alloc_data)
    }
}

impl Inode {
    /// Writes page `index` of this regular file, held in frame `pa`, back to the disk: the
    /// blocks before end-of-file (write-back never grows a file), in place. Blocks not yet
    /// allocated (holes) are allocated in a transaction of its own, so the caller must not
    /// be inside one and must not hold this inode's lock.
    pub fn write_back_page(&self, index: u64, pa: PhysAddr) -> Result<(), Errno> {
        if self.lock().write_back_in_place(index, pa)? {
            return Ok(());
        }
        log::begin_op();
        let r = self.lock().write_back_allocating(index, pa);
        log::end_op();
        r
    }
}

/// The most pages `Inode::write_back_pages` takes at once: their blocks fit in one request
/// of the disk's largest size (`virtio_blk::MAX_RUN` blocks), and their lookup in one table
/// on the stack.
pub const WRITE_BACK_BATCH: usize = virtio_blk::MAX_RUN / BLOCKS_PER_PAGE;

/// One block of a write-back: the disk block, the frame holding it and the block's index in
/// that page.
#[derive(Clone, Copy)]
struct BlockSource {
    disk: u32,
    pa: PhysAddr,
    in_page: usize,
}

impl Inode {
    /// Writes the pages `pages` of this regular file (each `(index, frame)`, by increasing
    /// index, at most `WRITE_BACK_BATCH`) back to the disk, each as `write_back_page` does,
    /// in one pass: under one hold of the inode lock the blocks of every page are looked up,
    /// and the pages whose blocks are all allocated are written with one request per run of
    /// consecutive disk blocks, across pages (a run inside one page is written from the
    /// frame itself, a longer one through a kernel buffer), all in flight at once and waited
    /// for together. A page with a hole is then written by `write_back_page`, in a
    /// transaction of its own. Calls `failed(index)` for every page not written (and returns
    /// only when every write has completed). The caller holds a reference to each frame, is
    /// not inside a transaction and does not hold this inode's lock.
    ///
    /// # Panics
    /// If `pages` holds more than `WRITE_BACK_BATCH` pages (a kernel bug).
    pub fn write_back_pages(&self, pages: &[(u64, PhysAddr)], mut failed: impl FnMut(u64)) {
        assert!(pages.len() <= WRITE_BACK_BATCH, "write_back_pages: {} pages", pages.len());
        let mut blocks: Vec<BlockSource> = Vec::new();
        if blocks.try_reserve_exact(pages.len() * BLOCKS_PER_PAGE).is_err() {
            // No memory for the plan: one page at a time, as reclaim would.
            for &(index, pa) in pages {
                if self.write_back_page(index, pa).is_err() {
                    failed(index);
                }
            }
            return;
        }
        let mut holes = 0u64; // bit k: pages[k] has a hole
        {
            let g = self.lock();
            let mut k = 0;
            while k < pages.len() {
                // A group of consecutive pages is looked up in one call.
                let first = pages[k].0;
                let mut n = 1;
                while k + n < pages.len() && pages[k + n].0 == first + n as u64 {
                    n += 1;
                }
                let mut disk = [0u32; WRITE_BACK_BATCH * BLOCKS_PER_PAGE];
                let disk = &mut disk[..n * BLOCKS_PER_PAGE];
                let found = g.lookup_blocks(first as usize * BLOCKS_PER_PAGE, disk);
                for (j, &(index, pa)) in pages[k..k + n].iter().enumerate() {
                    let live = &disk[j * BLOCKS_PER_PAGE..][..g.live_blocks(index)];
                    if found.is_err() {
                        failed(index);
                    } else if live.contains(&0) {
                        holes |= 1 << (k + j);
                    } else {
                        let sources = live.iter().enumerate();
                        blocks.extend(sources.map(|(b, &d)| BlockSource { disk: d, pa, in_page: b }));
                    }
                }
                k += n;
            }
            virtio_blk::wait_all(start_block_runs(&blocks));
        }
        for (k, &(index, pa)) in pages.iter().enumerate() {
            if holes & (1 << k) != 0 && self.write_back_page(index, pa).is_err() {
                failed(index);
            }
        }
    }
}

/// Starts the writes of `blocks` (at most `virtio_blk::MAX_RUN`), one request per run of
/// consecutive disk blocks: from the frame itself when the run lies in one page, else
/// through a kernel buffer holding a copy of the run (or, when the heap cannot spare one
/// without touching the reserve kept for the kernel, one request per page of the run).
/// Returns the tickets; the caller keeps its frame references until it has waited for them.
fn start_block_runs(blocks: &[BlockSource]) -> Vec<virtio_blk::Ticket> {
    let mut tickets = Vec::new();
    let mut k = 0;
    while k < blocks.len() {
        let first = blocks[k];
        let mut run = 1;
        while k + run < blocks.len() && blocks[k + run].disk == first.disk + run as u32 {
            run += 1;
        }
        let sources = &blocks[k..k + run];
        if sources.iter().all(|b| b.pa == first.pa) {
            tickets.push(virtio_blk::start_write_frame(first.disk, first.pa, first.in_page * BSIZE, run));
        } else if let Some(buf) = copy_run(sources) {
            tickets.push(virtio_blk::start_write(first.disk, buf));
        } else {
            // Page by page, each piece from its frame.
            let mut j = 0;
            while j < run {
                let piece = sources[j..].iter().take_while(|b| b.pa == sources[j].pa).count();
                let b = sources[j];
                tickets.push(virtio_blk::start_write_frame(b.disk, b.pa, b.in_page * BSIZE, piece));
                j += piece;
            }
        }
        k += run;
    }
    tickets
}

/// A kernel buffer holding the bytes of the blocks `sources`, in order; `None` when the heap
/// cannot spare it.
fn copy_run(sources: &[BlockSource]) -> Option<alloc::boxed::Box<[u8]>> {
    let len = sources.len() * BSIZE;
    let mut buf: Vec<u8> = Vec::new();
    if !crate::mm::heap::has_room_for_user(len) || buf.try_reserve_exact(len).is_err() {
        return None;
    }
    for b in sources {
        page::append_to(b.pa, b.in_page * BSIZE, BSIZE, &mut buf);
    }
    Some(buf.into_boxed_slice())
}

impl Inode {
    /// For memory reclaim, which must not wait for a lock or start a transaction (the
    /// faulting process may hold either): writes page `index` from `pa` back in place if the
    /// inode is not locked and every block of the page is allocated. Returns whether it did.
    pub fn try_write_back_page(&self, index: u64, pa: PhysAddr) -> bool {
        self.try_lock().is_some_and(|g| matches!(g.write_back_in_place(index, pa), Ok(true)))
    }
}

/// The leaf table holding the address of file block `bn`, as (root slot, depth, the entries
/// above it): equal for two blocks exactly when one table holds both (depth 0: the inode).
fn leaf_of(bn: usize) -> Option<(usize, usize, [usize; 2])> {
    let path = fsformat::block_path(bn)?;
    let upper = path.indices().split_last().map_or(&[][..], |(_, upper)| upper);
    let mut key = [0; 2];
    key[..upper.len()].copy_from_slice(upper);
    Some((path.root, path.depth, key))
}

/// Writes the disk blocks `disk[k]` from the page `pa`, block `first + k` of the page each,
/// one request per run of consecutive disk blocks, and waits for them.
fn write_blocks(pa: PhysAddr, first: usize, disk: &[u32]) {
    let mut tickets = Vec::new();
    start_writes(pa, first, disk, |t| tickets.push(t));
    virtio_blk::wait_all(tickets);
}

/// Starts the writes of `write_blocks` without waiting, handing their tickets to `out`. The
/// caller holds a reference to `pa` until it has waited for them.
fn start_writes(pa: PhysAddr, first: usize, disk: &[u32], mut out: impl FnMut(virtio_blk::Ticket)) {
    let mut k = 0;
    while k < disk.len() {
        let mut run = 1;
        while k + run < disk.len() && disk[k + run] == disk[k] + run as u32 {
            run += 1;
        }
        out(virtio_blk::start_write_frame(disk[k], pa, (first + k) * BSIZE, run));
        k += run;
    }
}

/// Requests in flight an [`InFlight`] holds at most (a page takes one per run of
/// consecutive blocks: one when its blocks are contiguous, at most `BLOCKS_PER_PAGE`).
const MAX_TICKETS: usize = 32;
/// Pages an [`InFlight`] holds at most.
const MAX_PAGES: usize = 17;

/// The data writes of one `write_file`, started and not yet waited for, with the frame
/// reference of each page they read, kept inline (no allocation per call: a `write` of one
/// page used to allocate and free two vectors). When full, it waits for what is in flight
/// before taking more, which only makes some data durable sooner.
struct InFlight {
    tickets: [Option<virtio_blk::Ticket>; MAX_TICKETS],
    ntickets: usize,
    pages: [Option<PhysAddr>; MAX_PAGES],
    npages: usize,
}

impl InFlight {
    fn new() -> InFlight {
        InFlight { tickets: [const { None }; MAX_TICKETS], ntickets: 0, pages: [None; MAX_PAGES], npages: 0 }
    }

    /// Starts writing the disk blocks `disk[k]` from block `first + k` of page `pa`, whose
    /// frame reference this takes over (dropped once the writes complete).
    fn add_page(&mut self, pa: PhysAddr, first: usize, disk: &[u32]) {
        if self.ntickets + disk.len() > MAX_TICKETS || self.npages == MAX_PAGES {
            self.wait();
        }
        let (tickets, n) = (&mut self.tickets, &mut self.ntickets);
        start_writes(pa, first, disk, |t| {
            tickets[*n] = Some(t);
            *n += 1;
        });
        self.pages[self.npages] = Some(pa);
        self.npages += 1;
    }

    /// Waits for every write started, then drops the pages' frame references.
    fn wait(&mut self) {
        virtio_blk::wait_all(self.tickets[..self.ntickets].iter_mut().filter_map(Option::take));
        self.ntickets = 0;
        for pa in self.pages[..self.npages].iter_mut().filter_map(Option::take) {
            frame::free(pa);
        }
        self.npages = 0;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.wait();
    }
}
