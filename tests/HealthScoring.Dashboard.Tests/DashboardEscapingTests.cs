using System.Net.Http.Json;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace HealthScoring.Dashboard.Tests;

/// <summary>
/// Event data is text, never markup: accounts, traits, event names, taxonomy features and score drivers carrying
/// script and markup are ingested through the API (into tenant globex, so the other dashboard tests keep their
/// data), and each page shows them as text, with no element they describe in the DOM, nothing run and no dialog.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardEscapingTests(DashboardFixture fixture)
{
    /// <summary>Each would set window.__xss (or open a dialog) if it ever became markup.</summary>
    private static readonly string[] Payloads =
    [
        "<script>window.__xss=1</script>",
        "<img src=x onerror=\"window.__xss=2;alert(2)\">",
        "\"><svg onload=\"window.__xss=3\"></svg>",
        "<iframe srcdoc=\"<script>parent.__xss=4</script>\"></iframe>",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Script_and_markup_in_event_data_render_as_text_and_run_nothing()
    {
        var accounts = await IngestHostileDataAsync();
        var page = await fixture.SignedInPageAsync("gina@globex.test", DashboardFixture.OtherTenant);
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) =>
        {
            dialogs.Add(dialog.Message);

            // A dialog left open would stall the page; the test fails on the recorded message anyway.
            _ = dialog.DismissAsync();
        };

        await LoadAsync(page, "/dashboard");
        var table = await page.Locator("#accounts").InnerTextAsync();
        foreach (var payload in Payloads)
        {
            table.ShouldContain(payload, Case.Sensitive, "the portfolio shows the name and owner as text");
        }

        await ShouldBeInertAsync(page, dialogs, "portfolio");
        foreach (var account in accounts)
        {
            await LoadAsync(page, $"/dashboard/accounts/{account}");
            (await page.Locator("#account-name").InnerTextAsync()).ShouldBe(Payloads[accounts.IndexOf(account)]);
            (await page.Locator("#drivers").InnerTextAsync()).ShouldContain(Payloads[accounts.IndexOf(account)]);
            await ShouldBeInertAsync(page, dialogs, account);
        }

        await LoadAsync(page, "/dashboard/analytics");
        var adoption = await page.Locator("#adoption").InnerTextAsync();
        foreach (var payload in Payloads)
        {
            adoption.ShouldContain(payload, Case.Sensitive, "declared features are listed as text");
        }

        await ShouldBeInertAsync(page, dialogs, "analytics");
        await page.Context.CloseAsync();
    }

    private static async Task LoadAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await page.WaitForSelectorAsync("body[data-loaded=true]");
        (await page.TextContentAsync("#error") ?? "").ShouldBeEmpty();
    }

    private static async Task ShouldBeInertAsync(IPage page, List<string> dialogs, string what)
    {
        (await page.EvaluateAsync<bool>("() => window.__xss === undefined")).ShouldBeTrue($"a payload ran on the {what} page");
        dialogs.ShouldBeEmpty($"a payload opened a dialog on the {what} page");

        // Nothing the payloads describe exists as an element: no inline script, image, iframe or event-handler attribute.
        (await page.Locator("script:not([src])").CountAsync()).ShouldBe(0, what);
        (await page.Locator("img, iframe, [onerror], [onload], [srcdoc]").CountAsync()).ShouldBe(0, what);
    }

    /// <summary>Four globex accounts named after the payloads, with them as owner, segment, event names, features and drivers.</summary>
    private async Task<List<string>> IngestHostileDataAsync()
    {
        var key = (await fixture.Services.GetRequiredService<ApiKeyStore>().CreateKeyAsync(DashboardFixture.OtherTenant, KeyKind.Api, "escaping test", Ct)).Secret;
        using var api = fixture.Client(key);
        var taxonomy = Payloads.Select(p => new { @event = p, category = "engagement", feature = p });
        (await api.PutAsJsonAsync("/v1/taxonomy", taxonomy, Ct)).EnsureSuccessStatusCode();

        var accounts = Payloads.Select((_, i) => $"xss-{i}").ToList();
        var batch = Payloads.SelectMany((p, i) => new object[]
        {
            new { type = "group", messageId = $"xss-g-{i}", userId = $"xss-u-{i}", groupId = accounts[i], traits = new { name = p, owner = p, segment = p }, timestamp = "2026-10-30T10:00:00Z" },
            new { type = "track", messageId = $"xss-t-{i}", userId = $"xss-u-{i}", @event = p, context = new { groupId = accounts[i] }, properties = new { note = p }, timestamp = "2026-10-30T10:01:00Z" },
        });
        var sent = await api.PostAsJsonAsync("/v1/batch", new { batch }, Ct);
        sent.EnsureSuccessStatusCode();

        var scores = Payloads.Select((p, i) => new AccountScore(accounts[i], 30, "at-risk", 0.7, 0.2, null,
            [new ScoreDriver(p, 1, 0.5, p)], [new ScoreDriver(p, 2, 0.4, p)], new Dictionary<string, double> { ["recency"] = 0.1 })).ToList();
        await fixture.Services.GetRequiredService<HealthScorer>().SaveLatestAsync(DashboardFixture.OtherTenant, DashboardFixture.End, scores, Ct);
        return accounts;
    }
}
