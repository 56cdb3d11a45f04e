//! Big files through the kernel: an image holding files mkfs makes sparsely on the host (a
//! 5 GiB file of holes with bytes across 4 GiB and at its end, and a file with every block
//! allocated past the doubly-indirect range) is booted with `mmaptests faroffsets`, which
//! reads and stores at those offsets through shared mappings and unlinks the second file;
//! the host then reads the stores back from the image and checks its consistency (no block
//! leaked by the freeing, no orphan left). The same image format at 8 GiB boots as fast
//! as a small one (the kernel reads no bitmap at mount).

mod common;

use common::{artifacts, has_line, qemu_slot};
use fsformat::{BSIZE, NDIRECT, NINDIRECT};
use mkfs::{Contents, ImageReader, SparseFile};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vmos::qemu::{Guest, Machine};

const GIB: u64 = 1 << 30;
/// The same values as user/programs/src/bin/mmaptests/big.rs.
const FAR_SIZE: u64 = 5 * GIB + 123;
const WIDE_SIZE: u64 = ((NDIRECT + NINDIRECT + NINDIRECT * NINDIRECT) * BSIZE) as u64 + 2 * (1 << 20);
const FAR_STORE_AT: u64 = 4 * GIB + 3 * 4096 + 7;
const FAR_LAST_AT: u64 = FAR_SIZE - 20;

/// An image file under cargo's temporary directory, removed on drop.
struct Img(PathBuf);

impl Drop for Img {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Makes an image of `blocks` blocks with README, the programs and `extra`.
fn image(tag: &str, blocks: u32, extra: Vec<(String, Contents)>) -> Img {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bigfs-{tag}-{}.img", std::process::id()));
    let root = vmos::repo_root();
    let files = vmos::image::image_files(&root, &artifacts().programs, &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<(String, Contents)> =
        files.into_iter().map(|(n, d)| (n, Contents::Bytes(d))).collect();
    files.extend(extra);
    mkfs::build_image_from(&path, &files, blocks, mkfs::DEFAULT_INODES).unwrap();
    Img(path)
}

/// Boots `image` with `command`; returns (exit code, output).
fn boot(image: &Path, command: &str, timeout: Duration) -> (i32, String) {
    let mut machine = Machine::new(artifacts().kernel.clone(), image.to_path_buf());
    machine.append = Some(command.to_string());
    let _slot = qemu_slot();
    let outcome =
        Guest::start(&machine, false).and_then(|g| g.finish(Some(timeout))).unwrap_or_else(|e| panic!("{e}"));
    let out = outcome.output.replace('\r', "");
    assert!(!outcome.timed_out, "`{command}` timed out; output:\n{out}");
    (outcome.code.unwrap_or(-1), out)
}

fn sparse(len: u64, pieces: &[(u64, &[u8])], holes: bool) -> Contents {
    Contents::Sparse(SparseFile {
        len,
        pieces: pieces.iter().map(|&(o, b)| (o, b.to_vec())).collect(),
        holes,
    })
}

#[test]
fn offsets_past_four_gib_through_the_kernel() {
    let far = sparse(FAR_SIZE, &[(4 * GIB - 3, b"ACROSS4G"), (FAR_SIZE - 3, b"END")], true);
    let wide = sparse(WIDE_SIZE, &[(WIDE_SIZE - 5, b"wide!")], false);
    let img = image("far", 256 << 10, vec![("mmfar".into(), far), ("mmwide".into(), wide)]);
    let before = mkfs::check_fs(&img.0).unwrap();
    assert!(before.is_clean(), "{before}");
    let (code, out) = boot(&img.0, "mmaptests faroffsets", Duration::from_secs(600));
    assert!(has_line(&out, "test faroffsets: OK"), "faroffsets failed; output:\n{out}");
    assert_eq!(code, 0, "output:\n{out}");
    for line in out.lines().filter(|l| l.starts_with("faroffsets: ")) {
        eprintln!("{line}");
    }
    let report = mkfs::check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "after faroffsets: {report}");
    let mut r = ImageReader::open(&img.0).unwrap();
    assert_eq!(r.lookup("/mmwide").unwrap(), None, "mmwide was not unlinked");
    let inum = r.lookup("/mmfar").unwrap().expect("mmfar is gone");
    let di = r.inode(inum).unwrap();
    assert_eq!(di.size, FAR_SIZE);
    assert_eq!(r.read_at(&di, FAR_STORE_AT, 6).unwrap(), b"STORED");
    assert_eq!(r.read_at(&di, FAR_LAST_AT, 8).unwrap(), b"LASTPAGE");
    assert_eq!(r.read_at(&di, 4 * GIB - 3, 8).unwrap(), b"ACROSS4G");
    assert_eq!(r.read_at(&di, FAR_SIZE - 3, 10).unwrap(), b"END");
    // mmwide's blocks are free again, and the stores into holes took a few blocks (two
    // pages and the tables down to them), not the holes around them.
    let wide_blocks = WIDE_SIZE / BSIZE as u64;
    let after = u64::from(report.data_blocks) + wide_blocks;
    assert!(after <= u64::from(before.data_blocks) + 16, "before: {before}\nafter: {report}");
}

#[test]
fn an_eight_gib_image_boots_and_truncates_a_big_file() {
    // A file of 80 MiB, every block allocated (past the doubly-indirect range), on an 8 GiB
    // image: `>` truncates it (freed progressively after the operation), then a new file is
    // written; the image stays consistent with no leaked block.
    let len = 80 << 20;
    let img = image("8g", 8 << 20, vec![("mmbig".into(), sparse(len, &[(len - 4, b"tail")], false))]);
    let (code, out) = boot(&img.0, "echo truncated > mmbig; cat mmbig", Duration::from_secs(300));
    assert!(has_line(&out, "truncated"), "output:\n{out}");
    assert_eq!(code, 0, "output:\n{out}");
    let report = mkfs::check_fs(&img.0).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.leaked_blocks, 0);
    let mut r = ImageReader::open(&img.0).unwrap();
    let inum = r.lookup("/mmbig").unwrap().unwrap();
    let di = r.inode(inum).unwrap();
    assert_eq!(r.contents(&di).unwrap(), b"truncated\n");
}
