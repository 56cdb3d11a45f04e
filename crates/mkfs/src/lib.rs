//! Builds file-system images on the host, in the format that `fsformat` defines, and reads them
//! back (for round-trip tests and for checking an image a guest has used).
//!
//! This file owns image *construction*: layout, block and inode allocation, the root directory
//! and the free-block bitmap. Reading and checking live in `read.rs`. Nothing here knows about
//! QEMU or the runner; the format itself (field offsets, limits) belongs to `fsformat` and is
//! never redefined here.
#![forbid(unsafe_code)]

mod check;
mod read;

pub use check::{check_fs, Problem, Report};
pub use read::{check_image, read_image, ImageReader, Usage};

use fsformat::{
    block_path, indirect_set, BlockPath, Dirent, DiskInode, SuperBlock, BPB, BSIZE, DINODE_SIZE, DIRENT_SIZE,
    DIRSIZ, DOUBLE_INDIRECT, MAXFILE, ROOTINO, SINGLE_INDIRECT, T_DIR, T_FILE,
};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// Default image size in blocks (128 MiB).
pub const DEFAULT_BLOCKS: u32 = 131_072;
/// Default number of inodes.
pub const DEFAULT_INODES: u32 = 1024;

/// One block of image contents.
type Block = Box<[u8; BSIZE]>;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Writes a fresh image to `out`: a root directory holding one regular file per entry of
/// `files` (name, contents), on a disk of `total_blocks` blocks with `ninodes` inodes.
///
/// The image is written sparsely: only blocks that hold a non-zero byte are written, and the
/// file is sized with `set_len`, so a large, mostly empty image costs little.
///
/// # Errors
/// `InvalidInput` when a name is empty, longer than `DIRSIZ` bytes, contains `/` or NUL, is
/// `.` or `..`, or appears twice; when a file is longer than `MAXFILE` blocks; when the
/// metadata, the inodes or the data do not fit. Any I/O error from writing `out`.
pub fn build_image(
    out: &Path,
    files: &[(String, Vec<u8>)],
    total_blocks: u32,
    ninodes: u32,
) -> io::Result<()> {
    validate_names(files)?;
    let mut image = ImageBuilder::new(total_blocks, ninodes)?;
    if files.len() as u64 + 2 > u64::from(ninodes) {
        return Err(invalid(format!(
            "{} files need {} inodes (inode 0 is unused, 1 is the root) but the image has {}",
            files.len(),
            files.len() + 2,
            ninodes
        )));
    }
    let root = image.alloc_inode()?;
    debug_assert_eq!(root, ROOTINO);
    let mut dir = Vec::with_capacity((files.len() + 2) * DIRENT_SIZE);
    push_dirent(&mut dir, ROOTINO, b".");
    push_dirent(&mut dir, ROOTINO, b"..");
    let mut inums = Vec::with_capacity(files.len());
    for (name, _) in files {
        let inum = image.alloc_inode()?;
        push_dirent(&mut dir, inum, name.as_bytes());
        inums.push(inum);
    }
    // xv6 gives the root directory one link: "." does not count.
    image.store_inode(ROOTINO, T_DIR, &dir)?;
    for ((name, data), inum) in files.iter().zip(inums) {
        image.store_inode(inum, T_FILE, data).map_err(|e| invalid(format!("{name}: {e}")))?;
    }
    image.write_bitmap();
    image.write_to(out)
}

/// Rejects names the root directory cannot hold, and duplicates.
fn validate_names(files: &[(String, Vec<u8>)]) -> io::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in files {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > DIRSIZ {
            return Err(invalid(format!("file name {name:?} must be 1 to {DIRSIZ} bytes long")));
        }
        if bytes.contains(&b'/') || bytes.contains(&0) || name == "." || name == ".." {
            return Err(invalid(format!("file name {name:?} is not a plain name")));
        }
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!("file name {name:?} appears twice")));
        }
    }
    Ok(())
}

fn push_dirent(dir: &mut Vec<u8>, inum: u32, name: &[u8]) {
    let mut raw = [0u8; DIRENT_SIZE];
    // Inode numbers were checked against `u16` when the layout was made.
    Dirent::new(inum as u16, name).encode(&mut raw);
    dir.extend_from_slice(&raw);
}

/// An image under construction: the superblock, the blocks written so far (absent = zero) and
/// the allocation cursors. Blocks and inodes are handed out in increasing order, so the used
/// data blocks are exactly `data_start..next_block`.
struct ImageBuilder {
    sb: SuperBlock,
    blocks: BTreeMap<u32, Block>,
    next_block: u32,
    next_inum: u32,
}

