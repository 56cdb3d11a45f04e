//! Processes: the process table, creation (`fork`, the first process), termination (`exit`,
//! `wait`, `kill`) and access to the current process. Scheduling, sleep and wakeup are in
//! `sched.rs`; loading programs is in `exec.rs`.
//!
//! # Lock order
//! `WAIT_LOCK` → a process's `lock`; and, for a process in a system call or fault: its
//! address space's lock (`vm::Vm`) → inode sleep lock → log → buffer sleep lock → a page
//! cache's page map → disk / frame / heap spinlocks. A `Vm` lock is never held together with
//! `WAIT_LOCK`, a process lock or another process's `Vm` lock.
//! A process's `lock` guards its `state`, `chan`, `killed`, `xstate`, `pid` and the shared
//! handle on its address space (`vm`, for readers: [`vm_of`]); `WAIT_LOCK` guards every
//! `parent` link. The rest of a process (`ProcPrivate`) is touched only by the process
//! itself, or by a parent/allocator while the process cannot run (unused, embryo or zombie).

mod exec;
pub mod sched;

pub use exec::exec;
pub use sched::{scheduler, sleep, wakeup, yield_now};

use crate::arch::switch::Context;
use crate::arch::trampoline::TrapFrame;
use crate::fs::file::File;
use crate::fs::Inode;
use crate::mm::addr::PhysMem;
use crate::mm::{frame, kvm, PhysAddr};
use crate::param::{NOFILE, NPROC};
use crate::sync::SpinLock;
use crate::vm::Vm;
use abi::Errno;
use alloc::sync::Arc;
use core::cell::{Cell, RefCell, UnsafeCell};
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The trap frame of a slot that has none (address 0 is never a frame).
const NO_TRAPFRAME: PhysAddr = match PhysAddr::new(0) {
    Some(pa) => pa,
    None => unreachable!(),
};

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
    /// Exit status for the parent's `wait`.
    pub xstate: i32,
    pub pid: i32,
    /// The process's address space, for readers from outside (`vmmaps`, Ctrl-P): set with
    /// `ProcPrivate::vm` by creation, fork and exec, cleared when the slot is freed.
    vm: Option<Arc<Vm>>,
    /// The program's name (for diagnostics): set at creation, fork and exec.
    name: [u8; 16],
    /// Memory reclaim is changing this process's page table from another process
    /// ([`for_each_idle_vm`]): the scheduler must not run it until this clears.
    held_off: bool,
}

/// The part of a process only it (or someone it cannot run against) touches. Every field is
/// reached through a shared reference and changed through a `Cell` or `RefCell`, so no two
/// borrows can ever alias mutably: a nested borrow of the descriptor table or the trap frame
/// is caught (a kernel bug), not undefined behaviour.
pub struct ProcPrivate {
    /// Top of this process's kernel stack (set once at boot).
    kstack: Cell<usize>,
    /// The trap frame page (physical; mapped at TRAPFRAME in the user space).
    trapframe: Cell<PhysAddr>,
    /// A `with_trapframe` borrow is live.
    trapframe_busy: Cell<bool>,
    /// The address space (the same object as `ProcShared::vm`).
    vm: RefCell<Option<Arc<Vm>>>,
    /// Saved kernel registers, for `switch_context` (only through raw pointers).
    context: UnsafeCell<Context>,
    ofile: RefCell<[Option<Arc<File>>; NOFILE]>,
    cwd: RefCell<Option<Inode>>,
}

