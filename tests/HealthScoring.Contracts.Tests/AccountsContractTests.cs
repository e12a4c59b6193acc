using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using HealthScoring.Contracts.V1;

namespace HealthScoring.Contracts.Tests;

public sealed class AccountsContractTests
{
    [Fact]
    public void An_account_health_with_optional_fields_set_and_unset_round_trips_through_the_wire_format()
    {
        var summary = new AccountSummary
        {
            AccountId = "a-1", Name = "Acme", HealthScore = 25, Band = Band.AtRisk, ChurnProbability = 0.8, ExpansionProbability = 0,
            Mrr = 500, MrrAtRisk = 400, Owner = "Ada", AsOf = new Date { Year = 2026, Month = 10, Day = 31 },
            ScoredAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 1, 6, 0, 0, TimeSpan.Zero)),
            Trend = new Trend { Delta7D = 0, Direction = "flat", Sparkline = { 60, 45, 25 } },
        };
        var health = new AccountHealth
        {
            Summary = summary,
            Drivers = { new Driver { Feature = "days_since_last_active", Value = 21, Contribution = 0.8, Direction = "raises-risk", Text = "No activity for 21 days" } },
            ExpansionDrivers = { new Driver { Feature = "seat_limit_hits_28d", Contribution = 0.5, Direction = "raises-risk", Text = "Hit the seat limit" } },
            Components = { ["recency"] = 0.2, ["billing"] = 1 },
        };

        var parsed = AccountHealth.Parser.ParseFrom(health.ToByteArray());

        parsed.ShouldBe(health);
        parsed.Summary.HasExpansionProbability.ShouldBeTrue("an explicit 0 is a value, not absence");
        parsed.Summary.Trend.HasDelta7D.ShouldBeTrue();
        parsed.Summary.HasPlan.ShouldBeFalse();
        parsed.Summary.HasSegment.ShouldBeFalse();
        parsed.ExpansionDrivers[0].HasValue.ShouldBeFalse();
    }

    [Fact]
    public void List_history_and_watch_messages_round_trip()
    {
        var request = new ListAccountsRequest { Band = Band.Watch, Owner = "Ada", Query = "rock", Sort = AccountSort.MrrAtRisk, PageSize = 2, PageToken = "abc" };
        var page = new ListAccountsResponse
        {
            Accounts = { new AccountSummary { AccountId = "a-1", Name = "Acme", Band = Band.Watch } },
            NextPageToken = "next",
            Totals = new PortfolioTotals { Accounts = 7, AtRisk = 3, MrrAtRisk = 2300.5, ExpansionPipeline = 1100 },
        };
        var history = new ScoreHistory { Points = { new ScorePoint { AsOf = new Date { Year = 2026, Month = 10, Day = 17 }, HealthScore = 60, Band = Band.Watch, ChurnProbability = 0.4 } } };
        var watch = new WatchHealthRequest { AccountIds = { "a-1", "a-2" }, Band = Band.AtRisk };
        var change = new HealthEvent { Kind = HealthEvent.Types.Kind.Alert, AccountId = "a-1", HealthScore = 12, Band = Band.AtRisk, PreviousScore = 25, AlertKind = "became_at_risk", AlertId = "acme/a-1/at-risk/2026-11-07" };

        ListAccountsRequest.Parser.ParseFrom(request.ToByteArray()).ShouldBe(request);
        ListAccountsResponse.Parser.ParseFrom(page.ToByteArray()).ShouldBe(page);
        ScoreHistory.Parser.ParseFrom(history.ToByteArray()).ShouldBe(history);
        WatchHealthRequest.Parser.ParseFrom(watch.ToByteArray()).ShouldBe(watch);
        HealthEvent.Parser.ParseFrom(change.ToByteArray()).ShouldBe(change);
        new ListAccountsRequest().Sort.ShouldBe(AccountSort.Risk, "unset sort is at-risk first");
    }

    [Fact]
    public void An_invalid_argument_status_names_the_field_in_a_bad_request()
    {
        var badRequest = new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "page_token", Description = "not a token this list returned" } } };
        var status = new Google.Rpc.Status { Code = 3, Message = "bad page token", Details = { Any.Pack(badRequest) } };

        var parsed = Google.Rpc.Status.Parser.ParseFrom(status.ToByteArray());

        parsed.Details.Single().Unpack<BadRequest>().FieldViolations.Single().Field.ShouldBe("page_token");
    }
}
