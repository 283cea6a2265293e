"""Object storage on a device: the DiskFile interface and its implementations.

Only this package touches object files, xattrs and async pending files.
"""
from objstore.obj.diskfile.async_pending import AsyncUpdate, ContainerNode
from objstore.obj.diskfile.fs import FsDiskFileManager
from objstore.obj.diskfile.interface import (DiskFile, DiskFileDeleted,
                                             DiskFileDeviceUnavailable, DiskFileError,
                                             DiskFileExpired, DiskFileManager,
                                             DiskFileNoSpace, DiskFileNotExist,
                                             DiskFileQuarantined, DiskFileWriter)
from objstore.obj.diskfile.mem import MemDiskFileManager
from objstore.obj.diskfile.router import DiskFileRouter, fs_managers

__all__ = [
    "AsyncUpdate", "ContainerNode", "DiskFile", "DiskFileDeleted",
    "DiskFileDeviceUnavailable", "DiskFileError", "DiskFileExpired", "DiskFileManager",
    "DiskFileNoSpace", "DiskFileNotExist", "DiskFileQuarantined", "DiskFileRouter",
    "DiskFileWriter", "FsDiskFileManager", "MemDiskFileManager", "fs_managers",
]
