//! The on-disk format of the file system, shared by the host tool `mkfs` and the kernel.
//!
//! The layout follows xv6's: 1024-byte blocks; block 0 unused (boot), block 1 the superblock,
//! then the write-ahead log (a header block and its data blocks), the inode blocks, the free-block
//! bitmap, and the data blocks. The differences: an inode has 9 direct block addresses and one
//! singly-, one doubly- and one triply-indirect address, so a file can hold
//! 9 + 256 + 256² + 256³ blocks (a little over 16 GiB), and its size is a 64-bit field (the
//! 64-byte inode has no spare byte, so two direct addresses made room for the triply-indirect
//! address and the size's high half; docs/architecture.md explains the choice). Block numbers
//! stay 32-bit: an image may have up to 2³² blocks (4 TiB). All integers are little-endian.
//!
//! This crate is pure: encode/decode and layout arithmetic, no I/O, no `unsafe`.
#![no_std]
#![forbid(unsafe_code)]

/// Block size in bytes.
pub const BSIZE: usize = 1024;
/// Magic number in the superblock.
pub const FSMAGIC: u32 = 0x1020_3040;
/// Inode number of the root directory.
pub const ROOTINO: u32 = 1;
/// Direct block addresses per inode.
pub const NDIRECT: usize = 9;
/// Block addresses per indirect block.
pub const NINDIRECT: usize = BSIZE / 4;
/// Index of the singly-indirect address in `DiskInode::addrs`.
pub const SINGLE_INDIRECT: usize = NDIRECT;
/// Index of the doubly-indirect address in `DiskInode::addrs`.
pub const DOUBLE_INDIRECT: usize = NDIRECT + 1;
/// Index of the triply-indirect address in `DiskInode::addrs`.
pub const TRIPLE_INDIRECT: usize = NDIRECT + 2;
/// Number of addresses in an inode.
pub const NADDRS: usize = NDIRECT + 3;
/// Most levels of indirect blocks between an inode and a data block.
pub const MAX_DEPTH: usize = 3;
/// Largest file, in blocks: 9 + 256 + 256² + 256³ = 16,843,017 (a little over 16 GiB).
pub const MAXFILE: usize = NDIRECT + NINDIRECT + NINDIRECT * NINDIRECT + NINDIRECT * NINDIRECT * NINDIRECT;
/// Largest file, in bytes.
pub const MAXFILE_BYTES: u64 = MAXFILE as u64 * BSIZE as u64;
/// Bytes per on-disk inode.
pub const DINODE_SIZE: usize = 64;
/// Inodes per block.
pub const IPB: usize = BSIZE / DINODE_SIZE;
/// Bitmap bits per block.
pub const BPB: usize = BSIZE * 8;
/// Longest name in a directory entry.
pub const DIRSIZ: usize = 14;
/// Bytes per directory entry.
pub const DIRENT_SIZE: usize = 16;
/// Most blocks one file-system operation may write (sizes the log).
pub const MAXOPBLOCKS: usize = 10;
/// Data blocks in the on-disk log.
pub const LOGBLOCKS: usize = MAXOPBLOCKS * 3;

/// Inode types.
pub const T_FREE: i16 = 0;
pub const T_DIR: i16 = 1;
pub const T_FILE: i16 = 2;
pub const T_DEVICE: i16 = 3;

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from(get_u32(b, off)) | u64::from(get_u32(b, off + 4)) << 32
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_i16(b: &[u8], off: usize) -> i16 {
    i16::from_le_bytes([b[off], b[off + 1]])
}

fn put_i16(b: &mut [u8], off: usize, v: i16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// The superblock (block 1): where each region of the disk starts and how big it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuperBlock {
    pub magic: u32,
    /// Size of the whole image in blocks.
    pub size: u32,
    /// Number of data blocks.
    pub nblocks: u32,
    /// Number of inodes.
    pub ninodes: u32,
    /// Number of log blocks, header included.
    pub nlog: u32,
    pub logstart: u32,
    pub inodestart: u32,
    pub bmapstart: u32,
}

impl SuperBlock {
    /// Computes the layout of an image of `size` blocks holding `ninodes` inodes.
    /// Returns `None` when the metadata alone would not fit.
    pub fn layout(size: u32, ninodes: u32) -> Option<SuperBlock> {
        let nlog = LOGBLOCKS as u32 + 1;
        let ninodeblocks = ninodes / IPB as u32 + 1;
        let nbitmap = size / BPB as u32 + 1;
        let nmeta = 2 + nlog + ninodeblocks + nbitmap;
        if nmeta >= size {
            return None;
        }
        Some(SuperBlock {
            magic: FSMAGIC,
            size,
            nblocks: size - nmeta,
            ninodes,
            nlog,
            logstart: 2,
            inodestart: 2 + nlog,
            bmapstart: 2 + nlog + ninodeblocks,
        })
    }

