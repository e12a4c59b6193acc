namespace HealthScoring.Integrations.Stripe.Metering;

/// <summary>One account's usage on one day (UTC), to be billed through a Stripe meter.</summary>
/// <param name="AccountId">Our account id.</param>
/// <param name="StripeCustomerId">The account's Stripe customer (<c>cus_…</c>); null when it has none, and then nothing is sent.</param>
/// <param name="Day">The UTC day the usage belongs to.</param>
/// <param name="Quantity">Whole units (Stripe meters take whole numbers); several records of one account and day are added up.</param>
public sealed record UsageQuantity(string AccountId, string? StripeCustomerId, DateOnly Day, long Quantity);

/// <summary>Which tenants and accounts are billed on usage; the others get no meter events.</summary>
public interface IUsageBillingPolicy
{
    ValueTask<bool> IsTenantBilledOnUsageAsync(string tenantId, CancellationToken cancellationToken);

    ValueTask<bool> IsAccountBilledOnUsageAsync(string tenantId, string accountId, CancellationToken cancellationToken);
}

/// <summary>A fixed policy: the listed tenants, each with either all its accounts (null) or only the listed ones.</summary>
public sealed class StaticUsageBillingPolicy(IReadOnlyDictionary<string, IReadOnlySet<string>?> tenants) : IUsageBillingPolicy
{
    public ValueTask<bool> IsTenantBilledOnUsageAsync(string tenantId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(tenants.ContainsKey(tenantId));

    public ValueTask<bool> IsAccountBilledOnUsageAsync(string tenantId, string accountId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(tenants.TryGetValue(tenantId, out var accounts) && (accounts is null || accounts.Contains(accountId)));
}
