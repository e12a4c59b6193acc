using HealthScoring.Api;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Health;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Privacy;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddProblemDetails();
builder.AddHealthScoringCore();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.MapHealth();
app.MapSegmentIngestion();
app.MapStripeWebhooks();
app.MapPrivacy();
await app.RunAsync();

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
