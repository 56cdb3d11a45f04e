//! Host tests of `check_fs`: a fresh image is clean, and each kind of corruption, made by
//! patching the image file directly, is caught and named.

use super::*;
use fsformat::{LogHeader, LOGBLOCKS, NDIRECT, NINDIRECT, SINGLE_INDIRECT};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// An image built by mkfs under the temporary directory, removed on drop.
struct Img(PathBuf);

impl Drop for Img {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Inode numbers of the files in [`image`]: root 1, then in this order.
const SMALL: u32 = 2;
const SINGLE: u32 = 3;
const DOUBLE: u32 = 4;
const EMPTY: u32 = 5;

fn image() -> Img {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("mkfs-check-{}-{n}.img", std::process::id()));
    let files = vec![
        ("small".to_string(), b"hello".to_vec()),
        ("single".to_string(), vec![7u8; (NDIRECT + 5) * BSIZE]),
        ("double".to_string(), vec![9u8; (NDIRECT + NINDIRECT + 300) * BSIZE + 17]),
        ("empty".to_string(), Vec::new()),
    ];
    build_image(&path, &files, 8192, 64).unwrap();
    Img(path)
}

impl Img {
    fn sb(&self) -> SuperBlock {
        ImageReader::open(&self.0).unwrap().superblock()
    }

    fn inode(&self, inum: u32) -> DiskInode {
        ImageReader::open(&self.0).unwrap().inode(inum).unwrap()
    }

    fn set_inode(&self, inum: u32, di: &DiskInode) {
        let sb = self.sb();
        let mut raw = [0u8; DINODE_SIZE];
        di.encode(&mut raw);
        let off = u64::from(sb.inode_block(inum)) * BSIZE as u64 + SuperBlock::inode_offset(inum) as u64;
        self.write_at(off, &raw);
    }

    fn edit_inode(&self, inum: u32, f: impl FnOnce(&mut DiskInode)) {
        let mut di = self.inode(inum);
        f(&mut di);
        self.set_inode(inum, &di);
    }

    fn write_at(&self, off: u64, bytes: &[u8]) {
        let f = OpenOptions::new().write(true).open(&self.0).unwrap();
        f.write_all_at(bytes, off).unwrap();
    }

    fn flip_bit(&self, b: u32) {
        let sb = self.sb();
        let off = u64::from(sb.bitmap_block(b)) * BSIZE as u64 + (b as usize % BPB / 8) as u64;
        let f = OpenOptions::new().read(true).write(true).open(&self.0).unwrap();
        let mut byte = [0u8];
        f.read_exact_at(&mut byte, off).unwrap();
        byte[0] ^= 1 << (b % 8);
        f.write_all_at(&byte, off).unwrap();
    }

    /// Overwrites root directory entry number `slot`.
    fn set_root_entry(&self, slot: usize, inum: u16, name: &[u8]) {
        let root = self.inode(ROOTINO);
        let mut raw = [0u8; DIRENT_SIZE];
        Dirent::new(inum, name).encode(&mut raw);
        self.write_at(u64::from(root.addrs[0]) * BSIZE as u64 + (slot * DIRENT_SIZE) as u64, &raw);
    }

    fn problems(&self) -> Vec<Problem> {
        check_fs(&self.0).unwrap().problems
    }
}

/// The first data block no file uses.
fn free_block(img: &Img) -> u32 {
    let r = check_fs(&img.0).unwrap();
    img.sb().data_start() + r.data_blocks
}

#[test]
fn a_fresh_image_is_consistent() {
    let img = image();
    let r = check_fs(&img.0).unwrap();
    assert!(r.is_clean(), "{r}");
    assert_eq!((r.inodes, r.dirs, r.leaked_blocks), (5, 1, 0));
    // Root 1 block; small 1; single NDIRECT + 5 + table; double NDIRECT + 256 + 301 data,
    // the singly-indirect table, the doubly-indirect root and 2 tables below it.
    assert_eq!(r.data_blocks as usize, 1 + 1 + (NDIRECT + 5 + 1) + (NDIRECT + 256 + 301 + 1 + 1 + 2));
}

#[test]
fn a_leaked_block_is_counted() {
    let img = image();
    let b = free_block(&img);
    img.flip_bit(b);
    img.flip_bit(b + 5);
    let r = check_fs(&img.0).unwrap();
    assert_eq!(r.leaked_blocks, 2);
    assert_eq!(r.problems, vec![Problem::Leaked { count: 2, first: vec![b, b + 5] }]);
}

