using System.Net;
using System.Text.RegularExpressions;

namespace HealthScoring.Testing;

/// <summary>Signs an HttpClient in to the dashboard the way a browser does: the form's antiforgery token, then the POST.</summary>
public static partial class DashboardSignIn
{
    /// <summary>
    /// Signs <paramref name="client"/> in; it must keep cookies (a <see cref="CookieContainer"/>) and not follow
    /// redirects. Throws when the host does not answer the sign-in with a redirect.
    /// </summary>
    public static async Task SignInAsync(HttpClient client, string tenant, string email, string password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var form = await client.GetStringAsync(new Uri("/dashboard/sign-in", UriKind.Relative), cancellationToken);
        var token = CsrfField().Match(form).Groups[1].Value;
        if (token.Length == 0)
        {
            throw new InvalidOperationException("The sign-in form carries no antiforgery token.");
        }

        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__csrf"] = WebUtility.HtmlDecode(token), ["tenant"] = tenant, ["email"] = email, ["password"] = password,
        });
        using var response = await client.PostAsync(new Uri("/dashboard/sign-in", UriKind.Relative), content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"Signing in as {email} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
