using System.Text.Json.Nodes;
using HealthScoring.Api.Observability;
using HealthScoring.Api.Privacy;
using HealthScoring.EventStore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HealthScoring.Api.Ingestion;

/// <summary>
/// The one path every usage event takes, from HTTP, gRPC or a file: validate, correct the clock, resolve the
/// account, append (deduplicated by messageId), then update the user and account records and attribute a
/// user's earlier unassigned events once a group call names their account. Valid items are stored even when
/// others in the same call are rejected. Only <c>account:</c> streams describe accounts: projections ignore the
/// <c>unassigned:</c> streams, whose events reach an account as attributed copies.
/// </summary>
public sealed class IngestionPipeline(IEventStore store, NpgsqlDataSource dataSource, EventStoreOptions storeOptions, IOptions<IngestionOptions> options, TimeProvider clock, PersonalDataProtector protector, EventTaxonomy taxonomy, QualityCounters counters, GroupCommitAppender appender, HealthScoringMetrics metrics)
{
    private readonly string _s = storeOptions.Schema;
    private readonly IngestionOptions _options = options.Value;

    // Users (by user key) and accounts (by AccountKey: a user key cannot contain a newline) this process has
    // recorded, with the user's account.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string Key), string?> _recorded = new();

    public const string AccountStreamPrefix = "account:";
    public const string UnassignedStreamPrefix = "unassigned:";

    public static string AccountStream(string accountId) => AccountStreamPrefix + accountId;

    public static string UnassignedStream(string userKey) => UnassignedStreamPrefix + userKey;

    public static string UserKey(IncomingMessage m) => string.IsNullOrEmpty(m.UserId) ? $"anon:{m.AnonymousId}" : m.UserId;

    public static Guid EventIdOf(string messageId) => EventIds.Derive("segment", messageId);

