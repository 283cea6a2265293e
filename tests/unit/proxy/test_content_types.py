"""An upload without a Content-Type gets the type its name says, for the web's formats."""
import pytest
from webob import Request

WEB_TYPES = {
    "html": "text/html", "css": "text/css", "js": "text/javascript",
    "mjs": "text/javascript", "json": "application/json", "svg": "image/svg+xml",
    "png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "woff2": "font/woff2",
    "mp4": "video/mp4", "wasm": "application/wasm",
}


@pytest.mark.parametrize("extension,expected", sorted(WEB_TYPES.items()))
def test_type_guessed_from_the_name(cluster, extension, expected):
    path = "/v1/AUTH_test/types/file." + extension
    owner = {"swift.authorize": lambda request: None, "swift_owner": True}
    Request.blank("/v1/AUTH_test/types", method="PUT",
                  environ=dict(owner)).get_response(cluster.proxy)
    put = Request.blank(path, method="PUT", body=b"x", environ=dict(owner))
    put.environ.pop("CONTENT_TYPE", None)
    assert put.get_response(cluster.proxy).status_int == 201
    resp = Request.blank(path, method="HEAD", environ=dict(owner)).get_response(cluster.proxy)
    assert resp.headers["Content-Type"].split(";")[0] == expected
