namespace HealthScoring.Models.Tests;

public class FeatureMatrixTests
{
    [Fact]
    public void Rows_are_views_of_the_row_major_values()
    {
        var matrix = new FeatureMatrix([1, 2, 3, 4, 5, 6], ["a", "b"]);
        matrix.Rows.ShouldBe(3);
        matrix.Row(1).ToArray().ShouldBe([3f, 4f]);
        matrix.SelectRows([2, 0]).Values.ShouldBe([5f, 6f, 1f, 2f]);
    }

    [Fact]
    public void Values_that_do_not_fill_whole_rows_are_rejected() =>
        Should.Throw<ArgumentException>(() => new FeatureMatrix([1, 2, 3], ["a", "b"]));

    [Fact]
    public void A_stream_that_is_not_a_model_is_rejected_clearly()
    {
        var ex = Should.Throw<ModelFormatException>(() => ModelFormat.FromBytes([1, 2, 3]));
        ex.Message.ShouldContain("model");
    }
}
