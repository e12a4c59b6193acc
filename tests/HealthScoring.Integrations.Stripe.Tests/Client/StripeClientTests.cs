using HealthScoring.Integrations.Stripe.Client;
using HealthScoring.Testing.Fakes.Stripe;

namespace HealthScoring.Integrations.Stripe.Tests.Client;

public sealed class StripeClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Listing_follows_starting_after_while_has_more_one_request_per_page()
    {
        await using var host = await StripeTestHost.StartAsync();
        var ids = host.Fake.AddCustomers(250, new FakeCustomerSeed { SubscriptionStatus = null, InvoicesPerCustomer = 0 });

        var listed = new List<StripeObject>();
        await foreach (var customer in host.Client.ListCustomersAsync(cancellationToken: Ct))
        {
            listed.Add(customer);
        }

        listed.Select(c => c.Id).ShouldBe(ids.Reverse(), "Stripe lists newest first");
        listed.ShouldAllBe(c => c.ObjectType == "customer" && c.Created != null);
        var pages = host.Fake.Requests.Where(r => r.Path == "/v1/customers").ToList();
        pages.Count.ShouldBe(3);
        pages[0].Query.ShouldBe("?limit=100");
        pages[1].Query.ShouldBe($"?limit=100&starting_after={ids[150]}");
        pages[2].Query.ShouldBe($"?limit=100&starting_after={ids[50]}");
        pages.ShouldAllBe(r => r.StripeVersion == "2025-04-30.basil");
    }

    [Fact]
    public async Task Subscriptions_are_listed_with_status_all_so_canceled_ones_come_too()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();
        var active = host.Fake.AddSubscription(customer);
        var canceled = host.Fake.AddSubscription(customer, status: "canceled");

        var listed = new List<string>();
        await foreach (var subscription in host.Client.ListSubscriptionsAsync(cancellationToken: Ct))
        {
            listed.Add(subscription.Id);
        }

        listed.ShouldBe([canceled, active]);
        host.Fake.Requests.ShouldHaveSingleItem().Query.ShouldContain("status=all");
    }

    [Fact]
    public async Task Events_after_a_cursor_come_oldest_first_across_pages_using_ending_before()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();
        var events = Enumerable.Range(0, 250)
            .Select(_ => System.Text.Json.JsonDocument.Parse(host.Fake.AddEvent("customer.updated", host.Fake.GetObject(customer))).RootElement.GetProperty("id").GetString()!)
            .ToList();

        var listed = new List<string>();
        await foreach (var stripeEvent in host.Client.ListEventsAsync(events[9], new StripeEventListOptions { PageSize = 100 }, Ct))
        {
            listed.Add(stripeEvent.Id);
        }

        listed.ShouldBe(events.Skip(10));
        var requests = host.Fake.Requests;
        requests.Count.ShouldBe(3);
        requests[0].Query.ShouldContain($"ending_before={events[9]}");
        requests[1].Query.ShouldContain($"ending_before={events[109]}");
    }

    [Fact]
    public async Task The_newest_event_of_the_wanted_types_marks_where_the_account_is()
    {
        await using var host = await StripeTestHost.StartAsync();
        (await host.Client.GetLatestEventAsync(cancellationToken: Ct)).ShouldBeNull();
        var customer = host.Fake.AddCustomer();
        host.Fake.AddEvent("customer.created", host.Fake.GetObject(customer));
        var second = host.Fake.AddEvent("customer.updated", host.Fake.GetObject(customer));

        host.Fake.AddEvent("payout.paid", new System.Text.Json.Nodes.JsonObject { ["id"] = "po_1", ["object"] = "payout" });

        var latest = await host.Client.GetLatestEventAsync(new StripeEventListOptions { Types = StripeEventParser.HandledEventTypes }, Ct);

        latest.ShouldNotBeNull().Json.GetRawText().ShouldBe(second);
        (await host.Client.GetLatestEventAsync(cancellationToken: Ct)).ShouldNotBeNull().ParseEvent().ShouldBeOfType<IgnoredStripeEvent>();
    }

    [Fact]
    public async Task A_metadata_update_is_form_encoded_with_brackets_and_merges()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer(new Dictionary<string, string> { ["account_id"] = "acme", ["old"] = "x" });

        var updated = await host.Client.UpdateCustomerMetadataAsync(
            customer,
            new Dictionary<string, string?> { ["health_score"] = "82", ["health_band"] = "green", ["old"] = null },
            StripeIdempotencyKeys.For("health-score", "run-7", customer),
            Ct);

        updated.Id.ShouldBe(customer);
        host.Fake.CustomerMetadata(customer).ShouldBe(
            new Dictionary<string, string> { ["account_id"] = "acme", ["health_score"] = "82", ["health_band"] = "green" },
            ignoreOrder: true);
        var request = host.Fake.Requests.ShouldHaveSingleItem();
        request.Method.ShouldBe("POST");
        request.Path.ShouldBe($"/v1/customers/{customer}");
        request.IdempotencyKey.ShouldBe($"hs:health-score:run-7:{customer}");
        request.Form["metadata[health_score]"].ShouldBe("82");
        request.Form["metadata[old]"].ShouldBe("", "an empty value removes the key");
    }

    [Fact]
    public async Task A_redelivered_health_score_write_reuses_its_idempotency_key_and_is_replayed()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer(new Dictionary<string, string> { ["account_id"] = "acme" });

        await host.Client.UpdateHealthScoreAsync(customer, 81.6, "green", "score-run-1", Ct);
        await host.Client.UpdateHealthScoreAsync(customer, 35, "red", "score-run-2", Ct);
        await host.Client.UpdateHealthScoreAsync(customer, 81.6, "green", "score-run-1", Ct);

        host.Fake.CustomerMetadata(customer).ShouldBe(
            new Dictionary<string, string> { ["account_id"] = "acme", ["health_score"] = "35", ["health_band"] = "red" },
            ignoreOrder: true);
        host.Fake.Requests.Select(r => r.Replayed).ShouldBe([false, false, true]);
        host.Fake.Requests[2].IdempotencyKey.ShouldBe(host.Fake.Requests[0].IdempotencyKey);
    }

    [Fact]
    public async Task A_500_then_success_is_retried_with_the_same_idempotency_key()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();
        host.Fake.FailNext(1, 500);

        await host.Client.UpdateCustomerMetadataAsync(customer, new Dictionary<string, string?> { ["health_score"] = "40" }, cancellationToken: Ct);

        var attempts = host.Fake.Requests;
        attempts.Select(r => r.StatusCode).ShouldBe([500, 200]);
        attempts[0].IdempotencyKey.ShouldNotBeNullOrEmpty();
        attempts[1].IdempotencyKey.ShouldBe(attempts[0].IdempotencyKey, "a retry is the same logical operation");
        host.Fake.CustomerMetadata(customer)["health_score"].ShouldBe("40");
    }

    [Fact]
    public async Task Each_logical_operation_gets_its_own_idempotency_key()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();

        await host.Client.UpdateCustomerMetadataAsync(customer, new Dictionary<string, string?> { ["health_score"] = "40" }, cancellationToken: Ct);
        await host.Client.UpdateCustomerMetadataAsync(customer, new Dictionary<string, string?> { ["health_score"] = "41" }, cancellationToken: Ct);

        host.Fake.Requests.Select(r => r.IdempotencyKey).Distinct().Count().ShouldBe(2);
        host.Fake.CustomerMetadata(customer)["health_score"].ShouldBe("41");
    }

    [Fact]
    public async Task Stripe_Should_Retry_false_is_not_retried_even_on_a_500()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();
        host.Fake.FailNext(1, 500, shouldRetry: false);

        var error = await Should.ThrowAsync<StripeApiException>(() =>
            host.Client.UpdateCustomerMetadataAsync(customer, new Dictionary<string, string?> { ["health_score"] = "40" }, cancellationToken: Ct));

        error.StatusCode.ShouldBe(500);
        error.Type.ShouldBe("api_error");
        host.Fake.Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Stripe_Should_Retry_true_retries_a_4xx()
    {
        await using var host = await StripeTestHost.StartAsync();
        host.Fake.FailNext(1, 409, shouldRetry: true);
        host.Fake.FailNext(1, 400, shouldRetry: true);

        (await host.Client.GetLatestEventAsync(cancellationToken: Ct)).ShouldBeNull();

        host.Fake.Requests.Select(r => r.StatusCode).ShouldBe([409, 400, 200]);
    }

    [Fact]
    public async Task A_429_is_retried()
    {
        await using var host = await StripeTestHost.StartAsync();
        host.Fake.FailNext(2, 429);

        (await host.Client.GetLatestEventAsync(cancellationToken: Ct)).ShouldBeNull();

        host.Fake.Requests.Select(r => r.StatusCode).ShouldBe([429, 429, 200]);
    }

    [Fact]
    public async Task The_fakes_rate_limit_is_ridden_out_by_the_retries()
    {
        // Backoff long enough to reach the next second, where the fake takes requests again. From the host's 1 ms
        // start, 10 retries (1 + 2 + … + 512 ms, less up to 25 % jitter) could end within the same second on a fast
        // machine and fail; 12 add two capped 1 s waits, so they always span more than a second.
        await using var host = await StripeTestHost.StartAsync(maxRetries: 12, maxRetryDelay: TimeSpan.FromSeconds(1));
        host.Fake.AddCustomers(300, new FakeCustomerSeed { SubscriptionStatus = null, InvoicesPerCustomer = 0 });
        host.Fake.RateLimitPerSecond = 4;

        var count = 0;
        await foreach (var _ in host.Client.ListCustomersAsync(new StripeListOptions { PageSize = 50 }, Ct))
        {
            count++;
        }

        count.ShouldBe(300);
        host.Fake.Requests.Count(r => r.StatusCode == 200).ShouldBe(6);
    }

    [Fact]
    public async Task A_4xx_without_the_header_is_not_retried_and_carries_Stripes_error()
    {
        await using var host = await StripeTestHost.StartAsync();

        var error = await Should.ThrowAsync<StripeApiException>(() =>
            host.Client.UpdateCustomerMetadataAsync("cus_missing", new Dictionary<string, string?> { ["health_score"] = "1" }, cancellationToken: Ct));

        error.StatusCode.ShouldBe(404);
        error.Type.ShouldBe("invalid_request_error");
        error.Code.ShouldBe("resource_missing");
        error.Param.ShouldBe("id");
        error.StripeMessage.ShouldBe("No such customer: 'cus_missing'");
        error.RequestId.ShouldNotBeNullOrEmpty();
        error.Message.ShouldContain("POST /v1/customers/cus_missing failed with HTTP 404 invalid_request_error/resource_missing: No such customer");
        host.Fake.Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Retries_are_bounded()
    {
        await using var host = await StripeTestHost.StartAsync(maxRetries: 3);
        host.Fake.FailNext(10, 503);

        var error = await Should.ThrowAsync<StripeApiException>(() => host.Client.GetLatestEventAsync(cancellationToken: Ct));

        error.StatusCode.ShouldBe(503);
        host.Fake.Requests.Count.ShouldBe(4);
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_with_the_same_idempotency_key()
    {
        await using var host = await StripeTestHost.StartAsync();
        var customer = host.Fake.AddCustomer();
        host.Fake.DropNext(1);

        await host.Client.CreateMeterEventAsync("api_calls", customer, 12, DateTimeOffset.UtcNow.AddHours(-1), "t1:acme:2026-11-20", cancellationToken: Ct);

        var attempts = host.Fake.Requests;
        attempts.Select(r => r.StatusCode).ShouldBe([0, 200]);
        attempts.Select(r => r.IdempotencyKey).Distinct().ShouldHaveSingleItem().ShouldBe("hs:meter-event:t1:acme:2026-11-20");
        host.Fake.MeterEvents.ShouldHaveSingleItem().Value.ShouldBe(12);
    }

    [Fact]
    public async Task An_attempt_that_times_out_is_retried()
    {
        await using var host = await StripeTestHost.StartAsync(requestTimeout: TimeSpan.FromMilliseconds(300));
        host.Fake.DelayNext(1, TimeSpan.FromSeconds(5));

        (await host.Client.GetLatestEventAsync(cancellationToken: Ct)).ShouldBeNull();

        host.Fake.Requests.Count(r => r.StatusCode == 200).ShouldBe(1);
    }

    [Fact]
    public async Task Network_failures_that_outlast_the_retries_are_an_api_connection_error()
    {
        await using var host = await StripeTestHost.StartAsync(maxRetries: 1);
        host.Fake.DropNext(2);

        var error = await Should.ThrowAsync<StripeApiException>(() => host.Client.GetLatestEventAsync(cancellationToken: Ct));

        error.StatusCode.ShouldBeNull();
        error.Type.ShouldBe("api_connection_error");
        error.InnerException.ShouldNotBeNull();
    }
}
