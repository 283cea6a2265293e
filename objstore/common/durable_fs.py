"""File-system steps that make a write survive a crash.

A write is durable only when the file's data is fsynced, the file is renamed
into place and the directory holding the new name is fsynced too.  These are
the building blocks; the on-disk formats themselves live in DiskFile and the
brokers.
"""
from __future__ import annotations

import errno
import os
import tempfile
from typing import Optional


def fsync_dir(path: str) -> None:
    """Persist a directory entry change (create, rename, unlink) in ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        fsync_dir_fd(fd)
    finally:
        os.close(fd)


def mkdirs(path: str) -> None:
    """Create ``path`` and its parents; an existing directory is fine."""
    os.makedirs(path, exist_ok=True)


def renamer(src: str, dst: str, fsync: bool = True) -> None:
    """Rename ``src`` to ``dst``, creating ``dst``'s parents, then fsync the parent.

    Newly created parents are fsynced up the chain so the new name is reachable
    after a crash.  The parent usually exists: the rename is tried first, and
    parents are looked for only when it fails.
    """
    parent = os.path.dirname(dst)
    created: list[str] = []
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        created = create_missing_dirs(parent)
        if not created:
            raise  # the parent is there: it is ``src`` that is missing
        os.rename(src, dst)
    if fsync:
        fsync_dir(parent)
        for path in created:
            fsync_dir(os.path.dirname(path))


def create_missing_dirs(path: str) -> list[str]:
    """Create ``path`` and its missing parents; return those created, deepest first.

    Nothing is fsynced here: a new entry survives a crash only once its
    parent is fsynced, and the caller decides when that happens (a writer
    fsyncs them with its other steps, after the data, in one trip to a
    thread).  The directory usually exists, so it is created first and
    parents are looked at only when that fails.
    """
    try:
        os.mkdir(path)
    except FileExistsError:
        return []
    except FileNotFoundError:
        created = create_missing_dirs(os.path.dirname(path))
        try:
            os.mkdir(path)
        except FileExistsError:
            return created
        return [path] + created
    return [path]


def open_dir(path: str) -> int:
    """A descriptor of directory ``path``, for fsyncing its entries later."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def fsync_dir_fd(fd: int) -> None:
    """Persist the entry changes of an open directory (see :func:`fsync_dir`)."""
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EBADF, errno.EINVAL):
            raise


def write_file_atomic(path: str, data: bytes, tmp_dir: Optional[str] = None) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the whole new one."""
    tmp_dir = tmp_dir or os.path.dirname(path)
    mkdirs(tmp_dir)
    fd, tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        renamer(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise


def fallocate(fd: int, size: int) -> None:
    """Reserve ``size`` bytes for ``fd`` so a full disk fails now, not mid-write.

    Raises OSError(ENOSPC) when the space is not there.  File systems that do
    not support preallocation are tolerated.
    """
    if size <= 0:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return
        raise


def drop_buffer_cache(fd: int, offset: int = 0, length: int = 0) -> None:
    """Tell the kernel it may evict these pages (0 length: to the end of the file).

    A large object that was just written and fsynced is rarely read again
    soon; keeping it cached only pushes hotter data out and makes the next
    writes pay for reclaiming memory.  Advice only: failures are ignored.
    """
    try:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except (OSError, AttributeError):
        pass


def prefetch(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start reading these pages now, without waiting for them.

    A large GET reads, checksums and sends one step at a time on the hub; with
    the next step asked for before the current one is read, the disk works on
    it while the hub checksums and sends.  Measured on a cold 256 MiB replica
    (1 MiB steps): pread 335-570 MiB/s and 1.4-2.4 s of system CPU per GiB
    without, 650-810 MiB/s and 0.5-0.9 s/GiB with; 0.02 s/GiB more when the
    pages are cached already.  Through the aio, 3 x 256 MiB read once right
    after their PUT (as bench/compare_proxy.py's large_get does): the object
    servers' system CPU 2.5-3.0 s/GiB without, 1.0-2.2 with (load 6-11).
    Advice only: failures are ignored.
    """
    try:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)
    except (OSError, AttributeError):
        pass


def space_of(path: str) -> tuple[int, int]:
    """(bytes free to an unprivileged writer, size in bytes) of the file system of ``path``."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize


def is_mount(path: str) -> bool:
    return os.path.ismount(path)


def check_device(devices: str, device: str, mount_check: bool) -> Optional[str]:
    """The device's directory when it may be used, else None (the caller answers 507).

    With ``mount_check`` the device must be a mount point: writing into an
    unmounted mount point would silently fill the root file system.
    """
    if not device or "/" in device or device in (".", ".."):
        return None
    path = os.path.join(devices, device)
    if mount_check:
        return path if is_mount(path) else None
    return path if os.path.isdir(path) else None


def unlink_quietly(path: str) -> bool:
    """Remove ``path``; a missing file is not an error.  True when something was removed."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def makedirs_durably(path: str) -> None:
    """Create ``path`` and missing parents, fsyncing each new entry's parent directory."""
    for directory in reversed(create_missing_dirs(path)):
        fsync_dir(os.path.dirname(directory))