#[test]
fn a_used_block_marked_free_is_caught() {
    let img = image();
    let b = img.inode(SMALL).addrs[0];
    img.flip_bit(b);
    assert_eq!(img.problems(), vec![Problem::UsedButFree { inum: SMALL, block: b }]);
}

#[test]
fn a_free_metadata_block_is_caught() {
    let img = image();
    let b = img.sb().inodestart;
    img.flip_bit(b);
    assert_eq!(img.problems(), vec![Problem::MetadataFree(b)]);
}

#[test]
fn a_block_owned_twice_is_caught() {
    let img = image();
    let shared = img.inode(SMALL).addrs[0];
    let old = img.inode(SINGLE).addrs[3];
    img.edit_inode(SINGLE, |di| di.addrs[3] = shared);
    let p = img.problems();
    assert!(p.contains(&Problem::BlockTwice { block: shared, first: SMALL, second: SINGLE }), "{p:?}");
    // The block it used before now belongs to no one.
    assert!(p.contains(&Problem::Leaked { count: 1, first: vec![old] }), "{p:?}");
}

#[test]
fn a_block_owned_twice_inside_one_file_is_caught() {
    let img = image();
    let di = img.inode(DOUBLE);
    let table = di.addrs[SINGLE_INDIRECT];
    // Entry 0 of the singly-indirect table points at the table itself.
    img.write_at(u64::from(table) * BSIZE as u64, &table.to_le_bytes());
    let p = img.problems();
    assert!(p.contains(&Problem::BlockTwice { block: table, first: DOUBLE, second: DOUBLE }), "{p:?}");
}

#[test]
fn an_address_outside_the_data_area_is_caught() {
    let img = image();
    img.edit_inode(SMALL, |di| di.addrs[0] = 3);
    let p = img.problems();
    assert!(p.contains(&Problem::BlockOutOfRange { inum: SMALL, block: 3 }), "{p:?}");
}

#[test]
fn blocks_past_the_size_are_caught() {
    let img = image();
    img.edit_inode(SINGLE, |di| di.size = 2 * BSIZE as u64);
    let p = img.problems();
    assert!(p.contains(&Problem::BlockPastEnd { inum: SINGLE, size: 2048, file_block: 2 }), "{p:?}");
    img.edit_inode(EMPTY, |di| di.size = u64::MAX);
    assert!(img.problems().contains(&Problem::BadSize { inum: EMPTY, size: u64::MAX }));
    img.edit_inode(EMPTY, |di| di.size = fsformat::MAXFILE_BYTES + 1);
    assert!(img.problems().contains(&Problem::BadSize { inum: EMPTY, size: fsformat::MAXFILE_BYTES + 1 }));
}

#[test]
fn an_entry_naming_a_free_inode_is_caught() {
    let img = image();
    img.edit_inode(EMPTY, |di| *di = DiskInode::default());
    let p = img.problems();
    assert_eq!(p, vec![Problem::DanglingEntry { dir: ROOTINO, name: "empty".into(), inum: EMPTY }]);
}

#[test]
fn a_wrong_link_count_is_caught() {
    let img = image();
    img.edit_inode(SMALL, |di| di.nlink = 2);
    assert_eq!(img.problems(), vec![Problem::LinkCount { inum: SMALL, nlink: 2, entries: 1 }]);
}

#[test]
fn an_unreachable_inode_and_an_orphan_are_caught() {
    let img = image();
    // Entries: ".", "..", "small", "single", "double", "empty".
    img.set_root_entry(2, 0, b"");
    assert!(img.problems().contains(&Problem::Unreachable { inum: SMALL, nlink: 1 }));
    img.edit_inode(SMALL, |di| di.nlink = 0);
    assert_eq!(img.problems(), vec![Problem::Orphan { inum: SMALL }]);
}

#[test]
fn wrong_dot_entries_are_caught() {
    let img = image();
    img.set_root_entry(0, SMALL as u16, b".");
    assert!(img.problems().contains(&Problem::BadDots { dir: ROOTINO }));
    let img = image();
    img.set_root_entry(1, SMALL as u16, b"..");
    assert!(img.problems().contains(&Problem::BadDots { dir: ROOTINO }));
}

