using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe.Consumers;
using Npgsql;

namespace HealthScoring.Api.Billing;

/// <summary>
/// Account → Stripe customer, from the links billing ingestion records (<c>stripe_customers</c>, written when a
/// customer's metadata names the account). Should an account have been linked to several customers (a customer
/// re-created in Stripe), the most recently linked one is used.
/// </summary>
public sealed class StripeCustomerResolver(NpgsqlDataSource dataSource, EventStoreOptions options) : IStripeCustomerResolver
{
    private readonly string _s = options.Schema;

    public async Task<string?> CustomerOfAsync(string tenantId, string accountId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"select customer_id from {_s}.stripe_customers where tenant_id = $1 and account_id = $2 order by updated_at desc, customer_id limit 1");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(accountId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }
}
