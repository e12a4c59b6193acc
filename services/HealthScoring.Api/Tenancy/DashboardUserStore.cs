using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Tenancy;

/// <summary>What a dashboard user may do: admins change things (snooze an alert); viewers (sales, finance) only read.</summary>
public enum DashboardRole
{
    Admin,
    Viewer,
}

/// <summary>A dashboard user as listed (never with the password hash).</summary>
public sealed record DashboardUser(string TenantId, string Email, DashboardRole Role, DateTimeOffset CreatedAt);

/// <summary>
/// The people who sign in to a tenant's dashboard. Passwords are stored as PBKDF2-HMAC-SHA512 hashes (OWASP's
/// 210,000 iterations, a 128-bit salt each) in a self-describing string, so the iteration count can rise later
/// without invalidating stored hashes.
/// </summary>
public sealed partial class DashboardUserStore(NpgsqlDataSource dataSource, EventStoreOptions options)
{
    public const int MinimumPasswordLength = 12;
    private const int Iterations = 210_000;
    private const string Prefix = "pbkdf2-sha512";
    private readonly string _s = options.Schema;

    // Verified against when the user does not exist, so an unknown email costs as long as a wrong password
    // (the answer's timing does not tell which emails have accounts).
    private static readonly Lazy<string> Decoy = new(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    /// <summary>Creates a user; throws <see cref="ArgumentException"/> on a bad email or short password, <see cref="InvalidOperationException"/> when the tenant is unknown or the user exists.</summary>
    public async Task<DashboardUser> CreateAsync(string tenantId, string email, DashboardRole role, string password, CancellationToken cancellationToken)
    {
        ApiKeyStore.ValidateTenantId(tenantId);
        var normalized = NormalizeEmail(email) ?? throw new ArgumentException($"'{email}' is not an email address.", nameof(email));
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length < MinimumPasswordLength)
        {
            throw new ArgumentException($"The password must have at least {MinimumPasswordLength} characters.", nameof(password));
        }

        await using var command = dataSource.CreateCommand(
            $"insert into {_s}.dashboard_users (tenant_id, email, role, password_hash) values ($1, $2, $3, $4) returning created_at");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(normalized);
        command.Parameters.AddWithValue(RoleName(role));
        command.Parameters.AddWithValue(Hash(password));
        try
        {
            var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            return new DashboardUser(tenantId, normalized, role, new DateTimeOffset(created, TimeSpan.Zero));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new InvalidOperationException($"Tenant '{tenantId}' does not exist.", ex);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new InvalidOperationException($"Tenant '{tenantId}' already has a user {normalized}.", ex);
        }
    }

    public async Task<IReadOnlyList<DashboardUser>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select tenant_id, email, role, created_at from {_s}.dashboard_users where tenant_id = $1 order by email");
        command.Parameters.AddWithValue(tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var users = new List<DashboardUser>();
        while (await reader.ReadAsync(cancellationToken))
        {
            users.Add(new DashboardUser(reader.GetString(0), reader.GetString(1), ParseRole(reader.GetString(2)), await reader.GetFieldValueAsync<DateTimeOffset>(3, cancellationToken)));
        }

        return users;
    }

    /// <summary>The user when the password is right; null for an unknown tenant or email or a wrong password (the caller cannot tell which).</summary>
    public async Task<DashboardUser?> VerifyAsync(string tenantId, string email, string password, CancellationToken cancellationToken)
    {
        var normalized = NormalizeEmail(email);
        string? stored = null;
        DashboardUser? user = null;
        if (normalized is not null && ApiKeyStore.IsValidTenantId(tenantId) && password.Length <= 1024)
        {
            await using var command = dataSource.CreateCommand($"select role, password_hash, created_at from {_s}.dashboard_users where tenant_id = $1 and email = $2");
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(normalized);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                stored = reader.GetString(1);
                user = new DashboardUser(tenantId, normalized, ParseRole(reader.GetString(0)), await reader.GetFieldValueAsync<DateTimeOffset>(2, cancellationToken));
            }
        }

        var matches = Verify(password.Length <= 1024 ? password : "", stored ?? Decoy.Value);
        return matches && stored is not null ? user : null;
    }

    /// <summary>A password of 20 random characters from an unambiguous alphabet (about 115 bits).</summary>
    public static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, 20);
    }

    public static string RoleName(DashboardRole role) => role == DashboardRole.Admin ? "admin" : "viewer";

    public static DashboardRole ParseRole(string role) => role switch
    {
        "admin" => DashboardRole.Admin,
        "viewer" => DashboardRole.Viewer,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "A role is admin or viewer."),
    };

    /// <summary>The email trimmed and lower-cased, or null when it is not an address.</summary>
    public static string? NormalizeEmail(string? email)
    {
        var trimmed = email?.Trim().ToLowerInvariant();
        return trimmed is { Length: > 0 and <= 254 } && EmailShape().IsMatch(trimmed) ? trimmed : null;
    }

    internal static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA512, 32);
        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    internal static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Prefix || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations))
        {
            return false;
        }

        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, Convert.FromBase64String(parts[2]), iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailShape();
}
