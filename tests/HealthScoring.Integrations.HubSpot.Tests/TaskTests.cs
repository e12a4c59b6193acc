using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Integrations.HubSpot.Tests;

public sealed class TaskTests
{
    private const string TasksPath = "/crm/v3/objects/tasks";

    private static TaskRequest Alert(string alertId = "alert-7f3c", string accountId = "acc_0001") =>
        new(alertId, accountId, "acc_0001 became at-risk (score 24)", ["6 events in the last 7 days", "usage down 66 % vs the previous 4 weeks", "MRR down 30 % vs 90 days ago"])
        {
            Summary = "Health score fell from 58 to 24 this week.",
            DueAt = new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero),
        };

    private static async Task<(HubSpotHarness Hub, string CompanyId, string OwnerId)> StartAsync(bool withOwner = true)
    {
        var hub = await HubSpotHarness.StartAsync();
        hub.DefineHealthProperties();
        var owner = hub.Fake.AddOwner("jordan@example.com", "Jordan", "Lee");
        var companies = hub.AddAccounts(1, withOwner ? owner.Id : null);
        return (hub, companies["acc_0001"], owner.Id);
    }

    [Fact]
    public async Task A_task_is_created_for_the_company_owner_with_the_drivers_in_the_body_and_associated_to_the_company()
    {
        var (hub, companyId, ownerId) = await StartAsync();
        await using var _ = hub;

        var result = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);

        result.Outcome.ShouldBe(TaskOutcome.Created);
        result.CompanyId.ShouldBe(companyId);
        result.OwnerId.ShouldBe(ownerId);
        var task = hub.Fake.Tasks.ShouldHaveSingleItem();
        task.Id.ShouldBe(result.TaskId);
        task.OwnerId.ShouldBe(ownerId);
        task.Subject.ShouldBe("acc_0001 became at-risk (score 24)");
        task.Body.ShouldNotBeNull();
        task.Body.ShouldContain("<li>6 events in the last 7 days</li>");
        task.Body.ShouldContain("<li>usage down 66 % vs the previous 4 weeks</li>");
        task.Body.ShouldContain("<li>MRR down 30 % vs 90 days ago</li>");
        task.Body.ShouldContain("Health score fell from 58 to 24 this week.");
        task.Body.ShouldContain(HubSpotClient.DedupeKey("alert-7f3c"));
        task["hs_timestamp"].ShouldBe(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        task["hs_task_status"].ShouldBe("NOT_STARTED");
        task["hs_task_priority"].ShouldBe("HIGH");
        task.CompanyIds.ShouldBe([companyId]);
        hub.Fake.Company(companyId)!.TaskIds.ShouldBe([task.Id]);
    }

    [Fact]
    public async Task The_same_alert_twice_creates_one_task_even_from_another_process()
    {
        var (hub, _, _) = await StartAsync();
        await using var __ = hub;

        var first = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);
        var second = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);
        var elsewhere = await hub.NewProcess().GetRequiredService<HubSpotClient>().CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);

        first.Outcome.ShouldBe(TaskOutcome.Created);
        second.Outcome.ShouldBe(TaskOutcome.AlreadyExists);
        elsewhere.Outcome.ShouldBe(TaskOutcome.AlreadyExists);
        second.TaskId.ShouldBe(first.TaskId);
        elsewhere.TaskId.ShouldBe(first.TaskId);
        hub.Fake.Tasks.Count.ShouldBe(1);
        hub.Fake.CallsTo("POST", TasksPath).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_deliveries_of_one_alert_create_one_task()
    {
        var (hub, _, _) = await StartAsync();
        await using var _ = hub;

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken)));

        results.Count(r => r.Outcome == TaskOutcome.Created).ShouldBe(1);
        hub.Fake.Tasks.Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_create_whose_answer_is_lost_is_checked_not_repeated()
    {
        var (hub, _, _) = await StartAsync();
        await using var _ = hub;
        // HubSpot creates the task, then a gateway loses the answer.
        hub.Fake.FailNext(1, 502, "POST", TasksPath, afterProcessing: true);

        var result = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);

        result.Outcome.ShouldBe(TaskOutcome.AlreadyExists);
        var task = hub.Fake.Tasks.ShouldHaveSingleItem();
        result.TaskId.ShouldBe(task.Id);
        hub.Fake.CallsTo("POST", TasksPath).Select(c => c.StatusCode).ShouldBe([502]);
    }

    [Fact]
    public async Task A_create_refused_with_503_before_running_is_sent_again()
    {
        var (hub, _, _) = await StartAsync();
        await using var _ = hub;
        hub.Fake.FailNext(1, 503, "POST", TasksPath);

        var result = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);

        result.Outcome.ShouldBe(TaskOutcome.Created);
        hub.Fake.Tasks.Count.ShouldBe(1);
        hub.Fake.CallsTo("POST", TasksPath).Select(c => c.StatusCode).ShouldBe([503, 201]);
    }

    [Fact]
    public async Task Different_alerts_for_one_company_create_separate_tasks()
    {
        var (hub, companyId, _) = await StartAsync();
        await using var _ = hub;

        await hub.Client.CreateTaskAsync(Alert("alert-1"), TestContext.Current.CancellationToken);
        await hub.Client.CreateTaskAsync(Alert("alert-2"), TestContext.Current.CancellationToken);

        hub.Fake.Tasks.Count.ShouldBe(2);
        hub.Fake.Company(companyId)!.TaskIds.Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_company_without_owner_gets_an_unassigned_task_and_an_unknown_account_none()
    {
        var (hub, _, _) = await StartAsync(withOwner: false);
        await using var _ = hub;

        var unassigned = await hub.Client.CreateTaskAsync(Alert(), TestContext.Current.CancellationToken);
        var unknown = await hub.Client.CreateTaskAsync(Alert("alert-x", "acc_0404"), TestContext.Current.CancellationToken);

        unassigned.Outcome.ShouldBe(TaskOutcome.Created);
        unassigned.OwnerId.ShouldBeNull();
        hub.Fake.Tasks.ShouldHaveSingleItem().OwnerId.ShouldBeNull();
        unknown.Outcome.ShouldBe(TaskOutcome.CompanyNotFound);
        unknown.TaskId.ShouldBeNull();
    }
}
