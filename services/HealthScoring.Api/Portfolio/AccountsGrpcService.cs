using System.Text;
using Google.Protobuf.WellKnownTypes;
using HealthScoring.Api.Grpc;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using HealthScoring.Contracts.V1;
using StatusCode = HealthScoring.Api.Grpc.StatusCode;
using V1 = HealthScoring.Contracts.V1;

namespace HealthScoring.Api.Portfolio;

/// <summary>
/// <c>healthscoring.v1.Accounts</c> (protos/healthscoring/v1/accounts.proto): the portfolio's queries as REST
/// serves them (<see cref="PortfolioQueries"/>, <see cref="PortfolioRequests"/>), and <c>WatchHealth</c> over
/// <see cref="HealthChangeFeed"/>. API keys only; bad input is INVALID_ARGUMENT with a google.rpc.BadRequest
/// naming the proto field.
/// </summary>
public static class AccountsGrpcService
{
    public const string Service = "healthscoring.v1.Accounts";

    public static IEndpointRouteBuilder MapAccountsGrpc(this IEndpointRouteBuilder app)
    {
        app.MapGrpcUnary<GetAccountHealthRequest, AccountHealth>(Service, "GetAccountHealth", GetAsync).AllowAnonymous();
        app.MapGrpcUnary<ListAccountsRequest, ListAccountsResponse>(Service, "ListAccounts", ListAsync).AllowAnonymous();
        app.MapGrpcUnary<GetScoreHistoryRequest, ScoreHistory>(Service, "GetScoreHistory", HistoryAsync).AllowAnonymous();
        app.MapGrpcServerStreaming<WatchHealthRequest, HealthEvent>(Service, "WatchHealth", WatchAsync).AllowAnonymous();
        return app;
    }

    private static PortfolioQueries Queries(GrpcCallContext context) => context.HttpContext.RequestServices.GetRequiredService<PortfolioQueries>();

    private static async Task<ListAccountsResponse> ListAsync(ListAccountsRequest request, GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync(read: true);
        var errors = new List<FieldError>();
        var band = BandName(request.Band, "band", errors);
        AccountSort? order = request.Sort switch
        {
            V1.AccountSort.Risk => AccountSort.Risk,
            V1.AccountSort.MrrAtRisk => AccountSort.MrrAtRisk,
            V1.AccountSort.Score => AccountSort.Score,
            V1.AccountSort.Mrr => AccountSort.Mrr,
            V1.AccountSort.Name => AccountSort.Name,
            _ => null,
        };
        var sort = PortfolioRequests.Sorts.FirstOrDefault(s => s.Value == order).Key;
        if (order is null)
        {
            errors.Add(new FieldError("sort", $"sort {(int)request.Sort} is not an AccountSort."));
        }

        ThrowIfInvalid(errors);
        var (parsed, invalid) = PortfolioRequests.ParseList(band, request.Segment, request.Owner, request.Plan, request.Query, sort,
            request.PageSize == 0 ? null : request.PageSize, request.PageToken);
        ThrowIfInvalid(invalid);
        var page = await Queries(context).ListAsync(principal.TenantId, parsed!, context.CancellationToken);
        var response = new ListAccountsResponse
        {
            NextPageToken = page.NextPageToken ?? "",
            Totals = new V1.PortfolioTotals { Accounts = page.Totals.Accounts, AtRisk = page.Totals.AtRisk, MrrAtRisk = page.Totals.MrrAtRisk, ExpansionPipeline = page.Totals.ExpansionPipeline },
        };
        response.Accounts.AddRange(page.Accounts.Select(Summary));
        return response;
    }

    private static async Task<AccountHealth> GetAsync(GetAccountHealthRequest request, GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync(read: true);
        var detail = await Queries(context).GetAsync(principal.TenantId, request.AccountId, context.CancellationToken) ?? throw NotFound(request.AccountId);
        var health = new AccountHealth { Summary = Summary(detail) };
        health.Drivers.AddRange(detail.Drivers.Select(ToProto));
        health.ExpansionDrivers.AddRange(detail.ExpansionDrivers.Select(ToProto));
        foreach (var (name, value) in detail.Components)
        {
            health.Components[name] = value;
        }

        return health;
    }

