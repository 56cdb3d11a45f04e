//! What mappings need from the file system, in one place: the open file behind an fd, its
//! page cache (for a regular file), filling cache pages from the file, and writing one page
//! back (clamped to the file size, never growing it, in a log transaction of its own).
//!
//! Filling reads a run of pages (the faulting one plus readahead) with the inode locked,
//! through `InodeGuard::read_direct`: blocks come straight from the disk, one request per run
//! of consecutive disk blocks, except those the buffer cache holds, so a 4 KiB page costs no
//! buffer-cache traffic and a 32-page window usually one disk request.

use super::pagecache::{PageCache, MAX_READAHEAD};
use crate::fs::file::File;
use crate::fs::{log, InodeGuard};
use crate::mm::{frame, PhysAddr, PGSIZE};
use crate::proc;
use abi::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fsformat::BSIZE;

/// File blocks per page.
const BLOCKS_PER_PAGE: usize = PGSIZE / BSIZE;

/// The open file at descriptor `fd` of the current process.
pub fn fd_file(fd: i32) -> Result<Arc<File>, Errno> {
    let fd = usize::try_from(fd).map_err(|_| Errno::BadF)?;
    proc::current_private().ofile.get(fd).and_then(|f| f.clone()).ok_or(Errno::BadF)
}

/// The page cache of `f` if it is a regular file (pipes, devices and directories cannot be
/// mapped). A new cache learns the file's size under the inode lock, so no write is missed.
pub fn cache_for(f: &File) -> Result<Arc<PageCache>, Errno> {
    let ip = f.inode().ok_or(Errno::Access)?;
    let g = ip.lock();
    if g.file_type() != abi::T_FILE {
        return Err(Errno::Access);
    }
    Ok(PageCache::for_inode(g.inum(), g.size() as u64))
}

pub fn readable(f: &File) -> bool {
    f.readable()
}

pub fn writable(f: &File) -> bool {
    f.writable()
}

/// The page at `index` of `f`'s cache `cache`, with an extra reference for the caller's
/// mapping, reading it (and up to `window - 1` following pages that are not cached either,
/// readahead) from the file if needed. Fails for a page wholly past end-of-file [Fault], or
/// when not even the first page can be allocated [NoMem]; readahead stops quietly where
/// memory runs out.
pub fn fill(f: &File, cache: &PageCache, index: u64, window: u64) -> Result<PhysAddr, Errno> {
    let ip = f.inode().ok_or(Errno::Io)?;
    let g = ip.lock();
    // Another process may have filled the page while we waited for the lock.
    if let Some(pa) = cache.lookup(index) {
        return Ok(pa);
    }
    let size = g.size() as u64;
    let file_pages = size.div_ceil(PGSIZE as u64);
    if index >= file_pages {
        return Err(Errno::Fault);
    }
    let end = index + window.clamp(1, MAX_READAHEAD).min(file_pages - index);
    let count = cache.absent_run(index, end) as usize;
    let mut frames: Vec<PhysAddr> = Vec::with_capacity(count);
    while frames.len() < count {
        match frame::alloc() {
            Some(pa) => frames.push(pa),
            None => break,
        }
    }
    if frames.is_empty() {
        return Err(Errno::NoMem);
    }
    if let Err(e) = read_pages(&g, index, &frames, size) {
        for pa in frames {
            frame::free(pa);
        }
        return Err(e);
    }
    Ok(cache.insert_run(index, &frames))
}

/// Fills the fresh (zeroed) pages `frames[k]` with page `first + k` of the file locked in
/// `g`, whose size is `size`; bytes past end-of-file and holes stay zero.
fn read_pages(g: &InodeGuard<'_>, first: u64, frames: &[PhysAddr], size: u64) -> Result<(), Errno> {
    let first_block = first as usize * BLOCKS_PER_PAGE;
    let file_blocks = size.div_ceil(BSIZE as u64) as usize;
    let nblocks = (frames.len() * BLOCKS_PER_PAGE).min(file_blocks - first_block);
    g.read_direct(first_block, nblocks, |k, bytes| {
        // Block k of the run lands in page k / 4 at (k % 4) * BSIZE.
        let pa = PhysAddr(frames[k / BLOCKS_PER_PAGE].0 + (k % BLOCKS_PER_PAGE) * BSIZE);
        // SAFETY: the frames are fresh, owned by this call and not yet visible to anyone;
        // `pa` is a block-sized piece inside one of them.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), pa.as_ptr::<u8>(), BSIZE) };
    })?;
    // The last block may hold stale bytes past end-of-file: the mapping must see zeros.
    let tail = size as usize % PGSIZE;
    let last = (size.div_ceil(PGSIZE as u64) - 1).checked_sub(first).map(|i| i as usize);
    if let Some(&pa) = last.filter(|_| tail != 0).and_then(|i| frames.get(i)) {
        // SAFETY: as above.
        unsafe { pa.page_bytes()[tail..].fill(0) };
    }
    Ok(())
}

/// Writes `page` to the file at `off`, clamped to the file's size (bytes at or past the end
/// are dropped: write-back never grows a file). Each piece goes in a log transaction of its
/// own, as many as the log's per-operation share requires.
pub fn write_page(f: &File, off: u64, page: &[u8; PGSIZE]) -> Result<(), Errno> {
    let ip = f.inode().ok_or(Errno::Io)?;
    let mut done = 0;
    while done < PGSIZE {
        let Ok(pos) = u32::try_from(off + done as u64) else { return Ok(()) };
        log::begin_op();
        let r = (|| {
            let mut g = ip.lock();
            let size = g.size();
            if pos >= size {
                return Ok(0);
            }
            let n = ((size - pos) as usize).min(PGSIZE - done);
            g.write(pos, &page[done..done + n])
        })();
        log::end_op();
        match r? {
            0 => return Ok(()),
            n => done += n,
        }
    }
    Ok(())
}
