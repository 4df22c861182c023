// A deliberately small look at SQL text: the leading keywords of each statement (after every ';') and two function
// names. Enough to see what transaction pooling cannot share or must track, cheap enough for every Query (a few
// vectorised searches over the text). It is not a parser: a ';' inside a string literal starts a "statement" too,
// which at worst pins a client that did not need it or reads its settings back once more.
using System.Text;

namespace Tuki.Pool.Pooler.Statements;

public static class SqlInspector
{
    public static SqlTraits Inspect(ReadOnlySpan<byte> sql)
    {
        var flags = SqlTrait.None;
        string? pin = null;
        string? deallocate = null;
        var statements = 0;

        var rest = sql;
        while (true)
        {
            var end = rest.IndexOf((byte)';');
            var statement = end < 0 ? rest : rest[..end];
            var words = new Words(statement);
            var first = words.Next();
            if (!first.IsEmpty)
            {
                statements++;
                InspectStatement(first, ref words, statement, ref flags, ref pin, ref deallocate);
            }
            if (end < 0)
                break;
            rest = rest[(end + 1)..];
        }

        // Functions that act on the session wherever they appear (SELECT pg_advisory_lock(1), set_config(...)).
        // Transaction-scoped variants (pg_advisory_xact_lock) do not contain "advisory_lock".
        if (ContainsEither(sql, "advisory_lock"u8, "ADVISORY_LOCK"u8))
            (flags, pin) = (flags | SqlTrait.NeedsPin, pin ?? "session advisory locks");
        if (ContainsEither(sql, "set_config"u8, "SET_CONFIG"u8))
            flags |= SqlTrait.ChangesSettings;

        return new SqlTraits(flags, pin, deallocate, Single: statements == 1);
    }

    private static void InspectStatement(ReadOnlySpan<byte> first, ref Words words, ReadOnlySpan<byte> statement,
        ref SqlTrait flags, ref string? pin, ref string? deallocate)
    {
        if (Is(first, "SET"u8))
        {
            var second = words.Next();
            // SET LOCAL and SET TRANSACTION end with the transaction; everything else outlives it.
            if (!Is(second, "LOCAL"u8) && !Is(second, "TRANSACTION"u8))
                flags |= SqlTrait.ChangesSettings;
        }
        else if (Is(first, "RESET"u8))
            flags |= SqlTrait.ChangesSettings;
        else if (Is(first, "LISTEN"u8))
            (flags, pin) = (flags | SqlTrait.NeedsPin, pin ?? "LISTEN");
        else if (Is(first, "PREPARE"u8))
        {
            if (!Is(words.Next(), "TRANSACTION"u8))
                (flags, pin) = (flags | SqlTrait.NeedsPin, pin ?? "PREPARE");
        }
        else if (Is(first, "DECLARE"u8))
        {
            if (ContainsWithHold(statement))
                (flags, pin) = (flags | SqlTrait.NeedsPin, pin ?? "WITH HOLD cursors");
        }
        else if (Is(first, "CREATE"u8))
        {
            var second = words.Next();
            if (Is(second, "GLOBAL"u8) || Is(second, "LOCAL"u8))
                second = words.Next();
            if (Is(second, "TEMP"u8) || Is(second, "TEMPORARY"u8))
                (flags, pin) = (flags | SqlTrait.NeedsPin, pin ?? "temporary tables");
        }
        else if (Is(first, "BEGIN"u8) || Is(first, "START"u8))
            flags |= SqlTrait.BeginsTransaction;
        else if (Is(first, "DISCARD"u8))
        {
            if (Is(words.Next(), "ALL"u8) && words.Next().IsEmpty)
                flags |= SqlTrait.DiscardAll;
        }
        else if (Is(first, "DEALLOCATE"u8))
        {
            var name = words.NextName();
            if (Is(name, "PREPARE"u8))
                name = words.NextName();
            if (name.IsEmpty || !words.Next().IsEmpty)
                return;
            if (Is(name, "ALL"u8))
                flags |= SqlTrait.DeallocateAll;
            else
            {
                flags |= SqlTrait.Deallocate;
                deallocate = Words.Unquote(name);
            }
        }
    }

    private static bool ContainsWithHold(ReadOnlySpan<byte> statement)
    {
        var words = new Words(statement);
        var previousWasWith = false;
        for (var word = words.Next(); !word.IsEmpty; word = words.Next())
        {
            if (previousWasWith && Is(word, "HOLD"u8))
                return true;
            previousWasWith = Is(word, "WITH"u8);
        }
        return false;
    }

    private static bool Is(ReadOnlySpan<byte> word, ReadOnlySpan<byte> keyword) => Ascii.EqualsIgnoreCase(word, keyword);

    private static bool ContainsEither(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lower, ReadOnlySpan<byte> upper) =>
        text.IndexOf(lower) >= 0 || text.IndexOf(upper) >= 0;

    /// <summary>Words of one statement: keywords/identifiers (letters, digits, _ and $) or double-quoted names,
    /// skipping white space and comments. Anything else (operators, literals) ends the scan: only leading words
    /// matter here.</summary>
    private ref struct Words(ReadOnlySpan<byte> text)
    {
        private ReadOnlySpan<byte> _text = text;

        public ReadOnlySpan<byte> Next()
        {
            SkipSpaceAndComments();
            var length = 0;
            while (length < _text.Length && IsWordByte(_text[length]))
                length++;
            var word = _text[..length];
            _text = _text[length..];
            return word;
        }

        /// <summary>A word or a double-quoted name (quotes included).</summary>
        public ReadOnlySpan<byte> NextName()
        {
            SkipSpaceAndComments();
            if (_text.IsEmpty || _text[0] != (byte)'"')
                return Next();
            var i = 1;
            while (i < _text.Length)
            {
                if (_text[i] == (byte)'"')
                {
                    if (i + 1 < _text.Length && _text[i + 1] == (byte)'"') { i += 2; continue; }
                    break;
                }
                i++;
            }
            var name = _text[..Math.Min(i + 1, _text.Length)];
            _text = _text[name.Length..];
            return name;
        }

        public static string Unquote(ReadOnlySpan<byte> name)
        {
            if (name.Length >= 2 && name[0] == (byte)'"' && name[^1] == (byte)'"')
                return Encoding.UTF8.GetString(name[1..^1]).Replace("\"\"", "\"");
            // Unquoted identifiers fold to lower case, as PostgreSQL does.
            return Encoding.UTF8.GetString(name).ToLowerInvariant();
        }

        private void SkipSpaceAndComments()
        {
            while (!_text.IsEmpty)
            {
                if (_text[0] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f')
                    _text = _text[1..];
                else if (_text.StartsWith("--"u8))
                {
                    var newline = _text.IndexOf((byte)'\n');
                    _text = newline < 0 ? default : _text[(newline + 1)..];
                }
                else if (_text.StartsWith("/*"u8))
                {
                    var close = _text.IndexOf("*/"u8);
                    _text = close < 0 ? default : _text[(close + 2)..];
                }
                else
                    return;
            }
        }

        private static bool IsWordByte(byte b) =>
            b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'_' or (byte)'$' or >= 0x80;
    }
}
