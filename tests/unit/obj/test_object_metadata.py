"""The metadata encoding and the newest-wins file rules."""
import pytest

from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import metadata as md
from objstore.obj.diskfile import rules


def test_inline_round_trip_keeps_non_ascii():
    meta = {"X-Object-Meta-Ünï": "välue ☃", "Content-Type": "text/plain", "X-Timestamp": "1.00000"}
    blob = md.encode_inline(meta)
    assert blob[:3] == b"OSM" and blob[3] == 1 and blob[4:5] == b"J"
    assert md.decode_inline(blob) == meta


def test_bytes_values_are_decoded_and_other_values_stringified():
    blob = md.encode_inline({"a": b"b", "n": 5})
    assert md.decode_inline(blob) == {"a": "b", "n": "5"}


@pytest.mark.parametrize("bad", [b"", b"XYZ\x01J{}", b"OSM\x02J{}", b"OSM\x01Q{}",
                                 b"OSM\x01J[1]", b"OSM\x01J{bad", b'OSM\x01J{"a":1}'])
def test_decode_rejects_junk(bad):
    with pytest.raises(md.MetadataCorrupt):
        md.decode_inline(bad)


def test_pickle_is_never_accepted():
    import pickle
    with pytest.raises(md.MetadataCorrupt):
        md.decode_inline(pickle.dumps({"a": "b"}))


def test_spill_reference_checks_sidecar():
    inner = md.encode_inline({"k": "v" * 5000})
    ref = md.encode_spill_ref("1.00000.data.spill", inner)
    name, length, digest = md.decode_spill_ref(ref)
    assert name == "1.00000.data.spill" and length == len(inner)
    assert md.verify_sidecar(inner, length, digest) == {"k": "v" * 5000}
    with pytest.raises(md.MetadataCorrupt):
        md.verify_sidecar(inner[:-1] + b"x", length, digest)


def test_spill_reference_refuses_path_escape():
    ref = md.encode_spill_ref("../../etc/passwd", b"x")
    with pytest.raises(md.MetadataCorrupt):
        md.decode_spill_ref(ref)


def test_split_for_xattrs_pieces_rejoin():
    blob = bytes(range(256)) * 9
    pieces = md.split_for_xattrs(blob)
    assert pieces[0][0] == "user.objstore.metadata"
    assert pieces[1][0] == "user.objstore.metadata1"
    assert b"".join(p for _, p in pieces) == blob
    assert all(len(p) <= md.XATTR_CHUNK for _, p in pieces)


def _n(ts, ext):
    return Timestamp(ts).internal + ext


def test_newest_data_wins_and_older_are_obsolete():
    names = [_n(1, ".data"), _n(2, ".ts"), _n(3, ".data"), _n(2.5, ".meta")]
    choice = rules.choose_files(names)
    assert choice.data == _n(3, ".data") and choice.tombstone is None
    assert choice.meta is None
    assert sorted(choice.obsolete) == sorted([_n(1, ".data"), _n(2, ".ts"), _n(2.5, ".meta")])


def test_tombstone_wins_and_meta_next_to_it_is_obsolete():
    choice = rules.choose_files([_n(1, ".data"), _n(2, ".ts"), _n(3, ".meta")])
    assert choice.tombstone == _n(2, ".ts") and choice.data is None and choice.meta is None
    assert set(choice.obsolete) == {_n(1, ".data"), _n(3, ".meta")}


def test_newest_meta_newer_than_data_applies():
    choice = rules.choose_files([_n(1, ".data"), _n(2, ".meta"), _n(3, ".meta")])
    assert choice.meta == _n(3, ".meta") and choice.obsolete == [_n(2, ".meta")]


def test_equal_timestamp_tombstone_beats_data():
    choice = rules.choose_files([_n(2, ".data"), _n(2, ".ts")])
    assert choice.tombstone == _n(2, ".ts") and choice.obsolete == [_n(2, ".data")]


def test_sidecars_follow_their_owner():
    old, new = _n(1, ".data"), _n(2, ".data")
    inflight = _n(3, ".data") + ".spill"
    choice = rules.choose_files([old, old + ".spill", new, new + ".spill", inflight,
                                 "junk", "junk.spill"])
    assert choice.data == new
    assert set(choice.obsolete) == {old, old + ".spill", "junk.spill"}


def test_merge_metadata_post_replaces_user_meta_keeps_data_bound():
    data = {"X-Timestamp": "1.00000", "Content-Length": "3", "ETag": "e",
            "Content-Type": "text/plain", "X-Object-Meta-A": "1",
            "X-Object-Sysmeta-S": "s", "X-Object-Manifest": "c/p"}
    post = {"X-Timestamp": "2.00000", "X-Object-Meta-B": "2"}
    merged = rules.merge_metadata(data, post)
    assert merged == {"X-Timestamp": "2.00000", "Content-Length": "3", "ETag": "e",
                      "Content-Type": "text/plain", "X-Object-Meta-B": "2",
                      "X-Object-Sysmeta-S": "s"}
    merged = rules.merge_metadata(data, dict(post, **{"Content-Type": "a/b"}))
    assert merged["Content-Type"] == "a/b"


def test_metadata_of_every_size_reads_back_from_its_xattr_pieces(tmp_path):
    """The reader stops at the first short piece; a full last piece still finds its end."""
    import os

    from objstore.obj.diskfile.fs import read_metadata, write_metadata_to

    path = tmp_path / "f"
    base = len(md.encode_inline({"X-Object-Meta-A": "", "X-Timestamp": "1.00000"}))
    # blobs of one piece, exactly one full piece, two pieces with a full last one
    sizes = [md.XATTR_CHUNK * n - base + d for n in (1, 2) for d in (-2, -1, 0, 1, 2)]
    for size in [10] + sizes:
        meta = {"X-Object-Meta-A": "v" * size, "X-Timestamp": "1.00000"}
        path.write_bytes(b"")
        fd = os.open(str(path), os.O_RDWR)
        try:
            for index in range(8):
                try:
                    os.removexattr(fd, md.xattr_key(index))
                except OSError:
                    pass
            write_metadata_to(fd, "1.00000.data", str(tmp_path), str(tmp_path / "tmp"), meta)
            assert read_metadata(fd, str(tmp_path)) == meta
        finally:
            os.close(fd)