pub struct Proc {
    pub lock: SpinLock<ProcShared>,
    /// Set by `kill` or a fatal fault; read without the lock at every kernel exit.
    killed: AtomicBool,
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
            ProcShared {
                state: State::Unused,
                chan: 0,
                xstate: 0,
                pid: 0,
                vm: None,
                name: [0; 16],
                held_off: false,
            },
        ),
        killed: AtomicBool::new(false),
        parent: UnsafeCell::new(None),
        private: UnsafeCell::new(ProcPrivate {
            kstack: Cell::new(0),
            trapframe: Cell::new(NO_TRAPFRAME),
            trapframe_busy: Cell::new(false),
            vm: RefCell::new(None),
            context: UnsafeCell::new(Context::zero()),
            ofile: RefCell::new([const { None }; NOFILE]),
            cwd: RefCell::new(None),
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
    /// The caller must be this process, or hold it in a state where it cannot run (no other
    /// hart may use the private part while the reference lives).
    unsafe fn private(&self) -> &ProcPrivate {
        // SAFETY: per the contract above; only shared references are ever made.
        unsafe { &*self.private.get() }
    }

    /// Where this process's saved kernel registers live (for the scheduler's context switch).
    pub(super) fn context_ptr(&self) -> *mut Context {
        // SAFETY: the field is only ever used through this raw pointer, by the scheduler and
        // the process itself around a context switch (the process lock serializes them).
        unsafe { (*self.private.get()).context.get() }
    }

    fn slot(&self) -> usize {
        (self as *const Proc as usize - PROCS.as_ptr() as usize) / core::mem::size_of::<Proc>()
    }

    pub fn pid(&self) -> i32 {
        self.lock.lock().pid
    }

    /// Whether the process was killed (it exits at its next crossing of the user/kernel
    /// boundary, or when a sleep it checks this in ends).
    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    pub fn set_killed(&self) {
        self.killed.store(true, Ordering::Release);
    }

    /// The process name (for diagnostics).
    pub fn name(&self) -> ProcName {
        ProcName(self.lock.lock().name)
    }
}

impl ProcShared {
    /// Makes the process runnable (its lock held, its state not `Runnable` before), counting
    /// it in `sched::RUNNABLE` so an idle hart's scheduler knows there is something to scan
    /// for. Every change to `Runnable` goes through here.
    pub(crate) fn set_runnable(&mut self) {
        debug_assert!(self.state != State::Runnable);
        self.state = State::Runnable;
        sched::RUNNABLE.fetch_add(1, Ordering::Release);
    }
}

/// A process name, printable.
#[derive(Clone, Copy)]
pub struct ProcName([u8; 16]);

impl ProcName {
    fn new(name: &[u8]) -> ProcName {
        let mut n = [0; 16];
        let len = name.len().min(15);
        n[..len].copy_from_slice(&name[..len]);
        ProcName(n)
    }
}

impl core::fmt::Display for ProcName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let len = self.0.iter().position(|&c| c == 0).unwrap_or(self.0.len());
        f.write_str(core::str::from_utf8(&self.0[..len]).unwrap_or("?"))
    }
}

/// Gives each process slot its kernel stack. Called once at boot.
pub fn init() {
    for (i, p) in PROCS.iter().enumerate() {
        // SAFETY: boot time, single hart, no process runs yet.
        unsafe { p.private().kstack.set(kvm::kstack_top(i)) };
    }
}

/// The process running on this hart, if any.
pub fn try_current() -> Option<&'static Proc> {
    // Each process runs in the kernel on its own kernel stack, so the stack pointer names
    // the process: no interrupt masking needed, and a process moved to another hart
    // meanwhile still finds itself.
    kvm::kstack_slot(crate::arch::csr::sp()).map(|slot| &PROCS[slot])
}

/// The process running on this hart.
///
/// # Panics
/// If called outside process context (a kernel bug).
pub fn current() -> &'static Proc {
    try_current().expect("no current process")
}

/// The private part of the current process.
fn current_private() -> &'static ProcPrivate {
    // SAFETY: the running process is the only one that touches its private part.
    unsafe { current().private() }
}

/// The address space of the current process.
///
/// # Panics
/// If the process has none (a kernel bug: every process has one from creation to reaping).
pub fn current_vm() -> Arc<Vm> {
    current_private().vm.borrow().clone().expect("process without address space")
}

/// Runs `f` on the address space of the current process without taking a new handle on it
/// (the hot paths: faults and user copies).
///
/// # Panics
/// If the process has none, or `f` replaces it (exec does that, never from inside `f`).
pub fn with_vm<R>(f: impl FnOnce(&Vm) -> R) -> R {
    f(current_private().vm.borrow().as_ref().expect("process without address space"))
}

