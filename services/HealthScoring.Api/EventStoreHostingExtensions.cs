using HealthScoring.EventStore;

namespace HealthScoring.Api;

/// <summary>Wires the event store from configuration: ConnectionStrings:EventStore and the EventStore section.</summary>
public static class EventStoreHostingExtensions
{
    public static IHostApplicationBuilder AddHealthScoringEventStore(this IHostApplicationBuilder builder, Action<EventTypeRegistry> registerTypes)
    {
        var connectionString = builder.Configuration.GetConnectionString("EventStore")
            ?? throw new InvalidOperationException("ConnectionStrings:EventStore is not configured (env: ConnectionStrings__EventStore).");
        var options = builder.Configuration.GetSection(EventStoreOptions.SectionName).Get<EventStoreOptions>() ?? new EventStoreOptions();
        builder.Services.AddEventStore(connectionString, options, registerTypes);
        return builder;
    }
}
