//! The full consistency check of an image (`mkfs check IMAGE`), as a crash test needs it after
//! the kernel has replayed its log and cleaned up at mount: superblock and log header, block
//! ownership, the bitmap in both directions, directories, link counts, sizes and
//! reachability.
//!
//! Unlike `check_image` (read.rs), which stops at the first problem, [`check_fs`] collects
//! every problem it finds into a [`Report`], so a test can say "412 blocks leaked" rather than
//! "something is wrong". It never writes and never trusts an address: a block number outside
//! the data area is reported and not followed.

use crate::read::ImageReader;
use fsformat::{
    Dirent, DiskInode, LogHeader, BPB, BSIZE, DIRENT_SIZE, LOGBLOCKS, MAXFILE_BYTES, ROOTINO, T_DEVICE,
    T_DIR, T_FILE, T_FREE,
};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;

/// One inconsistency found by [`check_fs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The log holds a group of `n` blocks that needs replaying: its header commits it (the
    /// checksum matches) and some home block differs from its log copy, or the header names
    /// more blocks than the log has. A clean or recovered file system has none: its header
    /// is empty, names a group already installed (the kernel does not clear it after
    /// installing), or does not match its log blocks (a commit cut short).
    LogNotEmpty(u32),
    /// The root inode is not a directory.
    RootNotDir,
    /// An allocated inode has a type that is none of the known ones.
    BadType { inum: u32, typ: i16 },
    /// An inode names a block outside the data area.
    BlockOutOfRange { inum: u32, block: u32 },
    /// A block is referenced twice (by two inodes, or twice by one).
    BlockTwice { block: u32, first: u32, second: u32 },
    /// A block an inode uses is free in the bitmap.
    UsedButFree { inum: u32, block: u32 },
    /// A metadata block (boot, superblock, log, inodes, bitmap) is free in the bitmap.
    MetadataFree(u32),
    /// Data blocks marked used that no inode references: lost for good. `first` lists a few.
    Leaked { count: u32, first: Vec<u32> },
    /// A file or directory maps a block at or past the end its size implies.
    BlockPastEnd { inum: u32, size: u64, file_block: usize },
    /// A size larger than the largest file, or a directory size that is not whole entries.
    BadSize { inum: u32, size: u64 },
    /// A directory entry names an inode that is out of range or free.
    DanglingEntry { dir: u32, name: String, inum: u32 },
    /// A directory's first entries are not "." (itself) and ".." (its parent).
    BadDots { dir: u32 },
    /// A directory is named by more than one entry (other than its own "." and "..").
    DirLinkedTwice { dir: u32 },
    /// `nlink` differs from the number of entries naming the inode ("." excluded).
    LinkCount { inum: u32, nlink: i16, entries: u32 },
    /// An allocated inode with links that no directory reachable from the root names.
    Unreachable { inum: u32, nlink: i16 },
    /// An allocated inode with no links (the kernel frees these at mount).
    Orphan { inum: u32 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::LogNotEmpty(n) => {
                write!(f, "the log holds a committed group of {n} blocks, not installed")
            }
            Problem::RootNotDir => write!(f, "the root inode is not a directory"),
            Problem::BadType { inum, typ } => write!(f, "inode {inum} has unknown type {typ}"),
            Problem::BlockOutOfRange { inum, block } => {
                write!(f, "inode {inum} names block {block}, outside the data area")
            }
            Problem::BlockTwice { block, first, second } => {
                write!(f, "block {block} is used by inode {first} and by inode {second}")
            }
            Problem::UsedButFree { inum, block } => {
                write!(f, "block {block} of inode {inum} is free in the bitmap")
            }
            Problem::MetadataFree(b) => write!(f, "metadata block {b} is free in the bitmap"),
            Problem::Leaked { count, first } => {
                write!(f, "{count} blocks are marked used but belong to no inode (first: {first:?})")
            }
            Problem::BlockPastEnd { inum, size, file_block } => {
                write!(f, "inode {inum} (size {size}) maps file block {file_block}, past its end")
            }
            Problem::BadSize { inum, size } => write!(f, "inode {inum} has an impossible size {size}"),
            Problem::DanglingEntry { dir, name, inum } => {
                write!(f, "directory {dir}: entry {name:?} names inode {inum}, which is not allocated")
            }
            Problem::BadDots { dir } => write!(f, "directory {dir}: \".\" or \"..\" is wrong"),
            Problem::DirLinkedTwice { dir } => write!(f, "directory {dir} has more than one name"),
            Problem::LinkCount { inum, nlink, entries } => {
                write!(f, "inode {inum} has nlink {nlink} but {entries} directory entries")
            }
            Problem::Unreachable { inum, nlink } => {
                write!(f, "inode {inum} (nlink {nlink}) is allocated but no directory names it")
            }
            Problem::Orphan { inum } => write!(f, "inode {inum} is allocated with no links (orphan)"),
        }
    }
}