    private static async Task<ScoreHistory> HistoryAsync(GetScoreHistoryRequest request, GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync(read: true);
        var errors = new List<FieldError>();
        var from = ToDate(request.From, "from", errors);
        var to = ToDate(request.To, "to", errors);
        if (from > to)
        {
            errors.Add(new FieldError("from", "from must not be after to."));
        }

        ThrowIfInvalid(errors);
        var points = await Queries(context).HistoryAsync(principal.TenantId, request.AccountId, from, to, context.CancellationToken) ?? throw NotFound(request.AccountId);
        var history = new ScoreHistory();
        history.Points.AddRange(points.Select(p =>
        {
            var point = new ScorePoint { AsOf = ToProto(p.AsOf), HealthScore = p.HealthScore, Band = ToProtoBand(p.Band), ChurnProbability = p.ChurnProbability };
            if (p.ExpansionProbability is { } expansion)
            {
                point.ExpansionProbability = expansion;
            }

            return point;
        }));
        return history;
    }

    private static async Task WatchAsync(WatchHealthRequest request, IServerStreamWriter<HealthEvent> responses, GrpcCallContext context)
    {
        var principal = await context.AuthenticateAsync(read: true);
        var errors = new List<FieldError>();
        var band = BandName(request.Band, "band", errors);
        ThrowIfInvalid(errors);
        var accounts = request.AccountIds.Count == 0 ? null : request.AccountIds.ToHashSet(StringComparer.Ordinal);
        var feed = context.HttpContext.RequestServices.GetRequiredService<HealthChangeFeed>();
        using var watcher = feed.Watch(principal.TenantId, c => (accounts is null || accounts.Contains(c.AccountId)) && (band is null || c.Band == band));

        // Headers go out once the feed listens and this watcher is in it: from then on the client misses nothing.
        await feed.WhenListeningAsync(context.CancellationToken);
        await context.WriteResponseHeadersAsync();
        // A live feed has no end of its own: a graceful shutdown ends it (UNAVAILABLE: watch again, elsewhere or after
        // the restart) rather than wait for the client until the shutdown timeout cuts it.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, context.ServerStopping);
        try
        {
            await foreach (var change in watcher.Changes.ReadAllAsync(stopping.Token))
            {
                await responses.WriteAsync(ToProto(change));
            }
        }
        catch (HealthFeedInterruptedException ex)
        {
            throw new GrpcException(StatusCode.Unavailable, ex.Message);
        }
        catch (OperationCanceledException) when (context.ServerStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new GrpcException(StatusCode.Unavailable, "The server is shutting down; watch again to resume.");
        }
    }

    // Proto3 optional fields are set only when there is a value (their setters refuse null).
    private static HealthEvent ToProto(HealthChange change)
    {
        var message = new HealthEvent
        {
            Kind = change.Kind == HealthNotifications.AlertKind ? HealthEvent.Types.Kind.Alert : HealthEvent.Types.Kind.Scored,
            AccountId = change.AccountId,
            AsOf = ToProto(change.AsOf),
            HealthScore = change.HealthScore,
            Band = ToProtoBand(change.Band),
            ChurnProbability = change.ChurnProbability,
            AlertKind = change.AlertKind ?? "",
            AlertId = change.AlertId ?? "",
        };
        if (change.ExpansionProbability is { } expansion)
        {
            message.ExpansionProbability = expansion;
        }

        if (change.PreviousScore is { } previous)
        {
            message.PreviousScore = previous;
        }

        return message;
    }

