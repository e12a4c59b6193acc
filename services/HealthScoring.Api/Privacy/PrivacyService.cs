using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Privacy;

/// <summary>What an erasure did.</summary>
public sealed record ErasureOutcome(bool UserKnown, int KeysShredded);

/// <summary>
/// Erases one user's personal data (GDPR art. 17, CCPA deletion): shreds the user's data keys, so what the log
/// holds of them is unreadable, and clears the readable copies in the read models. Usage events and aggregates
/// stay, still attributed to the (pseudonymous) user id and the account.
/// </summary>
public sealed class PrivacyService(NpgsqlDataSource dataSource, EventStoreOptions options, PersonalDataProtector protector)
{
    private readonly string _s = options.Schema;

    public async Task<ErasureOutcome> EraseUserAsync(string tenantId, string userKey, CancellationToken cancellationToken)
    {
        var shredded = await protector.ShredAsync(tenantId, userKey, cancellationToken);
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"update {_s}.users set traits = '{{}}', updated_at = now() where tenant_id = $1 and user_key = $2")
        {
            Parameters = { new() { Value = tenantId }, new() { Value = userKey } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into {_s}.erasures (tenant_id, user_key) values ($1, $2)")
        {
            Parameters = { new() { Value = tenantId }, new() { Value = userKey } },
        });
        await batch.ExecuteNonQueryAsync(cancellationToken);
        var known = batch.BatchCommands[0].RecordsAffected > 0;
        return new ErasureOutcome(known || shredded > 0, shredded);
    }
}
