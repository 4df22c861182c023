// Finds files of the repository from a test's output directory (tests/Backend.Tests/bin/<config>/net10.0).
namespace Tuki.Pool.Backend.Tests.Deploy;

static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tuki.Pool.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"Tuki.Pool.sln not found above {AppContext.BaseDirectory}");
    }
}
