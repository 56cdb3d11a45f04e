//! What mappings need from the file system, in one place: the open file behind an fd, whether
//! it can be mapped (a regular file), its size, reading one page, and writing one page back
//! (clamped to the file size, never growing it, in a log transaction of its own).

use crate::fs::file::File;
use crate::fs::log;
use crate::mm::PGSIZE;
use crate::proc;
use abi::Errno;
use alloc::sync::Arc;

/// The open file at descriptor `fd` of the current process.
pub fn fd_file(fd: i32) -> Result<Arc<File>, Errno> {
    let fd = usize::try_from(fd).map_err(|_| Errno::BadF)?;
    proc::current_private().ofile.get(fd).and_then(|f| f.clone()).ok_or(Errno::BadF)
}

/// The inode number of `f` if it is a regular file (pipes, devices and directories cannot be
/// mapped).
pub fn mappable_inum(f: &File) -> Result<u32, Errno> {
    let ip = f.inode().ok_or(Errno::Access)?;
    let g = ip.lock();
    if g.file_type() != abi::T_FILE {
        return Err(Errno::Access);
    }
    Ok(g.inum())
}

pub fn readable(f: &File) -> bool {
    f.readable()
}

pub fn writable(f: &File) -> bool {
    f.writable()
}

/// The file's current size in bytes.
pub fn size(f: &File) -> u64 {
    f.inode().map(|ip| ip.lock().size() as u64).unwrap_or(0)
}

/// Fills `page` with the file's bytes at `off` (zeros past end-of-file).
pub fn read_page(f: &File, off: u64, page: &mut [u8; PGSIZE]) -> Result<(), Errno> {
    let ip = f.inode().ok_or(Errno::Io)?;
    let off = u32::try_from(off).map_err(|_| Errno::Io)?;
    let n = ip.lock().read(off, page)?;
    page[n..].fill(0);
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
