using System.Diagnostics;
using System.Net;
using HealthScoring.Testing.Fakes.HubSpot;

namespace HealthScoring.Integrations.HubSpot.Tests;

public sealed class ResilienceTests
{
    private const string SearchPath = "/crm/v3/objects/companies/search";
    private const string BatchUpdatePath = "/crm/v3/objects/companies/batch/update";

    private static IReadOnlyList<CompanyUpdate> Updates(IEnumerable<string> accountIds) =>
        [.. accountIds.Select(a => new CompanyUpdate(a, 55, HealthBand.Watch, DateTimeOffset.UnixEpoch) { TopDrivers = ["seats down 20 %"] })];

    /// <summary>When each request arrived (ms after the first) and what it got, for failure messages.</summary>
    private static string Timeline(FakeHubSpot fake)
    {
        var calls = fake.Calls.OrderBy(c => c.At).ToList();
        return string.Join(Environment.NewLine, calls.Select(c =>
            $"{(c.At - calls[0].At).TotalMilliseconds,7:0} ms  {c.Method} {c.Path} → {c.StatusCode}"));
    }

    [Fact]
    public async Task A_429_period_is_waited_out_and_the_burst_limit_is_never_exceeded()
    {
        // HubSpot allows 6 per 10 s here; the client is set to 5. Eight requests are needed (3 searches, 3 batches
        // and the retries of the refused ones), so the limiter has to hold some back for a new window.
        await using var hub = await HubSpotHarness.StartAsync(
            new FakeHubSpotOptions { BurstLimit = 6 },
            client: o =>
            {
                o.MaxRequestsPer10Seconds = 5;
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(500);
            });
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(250);
        hub.Fake.RateLimitFor(TimeSpan.FromSeconds(2));

        var result = await hub.Client.UpdateCompaniesAsync(Updates(companies.Keys), TestContext.Current.CancellationToken);

        result.Updated.Count.ShouldBe(250);
        hub.Fake.Companies.Count(c => c[HubSpotPropertyNames.HealthScore] == "55").ShouldBe(250);
        hub.Fake.Calls.Count(c => c.StatusCode == 429).ShouldBeGreaterThan(0);
        hub.Fake.CallsTo("POST", BatchUpdatePath).Count(c => c.StatusCode == 200).ShouldBe(3);
        hub.Fake.MaxRequestsInAnyTenSeconds.ShouldBeLessThanOrEqualTo(5, Timeline(hub.Fake));
        hub.Fake.MaxSearchRequestsInAnySecond.ShouldBeLessThanOrEqualTo(3);
        hub.Logs.Lines.ShouldContain(l => l.Text.Contains("rate-limited", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Waiting_for_a_limiter_slot_does_not_count_against_the_attempt_timeout()
    {
        // Two requests per 10 s and a 1 s attempt timeout: the third and fourth searches queue for several seconds
        // behind the client's own limiter. That wait is not HubSpot failing to answer, so nothing times out, nothing
        // is retried, and HubSpot sees exactly one request per search.
        await using var hub = await HubSpotHarness.StartAsync(
            new FakeHubSpotOptions(),
            client: o =>
            {
                o.MaxRequestsPer10Seconds = 2;
                o.AttemptTimeout = TimeSpan.FromSeconds(1);
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(50);
            });
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(4);
        var clock = Stopwatch.StartNew();

        var found = await Task.WhenAll(companies.Keys.Select(a => hub.Client.FindCompanyIdsAsync([a], TestContext.Current.CancellationToken)));

        found.ShouldAllBe(f => f.Count == 1);
        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(5), "the limiter held the later searches back");
        hub.Fake.CallsTo("POST", SearchPath).Count.ShouldBe(4, Timeline(hub.Fake));
        hub.Logs.Lines.ShouldNotContain(l => l.Text.Contains("retry", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Retry_After_is_honoured_when_HubSpot_sends_it()
    {
        await using var hub = await HubSpotHarness.StartAsync(new FakeHubSpotOptions { SendRetryAfter = true });
        hub.DefineHealthProperties();
        hub.AddAccounts(1);
        hub.Fake.RateLimitFor(TimeSpan.FromSeconds(3));
        var clock = Stopwatch.StartNew();

        var found = await hub.Client.FindCompanyIdsAsync(["acc_0001"], TestContext.Current.CancellationToken);

        // The fake sends Retry-After: ceil(what is left of the 3 s), so waiting it out takes 3 s in all; the
        // client's own backoff (50 ms base here) would have retried far sooner.
        found.Count.ShouldBe(1);
        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(2.9));
        hub.Fake.CallsTo("POST", SearchPath).Select(c => c.StatusCode).ShouldBe([429, 200]);
    }

    [Fact]
    public async Task A_daily_limit_429_is_not_retried()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        hub.Fake.RateLimitFor(TimeSpan.FromMinutes(5), "DAILY");

        var error = await Should.ThrowAsync<HubSpotApiException>(() =>
            hub.Client.FindCompanyIdsAsync(["acc_0001"], TestContext.Current.CancellationToken));

        error.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        error.IsDailyLimit.ShouldBeTrue();
        error.IsTransient.ShouldBeFalse();
        error.HubSpotMessage.ShouldBe("You have reached your daily limit.");
        hub.Fake.Calls.Count.ShouldBe(1);
    }

    [Fact]
    public async Task The_client_side_daily_limit_stops_requests_before_they_are_sent()
    {
        await using var hub = await HubSpotHarness.StartAsync(client: o => o.DailyLimit = 2);
        hub.DefineHealthProperties();
        hub.AddAccounts(3);

        await hub.Client.FindCompanyIdsAsync(["acc_0001"], TestContext.Current.CancellationToken);
        await hub.Client.FindCompanyIdsAsync(["acc_0002"], TestContext.Current.CancellationToken);
        var error = await Should.ThrowAsync<HubSpotApiException>(() =>
            hub.Client.FindCompanyIdsAsync(["acc_0003"], TestContext.Current.CancellationToken));

        error.IsDailyLimit.ShouldBeTrue();
        hub.Fake.Calls.Count.ShouldBe(2);
    }

    [Fact]
    public async Task Two_injected_5xx_are_retried_and_the_update_lands()
    {
        await using var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        var companies = hub.AddAccounts(3);
        hub.Fake.FailNext(2, 503, "POST", BatchUpdatePath);

        var result = await hub.Client.UpdateCompaniesAsync(Updates(companies.Keys), TestContext.Current.CancellationToken);

        result.Updated.Count.ShouldBe(3);
        hub.Fake.CallsTo("POST", BatchUpdatePath).Select(c => c.StatusCode).ShouldBe([503, 503, 200]);
        hub.Fake.Companies.Count(c => c[HubSpotPropertyNames.HealthScore] == "55").ShouldBe(3);
    }

    [Fact]
    public async Task A_5xx_that_outlasts_the_retries_is_a_transient_HubSpotApiException()
    {
        await using var hub = await HubSpotHarness.StartAsync(client: o => o.MaxRetryAttempts = 2);
        hub.DefineHealthProperties();
        hub.Fake.FailNext(10, 500);

        var error = await Should.ThrowAsync<HubSpotApiException>(() =>
            hub.Client.FindCompanyIdsAsync(["acc_0001"], TestContext.Current.CancellationToken));

        error.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        error.IsTransient.ShouldBeTrue();
        hub.Fake.Calls.Count.ShouldBe(3);
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        await using var hub = await HubSpotHarness.StartAsync(client: o => o.AttemptTimeout = TimeSpan.FromMilliseconds(300));
        hub.DefineHealthProperties();
        hub.AddAccounts(1);
        hub.Fake.Delay(TimeSpan.FromSeconds(1));

        var found = await hub.Client.FindCompanyIdsAsync(["acc_0001"], TestContext.Current.CancellationToken);

        found.Count.ShouldBe(1);
        hub.Logs.Lines.ShouldContain(l => l.Text.Contains("TimeoutRejectedException", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_token_is_a_401_exception_without_retry()
    {
        await using var hub = await HubSpotHarness.StartAsync(token: "pat-na1-00000000-wrong");

        var error = await Should.ThrowAsync<HubSpotApiException>(() => hub.Client.EnsurePropertiesAsync(TestContext.Current.CancellationToken));

        error.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        error.Category.ShouldBe("INVALID_AUTHENTICATION");
        error.IsTransient.ShouldBeFalse();
        hub.Fake.Calls.ShouldHaveSingleItem().StatusCode.ShouldBe(401);
    }
}
