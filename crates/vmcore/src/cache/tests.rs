//! Unit tests of the page cache, one transition at a time, against the mock frame allocator:
//! insertion races, lookups and the references they hand out, the Clean / Dirty machine with
//! write-back (a store reported during it, a failed write), eviction, both steps of a
//! truncation, and the dirty count the kernel reports.

use alloc::rc::Rc;
use alloc::vec::Vec;

use super::*;
use crate::mock::{MockFrame, MockFrames};
use crate::readahead::Advice;

const P: u64 = PAGE_SIZE as u64;

fn fresh(frames: &MockFrames, n: usize) -> Vec<MockFrame> {
    (0..n).map(|_| frames.alloc().unwrap()).collect()
}

/// A cache holding fresh pages at `first..first + n` (filled with byte `index + 1`).
fn setup(first: u64, n: usize) -> (Rc<MockFrames>, PageCache<MockFrame>, Vec<MockFrame>) {
    let frames = MockFrames::new();
    let mut c = PageCache::new();
    let f = fresh(&frames, n);
    for (k, &x) in f.iter().enumerate() {
        frames.fill(x, &[first as u8 + k as u8 + 1; PAGE_SIZE]);
    }
    frames.free(c.insert_run(&*frames, first, &f));
    (frames, c, f)
}

fn teardown(frames: &MockFrames, mut c: PageCache<MockFrame>) {
    c.check_invariants();
    c.drop_all(frames);
    assert_eq!((c.pages(), c.dirty()), (0, 0));
    assert_eq!(frames.live(), 0, "frames leaked");
}

#[test]
fn insert_run_keeps_the_page_already_cached() {
    let (frames, mut c, old) = setup(3, 1);
    let new = fresh(&frames, 3);
    let got = c.insert_run(&*frames, 2, &new);
    assert_eq!(got, new[0], "the page at `first`, with a reference");
    assert_eq!(frames.refcount(got), 2);
    frames.free(got);
    assert!(c.holds(3, old[0]), "the cached page wins");
    assert!(c.holds(2, new[0]) && c.holds(4, new[2]));
    assert_eq!(c.pages(), 3);
    assert_eq!(frames.live(), 3, "the newcomer for page 3 was freed");
    // The page at `first` may be the one already cached.
    let again = fresh(&frames, 1);
    assert_eq!(c.insert_run(&*frames, 3, &again), old[0]);
    frames.free(old[0]);
    assert_eq!((c.state(2), c.state(3)), (Some(PageState::Clean), Some(PageState::Clean)));
    teardown(&frames, c);
}

#[test]
#[should_panic(expected = "insert_run of no page")]
fn insert_run_of_nothing_is_a_kernel_bug() {
    let frames = MockFrames::new();
    PageCache::new().insert_run(&*frames, 0, &[]);
}

#[test]
fn lookups_give_references_and_record_hits() {
    let (frames, mut c, f) = setup(0, 1);
    assert_eq!(c.lookup(&*frames, 1), None);
    let got = c.lookup(&*frames, 0).unwrap();
    assert_eq!(frames.refcount(got), 2);
    frames.free(got);
    // `lookup` leaves the readahead state alone; `lookup_access` records the hit, so the miss
    // just after it counts as sequential.
    assert_eq!(c.clone_readahead().on_miss(1, Advice::Normal), 1);
    assert_eq!(c.lookup_access(&*frames, 7), None);
    let got = c.lookup_access(&*frames, 0).unwrap();
    frames.free(got);
    assert_eq!(c.readahead().on_miss(1, Advice::Normal), 2);
    assert_eq!(c.absent_run(1, 4), 3);
    assert_eq!(c.absent_run(0, 4), 0);
    assert_eq!(c.absent_run(5, 3), 0);
    assert_eq!(c.cached(0, 4).collect::<Vec<_>>(), [(0, f[0])]);
    teardown(&frames, c);
}

