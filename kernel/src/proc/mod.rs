//! Processes: the process table, creation (`fork`, the first process), termination (`exit`,
//! `wait`, `kill`) and access to the current process. Scheduling, sleep and wakeup are in
//! `sched.rs`; loading programs is in `exec.rs`; the space lock is in `spacelock.rs`.
//!
//! # Lock order
//! `WAIT_LOCK` → a process's `lock` → (address space, owned by the process) → inode sleep lock
//! → log → buffer sleep lock → a page cache's page map → disk / frame / heap spinlocks. A
//! process's `space_lock` comes before everything its holder then does (its own `lock`,
//! inodes, the log...) and is never held together with `WAIT_LOCK` or with another process's
//! `space_lock`.
//! A process's `lock` guards its `state`, `chan`, `killed`, `xstate` and `pid`; `WAIT_LOCK`
//! guards every `parent` link. The rest of a process (`ProcPrivate`) is touched only by the
//! process itself, or by a parent/allocator while the process cannot run (unused, embryo or
//! zombie) — with one exception: [`with_space`] lets others *read* the process's mappings
//! while they hold its `space_lock`, which the process holds whenever it changes them
//! (mmap, munmap, exec, exit).

mod exec;
mod sched;
mod spacelock;

pub use exec::exec;
pub use sched::{scheduler, sleep, wakeup, yield_now};
pub use spacelock::{SpaceGuard, SpaceLock};

use crate::arch::cpu;
use crate::arch::switch::Context;
use crate::arch::trampoline::TrapFrame;
use crate::fs::file::File;
use crate::fs::Inode;
use crate::mm::{frame, kvm, PhysAddr};
use crate::param::{NOFILE, NPROC};
use crate::sync::SpinLock;
use crate::vm::AddressSpace;
use abi::Errno;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI32, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unused,
    Used,
    Sleeping,
    Runnable,
    Running,
    Zombie,
}

/// The part of a process guarded by its `lock`.
pub struct ProcShared {
    pub state: State,
    /// What the process sleeps on, when `Sleeping`.
    pub chan: usize,
    pub killed: bool,
    /// Exit status for the parent's `wait`.
    pub xstate: i32,
    pub pid: i32,
}

/// The part of a process only it (or someone it cannot run against) touches.
pub struct ProcPrivate {
    /// Top of this process's kernel stack.
    pub kstack: usize,
    /// The trap frame page (physical; mapped at TRAPFRAME in the user space).
    pub trapframe: PhysAddr,
    pub space: Option<AddressSpace>,
    /// Saved kernel registers, for `switch_context`.
    pub context: Context,
    pub ofile: [Option<Arc<File>>; NOFILE],
    pub cwd: Option<Inode>,
    pub name: [u8; 16],
}

pub struct Proc {
    pub lock: SpinLock<ProcShared>,
    /// Held by the process while it changes its set of mappings or replaces its address
    /// space, and by readers of that set from outside (see [`with_space`]).
    pub space_lock: SpaceLock,
    /// Slot index of the parent; guarded by `WAIT_LOCK`.
    parent: UnsafeCell<Option<usize>>,
    private: UnsafeCell<ProcPrivate>,
}

// SAFETY: `lock` guards the shared part; `parent` is guarded by WAIT_LOCK; `private` follows the
// ownership rule in the module docs.
unsafe impl Sync for Proc {}

static PROCS: [Proc; NPROC] = [const {
    Proc {
        lock: SpinLock::new(
            "proc",
            ProcShared { state: State::Unused, chan: 0, killed: false, xstate: 0, pid: 0 },
        ),
        space_lock: SpaceLock::new(),
        parent: UnsafeCell::new(None),
        private: UnsafeCell::new(ProcPrivate {
            kstack: 0,
            trapframe: PhysAddr(0),
            space: None,
            context: Context::zero(),
            ofile: [const { None }; NOFILE],
            cwd: None,
            name: [0; 16],
        }),
    }
}; NPROC];

