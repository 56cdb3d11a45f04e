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
mod sched;

pub use exec::exec;
pub use sched::{scheduler, sleep, wakeup, yield_now};

use crate::arch::cpu;
use crate::arch::switch::Context;
use crate::arch::trampoline::TrapFrame;
use crate::fs::file::File;
use crate::fs::Inode;
use crate::mm::{frame, kvm, PhysAddr};
use crate::param::{NOFILE, NPROC};
use crate::sync::SpinLock;
use crate::vm::Vm;
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
    /// The process's address space, for readers from outside (`vmmaps`, Ctrl-P): set with
    /// `ProcPrivate::vm` by creation, fork and exec, cleared when the slot is freed.
    vm: Option<Arc<Vm>>,
}

/// The part of a process only it (or someone it cannot run against) touches.
pub struct ProcPrivate {
    /// Top of this process's kernel stack.
    pub kstack: usize,
    /// The trap frame page (physical; mapped at TRAPFRAME in the user space).
    pub trapframe: PhysAddr,
    /// The address space (the same object as `ProcShared::vm`).
    vm: Option<Arc<Vm>>,
    /// Saved kernel registers, for `switch_context`.
    pub context: Context,
    pub ofile: [Option<Arc<File>>; NOFILE],
    pub cwd: Option<Inode>,
    pub name: [u8; 16],
}

impl ProcPrivate {
    /// The address space.
    ///
    /// # Panics
    /// If the process has none (a kernel bug: every process has one from creation to reaping).
    pub fn vm(&self) -> &Vm {
        self.vm.as_deref().expect("process without address space")
    }
}

pub struct Proc {
    pub lock: SpinLock<ProcShared>,
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
            ProcShared { state: State::Unused, chan: 0, killed: false, xstate: 0, pid: 0, vm: None },
        ),
        parent: UnsafeCell::new(None),
        private: UnsafeCell::new(ProcPrivate {
            kstack: 0,
            trapframe: PhysAddr(0),
            vm: None,
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
/// If the process has none (a kernel bug: every process has one from creation to reaping).
pub fn current_vm() -> Arc<Vm> {
    current_private().vm.clone().expect("process without address space")
}

/// Gives process `p` the address space `vm` (creation, exec) and returns the one it had.
/// The caller is `p` itself or holds it where it cannot run.
fn set_vm(p: &Proc, pr: &mut ProcPrivate, vm: Option<Arc<Vm>>) -> Option<Arc<Vm>> {
    p.lock.lock().vm = vm.clone();
    core::mem::replace(&mut pr.vm, vm)
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
        // SAFETY: the slot is `Used` by us and cannot run yet.
        let pr = unsafe { p.private() };
        let setup = (|| {
            let tf = frame::alloc().ok_or(Errno::NoMem)?;
            pr.trapframe = tf;
            set_vm(p, pr, Some(Vm::new(tf)?));
            Ok(())
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
    // A reader may still hold the space (torn down by exit): it is freed with its last handle.
    drop(set_vm(p, pr, None));
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
    let copy = pp.vm.as_ref().expect("fork: parent has no space").duplicate(cp.trapframe);
    let new_vm = match copy {
        Ok(vm) => vm,
        Err(e) => {
            free_proc(child);
            return Err(e);
        }
    };
    drop(set_vm(child, cp, Some(new_vm)));
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
    if let Some(vm) = pr.vm.clone() {
        vm.tear_down();
    }
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
        if state == State::Unused {
            continue;
        }
        crate::println!("{} {:?} {}", pid, state, p.name());
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
