"""gRPC interop client for the framing layer's tests: a real gRPC implementation (Debian's python3-grpcio) calling
the test echo service that GrpcTestHost serves.

Usage: /usr/bin/python3 interop_client.py PORT SCENARIO [ARG]
Prints one JSON object on stdout: code (grpc.StatusCode name), details, result, trailing_metadata ([key, value]
pairs; bytes values as padded base64), status (grpc-status-details-bin decoded with google.rpc classes) and
elapsed_ms. Exit code 3: grpcio/protobuf are missing (run `bash scripts/test-deps.sh`).

Methods are called by path with generic stubs, so no service code is generated; messages are protobuf's wrapper
types. The google.rpc classes are generated at run time by Debian's protoc from protos/google/rpc, which matches
python3-protobuf; google/protobuf/any.proto (not shipped by Debian's protobuf-compiler) comes from the python
package's own descriptor.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import grpc
    from google.protobuf import any_pb2, descriptor_pb2, wrappers_pb2
except ImportError as error:
    print(f"interop_client: {error}. Run `bash scripts/test-deps.sh` (installs python3-grpcio, python3-protobuf, "
          "protobuf-compiler) and use /usr/bin/python3.", file=sys.stderr)
    sys.exit(3)

SERVICE = "/healthscoring.test.Echo/"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
NON_ASCII = "Grüße ✓ 100% — 日本語\nline 2"


def load_google_rpc():
    protoc = shutil.which("protoc")
    if protoc is None:
        print("interop_client: protoc not found. Run `bash scripts/test-deps.sh`.", file=sys.stderr)
        sys.exit(3)
    with tempfile.TemporaryDirectory(prefix="hs-grpc-py-") as out:
        wkt = descriptor_pb2.FileDescriptorSet()
        any_pb2.DESCRIPTOR.CopyToProto(wkt.file.add())
        wkt_path = os.path.join(out, "wkt.pb")
        with open(wkt_path, "wb") as f:
            f.write(wkt.SerializeToString())
        subprocess.run([protoc, f"--descriptor_set_in={wkt_path}", f"-I{os.path.join(REPO, 'protos')}",
                        f"--python_out={out}", "google/rpc/status.proto", "google/rpc/error_details.proto"],
                       check=True)
        sys.path.insert(0, out)
        from google.rpc import error_details_pb2, status_pb2  # noqa: E402 (generated just above)
        sys.path.remove(out)
        return status_pb2, error_details_pb2


def metadata_json(metadata):
    pairs = []
    for key, value in metadata or ():
        pairs.append([key, base64.b64encode(value).decode() if isinstance(value, bytes) else value])
    return pairs


def decode_status(metadata):
    raw = next((v for k, v in metadata or () if k == "grpc-status-details-bin"), None)
    if raw is None:
        return None
    status_pb2, error_details_pb2 = load_google_rpc()
    status = status_pb2.Status.FromString(raw)
    details = []
    for detail in status.details:
        entry = {"type_url": detail.type_url}
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            entry["field_violations"] = [{"field": v.field, "description": v.description}
                                         for v in bad_request.field_violations]
        details.append(entry)
    return {"code": status.code, "message": status.message, "details": details}


def run(channel, scenario, arg):
    def unary(method, request_type=wrappers_pb2.StringValue, response_type=wrappers_pb2.StringValue):
        return channel.unary_unary(SERVICE + method, request_serializer=request_type.SerializeToString,
                                   response_deserializer=response_type.FromString)

    def unary_call(method, request, **kwargs):
        response, call = unary(method).with_call(request, **kwargs)
        return response.value, call

    string = wrappers_pb2.StringValue
    if scenario == "unary_ok":
        return unary_call("Echo", string(value="hello"))
    if scenario == "large_ok":
        value, call = unary_call("Echo", string(value="x" * int(arg)))
        return len(value), call
    if scenario == "resource_exhausted":
        return unary_call("Echo", string(value="x" * int(arg)))
    if scenario == "invalid_argument":
        return unary_call("Fail", string(value="must be positive"))
    if scenario == "non_ascii_message":
        return unary_call("Reject", string(value=NON_ASCII))
    if scenario == "unauthenticated":
        return unary_call("Whoami", string())
    if scenario == "authenticated":
        return unary_call("Whoami", string(), metadata=(("authorization", "Bearer s3cret-token"),))
    if scenario == "deadline":
        return unary_call("Wait", string(value=arg), timeout=0.2)
    if scenario == "unhandled_exception":
        return unary_call("Crash", string())
    if scenario == "unimplemented_method":
        return unary_call("Nope", string())
    if scenario == "unimplemented_service":
        method = channel.unary_unary("/healthscoring.test.Missing/Echo", request_serializer=string.SerializeToString,
                                     response_deserializer=string.FromString)
        response, call = method.with_call(string())
        return response.value, call
    if scenario == "client_streaming":
        sum_method = channel.stream_unary(SERVICE + "Sum", request_serializer=wrappers_pb2.Int32Value.SerializeToString,
                                          response_deserializer=wrappers_pb2.Int32Value.FromString)
        response, call = sum_method.with_call(wrappers_pb2.Int32Value(value=i) for i in range(1, 11))
        return response.value, call
    if scenario == "server_streaming":
        count = channel.unary_stream(SERVICE + "Count", request_serializer=wrappers_pb2.Int32Value.SerializeToString,
                                     response_deserializer=string.FromString)
        responses = count(wrappers_pb2.Int32Value(value=int(arg)))
        items = []
        try:
            for response in responses:
                items.append(response.value)
        except grpc.RpcError as error:
            error.partial_result = items
            raise
        return items, responses
    raise SystemExit(f"interop_client: unknown scenario {scenario!r}")


def main():
    port, scenario = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    # No proxy: the environment's http_proxy must not capture calls to 127.0.0.1.
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)])
    out = {"scenario": scenario, "grpcio": grpc.__version__, "sent_message": NON_ASCII}
    started = time.monotonic()
    try:
        result, call = run(channel, scenario, arg)
        out.update(code="OK", details=call.details(), result=result)
        trailing = call.trailing_metadata()
    except grpc.RpcError as error:
        out.update(code=error.code().name, details=error.details(), result=getattr(error, "partial_result", None))
        trailing = error.trailing_metadata()
    out["elapsed_ms"] = round((time.monotonic() - started) * 1000)
    out["trailing_metadata"] = metadata_json(trailing)
    out["status"] = decode_status(trailing)
    channel.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
