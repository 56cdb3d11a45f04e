//! Unit tests of the page cache: insertion races, the page-state machine, eviction,
//! truncation and the counters, against the mock frame allocator.

use alloc::rc::Rc;
use alloc::vec::Vec;

use super::*;
use crate::mock::{MockFrame, MockFrames};

fn fresh(frames: &MockFrames, n: usize) -> Vec<MockFrame> {
    (0..n).map(|_| frames.alloc().unwrap()).collect()
}

fn setup(size_pages: u64) -> (Rc<MockFrames>, PageCache<MockFrame>) {
    (MockFrames::new(), PageCache::file(size_pages * PAGE_SIZE as u64))
}

#[test]
fn insert_run_keeps_the_page_already_cached() {
    let (frames, mut c) = setup(8);
    let old = fresh(&frames, 1);
    assert_eq!(c.insert_run(&*frames, 3, &old), 1);
    let new = fresh(&frames, 3);
    assert_eq!(c.insert_run(&*frames, 2, &new), 2);
    assert!(c.holds(3, old[0]), "the cached page wins");
    assert!(c.holds(2, new[0]) && c.holds(4, new[2]));
    assert_eq!(c.pages(), 3);
    assert_eq!(frames.live(), 3, "the newcomer for page 3 was freed");
    c.check_invariants();
    assert_eq!(c.drop_all(&*frames), 3);
    assert_eq!(frames.live(), 0);
}

#[test]
fn insert_run_drops_pages_past_end_of_file() {
    let (frames, mut c) = setup(2);
    let new = fresh(&frames, 4);
    assert_eq!(c.insert_run(&*frames, 1, &new), 1);
    assert_eq!(frames.live(), 1);
    c.drop_all(&*frames);
}

#[test]
fn lookup_gives_a_reference() {
    let (frames, mut c) = setup(4);
    let f = fresh(&frames, 1);
    c.insert_run(&*frames, 0, &f);
    assert_eq!(c.lookup(&*frames, 1), None);
    let got = c.lookup(&*frames, 0).unwrap();
    assert_eq!(frames.refcount(got), 2);
    frames.free(got);
    assert_eq!(c.absent_run(1, 4), 3);
    assert_eq!(c.absent_run(0, 4), 0);
    assert_eq!(c.cached(0, 4).collect::<Vec<_>>(), [(0, f[0])]);
    c.drop_all(&*frames);
    assert_eq!(frames.live(), 0);
}

#[test]
fn state_machine_clean_dirty_writeback() {
    let (frames, mut c) = setup(4);
    let f = fresh(&frames, 2);
    c.insert_run(&*frames, 0, &f);
    assert_eq!(c.state(0), Some(PageState::Clean));
    assert!(!c.mark_dirty(0, f[1]), "wrong frame: not the cache's page");
    assert!(c.mark_dirty(0, f[0]) && c.mark_dirty(0, f[0]));
    assert_eq!((c.state(0), c.dirty()), (Some(PageState::Dirty), 1));
    assert_eq!(c.take_dirty(&*frames, 1, 4), None);

    // Success, not redirtied: Clean.
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    assert_eq!((i, w, c.dirty(), c.writeback()), (0, f[0], 0, 1));
    assert_eq!(frames.refcount(w), 2, "writer's reference");
    c.finish_writeback(i, w, true);
    frames.free(w);
    assert_eq!((c.state(0), c.dirty(), c.writeback()), (Some(PageState::Clean), 0, 0));

    // Redirtied during the write: Dirty again.
    c.mark_dirty(0, f[0]);
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    c.mark_dirty(0, f[0]);
    assert_eq!(c.state(0), Some(PageState::Writeback { redirtied: true }));
    c.finish_writeback(i, w, true);
    frames.free(w);
    assert_eq!((c.state(0), c.dirty()), (Some(PageState::Dirty), 1));

    // Failure: Dirty again.
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    c.finish_writeback(i, w, false);
    frames.free(w);
    assert_eq!((c.state(0), c.dirty(), c.writeback()), (Some(PageState::Dirty), 1, 0));
    c.check_invariants();
    c.drop_all(&*frames);
    assert_eq!((frames.live(), c.dirty()), (0, 0));
}

#[test]
fn evict_unused_takes_only_clean_unreferenced_pages() {
    let (frames, mut c) = setup(8);
    let f = fresh(&frames, 4);
    c.insert_run(&*frames, 0, &f);
    c.mark_dirty(1, f[1]); // dirty: kept
    let mapped = c.lookup(&*frames, 2).unwrap(); // mapped somewhere: kept
    let (i, w) = {
        c.mark_dirty(3, f[3]);
        c.take_dirty(&*frames, 3, 4).unwrap() // under write-back: kept
    };
    assert_eq!(c.evict_unused(&*frames), 1, "only page 0");
    assert_eq!(c.state(0), None);
    c.finish_writeback(i, w, true);
    frames.free(w);
    frames.free(mapped);
    assert_eq!(c.evict_unused(&*frames), 2, "pages 2 and 3 now");
    assert_eq!(c.pages(), 1);
    c.check_invariants();
    c.drop_all(&*frames);
    assert_eq!(frames.live(), 0);
}

#[test]
fn anonymous_pages_are_never_evicted() {
    let frames = MockFrames::new();
    let mut c = PageCache::anonymous();
    let f = fresh(&frames, 2);
    assert_eq!(c.insert_run(&*frames, 1000, &f), 2, "no end-of-file");
    assert_eq!(c.evict_unused(&*frames), 0);
    assert_eq!((c.size(), c.file_pages()), (None, None));
    c.drop_all(&*frames);
    assert_eq!(frames.live(), 0);
}

#[test]
fn truncate_drops_whole_pages_and_zeroes_the_tail() {
    let (frames, mut c) = setup(4);
    let f = fresh(&frames, 4);
    for &x in &f {
        frames.fill(x, &[7; PAGE_SIZE]);
    }
    c.insert_run(&*frames, 0, &f);
    c.mark_dirty(3, f[3]);
    let mapped = c.lookup(&*frames, 2).unwrap();
    let (i, w) = {
        c.mark_dirty(2, f[2]);
        c.take_dirty(&*frames, 2, 3).unwrap()
    };
    c.truncate(&*frames, PAGE_SIZE as u64 + 100);
    assert_eq!((c.pages(), c.dirty(), c.writeback(), c.file_pages()), (2, 0, 0, Some(2)));
    let tail = frames.bytes(f[1]);
    assert!(tail[..100].iter().all(|&b| b == 7) && tail[100..].iter().all(|&b| b == 0));
    assert!(frames.bytes(f[0]).iter().all(|&b| b == 7));
    c.finish_writeback(i, w, true); // the page is gone: nothing happens
    frames.free(w);
    assert_eq!(frames.refcount(mapped), 1, "the mapping's reference survives");
    frames.free(mapped);
    c.check_invariants();
    c.grow(10 * PAGE_SIZE as u64);
    assert_eq!(c.file_pages(), Some(10));
    c.truncate(&*frames, 0);
    assert_eq!(c.pages(), 0);
    assert_eq!(frames.live(), 0);
}

#[test]
#[should_panic]
fn growing_backwards_is_a_kernel_bug() {
    let (_frames, mut c) = setup(4);
    c.grow(1);
}
