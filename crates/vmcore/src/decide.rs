//! The page-fault rule: from the mapping's kind and protection, the access, and what the PTE
//! holds now, what the fault must do. A pure function with no frames, page tables or caches.
//!
//! This module owns copy-on-write (when a store copies a page and when it may just get W),
//! the PTE bits every kind of page is mapped with, and when a fault maps its neighbours. The
//! kernel's fault path (`kernel/src/vm/fault.rs`) and the host executor (`crate::fault`)
//! each carry a [`Decision`] out; neither decides anything itself.

use vmspace::{Advice, Prot, Share};

use crate::flags::{Access, PteFlags};

/// The four kinds of mapping, by what backs them and who sees their stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmaKind {
    /// `MAP_PRIVATE | MAP_ANONYMOUS`: zero pages, this process's own (copied on write after
    /// fork).
    PrivateAnon,
    /// `MAP_SHARED | MAP_ANONYMOUS`: pages of a shared anonymous object, zero on first touch.
    SharedAnon,
    /// `MAP_PRIVATE` of a file: the file's cached pages read-only until the first store,
    /// then a private copy.
    PrivateFile,
    /// `MAP_SHARED` of a file: the file's cached pages themselves; stores reach the file.
    SharedFile,
}

impl VmaKind {
    /// The kind of a mapping with sharing `share`, backed by a file when `file`.
    pub const fn new(share: Share, file: bool) -> VmaKind {
        match (share, file) {
            (Share::Private, false) => VmaKind::PrivateAnon,
            (Share::Shared, false) => VmaKind::SharedAnon,
            (Share::Private, true) => VmaKind::PrivateFile,
            (Share::Shared, true) => VmaKind::SharedFile,
        }
    }

    /// True for the kinds whose pages come from a page cache (all but private anonymous).
    pub const fn has_object(self) -> bool {
        !matches!(self, VmaKind::PrivateAnon)
    }

    /// True for the kinds whose stores every mapping of the object sees.
    pub const fn is_shared(self) -> bool {
        matches!(self, VmaKind::SharedAnon | VmaKind::SharedFile)
    }

    /// True for the file-backed kinds (which end at end-of-file).
    pub const fn is_file(self) -> bool {
        matches!(self, VmaKind::PrivateFile | VmaKind::SharedFile)
    }
}

/// What the fault path knows about the frame of a present page, asked only for a store to a
/// present private page without W (the one case the rule needs it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameState {
    /// The frame is the object's cached page at the faulting index (a private file mapping
    /// that has not copied it yet).
    pub cache_page: bool,
    /// The frame's reference count (more than 1: shared with another mapping or the cache).
    /// The kernel reads it with Acquire, pairing with the Release of the other holders'
    /// frees, so a count of 1 means no other holder's access can still be in flight.
    pub refcount: u32,
}

/// Why a fault cannot be resolved; the kernel kills the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillReason {
    /// No mapping covers the address.
    NoMapping,
    /// The mapping's protection does not allow the access.
    Protection,
    /// The page lies wholly past the end of the mapped file.
    PastEof,
}

/// What a fault must do. `flags` are the PTE's new permission and bookkeeping bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Absent private anonymous page: a new zeroed frame.
    ZeroFill {
        /// Bits of the new PTE.
        flags: PteFlags,
    },
    /// Absent page of a shared mapping, or a load or fetch of a private file page: map the
    /// object's cached page itself (filled on a miss, with the readahead window).
    MapCached {
        /// Bits of the new PTE (no W for a private mapping, never D).
        flags: PteFlags,
        /// Also map the cached neighbours in the fault-around window ([`crate::fault_around`]).
        fault_around: bool,
    },
    /// A store to an absent private file page: a private copy of the cached page.
    CopyCached {
        /// Bits of the new PTE.
        flags: PteFlags,
    },
    /// A store to a present page this mapping may write in place (a shared mapping's page,
    /// or its own private page no one else references any more): new bits, same frame.
    MakeWritable {
        /// Bits of the PTE.
        flags: PteFlags,
    },
    /// A store to a present private page that someone else can see (the cache's page, or a
    /// frame shared with a parent or child since fork): replace it by a copy.
    CopyPresent {
        /// Bits of the new PTE.
        flags: PteFlags,
        /// The frame is the cache's page (a private file copy, counted as a file fault), not
        /// one shared by fork (a copy-on-write fault).
        cache_page: bool,
    },
    /// The PTE already allows the access (another fault or fault-around got there first).
    AlreadyDone,
    /// The access is not allowed.
    Kill(KillReason),
}

