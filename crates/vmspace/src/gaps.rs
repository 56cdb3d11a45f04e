//! The free-gap index: the complement of the mapped ranges, kept as an AVL tree of disjoint
//! gaps keyed by start address, where every node also records the largest gap in its subtree.
//!
//! That one extra field is what makes first-fit placement logarithmic: a search can skip any
//! subtree whose largest gap is too small, so "the lowest gap at or above `from` that holds
//! `len` bytes" costs O(log n) instead of a walk over every gap. The tree is a plain AVL tree
//! (height at most about 1.44 log2 n, so recursion depth stays small on a kernel stack) written
//! in safe Rust with boxed children. It owns no policy: [`crate::set::VmaSet`] decides which
//! gaps exist and keeps them maximal and disjoint.

use alloc::boxed::Box;

type Link = Option<Box<Node>>;

#[derive(Clone, Debug)]
struct Node {
    start: usize,
    end: usize,
    /// Height of the subtree rooted here (a leaf has height 1).
    height: u8,
    /// Largest `end - start` in the subtree rooted here.
    max_len: usize,
    left: Link,
    right: Link,
}

impl Node {
    fn len(&self) -> usize {
        self.end - self.start
    }

    /// Recomputes `height` and `max_len` from the children; call after any child changes.
    fn update(&mut self) {
        self.height = 1 + height(&self.left).max(height(&self.right));
        self.max_len = self.len().max(max_len(&self.left)).max(max_len(&self.right));
    }
}

fn height(link: &Link) -> u8 {
    link.as_ref().map_or(0, |n| n.height)
}

fn max_len(link: &Link) -> usize {
    link.as_ref().map_or(0, |n| n.max_len)
}

/// Free gaps `[start, end)`, disjoint, each non-empty.
#[derive(Clone, Debug, Default)]
pub(crate) struct GapIndex {
    root: Link,
}

impl GapIndex {
    /// An index holding the single gap `[start, end)`.
    pub(crate) fn with_gap(start: usize, end: usize) -> GapIndex {
        let mut index = GapIndex::default();
        index.insert(start, end);
        index
    }

    /// Adds the gap `[start, end)`. The caller keeps gaps disjoint and non-empty.
    pub(crate) fn insert(&mut self, start: usize, end: usize) {
        debug_assert!(start < end);
        self.root = Some(insert(self.root.take(), start, end));
    }

    /// Removes the gap starting at `start`, returning its end, or `None` if there is none.
    pub(crate) fn remove(&mut self, start: usize) -> Option<usize> {
        let (root, end) = remove(self.root.take(), start);
        self.root = root;
        end
    }

    /// Moves the bounds of the gap starting at `start` to `[new_start, new_end)` in place (no
    /// node is allocated, freed or rotated). The caller keeps the gaps disjoint and ordered:
    /// the new bounds must lie between the neighbouring gaps. Returns false (changing
    /// nothing) if no gap starts at `start`.
    pub(crate) fn resize(&mut self, start: usize, new_start: usize, new_end: usize) -> bool {
        debug_assert!(new_start < new_end);
        resize(&mut self.root, start, new_start, new_end)
    }

    /// The gap with the greatest start `<= addr`, as `(start, end)`.
    pub(crate) fn at_or_before(&self, addr: usize) -> Option<(usize, usize)> {
        let mut best = None;
        let mut cur = self.root.as_deref();
        while let Some(n) = cur {
            if n.start <= addr {
                best = Some((n.start, n.end));
                cur = n.right.as_deref();
            } else {
                cur = n.left.as_deref();
            }
        }
        best
    }

    /// The gap with the least start `>= addr`, as `(start, end)`.
    pub(crate) fn at_or_after(&self, addr: usize) -> Option<(usize, usize)> {
        let mut best = None;
        let mut cur = self.root.as_deref();
        while let Some(n) = cur {
            if n.start >= addr {
                best = Some((n.start, n.end));
                cur = n.left.as_deref();
            } else {
                cur = n.right.as_deref();
            }
        }
        best
    }

    /// The lowest gap that starts at or above `from` and is at least `len` bytes long.
    pub(crate) fn first_fit(&self, from: usize, len: usize) -> Option<(usize, usize)> {
        first_fit(&self.root, from, len).map(|n| (n.start, n.end))
    }
}

