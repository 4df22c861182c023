// ${NAME} in a pooler.yaml value: replaced by the environment variable NAME, so secrets stay out of the file.
using System.Text;

namespace Tuki.Pool.Pooler.Configuration;

internal static class EnvReferences
{
    /// <summary>Returns <paramref name="raw"/> with each <c>${NAME}</c> replaced, or null after reporting every unset
    /// or malformed reference. Errors name the variable, never its value: it is often a password. The substituted
    /// text is not scanned again, so a secret containing "${" stays as it is.</summary>
    public static string? Expand(string raw, string path, ConfigReadContext context)
    {
        var start = raw.IndexOf("${", StringComparison.Ordinal);
        if (start < 0)
            return raw;

        var expanded = new StringBuilder(raw.Length);
        var ok = true;
        var position = 0;
        while (start >= 0)
        {
            expanded.Append(raw, position, start - position);
            var end = raw.IndexOf('}', start + 2);
            var name = end < 0 ? "" : raw[(start + 2)..end];
            if (!IsName(name))
            {
                context.Error(path, "malformed environment reference: expected ${NAME}, NAME made of letters, digits and _");
                ok = false;
            }
            else if (context.GetEnv(name) is { } value)
            {
                expanded.Append(value);
            }
            else
            {
                context.Error(path, $"environment variable {name} is not set");
                ok = false;
            }
            position = end < 0 ? raw.Length : end + 1;
            start = raw.IndexOf("${", position, StringComparison.Ordinal);
        }
        expanded.Append(raw, position, raw.Length - position);
        return ok ? expanded.ToString() : null;
    }

    // The portable shell variable name: a letter or _, then letters, digits or _.
    private static bool IsName(string name) =>
        name.Length > 0
        && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
