//! Decides what goes into the guest's file-system image and writes it through `mkfs`.
//!
//! The root directory gets `README` (the repository's README.md), every user program under its
//! own name, and every extra host file under its file name; an extra file replaces a program
//! of the same name, so an xv6 C binary can stand in for the Rust one. It does not know the
//! on-disk format; that is `mkfs`'s and `fsformat`'s.

use crate::{build::Artifacts, Error, Result};
use std::path::{Path, PathBuf};

/// Image size in blocks and inode count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSize {
    /// Size in 1024-byte blocks.
    pub blocks: u32,
    /// Number of inodes.
    pub inodes: u32,
}

impl Default for ImageSize {
    fn default() -> Self {
        ImageSize { blocks: mkfs::DEFAULT_BLOCKS, inodes: mkfs::DEFAULT_INODES }
    }
}

/// Where `cargo run` writes its image.
pub fn default_image_path(root: &Path) -> PathBuf {
    root.join("build").join("fs.img")
}

fn name_of(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::new(format!("{}: no usable file name", path.display())))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
}

/// The (name, contents) list for the image: README, the programs, then the extra files, an
/// extra file replacing an earlier entry of the same name.
pub fn image_files(root: &Path, programs: &[PathBuf], extra: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![("README".to_string(), read(&root.join("README.md"))?)];
    for path in programs.iter().chain(extra) {
        let entry = (name_of(path)?, read(path)?);
        match files.iter_mut().find(|(n, _)| *n == entry.0) {
            Some(old) => *old = entry,
            None => files.push(entry),
        }
    }
    Ok(files)
}

/// Writes an image to `out` (creating its directory) holding README, the built programs and
/// the `extra` files.
pub fn make_image(
    root: &Path,
    artifacts: &Artifacts,
    extra: &[PathBuf],
    out: &Path,
    size: ImageSize,
) -> Result<()> {
    let files = image_files(root, &artifacts.programs, extra)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    mkfs::build_image(out, &files, size.blocks, size.inodes)
        .map_err(|e| Error::new(format!("cannot make the image {}: {e}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_files_replace_programs_of_the_same_name() {
        let dir = std::env::temp_dir().join(format!("vmos-image-test-{}", std::process::id()));
        let (bin, add) = (dir.join("bin"), dir.join("add"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&add).unwrap();
        std::fs::write(dir.join("README.md"), b"readme").unwrap();
        std::fs::write(bin.join("sh"), b"rust sh").unwrap();
        std::fs::write(bin.join("cat"), b"rust cat").unwrap();
        std::fs::write(add.join("sh"), b"c sh").unwrap();
        std::fs::write(add.join("data"), b"d").unwrap();
        let files =
            image_files(&dir, &[bin.join("cat"), bin.join("sh")], &[add.join("sh"), add.join("data")])
                .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let expect: Vec<(String, Vec<u8>)> =
            [("README", &b"readme"[..]), ("cat", b"rust cat"), ("sh", b"c sh"), ("data", b"d")]
                .iter()
                .map(|(n, d)| (n.to_string(), d.to_vec()))
                .collect();
        assert_eq!(files, expect);
    }
}
