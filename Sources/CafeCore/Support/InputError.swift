/// A problem with something a person or a peer handed to CafeBatch: a config file, a batch
/// file, an envelope, a command-line argument.
///
/// The description names the source, the line and column when known, and the field path, so an
/// operator can go straight to the spot: `config/node.yaml:4:5: peers.monk1.adress: unknown key`.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// File path, or a label such as `envelope from monk1` or `command line`.
    public var source: String
    /// 1-based line, when known.
    public var line: Int?
    /// 1-based column, when known.
    public var column: Int?
    /// Dotted path of the field (`peers.monk1.address`, `requests[0].data`), when known.
    public var field: String?
    /// What is wrong.
    public var message: String
    /// What to do about it, when there is something useful to say.
    public var hint: String?

    public init(
        source: String, line: Int? = nil, column: Int? = nil, field: String? = nil,
        message: String, hint: String? = nil
    ) {
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = source
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if let field, !field.isEmpty { text += "\(field): " }
        text += message
        if let hint { text += " (\(hint))" }
        return text
    }
}