/// Guards every process's `parent`; taken before any process lock.
static WAIT_LOCK: SpinLock<()> = SpinLock::new("wait", ());
static NEXT_PID: AtomicI32 = AtomicI32::new(1);
/// Slot of the init process (pid 1).
const INIT_SLOT: usize = 0;

impl Proc {
    /// The private part.
    ///
    /// # Safety
    /// The caller must be this process, or hold it in a state where it cannot run, and must
    /// not let two returned borrows overlap.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn private(&self) -> &mut ProcPrivate {
        // SAFETY: per the contract above.
        unsafe { &mut *self.private.get() }
    }

    fn slot(&self) -> usize {
        (self as *const Proc as usize - PROCS.as_ptr() as usize) / core::mem::size_of::<Proc>()
    }

    pub fn pid(&self) -> i32 {
        self.lock.lock().pid
    }

    pub fn killed(&self) -> bool {
        self.lock.lock().killed
    }

    pub fn set_killed(&self) {
        self.lock.lock().killed = true;
    }

    /// The process name as text (for diagnostics).
    pub fn name(&self) -> &str {
        // SAFETY: the name is written only by exec of this process and at creation.
        let n = unsafe { &(*self.private.get()).name };
        let len = n.iter().position(|&c| c == 0).unwrap_or(n.len());
        core::str::from_utf8(&n[..len]).unwrap_or("?")
    }
}

/// Gives each process slot its kernel stack. Called once at boot.
pub fn init() {
    for (i, p) in PROCS.iter().enumerate() {
        // SAFETY: boot time, single hart, no process runs yet.
        unsafe { p.private().kstack = kvm::kstack_top(i) };
    }
}

/// The process running on this hart, if any.
pub fn try_current() -> Option<&'static Proc> {
    cpu::push_off();
    // SAFETY: interrupts are off, so this hart's slot is stable.
    let p = unsafe { cpu::this_cpu().proc };
    cpu::pop_off();
    // SAFETY: `proc` points into the static table or is null.
    unsafe { p.as_ref() }
}

/// The process running on this hart.
///
/// # Panics
/// If called outside process context (a kernel bug).
pub fn current() -> &'static Proc {
    try_current().expect("no current process")
}

/// The current process's pid (0 outside process context).
pub fn current_pid() -> i32 {
    try_current().map(|p| p.pid()).unwrap_or(0)
}

/// The private part of the current process.
pub fn current_private() -> &'static mut ProcPrivate {
    // SAFETY: only the running process itself calls this, for short-lived borrows.
    unsafe { current().private() }
}

/// The address space of the current process.
///
/// # Panics
/// If the process has none (only during exec's swap, a kernel bug to call then).
pub fn current_space() -> &'static mut AddressSpace {
    current_private().space.as_mut().expect("process without address space")
}

/// The trap frame of the current process.
pub fn current_trapframe() -> &'static mut TrapFrame {
    // SAFETY: the trap frame page belongs to the current process and holds a TrapFrame.
    unsafe { &mut *current_private().trapframe.as_ptr::<TrapFrame>() }
}

