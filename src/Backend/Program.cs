// Reference backend: the realistic client of the pooler. For now only /healthz (no database);
// the ticketing endpoints arrive with issue 7.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
app.Run();
