// Builds the dotted YAML paths that errors quote, escaping control characters so a bad name can't garble a log line.
using System.Text;

namespace Tuki.Pool.Pooler.Configuration;

internal static class ConfigPath
{
    public static string Join(string parent, string key) =>
        parent.Length == 0 ? Show(key) : parent + "." + Show(key);

    /// <summary>The name as it can be printed: control characters (NUL included) as <c>\0</c> or <c>\u001b</c>.</summary>
    public static string Show(string name)
    {
        if (!name.Any(char.IsControl))
            return name;
        var shown = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (c == '\0')
                shown.Append(@"\0");
            else if (char.IsControl(c))
                shown.Append(@"\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else
                shown.Append(c);
        }
        return shown.ToString();
    }
}