/// Gives process `p` (whose private part is `pr`) the address space `vm` (creation, fork,
/// exec, reaping) and returns the one it had. The caller is `p` itself or holds it where it
/// cannot run.
fn set_vm(p: &Proc, pr: &ProcPrivate, vm: Option<Arc<Vm>>) -> Option<Arc<Vm>> {
    p.lock.lock().vm = vm.clone();
    pr.vm.replace(vm)
}

/// Runs `f` on the trap frame of the current process (system-call arguments and result,
/// the saved user registers).
///
/// # Panics
/// If called again from inside `f` (a kernel bug).
pub fn with_trapframe<R>(f: impl FnOnce(&mut TrapFrame) -> R) -> R {
    let pr = current_private();
    assert!(!pr.trapframe_busy.replace(true), "trap frame borrowed twice");
    // SAFETY: the trap frame page belongs to the current process and holds a TrapFrame; the
    // busy flag makes this the only reference to it (the trampoline touches it only on the
    // way in and out of user mode, never while the kernel runs this process).
    let r = f(unsafe { &mut *pr.trapframe.get().as_ptr::<TrapFrame>() });
    pr.trapframe_busy.set(false);
    r
}

/// Runs `f` on the current process's table of open files.
///
/// # Panics
/// If called again from inside `f` (a kernel bug). `f` should not drop a file whose closing
/// may need a transaction: take it out and drop it after.
pub fn with_files<R>(f: impl FnOnce(&mut [Option<Arc<File>>; NOFILE]) -> R) -> R {
    f(&mut current_private().ofile.borrow_mut())
}

/// The current process's working directory (a new reference), if it has one.
pub fn cwd() -> Option<Inode> {
    current_private().cwd.borrow().clone()
}

/// Sets the current process's working directory; returns the old one (drop it inside a
/// transaction).
pub fn replace_cwd(ip: Inode) -> Option<Inode> {
    current_private().cwd.replace(Some(ip))
}

/// What `user_trap_return` needs of the current process: its kernel stack top and the
/// `satp` of its address space.
pub fn user_return_info() -> (usize, usize) {
    let pr = current_private();
    let satp = pr.vm.borrow().as_ref().expect("process without address space").satp();
    (pr.kstack.get(), satp)
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
        p.killed.store(false, Ordering::Relaxed);
        g.xstate = 0;
        g.chan = 0;
        drop(g);
        // SAFETY: the slot is `Used` by us and cannot run yet.
        let pr = unsafe { p.private() };
        let setup = (|| {
            let tf = frame::alloc().ok_or(Errno::NoMem)?;
            pr.trapframe.set(tf);
            set_vm(p, pr, Some(Vm::new(tf)?));
            Ok(())
        })();
        if let Err(e) = setup {
            free_proc(p);
            return Err(e);
        }
        let mut ctx = Context::zero();
        ctx.ra = sched::fork_return as *const () as usize;
        ctx.sp = pr.kstack.get();
        // SAFETY: the slot cannot run yet, so nothing else uses its context.
        unsafe { *p.context_ptr() = ctx };
        return Ok(p);
    }
    Err(Errno::NoMem)
}

/// Releases everything a slot holds except its kernel stack and marks it unused.
/// The process must not be able to run (Used or Zombie).
fn free_proc(p: &Proc) {
    // SAFETY: the process cannot run; we are its allocator or its reaping parent.
    let pr = unsafe { p.private() };
    // A reader may still hold the space (torn down by exit): it is freed with its last handle.
    drop(set_vm(p, pr, None));
    let tf = pr.trapframe.replace(NO_TRAPFRAME);
    if tf != NO_TRAPFRAME {
        frame::free(tf);
    }
    // SAFETY: parent links of a dead slot are ours to clear (its parent no longer looks).
    unsafe { *p.parent.get() = None };
    let mut g = p.lock.lock();
    g.pid = 0;
    g.chan = 0;
    p.killed.store(false, Ordering::Relaxed);
    g.xstate = 0;
    g.name = [0; 16];
    g.state = State::Unused;
}

