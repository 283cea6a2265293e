"""Static and dynamic large objects on a real cluster, through the ``swift`` CLI and swiftclient."""
import hashlib
import json
import os

import pytest
from swiftclient.exceptions import ClientException

MB = 1024 * 1024


def segment_etags(conn, container):
    _headers, listing = conn.get_container(container + "_segments")
    return [item["hash"] for item in listing]


def test_piped_upload_is_an_slo(swift, swift_stat, file_md5, write_random_file, conn,
                                unique, tmp_path):
    """``head -c 30000000 /dev/urandom | swift upload C --object-name piped -``."""
    container = unique("photos")
    source = tmp_path / "big"
    write_random_file(source, 30000000)
    with open(source, "rb") as stdin:
        swift("upload", container, "--object-name", "piped", "-", stdin=stdin)
    segments = swift("list", container + "_segments").stdout.split()
    assert len(segments) == 3
    info = swift_stat(container, "piped")
    assert info["Content Length"] == "30000000"
    # swift stat names a DLO's "Manifest"; an SLO shows as its header
    assert info["X-Static-Large-Object"] == "True"
    assert info["ETag"].strip('"') == hashlib.md5("".join(
        md5_part for md5_part in segment_etags(conn, container)).encode()).hexdigest()
    headers = conn.head_object(container, "piped")
    assert headers["x-static-large-object"] == "True"
    swift("download", container, "piped", "-o", str(tmp_path / "out"))
    assert file_md5(tmp_path / "out") == file_md5(source)
    # a range across the first segment boundary (10 MB segments)
    with open(source, "rb") as handle:
        handle.seek(10 * MB - 5)
        expected = handle.read(10)
    _headers, body = conn.get_object(container, "piped",
                                     headers={"Range": "bytes=%d-%d" % (10 * MB - 5,
                                                                        10 * MB + 4)})
    assert body == expected
    swift("delete", container, "piped")
    assert swift("list", container + "_segments").stdout.split() == []
    assert swift("list", container).stdout.split() == []


