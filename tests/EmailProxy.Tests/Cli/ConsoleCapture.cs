namespace EmailProxy.Tests.Cli;

/// <summary>
/// Standard input, output and error of <see cref="Console"/> replaced by strings for the duration of a test, and put
/// back on dispose. Only for tests in the <see cref="ConsoleTestsRunAlone"/> collection.
/// </summary>
internal sealed class ConsoleCapture : IDisposable
{
    private readonly TextReader _in = Console.In;
    private readonly TextWriter _out = Console.Out;
    private readonly TextWriter _error = Console.Error;
    private readonly StringWriter _output = new();
    private readonly StringWriter _errors = new();
    private readonly StringReader _input;

    public ConsoleCapture(string input = "")
    {
        _input = new StringReader(input);
        Console.SetIn(_input);
        Console.SetOut(_output);
        Console.SetError(_errors);
    }

    public string Output => _output.ToString();

    public string Errors => _errors.ToString();

    public void Dispose()
    {
        Console.SetIn(_in);
        Console.SetOut(_out);
        Console.SetError(_error);
        _input.Dispose();
        _output.Dispose();
        _errors.Dispose();
    }
}
