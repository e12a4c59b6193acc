using System.Net;
using System.Net.Http.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Privacy;
using HealthScoring.EventStore;

namespace HealthScoring.Api.Tests.Privacy;

public sealed class EraseUserTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_erase_user_the_users_email_and_name_are_nowhere_readable_while_usage_stays()
    {
        var user = $"user-{Guid.NewGuid():N}";
        var account = $"acct-{Guid.NewGuid():N}";
        var email = $"{Guid.NewGuid():N}@example.com";
        var name = $"Peter {Guid.NewGuid():N}";
        using var writer = fixture.Client(fixture.AcmeWriteKey);
        var sent = await writer.PostAsJsonAsync("/v1/batch", new
        {
            batch = new object[]
            {
                new { type = "identify", messageId = Guid.NewGuid().ToString(), userId = user, traits = new { email, name, plan = "pro" }, context = new { ip = "203.0.113.9" } },
                new { type = "group", messageId = Guid.NewGuid().ToString(), userId = user, groupId = account, traits = new { name = "Initech" } },
                new { type = "track", messageId = Guid.NewGuid().ToString(), userId = user, @event = "Report Viewed", context = new { traits = new { email, name }, locale = "en-US" } },
            },
        }, Ct);
        sent.StatusCode.ShouldBe(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync(Ct));

        var store = fixture.Service<IEventStore>();
        var protector = fixture.Service<PersonalDataProtector>();
        (await PlacesHoldingAsync(email)).ShouldBe(["users"], "the log holds personal data only encrypted; the users record holds it readable");
        (await PlacesHoldingAsync(name)).ShouldBe(["users"]);

        using var admin = fixture.Client(fixture.AcmeApiKey, basic: false);
        var erased = await admin.PostAsJsonAsync("/v1/privacy/erase-user", new { userId = user }, Ct);

        erased.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PlacesHoldingAsync(email)).ShouldBeEmpty();
        (await PlacesHoldingAsync(name)).ShouldBeEmpty();
        var track = await store.ReadStreamAsync("acme", IngestionPipeline.AccountStream(account), cancellationToken: Ct)
            .Select(e => e.Data).OfType<TrackRecorded>().SingleAsync(Ct);
        track.Event.ShouldBe("Report Viewed", "usage stays");
        track.Context!["locale"]!.GetValue<string>().ShouldBe("en-US");
        (await protector.UnprotectAsync("acme", user, track.Personal, Ct)).ShouldBeNull("the key is gone");
    }

    [Fact]
    public async Task Personal_data_reads_back_until_the_user_is_erased()
    {
        var user = $"user-{Guid.NewGuid():N}";
        using var writer = fixture.Client(fixture.AcmeWriteKey);
        (await writer.PostAsJsonAsync("/v1/identify", new { messageId = Guid.NewGuid().ToString(), userId = user, traits = new { email = "x@example.com" } }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var identify = await fixture.Service<IEventStore>().ReadStreamAsync("acme", IngestionPipeline.UnassignedStream(user), cancellationToken: Ct)
            .Select(e => e.Data).OfType<UserIdentified>().SingleAsync(Ct);
        var protector = fixture.Service<PersonalDataProtector>();

        var before = await protector.UnprotectAsync("acme", user, identify.Personal, Ct);
        await fixture.Service<PrivacyService>().EraseUserAsync("acme", user, Ct);
        var after = await protector.UnprotectAsync("acme", user, identify.Personal, Ct);

        before!["traits"]!["email"]!.GetValue<string>().ShouldBe("x@example.com");
        after.ShouldBeNull();
    }

    [Fact]
    public async Task A_write_key_cannot_erase_and_a_request_must_name_one_user()
    {
        using var writer = fixture.Client(fixture.AcmeWriteKey);
        using var admin = fixture.Client(fixture.AcmeApiKey, basic: false);

        (await writer.PostAsJsonAsync("/v1/privacy/erase-user", new { userId = "u" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await admin.PostAsJsonAsync("/v1/privacy/erase-user", new { }, Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var malformed = await admin.PostAsync("/v1/privacy/erase-user", new StringContent("{\"userId\":", System.Text.Encoding.UTF8, "application/json"), Ct);
        malformed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        malformed.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    /// <summary>Every table of the schema whose rows, read as text, contain <paramref name="needle"/>.</summary>
    private async Task<List<string>> PlacesHoldingAsync(string needle)
    {
        var tables = new List<string>();
        await using (var list = fixture.DataSource.CreateCommand("select table_name from information_schema.tables where table_schema = $1 order by 1"))
        {
            list.Parameters.AddWithValue(fixture.Schema);
            await using var reader = await list.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var holding = new List<string>();
        foreach (var table in tables)
        {
            await using var probe = fixture.DataSource.CreateCommand($"select exists (select 1 from {fixture.Schema}.{table} t where t::text like '%' || $1 || '%')");
            probe.Parameters.AddWithValue(needle);
            if ((bool)(await probe.ExecuteScalarAsync(Ct))!)
            {
                holding.Add(table);
            }
        }

        return holding;
    }
}
