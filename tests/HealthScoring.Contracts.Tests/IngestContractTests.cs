using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Contracts.Tests;

public sealed class IngestContractTests
{
    [Fact]
    public void An_ingest_batch_with_every_call_type_round_trips_through_the_wire_format()
    {
        var properties = new Struct();
        properties.Fields["format"] = Value.ForString("csv");
        properties.Fields["pages"] = Value.ForNumber(3);
        var common = new Common { MessageId = "m-1", UserId = "u-1", AnonymousId = "a-1", Timestamp = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero)) };
        var request = new IngestBatchRequest
        {
            SentAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 5, 1, 10, 0, 5, TimeSpan.Zero)),
            Messages =
            {
                new SegmentMessage { Track = new Track { Common = common, Event = "Report Exported", Properties = properties, GroupId = "acct-1" } },
                new SegmentMessage { Identify = new Identify { Common = common.Clone(), Traits = new Struct { Fields = { ["plan"] = Value.ForString("pro") } } } },
                new SegmentMessage { Group = new Group { Common = common.Clone(), GroupId = "acct-1" } },
            },
        };

        var parsed = IngestBatchRequest.Parser.ParseFrom(request.ToByteArray());

        parsed.ShouldBe(request);
        parsed.Messages.Select(m => m.CallCase).ShouldBe([SegmentMessage.CallOneofCase.Track, SegmentMessage.CallOneofCase.Identify, SegmentMessage.CallOneofCase.Group]);
        parsed.Messages[0].Track.Properties.Fields["pages"].NumberValue.ShouldBe(3);
    }

    [Fact]
    public void A_rejection_status_carries_the_bad_request_and_the_response_as_details()
    {
        var response = new IngestResponse { Accepted = 2, Duplicates = 1, Unassigned = 1, Errors = { new ItemError { Index = 3, Field = "event", Reason = "is required for track" } } };
        var badRequest = new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "messages[3].event", Description = "is required for track" } } };
        var status = new Google.Rpc.Status { Code = 3, Message = "1 of 4 message(s) were rejected", Details = { Any.Pack(badRequest), Any.Pack(response) } };

        var parsed = Google.Rpc.Status.Parser.ParseFrom(status.ToByteArray());

        parsed.ShouldBe(status);
        parsed.Details[0].Unpack<BadRequest>().ShouldBe(badRequest);
        parsed.Details[1].Unpack<IngestResponse>().ShouldBe(response);
        parsed.Details[0].TypeUrl.ShouldBe("type.googleapis.com/google.rpc.BadRequest");
    }
}
