using System.Globalization;
using System.Net;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using HealthScoring.Integrations.HubSpot.Http;
using Microsoft.Extensions.Logging;

namespace HealthScoring.Integrations.HubSpot;

public sealed partial class HubSpotClient
{
    private const string TasksPath = "crm/v3/objects/tasks";
    private const string TaskBatchReadPath = "crm/v3/objects/tasks/batch/read";

    /// <summary>HUBSPOT_DEFINED association type id for task → company.</summary>
    internal const int TaskToCompanyAssociation = 192;

    private const string DedupeKeyPrefix = "hsalert-";

    /// <summary>
    /// Creates a task for the owner of the account's company (from the company's
    /// <see cref="HubSpotOptions.CompanyOwnerProperty"/>), with the drivers in the body, associated with the company.
    /// The same <see cref="TaskRequest.AlertId"/> never yields a second task:
    /// <list type="number">
    /// <item>a dedupe key (<c>hsalert-</c> + 32 hex digits of SHA-256 of the alert id) is written into the task body;</item>
    /// <item>before creating, the company is read with its associated tasks (a strongly consistent read, unlike
    /// search, which lags behind writes) and those tasks' bodies are checked for the key;</item>
    /// <item>the create itself is never re-sent blindly after a timeout or 5xx (HubSpot may have run it): the
    /// check is repeated first; within one process, calls for one key are serialized and a created task is
    /// remembered.</item>
    /// </list>
    /// </summary>
    public async Task<TaskResult> CreateTaskAsync(TaskRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.AlertId);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.AccountId);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Subject);
        EnsureEnabled();

        var key = DedupeKey(request.AlertId);
        if (_state.TryGetTask(key, out var known))
        {
            return known with { Outcome = TaskOutcome.AlreadyExists };
        }

        using var _ = await _state.LockAsync(key, cancellationToken).ConfigureAwait(false);
        if (_state.TryGetTask(key, out known))
        {
            return known with { Outcome = TaskOutcome.AlreadyExists };
        }

        var companies = await FindCompanyIdsAsync([request.AccountId], cancellationToken).ConfigureAwait(false);
        if (!companies.TryGetValue(request.AccountId, out var companyId))
        {
            _logger.LogWarning(
                "No HubSpot company has {Property} = {AccountId}; no task for alert {AlertId}.",
                _options.CompanyIdProperty, request.AccountId, request.AlertId);
            return new TaskResult(TaskOutcome.CompanyNotFound, key, null, null, null);
        }

        var attempt = await _state.TaskCreate.ExecuteAsync(
            async token => await CheckThenCreateAsync(request, key, companyId, token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        if (attempt.AmbiguousFailure is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        var result = attempt.Result!;
        _state.RememberTask(key, result);
        return result;
    }

    /// <summary>The key written into a task's body for <paramref name="alertId"/>: same id, same key.</summary>
    public static string DedupeKey(string alertId)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        return DedupeKeyPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(alertId)))[..32];
    }

    private async Task<TaskAttempt> CheckThenCreateAsync(TaskRequest request, string key, string companyId, CancellationToken cancellationToken)
    {
        var (ownerId, taskIds) = await ReadCompanyForTaskAsync(companyId, cancellationToken).ConfigureAwait(false);
        if (await FindTaskWithKeyAsync(taskIds, key, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            _logger.LogInformation("HubSpot task {TaskId} already exists for alert {AlertId}; not creating another.", existing, request.AlertId);
            return new TaskAttempt(key, new TaskResult(TaskOutcome.AlreadyExists, key, existing, companyId, ownerId), null);
        }

        if (ownerId is null)
        {
            _logger.LogWarning("HubSpot company {CompanyId} has no owner; the task for alert {AlertId} is unassigned.", companyId, request.AlertId);
        }

        var due = request.DueAt ?? _time.GetUtcNow() + _options.TaskDueAfter;
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["hs_timestamp"] = due.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ["hs_task_subject"] = request.Subject.Trim(),
            ["hs_task_body"] = TaskBody(request, key),
            ["hs_task_status"] = "NOT_STARTED",
            ["hs_task_priority"] = request.Priority switch
            {
                HubSpotTaskPriority.Low => "LOW",
                HubSpotTaskPriority.Medium => "MEDIUM",
                _ => "HIGH",
            },
            ["hs_task_type"] = "TODO",
        };
        if (ownerId is not null)
        {
            properties["hubspot_owner_id"] = ownerId;
        }

        var create = new TaskCreateWire(
            properties,
            [new AssociationCreateWire(new IdWire(companyId), [new AssociationTypeWire("HUBSPOT_DEFINED", TaskToCompanyAssociation)])]);
        try
        {
            var (_, created) = await CallAsync(
                HttpMethod.Post, TasksPath, Serialize(create, HubSpotJson.Default.TaskCreateWire), HubSpotJson.Default.ObjectWire,
                cancellationToken, retryAmbiguousFailures: false).ConfigureAwait(false);
            var taskId = created?.Id ?? throw new HubSpotApiException(HttpStatusCode.Created, "POST", "/" + TasksPath, "the answer has no task id");
            _logger.LogInformation(
                "Created HubSpot task {TaskId} for alert {AlertId} on company {CompanyId} (owner {OwnerId}).",
                taskId, request.AlertId, companyId, ownerId ?? "none");
            return new TaskAttempt(key, new TaskResult(TaskOutcome.Created, key, taskId, companyId, ownerId), null);
        }
        catch (HubSpotApiException ex) when (ex.StatusCode is null || (int)ex.StatusCode >= 500)
        {
            // HubSpot may have created the task before the answer was lost: check again before any retry.
            return new TaskAttempt(key, null, ex);
        }
    }

    /// <summary>The company's owner and associated task ids, read directly (not through search).</summary>
    private async Task<(string? OwnerId, IReadOnlyList<string> TaskIds)> ReadCompanyForTaskAsync(string companyId, CancellationToken cancellationToken)
    {
        var uri = $"crm/v3/objects/companies/{Uri.EscapeDataString(companyId)}?properties={Uri.EscapeDataString(_options.CompanyOwnerProperty)}&associations=tasks";
        var (_, company) = await CallAsync(HttpMethod.Get, uri, null, HubSpotJson.Default.ObjectWire, cancellationToken).ConfigureAwait(false);
        var owner = company?.Properties?.GetValueOrDefault(_options.CompanyOwnerProperty);
        var tasks = company?.Associations?.GetValueOrDefault("tasks");
        if (tasks?.Paging?.Next is not null)
        {
            _logger.LogWarning(
                "HubSpot company {CompanyId} has more associated tasks than one page; only the first page is checked for duplicates.", companyId);
        }

        return (string.IsNullOrWhiteSpace(owner) ? null : owner, [.. (tasks?.Results ?? []).Select(t => t.Id).Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>Reads the tasks' bodies, newest first, 100 per call, until one carries <paramref name="key"/>.</summary>
    private async Task<string?> FindTaskWithKeyAsync(IReadOnlyList<string> taskIds, string key, CancellationToken cancellationToken)
    {
        var newestFirst = taskIds
            .OrderByDescending(id => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : long.MinValue)
            .ThenByDescending(id => id, StringComparer.Ordinal);
        foreach (var chunk in newestFirst.Chunk(SearchChunk))
        {
            var read = new BatchReadWire([.. chunk.Select(id => new IdWire(id))], ["hs_task_body"]);
            var (_, response) = await CallAsync(
                HttpMethod.Post, TaskBatchReadPath, Serialize(read, HubSpotJson.Default.BatchReadWire), HubSpotJson.Default.BatchResponseWire,
                cancellationToken).ConfigureAwait(false);
            var match = response?.Results?.FirstOrDefault(t =>
                t.Properties?.GetValueOrDefault("hs_task_body")?.Contains(key, StringComparison.Ordinal) == true);
            if (match is not null)
            {
                return match.Id;
            }
        }

        return null;
    }

    /// <summary>The task body (HubSpot renders it as HTML): summary, drivers, and the alert's dedupe key.</summary>
    internal static string TaskBody(TaskRequest request, string key)
    {
        var body = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(request.Summary))
        {
            body.Append("<p>").Append(WebUtility.HtmlEncode(request.Summary.Trim())).Append("</p>");
        }

        var drivers = (request.Drivers ?? []).Where(d => !string.IsNullOrWhiteSpace(d)).ToList();
        if (drivers.Count > 0)
        {
            body.Append("<p><strong>Top drivers</strong></p><ul>");
            foreach (var driver in drivers)
            {
                body.Append("<li>").Append(WebUtility.HtmlEncode(driver.Trim())).Append("</li>");
            }

            body.Append("</ul>");
        }

        body.Append("<p>HealthScoring alert ").Append(WebUtility.HtmlEncode(request.AlertId)).Append(" · ").Append(key).Append("</p>");
        return body.ToString();
    }
}
