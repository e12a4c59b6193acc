using System.Text.Json;
using System.Text.Json.Serialization;

namespace HealthScoring.Integrations.HubSpot.Http;

// The JSON HubSpot's CRM v3 API sends and takes (shared/docs/integrations-api-notes.md). Property values are strings
// both ways.

internal sealed record ResultsWire<T>(IReadOnlyList<T>? Results);

internal sealed record PropertyGroupWire(string Name, string? Label = null, int? DisplayOrder = null);

internal sealed record PropertyOptionWire(string Label, string Value, bool Hidden = false, int DisplayOrder = -1);

internal sealed record PropertyCreateWire(
    string Name,
    string Label,
    string Type,
    string FieldType,
    string GroupName,
    string? Description,
    IReadOnlyList<PropertyOptionWire>? Options,
    bool? HasUniqueValue,
    int DisplayOrder);

internal sealed record PropertyWire(string Name, string? Type, string? FieldType, string? GroupName, IReadOnlyList<PropertyOptionWire>? Options);

internal sealed record FilterWire(string PropertyName, string Operator, string? Value = null, IReadOnlyList<string>? Values = null);

internal sealed record FilterGroupWire(IReadOnlyList<FilterWire> Filters);

internal sealed record SortWire(string PropertyName, string Direction);

internal sealed record SearchRequestWire(
    IReadOnlyList<FilterGroupWire> FilterGroups,
    IReadOnlyList<SortWire> Sorts,
    IReadOnlyList<string> Properties,
    int Limit,
    string? After);

internal sealed record NextWire(string? After, string? Link);

internal sealed record PagingWire(NextWire? Next);

internal sealed record AssociationRefWire(string Id, string? Type);

internal sealed record AssociationListWire(IReadOnlyList<AssociationRefWire>? Results, PagingWire? Paging);

internal sealed record ObjectWire(string Id, Dictionary<string, string?>? Properties, Dictionary<string, AssociationListWire>? Associations);

internal sealed record SearchResponseWire(int Total, IReadOnlyList<ObjectWire>? Results, PagingWire? Paging);

internal sealed record IdWire(string Id);

internal sealed record BatchUpdateInputWire(string Id, Dictionary<string, string> Properties);

internal sealed record BatchUpdateWire(IReadOnlyList<BatchUpdateInputWire> Inputs);

internal sealed record BatchReadWire(IReadOnlyList<IdWire> Inputs, IReadOnlyList<string> Properties);

internal sealed record BatchErrorWire(string? Status, string? Category, string? Message, Dictionary<string, JsonElement>? Context);

internal sealed record BatchResponseWire(string? Status, IReadOnlyList<ObjectWire>? Results, int? NumErrors, IReadOnlyList<BatchErrorWire>? Errors);

internal sealed record AssociationTypeWire(string AssociationCategory, int AssociationTypeId);

internal sealed record AssociationCreateWire(IdWire To, IReadOnlyList<AssociationTypeWire> Types);

internal sealed record TaskCreateWire(Dictionary<string, string> Properties, IReadOnlyList<AssociationCreateWire> Associations);

internal sealed record ErrorDetailWire(string? Message, string? Code);

internal sealed record ErrorWire(
    string? Status,
    string? Message,
    string? Category,
    string? SubCategory,
    string? CorrelationId,
    string? PolicyName,
    string? ErrorType,
    IReadOnlyList<ErrorDetailWire>? Errors);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ResultsWire<PropertyGroupWire>))]
[JsonSerializable(typeof(ResultsWire<PropertyWire>))]
[JsonSerializable(typeof(PropertyGroupWire))]
[JsonSerializable(typeof(PropertyCreateWire))]
[JsonSerializable(typeof(SearchRequestWire))]
[JsonSerializable(typeof(SearchResponseWire))]
[JsonSerializable(typeof(ObjectWire))]
[JsonSerializable(typeof(BatchUpdateWire))]
[JsonSerializable(typeof(BatchReadWire))]
[JsonSerializable(typeof(BatchResponseWire))]
[JsonSerializable(typeof(TaskCreateWire))]
[JsonSerializable(typeof(ErrorWire))]
internal sealed partial class HubSpotJson : JsonSerializerContext;
