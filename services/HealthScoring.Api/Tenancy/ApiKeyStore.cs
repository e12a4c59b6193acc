using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Tenancy;

/// <summary>What a key may do: write keys only send events (Segment's convention); API keys also read.</summary>
public enum KeyKind
{
    Write,
    Api,
}

/// <summary>A key as listed (never with its secret).</summary>
public sealed record ApiKeyView(string KeyId, string TenantId, KeyKind Kind, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A caller identified by its key.</summary>
public sealed record KeyPrincipal(string TenantId, KeyKind Kind, string KeyId);

/// <summary>
/// Tenants and their keys. Keys look like <c>hs_wk_&lt;id&gt;_&lt;secret&gt;</c> (write) or <c>hs_ak_…</c> (API);
/// only a SHA-256 of the whole key is stored (the secret is 256 random bits, so a slow hash adds nothing), and it
/// is compared in constant time. Lookups are cached briefly; a revoked key stops working within
/// <see cref="CacheLifetime"/>.
/// </summary>
public sealed partial class ApiKeyStore(NpgsqlDataSource dataSource, EventStoreOptions options, TimeProvider clock)
{
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(10);

    private readonly string _s = options.Schema;
    private readonly ConcurrentDictionary<string, (KeyPrincipal? Principal, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates the tenant if it does not exist; true when it was created now.</summary>
    public async Task<bool> EnsureTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        ValidateTenantId(tenantId);
        await using var command = dataSource.CreateCommand($"insert into {_s}.tenants (tenant_id) values ($1) on conflict do nothing");
        command.Parameters.AddWithValue(tenantId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> TenantExistsAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select exists (select 1 from {_s}.tenants where tenant_id = $1)");
        command.Parameters.AddWithValue(tenantId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Creates a key; the returned secret is shown once and never stored.</summary>
    public async Task<(ApiKeyView Key, string Secret)> CreateKeyAsync(string tenantId, KeyKind kind, string name, CancellationToken cancellationToken)
    {
        ValidateTenantId(tenantId);
        var keyId = Base32(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var secret = $"hs_{(kind == KeyKind.Write ? "wk" : "ak")}_{keyId}_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
        await using var command = dataSource.CreateCommand(
            $"insert into {_s}.api_keys (key_id, tenant_id, kind, name, key_hash) values ($1, $2, $3, $4, $5) returning created_at");
        command.Parameters.AddWithValue(keyId);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(kind == KeyKind.Write ? "write" : "api");
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue(Hash(secret));
        try
        {
            var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            return (new ApiKeyView(keyId, tenantId, kind, name, new DateTimeOffset(created, TimeSpan.Zero), null), secret);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new InvalidOperationException($"Tenant '{tenantId}' does not exist.", ex);
        }
    }

    /// <summary>Revokes a key; false when no such key exists or it was revoked already.</summary>
    public async Task<bool> RevokeAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"update {_s}.api_keys set revoked_at = now() where key_id = $1 and revoked_at is null");
        command.Parameters.AddWithValue(keyId);
        var revoked = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        _cache.Clear();
        return revoked;
    }

    public async Task<IReadOnlyList<ApiKeyView>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select key_id, tenant_id, kind, name, created_at, revoked_at from {_s}.api_keys where tenant_id = $1 order by created_at");
        command.Parameters.AddWithValue(tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKeyView>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new ApiKeyView(reader.GetString(0), reader.GetString(1), reader.GetString(2) == "write" ? KeyKind.Write : KeyKind.Api, reader.GetString(3),
                await reader.GetFieldValueAsync<DateTimeOffset>(4, cancellationToken),
                await reader.IsDBNullAsync(5, cancellationToken) ? null : await reader.GetFieldValueAsync<DateTimeOffset>(5, cancellationToken)));
        }

        return keys;
    }

    /// <summary>The principal of a presented key, or null when it is unknown, malformed or revoked.</summary>
    public async ValueTask<KeyPrincipal?> AuthenticateAsync(string? presented, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(presented) || presented.Length > 200 || KeyFormat().Match(presented) is not { Success: true } match)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var hash = Convert.ToHexString(Hash(presented));
        if (_cache.TryGetValue(hash, out var cached) && cached.Expires > now)
        {
            return cached.Principal;
        }

        KeyPrincipal? principal = null;
        await using (var command = dataSource.CreateCommand($"select tenant_id, kind, key_hash from {_s}.api_keys where key_id = $1 and revoked_at is null"))
        {
            command.Parameters.AddWithValue(match.Groups["id"].Value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken)
                && CryptographicOperations.FixedTimeEquals(await reader.GetFieldValueAsync<byte[]>(2, cancellationToken), Hash(presented)))
            {
                var kind = reader.GetString(1) == "write" ? KeyKind.Write : KeyKind.Api;
                if ((kind == KeyKind.Write) == (match.Groups["kind"].Value == "wk"))
                {
                    principal = new KeyPrincipal(reader.GetString(0), kind, match.Groups["id"].Value);
                }
            }
        }

        if (_cache.Count > 10_000)
        {
            _cache.Clear();
        }

        _cache[hash] = (principal, now + CacheLifetime);
        return principal;
    }

    public static bool IsValidTenantId(string tenantId) => TenantId().IsMatch(tenantId);

    public static void ValidateTenantId(string tenantId)
    {
        if (!IsValidTenantId(tenantId))
        {
            throw new ArgumentException($"Tenant id '{tenantId}' must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit.", nameof(tenantId));
        }
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static string Base32(byte[] bytes)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var output = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                output.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            output.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }

        return output.ToString();
    }

    [GeneratedRegex("^hs_(?<kind>wk|ak)_(?<id>[a-z2-7]{13})_[A-Za-z0-9_-]{43}$")]
    private static partial Regex KeyFormat();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex TenantId();
}
