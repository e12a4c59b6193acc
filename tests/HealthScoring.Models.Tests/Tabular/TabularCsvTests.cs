using HealthScoring.Models.Tabular;

namespace HealthScoring.Models.Tests.Tabular;

public class TabularCsvTests
{
    private const string Accounts = """
        id,seats,plan,region,churned
        a1,10,pro,eu,Yes
        a2,,basic,us,no
        a3,3.5,pro,NA,TRUE
        a4, ,enterprise,us,0
        a5,7,basic,eu,1
        """;

    private static TabularDataset Load(string csv, string label = "churned", string? id = "id") =>
        TabularCsv.Load(new StringReader(csv), label, id);

    [Fact]
    public void Numeric_columns_stay_numbers_and_blanks_become_NaN()
    {
        var data = Load(Accounts);
        data.Schema.Columns[0].ShouldBe(new TabularColumn("seats", TabularColumnKind.Numeric, []), new ColumnComparer());
        data.Features.ColumnNames[0].ShouldBe("seats");
        Enumerable.Range(0, 5).Select(i => data.Features[i, 0]).ToArray().ShouldBe([10f, float.NaN, 3.5f, float.NaN, 7f]);
    }

    [Fact]
    public void Text_columns_are_one_hot_encoded_per_level()
    {
        var data = Load(Accounts);
        data.Features.ColumnNames.ShouldBe(["seats", "plan=basic", "plan=enterprise", "plan=pro", "region=eu", "region=us"]);
        data.Features.Row(0).ToArray().ShouldBe([10f, 0f, 0f, 1f, 1f, 0f]);
        data.Features.Row(3).ToArray().ShouldBe([float.NaN, 0f, 1f, 0f, 0f, 1f]);

        // A missing category is missing in each of its features.
        data.Features.Row(2).ToArray()[4..].ShouldBe([float.NaN, float.NaN]);
    }

    [Fact]
    public void Labels_and_ids_are_read_and_kept_out_of_the_features()
    {
        var data = Load(Accounts);
        data.Labels.ShouldBe([true, false, true, false, true]);
        data.Ids.ShouldBe(["a1", "a2", "a3", "a4", "a5"]);
        data.Features.ColumnNames.ShouldNotContain("id");
        data.Features.ColumnNames.ShouldNotContain("churned");

        var withoutId = Load(Accounts, id: null);
        withoutId.Ids.ShouldBe(["1", "2", "3", "4", "5"]);
        withoutId.Features.ColumnNames.ShouldContain("id=a1");
    }

    [Fact]
    public void A_missing_label_column_names_it_and_lists_the_columns()
    {
        var ex = Should.Throw<InvalidDataException>(() => Load(Accounts, label: "Churn"));
        ex.Message.ShouldContain("'Churn'");
        ex.Message.ShouldContain("id, seats, plan, region, churned");
    }

    [Fact]
    public void A_label_that_is_not_binary_names_the_value_and_the_line()
    {
        var csv = Accounts.Replace("7,basic,eu,1", "7,basic,eu,maybe", StringComparison.Ordinal);
        var ex = Should.Throw<InvalidDataException>(() => Load(csv));
        ex.Message.ShouldContain("'maybe'");
        ex.Message.ShouldContain("line 6");
        ex.Message.ShouldContain("'churned'");
    }

    [Fact]
    public void A_header_without_rows_is_rejected()
    {
        Should.Throw<InvalidDataException>(() => Load("id,seats,churned\n")).Message.ShouldContain("no data rows");
        Should.Throw<InvalidDataException>(() => Load("")).Message.ShouldContain("empty");
    }

    [Fact]
    public void A_row_with_the_wrong_number_of_fields_names_its_line()
    {
        var ex = Should.Throw<InvalidDataException>(() => Load("id,seats,churned\na,1,Yes\nb,2\n"));
        ex.Message.ShouldContain("Line 3");
    }

    [Fact]
    public void The_schema_encodes_new_rows_the_same_way()
    {
        var data = Load(Accounts);
        var rows = data.Schema.Transform(new StringReader("""
            region,plan,seats,id,extra
            us,pro,4,b1,x
            apac,basic,NA,b2,y
            """));
        rows.Labels.ShouldBeNull();
        rows.Ids.ShouldBe(["b1", "b2"]);
        rows.Features.ColumnNames.ShouldBe(data.Features.ColumnNames);
        rows.Features.Row(0).ToArray().ShouldBe([4f, 0f, 0f, 1f, 0f, 1f]);

        // A level unseen in training is none of the known ones.
        rows.Features.Row(1).ToArray().ShouldBe([float.NaN, 1f, 0f, 0f, 0f, 0f]);

        var one = new float[data.Schema.FeatureNames.Count];
        data.Schema.EncodeRow(new Dictionary<string, string?> { ["seats"] = "2", ["plan"] = "enterprise" }, one);
        one.ShouldBe([2f, 0f, 1f, 0f, float.NaN, float.NaN]);
    }

    [Fact]
    public void New_rows_need_every_schema_column_and_numbers_where_numbers_were()
    {
        var schema = Load(Accounts).Schema;
        Should.Throw<InvalidDataException>(() => schema.Transform(new StringReader("seats,plan\n1,pro\n"))).Message.ShouldContain("'region'");
        var ex = Should.Throw<InvalidDataException>(() => schema.Transform(new StringReader("seats,plan,region\n1,pro,eu\nmany,pro,eu\n")));
        ex.Message.ShouldContain("'seats'");
        ex.Message.ShouldContain("'many'");
        ex.Message.ShouldContain("line 3");
    }

    [Fact]
    public void Quoted_fields_and_invariant_numbers_parse()
    {
        var data = Load("id,amount,note,churned\nx,\"1,5\",\"a, b\",No\ny,2.5e1,c,Yes\n");
        data.Schema.Columns[0].Kind.ShouldBe(TabularColumnKind.Categorical);
        data.Features.ColumnNames.ShouldContain("note=a, b");
        Load("id,amount,churned\nx,-1.25,No\ny,2.5e1,Yes\n").Features.Values.ShouldBe([-1.25f, 25f]);
    }

    private sealed class ColumnComparer : IEqualityComparer<TabularColumn>
    {
        public bool Equals(TabularColumn? x, TabularColumn? y) =>
            x is not null && y is not null && x.Name == y.Name && x.Kind == y.Kind && x.Levels.SequenceEqual(y.Levels);

        public int GetHashCode(TabularColumn obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
