// Coverage from SharpFuzz's instrumentation: each instrumented branch bumps a counter in a 64 KiB map indexed by
// (previous location xor current location), as AFL does. Only the command-line fuzzer uses it (unsafe code).
using Tuki.Pool.Fuzz.Engine;

namespace Tuki.Pool.Fuzz;

/// <summary>AFL's edge map semantics over a 64 KiB hit-count map: counts are bucketed (1, 2, 3, 4-7, 8-15, 16-31,
/// 32-127, 128+) and an input is interesting when it sets a bucket bit not seen before for some edge.</summary>
public sealed unsafe class EdgeMapCoverage(byte* map, Action resetPrevious) : ICoverage
{
    public const int MapSize = 65536;
    private readonly byte[] _virgin = new byte[MapSize];
    private int _edges;

    public int Edges => _edges;

    public void Reset()
    {
        new Span<byte>(map, MapSize).Clear();
        resetPrevious();
    }

    public bool HasNewCoverage()
    {
        var found = false;
        var words = (ulong*)map;
        for (var w = 0; w < MapSize / 8; w++)
        {
            if (words[w] == 0)
                continue;
            for (var i = w * 8; i < w * 8 + 8; i++)
            {
                var count = map[i];
                if (count == 0)
                    continue;
                var bucket = Bucket(count);
                if ((_virgin[i] & bucket) != 0)
                    continue;
                if (_virgin[i] == 0)
                    _edges++;
                _virgin[i] |= bucket;
                found = true;
            }
        }
        return found;
    }

    private static byte Bucket(byte count) => count switch
    {
        1 => 1, 2 => 2, 3 => 4, <= 7 => 8, <= 15 => 16, <= 31 => 32, <= 127 => 64, _ => 128,
    };
}
