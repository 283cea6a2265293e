"""S3 multipart uploads through boto3: stored as an SLO over a hidden segments container.

Every error case asserts the exact S3 error code.  Parts are 5 MiB (the
minimum for all but the last), so each upload moves about 11 MiB.
"""
import email.utils
import hashlib
import uuid

import pytest
from botocore.exceptions import ClientError


MIB = 1024 * 1024
PART = 5 * MIB


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def _segments(conn, bucket):
    """Names in the hidden segments container ([] if it does not exist)."""
    try:
        return [row["name"] for row in conn.get_container(bucket + "+segments",
                                                          full_listing=True)[1]]
    except Exception as err:  # swiftclient raises ClientException for 404
        if getattr(err, "http_status", None) == 404:
            return []
        raise


def _upload(s3, bucket, key, parts, last_modified=None, **initiate):
    """Initiate and upload ``parts``; ``last_modified`` collects each part's
    Last-Modified answer."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **initiate)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                PartNumber=number, Body=data)
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
        if last_modified is not None:
            last_modified.append(answer["ResponseMetadata"]["HTTPHeaders"]["last-modified"])
    return upload_id, done


def _multipart_object(s3, bucket, key, parts):
    """A completed multipart object made of ``parts``; its S3 ETag."""
    upload_id, done = _upload(s3, bucket, key, parts)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                 MultipartUpload={"Parts": done})
    return _s3_etag(parts)


def _s3_etag(parts):
    digests = b"".join(hashlib.md5(data).digest() for data in parts)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))


def test_upload_complete_read_list_and_delete_cleans_up(conn, s3, bucket):
    parts = [b"a" * PART, b"b" * PART, b"tail"]
    last_modified = []
    upload_id, done = _upload(s3, bucket, "big/file.bin", parts, last_modified,
                              ContentType="text/x-test", Metadata={"colour": "blue"})
    listed = s3.list_parts(Bucket=bucket, Key="big/file.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == \
        [(1, PART), (2, PART), (3, 4)]
    assert [p["LastModified"] for p in listed["Parts"]] == [
        email.utils.parsedate_to_datetime(modified) for modified in last_modified]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("big/file.bin", upload_id)]
    result = s3.complete_multipart_upload(Bucket=bucket, Key="big/file.bin",
                                          UploadId=upload_id,
                                          MultipartUpload={"Parts": done})
    assert result["ETag"] == _s3_etag(parts)
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ETag"] == _s3_etag(parts) and head["ContentLength"] == 2 * PART + 4
    assert head["ContentType"] == "text/x-test" and head["Metadata"] == {"colour": "blue"}
    got = s3.get_object(Bucket=bucket, Key="big/file.bin", Range="bytes=%d-%d"
                        % (PART - 2, PART + 1))["Body"].read()
    assert got == b"aabb"
    whole = s3.get_object(Bucket=bucket, Key="big/file.bin")["Body"].read()
    assert whole == b"".join(parts)
    rows = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(r["Key"], r["ETag"], r["Size"]) for r in rows] == \
        [("big/file.bin", _s3_etag(parts), 2 * PART + 4)]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert len(_segments(conn, bucket)) == 3  # the parts, now the SLO's segments
    assert bucket + "+segments" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket=bucket, Key="big/file.bin")
    assert _segments(conn, bucket) == []


def test_complete_errors(conn, s3, bucket):
    upload_id, done = _upload(s3, bucket, "k", [b"x" * PART, b"small", b"end"])

    def complete(parts):
        with pytest.raises(ClientError) as err:
            s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
        return _code(err)

    assert complete([done[1], done[0]]) == "InvalidPartOrder"
    assert complete([done[0], done[0]]) == "InvalidPartOrder"
    assert complete([done[0], {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}]) == "InvalidPart"
    assert complete([done[0], {"PartNumber": 7, "ETag": done[1]["ETag"]}]) == "InvalidPart"
    assert complete([done[1], done[2]]) == "EntityTooSmall"
    # The upload is still there after refusals; parts 1 and 3 make a valid object,
    # and the unused part 2 is deleted with the upload's marker.
    result = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                          MultipartUpload={"Parts": [done[0], done[2]]})
    assert result["ETag"] == _s3_etag([b"x" * PART, b"end"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x" * PART + b"end"
    assert sorted(_segments(conn, bucket)) == ["k/%s/00001" % upload_id,
                                               "k/%s/00003" % upload_id]
    # A retried completion (its answer lost) succeeds again; the upload is gone.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                         MultipartUpload={"Parts": [done[0], done[2]]})
    assert again["ETag"] == result["ETag"]
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert _code(err) == "NoSuchUpload"
    s3.put_object(Bucket=bucket, Key="k", Body=b"replaced")
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": done})
    assert _code(err) == "NoSuchUpload"


def test_abort_deletes_parts_and_unknown_uploads_are_no_such_upload(conn, s3, bucket):
    upload_id, _done = _upload(s3, bucket, "gone", [b"1" * 10, b"2" * 10])
    assert len(_segments(conn, bucket)) == 3
    aborted = s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload_id)
    answer = aborted["ResponseMetadata"]
    assert answer["HTTPStatusCode"] == 204
    assert answer["HTTPHeaders"]["content-length"] == "0"
    assert _segments(conn, bucket) == []
    for call in (lambda: s3.abort_multipart_upload(Bucket=bucket, Key="gone",
                                                   UploadId=upload_id),
                 lambda: s3.list_parts(Bucket=bucket, Key="gone", UploadId=upload_id),
                 lambda: s3.upload_part(Bucket=bucket, Key="gone", UploadId=upload_id,
                                        PartNumber=1, Body=b"x"),
                 lambda: s3.upload_part(Bucket=bucket, Key="gone", UploadId="not-an-id",
                                        PartNumber=1, Body=b"x")):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "NoSuchUpload"
    with pytest.raises(ClientError) as err:
        s3.create_multipart_upload(Bucket="no-such-bucket-%s" % uuid.uuid4().hex[:8], Key="k")
    assert _code(err) == "NoSuchBucket"


def test_part_numbers_are_checked(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    for number in (0, 1001, 10001):
        with pytest.raises(ClientError) as err:
            s3.upload_part(Bucket=bucket, Key="n", UploadId=upload_id, PartNumber=number,
                           Body=b"x")
        assert _code(err) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="n", UploadId=upload_id)


def test_upload_part_copy_with_ranges(s3, bucket):
    source = bytes(range(256)) * (PART // 256 + 8)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="copied")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "source"},
                                CopySourceRange="bytes=0-%d" % (PART - 1))
    second = s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=upload_id,
                                 PartNumber=2, CopySource={"Bucket": bucket, "Key": "source"},
                                 CopySourceRange="bytes=10-19")
    assert first["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(source[:PART]).hexdigest()
    for bad_range, code in (("bytes=5-1", "InvalidArgument"), ("5-10", "InvalidArgument"),
                            ("bytes=%d-%d" % (len(source), len(source) + 5), "InvalidRange")):
        with pytest.raises(ClientError) as err:
            s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=upload_id, PartNumber=3,
                                CopySource={"Bucket": bucket, "Key": "source"},
                                CopySourceRange=bad_range)
        assert _code(err) == code, bad_range
    with pytest.raises(ClientError) as err:
        s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=upload_id, PartNumber=3,
                            CopySource={"Bucket": bucket, "Key": "missing"})
    assert _code(err) == "NoSuchKey"
    parts = [{"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
             {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
    got = s3.get_object(Bucket=bucket, Key="copied")["Body"].read()
    assert got == source[:PART] + source[10:20]


def test_list_uploads_paging_prefix_delimiter_and_list_parts_paging(s3, bucket):
    ids = {}
    for key in ("a/1", "a/2", "b", "b", "c/d/e"):
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    listed = s3.list_multipart_uploads(Bucket=bucket)
    expected = sorted((key, upload) for key, uploads in ids.items() for upload in uploads)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == expected
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page["IsTruncated"] and len(page["Uploads"]) == 2
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=page["NextKeyMarker"],
                                     UploadIdMarker=page["NextUploadIdMarker"])
    assert [(u["Key"], u["UploadId"]) for u in page["Uploads"] + rest["Uploads"]] == expected
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/", "c/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "b"]
    assert [u["Key"] for u in s3.list_multipart_uploads(
        Bucket=bucket, Prefix="c/")["Uploads"]] == ["c/d/e"]
    upload_id = ids["b"][0]
    for number in (1, 2, 3):
        s3.upload_part(Bucket=bucket, Key="b", UploadId=upload_id, PartNumber=number,
                       Body=b"p%d" % number)
    first = s3.list_parts(Bucket=bucket, Key="b", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2] and first["IsTruncated"]
    rest = s3.list_parts(Bucket=bucket, Key="b", UploadId=upload_id,
                         PartNumberMarker=first["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3] and not rest["IsTruncated"]


def test_deleting_the_bucket_discards_unfinished_uploads(conn, s3, unique):
    name = unique("mpub")
    s3.create_bucket(Bucket=name)
    _upload(s3, name, "left", [b"unfinished"])
    s3.delete_bucket(Bucket=name)
    assert [c["name"] for c in conn.get_account(prefix=name, full_listing=True)[1]] == []


def test_multi_delete_removes_multipart_segments_too(conn, s3, bucket):
    upload_id, done = _upload(s3, bucket, "m", [b"z" * PART, b"last"])
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id,
                                 MultipartUpload={"Parts": done})
    assert len(_segments(conn, bucket)) == 2
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "m"}]})
    assert _segments(conn, bucket) == []


def test_etag_conditions_compare_the_s3_etag(s3, bucket):
    """The aws CLI downloads in ranged GETs, each with If-Match: <the S3 ETag>."""
    parts = [b"q" * PART, b"r"]
    etag = _multipart_object(s3, bucket, "cond", parts)
    got = s3.get_object(Bucket=bucket, Key="cond", IfMatch=etag, Range="bytes=0-1")
    assert got["Body"].read() == b"qq" and got["ETag"] == etag
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="cond", IfMatch='"%s"' % ("0" * 32))
    assert _code(err) == "PreconditionFailed"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="cond", IfNoneMatch=etag)
    answer = err.value.response["ResponseMetadata"]
    assert answer["HTTPStatusCode"] == 304
    # the length of what follows (nothing), not the object's size
    assert answer["HTTPHeaders"]["content-length"] == "0"
    assert s3.head_object(Bucket=bucket, Key="cond", IfNoneMatch='"other"')["ETag"] == etag


def test_copies_from_a_multipart_source_compare_its_s3_etag(s3, bucket):
    parts = [b"s" * PART, b"t"]
    etag = _multipart_object(s3, bucket, "src", parts)
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=source, CopySourceIfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"".join(parts)
    for condition in ({"CopySourceIfMatch": '"%s"' % ("0" * 32)},
                      {"CopySourceIfNoneMatch": etag}):
        with pytest.raises(ClientError) as err:
            s3.copy_object(Bucket=bucket, Key="copy2", CopySource=source, **condition)
        assert _code(err) == "PreconditionFailed"
    # A part copied from a range of a multipart object is listed as its own
    # bytes (not as the source's manifest), so the upload completes.
    target = s3.create_multipart_upload(Bucket=bucket, Key="from-mpu")["UploadId"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="from-mpu", UploadId=target,
                                 PartNumber=1, CopySource=source,
                                 CopySourceRange="bytes=0-%d" % (PART - 1))["CopyPartResult"]
    assert copied["ETag"] == '"%s"' % hashlib.md5(parts[0]).hexdigest()
    listed = s3.list_parts(Bucket=bucket, Key="from-mpu", UploadId=target)["Parts"]
    assert [p["ETag"] for p in listed] == [copied["ETag"]]
    s3.complete_multipart_upload(Bucket=bucket, Key="from-mpu", UploadId=target,
                                 MultipartUpload={"Parts": [
                                     {"PartNumber": 1, "ETag": copied["ETag"]}]})
    rows = {r["Key"]: r["ETag"] for r in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert rows["copy"] == '"%s"' % hashlib.md5(b"".join(parts)).hexdigest()


def test_part_number_reads_one_part(s3, bucket):
    parts = [b"u" * PART, b"v" * PART, b"w"]
    _multipart_object(s3, bucket, "parts", parts)
    got = s3.get_object(Bucket=bucket, Key="parts", PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["PartsCount"] == 3
    assert got["ContentRange"] == "bytes %d-%d/%d" % (PART, 2 * PART - 1, 2 * PART + 1)
    assert got["Body"].read() == parts[1]
    head = s3.head_object(Bucket=bucket, Key="parts", PartNumber=3)
    assert (head["ContentLength"], head["PartsCount"]) == (1, 3)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"single")
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert got["ContentRange"] == "bytes 0-5/6" and got["Body"].read() == b"single"
    for key, number in (("parts", 4), ("plain", 2)):
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key=key, PartNumber=number)
        assert (_code(err), err.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
            ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=1, Range="bytes=0-1")
    assert _code(err) == "InvalidRequest"


def test_completing_over_a_multipart_object_deletes_its_segments(conn, s3, bucket):
    first_id, done = _upload(s3, bucket, "again", [b"1" * PART, b"one"])
    s3.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=first_id,
                                 MultipartUpload={"Parts": done})
    second_id, done = _upload(s3, bucket, "again", [b"two"])
    for condition in ({"IfMatch": _s3_etag([b"1" * PART, b"one"])}, {"IfNoneMatch": "abc"}):
        with pytest.raises(ClientError) as err:
            s3.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=second_id,
                                         MultipartUpload={"Parts": done}, **condition)
        assert _code(err) == "NotImplemented"
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=second_id,
                                     MultipartUpload={"Parts": done}, IfNoneMatch="*")
    assert _code(err) == "PreconditionFailed"
    assert len(_segments(conn, bucket)) == 4  # nothing replaced yet
    s3.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=second_id,
                                 MultipartUpload={"Parts": done})
    assert _segments(conn, bucket) == ["again/%s/00001" % second_id]
    assert s3.get_object(Bucket=bucket, Key="again")["Body"].read() == b"two"
    # (the completion's Location is a URL: the key percent-encoded)
    snowman_id, snowman_done = _upload(s3, bucket, "a \u2603", [b"x"])
    location = s3.complete_multipart_upload(Bucket=bucket, Key="a \u2603", UploadId=snowman_id,
                                            MultipartUpload={"Parts": snowman_done})["Location"]
    assert location.endswith("/%s/a%%20%%E2%%98%%83" % bucket)
