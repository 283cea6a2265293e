"""S3 errors: one exception type carrying the code, and its XML answer.

S3 clients branch on ``<Code>`` (and on the status), so every refusal the
middleware makes is an :class:`S3Error` with one of the codes below; the
middleware turns it into the XML body AWS documents, with the request id.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Optional

import webob

from objstore.middleware.s3api.s3xml import to_xml

# code -> (HTTP status, the message AWS gives)
_CODES: Mapping[str, tuple[int, str]] = MappingProxyType({
    "AccessDenied": (403, "Access Denied."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "The presigned query parameters are malformed."),
    "BadDigest": (400, "The Content-MD5 or checksum you specified did not match what we "
                       "received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available: bucket names "
                                 "are shared by every account. Choose another name."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket "
                                     "succeeded and you already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed "
                            "object size."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the "
                            "Content-Length HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our "
                                "records."),
    "InvalidArgument": (400, "Invalid Argument."),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part "
                         "might not have been uploaded, or the specified entity tag might "
                         "not have matched the part's entity tag."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. The parts list "
                              "must be specified in order by part number."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidRange": (416, "The requested range is not satisfiable."),
    "InvalidRequest": (400, "Invalid Request."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not "
                               "validate against our published schema."),
    "MissingSecurityHeader": (400, "Your request was missing a required header."),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate "
                          "against our published schema."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchUpload": (404, "The specified multipart upload does not exist. The upload ID "
                          "might be invalid, or the multipart upload might have been aborted "
                          "or completed."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NotImplemented": (501, "A header or query you provided implies functionality that is "
                            "not implemented."),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not "
                                                  "exist for this bucket"),
    "OperationAborted": (409, "A conflicting conditional operation is currently in "
                              "progress against this resource. Please try again."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not "
                                "hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current "
                                  "time is too large."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SlowDown": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                                   "signature you provided. Check your key and signing "
                                   "method."),
    "UserKeyMustBeSpecified": (400, "The bucket POST must contain the specified field "
                                    "name. If it is specified, please check the order of "
                                    "the fields."),
    "UnexpectedContent": (400, "This request does not support content."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not "
                                       "match what was computed."),
})


class S3Error(Exception):
    """A refusal with an S3 error code; ``extra`` becomes more XML elements."""

    def __init__(self, code: str, message: Optional[str] = None, **extra: str):
        status, default_message = _CODES[code]
        super().__init__("%s: %s" % (code, message or default_message))
        self.code = code
        self.status = status
        self.message = message or default_message
        self.extra = extra
        # Response headers the answer carries besides the XML (e.g. x-amz-delete-marker).
        self.headers: dict[str, str] = {}


def error_response(error: S3Error, request_id: str, with_body: bool = True) -> webob.Response:
    """The XML answer for ``error`` (no body for HEAD, as S3 sends none).

    The request's path is not echoed back (no ``<Resource>``): names taken
    from the request appear only where the code needs them (``BucketName``,
    ``Key``), so a refused body's content never travels back in an error.
    """
    fields: list[tuple[str, object]] = [("Code", error.code), ("Message", error.message),
                                        ("RequestId", request_id)]
    fields.extend(error.extra.items())
    resp = webob.Response(status=error.status, content_type="application/xml",
                          charset=None)
    resp.headers["x-amz-request-id"] = request_id
    resp.headers["x-amz-id-2"] = request_id
    resp.headers.update(error.headers)
    body = to_xml("Error", fields, namespace=False)
    if with_body:
        resp.body = body
    else:
        resp.app_iter = [b""]
        resp.content_length = 0
    return resp
