using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HealthScoring.Api.Grpc;

/// <summary>Registers the gRPC layer and its Kestrel endpoint.</summary>
public static class GrpcHostingExtensions
{
    /// <summary>Binds <see cref="GrpcOptions"/> from the <c>Grpc</c> section of <paramref name="configuration"/> (the stand-in for <c>AddGrpc()</c>).</summary>
    public static IServiceCollection AddGrpcFraming(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GrpcOptions>()
            .Bind(configuration.GetSection(GrpcOptions.SectionName))
            .Validate(o => o.MaxReceiveMessageSize > 0 && o.MaxSendMessageSize > 0, "Grpc:MaxReceiveMessageSize and Grpc:MaxSendMessageSize must be positive.")
            .ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Adds the HTTP/2-only Kestrel endpoint at <c>Grpc:Url</c> (default <c>http://127.0.0.1:5081</c>) and keeps REST
    /// where it was. Cleartext gRPC needs an endpoint that speaks only HTTP/2 (clients send the HTTP/2 preface
    /// directly); REST clients need HTTP/1.1, so the two get separate endpoints.
    /// </summary>
    /// <remarks>
    /// Any endpoint added in code makes Kestrel ignore the URL settings (<c>--urls</c>, <c>ASPNETCORE_URLS</c>,
    /// <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c>, and Kestrel's default <c>http://localhost:5000</c>). So this
    /// binds those too, read from configuration when Kestrel starts; Kestrel still logs its "Overriding address(es)"
    /// warning, which here is expected. When <c>Kestrel:Endpoints</c> is configured, Kestrel already ignores the URL
    /// settings, so they are not bound (unchanged behaviour). URLs added after <c>Build()</c> (<c>app.Urls.Add</c>,
    /// <c>app.Run(url)</c>) are ignored: configure them instead.
    /// </remarks>
    public static WebApplicationBuilder ConfigureGrpcEndpoint(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var configuration = context.Configuration;
            var grpcUrl = configuration.GetSection(GrpcOptions.SectionName).Get<GrpcOptions>()?.Url ?? new GrpcOptions().Url;
            Listen(kestrel, grpcUrl, http2Only: true);
            if (!configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
            {
                foreach (var url in RestUrls(configuration))
                {
                    Listen(kestrel, url, http2Only: false);
                }
            }
        });
        return builder;
    }

    /// <summary>The addresses Kestrel would have bound from configuration, in the host's own order of precedence.</summary>
    private static IEnumerable<string> RestUrls(IConfiguration configuration)
    {
        static string[] Split(string? value) => value?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

        var urls = Split(configuration[WebHostDefaults.ServerUrlsKey]);
        if (urls.Length > 0)
        {
            return urls;
        }

        var ports = Split(configuration[WebHostDefaults.HttpPortsKey]).Select(port => $"http://*:{port}")
            .Concat(Split(configuration[WebHostDefaults.HttpsPortsKey]).Select(port => $"https://*:{port}"))
            .ToList();
        return ports.Count > 0 ? ports : ["http://localhost:5000"];
    }

    /// <summary>Binds one URL the way Kestrel's own address binder reads it: localhost, an IP, or any other host meaning all interfaces.</summary>
    private static void Listen(KestrelServerOptions kestrel, string url, bool http2Only)
    {
        var address = BindingAddress.Parse(url);
        void Configure(ListenOptions listen)
        {
            if (http2Only)
            {
                listen.Protocols = HttpProtocols.Http2;
            }

            if (string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase))
            {
                listen.UseHttps();
            }
        }

        if (address.IsUnixPipe)
        {
            kestrel.ListenUnixSocket(address.UnixPipePath, Configure);
        }
        else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, Configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, Configure);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port, Configure);
        }
    }
}
