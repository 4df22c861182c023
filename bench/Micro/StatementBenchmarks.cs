// The prepared-statement rewrite path of transaction mode: what the client loop does for each Bind of a named
// statement (find the name, look it up for the client and in the server's cache, write the renamed frame), the
// one-off cost of a client's named Parse (hashing the text into the pooler's name), and the SQL look every
// Query/Parse gets (SqlInspector).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Bench.Micro;

[MemoryDiagnoser]
public class StatementBenchmarks
{
    private const string Select = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private byte[] _bindFrame = [];
    private byte[] _parseBody = [];
    private byte[] _selectText = [];
    private ClientStatements _client = new();
    private ServerStatementCache _server = new(200);

    [GlobalSetup]
    public void Setup()
    {
        _parseBody = [.. Encoding.UTF8.GetBytes(Select), 0, 0, 0];
        _selectText = Encoding.UTF8.GetBytes(Select);
        var statement = PreparedStatement.FromParseBody(_parseBody);
        _client = new ClientStatements();
        _client.Set("P0_1"u8, statement);
        _server = new ServerStatementCache(200);
        _server.Add(statement, -1);
        for (var i = 0; i < 150; i++)
            _server.Add(PreparedStatement.FromParseBody([.. Encoding.UTF8.GetBytes($"SELECT {i}"), 0, 0, 0]), -1);

        // Bind: portal "", statement "P0_1", 1 text parameter "12345", no result formats.
        var body = new List<byte>();
        body.AddRange("\0P0_1\0"u8.ToArray());
        body.AddRange(new byte[] { 0, 0, 0, 1, 0, 0, 0, 5 });
        body.AddRange("12345"u8.ToArray());
        body.AddRange(new byte[] { 0, 0 });
        _bindFrame = new byte[5 + body.Count];
        _bindFrame[0] = (byte)'B';
        BinaryPrimitives.WriteInt32BigEndian(_bindFrame.AsSpan(1), 4 + body.Count);
        body.CopyTo(_bindFrame, 5);
    }

    [Benchmark(Description = "Bind of a named statement: find, look up, write renamed")]
    public int RenameBind()
    {
        _output.ResetWrittenCount();
        var body = _bindFrame.AsSpan(5);
        StatementMessages.TryFindName((byte)'B', body, out var offset, out var length, out _);
        _client.TryGet(body.Slice(offset, length), out var statement);
        _server.Find(statement!.Key);
        StatementMessages.WriteRenamedHead(_output, (byte)'B', _bindFrame.Length, body, offset, length, statement.ServerName);
        _output.Write(body[(offset + length + 1)..]);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "named Parse: pooler name from SHA-256 of the text")]
    public PreparedStatement NameParse() => PreparedStatement.FromParseBody(_parseBody);

    [Benchmark(Description = "SqlInspector on a pgbench select")]
    public SqlTraits Inspect() => SqlInspector.Inspect(_selectText);
}
