//! What mappings need from the file system, in one place: the open file behind an fd, whether
//! it can be mapped, filling a page of its cache from the disk, and writing pages back
//! (clamped to the file size, never growing it). The page cache itself belongs to the inode
//! (`fs::Inode::cache`); the file system's `filedata` reads and writes its pages.

use crate::fs::file::File;
use crate::mm::PhysAddr;
use crate::proc;
use abi::Errno;
use alloc::sync::Arc;

/// The open file at descriptor `fd` of the current process.
pub fn fd_file(fd: i32) -> Result<Arc<File>, Errno> {
    let fd = usize::try_from(fd).map_err(|_| Errno::BadF)?;
    proc::with_files(|files| files.get(fd).and_then(|f| f.clone())).ok_or(Errno::BadF)
}

/// Fails unless `f` is a regular file (pipes, devices and directories cannot be mapped).
pub fn check_mappable(f: &File) -> Result<(), Errno> {
    let ip = f.inode().ok_or(Errno::Access)?;
    if ip.lock().file_type() != abi::T_FILE {
        return Err(Errno::Access);
    }
    Ok(())
}

pub fn readable(f: &File) -> bool {
    f.readable()
}

pub fn writable(f: &File) -> bool {
    f.writable()
}

/// The page at `index` of `f` with an extra reference for the caller's mapping, read from the
/// disk (with up to `window - 1` following pages, readahead) if it is not cached. Fails for a
/// page wholly past end-of-file [Fault], or when no memory is left [NoMem].
pub fn fill(f: &File, index: u64, window: u64) -> Result<PhysAddr, Errno> {
    f.inode().ok_or(Errno::Io)?.lock().page(index, window)
}

/// The most pages one `write_back_pages` call takes.
pub use crate::fs::WRITE_BACK_BATCH;

/// Writes the pages `pages` (`(index, frame)`, by increasing index, at most
/// `WRITE_BACK_BATCH`) of `f` back to the file, clamped to its size, in one pass (one disk
/// request per run of consecutive blocks); calls `failed(index)` for each page not written.
pub fn write_back_pages(f: &File, pages: &[(u64, PhysAddr)], mut failed: impl FnMut(u64)) {
    match f.inode() {
        Some(ip) => ip.write_back_pages(pages, failed),
        None => pages.iter().for_each(|&(index, _)| failed(index)),
    }
}

/// Memory reclaim's write-back, which must not wait: writes page `index` of `f` from `pa` in
/// place when the inode is unlocked and the page's blocks are allocated; false otherwise.
pub fn try_write_back(f: &File, index: u64, pa: PhysAddr) -> bool {
    f.inode().is_some_and(|ip| ip.try_write_back_page(index, pa))
}
