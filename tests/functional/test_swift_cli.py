"""The acceptance walkthrough, through the real ``swift`` command line client."""
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MB = 1024 * 1024


def assert_three_replicas(object_files, account, container, obj):
    found = object_files(account, container, obj)
    devices = [device for device, _path in found]
    assert len(found) == 3, found
    assert len(set(devices)) == 3, found


@pytest.fixture
def workdir(tmp_path):
    """A directory holding a copy of README.md, so it uploads under that name."""
    shutil.copy(os.path.join(REPO, "README.md"), tmp_path / "README.md")
    return tmp_path


def test_walkthrough(swift, swift_stat, file_md5, object_files, workdir):
    swift("post", "photos")
    assert "photos" in swift("list").stdout.split()
    account = swift_stat()
    assert account["Account"] == "AUTH_test"
    container = swift_stat("photos")
    assert container["Container"] == "photos"
    assert container["Objects"] == "0"

    swift("upload", "photos", "README.md", cwd=workdir)
    assert swift("list", "photos").stdout.split() == ["README.md"]
    readme = workdir / "README.md"
    info = swift_stat("photos", "README.md")
    assert info["Content Length"] == str(readme.stat().st_size)
    assert info["ETag"] == file_md5(readme)
    assert_three_replicas(object_files, "AUTH_test", "photos", "README.md")

    swift("download", "photos", "README.md", "-o", str(workdir / "r"))
    assert (workdir / "r").read_bytes() == readme.read_bytes()

    swift("post", "photos", "README.md", "-m", "Color:blue")
    info = swift_stat("photos", "README.md")
    assert info["Meta Color"] == "blue"
    assert info["Content Length"] == str(readme.stat().st_size)

    swift("copy", "photos", "README.md", "--destination", "/photos/copy.md")
    assert swift("list", "photos").stdout.split() == ["README.md", "copy.md"]
    swift("download", "photos", "copy.md", "-o", str(workdir / "copy"))
    assert (workdir / "copy").read_bytes() == readme.read_bytes()
    assert swift_stat("photos", "copy.md")["Meta Color"] == "blue"
    assert_three_replicas(object_files, "AUTH_test", "photos", "copy.md")

    swift("delete", "photos", "README.md")
    assert swift("list", "photos").stdout.split() == ["copy.md"]
    assert object_files("AUTH_test", "photos", "README.md") == []
    assert len(object_files("AUTH_test", "photos", "README.md", ending=".ts")) == 3
    swift("delete", "photos")
    assert "photos" not in swift("list").stdout.split()
    missing = swift("stat", "photos", check=False)
    assert missing.returncode != 0
    assert "not found" in (missing.stderr + missing.stdout).lower()


@pytest.fixture
def cli_piped_round_trip(swift, swift_stat, file_md5, write_random_file, object_files, tmp_path):
    """cli_piped_round_trip(container, size, *options): ``swift upload -`` and back."""
    return lambda container, size, *options: _cli_piped_round_trip(
        swift, swift_stat, file_md5, write_random_file, object_files, tmp_path, container,
        size, *options)


def _cli_piped_round_trip(swift, swift_stat, file_md5, write_random_file, object_files,
                          tmp_path, container, size, *options):
    big = tmp_path / "big"
    write_random_file(big, size)
    with open(big, "rb") as stdin:
        swift("upload", container, "--object-name", "piped", *options, "-", stdin=stdin)
    info = swift_stat(container, "piped")
    assert info["Content Length"] == str(size)
    swift("download", container, "piped", "-o", str(tmp_path / "back"))
    assert file_md5(tmp_path / "back") == file_md5(big)
    if "-S" in options:
        assert_three_replicas(object_files, "AUTH_test", container, "piped")
    swift("delete", container)


def test_cli_piped_upload(cli_piped_round_trip, unique):
    """``cat big | swift upload C --object-name piped -`` with one segment: a plain object."""
    container = unique("piped")
    cli_piped_round_trip(container, 30 * MB, "-S", "64M")


