//! What mappings need from the file system, in one place: find the open file behind an fd,
//! check it can be mapped, read one page, write one page back (clamped to the file size, in a
//! log transaction), and the file's size.

use crate::fs::file::File;
use abi::Errno;
use alloc::sync::Arc;

pub fn fd_file(_fd: i32) -> Result<Arc<File>, Errno> {
    Err(Errno::BadF)
}
pub fn mappable_inum(_f: &File) -> Result<u32, Errno> {
    Err(Errno::Access)
}
pub fn readable(_f: &File) -> bool {
    false
}
pub fn writable(_f: &File) -> bool {
    false
}
pub fn size(_f: &File) -> u64 {
    0
}
pub fn read_page(_f: &File, _off: u64, _page: &mut [u8; crate::mm::PGSIZE]) -> Result<(), Errno> {
    Err(Errno::Io)
}
pub fn write_page(_f: &File, _off: u64, _page: &[u8; crate::mm::PGSIZE]) -> Result<(), Errno> {
    Err(Errno::Io)
}