    private static V1.AccountSummary Summary(AccountSummary s)
    {
        var summary = new V1.AccountSummary
        {
            AccountId = s.AccountId,
            Name = s.Name,
            HealthScore = s.HealthScore,
            Band = ToProtoBand(s.Band),
            ChurnProbability = s.ChurnProbability,
            Mrr = s.Mrr,
            MrrAtRisk = s.MrrAtRisk,
            AsOf = ToProto(s.AsOf),
            ScoredAt = Timestamp.FromDateTimeOffset(s.ScoredAt),
            Trend = new V1.Trend { Direction = s.Trend.Direction },
        };
        if (s.ExpansionProbability is { } expansion)
        {
            summary.ExpansionProbability = expansion;
        }

        if (s.Owner is not null)
        {
            summary.Owner = s.Owner;
        }

        if (s.Plan is not null)
        {
            summary.Plan = s.Plan;
        }

        if (s.Segment is not null)
        {
            summary.Segment = s.Segment;
        }

        if (s.Trend.Delta7d is { } delta)
        {
            summary.Trend.Delta7D = delta;
        }

        summary.Trend.Sparkline.AddRange(s.Trend.Sparkline);
        return summary;
    }

    private static V1.Driver ToProto(Driver d)
    {
        var driver = new V1.Driver { Feature = d.Feature, Contribution = d.Contribution, Direction = d.Direction, Text = d.Text };
        if (d.Value is { } value)
        {
            driver.Value = value;
        }

        return driver;
    }

    private static Date ToProto(DateOnly d) => new() { Year = d.Year, Month = d.Month, Day = d.Day };

    private static DateOnly? ToDate(Date? date, string field, List<FieldError> errors)
    {
        if (date is null)
        {
            return null;
        }

        try
        {
            return new DateOnly(date.Year, date.Month, date.Day);
        }
        catch (ArgumentOutOfRangeException)
        {
            errors.Add(new FieldError(field, $"{field} {date.Year}-{date.Month}-{date.Day} is not a date."));
            return null;
        }
    }

    private static V1.Band ToProtoBand(string band) => band switch
    {
        HealthScoreProfile.Healthy => V1.Band.Healthy,
        HealthScoreProfile.Watch => V1.Band.Watch,
        HealthScoreProfile.AtRisk => V1.Band.AtRisk,
        _ => V1.Band.Unspecified,
    };

    /// <summary>The band's name as stored (null for "any"), or an error for a number the proto does not define.</summary>
    private static string? BandName(V1.Band band, string field, List<FieldError> errors)
    {
        switch (band)
        {
            case V1.Band.Unspecified:
                return null;
            case V1.Band.Healthy:
                return HealthScoreProfile.Healthy;
            case V1.Band.Watch:
                return HealthScoreProfile.Watch;
            case V1.Band.AtRisk:
                return HealthScoreProfile.AtRisk;
            default:
                errors.Add(new FieldError(field, $"{field} {(int)band} is not a Band."));
                return null;
        }
    }

    private static void ThrowIfInvalid(IReadOnlyList<FieldError> errors)
    {
        if (errors.Count == 0)
        {
            return;
        }

        var badRequest = new Google.Rpc.BadRequest();
        badRequest.FieldViolations.AddRange(errors.Select(e => new Google.Rpc.BadRequest.Types.FieldViolation { Field = SnakeCase(e.Field), Description = e.Message }));
        var message = string.Join(" ", errors.Select(e => e.Message));
        var status = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
        status.Details.Add(Any.Pack(badRequest));
        throw new GrpcException(StatusCode.InvalidArgument, message, status);
    }

    /// <summary>REST's camelCase field names as the proto spells them (pageToken → page_token).</summary>
    private static string SnakeCase(string field)
    {
        var snake = new StringBuilder(field.Length + 4);
        foreach (var c in field)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                snake.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                snake.Append(c);
            }
        }

        return snake.ToString();
    }

    // Unknown and other tenants' accounts alike: no existence leak.
    private static GrpcException NotFound(string accountId) => new(StatusCode.NotFound, $"No scored account '{accountId}' for this tenant.");
}