def test_upload_with_segment_size_uses_slo(swift, file_md5, conn, unique, tmp_path):
    container = unique("photos")
    (tmp_path / "bigfile").write_bytes(os.urandom(3 * MB + MB // 2))
    swift("upload", "-S", "1048576", container, "bigfile", cwd=str(tmp_path))
    headers = conn.head_object(container, "bigfile")
    assert headers["x-static-large-object"] == "True"
    assert int(headers["content-length"]) == 3 * MB + MB // 2
    assert len(swift("list", container + "_segments").stdout.split()) == 4
    swift("download", container, "bigfile", "-o", str(tmp_path / "back"))
    assert file_md5(tmp_path / "back") == file_md5(tmp_path / "bigfile")
    # the manifest as stored, and in the PUT-able form
    _h, stored = conn.get_object(container, "bigfile", query_string="multipart-manifest=get")
    entries = json.loads(stored)
    assert [e["bytes"] for e in entries] == [MB, MB, MB, MB // 2]
    _h, raw = conn.get_object(container, "bigfile",
                              query_string="multipart-manifest=get&format=raw")
    assert [e["size_bytes"] for e in json.loads(raw)] == [MB, MB, MB, MB // 2]
    swift("delete", container, "bigfile")
    assert swift("list", container + "_segments").stdout.split() == []


def test_slo_by_hand_ranges_conditionals_and_copy(conn, unique):
    container = unique("slo")
    conn.put_container(container)
    parts = [os.urandom(1000), os.urandom(2000), os.urandom(1500)]
    manifest = []
    for index, data in enumerate(parts):
        etag = conn.put_object(container, "seg/%d" % index, data)
        manifest.append({"path": "/%s/seg/%d" % (container, index), "etag": etag,
                         "size_bytes": len(data)})
    whole = b"".join(parts)
    response = {}
    conn.put_object(container, "big", json.dumps(manifest),
                    query_string="multipart-manifest=put", response_dict=response)
    slo_etag = hashlib.md5("".join(m["etag"] for m in manifest).encode()).hexdigest()
    assert response["headers"]["etag"] == '"%s"' % slo_etag
    headers, body = conn.get_object(container, "big")
    assert body == whole
    assert headers["etag"] == '"%s"' % slo_etag
    assert int(headers["content-length"]) == 4500
    _h, body = conn.get_object(container, "big", headers={"Range": "bytes=900-3099"})
    assert body == whole[900:3100]
    _h, body = conn.get_object(container, "big", headers={"Range": "bytes=-10"})
    assert body == whole[-10:]
    with pytest.raises(ClientException) as caught:
        conn.get_object(container, "big", headers={"If-None-Match": '"%s"' % slo_etag})
    assert caught.value.http_status == 304
    with pytest.raises(ClientException) as caught:
        conn.get_object(container, "big", headers={"If-Match": '"abc"'})
    assert caught.value.http_status == 412
    # a bad segment list is refused with a per-segment reason
    bad = manifest + [{"path": "/%s/seg/missing" % container}]
    with pytest.raises(ClientException) as caught:
        conn.put_object(container, "bad", json.dumps(bad), query_string="multipart-manifest=put")
    assert caught.value.http_status == 400
    assert "404 Not Found" in caught.value.http_response_content.decode()
    # server-side copy of an SLO copies the bytes; with multipart-manifest=get, the manifest
    conn.copy_object(container, "big", "/%s/copied" % container)
    headers, body = conn.get_object(container, "copied")
    assert body == whole and "x-static-large-object" not in headers
    conn.put_object(container, "manifest-copy", b"",
                    headers={"X-Copy-From": "/%s/big" % container},
                    query_string="multipart-manifest=get")
    headers, body = conn.get_object(container, "manifest-copy")
    assert body == whole and headers["x-static-large-object"] == "True"


def test_dlo_made_by_hand(conn, unique):
    container = unique("dlo")
    conn.put_container(container)
    parts = [os.urandom(700), os.urandom(300), os.urandom(1024)]
    for index, data in enumerate(parts):
        conn.put_object(container, "parts/%03d" % index, data)
    conn.put_object(container, "whole", b"",
                    headers={"X-Object-Manifest": "%s/parts/" % container})
    whole = b"".join(parts)
    headers, body = conn.get_object(container, "whole")
    assert body == whole
    etags = "".join(hashlib.md5(p).hexdigest() for p in parts)
    assert headers["etag"] == '"%s"' % hashlib.md5(etags.encode()).hexdigest()
    assert int(conn.head_object(container, "whole")["content-length"]) == len(whole)
    _h, body = conn.get_object(container, "whole", headers={"Range": "bytes=650-1050"})
    assert body == whole[650:1051]
    _h, body = conn.get_object(container, "whole", query_string="multipart-manifest=get")
    assert body == b""
    with pytest.raises(ClientException) as caught:
        conn.put_object(container, "broken", b"", headers={"X-Object-Manifest": "no-slash"})
    assert caught.value.http_status == 400


def test_dlo_upload_by_cli_round_trips(swift, swift_stat, file_md5, unique, tmp_path):
    """``swift upload -S --use-dlo``: segments plus an X-Object-Manifest manifest."""
    container = unique("dlocli")
    (tmp_path / "f").write_bytes(os.urandom(2 * MB + 17))
    swift("upload", "-S", "1048576", "--use-dlo", container, "f", cwd=str(tmp_path))
    info = swift_stat(container, "f")
    assert info["Content Length"] == str(2 * MB + 17)
    assert "Manifest" in info
    swift("download", container, "f", "-o", str(tmp_path / "g"))
    assert file_md5(tmp_path / "g") == file_md5(tmp_path / "f")
    swift("delete", container, "f")
    assert swift("list", container + "_segments").stdout.split() == []


def test_capabilities_list_large_objects(conn):
    info = conn.get_capabilities()
    assert info["slo"]["max_manifest_segments"] == 1000
    assert info["slo"]["min_segment_size"] == 1
    assert "max_segments" in info["dlo"]
