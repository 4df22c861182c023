// What one server connection has prepared under pooler names, bounded and least-recently-used first out
// (pool.max_prepared_statements). An entry is "pending" from the moment its Parse is sent until the server answers
// it: a Parse that fails (or is skipped after an earlier error) takes its entry back out.
namespace Tuki.Pool.Pooler.Statements;

public sealed class ServerStatementCache(int capacity)
{
    private readonly Dictionary<UInt128, Entry> _entries = [];
    private Entry? _newest;
    private Entry? _oldest;

    public int Capacity { get; } = capacity;
    public int Count => _entries.Count;

    public sealed class Entry(PreparedStatement statement)
    {
        public PreparedStatement Statement { get; } = statement;
        /// <summary>The reply group (see ClientSession's ReadyForQuery count) whose answer confirms the Parse, or -1
        /// once confirmed.</summary>
        public long PendingGroup { get; set; } = -1;
        internal Entry? Newer, Older;
    }

    /// <summary>The entry for <paramref name="key"/>, marked as just used; null when this server lacks it.</summary>
    public Entry? Find(UInt128 key)
    {
        if (!_entries.TryGetValue(key, out var entry))
            return null;
        MoveToNewest(entry);
        return entry;
    }

    public bool Contains(UInt128 key) => _entries.ContainsKey(key);

    /// <summary>Records a statement whose Parse is about to be sent. When the cache is full, the oldest confirmed
    /// entry is dropped and returned: the caller closes it on the server first. Pending entries are never evicted
    /// (their fate is not known yet), so the cache may briefly exceed its capacity inside one pipeline.</summary>
    public PreparedStatement? Add(PreparedStatement statement, long pendingGroup)
    {
        PreparedStatement? evicted = null;
        if (_entries.Count >= Capacity)
        {
            for (var candidate = _oldest; candidate is not null; candidate = candidate.Newer)
            {
                if (candidate.PendingGroup >= 0)
                    continue;
                Unlink(candidate);
                _entries.Remove(candidate.Statement.Key);
                evicted = candidate.Statement;
                break;
            }
        }
        var entry = new Entry(statement) { PendingGroup = pendingGroup };
        _entries[statement.Key] = entry;
        LinkNewest(entry);
        return evicted;
    }

    public void Confirm(UInt128 key)
    {
        if (_entries.TryGetValue(key, out var entry))
            entry.PendingGroup = -1;
    }

    public void Remove(UInt128 key)
    {
        if (_entries.Remove(key, out var entry))
            Unlink(entry);
    }

    /// <summary>Takes back a statement whose Parse (sent in <paramref name="group"/>) never ran.</summary>
    public void RemoveIfPending(UInt128 key, long group)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.PendingGroup == group)
            Remove(key);
    }

    /// <summary>Puts back a statement whose eviction Close never ran (it is still on the server), over capacity if
    /// need be: the next <see cref="Add"/> evicts again.</summary>
    public void Restore(PreparedStatement statement)
    {
        if (_entries.TryGetValue(statement.Key, out var existing))
        {
            // Re-prepared later in the same failed pipeline: that Parse was skipped too, but the statement never
            // left the server, so the entry must survive the skipped Parse's RemoveIfPending.
            existing.PendingGroup = -1;
            return;
        }
        var entry = new Entry(statement);
        _entries[statement.Key] = entry;
        LinkNewest(entry);
    }

    /// <summary>Everything is gone from the server (DISCARD ALL, DEALLOCATE ALL, a reset).</summary>
    public void Clear()
    {
        _entries.Clear();
        _newest = _oldest = null;
    }

    private void MoveToNewest(Entry entry)
    {
        if (entry == _newest)
            return;
        Unlink(entry);
        LinkNewest(entry);
    }

    private void LinkNewest(Entry entry)
    {
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null) _newest.Newer = entry;
        _newest = entry;
        _oldest ??= entry;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Older is not null) entry.Older.Newer = entry.Newer;
        else if (_oldest == entry) _oldest = entry.Newer;
        if (entry.Newer is not null) entry.Newer.Older = entry.Older;
        else if (_newest == entry) _newest = entry.Older;
        entry.Newer = entry.Older = null;
    }
}
