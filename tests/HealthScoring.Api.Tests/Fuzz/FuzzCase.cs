namespace HealthScoring.Api.Tests.Fuzz;

/// <summary>Where a payload goes in: each door is counted on its own.</summary>
internal enum FuzzDoor
{
    HttpIngest,
    GrpcIngest,
    StripeWebhook,
    RestQuery,
    GrpcQuery,
    Dashboard,
}

/// <summary>
/// One generated request. <paramref name="MustReject"/> marks payloads no correct server may accept (broken JSON,
/// bad keys, oversized bodies, broken frames...): they must get an error and leave the stored data as it was.
/// </summary>
internal sealed record FuzzCase(
    int Number, FuzzDoor Door, string Mutation, string Method, string Path, byte[]? Body, string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers, bool MustReject, bool SendLength = true)
{
    public bool IsGrpc => Door is FuzzDoor.GrpcIngest or FuzzDoor.GrpcQuery;

    /// <summary>What the failure report shows: never the whole body (it may be megabytes).</summary>
    public override string ToString() => $"#{Number} {Door}/{Mutation}: {Method} {(Path.Length > 160 ? Path[..160] + "…" : Path)} ({Body?.Length ?? 0} bytes)";
}

/// <summary>What the generator knows about the host under test: its keys, a Stripe secret, accounts that exist.</summary>
internal sealed record FuzzTargets(
    string WriteKey, string ApiKey, string RevokedKey, string OtherTenantKey, string ScratchTenantKey, string WebhookTenant, string WebhookSecret,
    IReadOnlyList<string> AccountIds);