/// Finds an unused slot, gives it a pid, a trap frame and an empty address space, and sets
/// its context to start in `fork_return`. Returns it in state `Used` with its lock released.
fn alloc_proc() -> Result<&'static Proc, Errno> {
    for p in PROCS.iter() {
        let mut g = p.lock.lock();
        if g.state != State::Unused {
            continue;
        }
        g.state = State::Used;
        g.pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
        g.killed = false;
        g.xstate = 0;
        g.chan = 0;
        drop(g);
        // The slot's last owner left the flag set at exit; readers check the pid first, so
        // they cannot mistake the new process for the old one meanwhile.
        p.space_lock.lock().set_torn_down(false);
        // SAFETY: the slot is `Used` by us and cannot run yet.
        let pr = unsafe { p.private() };
        let setup = (|| {
            let tf = frame::alloc().ok_or(Errno::NoMem)?;
            pr.trapframe = tf;
            match AddressSpace::new(tf) {
                Ok(s) => {
                    pr.space = Some(s);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })();
        if let Err(e) = setup {
            free_proc(p);
            return Err(e);
        }
        pr.context = Context::zero();
        pr.context.ra = sched::fork_return as *const () as usize;
        pr.context.sp = pr.kstack;
        return Ok(p);
    }
    Err(Errno::NoMem)
}

/// Releases everything a slot holds except its kernel stack and marks it unused.
/// The process must not be able to run (Used or Zombie).
fn free_proc(p: &Proc) {
    // SAFETY: the process cannot run; we are its allocator or its reaping parent.
    let pr = unsafe { p.private() };
    if let Some(space) = pr.space.take() {
        space.destroy();
    }
    if pr.trapframe.0 != 0 {
        frame::free(pr.trapframe);
        pr.trapframe = PhysAddr(0);
    }
    pr.name = [0; 16];
    // SAFETY: parent links of a dead slot are ours to clear (its parent no longer looks).
    unsafe { *p.parent.get() = None };
    let mut g = p.lock.lock();
    g.pid = 0;
    g.chan = 0;
    g.killed = false;
    g.xstate = 0;
    g.state = State::Unused;
}

/// Creates the first process, which execs `/init` (with `args` when not empty) once the file
/// system is up; see `sched::fork_return`.
pub fn user_init() {
    let p = alloc_proc().expect("user_init: out of memory");
    assert_eq!(p.slot(), INIT_SLOT);
    // SAFETY: the process has not run yet.
    let pr = unsafe { p.private() };
    pr.name[..4].copy_from_slice(b"init");
    p.lock.lock().state = State::Runnable;
}

/// Creates a copy of the current process. Returns the child's pid to the parent; the child
/// returns 0 from the same system call.
pub fn fork() -> Result<i32, Errno> {
    let parent = current();
    let child = alloc_proc()?;
    // SAFETY: the child cannot run yet; the parent is us.
    let (cp, pp) = unsafe { (child.private(), parent.private()) };
    let space = pp.space.as_mut().expect("fork: parent has no space");
    let copy = space.duplicate(cp.trapframe);
    let new_space = match copy {
        Ok(s) => s,
        Err(e) => {
            free_proc(child);
            return Err(e);
        }
    };
    if let Some(old) = cp.space.replace(new_space) {
        old.destroy();
    }
    // SAFETY: both trap frame pages are live and distinct.
    unsafe {
        let ctf = &mut *cp.trapframe.as_ptr::<TrapFrame>();
        *ctf = *pp.trapframe.as_ptr::<TrapFrame>();
        ctf.regs[TrapFrame::A0] = 0;
    }
    for (c, p) in cp.ofile.iter_mut().zip(pp.ofile.iter()) {
        *c = p.clone();
    }
    cp.cwd = pp.cwd.clone();
    cp.name = pp.name;
    let pid = child.pid();
    {
        let _w = WAIT_LOCK.lock();
        // SAFETY: WAIT_LOCK is held.
        unsafe { *child.parent.get() = Some(parent.slot()) };
    }
    child.lock.lock().state = State::Runnable;
    Ok(pid)
}

/// Gives the children of `p` to init. Caller holds `WAIT_LOCK`.
fn reparent(p: &Proc) {
    let me = p.slot();
    for c in PROCS.iter() {
        // SAFETY: WAIT_LOCK is held by the caller.
        let parent = unsafe { &mut *c.parent.get() };
        if *parent == Some(me) {
            *parent = Some(INIT_SLOT);
            wakeup(&PROCS[INIT_SLOT] as *const Proc as usize);
        }
    }
}

/// Ends the current process with `status`. Files are closed and the address space is torn
/// down here; the slot stays a zombie until the parent's `wait`.
pub fn exit(status: i32) -> ! {
    let p = current();
    if p.slot() == INIT_SLOT {
        // Nothing can adopt orphans any more: stop the machine rather than panic.
        crate::println!("init exited with status {}; powering off", status);
        crate::drivers::power::poweroff(status);
    }
    let pr = current_private();
    // Mappings go first: dirty shared pages are written back while the files are still open.
    // From here on readers must leave the space alone: the parent frees it without the lock.
    let mut g = p.space_lock.lock();
    if let Some(space) = pr.space.as_mut() {
        crate::vm::mmap::unmap_all(space);
    }
    g.set_torn_down(true);
    drop(g);
    for f in pr.ofile.iter_mut() {
        drop(f.take());
    }
    if let Some(cwd) = pr.cwd.take() {
        crate::fs::log::begin_op();
        drop(cwd);
        crate::fs::log::end_op();
    }
    let w = WAIT_LOCK.lock();
    reparent(p);
    // SAFETY: WAIT_LOCK is held.
    let parent = unsafe { *p.parent.get() }.unwrap_or(INIT_SLOT);
    wakeup(&PROCS[parent] as *const Proc as usize);
    let mut g = p.lock.lock();
    g.xstate = status;
    g.state = State::Zombie;
    drop(w);
    sched::sched(g);
    unreachable!("zombie ran");
}

/// Waits for a child to exit; stores its status at user address `status_addr` (if non-zero)
/// and returns its pid. Fails when the caller has no children or was killed.
pub fn wait(status_addr: usize) -> Result<i32, Errno> {
    let me = current();
    let my_slot = me.slot();
    let mut w = WAIT_LOCK.lock();
    loop {
        let mut have_kids = false;
        for c in PROCS.iter() {
            // SAFETY: WAIT_LOCK is held.
            if unsafe { *c.parent.get() } != Some(my_slot) {
                continue;
            }
            have_kids = true;
            let g = c.lock.lock();
            if g.state == State::Zombie {
                let (pid, xstate) = (g.pid, g.xstate);
                drop(g);
                free_proc(c);
                drop(w);
                if status_addr != 0 {
                    crate::mm::uaccess::copy_out(status_addr, &xstate.to_le_bytes())?;
                }
                return Ok(pid);
            }
        }
        if !have_kids || me.killed() {
            return Err(Errno::Child);
        }
        w = sleep(me as *const Proc as usize, w);
    }
}

/// Marks process `pid` killed; it exits the next time it crosses the user/kernel boundary.
/// init (pid 1) cannot be killed: it adopts orphans and restarts the shell.
pub fn kill(pid: i32) -> Result<(), Errno> {
    if pid == 1 {
        return Err(Errno::Perm);
    }
    for p in PROCS.iter() {
        let mut g = p.lock.lock();
        if g.pid == pid && g.state != State::Unused {
            g.killed = true;
            if g.state == State::Sleeping {
                g.state = State::Runnable;
            }
            return Ok(());
        }
    }
    Err(Errno::Srch)
}

/// Kills the current process after a fault it may not take, printing one diagnostic line.
pub fn kill_current(cause: &str, pc: usize, addr: usize) {
    let p = current();
    crate::println!("pid {} ({}): killed: {} at addr {:#x}, pc {:#x}", p.pid(), p.name(), cause, addr, pc);
    p.set_killed();
}

/// Runs `f` on the address space of process `pid` (0 means the caller) at a moment when the
/// process cannot change its set of mappings, and returns what `f` returns. `Ok(None)` when
/// the process has no space worth reading: it is exiting or a zombie (its mappings are gone),
/// or still being created by `fork`. Fails with [`Errno::Srch`] when no process has that pid.
/// May sleep (while the process is in mmap, munmap or exec); `f` must not sleep.
pub fn with_space<R>(pid: i32, f: impl FnOnce(&AddressSpace) -> R) -> Result<Option<R>, Errno> {
    let pid = if pid == 0 { current().pid() } else { pid };
    let p = PROCS
        .iter()
        .find(|p| {
            let g = p.lock.lock();
            g.pid == pid && g.state != State::Unused
        })
        .ok_or(Errno::Srch)?;
    let guard = p.space_lock.lock();
    read_space(p, pid, &guard, f)
}

/// [`with_space`] once the space lock of `p` is held (`guard`): checks that `p` is still the
/// process `pid` and alive, then lets `f` read its space.
///
/// Why this is safe. Everything that changes a process's set of mappings or replaces or frees
/// its address space either holds its space lock or runs while the process is a zombie or an
/// embryo: the process's own mmap, munmap and exec take the lock (system-call layer), exit
/// takes it for the final unmap and then sets `torn_down`, the parent's `wait` frees the space
/// of a zombie only, and `fork` builds a child's space while the child is an embryo (`Used`).
/// So with the lock held, a process that is Runnable, Running or Sleeping and not torn down
/// keeps its `space` and its VMAs until the lock is released; it cannot even exit meanwhile.
/// What it can still do, on another hart, is take page faults or sbrk: they only write
/// page-table entries and add interior tables (never freed while the space lives), and the
/// readers in `vm::stats` load each entry once, seeing it before or after the change.
fn read_space<R>(
    p: &Proc,
    pid: i32,
    guard: &SpaceGuard<'_>,
    f: impl FnOnce(&AddressSpace) -> R,
) -> Result<Option<R>, Errno> {
    let g = p.lock.lock();
    if g.pid != pid || g.state == State::Unused {
        return Err(Errno::Srch);
    }
    let alive = matches!(g.state, State::Runnable | State::Running | State::Sleeping);
    drop(g);
    if !alive || guard.torn_down() {
        return Ok(None);
    }
    // SAFETY: see above: the `space` field is not written while the lock is held and the
    // process is alive. Only that field is borrowed (shared); the owner keeps writing the
    // other fields of its private part.
    let space = unsafe { &*core::ptr::addr_of!((*p.private.get()).space) };
    Ok(space.as_ref().map(f))
}

/// Most mappings Ctrl-P lists per process.
const DUMP_MAPPINGS: usize = 16;

/// Prints one line per process and, under it, its mappings (Ctrl-P). Runs in the console's
/// interrupt handler, so it never sleeps: a process whose space lock is taken (it is in mmap,
/// munmap, exec or exit, or someone is reading it) is shown without its mappings.
pub fn dump() {
    crate::println!();
    for p in PROCS.iter() {
        // Peek without locking: this is a debugging aid and must not deadlock.
        // SAFETY: a racy read of plain-old-data fields for display only.
        let g = unsafe { p.lock.get_unchecked() };
        let (pid, state) = (g.pid, g.state);
        if state == State::Unused {
            continue;
        }
        crate::println!("{} {:?} {}", pid, state, p.name());
        if !matches!(state, State::Runnable | State::Running | State::Sleeping) {
            continue;
        }
        // The heap must not run dry in an interrupt handler (that would panic).
        let room = crate::mm::heap::has_room_for_user(DUMP_MAPPINGS * core::mem::size_of::<abi::VmMap>());
        let guard = if room { p.space_lock.try_lock() } else { None };
        let Some(guard) = guard else {
            crate::println!("    (mappings busy)");
            continue;
        };
        let mut maps = alloc::vec::Vec::with_capacity(DUMP_MAPPINGS);
        let total = read_space(p, pid, &guard, |space| {
            crate::vm::stats::mapping_records(space, 0, DUMP_MAPPINGS, &mut maps);
            space.vmas.len()
        });
        drop(guard);
        for m in &maps {
            let prot = crate::vm::stats::prot_text(m.prot);
            let share = if m.shared() { "shared" } else { "private" };
            let pages = m.len() / crate::mm::PGSIZE as u64;
            crate::print!(
                "    {:#x}-{:#x} {} {} {}/{} pages ",
                m.start,
                m.end,
                core::str::from_utf8(&prot).unwrap_or("???"),
                share,
                m.resident,
                pages
            );
            if m.anonymous() {
                crate::println!("anon");
            } else {
                crate::println!("inode {} offset {:#x}", m.inum, m.offset);
            }
        }
        if let Ok(Some(n)) = total {
            if n > maps.len() {
                crate::println!("    ... {} more mappings", n - maps.len());
            }
        }
    }
}
