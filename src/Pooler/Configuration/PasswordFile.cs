// users.X.password_file: the password read from a file (a mounted secret), relative to the config file's folder.
namespace Tuki.Pool.Pooler.Configuration;

internal static class PasswordFile
{
    /// <summary>Returns the file's text without its trailing newline(s), or null after reporting why it can't be
    /// used. Errors show the path, never the contents.</summary>
    public static string? Read(string file, string path, ConfigReadContext context)
    {
        var fullPath = Path.GetFullPath(file, context.BaseDirectory);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            context.Error(path, $"file {fullPath} does not exist");
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            context.Error(path, $"file {fullPath} cannot be read (permission denied, or it is a directory)");
            return null;
        }
        catch (IOException e)
        {
            context.Error(path, $"file {fullPath} cannot be read: {e.Message}");
            return null;
        }

        // Secret files usually end with a newline (echo, kubectl create secret --from-file); it is not part of the password.
        var password = text.TrimEnd('\r', '\n');
        if (password.Length == 0)
        {
            context.Error(path, $"file {fullPath} is empty");
            return null;
        }
        return password;
    }
}
