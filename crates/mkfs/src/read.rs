//! Reads an image back through the `fsformat` definitions: the superblock, inodes, file
//! contents and directories, plus a consistency check of the free-block bitmap against the
//! blocks the inodes reference.
//!
//! It owns nothing on disk and never writes; it is for tests and for inspecting an image a
//! guest has used. It trusts nothing either: every block address is range-checked, so a
//! corrupt image gives an error, never a panic.

use fsformat::{
    block_path, indirect_get, root_depth, root_first_block, subtree_blocks, Dirent, DiskInode, SuperBlock,
    BPB, BSIZE, DINODE_SIZE, DIRENT_SIZE, MAXFILE_BYTES, NADDRS, NINDIRECT, ROOTINO, T_DIR, T_FILE, T_FREE,
};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// An open image with a valid superblock.
pub struct ImageReader {
    file: File,
    sb: SuperBlock,
}

/// What [`check_image`] counted in a consistent image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Blocks marked used in the bitmap (metadata included).
    pub used_blocks: u32,
    /// Data blocks (file contents and indirect blocks) referenced by inodes.
    pub data_blocks: u32,
    /// Inodes in use (type not free).
    pub inodes: u32,
}

impl ImageReader {
    /// Opens `path` and checks its superblock against the file's size.
    pub fn open(path: &Path) -> io::Result<ImageReader> {
        let file = File::open(path)?;
        let disk_blocks = file.metadata()?.len() / BSIZE as u64;
        let mut reader = ImageReader { file, sb: SuperBlock::default() };
        let sb = SuperBlock::decode(&reader.raw_block(1)?[..]);
        if !sb.is_valid(disk_blocks) {
            return Err(corrupt(format!("{}: bad superblock {sb:?}", path.display())));
        }
        reader.sb = sb;
        Ok(reader)
    }

    /// The image's superblock.
    pub fn superblock(&self) -> SuperBlock {
        self.sb
    }

