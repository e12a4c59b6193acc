using HealthScoring.Integrations.Stripe.Client;
using Microsoft.Extensions.Configuration;

namespace HealthScoring.Integrations.Stripe.Tests.Client;

public sealed class StripeClientConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_a_key_the_client_is_off_says_so_once_and_calls_nothing()
    {
        await using var host = await StripeTestHost.StartAsync(withKey: false);

        var first = host.Client;
        var second = host.Client;

        first.IsEnabled.ShouldBeFalse();
        second.IsEnabled.ShouldBeFalse();
        host.Resolve<StripeIntegrationStatus>().IsEnabled.ShouldBeFalse();
        await Should.ThrowAsync<StripeDisabledException>(() => first.GetLatestEventAsync(cancellationToken: Ct));
        await Should.ThrowAsync<StripeDisabledException>(() =>
            first.UpdateCustomerMetadataAsync("cus_1", new Dictionary<string, string?> { ["health_score"] = "1" }, cancellationToken: Ct));
        host.Logs.Lines.Count(l => l.Contains("Stripe integration is off", StringComparison.Ordinal)).ShouldBe(1);
        host.Logs.Lines.ShouldContain(l => l.Contains("Stripe__SecretKey", StringComparison.Ordinal));
        host.Fake.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task The_key_comes_from_Stripe__SecretKey_in_the_environment()
    {
        // A prefix keeps this test's variable away from the rest of the process.
        const string prefix = "HS_STRIPE_CLIENT_TEST_";
        Environment.SetEnvironmentVariable($"{prefix}Stripe__SecretKey", "sk_test_from_environment");
        try
        {
            await using var host = await StripeTestHost.StartAsync(withKey: false, configure: c => c.AddEnvironmentVariables(prefix));

            host.Client.IsEnabled.ShouldBeTrue();
            host.Resolve<StripeIntegrationStatus>().Options.SecretKey.ShouldBe("sk_test_from_environment");
            var error = await Should.ThrowAsync<StripeApiException>(() => host.Client.GetLatestEventAsync(cancellationToken: Ct));
            error.StatusCode.ShouldBe(401, "the fake expects its own key, so the environment's key was the one sent");
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{prefix}Stripe__SecretKey", null);
        }
    }

    [Fact]
    public async Task The_secret_key_never_reaches_the_logs_or_error_messages()
    {
        await using var host = await StripeTestHost.StartAsync(maxRetries: 2);
        var customer = host.Fake.AddCustomer();
        host.Fake.FailNext(1, 500);
        await host.Client.GetLatestEventAsync(cancellationToken: Ct);
        host.Fake.FailNext(3, 503);
        var error = await Should.ThrowAsync<StripeApiException>(() =>
            host.Client.UpdateCustomerMetadataAsync(customer, new Dictionary<string, string?> { ["health_score"] = "1" }, cancellationToken: Ct));

        host.Logs.Lines.ShouldContain(l => l.Contains("Stripe GET /v1/events failed (HTTP 500); retry 1 of 2", StringComparison.Ordinal));
        host.Logs.Lines.ShouldContain(l => l.Contains("Request Headers", StringComparison.Ordinal), "the factory's header logging ran, redacted");
        host.Logs.Lines.ShouldNotContain(l => l.Contains(host.Fake.SecretKey, StringComparison.Ordinal));
        host.Logs.Lines.ShouldNotContain(l => l.Contains("Bearer", StringComparison.Ordinal));
        error.ToString().ShouldNotContain(host.Fake.SecretKey);
        host.Resolve<StripeIntegrationStatus>().Options.ToString().ShouldNotContain(host.Fake.SecretKey);
    }

    [Fact]
    public async Task A_wrong_key_is_a_401_whose_message_does_not_repeat_the_key()
    {
        await using var host = await StripeTestHost.StartAsync(withKey: false, configure: c =>
            c.AddInMemoryCollection(new Dictionary<string, string?> { ["Stripe:SecretKey"] = "sk_test_wrong_key_0123456789" }));

        var error = await Should.ThrowAsync<StripeApiException>(() => host.Client.GetLatestEventAsync(cancellationToken: Ct));

        error.StatusCode.ShouldBe(401);
        error.Message.ShouldNotContain("sk_test_wrong_key_0123456789");
        host.Fake.Requests.Count.ShouldBe(1, "a 401 is not retried");
    }
}
