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
    block_path, indirect_get, indirect_set, Dirent, DiskInode, SuperBlock, BPB, BSIZE, DINODE_SIZE,
    DIRENT_SIZE, DIRSIZ, MAXFILE_BYTES, ROOTINO, T_DIR, T_FILE,
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

/// What a file of the image holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// These bytes (every block allocated; blocks of zeros are not written).
    Bytes(Vec<u8>),
    /// A file too big to hold in memory: `len` bytes, zero except for `pieces`.
    Sparse(SparseFile),
}

/// A file of `len` bytes, all zero except for `pieces` (offset, bytes), which must lie
/// inside it and may overlap (a later piece wins). With `holes`, only the blocks the pieces
/// touch are allocated and the rest are holes (they read as zeros); without, every block is
/// allocated, so the file uses the disk space its size says, but blocks of zeros are still
/// not written: a multi-GiB file costs the host file only its indirect blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseFile {
    pub len: u64,
    pub pieces: Vec<(u64, Vec<u8>)>,
    pub holes: bool,
}

impl From<Vec<u8>> for Contents {
    fn from(bytes: Vec<u8>) -> Contents {
        Contents::Bytes(bytes)
    }
}

impl Contents {
    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Contents::Bytes(b) => b.len() as u64,
            Contents::Sparse(s) => s.len,
        }
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
    let files: Vec<(String, Contents)> =
        files.iter().map(|(n, d)| (n.clone(), Contents::Bytes(d.clone()))).collect();
    build_image_from(out, &files, total_blocks, ninodes)
}

/// [`build_image`] for files given as [`Contents`], which may be sparse (larger than the
/// host's memory).
///
/// # Errors
/// As [`build_image`]; also a sparse file's piece that does not lie inside the file.
pub fn build_image_from(
    out: &Path,
    files: &[(String, Contents)],
    total_blocks: u32,
    ninodes: u32,
) -> io::Result<()> {
    validate_names(files.iter().map(|(n, _)| n.as_str()))?;
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
        let stored = match data {
            Contents::Bytes(bytes) => image.store_inode(inum, T_FILE, bytes),
            Contents::Sparse(sparse) => image.store_sparse(inum, sparse),
        };
        stored.map_err(|e| invalid(format!("{name}: {e}")))?;
    }
    image.write_bitmap();
    image.write_to(out)
}

/// Rejects names the root directory cannot hold, and duplicates.
fn validate_names<'a>(names: impl Iterator<Item = &'a str>) -> io::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > DIRSIZ {
            return Err(invalid(format!("file name {name:?} must be 1 to {DIRSIZ} bytes long")));
        }
        if bytes.contains(&b'/') || bytes.contains(&0) || name == "." || name == ".." {
            return Err(invalid(format!("file name {name:?} is not a plain name")));
        }
        if !seen.insert(name) {
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

/// Refuses a file larger than the largest file.
fn check_size(len: u64) -> io::Result<()> {
    if len > MAXFILE_BYTES {
        return Err(invalid(format!("{len} bytes exceed the largest file ({MAXFILE_BYTES} bytes)")));
    }
    Ok(())
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
        check_size(data.len() as u64)?;
        let mut inode = DiskInode { typ, nlink: 1, size: data.len() as u64, ..Default::default() };
        for (bn, chunk) in data.chunks(BSIZE).enumerate() {
            let b = self.map_block(&mut inode, bn)?;
            if chunk.iter().any(|&x| x != 0) {
                self.block_mut(b)[..chunk.len()].copy_from_slice(chunk);
            }
        }
        self.put_inode(inum, &inode);
        Ok(())
    }

    /// Stores the regular file `file` as inode `inum` (see [`SparseFile`]).
    fn store_sparse(&mut self, inum: u32, file: &SparseFile) -> io::Result<()> {
        check_size(file.len)?;
        // The blocks the pieces touch, with their bytes.
        let mut touched: BTreeMap<usize, Block> = BTreeMap::new();
        for (off, bytes) in &file.pieces {
            let end = off.checked_add(bytes.len() as u64).filter(|&e| e <= file.len);
            if end.is_none() {
                return Err(invalid(format!("a piece at {off} of {} bytes ends past the file", bytes.len())));
            }
            for (k, &byte) in bytes.iter().enumerate() {
                let pos = off + k as u64;
                let bn = (pos / BSIZE as u64) as usize;
                touched.entry(bn).or_insert_with(|| Box::new([0; BSIZE]))[(pos % BSIZE as u64) as usize] =
                    byte;
            }
        }
        let mut inode = DiskInode { typ: T_FILE, nlink: 1, size: file.len, ..Default::default() };
        let nblocks = file.len.div_ceil(BSIZE as u64) as usize;
        let mut put = |image: &mut Self, bn: usize| -> io::Result<()> {
            let b = image.map_block(&mut inode, bn)?;
            if let Some(data) = touched.get(&bn).filter(|d| d.iter().any(|&x| x != 0)) {
                *image.block_mut(b) = **data;
            }
            Ok(())
        };
        if file.holes {
            for &bn in touched.keys() {
                put(self, bn)?;
            }
        } else {
            for bn in 0..nblocks {
                put(self, bn)?;
            }
        }
        self.put_inode(inum, &inode);
        Ok(())
    }

    /// Writes `inode` into inode `inum`'s slot.
    fn put_inode(&mut self, inum: u32, inode: &DiskInode) {
        let (blk, off) = (self.sb.inode_block(inum), SuperBlock::inode_offset(inum));
        inode.encode(&mut self.block_mut(blk)[off..off + DINODE_SIZE]);
    }

    /// Allocates the data block for file block `bn` of `inode` (and any indirect block on the
    /// way, before the data block, as the kernel's `bmap` does) and returns its number.
    /// File blocks must be mapped in increasing order, each once.
    fn map_block(&mut self, inode: &mut DiskInode, bn: usize) -> io::Result<u32> {
        let path = block_path(bn).ok_or_else(|| invalid(format!("block {bn} beyond MAXFILE")))?;
        let Some((&last, upper)) = path.indices().split_last() else {
            let b = self.alloc_block()?;
            inode.addrs[path.root] = b;
            return Ok(b);
        };
        let mut table = self.slot(&mut inode.addrs[path.root])?;
        for &i in upper {
            let mut entry = indirect_get(&self.block_mut(table)[..], i);
            let next = self.slot(&mut entry)?;
            indirect_set(&mut self.block_mut(table)[..], i, next);
            table = next;
        }
        let b = self.alloc_block()?;
        indirect_set(&mut self.block_mut(table)[..], last, b);
        Ok(b)
    }

    /// The block an address slot names, allocating one when the slot is empty.
    fn slot(&mut self, addr: &mut u32) -> io::Result<u32> {
        if *addr == 0 {
            *addr = self.alloc_block()?;
        }
        Ok(*addr)
    }

    /// Marks every metadata block and every allocated data block (`0..next_block`) as used.
    fn write_bitmap(&mut self) {
        let used = self.next_block as usize;
        for first in (0..used).step_by(BPB) {
            let bits = (used - first).min(BPB);
            let map = self.block_mut(self.sb.bitmap_block(first as u32));
            map[..bits / 8].fill(0xff);
            for bit in bits / 8 * 8..bits {
                map[bit / 8] |= 1 << (bit % 8);
            }
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