impl ImageBuilder {
    /// Lays out an empty image and writes its superblock. The boot block and the log (header
    /// n = 0) are all zeros, so they need no writing.
    fn new(total_blocks: u32, ninodes: u32) -> io::Result<Self> {
        if ninodes < 2 || ninodes > u32::from(u16::MAX) + 1 {
            return Err(invalid(format!(
                "inode count {ninodes} must lie in 2..={} (directory entries hold 16-bit inode numbers)",
                u32::from(u16::MAX) + 1
            )));
        }
        let sb = SuperBlock::layout(total_blocks, ninodes).ok_or_else(|| {
            invalid(format!("{total_blocks} blocks cannot hold the metadata for {ninodes} inodes"))
        })?;
        let mut image =
            ImageBuilder { sb, blocks: BTreeMap::new(), next_block: sb.data_start(), next_inum: ROOTINO };
        sb.encode(&mut image.block_mut(1)[..]);
        Ok(image)
    }

    /// The block `b`, created zeroed when it was not written yet.
    fn block_mut(&mut self, b: u32) -> &mut [u8; BSIZE] {
        self.blocks.entry(b).or_insert_with(|| Box::new([0; BSIZE]))
    }

    /// Takes the next free data block.
    fn alloc_block(&mut self) -> io::Result<u32> {
        if self.next_block >= self.sb.size {
            return Err(invalid(format!("the image is full: all {} data blocks are used", self.sb.nblocks)));
        }
        let b = self.next_block;
        self.next_block += 1;
        Ok(b)
    }

    /// Takes the next inode number.
    fn alloc_inode(&mut self) -> io::Result<u32> {
        if self.next_inum >= self.sb.ninodes {
            return Err(invalid(format!("out of inodes ({} in the image)", self.sb.ninodes)));
        }
        let inum = self.next_inum;
        self.next_inum += 1;
        Ok(inum)
    }

    /// Writes `data` into freshly allocated blocks and stores inode `inum` of type `typ`
    /// (one link) describing them. Blocks of zeros are allocated but never written.
    fn store_inode(&mut self, inum: u32, typ: i16, data: &[u8]) -> io::Result<()> {
        let nblocks = data.len().div_ceil(BSIZE);
        if nblocks > MAXFILE {
            return Err(invalid(format!(
                "{} bytes exceed the largest file ({} bytes)",
                data.len(),
                MAXFILE * BSIZE
            )));
        }
        let mut inode = DiskInode { typ, nlink: 1, size: data.len() as u32, ..Default::default() };
        for (bn, chunk) in data.chunks(BSIZE).enumerate() {
            let b = self.map_block(&mut inode, bn)?;
            if chunk.iter().any(|&x| x != 0) {
                self.block_mut(b)[..chunk.len()].copy_from_slice(chunk);
            }
        }
        let (blk, off) = (self.sb.inode_block(inum), SuperBlock::inode_offset(inum));
        inode.encode(&mut self.block_mut(blk)[off..off + DINODE_SIZE]);
        Ok(())
    }

    /// Allocates the data block for file block `bn` of `inode` (and any indirect block on the
    /// way, before the data block, as the kernel's `bmap` does) and returns its number.
    /// File blocks must be mapped in increasing order, each once.
    fn map_block(&mut self, inode: &mut DiskInode, bn: usize) -> io::Result<u32> {
        let path = block_path(bn).ok_or_else(|| invalid(format!("block {bn} beyond MAXFILE")))?;
        let (table, index) = match path {
            BlockPath::Direct(i) => {
                let b = self.alloc_block()?;
                inode.addrs[i] = b;
                return Ok(b);
            }
            BlockPath::Single(i) => (self.slot(&mut inode.addrs[SINGLE_INDIRECT])?, i),
            BlockPath::Double(i, j) => {
                let outer = self.slot(&mut inode.addrs[DOUBLE_INDIRECT])?;
                let mut entry = fsformat::indirect_get(&self.block_mut(outer)[..], i);
                let inner = self.slot(&mut entry)?;
                indirect_set(&mut self.block_mut(outer)[..], i, inner);
                (inner, j)
            }
        };
        let b = self.alloc_block()?;
        indirect_set(&mut self.block_mut(table)[..], index, b);
        Ok(b)
    }

    /// The block an address slot names, allocating one when the slot is empty.
    fn slot(&mut self, addr: &mut u32) -> io::Result<u32> {
        if *addr == 0 {
            *addr = self.alloc_block()?;
        }
        Ok(*addr)
    }

    /// Marks every metadata block and every allocated data block as used.
    fn write_bitmap(&mut self) {
        for b in 0..self.next_block {
            let (blk, bit) = (self.sb.bitmap_block(b), b as usize % BPB);
            self.block_mut(blk)[bit / 8] |= 1 << (bit % 8);
        }
    }

    /// Creates (or truncates) `out` and writes the non-zero blocks into it.
    fn write_to(&self, out: &Path) -> io::Result<()> {
        let mut f = File::create(out)?;
        f.set_len(u64::from(self.sb.size) * BSIZE as u64)?;
        for (&b, data) in &self.blocks {
            if data.iter().any(|&x| x != 0) {
                f.seek(SeekFrom::Start(u64::from(b) * BSIZE as u64))?;
                f.write_all(&data[..])?;
            }
        }
        f.sync_all()
    }
}

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod tests;
