// Targets over what the pooler reads inside a session: the startup `options` value, SQL text (SqlInspector), the
// statement names of Parse/Bind/Describe/Close and their rewriting, and both sides of SCRAM.
using System.Buffers;
using System.Text;
using Tuki.Pool.Fuzz.Engine;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Clients;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Fuzz.Targets;

internal static class SessionTargets
{
    /// <summary>ClientSession.ParseOptions over any text. Properties: every setting has a non-empty name without
    /// '-' (PostgreSQL's --a-b=c means a_b) and there are no more settings than words.</summary>
    public static FuzzTarget Options => new("options", input =>
    {
        var text = Encoding.UTF8.GetString(input);
        var settings = ClientSession.ParseOptions(text);
        foreach (var (name, _) in settings)
            FuzzPropertyException.Check(name.Length > 0 && !name.Contains('-'), $"bad setting name '{name}'");
        FuzzPropertyException.Check(settings.Count <= text.Length / 2 + 1, "more settings than the text can hold");
    }, e => e is PgErrorException, 2048, Inputs.Tokens("-c", " ", "\\", "\\ ", "=", "--", "-c=", "search_path=a\\ b", "\t"));

    /// <summary>SqlInspector.Inspect over any bytes: never throws (it runs on every Query and Parse); the result is
    /// deterministic and a DEALLOCATE name is reported only with the Deallocate flag.</summary>
    public static FuzzTarget Sql => new("sql", input =>
    {
        var traits = SqlInspector.Inspect(input);
        var again = SqlInspector.Inspect(input);
        FuzzPropertyException.Check(traits == again, "Inspect is not deterministic");
        FuzzPropertyException.Check((traits.DeallocateName is not null) == traits.Flags.HasFlag(SqlTrait.Deallocate),
            "DEALLOCATE name without the flag (or the flag without a name)");
        FuzzPropertyException.Check(traits.PinFeature is null || traits.Flags.HasFlag(SqlTrait.NeedsPin), "pin reason without NeedsPin");
    }, _ => false, 4096, Inputs.Tokens(
        "SET ", "LOCAL ", "TRANSACTION ", "RESET ", "LISTEN ", "PREPARE ", "DECLARE ", " WITH HOLD ", "CREATE ", "TEMP ",
        "TEMPORARY ", "GLOBAL ", "BEGIN", "START ", "DISCARD ALL", "DEALLOCATE ", "ALL", "\"", "\"\"", ";", "--", "\n",
        "/*", "*/", "set_config(", "pg_advisory_lock(", "advisory_lock", "'", "$$", "\u00e9"));

    private static readonly byte[] Codes = [FrontendCode.Parse, FrontendCode.Bind, FrontendCode.Describe, FrontendCode.Close];

