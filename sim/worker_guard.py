"""Pool workers die with their parent, and leave Ctrl-C to it.

A process pool's workers block waiting for work; if the parent is killed (SIGKILL, the
OOM killer, a closed terminal) nothing tells them, and they (and multiprocessing's
resource tracker, which waits for every holder of its pipe) stayed alive for minutes.
:func:`guard_worker`, called first in a worker (the pool's initializer), makes it die
with its parent by two means:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes): the kernel kills the
  worker the moment its parent dies, whatever the worker is doing (even inside C code).
  The signal follows the parent *thread* that started the worker, so it is used only
  for pools whose workers are started by the thread that lives as long as the pool
  (``sim.experiment``'s local pool: the main thread);
- everywhere, a daemon thread that checks every :data:`WATCHDOG_S` seconds whether the
  parent is still the one that started the worker (``os.getppid()`` changes when it
  dies) and ends the worker if not: portable, needs the GIL now and then.

With the workers gone, the resource tracker sees its pipe close and exits too. Workers
also ignore SIGINT: Ctrl-C reaches the whole process group, and the parent stops the
pool (``sim.experiment``) and prints the one line (``run.py``), instead of every worker
printing a traceback; they are started under :func:`sigint_held`, so a Ctrl-C while a
worker still imports the model waits until it ignores SIGINT.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

#: Seconds between the watchdog's looks at the parent [assume: a worker outliving its
#: parent by a second is harmless; a look costs microseconds].
WATCHDOG_S = 1.0
#: ``PR_SET_PDEATHSIG`` of <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
#: Exit status of a worker whose parent died.
ORPHAN_EXIT = 1


def guard_worker(parent_pid: int, pdeathsig: bool = True) -> None:
    """Make this worker ignore SIGINT and die with ``parent_pid`` (see the module)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if pdeathsig:
        set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the guard was in place
        os._exit(ORPHAN_EXIT)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="die-with-parent", daemon=True).start()


@contextlib.contextmanager
def sigint_held():
    """Hold SIGINT back in this thread for a while (``pthread_sigmask``; a no-op where
    there is none). Processes and threads started meanwhile inherit the mask, so a
    worker does not get a Ctrl-C while it still imports the model (a traceback), before
    :func:`guard_worker` makes it ignore SIGINT; a Ctrl-C meanwhile reaches this process
    when the block ends (not lost)."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    # A Ctrl-C that arrived just before the mask was set has tripped Python's C-level
    # handler already; its Python-level handler (KeyboardInterrupt) would run at the next
    # check, inside the block, e.g. in the middle of starting a worker, which then dies
    # reading from the parent (an EOFError traceback). So the Python-level handler only
    # notes it meanwhile, and the Ctrl-C is acted on when the block ends.
    caught: list[int] = []
    old_handler = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    old = block(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, old)
        signal.signal(signal.SIGINT, old_handler)
        if caught:
            _act_on_sigint(old_handler)


def _act_on_sigint(handler) -> None:
    """Do what ``handler`` (SIGINT's Python-level handler) does with a Ctrl-C."""
    if handler is signal.default_int_handler:
        raise KeyboardInterrupt
    if callable(handler):
        handler(signal.SIGINT, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)
    # SIG_IGN: ignored, as it would have been


def set_parent_death_signal(sig: int = signal.SIGKILL if hasattr(signal, "SIGKILL") else 9) -> bool:
    """Linux: ask the kernel to send ``sig`` to this process when its parent dies; True
    if set (False on other systems or if prctl is not available)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_S)
        if os.getppid() != parent_pid:
            os._exit(ORPHAN_EXIT)