/// What [`check_fs`] found: the problems, and counts describing the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every inconsistency, in the order found.
    pub problems: Vec<Problem>,
    /// Inodes in use.
    pub inodes: u32,
    /// Directories reachable from the root (the root included).
    pub dirs: u32,
    /// Data blocks referenced by inodes (contents and indirect tables).
    pub data_blocks: u32,
    /// Blocks marked used in the bitmap (metadata included).
    pub marked_blocks: u32,
    /// Data blocks marked used that no inode references.
    pub leaked_blocks: u32,
}

impl Report {
    /// Whether the image is consistent.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} inodes, {} directories, {} data blocks in use, {} blocks marked, {} leaked",
            self.inodes, self.dirs, self.data_blocks, self.marked_blocks, self.leaked_blocks
        )?;
        if self.problems.is_empty() {
            return write!(f, "consistent");
        }
        write!(f, "{} problems:", self.problems.len())?;
        for p in self.problems.iter().take(50) {
            write!(f, "\n  {p}")?;
        }
        if self.problems.len() > 50 {
            write!(f, "\n  ...")?;
        }
        Ok(())
    }
}

/// Checks the image at `path` and reports every inconsistency found.
///
/// # Errors
/// An unreadable file or a superblock that does not describe it (nothing else can be
/// checked then). Everything else is a [`Problem`] in the report.
pub fn check_fs(path: &Path) -> io::Result<Report> {
    let mut img = ImageReader::open(path)?;
    let sb = img.superblock();
    let mut report = Report::default();
    if log_needs_replay(&mut img)? {
        let n = LogHeader::decode(&img.block(sb.logstart)?[..]).n;
        report.problems.push(Problem::LogNotEmpty(n));
    }
    let mut inodes = vec![DiskInode::default(); sb.ninodes as usize];
    for inum in 1..sb.ninodes {
        inodes[inum as usize] = img.inode(inum)?;
    }
    if inodes[ROOTINO as usize].typ != T_DIR {
        report.problems.push(Problem::RootNotDir);
        return Ok(report);
    }
    let owner = check_blocks(&mut img, &inodes, &mut report)?;
    check_bitmap(&mut img, &owner, &mut report)?;
    check_tree(&mut img, &inodes, &mut report)?;
    Ok(report)
}