def test_cli_piped_upload_in_segments(cli_piped_round_trip, conn, unique):
    """The CLI's default for stdin: 10 MB segments and a static large object manifest."""
    assert "slo" in conn.get_capabilities()
    cli_piped_round_trip(unique("slo"), 30 * MB)


@pytest.fixture
def chunked_round_trip(conn, object_files, unique, tmp_path, file_md5, write_random_file):
    """chunked_round_trip(size): an upload of unknown length, streamed both ways."""
    return lambda size: _chunked_round_trip(conn, object_files, unique, tmp_path, file_md5,
                                            write_random_file, size)


def _chunked_round_trip(conn, object_files, unique, tmp_path, file_md5, write_random_file,
                        size):
    """Upload of unknown length (chunked transfer encoding), streamed both ways."""
    container = unique("big")
    conn.put_container(container)
    big = tmp_path / "big"
    write_random_file(big, size)
    with open(big, "rb") as source:
        etag = conn.put_object(container, "streamed", source, content_length=None,
                               chunk_size=MB)
    assert etag == file_md5(big)
    headers, body = conn.get_object(container, "streamed", resp_chunk_size=MB)
    assert int(headers["content-length"]) == size
    digest = hashlib.md5()
    for chunk in body:
        digest.update(chunk)
    assert digest.hexdigest() == etag
    account = conn.url.rsplit("/", 1)[1]
    assert_three_replicas(object_files, account, container, "streamed")
    conn.delete_object(container, "streamed")
    conn.delete_container(container)


def test_upload_of_unknown_length(chunked_round_trip):
    chunked_round_trip(30 * MB)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("OBJSTORE_SLOW") != "1",
                    reason="300 MB round trip; set OBJSTORE_SLOW=1")
def test_upload_of_unknown_length_300mb(chunked_round_trip):
    chunked_round_trip(300 * MB)


def test_counts_and_bytes_after_daemons(swift, swift_stat, unique, tmp_path, settle_usage):
    """Account and container stats are exact once the updaters ran (own account: test2)."""
    user = "test2:tester2"
    container = unique("counted")
    sizes = {"a": 10, "b": 2000, "c": 123456}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(os.urandom(size))
        swift("upload", container, name, user=user, cwd=tmp_path)
    settle_usage()
    before = swift_stat(user=user)
    assert before["Account"] == "AUTH_test2"
    stats = swift_stat(container, user=user)
    assert (stats["Objects"], stats["Bytes"]) == ("3", str(sum(sizes.values())))
    containers = swift("list", user=user).stdout.split()
    assert container in containers
    assert int(before["Containers"]) == len(containers)

    # The account totals are the sum of its containers' totals.
    total_objects = total_bytes = 0
    for name in containers:
        fields = swift_stat(name, user=user)
        total_objects += int(fields["Objects"])
        total_bytes += int(fields["Bytes"])
    assert (int(before["Objects"]), int(before["Bytes"])) == (total_objects, total_bytes)

    swift("delete", container, "c", user=user)
    settle_usage()
    after = swift_stat(user=user)
    assert int(after["Objects"]) == int(before["Objects"]) - 1
    assert int(after["Bytes"]) == int(before["Bytes"]) - sizes["c"]
    stats = swift_stat(container, user=user)
    assert (stats["Objects"], stats["Bytes"]) == ("2", str(sizes["a"] + sizes["b"]))


def test_capabilities_lists_tempauth_and_constraints(swift):
    output = swift("capabilities").stdout
    assert "tempauth" in output
    assert "max_file_size" in output
    assert "max_object_name_length" in output


def test_cli_is_what_the_readme_says(cluster):
    """The README's command works as written: the swift executable on PATH, env vars only."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "swift")
    executable = beside_python if os.path.exists(beside_python) else shutil.which("swift")
    assert executable, "python-swiftclient's swift command is not installed"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update(ST_AUTH=cluster.auth_url, ST_USER="test:tester", ST_KEY="testing")
    result = subprocess.run([executable, "stat"], env=env, capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "AUTH_test" in result.stdout