#[test]
fn a_directory_named_twice_is_caught() {
    let img = image();
    // Turn "empty" into a directory (".", ".." of its own) and name it twice.
    let b = free_block(&img);
    let mut raw = [0u8; 2 * DIRENT_SIZE];
    Dirent::new(EMPTY as u16, b".").encode(&mut raw[..DIRENT_SIZE]);
    Dirent::new(ROOTINO as u16, b"..").encode(&mut raw[DIRENT_SIZE..]);
    img.write_at(u64::from(b) * BSIZE as u64, &raw);
    img.flip_bit(b);
    img.edit_inode(EMPTY, |di| {
        di.typ = fsformat::T_DIR;
        di.size = 2 * DIRENT_SIZE as u64;
        di.addrs[0] = b;
        di.nlink = 2;
    });
    img.edit_inode(ROOTINO, |di| di.nlink = 3);
    img.set_root_entry(2, EMPTY as u16, b"again");
    let p = img.problems();
    assert!(p.contains(&Problem::DirLinkedTwice { dir: EMPTY }), "{p:?}");
}

/// Writes a header naming `homes` over the log blocks `log` (sealed: a committed group)
/// into the log area of `img`.
fn put_log(img: &Img, homes: &[u32], log: &[u8]) -> LogHeader {
    let mut header = LogHeader { n: homes.len() as u32, ..Default::default() };
    header.blocks[..homes.len()].copy_from_slice(homes);
    header.seal(&fsformat::words_of(log).collect::<Vec<_>>());
    let mut raw = vec![0u8; BSIZE];
    header.encode(&mut raw);
    raw.extend_from_slice(log);
    img.write_at(u64::from(img.sb().logstart) * BSIZE as u64, &raw);
    header
}

/// The current contents of block `b` of `img`.
fn block_of(img: &Img, b: u32) -> Vec<u8> {
    ImageReader::open(&img.0).unwrap().block(b).unwrap().to_vec()
}

#[test]
fn a_log_left_full_is_caught() {
    let img = image();
    let home = img.sb().inodestart;
    let mut log = block_of(&img, home);
    log[100] ^= 0xff;
    put_log(&img, &[home], &log);
    assert_eq!(img.problems(), vec![Problem::LogNotEmpty(1)]);
}

#[test]
fn an_installed_or_uncommitted_log_is_clean() {
    // The kernel does not clear the header after installing: a committed group whose homes
    // hold its blocks is clean.
    let img = image();
    let homes = [img.sb().inodestart, img.sb().bmapstart];
    let mut log = block_of(&img, homes[0]);
    log.extend(block_of(&img, homes[1]));
    let header = put_log(&img, &homes, &log);
    assert_eq!(img.problems(), vec![]);
    // A commit cut short (a log block not matching the checksum) committed nothing, whatever
    // the homes hold.
    let mut torn = log.clone();
    torn[BSIZE + 7] ^= 1;
    let mut raw = vec![0u8; BSIZE];
    header.encode(&mut raw);
    raw.extend_from_slice(&torn);
    img.write_at(u64::from(img.sb().logstart) * BSIZE as u64, &raw);
    assert_eq!(img.problems(), vec![]);
    // A header naming more blocks than the log has is corrupt.
    let bad = LogHeader { n: LOGBLOCKS as u32 + 1, ..Default::default() };
    let mut raw = [0u8; BSIZE];
    bad.encode(&mut raw);
    img.write_at(u64::from(img.sb().logstart) * BSIZE as u64, &raw);
    assert_eq!(img.problems(), vec![Problem::LogNotEmpty(LOGBLOCKS as u32 + 1)]);
}

#[test]
fn lookup_and_files_under_follow_paths() {
    let img = image();
    let mut r = ImageReader::open(&img.0).unwrap();
    assert_eq!(r.lookup("/double").unwrap(), Some(DOUBLE));
    assert_eq!(r.lookup("/").unwrap(), Some(ROOTINO));
    assert_eq!(r.lookup("/nope").unwrap(), None);
    assert_eq!(r.lookup("/small/x").unwrap(), None);
    let files = r.files_under("/").unwrap().unwrap();
    assert_eq!(files.len(), 4);
    assert!(files.contains(&("/small".to_string(), SMALL)));
}
