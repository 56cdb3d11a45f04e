//! Readahead: how many pages a page-cache miss reads, from where the previous faults on the
//! same file were and what `madvise` said about it.
//!
//! This module owns the window rule and its state (one per page cache). It must not allocate,
//! read or know about frames: the executor (`crate::fault`) asks it for a window, then clamps
//! it to the mapping, the file and the pages already cached.

/// Largest readahead window, in pages.
pub const MAX_READAHEAD: u64 = 32;

/// How far (in pages) a fault may land past the previous one and still count as sequential:
/// the fault-around window, since a scan through a mapping faults once per such window.
pub const SEQUENTIAL_SLACK: u64 = 16;

/// The access pattern announced by `madvise` for a mapping: the VMA attribute of `vmspace`
/// (`Normal`: guess from the faults, the doubling rule of [`Readahead::on_miss`]; `Random`:
/// every miss reads one page; `Sequential`: every miss reads [`MAX_READAHEAD`] pages).
pub use vmspace::Advice;

/// Where the last access to a cache was and how much the last miss read (one per page
/// cache: every mapping of the file, and `read()`, move it).
///
/// With `last` the page of the previous access (hit or miss) and `w` the previous window, a
/// miss under [`Advice::Normal`] reads:
///
/// ```text
///   miss at i, last = l:   l < i <= l + SEQUENTIAL_SLACK  →  window = clamp(2w, 2, 32)
///                          anything else (first fault,     →  window = 1
///                          backwards, same page, too far)
///
///   pages:  0 1 2 3 4 5 6 7 8 9 ...
///   scan:   ^1  ^2  ^4      ^8              ^16 ...   (each miss lands just past the last
///                                                      window, so the window doubles)
/// ```
///
/// Under `Sequential` a miss moves the state as `Normal` does and reads [`MAX_READAHEAD`];
/// under `Random` it reads one page and leaves the state alone, so the file's other
/// mappings keep their pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Readahead {
    /// Page index of the last access (hit or miss); `None` before the first.
    last: Option<u64>,
    /// Pages the last recorded miss asked for (0 before the first).
    window: u64,
}

impl Readahead {
    /// The state of a cache no access has touched.
    pub const fn new() -> Readahead {
        Readahead { last: None, window: 0 }
    }

    /// Records an access at `index` that found the page cached.
    pub fn on_hit(&mut self, index: u64) {
        self.last = Some(index);
    }

    /// Records a miss at `index` through a mapping with `advice` (`read()` counts as
    /// `Normal`) and returns how many pages to read from `index` on, in `[1, MAX_READAHEAD]`
    /// (before the caller's clamps: [`fault_window`], the file's end, the pages cached).
    pub fn on_miss(&mut self, index: u64, advice: Advice) -> u64 {
        if advice == Advice::Random {
            return 1;
        }
        let sequential = self.last.is_some_and(|l| index > l && index - l <= SEQUENTIAL_SLACK);
        self.window = if sequential { (self.window * 2).clamp(2, MAX_READAHEAD) } else { 1 };
        self.last = Some(index);
        match advice {
            Advice::Sequential => MAX_READAHEAD,
            _ => self.window,
        }
    }
}