#[test]
fn share_cached_references_only_the_pages_taken() {
    let (frames, c, f) = setup(4, 4);
    let mut seen = Vec::new();
    c.share_cached(&*frames, 5, 20, |index, frame| {
        seen.push(index);
        index % 2 == 0 && frame != f[0]
    });
    assert_eq!(seen, [5, 6, 7]);
    let refs: Vec<u32> = f.iter().map(|&x| frames.refcount(x)).collect();
    assert_eq!(refs, [1, 1, 2, 1], "page 6 taken, 4 outside the range");
    frames.free(f[2]);
    teardown(&frames, c);
}

#[test]
fn dirty_and_clean_with_write_back() {
    let (frames, mut c, f) = setup(0, 2);
    assert!(!c.mark_dirty(5), "not cached");
    assert!(c.mark_dirty(0) && c.mark_dirty(0));
    assert_eq!((c.state(0), c.dirty()), (Some(PageState::Dirty), 1));
    assert_eq!(c.take_dirty(&*frames, 1, 4), None);

    // A write that succeeds: the page is Clean from the start of the write.
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    assert_eq!((i, w, c.dirty()), (0, f[0], 0));
    assert_eq!(c.state(0), Some(PageState::Clean));
    assert_eq!(frames.refcount(w), 2, "the writer's reference");
    assert_eq!(c.take_dirty(&*frames, 0, 4), None, "one writer per dirtying");
    frames.free(w);

    // A store reported during the write: Dirty at once, so the reporter takes it again.
    c.mark_dirty(0);
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    c.mark_dirty(0);
    assert_eq!((c.state(0), c.dirty()), (Some(PageState::Dirty), 1));
    let (j, w2) = c.take_dirty(&*frames, 0, 4).unwrap();
    assert_eq!((j, w2, frames.refcount(w)), (i, w, 3), "two writers, each with a reference");
    frames.free(w);
    frames.free(w2);

    // A write that fails: the writer reports the page dirty again.
    c.mark_dirty(0);
    let (i, w) = c.take_dirty(&*frames, 0, 4).unwrap();
    c.mark_dirty(i);
    frames.free(w);
    assert_eq!((c.state(0), c.dirty()), (Some(PageState::Dirty), 1));
    teardown(&frames, c);
}

#[test]
fn reclaim_writes_back_only_pages_nobody_else_references() {
    let (frames, mut c, f) = setup(0, 3);
    for i in 0..3 {
        c.mark_dirty(i);
    }
    let mapped = c.lookup(&*frames, 0).unwrap();
    let (i, w) = c.take_dirty_unused(&*frames, 0, 3).unwrap();
    assert_eq!((i, w), (1, f[1]), "page 0 is mapped");
    frames.free(w);
    assert_eq!(c.take_dirty_unused(&*frames, 0, 2), None);
    let (i, w) = c.take_dirty(&*frames, 0, 2).unwrap();
    assert_eq!(i, 0, "munmap's write-back takes it");
    frames.free(w);
    frames.free(mapped);
    assert_eq!(c.dirty(), 1);
    teardown(&frames, c);
}

#[test]
fn evict_unused_takes_only_clean_unreferenced_pages() {
    let (frames, mut c, _) = setup(0, 4);
    c.mark_dirty(1); // dirty: kept
    let mapped = c.lookup(&*frames, 2).unwrap(); // mapped somewhere: kept
    c.mark_dirty(3);
    let (_, w) = c.take_dirty(&*frames, 3, 4).unwrap(); // under write-back: kept
    assert_eq!(c.evict_unused(&*frames), 1, "only page 0");
    assert_eq!(c.state(0), None);
    frames.free(w);
    frames.free(mapped);
    assert_eq!(c.evict_unused(&*frames), 2, "pages 2 and 3 now");
    assert_eq!((c.pages(), c.dirty()), (1, 1));
    teardown(&frames, c);
}

