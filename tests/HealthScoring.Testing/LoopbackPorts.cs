using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace HealthScoring.Testing;

/// <summary>Free TCP ports on 127.0.0.1, for servers a test or benchmark starts on a real socket.</summary>
/// <remarks>
/// A port the system hands out for port 0 comes from the ephemeral range, which every outgoing connection (to
/// PostgreSQL, RabbitMQ, the servers under test) also draws its local port from: between handing it out and a
/// server binding it, one of those could take it. So ports are picked at random below that range, where no
/// outgoing connection goes, and checked free by binding them once.
/// </remarks>
public static class LoopbackPorts
{
    private const int Lowest = 15_000;

    private static readonly int Below = EphemeralLow();

    /// <summary>A port that was free just now, outside the range outgoing connections use.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < 200 && Below - Lowest > 1_000; attempt++)
        {
            var port = Random.Shared.Next(Lowest, Below);
            if (IsFree(port))
            {
                return port;
            }
        }

        // No room below the ephemeral range (or no free port there): the system's pick.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of Linux's ephemeral range (32768 by default; 0 when unknown, so nothing is picked below it).</summary>
    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