/// Creates the first process, which execs `/init` (with `args` when not empty) once the file
/// system is up; see `sched::fork_return`.
pub fn user_init() {
    let p = alloc_proc().expect("user_init: out of memory");
    assert_eq!(p.slot(), INIT_SLOT);
    let mut g = p.lock.lock();
    g.name = ProcName::new(b"init").0;
    g.set_runnable();
}

/// Creates a copy of the current process. Returns the child's pid to the parent; the child
/// returns 0 from the same system call.
pub fn fork() -> Result<i32, Errno> {
    let parent = current();
    let child = alloc_proc()?;
    // SAFETY: the child cannot run yet; the parent is us.
    let (cp, pp) = unsafe { (child.private(), parent.private()) };
    // The child's space is installed while the parent's is still locked, so a walk over
    // every process's space (`vm::truncate`) that finds the parent's unlocked also finds
    // the child's.
    let parent_vm = pp.vm.borrow().clone().expect("fork: parent has no space");
    if let Err(e) = parent_vm.duplicate(cp.trapframe.get(), |vm| drop(set_vm(child, cp, Some(vm)))) {
        free_proc(child);
        return Err(e);
    }
    let mut ctf = with_trapframe(|tf| *tf);
    ctf.regs[TrapFrame::A0] = 0;
    // SAFETY: the child's trap frame page is live, ours alone while it cannot run.
    unsafe { *cp.trapframe.get().as_ptr::<TrapFrame>() = ctf };
    *cp.ofile.borrow_mut() = pp.ofile.borrow().clone();
    *cp.cwd.borrow_mut() = pp.cwd.borrow().clone();
    let name = parent.lock.lock().name;
    child.lock.lock().name = name;
    let pid = child.pid();
    {
        let _w = WAIT_LOCK.lock();
        // SAFETY: WAIT_LOCK is held.
        unsafe { *child.parent.get() = Some(parent.slot()) };
    }
    child.lock.lock().set_runnable();
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

/// Powers the machine off with `status` after writing back what the shared file mappings of
/// every process modified, so that a clean shutdown (`poweroff`, init's exit) loses no store
/// made through a mapping, and after the log's last group is installed (the image needs no
/// replay). Processes on other harts keep running meanwhile: a store made after
/// its space was written back is lost, as on any machine switched off under running programs.
pub fn shutdown(status: i32) -> ! {
    for p in PROCS.iter() {
        let vm = p.lock.lock().vm.clone();
        if let Some(vm) = vm {
            vm.sync_all();
        }
    }
    crate::fs::log::flush();
    crate::drivers::power::poweroff(status)
}

/// Ends the current process with `status`. Files are closed and the address space is torn
/// down here; the slot stays a zombie until the parent's `wait`.
pub fn exit(status: i32) -> ! {
    let p = current();
    if p.slot() == INIT_SLOT {
        // Nothing can adopt orphans any more: stop the machine rather than panic.
        crate::println!("init exited with status {}; powering off", status);
        shutdown(status);
    }
    let pr = current_private();
    // Mappings go first: dirty shared pages are written back while the files are still open.
    let vm = pr.vm.borrow().clone();
    if let Some(vm) = vm {
        vm.tear_down();
    }
    let files = core::mem::replace(&mut *pr.ofile.borrow_mut(), [const { None }; NOFILE]);
    drop(files);
    let cwd = pr.cwd.take();
    if let Some(cwd) = cwd {
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
            p.set_killed();
            if g.state == State::Sleeping {
                g.set_runnable();
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

/// The address space of process `pid` (0 means the caller), for reading its mappings. The
/// handle keeps the space alive; a process that exits meanwhile tears it down, and the
/// space's readers then find it empty (`Vm::records` returns `None`). `Ok(None)` when the
/// process has no space worth reading: it is exiting or a zombie, or still being created by
/// `fork`. Fails with [`Errno::Srch`] when no process has that pid.
pub fn vm_of(pid: i32) -> Result<Option<Arc<Vm>>, Errno> {
    let pid = if pid == 0 { current().pid() } else { pid };
    for p in PROCS.iter() {
        let g = p.lock.lock();
        if g.pid != pid || g.state == State::Unused {
            continue;
        }
        let alive = matches!(g.state, State::Runnable | State::Running | State::Sleeping);
        return Ok(if alive { g.vm.clone() } else { None });
    }
    Err(Errno::Srch)
}

/// Calls `f` with the address space of each other process that is not running on any hart
/// (sleeping or runnable), keeping it from being scheduled until `f` returns: `f` may then
/// change its page table without a TLB shootdown, since the way back to user mode flushes the
/// TLB. Processes whose lock is busy are skipped; `f` returns whether to go on. For memory
/// reclaim, which calls it from a fault; `f` must not sleep.
pub fn for_each_idle_vm(mut f: impl FnMut(&Vm) -> bool) {
    let me = try_current().map(|p| p.slot());
    for p in PROCS.iter() {
        if Some(p.slot()) == me {
            continue;
        }
        let vm = {
            let Some(mut g) = p.lock.try_lock() else { continue };
            if !matches!(g.state, State::Sleeping | State::Runnable) || g.vm.is_none() {
                continue;
            }
            g.held_off = true;
            g.vm.clone()
        };
        let go_on = vm.as_deref().is_none_or(&mut f);
        p.lock.lock().held_off = false;
        // The process may have exited meanwhile: its space then goes with this last handle.
        drop(vm);
        if !go_on {
            break;
        }
    }
}

/// Calls `f` with a handle on the address space of every process that has one (the caller's
/// included, processes being created by fork too, zombies not: their space is torn down).
/// No lock is held while `f` runs, so it may sleep (lock the `Vm`). For truncation of a
/// mapped file (`vm::truncate`).
pub fn for_each_vm(mut f: impl FnMut(Arc<Vm>)) {
    for p in PROCS.iter() {
        let vm = {
            let g = p.lock.lock();
            if matches!(g.state, State::Unused | State::Zombie) {
                continue;
            }
            g.vm.clone()
        };
        if let Some(vm) = vm {
            f(vm);
        }
    }
}

/// Most mappings Ctrl-P lists per process.
const DUMP_MAPPINGS: usize = 16;

/// Prints one line per process and, under it, its mappings (Ctrl-P). Runs in the console's
/// interrupt handler, so it never sleeps: a process whose address space is locked (it is in
/// a fault, a system call that touches its memory, exec or exit, or someone is reading it)
/// is shown without its mappings.
pub fn dump() {
    crate::println!();
    for p in PROCS.iter() {
        // Peek without locking: this is a debugging aid and must not deadlock.
        let (pid, state) = {
            // SAFETY: a racy read of plain-old-data fields for display only; the reference
            // ends here, before the lock is tried below.
            let g = unsafe { p.lock.get_unchecked() };
            (g.pid, g.state)
        };
        let name = p.lock.try_lock().map(|g| ProcName(g.name)).unwrap_or(ProcName::new(b"?"));
        if state == State::Unused {
            continue;
        }
        crate::println!("{} {:?} {}", pid, state, name);
        if !matches!(state, State::Runnable | State::Running | State::Sleeping) {
            continue;
        }
        // The heap must not run dry in an interrupt handler (that would panic), and a lock
        // this hart already holds, or one that may sleep, must not be waited for.
        let room = crate::mm::heap::has_room_for_user(DUMP_MAPPINGS * core::mem::size_of::<abi::VmMap>());
        let vm = if room { p.lock.try_lock().and_then(|g| g.vm.clone()) } else { None };
        let mut maps = alloc::vec::Vec::new();
        let total = vm.as_ref().and_then(|vm| {
            maps.reserve_exact(DUMP_MAPPINGS);
            vm.try_records(0, DUMP_MAPPINGS, &mut maps)
        });
        let Some(total) = total else {
            crate::println!("    (mappings busy)");
            continue;
        };
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
        if total > maps.len() {
            crate::println!("    ... {} more mappings", total - maps.len());
        }
    }
}