    fn raw_block(&mut self, b: u32) -> io::Result<[u8; BSIZE]> {
        let mut buf = [0u8; BSIZE];
        self.file.seek(SeekFrom::Start(u64::from(b) * BSIZE as u64))?;
        self.file.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Reads block `b`, which must lie inside the file system.
    pub fn block(&mut self, b: u32) -> io::Result<[u8; BSIZE]> {
        if b >= self.sb.size {
            return Err(corrupt(format!("block {b} lies past the end ({})", self.sb.size)));
        }
        self.raw_block(b)
    }

    /// Reads inode `inum` (which must be below `ninodes`).
    pub fn inode(&mut self, inum: u32) -> io::Result<DiskInode> {
        if inum >= self.sb.ninodes {
            return Err(corrupt(format!("inode {inum} out of range")));
        }
        let off = SuperBlock::inode_offset(inum);
        let blk = self.block(self.sb.inode_block(inum))?;
        Ok(DiskInode::decode(&blk[off..off + DINODE_SIZE]))
    }

    /// Whether `b` may hold file data or an indirect table.
    fn check_data_block(&self, b: u32, what: &str) -> io::Result<()> {
        if b < self.sb.data_start() || b >= self.sb.size {
            return Err(corrupt(format!(
                "{what} names block {b}, outside the data area {}..{}",
                self.sb.data_start(),
                self.sb.size
            )));
        }
        Ok(())
    }

    /// The disk block holding file block `bn` of `inode`, 0 for a hole (or past the
    /// largest file). Every address on the way is range-checked.
    pub fn file_block(&mut self, inode: &DiskInode, bn: usize) -> io::Result<u32> {
        let Some(path) = block_path(bn) else { return Ok(0) };
        let mut addr = inode.addrs[path.root];
        for &i in path.indices() {
            if addr == 0 {
                return Ok(0);
            }
            self.check_data_block(addr, "an indirect address")?;
            addr = indirect_get(&self.block(addr)?, i);
        }
        if addr != 0 {
            self.check_data_block(addr, "a file")?;
        }
        Ok(addr)
    }

    /// `len` bytes of the file `inode` describes from byte `off` (fewer at its end);
    /// unallocated blocks read as zeros.
    pub fn read_at(&mut self, inode: &DiskInode, off: u64, len: usize) -> io::Result<Vec<u8>> {
        if inode.size > MAXFILE_BYTES {
            return Err(corrupt(format!("size {} exceeds the largest file", inode.size)));
        }
        let end = off.saturating_add(len as u64).min(inode.size);
        let mut out = Vec::with_capacity(end.saturating_sub(off) as usize);
        let mut pos = off;
        while pos < end {
            let (bn, at) = ((pos / BSIZE as u64) as usize, (pos % BSIZE as u64) as usize);
            let want = ((end - pos) as usize).min(BSIZE - at);
            match self.file_block(inode, bn)? {
                0 => out.resize(out.len() + want, 0),
                b => out.extend_from_slice(&self.block(b)?[at..at + want]),
            }
            pos += want as u64;
        }
        Ok(out)
    }

    /// The contents of the file `inode` describes; unallocated blocks read as zeros.
    pub fn contents(&mut self, inode: &DiskInode) -> io::Result<Vec<u8>> {
        let size = usize::try_from(inode.size).map_err(|_| corrupt(format!("size {}", inode.size)))?;
        self.read_at(inode, 0, size)
    }

    /// Calls `visit(block, Some(file_block))` for every data block of `inode`'s tree and
    /// `visit(block, None)` for every indirect table, in tree order (tables before what they
    /// point at). A table is read only when `visit` returns true for it (the caller checked
    /// its address).
    pub(crate) fn walk_tree(
        &mut self,
        inode: &DiskInode,
        visit: &mut dyn FnMut(u32, Option<usize>) -> bool,
    ) -> io::Result<()> {
        for root in 0..NADDRS {
            let b = inode.addrs[root];
            if b == 0 {
                continue;
            }
            match root_depth(root) {
                0 => {
                    visit(b, Some(root));
                }
                depth => {
                    if visit(b, None) {
                        self.walk_table(b, depth, root_first_block(root), visit)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `walk_tree` below the indirect table `table`, `depth` levels above the data, whose
    /// first file block is `first`.
    fn walk_table(
        &mut self,
        table: u32,
        depth: usize,
        first: usize,
        visit: &mut dyn FnMut(u32, Option<usize>) -> bool,
    ) -> io::Result<()> {
        let t = self.block(table)?;
        let span = subtree_blocks(depth - 1);
        for i in 0..NINDIRECT {
            let b = indirect_get(&t, i);
            if b == 0 {
                continue;
            }
            if depth == 1 {
                visit(b, Some(first + i));
            } else if visit(b, None) {
                self.walk_table(b, depth - 1, first + i * span, visit)?;
            }
        }
        Ok(())
    }

    /// The used entries of directory `inum`, in on-disk order.
    pub fn dir_entries(&mut self, inum: u32) -> io::Result<Vec<Dirent>> {
        let inode = self.inode(inum)?;
        if inode.typ != T_DIR {
            return Err(corrupt(format!("inode {inum} is not a directory")));
        }
        let data = self.contents(&inode)?;
        Ok(data.chunks_exact(DIRENT_SIZE).map(Dirent::decode).filter(|d| d.inum != 0).collect())
    }

    /// The inode an absolute path names (`/a/b`; `/` is the root), or `None` when some
    /// component is missing or not a directory.
    pub fn lookup(&mut self, path: &str) -> io::Result<Option<u32>> {
        let mut inum = ROOTINO;
        for name in path.split('/').filter(|c| !c.is_empty()) {
            if self.inode(inum)?.typ != T_DIR {
                return Ok(None);
            }
            let found = self.dir_entries(inum)?.into_iter().find(|d| d.matches(name.as_bytes()));
            match found {
                Some(d) => inum = u32::from(d.inum),
                None => return Ok(None),
            }
        }
        Ok(Some(inum))
    }

    /// Every regular file below the directory `path`, recursively, as (path, inode number)
    /// with paths starting with `path`; `None` when `path` names no directory.
    pub fn files_under(&mut self, path: &str) -> io::Result<Option<Vec<(String, u32)>>> {
        let Some(top) = self.lookup(path)? else { return Ok(None) };
        if self.inode(top)?.typ != T_DIR {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut stack = vec![(path.trim_end_matches('/').to_string(), top)];
        while let Some((dir, inum)) = stack.pop() {
            for d in self.dir_entries(inum)? {
                if d.matches(b".") || d.matches(b"..") {
                    continue;
                }
                let child = format!("{dir}/{}", String::from_utf8_lossy(d.name()));
                match self.inode(u32::from(d.inum))?.typ {
                    T_DIR => stack.push((child, u32::from(d.inum))),
                    T_FILE => out.push((child, u32::from(d.inum))),
                    _ => {}
                }
            }
        }
        out.sort();
        Ok(Some(out))
    }

    /// Every block inode `inode` references: data blocks and indirect tables.
    fn referenced_blocks(&mut self, inode: &DiskInode) -> io::Result<Vec<u32>> {
        let (start, end) = (self.sb.data_start(), self.sb.size);
        let mut out = Vec::new();
        let mut bad = None;
        self.walk_tree(inode, &mut |b, _| {
            let ok = b >= start && b < end;
            if ok {
                out.push(b);
            } else {
                bad.get_or_insert(b);
            }
            ok
        })?;
        if let Some(b) = bad {
            self.check_data_block(b, "an inode")?;
        }
        Ok(out)
    }

    /// The whole free-block bitmap: bit `b % 8` of byte `b / 8` is block `b`.
    fn bitmap(&mut self) -> io::Result<Vec<u8>> {
        let nblocks = (self.sb.size as usize).div_ceil(BPB) as u32;
        let mut out = Vec::with_capacity(nblocks as usize * BSIZE);
        for i in 0..nblocks {
            out.extend_from_slice(&self.block(self.sb.bmapstart + i)?);
        }
        Ok(out)
    }
}

/// Reads the regular files in the root directory of the image at `path`, as (name, contents)
/// pairs in directory order. Directories and devices are skipped.
pub fn read_image(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut img = ImageReader::open(path)?;
    let mut files = Vec::new();
    for entry in img.dir_entries(ROOTINO)? {
        let inode = img.inode(u32::from(entry.inum))?;
        if inode.typ == T_FILE {
            let name = String::from_utf8_lossy(entry.name()).into_owned();
            files.push((name, img.contents(&inode)?));
        }
    }
    Ok(files)
}

/// Checks that the image at `path` is consistent: the root is a directory, every block an
/// inode references lies in the data area and belongs to one inode only, and the bitmap marks
/// exactly the metadata blocks and the referenced blocks.
///
/// # Errors
/// `InvalidData` naming the first inconsistencies found; I/O errors from reading.
pub fn check_image(path: &Path) -> io::Result<Usage> {
    let mut img = ImageReader::open(path)?;
    let sb = img.superblock();
    if img.inode(ROOTINO)?.typ != T_DIR {
        return Err(corrupt("the root inode is not a directory".into()));
    }
    let mut owner = vec![0u32; sb.size as usize];
    let mut usage = Usage { used_blocks: 0, data_blocks: 0, inodes: 0 };
    for inum in 1..sb.ninodes {
        let inode = img.inode(inum)?;
        if inode.typ == T_FREE {
            continue;
        }
        usage.inodes += 1;
        for b in img.referenced_blocks(&inode)? {
            img.check_data_block(b, &format!("inode {inum}"))?;
            let prev = std::mem::replace(&mut owner[b as usize], inum);
            if prev != 0 {
                return Err(corrupt(format!("block {b} belongs to both inode {prev} and inode {inum}")));
            }
            usage.data_blocks += 1;
        }
    }
    let bitmap = img.bitmap()?;
    let mut wrong = Vec::new();
    for b in 0..sb.size {
        let used = bitmap[b as usize / 8] & (1 << (b % 8)) != 0;
        usage.used_blocks += u32::from(used);
        let should = b < sb.data_start() || owner[b as usize] != 0;
        if used != should {
            wrong.push(b);
        }
    }
    if !wrong.is_empty() {
        let shown: Vec<String> = wrong.iter().take(10).map(u32::to_string).collect();
        return Err(corrupt(format!(
            "the bitmap disagrees with the inodes on {} blocks: {}",
            wrong.len(),
            shown.join(", ")
        )));
    }
    Ok(usage)
}
