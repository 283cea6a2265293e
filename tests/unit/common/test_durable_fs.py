import os

from objstore.common.durable_fs import (check_device, fallocate, renamer, space_of,
                                        unlink_quietly, write_file_atomic)


def test_renamer_creates_parents(tmp_path):
    src = tmp_path / "tmp" / "f"
    src.parent.mkdir()
    src.write_bytes(b"x")
    dst = tmp_path / "a" / "b" / "c" / "f"
    renamer(str(src), str(dst))
    assert dst.read_bytes() == b"x" and not src.exists()


def test_renamer_of_a_missing_file_fails_and_creates_nothing_needless(tmp_path):
    import pytest

    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError):
        renamer(str(tmp_path / "gone"), str(tmp_path / "a" / "f"))
    assert os.listdir(tmp_path / "a") == []


def test_write_file_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "d" / "state.json"
    write_file_atomic(str(target), b"one")
    write_file_atomic(str(target), b"two", tmp_dir=str(tmp_path / "tmp"))
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path / "tmp") == []


def test_check_device(tmp_path):
    (tmp_path / "sda").mkdir()
    assert check_device(str(tmp_path), "sda", mount_check=False) == str(tmp_path / "sda")
    assert check_device(str(tmp_path), "sdb", mount_check=False) is None
    assert check_device(str(tmp_path), "sda", mount_check=True) is None  # not a mount point
    assert check_device(str(tmp_path), "../etc", mount_check=False) is None


def test_fallocate_and_space_of(tmp_path):
    path = tmp_path / "f"
    with open(path, "wb") as handle:
        fallocate(handle.fileno(), 4096)
    assert os.path.getsize(path) == 4096
    free, total = space_of(str(tmp_path))
    assert 0 < free <= total


def test_unlink_quietly(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    assert unlink_quietly(str(path)) is True
    assert unlink_quietly(str(path)) is False


def test_create_missing_dirs_names_what_it_created_deepest_first(tmp_path):
    from objstore.common.durable_fs import create_missing_dirs

    deep = tmp_path / "a" / "b" / "c"
    assert create_missing_dirs(str(deep)) == [str(deep), str(deep.parent),
                                              str(deep.parent.parent)]
    assert deep.is_dir()
    assert create_missing_dirs(str(deep)) == []
    assert create_missing_dirs(str(deep / "d")) == [str(deep / "d")]


def test_fsync_dir_fd_persists_an_open_directory(tmp_path):
    from objstore.common.durable_fs import fsync_dir_fd, open_dir

    fd = open_dir(str(tmp_path))
    try:
        fsync_dir_fd(fd)  # a directory fd is accepted, not refused with EBADF
    finally:
        os.close(fd)
