using System.Net;
using System.Net.Sockets;
using HealthScoring.EventStore;
using Npgsql;

namespace HealthScoring.Cli.Tests.Errors;

/// <summary>An unreachable PostgreSQL is said in one line with what to do, exit code 3, never a stack trace.</summary>
public sealed class CliErrorsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_refused_connection_is_reported_with_exit_code_3()
    {
        // A port that was free a moment ago: nothing listens there now.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        (await CliErrors.RunAsync(Settings(port), () => ConnectAsync(Settings(port)))).ShouldBe(3);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_reported_with_exit_code_3_after_the_connect_timeout()
    {
        // Accepts the TCP connection and then says nothing, as a hung or firewalled server would.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = silent.AcceptTcpClientAsync(Ct).AsTask();

        (await CliErrors.RunAsync(Settings(port), () => ConnectAsync(Settings(port)))).ShouldBe(3);
        (await accepted).Dispose();
    }

    private static CliSettings Settings(int port) => new()
    {
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=u;Password=p;Database=d;Timeout=1;Pooling=false",
        EventStore = new EventStoreOptions(),
    };

    private static async Task<int> ConnectAsync(CliSettings settings)
    {
        await using var connection = new NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync(Ct);
        return 0;
    }
}