/// Whether the log holds a committed group that is not (wholly) installed, or a header
/// naming more blocks than the log holds.
fn log_needs_replay(img: &mut ImageReader) -> io::Result<bool> {
    let sb = img.superblock();
    let header = LogHeader::decode(&img.block(sb.logstart)?[..]);
    let n = header.n as usize;
    if n == 0 {
        return Ok(false);
    }
    if n > LOGBLOCKS {
        return Ok(true);
    }
    let mut log = vec![0u8; n * BSIZE];
    for (i, chunk) in log.chunks_exact_mut(BSIZE).enumerate() {
        chunk.copy_from_slice(&img.block(sb.logstart + 1 + i as u32)?);
    }
    let words: Vec<u64> = fsformat::words_of(&log).collect();
    if !header.is_committed(&words) {
        return Ok(false);
    }
    for (i, &home) in header.blocks[..n].iter().enumerate() {
        if home >= sb.size || img.block(home)?[..] != log[i * BSIZE..(i + 1) * BSIZE] {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records which inode owns each block, checking types, ranges, double use and sizes.
/// Returns the owner of every block (0: none).
fn check_blocks(img: &mut ImageReader, inodes: &[DiskInode], report: &mut Report) -> io::Result<Vec<u32>> {
    let sb = img.superblock();
    let mut owner = vec![0u32; sb.size as usize];
    for (inum, di) in inodes.iter().enumerate().skip(1) {
        let inum = inum as u32;
        if di.typ == T_FREE {
            continue;
        }
        report.inodes += 1;
        if ![T_DIR, T_FILE, T_DEVICE].contains(&di.typ) {
            report.problems.push(Problem::BadType { inum, typ: di.typ });
            continue;
        }
        let size_ok =
            di.size <= MAXFILE_BYTES && (di.typ != T_DIR || di.size.is_multiple_of(DIRENT_SIZE as u64));
        if !size_ok {
            report.problems.push(Problem::BadSize { inum, size: di.size });
        }
        let nblocks = di.size.div_ceil(BSIZE as u64);
        let (start, end) = (sb.data_start(), sb.size);
        // Out-of-range addresses are reported and not followed.
        img.walk_tree(di, &mut |block, file_block| {
            if block < start || block >= end {
                report.problems.push(Problem::BlockOutOfRange { inum, block });
                return false;
            }
            if let Some(fb) = file_block.filter(|&fb| fb as u64 >= nblocks) {
                report.problems.push(Problem::BlockPastEnd { inum, size: di.size, file_block: fb });
            }
            let prev = std::mem::replace(&mut owner[block as usize], inum);
            if prev != 0 {
                report.problems.push(Problem::BlockTwice { block, first: prev, second: inum });
            }
            report.data_blocks += 1;
            true
        })?;
    }
    Ok(owner)
}

/// Compares the bitmap with the owners, both ways.
fn check_bitmap(img: &mut ImageReader, owner: &[u32], report: &mut Report) -> io::Result<()> {
    let sb = img.superblock();
    let mut bitmap = Vec::new();
    for i in 0..(sb.size as usize).div_ceil(BPB) as u32 {
        bitmap.extend_from_slice(&img.block(sb.bmapstart + i)?);
    }
    let mut leaked = Vec::new();
    for b in 0..sb.size {
        let marked = bitmap[b as usize / 8] & (1 << (b % 8)) != 0;
        report.marked_blocks += u32::from(marked);
        let inum = owner[b as usize];
        if b < sb.data_start() {
            if !marked {
                report.problems.push(Problem::MetadataFree(b));
            }
        } else if inum != 0 && !marked {
            report.problems.push(Problem::UsedButFree { inum, block: b });
        } else if inum == 0 && marked {
            leaked.push(b);
        }
    }
    report.leaked_blocks = leaked.len() as u32;
    if !leaked.is_empty() {
        let first = leaked.iter().take(10).copied().collect();
        report.problems.push(Problem::Leaked { count: leaked.len() as u32, first });
    }
    Ok(())
}

/// Walks the directory tree from the root: entries, "." and "..", link counts, reachability
/// and orphans.
fn check_tree(img: &mut ImageReader, inodes: &[DiskInode], report: &mut Report) -> io::Result<()> {
    let n = inodes.len();
    let mut entries = vec![0u32; n];
    let mut parent = vec![0u32; n];
    let mut reached = vec![false; n];
    reached[ROOTINO as usize] = true;
    parent[ROOTINO as usize] = ROOTINO;
    let mut queue = VecDeque::from([ROOTINO]);
    let mut dirs = Vec::new();
    while let Some(dir) = queue.pop_front() {
        dirs.push(dir);
        let di = inodes[dir as usize];
        let raw = img.contents(&di).unwrap_or_default();
        let list: Vec<(usize, Dirent)> = raw
            .chunks_exact(DIRENT_SIZE)
            .map(Dirent::decode)
            .enumerate()
            .filter(|(_, d)| d.inum != 0)
            .collect();
        let dots_ok = raw.len() >= 2 * DIRENT_SIZE && {
            let (dot, dotdot) = (Dirent::decode(&raw[..DIRENT_SIZE]), Dirent::decode(&raw[DIRENT_SIZE..]));
            dot.matches(b".") && u32::from(dot.inum) == dir && dotdot.matches(b"..")
        };
        if !dots_ok {
            report.problems.push(Problem::BadDots { dir });
        }
        for (slot, d) in list {
            let inum = u32::from(d.inum);
            let name = String::from_utf8_lossy(d.name()).into_owned();
            if inum as usize >= n || inodes[inum as usize].typ == T_FREE {
                report.problems.push(Problem::DanglingEntry { dir, name, inum });
                continue;
            }
            if slot == 0 && d.matches(b".") {
                continue;
            }
            entries[inum as usize] += 1;
            if slot == 1 && d.matches(b"..") {
                if dots_ok && inum != parent[dir as usize] {
                    report.problems.push(Problem::BadDots { dir });
                }
                continue;
            }
            if inodes[inum as usize].typ == T_DIR {
                if reached[inum as usize] {
                    report.problems.push(Problem::DirLinkedTwice { dir: inum });
                    continue;
                }
                parent[inum as usize] = dir;
                queue.push_back(inum);
            }
            reached[inum as usize] = true;
        }
    }
    report.dirs = dirs.len() as u32;
    for (inum, di) in inodes.iter().enumerate().skip(1) {
        if di.typ == T_FREE {
            continue;
        }
        let inum32 = inum as u32;
        if di.nlink == 0 {
            report.problems.push(Problem::Orphan { inum: inum32 });
        } else if !reached[inum] {
            report.problems.push(Problem::Unreachable { inum: inum32, nlink: di.nlink });
            continue;
        }
        if i64::from(di.nlink) != i64::from(entries[inum]) {
            report.problems.push(Problem::LinkCount {
                inum: inum32,
                nlink: di.nlink,
                entries: entries[inum],
            });
        }
    }
    Ok(())
}
