"""Process plumbing of the pipelined import: a forked reader process sends chunks of prepared rows.

The import's work is half reading + normalising + serialising the rows, half writing them. On a
machine with two cores or more, `mednum.imports.engine` reads and normalises in a child process
(started with `fork`, so it shares the import's state as it was: mapping, normaliser, commune index)
while the importing process writes to the database. This module holds what does not depend on the
rows:

- `ReaderProcess`: starts the child, receives its messages (pickled tuples, one per chunk) in order,
  and turns a child that dies or exits without a word into `ReaderFailed` instead of a hang;
- `ChunkSender` (child side): a bounded queue of pickled messages and a thread that writes them to
  the pipe, so that the child can read ahead of the database by a few chunks, never more;
- `die_with_parent` (child side): the child is killed by the kernel when the importing process dies
  (even by SIGKILL), and a write to a pipe whose reader is gone fails (`BrokenPipeError`), which
  also ends the child.

The child never uses the database: it inherits the importing process's connections (file
descriptors), and leaves them alone — it ends with `os._exit`, which closes nothing cleanly, so no
"terminate" message is ever sent on a PostgreSQL connection that belongs to the parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable

# Seconds between two checks that the other process is still there, while waiting.
POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


class ReaderFailed(Exception):
    """The reader process died or failed unexpectedly. `str(error)` is a French message."""


class ParentGone(Exception):
    """Child side: the importing process no longer reads the pipe."""


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def die_with_parent(parent_pid: int) -> None:
    """Child side: ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the broken pipe still ends the child
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


class ChunkSender:
    """Child side: `send(message)` pickles the message and queues it (at most `max_pending` waiting);
    a thread writes the queue to the pipe. Raises `ParentGone` once the pipe is broken."""

    def __init__(self, connection, max_pending: int):
        self.connection = connection
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, max_pending))
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, name="mednum-import-sender", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        get = self.queue.get
        send_bytes = self.connection.send_bytes
        while True:
            data = get()
            if data is None:
                return
            try:
                send_bytes(data)
            except BaseException as error:  # noqa: BLE001 - broken pipe: the parent is gone
                self.error = error
                return

    def _put(self, data) -> None:
        while True:
            if self.error is not None or not self.thread.is_alive():
                raise ParentGone(repr(self.error))
            try:
                self.queue.put(data, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def send(self, message) -> None:
        self._put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def finish(self) -> None:
        """Wait until every queued message is written."""
        self._put(None)
        self.thread.join()
        if self.error is not None:
            raise ParentGone(repr(self.error))


class ReaderProcess:
    """Parent side: the forked reader process and the receiving end of its pipe.

    `target(sender)` runs in the child with a `ChunkSender`; `messages()` yields what it sent, in
    order. `close()` (always call it) ends the child if it still runs."""

    def __init__(self, target: Callable[[ChunkSender], None], *, max_pending: int, name: str = "mednum-import-reader"):
        context = multiprocessing.get_context("fork")
        receiver, writer = context.Pipe(duplex=False)
        parent_pid = os.getpid()

        def main():
            receiver.close()  # the parent's end: once the parent is gone, writes fail
            die_with_parent(parent_pid)
            sender = ChunkSender(writer, max_pending)
            try:
                target(sender)
                sender.finish()
            except ParentGone:
                os._exit(0)

        self.receiver = receiver
        self.process = context.Process(target=main, name=name, daemon=True)
        self.process.start()
        writer.close()  # only the child writes: its exit closes the pipe (EOF here)

    def messages(self):
        receiver = self.receiver
        process = self.process
        loads = pickle.loads
        while True:
            if not receiver.poll(POLL_SECONDS):
                if process.is_alive() or receiver.poll(0):
                    continue
                raise ReaderFailed(self._death_message())
            try:
                data = receiver.recv_bytes()
            except (EOFError, OSError):
                raise ReaderFailed(self._death_message()) from None
            yield loads(data)

    def _death_message(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"tué par le signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"tué par le signal {-code}"
        else:
            how = f"code de sortie {code}"
        return f"le processus de lecture du fichier s'est arrêté sans terminer ({how})"

    def close(self) -> None:
        self.receiver.close()  # a child still writing gets a broken pipe
        process = self.process
        process.join(1)
        if process.is_alive():
            process.kill()
            process.join(5)
        try:
            process.close()
        except ValueError:  # pragma: no cover - still running after SIGKILL + 5 s
            pass