/// Finds the node keyed `start`, gives it the new bounds and refreshes `max_len` on the way
/// back up (heights do not change: the shape stays the same).
fn resize(link: &mut Link, start: usize, new_start: usize, new_end: usize) -> bool {
    let Some(n) = link.as_deref_mut() else {
        return false;
    };
    let found = if start < n.start {
        resize(&mut n.left, start, new_start, new_end)
    } else if start > n.start {
        resize(&mut n.right, start, new_start, new_end)
    } else {
        n.start = new_start;
        n.end = new_end;
        true
    };
    if found {
        n.max_len = n.len().max(max_len(&n.left)).max(max_len(&n.right));
    }
    found
}

fn insert(link: Link, start: usize, end: usize) -> Box<Node> {
    match link {
        None => Box::new(Node { start, end, height: 1, max_len: end - start, left: None, right: None }),
        Some(mut n) => {
            if start < n.start {
                n.left = Some(insert(n.left.take(), start, end));
            } else {
                n.right = Some(insert(n.right.take(), start, end));
            }
            rebalance(n)
        }
    }
}

fn remove(link: Link, start: usize) -> (Link, Option<usize>) {
    let Some(mut n) = link else {
        return (None, None);
    };
    if start < n.start {
        let (left, end) = remove(n.left.take(), start);
        n.left = left;
        (Some(rebalance(n)), end)
    } else if start > n.start {
        let (right, end) = remove(n.right.take(), start);
        n.right = right;
        (Some(rebalance(n)), end)
    } else {
        let end = n.end;
        let replacement = match (n.left.take(), n.right.take()) {
            (None, only) | (only, None) => only,
            (Some(left), Some(right)) => {
                let (rest, mut successor) = take_min(right);
                successor.left = Some(left);
                successor.right = rest;
                Some(rebalance(successor))
            }
        };
        (replacement, Some(end))
    }
}

/// Detaches the lowest node of the subtree; returns what remains and that node.
fn take_min(mut n: Box<Node>) -> (Link, Box<Node>) {
    match n.left.take() {
        None => (n.right.take(), n),
        Some(left) => {
            let (rest, min) = take_min(left);
            n.left = rest;
            (Some(rebalance(n)), min)
        }
    }
}

/// Restores the AVL balance at `n` (children are balanced, heights differ by at most 2) and
/// refreshes the augmented fields.
fn rebalance(mut n: Box<Node>) -> Box<Node> {
    n.update();
    let balance = i16::from(height(&n.left)) - i16::from(height(&n.right));
    if balance > 1 {
        if let Some(mut left) = n.left.take() {
            if height(&left.left) < height(&left.right) {
                left = rotate_left(left);
            }
            n.left = Some(left);
        }
        rotate_right(n)
    } else if balance < -1 {
        if let Some(mut right) = n.right.take() {
            if height(&right.right) < height(&right.left) {
                right = rotate_right(right);
            }
            n.right = Some(right);
        }
        rotate_left(n)
    } else {
        n
    }
}

/// Lifts the left child over `n`, keeping the in-order sequence:
/// ```text
///       n            l
///      / \          / \
///     l   c   ->   a   n
///    / \              / \
///   a   b            b   c
/// ```
fn rotate_right(mut n: Box<Node>) -> Box<Node> {
    match n.left.take() {
        None => n,
        Some(mut l) => {
            n.left = l.right.take();
            n.update();
            l.right = Some(n);
            l.update();
            l
        }
    }
}

/// The mirror image of [`rotate_right`].
fn rotate_left(mut n: Box<Node>) -> Box<Node> {
    match n.right.take() {
        None => n,
        Some(mut r) => {
            n.right = r.left.take();
            n.update();
            r.left = Some(n);
            r.update();
            r
        }
    }
}

/// Lowest node with `start >= from` and `len() >= len`.
///
/// O(height): the search walks the boundary path of `from`; off that path it only enters a
/// subtree lying wholly at or above `from`, and then only when the subtree's `max_len` says a
/// fit is inside, in which case the descent succeeds without backtracking.
fn first_fit(link: &Link, from: usize, len: usize) -> Option<&Node> {
    let n = link.as_deref()?;
    if n.max_len < len {
        return None;
    }
    if n.start < from {
        return first_fit(&n.right, from, len);
    }
    if let Some(found) = first_fit(&n.left, from, len) {
        return Some(found);
    }
    if n.len() >= len {
        return Some(n);
    }
    first_fit(&n.right, from, len)
}