    public async Task<IngestOutcome> IngestAsync(string tenantId, IReadOnlyList<ParsedItem> items, DateTimeOffset? batchSentAt, string source, CancellationToken cancellationToken)
    {
        var receivedAt = clock.GetUtcNow();
        var declared = await taxonomy.GetAsync(tenantId, cancellationToken);
        var errors = new List<ItemError>();
        var valid = new List<(IncomingMessage Message, DateTimeOffset OccurredAt)>(items.Count);
        foreach (var item in items)
        {
            if (!item.IsValid)
            {
                errors.AddRange(item.Errors.Count > 0 ? item.Errors : [new ItemError(item.Index, "", "could not be read")]);
                continue;
            }

            var itemErrors = MessageValidator.Validate(item.Index, item.Message!, _options);
            var corrected = MessageValidator.OccurredAt(item.Message!, receivedAt, batchSentAt);
            var occurredAt = corrected ?? receivedAt;
            if (itemErrors.Count == 0 && (corrected is null || corrected < MessageValidator.EarliestOccurredAt))
            {
                itemErrors = [new ItemError(item.Index, "timestamp", $"is before {MessageValidator.EarliestOccurredAt:yyyy-MM-dd} or outside the calendar (after clock-skew correction)")];
            }

            if (itemErrors.Count == 0 && occurredAt > receivedAt + _options.FutureTolerance)
            {
                itemErrors = [new ItemError(item.Index, "timestamp", $"is {(occurredAt - receivedAt).TotalHours:F1} h in the future (after clock-skew correction); the tolerance is {_options.FutureTolerance.TotalHours:F1} h")];
            }

            if (itemErrors.Count == 0 && item.Message!.Type == MessageType.Track && declared.TryGetValue(item.Message.Event!, out var declaration))
            {
                itemErrors = [.. EventTaxonomy.Check(item.Index, declaration, item.Message.Properties)];
            }

            if (itemErrors.Count > 0)
            {
                errors.AddRange(itemErrors);
            }
            else
            {
                valid.Add((item.Message!, occurredAt));
            }
        }

        if (valid.Count == 0)
        {
            RecordQuality(tenantId, source, receivedAt, items.Count, errors, [], [], 0);
            return new IngestOutcome(0, 0, 0, errors);
        }

        // Resolve accounts in call order: a group call earlier in the batch applies to the tracks after it.
        var known = await KnownAccountsAsync(tenantId, valid.Where(v => v.Message.Type != MessageType.Group && v.Message.GroupId is null).Select(v => UserKey(v.Message)), cancellationToken);
        await protector.PrepareAsync(tenantId, valid.Where(v => HasPersonalData(v.Message)).Select(v => UserKey(v.Message)), cancellationToken);
        var events = new List<StreamEvent>(valid.Count);
        var unassignedIds = new HashSet<Guid>();
        var metadata = new EventMetadata(Source: source);
        foreach (var (m, occurredAt) in valid)
        {
            var userKey = UserKey(m);
            string? account = m.Type == MessageType.Group ? m.GroupId : m.GroupId ?? known.GetValueOrDefault(userKey);
            if (m.Type == MessageType.Group)
            {
                known[userKey] = m.GroupId;
            }

            var id = EventIdOf(m.MessageId!);
            var stream = account is null ? UnassignedStream(userKey) : AccountStream(account);
            if (account is null)
            {
                unassignedIds.Add(id);
            }

            events.Add(new StreamEvent(stream, new NewEvent(id, ToEvent(tenantId, m, receivedAt), metadata, occurredAt)));
        }

        var result = await appender.AppendAsync(tenantId, events, cancellationToken);
        var stored = StoredEvents(events, result.DuplicateEventIds);
        var unassigned = stored.Count(e => unassignedIds.Contains(e.EventId));

        // Records and attribution after the append: the log is the truth; these are derived, idempotent, and
        // applied for duplicates too, so a retried batch repairs what an interrupted one left undone.
        await UpdateRecordsAsync(tenantId, valid.Select(v => v.Message), cancellationToken);
        foreach (var grouped in valid.Where(v => v.Message.Type == MessageType.Group).Select(v => v.Message))
        {
            await AttributeUnassignedAsync(tenantId, UserKey(grouped), grouped.GroupId!, cancellationToken);
        }

        var late = stored.Count(e => e.OccurredAt < receivedAt - _options.LateAfter);
        var undeclared = stored.Select(e => e.Data).OfType<TrackRecorded>().Where(t => !declared.ContainsKey(t.Event)).Select(t => t.Event).ToList();
        RecordQuality(tenantId, source, receivedAt, items.Count, errors, stored, undeclared, late, result.DuplicateEventIds.Count, unassigned);
        return new IngestOutcome(result.AppendedCount, result.DuplicateEventIds.Count, unassigned, errors);
    }

    /// <summary>
    /// The events the append wrote: an id reported as a duplicate as often as it occurs was stored before; one
    /// reported once less than it occurs was written once (its first copy).
    /// </summary>
    private static List<NewEvent> StoredEvents(List<StreamEvent> events, IReadOnlyList<Guid> duplicateIds)
    {
        var reported = duplicateIds.GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        var occurrences = events.GroupBy(e => e.Event.EventId).ToDictionary(g => g.Key, g => g.Count());
        return [.. events.Select(e => e.Event).DistinctBy(e => e.EventId).Where(e => reported.GetValueOrDefault(e.EventId) < occurrences[e.EventId])];
    }

    /// <summary>Writes the data-quality counts summed so far (the host does it every second; a CLI import at its end).</summary>
    public Task FlushQualityAsync(CancellationToken cancellationToken) => counters.FlushAsync(cancellationToken);