/// The mapping a fault lands in, as the rule needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// The mapping's kind.
    pub kind: VmaKind,
    /// The access the user allowed.
    pub prot: Prot,
    /// Its `madvise` advice (fault-around is off under `MADV_RANDOM`).
    pub advice: Advice,
}

/// Decides the fault of an `access` at page `index` of the mapping `site`, whose PTE holds
/// `pte` (`None`: absent); `file_pages` is the number of pages of the mapped file (ignored
/// for anonymous kinds). `frame` describes the present page's frame; it is called only for
/// a store to a present private page (see [`store_to_present`]).
///
/// ```text
///   not allowed by prot                                   → Kill(Protection)
///   present, has the needed bit                           → AlreadyDone
///   present, store without W                              → store_to_present
///   present, load/fetch missing its bit                   → Kill(Protection)
///   absent:           file kind, index ≥ file_pages       → Kill(PastEof)
///                     private anon                        → ZeroFill
///                     shared anon / shared file           → MapCached (W as prot says)
///                     private file, store                 → CopyCached
///                     private file, load/fetch            → MapCached without W
/// ```
///
/// A present page always carries its mapping's R and X (mprotect rewrites present PTEs at
/// once), so a load or fetch that faults on a present page the protection allows cannot
/// happen, and is refused rather than repaired. A present `PROT_NONE` page is a leaf with R
/// and without U ([`crate::protect_flags`]): the protection check refuses every access to it.
///
/// New PTEs get A; private pages mapped writable (whose D bit nobody reads) get D too. A
/// shared page is mapped without D, even for a store: the hardware sets D at the store, and
/// write-back reads it. Fault-around maps neighbours for loads and fetches only, and not
/// under `MADV_RANDOM`.
pub fn decide(
    site: Site,
    access: Access,
    pte: Option<PteFlags>,
    index: u64,
    file_pages: u64,
    frame: impl FnOnce() -> FrameState,
) -> Decision {
    let allowed = PteFlags::from(site.prot);
    let need = access.needs();
    if !allowed.contains(need) {
        return Decision::Kill(KillReason::Protection);
    }
    let kind = site.kind;
    match pte {
        Some(flags) if flags.contains(need) => Decision::AlreadyDone,
        Some(flags) if access == Access::Write => store_to_present(kind.is_shared(), allowed, flags, frame),
        Some(_) => Decision::Kill(KillReason::Protection),
        None if kind.is_file() && index >= file_pages => Decision::Kill(KillReason::PastEof),
        None => {
            let fault_around = access != Access::Write && fault_around_on(site.advice);
            match kind {
                VmaKind::PrivateAnon => Decision::ZeroFill { flags: allowed | PteFlags::A | PteFlags::D },
                VmaKind::SharedAnon | VmaKind::SharedFile => {
                    Decision::MapCached { flags: allowed | PteFlags::A, fault_around }
                }
                VmaKind::PrivateFile if access == Access::Write => {
                    Decision::CopyCached { flags: allowed | PteFlags::A | PteFlags::D }
                }
                VmaKind::PrivateFile => {
                    Decision::MapCached { flags: (allowed - PteFlags::W) | PteFlags::A, fault_around }
                }
            }
        }
    }
}

/// Copy-on-write: a store to a present page mapped without W, in a region whose protection
/// gives it `allowed` (with W); `old` are the PTE's bits, `shared` says whether every sharer
/// stores into the same frame. The heap (a private region that is not a mapping) asks this
/// directly.
///
/// ```text
///   shared mapping                        → MakeWritable (allowed + A, D as it was)
///   private, the cache's page             → CopyPresent  (the cache and `read` see the frame,
///                                                         however few references it has)
///   private, refcount 1                   → MakeWritable (allowed + A + D: no one else can see
///                                                         the frame or take a new reference)
///   private, refcount > 1                 → CopyPresent  (shared since fork)
/// ```
pub fn store_to_present(
    shared: bool,
    allowed: PteFlags,
    old: PteFlags,
    frame: impl FnOnce() -> FrameState,
) -> Decision {
    if shared {
        return Decision::MakeWritable { flags: allowed | PteFlags::A | (old & PteFlags::D) };
    }
    let written = allowed | PteFlags::A | PteFlags::D;
    let f = frame();
    if !f.cache_page && f.refcount == 1 {
        Decision::MakeWritable { flags: written }
    } else {
        Decision::CopyPresent { flags: written, cache_page: f.cache_page }
    }
}

/// Whether a read fault under `advice` maps the cached pages around it (fault-around):
/// always, except under `MADV_RANDOM`.
pub const fn fault_around_on(advice: Advice) -> bool {
    !matches!(advice, Advice::Random)
}

#[cfg(test)]
#[path = "decide/tests.rs"]
mod tests;