    /// First data block (everything below it is metadata).
    pub fn data_start(&self) -> u32 {
        self.size - self.nblocks
    }

    /// Block holding inode `inum`.
    pub fn inode_block(&self, inum: u32) -> u32 {
        inum / IPB as u32 + self.inodestart
    }

    /// Byte offset of inode `inum` inside its block.
    pub fn inode_offset(inum: u32) -> usize {
        (inum as usize % IPB) * DINODE_SIZE
    }

    /// Bitmap block holding the bit of block `b`.
    pub fn bitmap_block(&self, b: u32) -> u32 {
        b / BPB as u32 + self.bmapstart
    }

    /// Writes the superblock into the start of `buf`.
    pub fn encode(&self, buf: &mut [u8]) {
        let f = [
            self.magic,
            self.size,
            self.nblocks,
            self.ninodes,
            self.nlog,
            self.logstart,
            self.inodestart,
            self.bmapstart,
        ];
        for (i, v) in f.iter().enumerate() {
            put_u32(buf, i * 4, *v);
        }
    }

    /// Reads a superblock from the start of `buf`.
    pub fn decode(buf: &[u8]) -> SuperBlock {
        SuperBlock {
            magic: get_u32(buf, 0),
            size: get_u32(buf, 4),
            nblocks: get_u32(buf, 8),
            ninodes: get_u32(buf, 12),
            nlog: get_u32(buf, 16),
            logstart: get_u32(buf, 20),
            inodestart: get_u32(buf, 24),
            bmapstart: get_u32(buf, 28),
        }
    }

    /// Whether this superblock describes a consistent image of at most `disk_blocks` blocks.
    pub fn is_valid(&self, disk_blocks: u64) -> bool {
        self.magic == FSMAGIC
            && self.size as u64 <= disk_blocks
            && self.nlog as usize == LOGBLOCKS + 1
            && self.logstart == 2
            && self.inodestart == self.logstart + self.nlog
            && self.bmapstart > self.inodestart
            && self.bmapstart < self.size
            && self.nblocks < self.size
    }
}

/// An on-disk inode (64 bytes): type, major, minor, nlink (16-bit each) at 0, the size
/// (64-bit) at 8, the block addresses at 16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskInode {
    pub typ: i16,
    pub major: i16,
    pub minor: i16,
    pub nlink: i16,
    pub size: u64,
    pub addrs: [u32; NADDRS],
}

/// Byte offset of `DiskInode::addrs` in the encoded inode.
const ADDRS_OFFSET: usize = 16;

impl DiskInode {
    /// Writes the inode into `buf[..DINODE_SIZE]`.
    pub fn encode(&self, buf: &mut [u8]) {
        put_i16(buf, 0, self.typ);
        put_i16(buf, 2, self.major);
        put_i16(buf, 4, self.minor);
        put_i16(buf, 6, self.nlink);
        put_u64(buf, 8, self.size);
        for (i, a) in self.addrs.iter().enumerate() {
            put_u32(buf, ADDRS_OFFSET + i * 4, *a);
        }
    }

    /// Reads an inode from `buf[..DINODE_SIZE]`.
    pub fn decode(buf: &[u8]) -> DiskInode {
        let mut addrs = [0u32; NADDRS];
        for (i, a) in addrs.iter_mut().enumerate() {
            *a = get_u32(buf, ADDRS_OFFSET + i * 4);
        }
        DiskInode {
            typ: get_i16(buf, 0),
            major: get_i16(buf, 2),
            minor: get_i16(buf, 4),
            nlink: get_i16(buf, 6),
            size: get_u64(buf, 8),
            addrs,
        }
    }
}

/// Where the address of a file block lives: in `addrs[root]` when `depth` is 0; otherwise
/// `addrs[root]` names an indirect block, entry `index[0]` of it the next one, and so on for
/// `depth` levels, entry `index[depth - 1]` of the last one being the data block's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPath {
    /// The slot of `DiskInode::addrs` the tree starts at.
    pub root: usize,
    /// Indirect blocks between the inode and the data block (0 to `MAX_DEPTH`).
    pub depth: usize,
    /// The entry taken in each indirect block, from the top; only `..depth` is meaningful.
    pub index: [usize; MAX_DEPTH],
}

