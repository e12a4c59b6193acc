namespace HealthScoring.EventStore.Tests;

public sealed record UsageRecorded(string Name, int Count);

public sealed record PlanChanged(string Plan, int Seats);

public sealed record NotRegistered(string Value);

public sealed record Measured(double Value);

public static class TestEvents
{
    public static EventTypeRegistry Registry() => new EventTypeRegistry()
        .Register<UsageRecorded>()
        .Register<PlanChanged>()
        .Register<Measured>();

    public static NewEvent Usage(string name = "login", int count = 1, Guid? id = null, DateTimeOffset? occurredAt = null) =>
        new(id ?? Guid.NewGuid(), new UsageRecorded(name, count), new EventMetadata(Source: "test"), occurredAt);
}
