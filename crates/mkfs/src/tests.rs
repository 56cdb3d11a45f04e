//! Host tests of image construction: round trips through `read_image`, bitmap accounting,
//! and the inputs `build_image` must refuse.

use super::*;
use fsformat::{MAXFILE_BYTES, NDIRECT, NINDIRECT, TRIPLE_INDIRECT};
use std::os::unix::fs::MetadataExt;
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

/// Data blocks plus the indirect tables a file of `len` bytes needs (every block allocated).
fn blocks_with_tables(len: u64) -> usize {
    let n = len.div_ceil(BSIZE as u64) as usize;
    let mut tables = 0;
    let mut rest = n.saturating_sub(NDIRECT);
    for depth in 1..=3u32 {
        let here = rest.min(NINDIRECT.pow(depth));
        // A table `level` levels below the tree's root covers NINDIRECT^(depth - level) blocks.
        for level in 0..depth {
            tables += here.div_ceil(NINDIRECT.pow(depth - level));
        }
        rest -= here;
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
    let data: usize = 1 + files.iter().map(|(_, d)| blocks_with_tables(d.len() as u64)).sum::<usize>();
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
    let data = 1 + blocks_with_tables(12_000 * BSIZE as u64) as u32;
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

/// A sparse file of `len` bytes holding `pieces`.
fn sparse(len: u64, pieces: &[(u64, &[u8])], holes: bool) -> Contents {
    let pieces = pieces.iter().map(|&(off, b)| (off, b.to_vec())).collect();
    Contents::Sparse(SparseFile { len, pieces, holes })
}

/// Bytes the host file system really holds for `path` (its sparse size).
fn host_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn too_big_file_is_rejected() {
    let img = TempImage::new("toobig");
    let files = vec![("huge".to_string(), sparse(MAXFILE_BYTES + 1, &[], true))];
    let err = build_image_from(&img.0, &files, DEFAULT_BLOCKS, 32).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("huge"), "{err}");
    let files = vec![("out".to_string(), sparse(100, &[(98, b"abc")], true))];
    assert!(build_image_from(&img.0, &files, DEFAULT_BLOCKS, 32).is_err());
}

#[test]
fn largest_file_fits() {
    // Holes everywhere but the first and the last block: the whole triply-indirect range.
    let img = TempImage::new("maxfile");
    let files = vec![(
        "max".to_string(),
        sparse(MAXFILE_BYTES, &[(0, b"first"), (MAXFILE_BYTES - 4, b"last")], true),
    )];
    build_image_from(&img.0, &files, 4096, 32).unwrap();
    let mut r = ImageReader::open(&img.0).unwrap();
    let inode = r.inode(2).unwrap();
    assert_eq!(inode.size, MAXFILE_BYTES);
    assert_ne!(inode.addrs[TRIPLE_INDIRECT], 0);
    assert_eq!(r.read_at(&inode, MAXFILE_BYTES - 6, 100).unwrap(), b"\0\0last");
    assert_eq!(r.read_at(&inode, 0, 6).unwrap(), b"first\0");
    assert_eq!(r.read_at(&inode, 1 << 33, 3).unwrap(), [0, 0, 0]);
    let report = check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "{report}");
    // The root directory's block, two data blocks, and the 3 tables down to the last.
    assert_eq!(report.data_blocks, 1 + 2 + 3);
}

#[test]
fn file_past_the_double_indirect_range() {
    // Every block allocated, across the doubly-/triply-indirect boundary.
    let boundary = ((NDIRECT + NINDIRECT + NINDIRECT * NINDIRECT) * BSIZE) as u64;
    let len = boundary + 300 * BSIZE as u64 + 5;
    let marks: [(u64, &[u8]); 3] = [(boundary - 3, b"across"), (len - 5, b"tail!"), (77, b"head")];
    let files =
        vec![("t".to_string(), sparse(len, &marks, false)), ("s".to_string(), b"small".to_vec().into())];
    let img = TempImage::new("triple");
    build_image_from(&img.0, &files, 80_000, 32).unwrap();
    let mut r = ImageReader::open(&img.0).unwrap();
    let inode = r.inode(2).unwrap();
    assert_eq!(inode.size, len);
    assert_ne!(inode.addrs[TRIPLE_INDIRECT], 0);
    for (off, bytes) in marks {
        assert_eq!(r.read_at(&inode, off, bytes.len()).unwrap(), bytes);
    }
    assert_eq!(r.read_at(&inode, boundary + 3, 4).unwrap(), [0; 4]);
    let report = check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.data_blocks as usize, 1 + blocks_with_tables(len) + 1);
    let usage = check_image(&img.0).unwrap();
    assert_eq!(usage.data_blocks, report.data_blocks);
}

#[test]
fn sizes_around_four_gib() {
    let four = 4u64 << 30;
    let img = TempImage::new("4g");
    for len in [four - 1, four, four + 1] {
        let files =
            vec![("f".to_string(), sparse(len, &[(four - 2, &b"xyz"[..(len + 2 - four) as usize])], true))];
        build_image_from(&img.0, &files, 4096, 32).unwrap();
        let mut r = ImageReader::open(&img.0).unwrap();
        let inode = r.inode(2).unwrap();
        assert_eq!(inode.size, len);
        assert_eq!(r.read_at(&inode, four - 2, 10).unwrap(), b"xyz"[..(len + 2 - four) as usize]);
        let report = check_fs(&img.0).unwrap();
        assert!(report.is_clean(), "{len}: {report}");
    }
}

/// The host test the big-file issue asks for: a 5 GiB image holding one file of more than
/// 4 GiB with every block allocated, written sparsely (the host file holds the metadata
/// only), accepted by both checkers.
#[test]
fn sparse_five_gib_image_with_a_file_over_four_gib() {
    let total = 5u32 << 20; // blocks: 5 GiB
    let len = (4u64 << 30) + 12_345;
    let files = vec![("big".to_string(), sparse(len, &[(4 << 30, b"past 4 GiB")], false))];
    let img = TempImage::new("5g");
    build_image_from(&img.0, &files, total, 64).unwrap();
    assert_eq!(std::fs::metadata(&img.0).unwrap().len(), u64::from(total) * BSIZE as u64);
    let tables = blocks_with_tables(len) - blocks_of(len as usize);
    // Indirect tables (about 16 MiB), the bitmap, the inodes and one data block; each table
    // lies between data blocks, so it may take a whole 4 KiB block of the host's.
    let on_host = host_bytes(&img.0);
    assert!(on_host < (tables as u64 + 1000) * 4096, "{on_host} bytes on the host");
    let report = check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.data_blocks as usize, 1 + blocks_with_tables(len));
    check_image(&img.0).unwrap();
    let mut r = ImageReader::open(&img.0).unwrap();
    let inode = r.inode(2).unwrap();
    assert_eq!(r.read_at(&inode, (4 << 30) - 2, 12).unwrap(), b"\0\0past 4 GiB");
}

#[test]
fn sparse_eight_gib_image() {
    let total = 8u32 << 20;
    let img = TempImage::new("8g");
    build_image(&img.0, &[("README".to_string(), b"hi".to_vec())], total, DEFAULT_INODES).unwrap();
    assert_eq!(std::fs::metadata(&img.0).unwrap().len(), 8 << 30);
    let on_host = host_bytes(&img.0);
    assert!(on_host < 1 << 20, "{on_host} bytes on the host");
    let sb = ImageReader::open(&img.0).unwrap().superblock();
    assert_eq!(sb.size, total);
    assert_eq!(sb.bmapstart + total / BPB as u32 + 1, sb.data_start());
    let report = check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "{report}");
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