impl BlockPath {
    /// The entries to follow, from the top indirect block down.
    pub fn indices(&self) -> &[usize] {
        &self.index[..self.depth]
    }
}

/// Levels of indirection of the tree rooted at `addrs[root]` (`root < NADDRS`).
pub fn root_depth(root: usize) -> usize {
    root.saturating_sub(NDIRECT - 1)
}

/// The first file block the tree rooted at `addrs[root]` holds (`root < NADDRS`).
pub fn root_first_block(root: usize) -> usize {
    if root < NDIRECT {
        return root;
    }
    (1..root_depth(root)).fold(NDIRECT, |first, d| first + subtree_blocks(d))
}

/// File blocks below one indirect block `depth` levels above the data (256^depth).
pub fn subtree_blocks(depth: usize) -> usize {
    // 256^depth, as a shift: this is on the path of every block lookup.
    const _: () = assert!(NINDIRECT.is_power_of_two());
    1 << (NINDIRECT.trailing_zeros() as usize * depth)
}

/// Maps a file block number to where its address is stored; `None` at or past `MAXFILE`.
pub fn block_path(bn: usize) -> Option<BlockPath> {
    if bn < NDIRECT {
        return Some(BlockPath { root: bn, depth: 0, index: [0; MAX_DEPTH] });
    }
    let mut rest = bn - NDIRECT;
    for depth in 1..=MAX_DEPTH {
        let span = subtree_blocks(depth);
        if rest < span {
            let mut index = [0; MAX_DEPTH];
            for (level, slot) in index[..depth].iter_mut().enumerate() {
                *slot = rest / subtree_blocks(depth - 1 - level) % NINDIRECT;
            }
            return Some(BlockPath { root: NDIRECT + depth - 1, depth, index });
        }
        rest -= span;
    }
    None
}

/// Reads entry `i` of an indirect block.
pub fn indirect_get(block: &[u8], i: usize) -> u32 {
    get_u32(block, i * 4)
}

/// Writes entry `i` of an indirect block.
pub fn indirect_set(block: &mut [u8], i: usize, v: u32) {
    put_u32(block, i * 4, v)
}

