//! Pipes: a ring buffer shared by a read end and a write end. Readers sleep while the pipe is
//! empty and a writer remains; a read returns what is available (at least one byte), or 0 at
//! end of file (empty, no writer). Writers sleep while the pipe is full; a write fails once no
//! reader remains. A killed process stops waiting and fails.
//!
//! The ring is guarded by a spinlock, so user memory is never touched while holding it: data
//! goes through a small kernel buffer. A reader first copies bytes out to the user and then
//! consumes them only if no other reader consumed them meanwhile (else it retries), so a bad
//! user buffer loses no data. This module owns pipe state only; it must not know about file
//! descriptors.

use crate::mm::uaccess;
use crate::proc;
use crate::sync::SpinLock;
use abi::Errno;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;

/// Bytes a pipe buffers.
pub const PIPESIZE: usize = 4096;
/// Bytes moved per lock hold (the size of the kernel bounce buffer on the stack).
const CHUNK: usize = 512;

struct Ring {
    data: Box<[u8]>,
    /// Bytes read and written since creation; `nwrite - nread` are buffered.
    nread: usize,
    nwrite: usize,
    read_open: bool,
    write_open: bool,
}

struct Pipe {
    ring: SpinLock<Ring>,
}

impl Pipe {
    fn reader_chan(&self) -> usize {
        self as *const Pipe as usize
    }

    fn writer_chan(&self) -> usize {
        self as *const Pipe as usize + 1
    }
}

/// The read end of a pipe; dropping it closes that end.
pub struct ReadEnd(Arc<Pipe>);
/// The write end of a pipe; dropping it closes that end.
pub struct WriteEnd(Arc<Pipe>);

/// Kernel heap bytes one pipe takes, rounded up: its ring and the shared state of its ends.
pub const HEAP_COST: usize = PIPESIZE + 512;

/// Creates a pipe.
pub fn new() -> (ReadEnd, WriteEnd) {
    let ring = Ring {
        data: vec![0u8; PIPESIZE].into_boxed_slice(),
        nread: 0,
        nwrite: 0,
        read_open: true,
        write_open: true,
    };
    let pipe = Arc::new(Pipe { ring: SpinLock::new("pipe", ring) });
    (ReadEnd(pipe.clone()), WriteEnd(pipe))
}

impl ReadEnd {
    /// Reads up to `n` bytes into user memory at `dst`. Sleeps until at least one byte is
    /// available or no writer remains (then returns 0).
    pub fn read(&self, dst: usize, n: usize) -> Result<usize, Errno> {
        let p = &*self.0;
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < n {
            let mut ring = p.ring.lock();
            while ring.nread == ring.nwrite && ring.write_open && done == 0 {
                if proc::current().killed() {
                    return Err(Errno::Io);
                }
                ring = proc::sleep(p.reader_chan(), ring);
            }
            let start = ring.nread;
            let m = (ring.nwrite - start).min(n - done).min(CHUNK);
            if m == 0 {
                break;
            }
            for (i, c) in chunk[..m].iter_mut().enumerate() {
                *c = ring.data[(start + i) % PIPESIZE];
            }
            drop(ring);
            let copied =
                dst.checked_add(done).ok_or(Errno::Fault).and_then(|va| uaccess::copy_out(va, &chunk[..m]));
            if let Err(e) = copied {
                return if done == 0 { Err(e) } else { Ok(done) };
            }
            let mut ring = p.ring.lock();
            if ring.nread != start {
                // Another reader took these bytes; what we copied will be overwritten.
                continue;
            }
            ring.nread += m;
            drop(ring);
            proc::wakeup(p.writer_chan());
            done += m;
        }
        Ok(done)
    }
}

impl WriteEnd {
    /// Writes `n` bytes from user memory at `src`, sleeping while the pipe is full. Fails
    /// when no reader remains or the caller is killed; a bad user buffer ends the write early
    /// (an error if nothing was written).
    pub fn write(&self, src: usize, n: usize) -> Result<usize, Errno> {
        let p = &*self.0;
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < n {
            let m = (n - done).min(CHUNK);
            let copied = src
                .checked_add(done)
                .ok_or(Errno::Fault)
                .and_then(|va| uaccess::copy_in(&mut chunk[..m], va));
            if let Err(e) = copied {
                return if done == 0 { Err(e) } else { Ok(done) };
            }
            let mut put = 0;
            let mut ring = p.ring.lock();
            while put < m {
                if !ring.read_open || proc::current().killed() {
                    return Err(Errno::Pipe);
                }
                let free = PIPESIZE - (ring.nwrite - ring.nread);
                if free == 0 {
                    proc::wakeup(p.reader_chan());
                    ring = proc::sleep(p.writer_chan(), ring);
                    continue;
                }
                let k = free.min(m - put);
                let at = ring.nwrite;
                for (i, &c) in chunk[put..put + k].iter().enumerate() {
                    ring.data[(at + i) % PIPESIZE] = c;
                }
                ring.nwrite += k;
                put += k;
            }
            drop(ring);
            proc::wakeup(p.reader_chan());
            done += m;
        }
        Ok(done)
    }
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        self.0.ring.lock().read_open = false;
        proc::wakeup(self.0.writer_chan());
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.0.ring.lock().write_open = false;
        proc::wakeup(self.0.reader_chan());
    }
}
