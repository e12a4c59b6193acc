using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Ingestion;

namespace HealthScoring.Api.Tests.Ingestion;

public class StructConversionTests
{
    [Fact]
    public void A_struct_becomes_the_json_object_its_proto3_json_form_parses_to()
    {
        var value = Struct.Parser.ParseJson("""
            {"plan":"growth","seats":12,"ratio":0.25,"big":12345678901,"on":true,"none":null,
             "tags":["a",1,false,null,{"x":[]}],"nested":{"deeper":{"name":"ü ✓ \"quoted\""}}}
            """);

        var direct = IngestGrpcService.Json(value, "properties")!;
        var viaText = JsonNode.Parse(JsonFormatter.Default.Format(value))!;

        JsonNode.DeepEquals(direct, viaText).ShouldBeTrue(direct.ToJsonString());
    }

    [Fact]
    public void A_number_json_cannot_hold_or_too_deep_a_struct_is_an_error_naming_the_field()
    {
        var nan = new Struct { Fields = { ["x"] = Value.ForNumber(double.NaN) } };
        var deep = new Struct();
        var inner = deep;
        for (var i = 0; i < 70; i++)
        {
            var next = new Struct();
            inner.Fields["n"] = Value.ForStruct(next);
            inner = next;
        }

        Should.Throw<Exception>(() => IngestGrpcService.Json(nan, "properties")).Message.ShouldContain("NaN");
        Should.Throw<Exception>(() => IngestGrpcService.Json(deep, "context")).Message.ShouldContain("deeper than 64");
    }
}
