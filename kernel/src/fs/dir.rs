//! Directories: a directory is an inode whose contents are 16-byte entries (`Dirent`: inode
//! number, 14-byte name; inode 0 marks a free slot). This module adds entry lookup, insertion,
//! removal and the emptiness test to a locked directory inode. It must not resolve paths
//! (that is `path.rs`) or change link counts (the callers in `namespace.rs` do).

use super::inode::{self, Inode, InodeGuard};
use super::sb;
use abi::Errno;
use fsformat::{Dirent, BSIZE, DIRENT_SIZE, T_DIR};

impl InodeGuard<'_> {
    /// Calls `pred` on each entry in order (with its byte offset) until it returns true;
    /// returns that entry.
    fn find_entry(
        &mut self,
        mut pred: impl FnMut(u32, &Dirent) -> bool,
    ) -> Result<Option<(u32, Dirent)>, Errno> {
        if self.file_type() != T_DIR {
            return Err(Errno::NotDir);
        }
        let mut block = [0u8; BSIZE];
        let mut off = 0u32;
        while u64::from(off) < self.size() {
            let n = self.read(u64::from(off), &mut block)?;
            if n == 0 {
                break;
            }
            for (k, raw) in block[..n].chunks_exact(DIRENT_SIZE).enumerate() {
                let de = Dirent::decode(raw);
                let at = off + (k * DIRENT_SIZE) as u32;
                if pred(at, &de) {
                    return Ok(Some((at, de)));
                }
            }
            off += n as u32;
        }
        Ok(None)
    }

    /// Looks up `name` (compared on its first `DIRSIZ` bytes) in this directory; returns the
    /// inode it names and the entry's byte offset.
    pub fn lookup(&mut self, name: &[u8]) -> Result<Option<(Inode, u32)>, Errno> {
        match self.find_entry(|_, de| de.matches(name))? {
            Some((off, de)) => {
                if de.inum as u32 >= sb().ninodes {
                    return Err(Errno::Io);
                }
                Ok(Some((inode::get(de.inum as u32), off)))
            }
            None => Ok(None),
        }
    }

    /// Adds the entry `name` → `inum`, reusing a free slot if there is one. Must run inside a
    /// transaction. Fails with `Exist` if the name is present, `NoSpc` if the directory
    /// cannot grow.
    pub fn add_entry(&mut self, name: &[u8], inum: u32) -> Result<(), Errno> {
        if name.is_empty() {
            return Err(Errno::NoEnt);
        }
        if self.find_entry(|_, de| de.matches(name))?.is_some() {
            return Err(Errno::Exist);
        }
        let inum = u16::try_from(inum).map_err(|_| Errno::Inval)?;
        let off = match self.find_entry(|_, de| de.inum == 0)? {
            Some((off, _)) => off,
            // A directory never nears 4 GiB (entries hold 16-bit inode numbers).
            None => {
                u32::try_from(self.size().next_multiple_of(DIRENT_SIZE as u64)).map_err(|_| Errno::NoSpc)?
            }
        };
        let mut raw = [0u8; DIRENT_SIZE];
        Dirent::new(inum, name).encode(&mut raw);
        match self.write(u64::from(off), &raw)? {
            DIRENT_SIZE => Ok(()),
            _ => Err(Errno::NoSpc),
        }
    }

    /// Clears the entry at byte offset `off` (from `lookup`). Must run inside a transaction.
    pub fn remove_entry(&mut self, off: u32) -> Result<(), Errno> {
        match self.write(u64::from(off), &[0u8; DIRENT_SIZE])? {
            DIRENT_SIZE => Ok(()),
            _ => Err(Errno::Io),
        }
    }

    /// Whether this directory holds nothing but "." and "..".
    pub fn is_empty_dir(&mut self) -> Result<bool, Errno> {
        let other = self.find_entry(|off, de| off >= 2 * DIRENT_SIZE as u32 && de.inum != 0)?;
        Ok(other.is_none())
    }
}
