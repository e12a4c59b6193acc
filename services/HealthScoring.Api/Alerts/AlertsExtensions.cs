using HealthScoring.EventStore;
using HealthScoring.EventStore.Subscriptions;
using MassTransit;

namespace HealthScoring.Api.Alerts;

public static class AlertsExtensions
{
    public static IHostApplicationBuilder AddAlerts(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<AlertOptions>(builder.Configuration.GetSection(AlertOptions.SectionName));
        builder.Services.AddSingleton(AlertsMigrations.Set);
        builder.Services.AddSingleton<AlertService>();
        return builder;
    }

    /// <summary>
    /// The bus on RabbitMQ and the publisher subscription (the web host). <paramref name="configureConsumers"/>
    /// adds the integrations' consumers; their definitions carry retry and redelivery.
    /// </summary>
    public static IHostApplicationBuilder AddAlertPublishing(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? configureConsumers = null)
    {
        var options = builder.Configuration.GetSection(RabbitMqOptions.SectionName).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (!options.Enabled)
        {
            return builder;
        }

        builder.Services.AddMassTransit(bus =>
        {
            configureConsumers?.Invoke(bus);
            // Its health check (tagged "ready") is one of /health/ready's.
            bus.ConfigureHealthCheckOptions(health => health.Name = "rabbitmq");
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(options.Host, options.Port, options.VirtualHost, host =>
                {
                    host.Username(options.Username);
                    host.Password(options.Password);
                });
                rabbit.ConfigureEndpoints(context);
            });
        });
        builder.Services.AddEventStoreSubscription<AlertPublisher>(new SubscriptionOptions { Name = AlertPublisher.SubscriptionName, BatchSize = 500, EventTypes = AlertPublisher.PublishedTypes });
        return builder;
    }
}
