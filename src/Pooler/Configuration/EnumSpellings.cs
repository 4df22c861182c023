// How the enum values of the config records are spelled in pooler.yaml (the YAML spelling is the public contract).
namespace Tuki.Pool.Pooler.Configuration;

internal static class EnumSpellings
{
    public static readonly IReadOnlyList<(string Name, AuthType Value)> AuthTypes =
        [("scram-sha-256", AuthType.ScramSha256), ("md5", AuthType.Md5), ("trust", AuthType.Trust)];

    public static readonly IReadOnlyList<(string Name, PoolMode Value)> PoolModes =
        [("transaction", PoolMode.Transaction), ("session", PoolMode.Session), ("statement", PoolMode.Statement)];

    public static readonly IReadOnlyList<(string Name, ClientTlsMode Value)> ClientTlsModes =
        [("disable", ClientTlsMode.Disable), ("allow", ClientTlsMode.Allow), ("require", ClientTlsMode.Require)];

    public static readonly IReadOnlyList<(string Name, ServerTlsMode Value)> ServerTlsModes =
        [("disable", ServerTlsMode.Disable), ("prefer", ServerTlsMode.Prefer), ("require", ServerTlsMode.Require),
         ("verify-ca", ServerTlsMode.VerifyCa), ("verify-full", ServerTlsMode.VerifyFull)];

    public static readonly IReadOnlyList<(string Name, PinningPolicy Value)> PinningPolicies =
        [("pin", PinningPolicy.Pin), ("error", PinningPolicy.Error)];

    public static string NameOf(PinningPolicy policy) => PinningPolicies.First(pair => pair.Value == policy).Name;

    public static string NameOf(ClientTlsMode mode) => ClientTlsModes.First(pair => pair.Value == mode).Name;

    public static string NameOf(ServerTlsMode mode) => ServerTlsModes.First(pair => pair.Value == mode).Name;

    public static readonly IReadOnlyList<(string Name, LogFormat Value)> LogFormats =
        [("text", LogFormat.Text), ("json", LogFormat.Json)];

    public static string NameOf(AuthType type) => AuthTypes.First(pair => pair.Value == type).Name;

    public static string NameOf(PoolMode mode) => PoolModes.First(pair => pair.Value == mode).Name;

    /// <summary>"a, b or c", for error messages.</summary>
    public static string Expected<T>(IReadOnlyList<(string Name, T Value)> choices) =>
        string.Join(", ", choices.Take(choices.Count - 1).Select(pair => pair.Name)) + " or " + choices[^1].Name;
}