/// The first bit in `from..to` that is clear in the bitmap block `bits` and, when given, also
/// in `committed` (the same bitmap block as of the last committed transaction). A block freed
/// by a transaction that has not committed yet is clear in `bits` but still set in
/// `committed`: it must not be reused until the free is durable, or a crash could show the
/// new owner's data inside the old, still-owning file. Bit `i` is bit `i % 8` of byte
/// `i / 8`; `to` is at most `BPB`.
pub fn bitmap_find_clear(bits: &[u8], committed: Option<&[u8]>, from: usize, to: usize) -> Option<usize> {
    let byte = |i: usize| bits[i] | committed.map_or(0, |c| c[i]);
    let mut i = from;
    while i < to {
        let b = byte(i / 8);
        if b == 0xff && i.is_multiple_of(8) && i + 8 <= to {
            i += 8;
            continue;
        }
        if b & (1 << (i % 8)) == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A directory entry: `struct dirent { ushort inum; char name[14]; }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    pub inum: u16,
    pub name: [u8; DIRSIZ],
}

impl Dirent {
    /// An entry for `name` (truncated to `DIRSIZ` bytes, NUL-padded).
    pub fn new(inum: u16, name: &[u8]) -> Dirent {
        let mut n = [0u8; DIRSIZ];
        let len = name.len().min(DIRSIZ);
        n[..len].copy_from_slice(&name[..len]);
        Dirent { inum, name: n }
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let len = self.name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
        &self.name[..len]
    }

    /// Whether this entry names `name` (compared as xv6 does: at most `DIRSIZ` bytes).
    pub fn matches(&self, name: &[u8]) -> bool {
        let name = &name[..name.len().min(DIRSIZ)];
        self.inum != 0 && self.name() == name
    }

    pub fn encode(&self, buf: &mut [u8]) {
        buf[0..2].copy_from_slice(&self.inum.to_le_bytes());
        buf[2..DIRENT_SIZE].copy_from_slice(&self.name);
    }

    pub fn decode(buf: &[u8]) -> Dirent {
        let mut name = [0u8; DIRSIZ];
        name.copy_from_slice(&buf[2..DIRENT_SIZE]);
        Dirent { inum: u16::from_le_bytes([buf[0], buf[1]]), name }
    }
}

/// The log header block: how many blocks the last committed group holds, their homes, and
/// a checksum of both and of the group's log blocks.
///
/// Layout: `n` at byte 0, the `LOGBLOCKS` home block numbers from byte 4, the checksum at
/// byte [`LOG_CHECKSUM_OFFSET`] (all little-endian). The header is written together with
/// the log blocks, in one request, and never cleared after the group is installed: it
/// describes a committed group exactly when `n` is at most `LOGBLOCKS` and the checksum
/// matches the header and the first `n` log blocks ([`LogHeader::is_committed`]). A write
/// of header and log torn by a crash (some blocks new, some old) does not match, nor does
/// an old header over log blocks a newer group has started to overwrite. `n == 0` (a fresh
/// image, or the log after recovery) names nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHeader {
    pub n: u32,
    pub blocks: [u32; LOGBLOCKS],
    pub checksum: u64,
}

/// Byte offset of the checksum in the log header block.
pub const LOG_CHECKSUM_OFFSET: usize = 128;

impl Default for LogHeader {
    fn default() -> Self {
        LogHeader { n: 0, blocks: [0; LOGBLOCKS], checksum: 0 }
    }
}

impl LogHeader {
    pub fn encode(&self, buf: &mut [u8]) {
        put_u32(buf, 0, self.n);
        for (i, b) in self.blocks.iter().enumerate() {
            put_u32(buf, 4 + i * 4, *b);
        }
        buf[LOG_CHECKSUM_OFFSET..LOG_CHECKSUM_OFFSET + 8].copy_from_slice(&self.checksum.to_le_bytes());
    }

    pub fn decode(buf: &[u8]) -> LogHeader {
        let mut h = LogHeader { n: get_u32(buf, 0), ..Default::default() };
        for (i, b) in h.blocks.iter_mut().enumerate() {
            *b = get_u32(buf, 4 + i * 4);
        }
        let mut c = [0u8; 8];
        c.copy_from_slice(&buf[LOG_CHECKSUM_OFFSET..LOG_CHECKSUM_OFFSET + 8]);
        h.checksum = u64::from_le_bytes(c);
        h
    }

    /// The checksum of this header's `n` and home blocks together with the contents of its
    /// `n` log blocks, given as `log`: their bytes read as little-endian 64-bit words, in
    /// order ([`LOG_WORDS_PER_BLOCK`] per block; words, so that the kernel hashes aligned
    /// memory at a few instructions a word). `n` must be at most `LOGBLOCKS`.
    pub fn compute_checksum(&self, log: &[u64]) -> u64 {
        let n = self.n as usize;
        let mut h = Checksum::new();
        h.add(u64::from(self.n));
        for &b in &self.blocks[..n] {
            h.add(u64::from(b));
        }
        h.add_words(&log[..n * LOG_WORDS_PER_BLOCK]);
        h.finish()
    }

    /// Sets the checksum for the log blocks `log` (words of the first `n` blocks of the log
    /// area, as for [`LogHeader::compute_checksum`]).
    pub fn seal(&mut self, log: &[u64]) {
        self.checksum = self.compute_checksum(log);
    }

    /// Whether this header, read from the disk, commits the log blocks `log` (words of at
    /// least `n` blocks read from the log area): `n` is in range and not 0, and the checksum
    /// matches.
    pub fn is_committed(&self, log: &[u64]) -> bool {
        let n = self.n as usize;
        n > 0
            && n <= LOGBLOCKS
            && log.len() >= n * LOG_WORDS_PER_BLOCK
            && self.checksum == self.compute_checksum(log)
    }
}

/// 64-bit words per block, as the log's checksum reads them.
pub const LOG_WORDS_PER_BLOCK: usize = BSIZE / 8;

/// The little-endian 64-bit words of `bytes` (a whole number of words), for
/// [`LogHeader::compute_checksum`] on a host.
pub fn words_of(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(8).map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
}

/// A 64-bit hash over 64-bit words: FNV-1a's step applied to whole words, in four lanes
/// (word `i` of a run goes to lane `i % 4`, so the loop does four independent steps at a
/// time, about 3 instructions a word), folded and mixed at the end. Each step is a bijection
/// of its lane, so changing any one word always changes the result.
struct Checksum([u64; 4]);

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Checksum {
    fn new() -> Checksum {
        Checksum([0xcbf2_9ce4_8422_2325; 4])
    }

    fn add(&mut self, w: u64) {
        self.0[0] = (self.0[0] ^ w).wrapping_mul(FNV_PRIME);
    }

    fn add_words(&mut self, words: &[u64]) {
        let mut quads = words.chunks_exact(4);
        for q in &mut quads {
            for (lane, &w) in self.0.iter_mut().zip(q) {
                *lane = (*lane ^ w).wrapping_mul(FNV_PRIME);
            }
        }
        for &w in quads.remainder() {
            self.add(w);
        }
    }

    fn finish(&self) -> u64 {
        let mut x = self.0[0];
        for &lane in &self.0[1..] {
            x = (x.rotate_left(23) ^ lane).wrapping_mul(FNV_PRIME);
        }
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_search_skips_bits_set_in_either_copy() {
        let mut bits = [0u8; BSIZE];
        let mut committed = [0u8; BSIZE];
        bits[0] = 0xff;
        bits[1] = 0b0000_0011;
        assert_eq!(bitmap_find_clear(&bits, None, 0, BPB), Some(10));
        // Bits 10 and 11 were freed in the open transaction: still set as committed.
        committed[1] = 0b0000_1111;
        assert_eq!(bitmap_find_clear(&bits, Some(&committed), 0, BPB), Some(12));
        assert_eq!(bitmap_find_clear(&bits, Some(&committed), 13, BPB), Some(13));
        assert_eq!(bitmap_find_clear(&bits, Some(&committed), 0, 12), None);
        // A full committed copy hides every free bit.
        let full = [0xffu8; BSIZE];
        assert_eq!(bitmap_find_clear(&bits, Some(&full), 0, BPB), None);
        assert_eq!(bitmap_find_clear(&full, None, 5, BPB), None);
        assert_eq!(bitmap_find_clear(&bits, None, BPB - 1, BPB), Some(BPB - 1));
    }

    // Layout facts checked at compile time.
    const _: () = assert!(ADDRS_OFFSET + NADDRS * 4 == DINODE_SIZE);
    const _: () = assert!(MAXFILE_BYTES >= 4 << 30);
    const _: () = assert!(4 + LOGBLOCKS * 4 <= LOG_CHECKSUM_OFFSET && LOG_CHECKSUM_OFFSET + 8 <= BSIZE);

    fn path(root: usize, index: &[usize]) -> Option<BlockPath> {
        let mut p = BlockPath { root, depth: index.len(), index: [0; MAX_DEPTH] };
        p.index[..index.len()].copy_from_slice(index);
        Some(p)
    }

    #[test]
    fn block_path_boundaries() {
        let n = NINDIRECT;
        assert_eq!(block_path(0), path(0, &[]));
        assert_eq!(block_path(NDIRECT - 1), path(NDIRECT - 1, &[]));
        assert_eq!(block_path(NDIRECT), path(SINGLE_INDIRECT, &[0]));
        assert_eq!(block_path(NDIRECT + n - 1), path(SINGLE_INDIRECT, &[n - 1]));
        assert_eq!(block_path(NDIRECT + n), path(DOUBLE_INDIRECT, &[0, 0]));
        assert_eq!(block_path(NDIRECT + n + n + 3), path(DOUBLE_INDIRECT, &[1, 3]));
        assert_eq!(block_path(NDIRECT + n + n * n - 1), path(DOUBLE_INDIRECT, &[n - 1, n - 1]));
        assert_eq!(block_path(NDIRECT + n + n * n), path(TRIPLE_INDIRECT, &[0, 0, 0]));
        assert_eq!(block_path(NDIRECT + n + n * n + n * n + 2 * n + 7), path(TRIPLE_INDIRECT, &[1, 2, 7]));
        assert_eq!(block_path(MAXFILE - 1), path(TRIPLE_INDIRECT, &[n - 1, n - 1, n - 1]));
        assert_eq!(block_path(MAXFILE), None);
        assert_eq!(block_path(usize::MAX), None);
        // The block holding byte 4 GiB, and the one just below it.
        let four_gib = (4usize << 30) / BSIZE;
        let p = block_path(four_gib).unwrap();
        assert_eq!(p.root, TRIPLE_INDIRECT);
        assert_eq!(block_path(four_gib - 1).unwrap().root, TRIPLE_INDIRECT);
    }

    #[test]
    fn roots_cover_the_block_numbers_in_order() {
        let depths: [usize; NADDRS] = core::array::from_fn(root_depth);
        assert_eq!(depths, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        for root in 0..NADDRS {
            let first = root_first_block(root);
            let p = block_path(first).unwrap();
            assert_eq!((p.root, p.depth), (root, root_depth(root)), "root {root}");
            assert!(p.indices().iter().all(|&i| i == 0));
            if root > 0 {
                assert_eq!(block_path(first - 1).unwrap().root, root - 1);
            }
        }
        let last = NADDRS - 1;
        assert_eq!(root_first_block(last) + subtree_blocks(root_depth(last)), MAXFILE);
    }

    #[test]
    fn every_path_maps_back_to_its_block() {
        // Spot checks across every tree: the path's indices spell the offset in the tree.
        for bn in (0..MAXFILE).step_by(9973).chain([MAXFILE - 1]) {
            let p = block_path(bn).unwrap();
            let within = p.indices().iter().fold(0, |acc, &i| acc * NINDIRECT + i);
            assert_eq!(root_first_block(p.root) + within, bn, "block {bn}");
        }
    }

    #[test]
    fn encodings_round_trip() {
        let sb = SuperBlock::layout(131072, 1024).unwrap();
        let mut b = [0u8; BSIZE];
        sb.encode(&mut b);
        assert_eq!(SuperBlock::decode(&b), sb);
        assert!(sb.is_valid(131072));
        let mut di = DiskInode { typ: T_FILE, nlink: 1, size: (5 << 30) + 77, ..Default::default() };
        di.addrs[DOUBLE_INDIRECT] = 999;
        di.addrs[TRIPLE_INDIRECT] = 0x0102_0304;
        di.encode(&mut b);
        assert_eq!(DiskInode::decode(&b), di);
        assert_eq!(b[8..16], ((5u64 << 30) + 77).to_le_bytes());
        assert_eq!(b[60..64], 0x0102_0304u32.to_le_bytes());
        let de = Dirent::new(7, b"README");
        de.encode(&mut b);
        assert_eq!(Dirent::decode(&b), de);
        assert!(de.matches(b"README"));
        let mut h = LogHeader { n: 2, ..Default::default() };
        h.blocks[1] = 55;
        h.checksum = 0x0102_0304_0506_0708;
        h.encode(&mut b);
        assert_eq!(LogHeader::decode(&b), h);
    }

    #[test]
    fn a_log_header_commits_exactly_its_own_log_blocks() {
        let mut bytes = [0u8; 3 * BSIZE];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (i * 7 % 251) as u8;
        }
        let mut log = [0u64; 3 * LOG_WORDS_PER_BLOCK];
        for (w, v) in log.iter_mut().zip(words_of(&bytes)) {
            *w = v;
        }
        assert_eq!(log[1], u64::from_le_bytes(bytes[8..16].try_into().unwrap()));
        let mut h = LogHeader { n: 2, ..Default::default() };
        h.blocks[0] = 40;
        h.blocks[1] = 41;
        h.seal(&log);
        assert!(h.is_committed(&log));
        // Blocks past n are not covered: a longer read of the log area still matches.
        log[2 * LOG_WORDS_PER_BLOCK] ^= 1;
        assert!(h.is_committed(&log));
        // A torn write: one word of one log block is old.
        let mut torn = log;
        torn[LOG_WORDS_PER_BLOCK + 64] ^= 0x80;
        assert!(!h.is_committed(&torn));
        // The same log blocks under other homes, or another count, are not this commit.
        let mut other = h;
        other.blocks[1] = 42;
        assert!(!other.is_committed(&log));
        let mut shorter = h;
        shorter.n = 1;
        assert!(!shorter.is_committed(&log));
        // An empty header, a count past the log, or too short a read commit nothing.
        let mut empty = LogHeader::default();
        empty.seal(&log);
        assert!(!empty.is_committed(&log));
        let mut huge = h;
        huge.n = LOGBLOCKS as u32 + 1;
        assert!(!huge.is_committed(&log));
        assert!(!h.is_committed(&log[..LOG_WORDS_PER_BLOCK]));
        // The checksum survives encoding.
        let mut b = [0u8; BSIZE];
        h.encode(&mut b);
        assert!(LogHeader::decode(&b).is_committed(&log));
    }

    #[test]
    fn long_names_compare_on_first_14_bytes() {
        let de = Dirent::new(3, b"abcdefghijklmnopq");
        assert_eq!(de.name(), b"abcdefghijklmn");
        assert!(de.matches(b"abcdefghijklmnXYZ"));
    }
}
