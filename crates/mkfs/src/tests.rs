//! Host tests of image construction: round trips through `read_image`, bitmap accounting,
//! and the inputs `build_image` must refuse.

use super::*;
use fsformat::{NDIRECT, NINDIRECT};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A unique image path under the system temporary directory, removed on drop.
struct TempImage(PathBuf);

impl TempImage {
    fn new(tag: &str) -> TempImage {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("mkfs-test-{}-{tag}-{n}.img", std::process::id());
        TempImage(std::env::temp_dir().join(name))
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Deterministic, non-repeating-looking bytes so misplaced blocks are caught.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn blocks_of(len: usize) -> usize {
    len.div_ceil(BSIZE)
}

/// Data blocks plus the indirect tables a file of `len` bytes needs.
fn blocks_with_tables(len: usize) -> usize {
    let n = blocks_of(len);
    let mut tables = 0;
    if n > NDIRECT {
        tables += 1;
    }
    if n > NDIRECT + NINDIRECT {
        let rest = n - NDIRECT - NINDIRECT;
        tables += 1 + rest.div_ceil(NINDIRECT);
    }
    n + tables
}

#[test]
fn round_trip_small_and_large_files() {
    let double_len = (NDIRECT + NINDIRECT + 2 * NINDIRECT + 5) * BSIZE + 123;
    let mut sparse = vec![0u8; 40 * BSIZE];
    sparse[17 * BSIZE + 9] = 0xaa;
    let files = vec![
        ("README".to_string(), b"hello, file system\n".to_vec()),
        ("empty".to_string(), Vec::new()),
        ("exactblock".to_string(), pattern(BSIZE, 1)),
        ("direct".to_string(), pattern(NDIRECT * BSIZE, 2)),
        ("single".to_string(), pattern((NDIRECT + 7) * BSIZE + 1, 3)),
        ("double".to_string(), pattern(double_len, 4)),
        ("zeros".to_string(), sparse),
        ("fourteen_chars".to_string(), b"x".to_vec()),
    ];
    let img = TempImage::new("round");
    build_image(&img.0, &files, 4096, 200).unwrap();
    assert_eq!(read_image(&img.0).unwrap(), files);
    // The big file really went through the doubly-indirect block.
    let mut reader = ImageReader::open(&img.0).unwrap();
    let inum = 2 + files.iter().position(|(n, _)| n == "double").unwrap() as u32;
    let inode = reader.inode(inum).unwrap();
    assert_ne!(inode.addrs[fsformat::DOUBLE_INDIRECT], 0);
    assert_eq!(inode.nlink, 1);
    let root = reader.inode(ROOTINO).unwrap();
    assert_eq!((root.typ, root.nlink), (T_DIR, 1));
    let names: Vec<Vec<u8>> =
        reader.dir_entries(ROOTINO).unwrap().iter().map(|d| d.name().to_vec()).collect();
    assert_eq!(names[..2], [b".".to_vec(), b"..".to_vec()]);
    assert!(reader.dir_entries(ROOTINO).unwrap().iter().take(2).all(|d| u32::from(d.inum) == ROOTINO));
}

#[test]
fn bitmap_marks_exactly_metadata_and_used_blocks() {
    let files = vec![
        ("a".to_string(), pattern(3 * BSIZE, 5)),
        ("b".to_string(), pattern((NDIRECT + NINDIRECT + 3) * BSIZE, 6)),
        ("c".to_string(), Vec::new()),
    ];
    let img = TempImage::new("bitmap");
    build_image(&img.0, &files, 2000, 64).unwrap();
    let usage = check_image(&img.0).unwrap();
    let sb = ImageReader::open(&img.0).unwrap().superblock();
    // The root directory: 5 entries of 16 bytes fit one block.
    let data: usize = 1 + files.iter().map(|(_, d)| blocks_with_tables(d.len())).sum::<usize>();
    assert_eq!(usage.data_blocks as usize, data);
    assert_eq!(usage.used_blocks, sb.data_start() + data as u32);
    assert_eq!(usage.inodes, 1 + files.len() as u32);
}

#[test]
fn bitmap_spanning_several_blocks() {
    // More than BPB blocks: the bitmap takes two blocks and the second must be right too.
    let files = vec![("big".to_string(), pattern(12_000 * BSIZE, 7))];
    let img = TempImage::new("bitmap2");
    build_image(&img.0, &files, 20_000, 32).unwrap();
    let usage = check_image(&img.0).unwrap();
    let sb = ImageReader::open(&img.0).unwrap().superblock();
    let data = 1 + blocks_with_tables(12_000 * BSIZE) as u32;
    assert_eq!(usage.used_blocks, sb.data_start() + data);
    assert_eq!(read_image(&img.0).unwrap(), files);
}

#[test]
fn default_image_is_sparse_and_valid() {
    let img = TempImage::new("default");
    build_image(&img.0, &[], DEFAULT_BLOCKS, DEFAULT_INODES).unwrap();
    let meta = std::fs::metadata(&img.0).unwrap();
    assert_eq!(meta.len(), u64::from(DEFAULT_BLOCKS) * BSIZE as u64);
    assert!(read_image(&img.0).unwrap().is_empty());
    check_image(&img.0).unwrap();
}

#[test]
fn root_directory_beyond_direct_blocks() {
    // 1000 entries need 16 blocks of directory: past the direct addresses.
    let files: Vec<(String, Vec<u8>)> =
        (0..1000).map(|i| (format!("f{i}"), format!("file {i}\n").into_bytes())).collect();
    let img = TempImage::new("bigdir");
    build_image(&img.0, &files, 8192, 1024).unwrap();
    assert_eq!(read_image(&img.0).unwrap(), files);
    check_image(&img.0).unwrap();
}

#[test]
fn too_long_name_is_rejected() {
    let img = TempImage::new("longname");
    let files = vec![("fifteen_chars__".to_string(), b"x".to_vec())];
    let err = build_image(&img.0, &files, 1000, 32).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("fifteen_chars__"), "{err}");
}

#[test]
fn bad_and_duplicate_names_are_rejected() {
    let img = TempImage::new("badname");
    for name in ["", ".", "..", "a/b"] {
        let files = vec![(name.to_string(), Vec::new())];
        assert!(build_image(&img.0, &files, 1000, 32).is_err(), "{name:?}");
    }
    let files = vec![("x".to_string(), Vec::new()), ("x".to_string(), Vec::new())];
    assert!(build_image(&img.0, &files, 1000, 32).is_err());
}

#[test]
fn too_big_file_is_rejected() {
    let img = TempImage::new("toobig");
    let files = vec![("huge".to_string(), vec![0u8; MAXFILE * BSIZE + 1])];
    let err = build_image(&img.0, &files, DEFAULT_BLOCKS, 32).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("huge"), "{err}");
}

#[test]
fn largest_file_fits() {
    let img = TempImage::new("maxfile");
    let files = vec![("max".to_string(), pattern(MAXFILE * BSIZE, 8))];
    build_image(&img.0, &files, DEFAULT_BLOCKS, 32).unwrap();
    assert_eq!(read_image(&img.0).unwrap(), files);
    check_image(&img.0).unwrap();
}

#[test]
fn full_image_and_too_few_inodes_are_rejected() {
    let img = TempImage::new("full");
    let files = vec![("big".to_string(), pattern(500 * BSIZE, 9))];
    assert!(build_image(&img.0, &files, 300, 32).is_err());
    let many: Vec<(String, Vec<u8>)> = (0..31).map(|i| (format!("f{i}"), Vec::new())).collect();
    assert!(build_image(&img.0, &many, 1000, 32).is_err());
    build_image(&img.0, &many[..30], 1000, 32).unwrap();
    assert!(build_image(&img.0, &[], 40, 1024).is_err());
}
