"""A real gRPC client (Debian's python3-grpcio) for healthscoring.v1.Ingest, for the ingestion interop tests.

Usage: /usr/bin/python3 ingest_client.py PORT SCENARIO KEY ACCOUNT
Prints one JSON object: code (grpc.StatusCode name), details, response (IngestResponse as a dict) and
violations (google.rpc.BadRequest field violations from grpc-status-details-bin). Exit code 3: grpcio, protobuf
or protoc are missing (run `bash scripts/test-deps.sh`).

The message classes are generated at run time from protos/ by Debian's protoc (which matches python3-protobuf);
the well-known types it imports come from the python package's own descriptors.
"""

import json
import os
import sys
import uuid

try:
    import grpc
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Grpc"))
    import protogen
    from google.protobuf import any_pb2, json_format, struct_pb2, timestamp_pb2
except ImportError as error:
    print(f"ingest_client: {error}. Run `bash scripts/test-deps.sh` and use /usr/bin/python3.", file=sys.stderr)
    sys.exit(3)

METHOD = "/healthscoring.v1.Ingest/"


def generate():
    protogen.generate("ingest_client", ["healthscoring/v1/ingest.proto", "google/rpc/status.proto", "google/rpc/error_details.proto"], (any_pb2, struct_pb2, timestamp_pb2))
    from healthscoring.v1 import ingest_pb2  # noqa: E402 (generated just above)
    from google.rpc import error_details_pb2, status_pb2  # noqa: E402
    return ingest_pb2, status_pb2, error_details_pb2


def main():
    port, scenario, key, account = sys.argv[1:5]
    ingest_pb2, status_pb2, error_details_pb2 = generate()

    def common(message_id=None, user="u1"):
        value = ingest_pb2.Common(message_id=message_id or str(uuid.uuid4()), user_id=user)
        value.timestamp.GetCurrentTime()
        return value

    def track(event="Report Viewed", message_id=None, user="u1", grouped=True):
        properties = struct_pb2.Struct()
        properties.update({"format": "csv", "pages": 3})
        return ingest_pb2.SegmentMessage(track=ingest_pb2.Track(common=common(message_id, user), event=event, properties=properties, group_id=account if grouped else ""))

    def group(user):
        return ingest_pb2.SegmentMessage(group=ingest_pb2.Group(common=common(user=user), group_id=account))

    def identify(user, **traits):
        value = struct_pb2.Struct()
        value.update(traits)
        return ingest_pb2.SegmentMessage(identify=ingest_pb2.Identify(common=common(user=user), traits=value))

    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)])
    batch = channel.unary_unary(METHOD + "IngestBatch", request_serializer=ingest_pb2.IngestBatchRequest.SerializeToString,
                                response_deserializer=ingest_pb2.IngestResponse.FromString)
    stream = channel.stream_unary(METHOD + "IngestStream", request_serializer=ingest_pb2.IngestBatchRequest.SerializeToString,
                                  response_deserializer=ingest_pb2.IngestResponse.FromString)
    auth = (("authorization", f"Bearer {key}"),)
    out = {"scenario": scenario}
    try:
        if scenario == "batch_ok":
            response = batch(ingest_pb2.IngestBatchRequest(messages=[track(), track(), track("Export Created")]), metadata=auth)
        elif scenario == "batch_mixed":
            bad = track()
            bad.track.event = ""
            response = batch(ingest_pb2.IngestBatchRequest(messages=[track(), bad, track(user="")]), metadata=auth)
        elif scenario == "no_key":
            response = batch(ingest_pb2.IngestBatchRequest(messages=[track()]))
        elif scenario == "bad_key":
            response = batch(ingest_pb2.IngestBatchRequest(messages=[track()]), metadata=(("authorization", "Bearer hs_wk_nope"),))
        elif scenario == "stream_ok":
            requests = (ingest_pb2.IngestBatchRequest(messages=[track(), track()]) for _ in range(3))
            response = stream(requests, metadata=auth)
        elif scenario == "stream_duplicates":
            fixed = [track(message_id=f"{account}-{i}") for i in range(4)]
            response = stream(iter([ingest_pb2.IngestBatchRequest(messages=fixed), ingest_pb2.IngestBatchRequest(messages=fixed)]), metadata=auth)
        elif scenario == "stream_in_order":
            # Many messages, each depending on the one before: tracks with no account of their own follow the group
            # call that names it, and each identify's traits replace the previous one's.
            user = f"{account}-user"
            requests = [ingest_pb2.IngestBatchRequest(messages=[track(user=user, grouped=False)])]
            requests.append(ingest_pb2.IngestBatchRequest(messages=[group(user)]))
            for i in range(1, 13):
                requests.append(ingest_pb2.IngestBatchRequest(messages=[track(user=user, grouped=False), identify(user, plan=f"p{i}")]))
            response = stream(iter(requests), metadata=auth)
        elif scenario == "deadline":
            messages = [track() for _ in range(2000)]
            response = stream(iter([ingest_pb2.IngestBatchRequest(messages=messages) for _ in range(20)]), metadata=auth, timeout=0.05)
        else:
            raise SystemExit(f"ingest_client: unknown scenario {scenario!r}")
        out.update(code="OK", response=json_format.MessageToDict(response, preserving_proto_field_name=True, including_default_value_fields=True))
    except grpc.RpcError as error:
        out.update(code=error.code().name, details=error.details())
        raw = next((v for k, v in error.trailing_metadata() or () if k == "grpc-status-details-bin"), None)
        if raw is not None:
            status = status_pb2.Status.FromString(raw)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad_request = error_details_pb2.BadRequest()
                    detail.Unpack(bad_request)
                    out["violations"] = [{"field": v.field, "description": v.description} for v in bad_request.field_violations]
                if detail.Is(ingest_pb2.IngestResponse.DESCRIPTOR):
                    response = ingest_pb2.IngestResponse()
                    detail.Unpack(response)
                    out["response"] = json_format.MessageToDict(response, preserving_proto_field_name=True, including_default_value_fields=True)
    channel.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