#[test]
fn evict_first_unused_goes_one_page_at_a_time_within_the_range() {
    let (frames, mut c, _) = setup(0, 6);
    c.mark_dirty(1);
    let mapped = c.lookup(&*frames, 2).unwrap();
    assert_eq!(c.evict_first_unused(&*frames, 1, 5), Some(3));
    assert_eq!(c.evict_first_unused(&*frames, 4, 5), Some(4));
    assert_eq!(c.evict_first_unused(&*frames, 4, 5), None);
    assert_eq!(c.evict_first_unused(&*frames, 1, 3), None, "dirty and mapped stay");
    let left: Vec<u64> = c.cached(0, 10).map(|(i, _)| i).collect();
    assert_eq!(left, [0, 1, 2, 5]);
    frames.free(mapped);
    teardown(&frames, c);
}

#[test]
fn truncate_drops_unused_pages_and_zeroes_the_rest() {
    let (frames, mut c, f) = setup(0, 5);
    c.mark_dirty(1); // the new last page, partly kept: stays dirty
    c.mark_dirty(2); // wholly past the end, unused: dropped although dirty
    c.mark_dirty(3); // wholly past the end, mapped: zeroed and cleaned
    let mapped = c.lookup(&*frames, 3).unwrap();
    c.truncate(&*frames, P + 100);
    let left: Vec<u64> = c.cached(0, 10).map(|(i, _)| i).collect();
    assert_eq!(left, [0, 1, 3]);
    assert_eq!((c.state(1), c.state(3), c.dirty()), (Some(PageState::Dirty), Some(PageState::Clean), 1));
    let tail = frames.bytes(f[1]);
    assert!(tail[..100].iter().all(|&b| b == 2) && tail[100..].iter().all(|&b| b == 0));
    assert!(frames.bytes(f[0]).iter().all(|&b| b == 1), "page 0 untouched");
    assert!(frames.bytes(f[3]).iter().all(|&b| b == 0), "a page past the end shows zeros");
    // Step 3: once the mapping is gone, the page goes too; the partial page stays as it is.
    c.drop_past_end(&*frames, P + 100);
    assert!(c.holds(3, f[3]), "still mapped");
    frames.free(mapped);
    c.drop_past_end(&*frames, P + 100);
    assert_eq!(c.pages(), 2);
    assert_eq!(frames.bytes(f[1])[..100], [2; 100]);
    assert_eq!(c.state(1), Some(PageState::Dirty));
    teardown(&frames, c);
}

#[test]
fn drop_past_end_zeroes_a_page_a_reader_still_holds() {
    let (frames, mut c, f) = setup(0, 2);
    c.mark_dirty(1);
    let reading = c.lookup(&*frames, 1).unwrap();
    c.drop_past_end(&*frames, P);
    assert_eq!((c.state(1), c.dirty()), (Some(PageState::Clean), 0));
    assert!(frames.bytes(f[1]).iter().all(|&b| b == 0));
    frames.free(reading);
    c.drop_past_end(&*frames, P);
    assert_eq!(c.pages(), 1);
    c.truncate(&*frames, 0);
    assert_eq!(c.pages(), 0);
    teardown(&frames, c);
}

#[test]
fn drop_all_frees_every_page_whatever_its_state() {
    let (frames, mut c, _) = setup(0, 3);
    c.mark_dirty(0);
    let (_, w) = c.take_dirty(&*frames, 0, 1).unwrap();
    c.mark_dirty(2);
    c.drop_all(&*frames);
    assert_eq!((c.pages(), c.dirty(), frames.live()), (0, 0, 1), "the writer's reference is its own");
    frames.free(w);
    teardown(&frames, c);
}

impl<Fr: Copy + Eq> PageCache<Fr> {
    /// A copy of the readahead state, to ask it without moving it.
    fn clone_readahead(&self) -> Readahead {
        self.readahead
    }
}
