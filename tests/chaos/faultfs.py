"""A fault-injecting FUSE filesystem for the power-loss and read-only tests.

``python -m tests.chaos.faultfs BACKING MOUNTPOINT`` mounts a passthrough of the directory
BACKING at MOUNTPOINT, in the spirit of Jepsen's LazyFS: the contents written to a file
stay in this process's memory (an overlay of 4 KiB pages plus the file's pending size)
until the file is fsync'd (``fsync`` or ``fdatasync``); only then are that file's pending
pages written to the backing file, which is fsync'd in turn. So SIGKILL of this process
is a power cut: every write no fsync covered is gone, and the backing directory holds
exactly what a disk would after the power came back. Closing a file is not a sync.

Namespace operations (create, unlink, rename, mkdir) reach the backing directory at once,
so a directory fsync has nothing to do: this filesystem drops unsynced *contents*, never a
file name. Locks are left to the kernel (one host), and the page cache still serves the
mmap of SQLite's ``-shm`` file (its writes come back here as ordinary writes).

Commands arrive one per line on stdin and are answered on stdout:
``mode rw|erofs|enospc`` makes writes succeed, fail with EROFS (a filesystem turned
read-only: writes, truncates, creates, opens for writing and syncs of pending data) or
fail with ENOSPC when they would grow a file (a full disk); ``pending`` answers how many
files hold unsynced pages. End of stdin ends the process (without syncing anything).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from typing import Any

import mfusepy as fuse

BLOCK = 4096
STAT_KEYS = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks")
TIME_KEYS = ("st_atime", "st_mtime", "st_ctime")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR


class PendingFile:
    """One file as the programs see it: the durable backing file under unsynced pages.

    ``floor`` is how many leading bytes of the backing file are still the file's content
    (a truncate since the last sync may have cut it shorter); bytes past it read as zeros
    unless a pending page holds them.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR)
        self.size = self.floor = os.fstat(self.fd).st_size
        self.pages: dict[int, bytearray] = {}

    def _durable(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self.floor)
        data = os.pread(self.fd, end - offset, offset) if end > offset else b""
        return data.ljust(n, b"\0")

    def read(self, n: int, offset: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        out = bytearray(self._durable(offset, n))
        for i in range(offset // BLOCK, (offset + n + BLOCK - 1) // BLOCK):
            page = self.pages.get(i)
            if page is not None:
                lo, hi = max(offset, i * BLOCK), min(offset + n, (i + 1) * BLOCK)
                out[lo - offset : hi - offset] = page[lo - i * BLOCK : hi - i * BLOCK]
        return bytes(out)

    def write(self, data: bytes, offset: int) -> int:
        end = offset + len(data)
        for i in range(offset // BLOCK, (end + BLOCK - 1) // BLOCK):
            page = self.pages.get(i)
            if page is None:
                page = self.pages[i] = bytearray(self._durable(i * BLOCK, BLOCK))
            lo, hi = max(offset, i * BLOCK), min(end, (i + 1) * BLOCK)
            page[lo - i * BLOCK : hi - i * BLOCK] = data[lo - offset : hi - offset]
        self.size = max(self.size, end)
        return len(data)

    def truncate(self, length: int) -> None:
        for i in [i for i in self.pages if i * BLOCK >= length]:
            del self.pages[i]
        if (page := self.pages.get(length // BLOCK)) is not None:
            page[length % BLOCK :] = bytes(BLOCK - length % BLOCK)
        self.floor = min(self.floor, length)
        self.size = length

    def sync(self) -> None:
        """What fsync promises: the pending contents reach the disk, then the disk syncs."""
        if os.fstat(self.fd).st_size > self.floor:
            os.ftruncate(self.fd, self.floor)
        for i, page in self.pages.items():
            os.pwrite(self.fd, page[: max(0, min(BLOCK, self.size - i * BLOCK))], i * BLOCK)
        os.ftruncate(self.fd, self.size)
        os.fsync(self.fd)
        self.pages.clear()
        self.floor = self.size


class FaultFS(fuse.Operations):
    use_ns = True

    def __init__(self, backing: str) -> None:
        self.backing = backing
        self.mode = "rw"
        # Not named `lock`: mfusepy would take that for the FUSE lock operation.
        self._mutex = threading.RLock()
        self.files: dict[str, PendingFile] = {}
        self.handles: dict[int, PendingFile] = {}
        self.next_fh = 1

    def _real(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _check(self, grows: bool = True) -> None:
        if self.mode == "erofs":
            raise fuse.FuseOSError(errno.EROFS)
        if self.mode == "enospc" and grows:
            raise fuse.FuseOSError(errno.ENOSPC)

    def _file(self, path: str) -> PendingFile:
        if path not in self.files:
            self.files[path] = PendingFile(self._real(path))
        return self.files[path]

    def _handle(self, path: str) -> int:
        with self._mutex:
            fh, self.next_fh = self.next_fh, self.next_fh + 1
            self.handles[fh] = self._file(path)
            return fh

    # -- the operations ----------------------------------------------------------------

    def init(self, path: str) -> None:
        print("mounted", flush=True)

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        with self._mutex:
            st = os.lstat(self._real(path))
            attrs = {k: getattr(st, k) for k in STAT_KEYS}
            attrs.update((k, getattr(st, f"{k}_ns")) for k in TIME_KEYS)  # use_ns
            if (f := self.files.get(path)) is not None:
                attrs["st_size"] = f.size
            return attrs

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._real(path))]

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files",
                "f_ffree", "f_favail", "f_namemax")  # fmt: skip
        out = {k: getattr(st, k) for k in keys}
        if self.mode == "enospc":
            out["f_bfree"] = out["f_bavail"] = 0
        return out

    def open(self, path: str, flags: int) -> int:
        if flags & WRITE_FLAGS:
            self._check(grows=False)
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return self._handle(path)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._check(grows=False)
        os.close(os.open(self._real(path), os.O_CREAT | os.O_WRONLY, mode))
        return self._handle(path)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        with self._mutex:
            return self.handles[fh].read(size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self._mutex:
            f = self.handles[fh]
            self._check(grows=offset + len(data) > f.size)
            return f.write(data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        with self._mutex:
            f = self.handles[fh] if fh is not None else self._file(path)
            self._check(grows=False)
            f.truncate(length)
            return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        with self._mutex:
            f = self.handles[fh]
            if f.pages or f.floor != f.size:
                self._check(grows=False)
            f.sync()
            return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        return 0  # namespace operations are already durable

    def flush(self, path: str, fh: int) -> int:
        return 0  # close(2) promises nothing about durability

    def release(self, path: str, fh: int) -> int:
        with self._mutex:
            self.handles.pop(fh, None)
            return 0

    def unlink(self, path: str) -> int:
        self._check(grows=False)
        with self._mutex:
            os.unlink(self._real(path))
            self.files.pop(path, None)
            return 0

    def rename(self, old: str, new: str) -> int:
        self._check(grows=False)
        with self._mutex:
            os.rename(self._real(old), self._real(new))
            if (f := self.files.pop(old, None)) is not None:
                self.files[new] = f
            else:
                self.files.pop(new, None)
            return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._check(grows=False)
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        self._check(grows=False)
        os.rmdir(self._real(path))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._real(path), ns=times)
        return 0

    def access(self, path: str, amode: int) -> int:
        if amode & os.W_OK and self.mode == "erofs":
            raise fuse.FuseOSError(errno.EROFS)
        if not os.access(self._real(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    # -- commands ----------------------------------------------------------------------

    def command(self, line: str) -> str:
        words = line.split()
        with self._mutex:
            if words[:1] == ["mode"] and words[1:] in (["rw"], ["erofs"], ["enospc"]):
                self.mode = words[1]
                return f"ok mode {self.mode}"
            if words == ["pending"]:
                return f"ok pending {sum(1 for f in set(self.files.values()) if f.pages)}"
        return f"error unknown command {line!r}"


def _serve_commands(fs: FaultFS) -> None:
    for line in sys.stdin:
        print(fs.command(line), flush=True)
    os._exit(0)  # the test is gone: so is the power


def main() -> None:
    backing, mountpoint = sys.argv[1:3]
    fs = FaultFS(os.path.abspath(backing))
    threading.Thread(target=_serve_commands, args=(fs,), daemon=True).start()
    fuse.FUSE(fs, mountpoint, foreground=True, allow_other=True)


if __name__ == "__main__":
    main()
