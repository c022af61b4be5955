/// The arguments of a program whose few options are parsed by hand (`cafe-node`, `cafe-sim`):
/// flags one at a time, `--flag=value` taken as the flag and then its value, and a value that
/// is missing reported with the flag it belongs to.
public struct CommandLineArguments {
    private var rest: ArraySlice<String>

    public init(_ arguments: [String]) {
        rest = arguments[...]
    }

    /// The next flag, or nil at the end.
    public mutating func nextFlag() -> String? {
        guard let argument = rest.popFirst() else { return nil }
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return argument }
        rest.insert(String(argument[argument.index(after: equals)...]), at: rest.startIndex)
        return String(argument[..<equals])
    }

    /// The value that follows `flag`.
    public mutating func value(of flag: String) throws -> String {
        guard let next = rest.popFirst() else { throw InputError(source: "command line", field: flag, message: "needs a value") }
        return next
    }
}
