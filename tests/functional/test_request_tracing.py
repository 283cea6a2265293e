"""One trans id follows a request through the proxy and every storage node it touched."""
import glob
import os


def _logs_mentioning(cluster, text):
    hits = []
    for path in glob.glob(os.path.join(cluster.logs_dir, "*.log")):
        with open(path, errors="replace") as handle:
            if text in handle.read():
                hits.append(os.path.basename(path))
    return sorted(hits)


def test_storage_servers_log_the_proxys_trans_id(cluster, conn, unique):
    container = unique("trace")
    conn.put_container(container)
    response = {}
    conn.put_object(container, "o", b"data", response_dict=response,
                    headers={"X-Trans-Id-Extra": "tracing-test"})
    trans_id = response["headers"]["x-trans-id"]
    assert trans_id.endswith("tracing-test")
    hits = _logs_mentioning(cluster, trans_id)
    assert "proxy-server.log" in hits
    object_logs = [h for h in hits if h.startswith("object-server-")]
    container_logs = [h for h in hits if h.startswith("container-server-")]
    assert len(object_logs) == 3, hits          # the three replicas
    assert len(container_logs) >= 1, hits       # the listing updates they sent
