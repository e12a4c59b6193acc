using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Privacy;

/// <summary>
/// Crypto-shredding: a user's personal data (identify traits, <c>context.traits</c>, <c>context.ip</c>) is stored
/// in the log only encrypted (AES-256-GCM) under a key of that user's own. Erasing the user deletes the key: the
/// log is never rewritten, yet what it holds of them can no longer be read. Usage and aggregates stay.
/// </summary>
public sealed class PersonalDataProtector(NpgsqlDataSource dataSource, EventStoreOptions options)
{
    private const string Prefix = "hsenc:v1:";
    private readonly string _s = options.Schema;
    // Current keys for writing are cached briefly; keys for reading never are, so an erasure done by another
    // process takes effect for reads at once (and for writes within the cache lifetime: data written under a
    // shredded key is unreadable too).
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string Tenant, string User), (Guid Id, byte[] Key, DateTime Expires)> _current = new();

    /// <summary>Makes sure each user has a current key, loading or creating them in one round trip.</summary>
    public async Task PrepareAsync(string tenantId, IEnumerable<string> userKeys, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        var missing = userKeys.Distinct(StringComparer.Ordinal).Where(u => !_current.TryGetValue((tenantId, u), out var c) || c.Expires < now).ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        var fresh = missing.Select(_ => (Id: Guid.CreateVersion7(), Key: RandomNumberGenerator.GetBytes(32))).ToArray();
        // Insert a key for users who have none, then read each user's newest key (ours or a concurrent writer's).
        await using var command = dataSource.CreateCommand(
            $"""
            with wanted as (select * from unnest($2::text[], $3::uuid[], $4::bytea[]) as w(user_key, key_id, key)),
            inserted as (
                insert into {_s}.user_keys (key_id, tenant_id, user_key, key)
                select w.key_id, $1, w.user_key, w.key from wanted w
                where not exists (select 1 from {_s}.user_keys k where k.tenant_id = $1 and k.user_key = w.user_key)
                returning user_key, key_id, key, created_at)
            select distinct on (user_key) user_key, key_id, key from (
                select user_key, key_id, key, created_at from inserted
                union all
                select user_key, key_id, key, created_at from {_s}.user_keys where tenant_id = $1 and user_key = any($2)) k
            order by user_key, created_at desc
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(missing);
        command.Parameters.AddWithValue(fresh.Select(f => f.Id).ToArray());
        command.Parameters.AddWithValue(fresh.Select(f => f.Key).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            _current[(tenantId, reader.GetString(0))] = (reader.GetGuid(1), await reader.GetFieldValueAsync<byte[]>(2, cancellationToken), now + CacheLifetime);
        }
    }

    /// <summary>Encrypts <paramref name="personal"/> under the user's current key (call <see cref="PrepareAsync"/> first).</summary>
    public string Protect(string tenantId, string userKey, JsonObject personal)
    {
        if (!_current.TryGetValue((tenantId, userKey), out var current))
        {
            throw new InvalidOperationException($"No data key prepared for a user of tenant '{tenantId}'.");
        }

        var plain = Encoding.UTF8.GetBytes(personal.ToJsonString());
        var nonce = RandomNumberGenerator.GetBytes(12);
        var sealedBytes = new byte[12 + 16 + plain.Length];
        using (var aes = new AesGcm(current.Key, 16))
        {
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), Encoding.UTF8.GetBytes($"{tenantId}\n{userKey}"));
        }

        nonce.CopyTo(sealedBytes, 0);
        return $"{Prefix}{current.Id:N}:{Convert.ToBase64String(sealedBytes)}";
    }

    /// <summary>Decrypts what <see cref="Protect"/> made; null when the user was erased (the key is gone).</summary>
    public async Task<JsonObject?> UnprotectAsync(string tenantId, string userKey, string? protectedData, CancellationToken cancellationToken)
    {
        if (protectedData is null || !protectedData.StartsWith(Prefix, StringComparison.Ordinal) || protectedData.Length < Prefix.Length + 33)
        {
            return null;
        }

        var id = Guid.ParseExact(protectedData.AsSpan(Prefix.Length, 32), "N");
        var key = await KeyAsync(tenantId, id, cancellationToken);
        if (key is null)
        {
            return null;
        }

        var sealedBytes = Convert.FromBase64String(protectedData[(Prefix.Length + 33)..]);
        var plain = new byte[sealedBytes.Length - 28];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plain, Encoding.UTF8.GetBytes($"{tenantId}\n{userKey}"));
        }

        return JsonNode.Parse(plain) as JsonObject;
    }

    /// <summary>Deletes every key of the user (and forgets cached ones); returns how many were deleted.</summary>
    public async Task<int> ShredAsync(string tenantId, string userKey, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"delete from {_s}.user_keys where tenant_id = $1 and user_key = $2 returning key_id");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(userKey);
        var deleted = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                deleted++;
            }
        }

        _current.TryRemove((tenantId, userKey), out _);
        return deleted;
    }

    private async Task<byte[]?> KeyAsync(string tenantId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select key from {_s}.user_keys where key_id = $1 and tenant_id = $2");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(tenantId);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }
}