    /// <summary>Counts for the data-quality report, per tenant, day and source (rejected items are not in the log, so only here).</summary>
    private void RecordQuality(
        string tenantId, string source, DateTimeOffset receivedAt, int received, List<ItemError> errors, List<NewEvent> stored, List<string> undeclared, int late,
        int duplicates = 0, int unassigned = 0)
    {
        var rejects = errors.GroupBy(e => e.Index).Select(g => ReasonKey(g.First())).GroupBy(r => r).ToDictionary(g => g.Key, g => (long)g.Count());
        var names = undeclared.GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        counters.Add(tenantId, DateOnly.FromDateTime(receivedAt.UtcDateTime), source,
            [received, stored.Count, duplicates, rejects.Values.Sum(), late, unassigned, undeclared.Count], rejects, names, receivedAt);
        metrics.RecordIngest(source, received, stored.Count, duplicates, errors);
    }

    // Reasons are grouped without their varying numbers ("is 3.2 h in the future" and "is 5.0 h ..." are one reason).
    private static string ReasonKey(ItemError error)
    {
        var text = string.IsNullOrEmpty(error.Field) ? error.Reason : $"{error.Field}: {error.Reason}";
        var key = new string([.. text.Select(c => char.IsAsciiDigit(c) ? '#' : c)]).Replace("#,#", "#", StringComparison.Ordinal);
        return key.Length <= 120 ? key : key[..120];
    }

    private object ToEvent(string tenantId, IncomingMessage m, DateTimeOffset receivedAt)
    {
        var (context, personal) = SplitPersonal(m);
        var sealedPersonal = personal is null ? null : protector.Protect(tenantId, UserKey(m), personal);
        return m.Type switch
        {
            MessageType.Track => new TrackRecorded(m.MessageId!, m.UserId, m.AnonymousId, m.Event!, m.Properties, context, receivedAt, m.SentAt, sealedPersonal),
            MessageType.Identify => new UserIdentified(m.MessageId!, m.UserId, m.AnonymousId, context, receivedAt, sealedPersonal),
            _ => new UserGrouped(m.MessageId!, m.UserId, m.AnonymousId, m.GroupId!, m.Traits, context, receivedAt, sealedPersonal),
        };
    }

    private static readonly string[] PersonalContextFields = ["traits", "ip"];

    private static bool HasPersonalData(IncomingMessage m) =>
        (m.Type == MessageType.Identify && m.Traits is { Count: > 0 }) || (m.Context is not null && PersonalContextFields.Any(m.Context.ContainsKey));

    /// <summary>The context without personal fields, and the personal data ({"traits":…, "context":{…}}) to encrypt, if any.</summary>
    private static (JsonObject? Context, JsonObject? Personal) SplitPersonal(IncomingMessage m)
    {
        if (!HasPersonalData(m))
        {
            return (m.Context, null);
        }

        var personal = new JsonObject();
        if (m.Type == MessageType.Identify && m.Traits is { Count: > 0 })
        {
            personal["traits"] = m.Traits.DeepClone();
        }

        JsonObject? context = null;
        if (m.Context is not null)
        {
            context = (JsonObject)m.Context.DeepClone();
            var personalContext = new JsonObject();
            foreach (var field in PersonalContextFields)
            {
                if (context.Remove(field, out var value))
                {
                    personalContext[field] = value;
                }
            }

            if (personalContext.Count > 0)
            {
                personal["context"] = personalContext;
            }
        }

        return (context, personal);
    }

    private async Task<Dictionary<string, string?>> KnownAccountsAsync(string tenantId, IEnumerable<string> userKeys, CancellationToken cancellationToken)
    {
        var keys = userKeys.Distinct(StringComparer.Ordinal).ToArray();
        var known = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (keys.Length == 0)
        {
            return known;
        }

        await using var command = dataSource.CreateCommand($"select user_key, account_id from {_s}.users where tenant_id = $1 and user_key = any($2) and account_id is not null");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(keys);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            known[reader.GetString(0)] = reader.GetString(1);
        }

