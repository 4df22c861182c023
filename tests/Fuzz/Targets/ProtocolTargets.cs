// Targets over the wire-format readers a client (or a server) feeds: startup packets, frame splitting and the
// backend messages the pooler parses.
using System.Buffers;
using System.Buffers.Binary;
using Tuki.Pool.Fuzz.Engine;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Fuzz.Targets;

internal static class ProtocolTargets
{
    private static readonly byte[][] WireTokens = Inputs.Tokens(
        "\0\0\0\b", "\0\u0003\0\0", "\u0004\u00d2\u0016/", "\u0004\u00d2\u0016\u0030", "\u0004\u00d2\u0016.",
        "user\0", "database\0", "options\0", "-c ", "application_name\0", "replication\0", "\0\0");

    /// <summary>StartupPacketReader, fed as a pipe would: after each segment arrives. Properties: false leaves the
    /// buffer untouched; a packet is returned only when all its bytes are there and consumes exactly its length;
    /// the result does not depend on how the bytes were cut.</summary>
    public static FuzzTarget Startup => new("startup", input =>
    {
        var (chunk, stream) = Inputs.SplitControl(input);
        var whole = ReadAllStartup(new ReadOnlySequence<byte>(stream), out var wholeError);
        var delivered = 0;
        var pieces = new List<string>();
        Exception? pieceError = null;
        long consumed = 0;
        var all = Inputs.Segmented(stream, chunk);
        var cache = new StartupPacketCache(); // the pieces go through the cache, the whole stream does not: same packets
        while (delivered < stream.Length && pieceError is null)
        {
            delivered = Math.Min(stream.Length, delivered + chunk);
            var buffer = all.Slice(consumed, delivered - consumed);
            try
            {
                while (true)
                {
                    var before = buffer.Length;
                    if (!StartupPacketReader.TryRead(ref buffer, cache, out var packet))
                    {
                        FuzzPropertyException.Check(buffer.Length == before, "TryRead false consumed bytes");
                        break;
                    }
                    var length = BinaryPrimitives.ReadInt32BigEndian(stream.AsSpan((int)consumed));
                    FuzzPropertyException.Check(before - buffer.Length == length, "packet consumed a length other than declared");
                    consumed += length;
                    pieces.Add(Describe(packet!));
                }
            }
            catch (Exception e) when (Inputs.IsProtocolError(e))
            {
                pieceError = e;
            }
        }
        FuzzPropertyException.Check(pieces.SequenceEqual(whole), "packets depend on how the bytes were cut or on the cache");
        FuzzPropertyException.Check(pieceError?.GetType() == wholeError?.GetType(), "error depends on how the bytes were cut");
        if (wholeError is not null)
            throw wholeError;
    }, Inputs.IsProtocolError, 12_000, WireTokens);

    private static List<string> ReadAllStartup(ReadOnlySequence<byte> buffer, out Exception? error)
    {
        var packets = new List<string>();
        error = null;
        try
        {
            while (StartupPacketReader.TryRead(ref buffer, out var packet))
                packets.Add(Describe(packet!));
        }
        catch (Exception e) when (Inputs.IsProtocolError(e))
        {
            error = e;
        }
        return packets;
    }

    private static string Describe(StartupPacket packet) =>
        $"{packet.Kind}/{packet.ProtocolVersion}/{packet.CancelProcessId}/{packet.CancelSecretKey}/" + string.Join("|", packet.Parameters.Select(p => p.Key + "=" + p.Value));

    /// <summary>FrameReader over a segmented stream. Properties: the same frames (code, length, bytes) as over one
    /// contiguous buffer; each frame is exactly Length + 1 bytes; Body() is the frame minus its header.</summary>
    public static FuzzTarget Frames => new("frames", input =>
    {
        var (chunk, stream) = Inputs.SplitControl(input);
        const int maxLength = 8192;
        var contiguous = ReadAllFrames(new ReadOnlySequence<byte>(stream), maxLength, out var contiguousError);
        var segmented = ReadAllFrames(Inputs.Segmented(stream, chunk), maxLength, out var segmentedError);
        FuzzPropertyException.Check(contiguous.Count == segmented.Count, "frame count depends on segmentation");
        for (var i = 0; i < contiguous.Count; i++)
            FuzzPropertyException.Check(contiguous[i].AsSpan().SequenceEqual(segmented[i]), "frame bytes depend on segmentation");
        FuzzPropertyException.Check(contiguousError?.GetType() == segmentedError?.GetType(), "error depends on segmentation");
        if (contiguousError is not null)
            throw contiguousError;
    }, Inputs.IsProtocolError, 4096, WireTokens);

    private static List<byte[]> ReadAllFrames(ReadOnlySequence<byte> buffer, int maxLength, out Exception? error)
    {
        var frames = new List<byte[]>();
        byte[]? scratch = null;
        error = null;
        try
        {
            while (FrameReader.TryReadFrame(ref buffer, maxLength, out var header, out var frame))
            {
                FuzzPropertyException.Check(frame.Length == header.FrameLength, "frame length differs from its header");
                var body = FrameReader.Body(frame, ref scratch);
                FuzzPropertyException.Check(body.SequenceEqual(frame.Slice(FrameHeader.Size).ToArray()), "Body() differs from the frame's body");
                frames.Add(frame.ToArray());
            }
        }
        catch (Exception e) when (Inputs.IsProtocolError(e))
        {
            error = e;
        }
        return frames;
    }

    /// <summary>The backend messages the pooler parses (ErrorResponse/NoticeResponse, ParameterStatus, DataRow,
    /// BackendKeyData, Authentication), each frame of the stream given to the parser its code names.</summary>
    public static FuzzTarget BackendMessages => new("backend", input =>
    {
        var buffer = new ReadOnlySequence<byte>(input);
        byte[]? scratch = null;
        while (FrameReader.TryReadFrame(ref buffer, 8192, out var header, out var frame))
        {
            var body = FrameReader.Body(frame, ref scratch);
            switch (header.Code)
            {
                case BackendCode.ErrorResponse:
                case BackendCode.NoticeResponse:
                    var error = MessageParser.ErrorResponse(body);
                    FuzzPropertyException.Check(error.Code is not null && error.Message is not null, "ErrorResponse without code or message");
                    break;
                case BackendCode.ParameterStatus:
                    MessageParser.ParameterStatus(body);
                    break;
                case BackendCode.DataRow:
                    var columns = MessageParser.DataRow(body);
                    FuzzPropertyException.Check(columns.Length <= body.Length, "more columns than bytes");
                    break;
                case BackendCode.BackendKeyData:
                    MessageParser.BackendKeyData(body);
                    break;
                case BackendCode.Authentication:
                    MessageParser.AuthenticationCode(body);
                    break;
            }
        }
    }, Inputs.IsProtocolError, 4096, Inputs.Tokens("E", "N", "S", "D", "K", "R", "\0\0\0\u0004", "\0\0\0\u0008", "\u00ff\u00ff\u00ff\u00ff",
        "SERROR\0", "VFATAL\0", "C57P01\0", "Mterminating\0", "Hhint\0", "\0\u0001", "\u00ff\u00ff"));
}
