using HealthScoring.Api.Grpc;
using Microsoft.AspNetCore.Http;

namespace HealthScoring.Api.Tests.Grpc;

public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("200m", 2_000_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("99999999n", 999_999L)]
    [InlineData("99999999H", 99_999_999L * 36_000_000_000L)]
    public void A_grpc_timeout_in_every_unit_parses_to_its_duration(string value, long ticks)
    {
        GrpcProtocol.TryParseTimeout(value, out var timeout).ShouldBeTrue();
        timeout.Ticks.ShouldBe(ticks);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    [InlineData("123456789S")]
    public void A_malformed_grpc_timeout_is_not_a_deadline(string? value) =>
        GrpcProtocol.TryParseTimeout(value, out _).ShouldBeFalse();

    [Theory]
    [InlineData("plain text, (ok)!", "plain text, (ok)!")]
    [InlineData("100%", "100%25")]
    [InlineData("tab\there", "tab%09here")]
    [InlineData("é", "%C3%A9")]
    [InlineData("日本", "%E6%97%A5%E6%9C%AC")]
    [InlineData("😀", "%F0%9F%98%80")]
    public void A_status_message_is_percent_encoded_as_UTF8_outside_printable_ASCII_and_for_percent(string message, string encoded)
    {
        GrpcProtocol.PercentEncode(message).ShouldBe(encoded);
        Uri.UnescapeDataString(encoded).ShouldBe(message);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Only_application_grpc_and_its_plus_suffixes_are_gRPC_content_types(string? contentType, bool isGrpc) =>
        GrpcProtocol.IsGrpcContentType(contentType).ShouldBe(isGrpc);

    [Theory]
    [InlineData("Bearer abc.def-123", "abc.def-123")]
    [InlineData("bearer abc", "abc")]
    [InlineData("Bearer   abc  ", "abc")]
    [InlineData("Bearer", null)]
    [InlineData("Bearer ", null)]
    [InlineData("Bearer a b", null)]
    [InlineData("Basic dXNlcjpwYXNz", null)]
    [InlineData(null, null)]
    public void The_bearer_token_is_read_from_authorization_metadata_and_null_when_malformed(string? authorization, string? token)
    {
        var http = new DefaultHttpContext();
        if (authorization is not null)
        {
            http.Request.Headers.Authorization = authorization;
        }

        new GrpcCallContext(http, CancellationToken.None).BearerToken.ShouldBe(token);
    }

    [Fact]
    public void Metadata_is_read_case_insensitively_and_is_null_when_absent()
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["x-tenant"] = "acme";
        var context = new GrpcCallContext(http, CancellationToken.None);

        context.GetMetadata("X-Tenant").ShouldBe("acme");
        context.GetMetadata("x-missing").ShouldBeNull();
    }

    [Theory]
    [InlineData("grpc-status")]
    [InlineData("Upper")]
    [InlineData("with space")]
    [InlineData("data-bin")]
    public void Reserved_malformed_or_binary_keys_are_refused_for_ASCII_trailers(string key) =>
        Should.Throw<ArgumentException>(() => new GrpcCallContext(new DefaultHttpContext(), CancellationToken.None).AddResponseTrailer(key, "v"));

    [Fact]
    public void Binary_trailers_need_a_bin_key_and_ASCII_trailers_printable_values()
    {
        var context = new GrpcCallContext(new DefaultHttpContext(), CancellationToken.None);

        Should.Throw<ArgumentException>(() => context.AddResponseTrailer("data", [1, 2]));
        Should.Throw<ArgumentException>(() => context.AddResponseTrailer("note", "line\nbreak"));
        context.AddResponseTrailer("data-bin", [1, 2]);
        context.ResponseTrailers.ShouldHaveSingleItem().ShouldBe(new KeyValuePair<string, string>("data-bin", "AQI"));
    }

    [Fact]
    public void Exception_details_are_copied_with_the_status_code_and_message()
    {
        var original = new Google.Rpc.Status { Code = 99, Message = "other" };

        var exception = new GrpcException(StatusCode.NotFound, "No such account.", original);

        exception.Details.ShouldNotBeNull().Code.ShouldBe((int)StatusCode.NotFound);
        exception.Details.Message.ShouldBe("No such account.");
        original.Code.ShouldBe(99, "the caller's object is left alone");
        Should.Throw<ArgumentException>(() => new GrpcException(StatusCode.Ok, "fine"));
    }
}
