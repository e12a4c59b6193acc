using HealthScoring.Api.Ingestion;

namespace HealthScoring.Cli.Generate;

/// <summary>The product's event names, as the service's projections recognise them.</summary>
internal static class Events
{
    public const string SessionStarted = "Session Started";
    public const string OnboardingStepCompleted = "Onboarding Step Completed";
    public const string ProjectCreated = "Project Created";
    public const string TaskCompleted = "Task Completed";
    public const string ReportViewed = "Report Viewed";
    public const string DashboardShared = "Dashboard Shared";
    public const string IntegrationConnected = "Integration Connected";
    public const string ExportDownloaded = "Export Downloaded";
    public const string CommentAdded = "Comment Added";
    public const string TeammateInvited = "Teammate Invited";
    public const string AutomationRun = "Automation Run";
    public const string ApiCalled = "API Called";
    public const string ErrorOccurred = "Error Occurred";
    public const string SupportTicketOpened = "Support Ticket Opened";
    public const string SeatLimitReached = "Seat Limit Reached";
    public const string PricingPageViewed = "Pricing Page Viewed";
    public const string UpgradeClicked = "Upgrade Clicked";
    public const string NpsSubmitted = "NPS Submitted";

    private static PropertyRule Text(bool required = false) => new(PropertyType.String, required);

    private static PropertyRule Number(bool required = false) => new(PropertyType.Number, required);

    /// <summary>Every event the generator writes, with its category, feature and properties: the content of taxonomy.json.</summary>
    public static IReadOnlyList<DeclaredEvent> Taxonomy { get; } =
    [
        new(SessionStarted, EventCategory.Engagement, null, new Dictionary<string, PropertyRule> { ["platform"] = Text() }),
        new(OnboardingStepCompleted, EventCategory.Activation, null, new Dictionary<string, PropertyRule> { ["step"] = Number(required: true), ["name"] = Text() }),
        new(ProjectCreated, EventCategory.Engagement, "projects", new Dictionary<string, PropertyRule> { ["template"] = Text() }),
        new(TaskCompleted, EventCategory.Engagement, "tasks", new Dictionary<string, PropertyRule>()),
        new(ReportViewed, EventCategory.Engagement, "reporting", new Dictionary<string, PropertyRule> { ["report"] = Text() }),
        new(DashboardShared, EventCategory.Engagement, "reporting", new Dictionary<string, PropertyRule> { ["channel"] = Text() }),
        new(IntegrationConnected, EventCategory.Activation, "integrations", new Dictionary<string, PropertyRule> { ["integration"] = Text(required: true) }),
        new(ExportDownloaded, EventCategory.Engagement, "exports", new Dictionary<string, PropertyRule> { ["format"] = Text() }),
        new(CommentAdded, EventCategory.Engagement, "collaboration", new Dictionary<string, PropertyRule>()),
        new(TeammateInvited, EventCategory.Engagement, "collaboration", new Dictionary<string, PropertyRule> { ["role"] = Text() }),
        new(AutomationRun, EventCategory.Engagement, "automation", new Dictionary<string, PropertyRule> { ["trigger"] = Text() }),
        new(ApiCalled, EventCategory.Engagement, "api", new Dictionary<string, PropertyRule> { ["count"] = Number(required: true) }),
        new(ErrorOccurred, EventCategory.Retention, null, new Dictionary<string, PropertyRule> { ["code"] = Text(required: true) }),
        new(SupportTicketOpened, EventCategory.Retention, null, new Dictionary<string, PropertyRule> { ["priority"] = Text(required: true), ["topic"] = Text(required: true) }),
        new(SeatLimitReached, EventCategory.Monetization, null, new Dictionary<string, PropertyRule> { ["seats"] = Number() }),
        new(PricingPageViewed, EventCategory.Monetization, null, new Dictionary<string, PropertyRule> { ["source"] = Text() }),
        new(UpgradeClicked, EventCategory.Monetization, null, new Dictionary<string, PropertyRule> { ["plan"] = Text() }),
        new(NpsSubmitted, EventCategory.Retention, null, new Dictionary<string, PropertyRule> { ["score"] = Number(required: true) }),
    ];
}

/// <summary>The product features whose events a session draws from (the order is the index used in plans).</summary>
internal enum Feature
{
    Tasks,
    Projects,
    Reporting,
    Collaboration,
    Exports,
    Automation,
    Integrations,
}

/// <summary>A price plan: per seat and month, in cents.</summary>
internal sealed record Tier(int Rank, string Name, long UnitAmount)
{
    public static readonly Tier Starter = new(0, "starter", 1_500);
    public static readonly Tier Growth = new(1, "growth", 2_900);
    public static readonly Tier Business = new(2, "business", 4_900);
    public static readonly IReadOnlyList<Tier> All = [Starter, Growth, Business];

    public string PriceId => $"price_{Name}_monthly";

    public string ProductId => $"prod_{Name}";

    public Tier? Next => Rank + 1 < All.Count ? All[Rank + 1] : null;

