using System.Text;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class StripeWebhookSignatureTests
{
    private const string Secret = "whsec_test_9rQ2vXf8mK1pLs4Tn7Wb3Yc6Hd0Ze5Ja";
    private static readonly DateTimeOffset Now = new(2025, 10, 14, 9, 30, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Fixtures.Bytes("invoice.payment_failed.basil.json");

    [Fact]
    public void A_header_signed_with_the_endpoint_secret_is_accepted()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now.AddSeconds(-5));

        var result = StripeWebhookSignature.Verify(header, Body, Secret, Now);

        result.IsValid.ShouldBeTrue(result.Message);
        result.Status.ShouldBe(StripeSignatureStatus.Valid);
        result.Timestamp.ShouldBe(Now.AddSeconds(-5));
    }

    [Fact]
    public void The_signature_matches_an_independent_hmac_sha256_of_timestamp_dot_body()
    {
        // Computed outside .NET: echo -n '1533204620.{body}' | openssl dgst -sha256 -hmac whsec_test_secret
        var body = Encoding.UTF8.GetBytes("""{"id":"evt_test_webhook","object":"event"}""");
        const string expected = "ac1b8a66c1f854bc7a9112821d5ce61be5cec50fdbe491078db8a40cf5e3e3d4";

        StripeWebhookSignature.ComputeSignature(body, "whsec_test_secret", "1533204620").ShouldBe(expected);
        StripeWebhookSignature.Sign(body, "whsec_test_secret", DateTimeOffset.FromUnixTimeSeconds(1533204620))
            .ShouldBe($"t=1533204620,v1={expected}");
        StripeWebhookSignature.Verify($"t=1533204620,v1={expected}", body, "whsec_test_secret", DateTimeOffset.FromUnixTimeSeconds(1533204700))
            .Status.ShouldBe(StripeSignatureStatus.Valid);
    }

    [Fact]
    public void A_header_signed_with_another_secret_is_a_signature_mismatch()
    {
        var header = StripeWebhookSignature.Sign(Body, "whsec_someone_elses_secret", Now);

        StripeWebhookSignature.Verify(header, Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.SignatureMismatch);
    }

    [Fact]
    public void A_body_with_one_byte_changed_is_a_signature_mismatch()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now);
        var tampered = (byte[])Body.Clone();
        var amount = Encoding.UTF8.GetBytes("14700");
        var at = tampered.AsSpan().IndexOf(amount);
        tampered[at] = (byte)'9';

        StripeWebhookSignature.Verify(header, tampered, Secret, Now).Status.ShouldBe(StripeSignatureStatus.SignatureMismatch);
    }

    [Fact]
    public void A_timestamp_301_seconds_old_is_outside_the_default_tolerance()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now.AddSeconds(-301));

        var result = StripeWebhookSignature.Verify(header, Body, Secret, Now);

        result.Status.ShouldBe(StripeSignatureStatus.TimestampOutsideTolerance);
        result.Message.ShouldContain("301 s old");
    }

    [Fact]
    public void A_timestamp_exactly_300_seconds_old_is_still_accepted()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now.AddSeconds(-300));

        StripeWebhookSignature.Verify(header, Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.Valid);
    }

    [Fact]
    public void A_timestamp_in_the_future_beyond_the_tolerance_is_rejected()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now.AddMinutes(6));

        var result = StripeWebhookSignature.Verify(header, Body, Secret, Now);

        result.Status.ShouldBe(StripeSignatureStatus.TimestampOutsideTolerance);
        result.Message.ShouldContain("in the future");
    }

    [Fact]
    public void A_custom_tolerance_replaces_the_default()
    {
        var header = StripeWebhookSignature.Sign(Body, Secret, Now.AddSeconds(-20));

        StripeWebhookSignature.Verify(header, Body, Secret, Now, TimeSpan.FromSeconds(10)).Status.ShouldBe(StripeSignatureStatus.TimestampOutsideTolerance);
        StripeWebhookSignature.Verify(header, Body, Secret, Now, TimeSpan.FromSeconds(30)).Status.ShouldBe(StripeSignatureStatus.Valid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_missing_header_is_reported_as_missing(string? header)
    {
        StripeWebhookSignature.Verify(header, Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.MissingHeader);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("v1=abcdef")]
    [InlineData("t=,v1=abcdef")]
    [InlineData("t=12x4,v1=abcdef")]
    [InlineData("t=-5,v1=abcdef")]
    [InlineData("t=1760434200,v1")]
    [InlineData("t=99999999999999999999999,v1=abcdef")]
    public void A_malformed_header_is_reported_as_malformed(string header)
    {
        var result = StripeWebhookSignature.Verify(header, Body, Secret, Now);

        result.Status.ShouldBe(StripeSignatureStatus.MalformedHeader);
        result.IsValid.ShouldBeFalse();
    }

    [Fact]
    public void A_header_with_only_a_v0_signature_has_no_v1_signature()
    {
        var t = Now.ToUnixTimeSeconds();
        var v0 = StripeWebhookSignature.ComputeSignature(Body, Secret, t.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var result = StripeWebhookSignature.Verify($"t={t},v0={v0}", Body, Secret, Now);

        result.Status.ShouldBe(StripeSignatureStatus.NoV1Signature);
    }

    [Fact]
    public void One_matching_v1_among_several_is_accepted_and_v0_and_unknown_schemes_are_ignored()
    {
        var signed = StripeWebhookSignature.Sign(Body, Secret, Now);
        var t = signed.Split(',')[0];
        var good = signed.Split(',')[1];
        var stale = StripeWebhookSignature.Sign(Body, "whsec_rolled_secret", Now).Split(',')[1];
        var header = $"{t}, {stale}, v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39, {good}, v9=future-scheme";

        StripeWebhookSignature.Verify(header, Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.Valid);
    }

    [Fact]
    public void Uppercase_hex_or_a_truncated_signature_do_not_break_the_comparison()
    {
        var signed = StripeWebhookSignature.Sign(Body, Secret, Now);
        var t = signed.Split(',')[0];
        var hex = signed.Split(',')[1]["v1=".Length..];

        StripeWebhookSignature.Verify($"{t},v1={hex[..40]}", Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.SignatureMismatch);
        StripeWebhookSignature.Verify($"{t},v1=not-hex-at-all", Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.SignatureMismatch);
        StripeWebhookSignature.Verify($"{t},v1={hex.ToUpperInvariant()}", Body, Secret, Now).Status.ShouldBe(StripeSignatureStatus.Valid);
    }

    [Fact]
    public void No_message_contains_the_secret_or_the_expected_signature()
    {
        var t = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var expected = StripeWebhookSignature.ComputeSignature(Body, Secret, t);
        string?[] headers =
        [
            null,
            "nonsense",
            $"t={t},v0={expected}",
            StripeWebhookSignature.Sign(Body, "whsec_other", Now),
            StripeWebhookSignature.Sign(Body, Secret, Now.AddHours(-1)),
            StripeWebhookSignature.Sign(Body, Secret, Now),
        ];

        var messages = headers.Select(h => StripeWebhookSignature.Verify(h, Body, Secret, Now).Message).ToList();

        messages.Count.ShouldBe(6);
        foreach (var message in messages)
        {
            message.ShouldNotBeNullOrWhiteSpace();
            message.ShouldNotContain(Secret);
            message.ShouldNotContain("whsec_");
            message.ShouldNotContain(expected);
            message.ShouldNotContain(expected[..16]);
        }
    }

    [Fact]
    public void An_empty_secret_is_a_configuration_error_not_a_silent_rejection()
    {
        Should.Throw<ArgumentException>(() => StripeWebhookSignature.Verify("t=1,v1=00", Body, "", Now));
    }
}
