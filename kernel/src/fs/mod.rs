//! File system (STUB: the interface the rest of the kernel uses; being implemented).

pub mod file;
pub mod log;

use abi::Errno;

/// A counted reference to an in-memory inode. Cloning takes another reference (idup);
/// dropping the last reference may free the inode on disk, so it must happen inside a
/// transaction (`log::begin_op`/`end_op`).
#[derive(Clone)]
pub struct Inode {
    _inum: u32,
}

/// A locked inode: its contents may be read and written.
pub struct InodeGuard<'a> {
    _ip: &'a Inode,
}

impl Inode {
    /// Locks the inode (sleeping), reading it from disk if needed.
    pub fn lock(&self) -> InodeGuard<'_> {
        todo!()
    }
}

impl InodeGuard<'_> {
    /// Reads up to `dst.len()` bytes at `off` into a kernel buffer; returns the count.
    pub fn read(&mut self, _off: u32, _dst: &mut [u8]) -> Result<usize, Errno> {
        todo!()
    }
    /// T_FILE, T_DIR or T_DEVICE.
    pub fn file_type(&self) -> i16 {
        todo!()
    }
}

/// Mounts the file system (recovers the log). Called once, by the first process.
pub fn init() {
    todo!()
}

/// The root directory.
pub fn root() -> Inode {
    todo!()
}

/// Looks up `path` (absolute, or relative to the current process's cwd).
pub fn namei(_path: &[u8]) -> Result<Inode, Errno> {
    todo!()
}