    public Tier? Previous => Rank > 0 ? All[Rank - 1] : null;
}

/// <summary>A customer-success manager who owns accounts.</summary>
internal sealed record Owner(string Name, string Email)
{
    public override string ToString() => $"{Name} <{Email}>";
}

internal sealed record Country(string Code, int UtcOffsetHours);

/// <summary>Hand-written name pools (ASCII, so the JSON stays plain).</summary>
internal static class Pools
{
    public static readonly string[] CompanyFirst =
    [
        "Blue", "Harbor", "Summit", "Cedar", "Northwind", "Bright", "Silver", "Granite", "Maple", "Orbit", "Pioneer", "Quartz",
        "Redwood", "Sterling", "Atlas", "Beacon", "Copper", "Delta", "Evergreen", "Falcon", "Golden", "Horizon", "Ironclad",
        "Juniper", "Keystone", "Lakeside", "Meridian", "Nimbus", "Oakridge", "Prairie", "Riverbend", "Sapphire", "Tidal",
        "Upland", "Vertex", "Willow", "Zenith", "Aurora", "Basalt", "Crescent",
    ];

    public static readonly string[] CompanySecond =
    [
        "Labs", "Logistics", "Health", "Systems", "Analytics", "Foods", "Robotics", "Studios", "Partners", "Energy", "Media",
        "Software", "Consulting", "Dynamics", "Networks", "Works", "Capital", "Design", "Supply", "Bio", "Learning", "Retail",
        "Security", "Mobility", "Group", "Digital", "Marine", "Farms", "Legal", "Clinics",
    ];

    public static readonly string[] FirstNames =
    [
        "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo", "Amelia",
        "Ethan", "Harper", "Aiden", "Evelyn", "Leo", "Abigail", "Jack", "Emily", "Omar", "Priya", "Wei", "Yuki", "Carlos",
        "Fatima", "Hannah", "Ingrid", "Jonas", "Kofi", "Lena", "Marta", "Nikhil", "Oscar", "Paula", "Rafael", "Sara", "Tomas",
        "Uma", "Victor", "Zoe", "Anika", "Ben", "Chloe", "Diego", "Elena", "Felix", "Grace", "Hugo",
    ];

    public static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson", "Thomas", "Moore", "Martin",
        "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
        "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Patel",
        "Nguyen", "Kim", "Chen", "Schmidt", "Muller", "Rossi", "Dubois", "Silva", "Novak", "Kowalski", "Jensen", "Tanaka", "Okafor",
    ];

    public static readonly string[] AdminTitles = ["Head of Operations", "Project Manager", "Engineering Manager", "COO", "IT Administrator", "Program Manager", "Founder"];

    public static readonly string[] MemberTitles =
    [
        "Software Engineer", "Designer", "Analyst", "Marketing Specialist", "Account Executive", "Consultant", "Product Manager",
        "Coordinator", "Data Scientist", "Support Specialist", "Operations Associate", "QA Engineer",
    ];

    public static readonly string[] Industries = ["software", "healthcare", "financial services", "retail", "manufacturing", "education", "media", "logistics", "professional services", "nonprofit"];

    public static readonly Country[] Countries =
    [
        new("US", -5), new("US", -8), new("US", -6), new("CA", -5), new("GB", 0), new("DE", 1), new("FR", 1), new("NL", 1),
        new("ES", 1), new("SE", 1), new("PL", 1), new("IN", 5), new("SG", 8), new("JP", 9), new("AU", 10), new("BR", -3),
    ];

    public static readonly string[] OwnerNames = ["Maya Patel", "Daniel Okafor", "Sofia Lindqvist", "Marcus Chen", "Rachel Goldberg", "Tomas Alvarez", "Aisha Rahman", "Kevin O'Brien"];

    public static readonly string[] Platforms = ["web", "web", "web", "desktop", "desktop", "ios", "android"];

    public static readonly string[] Templates = ["blank", "kanban", "scrum", "roadmap", "marketing_launch"];

    public static readonly string[] Reports = ["burndown", "workload", "velocity", "portfolio", "time_tracking"];

    public static readonly string[] ShareChannels = ["link", "email", "slack"];

    public static readonly string[] ExportFormats = ["csv", "pdf", "xlsx"];

    public static readonly string[] Triggers = ["schedule", "status_change", "webhook", "due_date"];

    public static readonly string[] Integrations = ["slack", "github", "jira", "google_drive", "salesforce", "zapier", "microsoft_teams"];

    public static readonly string[] ErrorCodes = ["E500", "E502", "TIMEOUT", "SYNC_FAILED", "EXPORT_FAILED", "RATE_LIMITED"];

    public static readonly string[] TicketTopics = ["bug", "how_to", "billing", "integration", "performance", "account"];

    public static readonly string[] OnboardingSteps = ["create_project", "invite_teammate", "complete_task", "view_report", "connect_integration"];

    public static readonly string[] CancellationFeedback = ["too_expensive", "unused", "switched_service", "missing_features", "low_quality", "too_complex"];
}
