"""A real gRPC client (Debian's python3-grpcio) for healthscoring.v1.Accounts, for the portfolio interop tests.

Usage: /usr/bin/python3 accounts_client.py PORT METHOD KEY REQUEST_JSON [COUNT]
KEY "-" sends no key. REQUEST_JSON is the request message in protobuf JSON.
Unary methods print one JSON object: code (grpc.StatusCode name), details, response (the message as a dict,
proto field names) and violations (google.rpc.BadRequest field violations from grpc-status-details-bin).
WatchHealth prints one line {"ready": true} once the server has sent its headers (it listens from then on), then
one line per event {"received_at": unix seconds, "event": {...}} until COUNT events arrived (or an error line).
Exit code 3: grpcio, protobuf or protoc are missing (run `bash scripts/test-deps.sh`).

The message classes are generated at run time from protos/ by Debian's protoc (which matches python3-protobuf);
the well-known types it imports come from the python package's own descriptors.
"""

import json
import os
import sys
import time

try:
    import grpc
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Grpc"))
    import protogen
    from google.protobuf import any_pb2, json_format, timestamp_pb2
except ImportError as error:
    print(f"accounts_client: {error}. Run `bash scripts/test-deps.sh` and use /usr/bin/python3.", file=sys.stderr)
    sys.exit(3)

METHOD = "/healthscoring.v1.Accounts/"


def generate():
    protogen.generate("accounts_client", ["healthscoring/v1/accounts.proto", "google/rpc/status.proto", "google/rpc/error_details.proto"], (any_pb2, timestamp_pb2))
    from healthscoring.v1 import accounts_pb2  # noqa: E402 (generated just above)
    from google.rpc import error_details_pb2, status_pb2  # noqa: E402
    return accounts_pb2, status_pb2, error_details_pb2


def as_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def error_of(error, status_pb2, error_details_pb2):
    out = {"code": error.code().name, "details": error.details()}
    raw = next((v for k, v in error.trailing_metadata() or () if k == "grpc-status-details-bin"), None)
    if raw is not None:
        for detail in status_pb2.Status.FromString(raw).details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                out["violations"] = [{"field": v.field, "description": v.description} for v in bad_request.field_violations]
    return out


def main():
    port, method, key, request_json = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    accounts_pb2, status_pb2, error_details_pb2 = generate()
    types = {
        "GetAccountHealth": (accounts_pb2.GetAccountHealthRequest, accounts_pb2.AccountHealth),
        "ListAccounts": (accounts_pb2.ListAccountsRequest, accounts_pb2.ListAccountsResponse),
        "GetScoreHistory": (accounts_pb2.GetScoreHistoryRequest, accounts_pb2.ScoreHistory),
        "WatchHealth": (accounts_pb2.WatchHealthRequest, accounts_pb2.HealthEvent),
    }
    request_type, response_type = types[method]
    request = json_format.Parse(request_json, request_type())
    metadata = () if key == "-" else (("authorization", f"Bearer {key}"),)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)])
    if method != "WatchHealth":
        call = channel.unary_unary(METHOD + method, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString)
        try:
            out = {"code": "OK", "response": as_dict(call(request, metadata=metadata, timeout=30))}
        except grpc.RpcError as error:
            out = error_of(error, status_pb2, error_details_pb2)
        print(json.dumps(out))
        channel.close()
        return

    watch = channel.unary_stream(METHOD + method, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString)
    stream = watch(request, metadata=metadata, timeout=60)
    try:
        stream.initial_metadata()  # blocks until the server's headers: it is listening
        print(json.dumps({"ready": True}), flush=True)
        received = 0
        for event in stream:
            print(json.dumps({"received_at": time.time(), "event": as_dict(event)}), flush=True)
            received += 1
            if received >= count:
                stream.cancel()
                break
    except grpc.RpcError as error:
        print(json.dumps(error_of(error, status_pb2, error_details_pb2)), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
