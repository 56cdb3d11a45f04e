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

/// The access pattern announced by `madvise` for a file's mappings: the VMA attribute of
/// `vmspace` (`Normal`: guess from the faults, the doubling rule of [`Readahead::on_miss`];
/// `Random`: every miss reads one page; `Sequential`: every miss reads [`MAX_READAHEAD`]
/// pages).
pub use vmspace::Advice;

/// Where the last fault on a cache was and how much the last miss read.
///
/// In [`Advice::Normal`] mode, with `last` the page of the previous fault (hit or miss) and
/// `w` the previous window:
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
/// Random mode always answers 1 and Sequential mode always [`MAX_READAHEAD`]; both still record
/// the faults, so switching back to Normal continues from the real position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Readahead {
    /// Page index of the last fault (hit or miss); `None` before the first.
    last: Option<u64>,
    /// Pages the last miss asked for (0 before the first miss).
    window: u64,
    advice: Advice,
}

impl Readahead {
    /// The state of a cache no fault has touched, in Normal mode.
    pub const fn new() -> Readahead {
        Readahead { last: None, window: 0, advice: Advice::Normal }
    }

    /// Switches the access-pattern mode (`madvise` on a mapping of the file).
    pub fn set_mode(&mut self, advice: Advice) {
        self.advice = advice;
    }

    /// The current mode.
    pub fn mode(&self) -> Advice {
        self.advice
    }

    /// Records a fault at `index` that found the page cached.
    pub fn on_hit(&mut self, index: u64) {
        self.last = Some(index);
    }

    /// Records a miss at `index` and returns how many pages to read from `index` on, in
    /// `[1, MAX_READAHEAD]` (before the caller's clamps).
    pub fn on_miss(&mut self, index: u64) -> u64 {
        let sequential = self.last.is_some_and(|l| index > l && index - l <= SEQUENTIAL_SLACK);
        self.window = match self.advice {
            Advice::Random => 1,
            Advice::Sequential => MAX_READAHEAD,
            Advice::Normal if sequential => (self.window * 2).clamp(2, MAX_READAHEAD),
            Advice::Normal => 1,
        };
        self.last = Some(index);
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn first_miss_reads_one_page() {
        assert_eq!(Readahead::new().on_miss(7), 1);
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
                let w = ra.on_miss(page);
                windows.push(w);
                cached_end = page + w;
            }
        }
        assert_eq!(windows[..8], [1, 2, 4, 8, 16, 32, 32, 32]);
        // Misses alone, a whole window apart, count as sequential only up to the slack.
        let mut ra = Readahead::new();
        let windows: Vec<u64> = [0, 16, 32, 64].iter().map(|&i| ra.on_miss(i)).collect();
        assert_eq!(windows, [1, 2, 4, 1]);
    }

    #[test]
    fn a_jump_or_a_step_back_resets_the_window() {
        let mut ra = Readahead::new();
        ra.on_miss(0);
        assert_eq!(ra.on_miss(1), 2);
        assert_eq!(ra.on_miss(1 + SEQUENTIAL_SLACK + 1), 1, "too far ahead");
        assert_eq!(ra.on_miss(20), 2);
        assert_eq!(ra.on_miss(10), 1, "backwards");
        assert_eq!(ra.on_miss(10), 1, "same page");
    }

    #[test]
    fn hits_move_the_position() {
        let mut ra = Readahead::new();
        ra.on_miss(0);
        ra.on_hit(16);
        assert_eq!(ra.on_miss(32), 2, "sequential relative to the hit at 16");
        ra.on_hit(100);
        assert_eq!(ra.on_miss(50), 1);
    }

    #[test]
    fn modes() {
        let mut ra = Readahead::new();
        ra.set_mode(Advice::Sequential);
        assert_eq!(ra.mode(), Advice::Sequential);
        assert_eq!(ra.on_miss(500), MAX_READAHEAD);
        assert_eq!(ra.on_miss(3), MAX_READAHEAD);
        ra.set_mode(Advice::Random);
        assert_eq!(ra.on_miss(4), 1);
        assert_eq!(ra.on_miss(5), 1);
        ra.set_mode(Advice::Normal);
        assert_eq!(ra.on_miss(6), 2, "Normal continues from the recorded position");
        assert_eq!(Advice::from_madv(0), Some(Advice::Normal));
        assert_eq!(Advice::from_madv(1), Some(Advice::Random));
        assert_eq!(Advice::from_madv(2), Some(Advice::Sequential));
        assert_eq!(Advice::from_madv(4), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Hit(u64),
        Miss(u64),
        Mode(Advice),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..200).prop_map(Op::Miss),
            2 => (0u64..200).prop_map(Op::Hit),
            1 => prop_oneof![Just(Advice::Normal), Just(Advice::Random), Just(Advice::Sequential)]
                .prop_map(Op::Mode),
        ]
    }

    proptest! {
        #[test]
        fn windows_stay_in_bounds(ops in proptest::collection::vec(op(), 1..200)) {
            let mut ra = Readahead::new();
            for op in ops {
                match op {
                    Op::Hit(i) => ra.on_hit(i),
                    Op::Mode(m) => ra.set_mode(m),
                    Op::Miss(i) => {
                        let w = ra.on_miss(i);
                        prop_assert!((1..=MAX_READAHEAD).contains(&w));
                        match ra.mode() {
                            Advice::Random => prop_assert_eq!(w, 1),
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
                last = ra.on_miss(start + k * steps);
            }
            prop_assert_eq!(last, MAX_READAHEAD);
        }

        #[test]
        fn random_mode_never_reads_ahead(indexes in proptest::collection::vec(0u64..64, 1..100)) {
            let mut ra = Readahead::new();
            ra.set_mode(Advice::Random);
            for i in indexes {
                prop_assert_eq!(ra.on_miss(i), 1);
            }
        }
    }
}
