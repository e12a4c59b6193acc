using System.Net.Sockets;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Api.Tests.Resilience;

/// <summary>Which failures mean "PostgreSQL is away, retry later" (503 / UNAVAILABLE) and which stay errors.</summary>
public sealed class TransientStoreFailureTests
{
    [Theory]
    [InlineData("57P01")] // admin_shutdown: a fast shutdown ends the session
    [InlineData("57P02")] // crash_shutdown
    [InlineData("57P03")] // cannot_connect_now: starting up, shutting down, in recovery
    [InlineData("53300")] // too_many_connections
    [InlineData("08006")] // connection_failure
    [InlineData("08001")] // sqlclient_unable_to_establish_sqlconnection
    public void Server_errors_saying_the_database_cannot_serve_are_transient(string sqlState) =>
        TransientStoreFailure.Is(Postgres(sqlState)).ShouldBeTrue();

    [Theory]
    [InlineData("23505")] // unique_violation
    [InlineData("40P01")] // deadlock_detected: retryable by the caller, but not an outage
    [InlineData("42P01")] // undefined_table
    [InlineData("57014")] // query_canceled
    public void Other_server_errors_are_not(string sqlState) =>
        TransientStoreFailure.Is(Postgres(sqlState)).ShouldBeFalse();

    [Fact]
    public void Broken_or_refused_connections_are_transient_however_deeply_wrapped()
    {
        TransientStoreFailure.Is(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))).ShouldBeTrue();
        TransientStoreFailure.Is(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())).ShouldBeTrue();
        TransientStoreFailure.Is(new InvalidOperationException("wrapped", new NpgsqlException("outer", Postgres("57P01")))).ShouldBeTrue();
        TransientStoreFailure.Is(new AggregateException(new ArgumentException("other"), new SocketException())).ShouldBeTrue();
    }

    [Fact]
    public void Errors_that_are_not_about_the_connection_are_not()
    {
        TransientStoreFailure.Is(new NpgsqlException("A command is already in progress")).ShouldBeFalse();
        TransientStoreFailure.Is(new InvalidOperationException("bug")).ShouldBeFalse();
        TransientStoreFailure.Is(new NpgsqlException("outer", Postgres("23505"))).ShouldBeFalse();
        TransientStoreFailure.Is(null).ShouldBeFalse();
    }

    [Fact]
    public void An_outage_is_reported_once_when_it_begins_and_once_when_it_ends()
    {
        var outage = new OutageLog();

        outage.Failed().ShouldBeTrue();
        outage.Failed().ShouldBeFalse();
        outage.IsDown.ShouldBeTrue();
        outage.Succeeded().ShouldNotBeNull();
        outage.Succeeded().ShouldBeNull();
        outage.IsDown.ShouldBeFalse();
        outage.Failed().ShouldBeTrue();
    }

    private static PostgresException Postgres(string sqlState) => new("message", "FATAL", "FATAL", sqlState);
}
