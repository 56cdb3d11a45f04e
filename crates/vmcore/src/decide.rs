//! The page-fault rule: from the mapping's kind and protection, the access, and what the PTE
//! holds now, what the fault must do. A pure function with no frames, page tables or caches.
//!
//! This module owns copy-on-write (when a store copies a page and when it may just get W)
//! and the PTE bits every kind of page is mapped with. The executor (`crate::fault`) carries
//! a [`Decision`] out.

use vmspace::{Prot, Share};

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

/// The PTE at the faulting address, as `decide` needs to see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PteState {
    /// No valid PTE.
    Absent,
    /// A valid PTE.
    Present {
        /// Its bits.
        flags: PteFlags,
        /// The frame is the object's cached page at the faulting index (a private file
        /// mapping that has not copied it yet).
        cache_page: bool,
        /// The frame's reference count (more than 1: shared with another mapping or the cache).
        refcount: u32,
    },
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

/// What a fault must do. `flags` are the PTE's new bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Absent private anonymous page: a new zeroed frame.
    ZeroFill {
        /// Bits of the new PTE.
        flags: PteFlags,
    },
    /// Absent page of a shared mapping, or a read of a private file page: map the object's
    /// cached page itself (filled on a miss; neighbours mapped too on a read fault).
    MapCached {
        /// Bits of the new PTE (no W for a private mapping).
        flags: PteFlags,
    },
    /// A store to an absent private file page: a private copy of the cached page.
    CopyCached {
        /// Bits of the new PTE.
        flags: PteFlags,
    },
    /// A store to a present page this mapping may write in place (its own private page no one
    /// else references any more, or a shared mapping's page): add W.
    MakeWritable {
        /// Bits of the PTE.
        flags: PteFlags,
    },
    /// A store to a present private page that is also someone else's (the cache's page, or a
    /// frame shared with a parent or child since fork): replace it by a copy.
    CopyPresent {
        /// Bits of the new PTE.
        flags: PteFlags,
    },
    /// A load or fetch the protection allows but the present PTE does not (its protection
    /// was widened): new bits for the same frame, still without W where W needs a copy.
    SetFlags {
        /// Bits of the PTE.
        flags: PteFlags,
    },
    /// The PTE already allows the access (another fault or fault-around got there first).
    AlreadyDone,
    /// The access is not allowed.
    Kill(KillReason),
}

/// Decides the fault of an `access` at page `index` of a mapping of `kind` with protection
/// `prot`, whose PTE is `pte`; `file_pages` is the number of pages of the mapped file (ignored
/// for anonymous kinds).
///
/// ```text
///   not allowed by prot                                   → Kill(Protection)
///   present, has the needed bit                           → AlreadyDone
///   present, store:   shared kind                         → MakeWritable
///                     private, own frame (refcount 1)     → MakeWritable
///                     private, cache page or refcount > 1 → CopyPresent
///   present, load/fetch missing its bit                   → SetFlags (W kept only if present)
///   absent:           file kind, index ≥ file_pages       → Kill(PastEof)
///                     private anon                        → ZeroFill
///                     shared anon / shared file           → MapCached (W as prot says)
///                     private file, store                 → CopyCached
///                     private file, load/fetch            → MapCached without W
/// ```
///
/// New PTEs get A; pages mapped for a store, and private pages (whose D bit nobody reads),
/// get D too. A shared page mapped for a load gets W with D clear, so the hardware records a
/// later store for write-back.
pub fn decide(
    kind: VmaKind,
    prot: Prot,
    access: Access,
    pte: PteState,
    index: u64,
    file_pages: u64,
) -> Decision {
    let allowed = PteFlags::from(prot);
    let need = access.needs();
    if !allowed.contains(need) {
        return Decision::Kill(KillReason::Protection);
    }
    let written = allowed | PteFlags::A | PteFlags::D;
    match pte {
        PteState::Present { flags, .. } if flags.contains(need) => Decision::AlreadyDone,
        PteState::Present { cache_page, refcount, .. } if access == Access::Write => {
            let own = !cache_page && refcount == 1;
            if kind.is_shared() || own {
                Decision::MakeWritable { flags: written }
            } else {
                Decision::CopyPresent { flags: written }
            }
        }
        PteState::Present { flags, .. } => {
            let keep = (flags & allowed & PteFlags::W) | (flags & PteFlags::D) | PteFlags::A;
            Decision::SetFlags { flags: (allowed - PteFlags::W) | keep }
        }
        PteState::Absent if kind.is_file() && index >= file_pages => Decision::Kill(KillReason::PastEof),
        PteState::Absent => match kind {
            VmaKind::PrivateAnon => Decision::ZeroFill { flags: written },
            VmaKind::SharedAnon | VmaKind::SharedFile => Decision::MapCached {
                flags: (allowed | PteFlags::A).with_if(PteFlags::D, access == Access::Write),
            },
            VmaKind::PrivateFile if access == Access::Write => Decision::CopyCached { flags: written },
            VmaKind::PrivateFile => Decision::MapCached { flags: (allowed - PteFlags::W) | PteFlags::A },
        },
    }
}

#[cfg(test)]
#[path = "decide/tests.rs"]
mod tests;
