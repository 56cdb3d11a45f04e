//! A clean shutdown loses no store made through a mapping: a guest program stores into a
//! shared file mapping and calls `poweroff` without unmapping; the image, read on the host
//! afterwards, holds the stores.

mod common;

use common::{artifacts, qemu_slot, TempImage};
use mkfs::ImageReader;
use std::time::Duration;
use vmos::qemu::{Guest, Machine};

/// What the guest stores at the start of each of the file's two pages
/// (`mmaptests --store-poweroff`, user/programs/src/bin/mmaptests/writeback.rs).
const TEXT: &[u8] = b"stored through a mapping, then poweroff";
const PAGE: usize = 4096;

#[test]
fn poweroff_writes_back_shared_mappings() {
    let image = TempImage::new(&[]);
    let mut machine = Machine::new(artifacts().kernel.clone(), image.path.clone());
    machine.append = Some("mmaptests --store-poweroff mmoff".into());
    let out = {
        let _slot = qemu_slot();
        let guest = Guest::start(&machine, false).unwrap_or_else(|e| panic!("{e}"));
        let outcome = guest.finish(Some(Duration::from_secs(120))).unwrap_or_else(|e| panic!("{e}"));
        assert!(!outcome.timed_out, "the guest did not power off; output:\n{}", outcome.output);
        outcome.output
    };
    assert!(out.contains("stored; powering off"), "the helper did not store; output:\n{out}");
    let mut img = ImageReader::open(&image.path).expect("open the image");
    let inum = img.lookup("/mmoff").expect("read the root directory").expect("mmoff exists");
    let inode = img.inode(inum).expect("read the inode");
    let data = img.contents(&inode).expect("read the file");
    assert_eq!(data.len(), 2 * PAGE, "the file's size changed");
    for page in 0..2 {
        let at = page * PAGE;
        assert_eq!(
            &data[at..at + TEXT.len()],
            TEXT,
            "page {page} does not hold the store made through the mapping before poweroff"
        );
        assert!(
            data[at + TEXT.len()..at + PAGE].iter().all(|&b| b == b'.'),
            "page {page} changed past the store"
        );
    }
}