        return known;
    }

    private async Task UpdateRecordsAsync(string tenantId, IEnumerable<IncomingMessage> messages, CancellationToken cancellationToken)
    {
        // Last write wins per key within the call; traits merge into what is stored (Segment's semantics).
        var users = new Dictionary<string, (string? Account, JsonObject Traits)>(StringComparer.Ordinal);
        var accounts = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var m in messages)
        {
            var key = UserKey(m);
            if (!users.TryGetValue(key, out var user))
            {
                user = (null, []);
            }

            if (m.Type == MessageType.Identify && m.Traits is not null)
            {
                Merge(user.Traits, m.Traits);
            }

            if (m.Type == MessageType.Group)
            {
                user.Account = m.GroupId;
                var traits = accounts.GetValueOrDefault(m.GroupId!) ?? [];
                if (m.Traits is not null)
                {
                    Merge(traits, m.Traits);
                }

                accounts[m.GroupId!] = traits;
            }
            else if (m.GroupId is not null && !accounts.ContainsKey(m.GroupId))
            {
                accounts[m.GroupId] = [];
            }

            users[key] = user;
        }

        // Most calls only repeat users and accounts already recorded (a track names its user and account every
        // time): skip those without news, so that the steady state costs no round trip here.
        foreach (var (key, user) in users.ToList())
        {
            if (user.Traits.Count == 0 && _recorded.TryGetValue((tenantId, key), out var account) && (user.Account is null || user.Account == account))
            {
                users.Remove(key);
            }
        }

        foreach (var (account, traits) in accounts.ToList())
        {
            if (traits.Count == 0 && _recorded.ContainsKey((tenantId, AccountKey(account))))
            {
                accounts.Remove(account);
            }
        }

        if (users.Count == 0 && accounts.Count == 0)
        {
            return;
        }

        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"""
            insert into {_s}.users as u (tenant_id, user_key, account_id, traits)
            select $1, k, a, t::jsonb from unnest($2::text[], $3::text[], $4::text[]) as x(k, a, t) order by k collate "C"
            on conflict (tenant_id, user_key) do update
               set account_id = coalesce(excluded.account_id, u.account_id), traits = u.traits || excluded.traits, updated_at = now()
               where (excluded.account_id is not null and excluded.account_id is distinct from u.account_id) or excluded.traits <> jsonb_build_object()
            """)
        {
            Parameters =
            {
                new() { Value = tenantId },
                new() { Value = users.Keys.ToArray() },
                new() { Value = users.Values.Select(u => u.Account).ToArray() },
                new() { Value = users.Values.Select(u => u.Traits.ToJsonString()).ToArray() },
            },
        });
        if (users.Count == 0)
        {
            batch.BatchCommands.RemoveAt(0);
        }

        if (accounts.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"""
                insert into {_s}.accounts as a (tenant_id, account_id, traits)
                select $1, k, t::jsonb from unnest($2::text[], $3::text[]) as x(k, t) order by k collate "C"
                on conflict (tenant_id, account_id) do update set traits = a.traits || excluded.traits, updated_at = now()
                where excluded.traits <> jsonb_build_object()
                """)
            {
                Parameters =
                {
                    new() { Value = tenantId },
                    new() { Value = accounts.Keys.ToArray() },
                    new() { Value = accounts.Values.Select(t => t.ToJsonString()).ToArray() },
                },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (_recorded.Count > 200_000)
        {
            _recorded.Clear();
        }

        foreach (var (key, user) in users)
        {
            _recorded[(tenantId, key)] = user.Account ?? _recorded.GetValueOrDefault((tenantId, key));
        }

        foreach (var account in accounts.Keys)
        {
            _recorded[(tenantId, AccountKey(account))] = account;
        }
    }

    private static string AccountKey(string account) => "\naccount\n" + account;

    private Task<int> AttributeUnassignedAsync(string tenantId, string userKey, string accountId, CancellationToken cancellationToken) =>
        Attribution.CopyAsync(store, tenantId, UnassignedStream(userKey), AccountStream(accountId), e => e.Data is TrackRecorded, cancellationToken);

    private static void Merge(JsonObject into, JsonObject from)
    {
        foreach (var (key, value) in from)
        {
            into[key] = value?.DeepClone();
        }
    }
}