#[cfg(test)]
impl GapIndex {
    /// All gaps in address order.
    pub(crate) fn to_vec(&self) -> alloc::vec::Vec<(usize, usize)> {
        fn walk(link: &Link, out: &mut alloc::vec::Vec<(usize, usize)>) {
            if let Some(n) = link {
                walk(&n.left, out);
                out.push((n.start, n.end));
                walk(&n.right, out);
            }
        }
        let mut out = alloc::vec::Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// Height of the tree (0 when empty).
    pub(crate) fn height(&self) -> u8 {
        height(&self.root)
    }

    /// Panics unless the tree is ordered, balanced, its cached fields are right and its gaps
    /// are non-empty and disjoint.
    pub(crate) fn check(&self) {
        fn walk(link: &Link) -> (u8, usize) {
            let Some(n) = link else { return (0, 0) };
            assert!(n.start < n.end, "empty gap at {:#x}", n.start);
            let (hl, ml) = walk(&n.left);
            let (hr, mr) = walk(&n.right);
            assert!(hl.abs_diff(hr) <= 1, "unbalanced at {:#x}", n.start);
            assert_eq!(n.height, 1 + hl.max(hr));
            assert_eq!(n.max_len, n.len().max(ml).max(mr));
            (n.height, n.max_len)
        }
        walk(&self.root);
        let gaps = self.to_vec();
        for pair in gaps.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "gaps out of order: {pair:x?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn queries_on_a_small_index() {
        let mut g = GapIndex::default();
        for (s, e) in [(10, 12), (20, 30), (40, 41), (50, 60)] {
            g.insert(s, e);
        }
        g.check();
        assert_eq!(g.at_or_before(25), Some((20, 30)));
        assert_eq!(g.at_or_before(9), None);
        assert_eq!(g.at_or_after(21), Some((40, 41)));
        assert_eq!(g.at_or_after(61), None);
        assert_eq!(g.first_fit(0, 5), Some((20, 30)));
        assert_eq!(g.first_fit(21, 5), Some((50, 60)));
        assert_eq!(g.first_fit(0, 11), None);
        assert_eq!(g.remove(20), Some(30));
        assert_eq!(g.remove(20), None);
        g.check();
        assert_eq!(g.first_fit(0, 5), Some((50, 60)));
    }

    #[test]
    fn height_stays_logarithmic() {
        let mut g = GapIndex::default();
        for i in 0..10_000usize {
            g.insert(i * 4, i * 4 + 1 + i % 3);
        }
        g.check();
        // AVL bound: h < 1.4405 log2(n + 2); log2(10_002) < 13.3.
        assert!(g.height() <= 19, "height {}", g.height());
        for i in (0..10_000usize).step_by(2) {
            assert_eq!(g.remove(i * 4), Some(i * 4 + 1 + i % 3));
        }
        g.check();
        assert!(g.height() <= 18, "height {}", g.height());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(usize, usize),
        Remove(usize),
        FirstFit(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..200, 1usize..6).prop_map(|(s, l)| Op::Insert(s, l)),
            (0usize..200).prop_map(Op::Remove),
            (0usize..200, 1usize..8).prop_map(|(f, l)| Op::FirstFit(f, l)),
        ]
    }

    proptest! {
        /// The tree answers every query as a sorted map scanned linearly would.
        #[test]
        fn matches_a_sorted_map(ops in proptest::collection::vec(op(), 1..150)) {
            let mut g = GapIndex::default();
            let mut model: BTreeMap<usize, usize> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(s, l) => {
                        let e = s + l;
                        let free = model.iter().all(|(&ms, &me)| e <= ms || me <= s);
                        if free {
                            g.insert(s, e);
                            model.insert(s, e);
                        }
                    }
                    Op::Remove(s) => prop_assert_eq!(g.remove(s), model.remove(&s)),
                    Op::FirstFit(from, len) => {
                        let want = model
                            .iter()
                            .find(|(&s, &e)| s >= from && e - s >= len)
                            .map(|(&s, &e)| (s, e));
                        prop_assert_eq!(g.first_fit(from, len), want);
                        let before = model.range(..=from).next_back().map(|(&s, &e)| (s, e));
                        prop_assert_eq!(g.at_or_before(from), before);
                        let after = model.range(from..).next().map(|(&s, &e)| (s, e));
                        prop_assert_eq!(g.at_or_after(from), after);
                    }
                }
                g.check();
                let all: Vec<_> = model.iter().map(|(&s, &e)| (s, e)).collect();
                prop_assert_eq!(g.to_vec(), all);
            }
        }
    }
}