    /// <summary>StatementMessages.TryFindName and WriteRenamedHead: the first input byte picks the message (Parse,
    /// Bind, Describe, Close), the rest is its body. Properties: a found name lies inside the body, ends at a NUL and
    /// contains none; renaming yields a frame whose declared length matches its size, whose name reads back as the
    /// new one, and whose other bytes are the original's. A Parse body after the name gives a stable statement key.</summary>
    public static FuzzTarget StatementNames => new("names", input =>
    {
        if (input.Length == 0)
            return;
        var code = Codes[input[0] % Codes.Length];
        var body = input.AsSpan(1);
        if (!StatementMessages.TryFindName(code, body, out var offset, out var length, out _))
            return;
        FuzzPropertyException.Check(offset >= 0 && length >= 0 && offset + length < body.Length, "name outside the body");
        FuzzPropertyException.Check(body[offset + length] == 0 && body.Slice(offset, length).IndexOf((byte)0) < 0, "name not NUL-terminated or contains NUL");

        var newName = "tuki_0123456789abcdef0123456789abcdef"u8;
        var output = new ArrayBufferWriter<byte>();
        var frameLength = FrameHeader.Size + body.Length;
        StatementMessages.WriteRenamedHead(output, code, frameLength, body, offset, length, newName);
        var rest = body[(offset + length + 1)..];
        output.Write(rest);
        var frame = output.WrittenSpan;
        FuzzPropertyException.Check(frame[0] == code, "renamed frame has another code");
        FuzzPropertyException.Check(System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame[1..]) == frame.Length - 1, "renamed frame's length is wrong");
        var renamedBody = frame[FrameHeader.Size..];
        FuzzPropertyException.Check(StatementMessages.TryFindName(code, renamedBody, out var newOffset, out var newLength, out _), "renamed frame has no name");
        FuzzPropertyException.Check(newOffset == offset && renamedBody.Slice(newOffset, newLength).SequenceEqual(newName), "renamed frame's name is not the new one");
        FuzzPropertyException.Check(renamedBody[..offset].SequenceEqual(body[..offset]) && renamedBody[(newOffset + newLength + 1)..].SequenceEqual(rest),
            "renaming changed bytes other than the name");

        if (code == FrontendCode.Parse)
        {
            var statement = PreparedStatement.FromParseBody(rest);
            FuzzPropertyException.Check(statement.Key == PreparedStatement.FromParseBody(rest).Key, "statement key not stable");
            FuzzPropertyException.Check(statement.ServerName.Length == 37 && statement.Body.AsSpan().SequenceEqual(rest), "bad statement name or body");
        }
    }, _ => false, 2048, Inputs.Tokens("\0", "S\0", "P\0", "S_1\0", "SELECT 1\0", "\0\0\0", "\0\u0001\0\0\0\u0017"));

    private static readonly ScramSecret Secret = ScramSecret.FromPassword("fuzz", Encoding.ASCII.GetBytes("0123456789abcdef"), 16);

    /// <summary>ScramServer (the pooler checking a client): the input up to its first NUL is client-first-message,
    /// the rest client-final-message. Only ScramException may come out.</summary>
    public static FuzzTarget ScramServerMessages => new("scram-server", input =>
    {
        // The raw bytes, as the pooler hands them over from the wire.
        var nul = Array.IndexOf(input, (byte)0);
        var (first, final) = nul < 0 ? (input, []) : (input[..nul], input[(nul + 1)..]);
        var server = new ScramServer(Secret, serverNonce: "SERVERNONCE");
        server.HandleClientFirst(first);
        server.HandleClientFinal(final);
    }, e => e is ScramException, 1024, Inputs.Tokens("n,,", "y,,", "p=", "n,a=", "n=,", "r=", "c=biws", ",r=", ",p=", "SERVERNONCE",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "\0"));

    /// <summary>ScramClient (the pooler logging in to PostgreSQL): the input is server-first-message, then after a
    /// NUL server-final-message. Iteration counts above 4096 are skipped: their cost is bounded by design
    /// (ScramClient refuses more than a million), and a PBKDF2 of a million rounds is not a hang.</summary>
    public static FuzzTarget ScramClientMessages => new("scram-client", input =>
    {
        var text = Encoding.UTF8.GetString(input);
        var nul = text.IndexOf('\0');
        var (first, final) = nul < 0 ? (text, "") : (text[..nul], text[(nul + 1)..]);
        var iterations = System.Text.RegularExpressions.Regex.Match(first, @"(?:^|,)i=([^,]*)");
        if (iterations.Success && (!int.TryParse(iterations.Groups[1].Value, out var count) || count > 4096))
            return;
        var client = new ScramClient("fuzz", clientNonce: "CLIENTNONCE");
        client.ClientFirst();
        client.ClientFinal(first);
        client.VerifyServerFinal(final);
    }, e => e is ScramException, 1024, Inputs.Tokens("r=CLIENTNONCE", "s=MDEyMzQ1Njc4OWFiY2RlZg==", "i=16", "i=4096", ",", "v=", "e=invalid-proof", "\0"));

    public static IReadOnlyList<FuzzTarget> All =>
        [ProtocolTargets.Startup, ProtocolTargets.Frames, ProtocolTargets.BackendMessages, Options, Sql, StatementNames,
         ScramServerMessages, ScramClientMessages];
}
