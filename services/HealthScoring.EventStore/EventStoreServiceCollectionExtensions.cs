using HealthScoring.EventStore.Schema;
using HealthScoring.EventStore.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HealthScoring.EventStore;

/// <summary>Registers the event store with a host.</summary>
public static class EventStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the data source for <paramref name="connectionString"/>, the options, the type registry (filled
    /// by <paramref name="registerTypes"/>), <see cref="IEventStore"/> and <see cref="SchemaMigrator"/>; with
    /// <see cref="EventStoreOptions.MigrateOnStart"/> the schema is migrated before other hosted services start.
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, string connectionString, EventStoreOptions options, Action<EventTypeRegistry> registerTypes)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registerTypes);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(_ =>
        {
            var registry = new EventTypeRegistry();
            registerTypes(registry);
            return registry;
        });
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<IEventStore, PostgresEventStore>();
        if (options.MigrateOnStart)
        {
            services.AddHostedService<MigrateOnStart>();
        }

        return services;
    }

    /// <summary>Runs <typeparamref name="THandler"/> as a hosted subscription named in <paramref name="options"/>.</summary>
    public static IServiceCollection AddEventStoreSubscription<THandler>(this IServiceCollection services, SubscriptionOptions options)
        where THandler : class, ISubscriptionHandler
    {
        services.TryAddSingleton<THandler>();
        services.AddSingleton<IHostedService>(sp => new SubscriptionRunner(
            sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredService<IEventStore>(),
            sp.GetRequiredService<EventStoreOptions>(),
            sp.GetRequiredService<THandler>(),
            options,
            sp.GetRequiredService<ILogger<SubscriptionRunner>>()));
        return services;
    }

    private sealed class MigrateOnStart(SchemaMigrator migrator) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => migrator.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