/// The pages a fault's miss reads, from the readahead `window`: no further than the
/// mapping (`left_in_mapping` pages from the faulting one on, at least 1), and only the page
/// needed when free memory is `low` (readahead never makes memory pressure worse, and never
/// reclaims).
pub fn fault_window(window: u64, left_in_mapping: u64, low: bool) -> u64 {
    if low {
        1
    } else {
        window.min(left_in_mapping).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const N: Advice = Advice::Normal;

    #[test]
    fn first_miss_reads_one_page() {
        assert_eq!(Readahead::new().on_miss(7, N), 1);
    }

    #[test]
    fn a_scan_doubles_the_window_to_the_max() {
        // A scan touching every page: pages read ahead are hits, the first page past them a
        // miss, which then lies just past the last hit.
        let mut ra = Readahead::new();
        let mut cached_end = 0;
        let mut windows = Vec::new();
        for page in 0..300 {
            if page < cached_end {
                ra.on_hit(page);
            } else {
                let w = ra.on_miss(page, N);
                windows.push(w);
                cached_end = page + w;
            }
        }
        assert_eq!(windows[..8], [1, 2, 4, 8, 16, 32, 32, 32]);
        // Misses alone, a whole window apart, count as sequential only up to the slack.
        let mut ra = Readahead::new();
        let windows: Vec<u64> = [0, 16, 32, 64].iter().map(|&i| ra.on_miss(i, N)).collect();
        assert_eq!(windows, [1, 2, 4, 1]);
    }

    #[test]
    fn a_jump_or_a_step_back_resets_the_window() {
        let mut ra = Readahead::new();
        ra.on_miss(0, N);
        assert_eq!(ra.on_miss(1, N), 2);
        assert_eq!(ra.on_miss(1 + SEQUENTIAL_SLACK + 1, N), 1, "too far ahead");
        assert_eq!(ra.on_miss(20, N), 2);
        assert_eq!(ra.on_miss(10, N), 1, "backwards");
        assert_eq!(ra.on_miss(10, N), 1, "same page");
    }

    #[test]
    fn hits_move_the_position() {
        let mut ra = Readahead::new();
        ra.on_miss(0, N);
        ra.on_hit(16);
        assert_eq!(ra.on_miss(32, N), 2, "sequential relative to the hit at 16");
        ra.on_hit(100);
        assert_eq!(ra.on_miss(50, N), 1);
    }

    #[test]
    fn advice() {
        use Advice::{Random, Sequential};
        let mut ra = Readahead::new();
        assert_eq!(ra.on_miss(500, Sequential), MAX_READAHEAD);
        assert_eq!(ra.on_miss(3, Sequential), MAX_READAHEAD, "backwards: still the maximum");
        assert_eq!(ra.on_miss(4, N), 2, "Sequential recorded its misses as Normal does");
        assert_eq!(ra.on_miss(5, Random), 1);
        assert_eq!(ra.on_miss(100, Random), 1);
        assert_eq!(ra.on_miss(5, N), 4, "Random left the state alone");
        // A Sequential mapping's misses keep doubling the shared window underneath.
        let mut ra = Readahead::new();
        let w: Vec<u64> = (0..5).map(|k| ra.on_miss(k, Sequential)).collect();
        assert_eq!(w, [MAX_READAHEAD; 5]);
        assert_eq!(ra.on_miss(5, N), 32);
        assert_eq!(Advice::from_madv(0), Some(Advice::Normal));
        assert_eq!(Advice::from_madv(1), Some(Advice::Random));
        assert_eq!(Advice::from_madv(2), Some(Advice::Sequential));
        assert_eq!(Advice::from_madv(4), None);
    }

    #[test]
    fn fault_window_clamps() {
        assert_eq!(fault_window(32, 5, false), 5, "the mapping's end");
        assert_eq!(fault_window(8, 100, false), 8);
        assert_eq!(fault_window(32, 100, true), 1, "low memory: the page needed only");
        assert_eq!(fault_window(32, 0, false), 1, "never nothing");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Hit(u64),
        Miss(u64, Advice),
    }

    fn any_advice() -> impl Strategy<Value = Advice> {
        prop_oneof![Just(Advice::Normal), Just(Advice::Random), Just(Advice::Sequential)]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..200, any_advice()).prop_map(|(i, a)| Op::Miss(i, a)),
            2 => (0u64..200).prop_map(Op::Hit),
        ]
    }

    proptest! {
        #[test]
        fn windows_stay_in_bounds(ops in proptest::collection::vec(op(), 1..200)) {
            let mut ra = Readahead::new();
            for op in ops {
                match op {
                    Op::Hit(i) => ra.on_hit(i),
                    Op::Miss(i, advice) => {
                        let before = ra;
                        let w = ra.on_miss(i, advice);
                        prop_assert!((1..=MAX_READAHEAD).contains(&w));
                        match advice {
                            Advice::Random => {
                                prop_assert_eq!(w, 1);
                                prop_assert_eq!(ra, before, "Random records nothing");
                            }
                            Advice::Sequential => prop_assert_eq!(w, MAX_READAHEAD),
                            Advice::Normal => {}
                        }
                    }
                }
            }
        }

        #[test]
        fn a_strictly_sequential_scan_reaches_the_max(start in 0u64..1_000_000, steps in 1u64..=16) {
            // Misses each `steps` pages apart (a scan that faults once per fault-around
            // window or closer) double the window until it is the maximum.
            let mut ra = Readahead::new();
            let mut last = 0;
            for k in 0..8 {
                last = ra.on_miss(start + k * steps, N);
            }
            prop_assert_eq!(last, MAX_READAHEAD);
        }

        #[test]
        fn random_mode_never_reads_ahead(indexes in proptest::collection::vec(0u64..64, 1..100)) {
            let mut ra = Readahead::new();
            for i in indexes {
                prop_assert_eq!(ra.on_miss(i, Advice::Random), 1);
            }
        }
    }
}
