/// An input batch file, as a person writes it:
///
/// ```yaml
/// name: WhateverIwant
/// requests:
///   - name: activate_dialup
///     data: {username: cranky, pw: plane}
///     secrets: [pw]
/// ```
///
/// Data values are scalars (numbers and booleans are taken as their text). Keys listed under
/// `secrets:` become ``SecretValue/clear(_:)`` values held in wiped memory. A request may list
/// its own `commands:` (strings for `/bin/sh -c`, lists for argv): it is then an ad-hoc
/// request, which hosts run only for signers they trust with `adhoc: true`.
public struct BatchInput: Sendable {
    public var name: String
    public var requests: [Request]
    /// Seconds the batch's requests stay deliverable, when the file sets `expires-in:`.
    public var expiresIn: Double?

    public init(name: String, requests: [Request], expiresIn: Double? = nil) {
        self.name = name
        self.requests = requests
        self.expiresIn = expiresIn
    }

    /// Reads an input batch file.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .batchFile, source: source)
        let mapping = try root.mapping(allowed: ["name", "requests", "expires-in"])
        let nameReader = try mapping.required("name")
        name = try nameReader.nonEmptyString()
        guard name.utf8.count <= 200, !name.contains("\n") else {
            throw nameReader.error("must be one line of at most 200 bytes")
        }
        if let expires = mapping.optional("expires-in") {
            expiresIn = try expires.seconds()
            guard expiresIn! >= 1, expiresIn! <= NodeSettings.maxExpiry else {
                throw expires.error("must be between 1 and \(Int(NodeSettings.maxExpiry)) seconds (30 days)")
            }
        }
        let requestsReader = try mapping.required("requests")
        let items = try requestsReader.sequence()
        guard !items.isEmpty else {
            throw requestsReader.error("lists no requests", hint: "a batch needs at least one request")
        }
        requests = try items.map(Request.init(input:))
    }
}

/// A request as an input batch file holds it: `name`, `data` and `secrets` (``RequestData``'s
/// `.clear` form) and ad-hoc `commands` in their short form (``CommandSpec/ShortForm``).
extension Request {
    /// The keys of a request in an input batch file.
    static let inputKeys = ["name", "data", "secrets", "commands"]

    /// Reads a request of an input batch file.
    init(input reader: YAMLReader) throws {
        let mapping = try reader.mapping(allowed: Self.inputKeys)
        let name = try mapping.required("name").requestName()
        self.init(name: name, data: try RequestData(mapping, secrets: .clear))
        for command in try mapping.optional("commands")?.nonEmptyList(of: CommandSpec.ShortForm.self, else: "lists no commands") ?? [] {
            add(Command(command.spec))
        }
    }

    /// The request as an input batch file holds it, clear secrets included.
    var inputValue: YAMLValue {
        var pairs = [YAMLPair("name", .string(name))] + data.yamlPairs(secrets: .clear)
        if isAdhoc { pairs.append(YAMLPair("commands", .list(commands.map { CommandSpec.ShortForm($0.spec).yamlValue }))) }
        return .map(pairs)
    }
}

extension BatchInput {
    /// The batch in the input format, clear secrets included: what `cafe` hands the local node
    /// over its private control socket.
    public var yaml: [UInt8] {
        var pairs = [YAMLPair("name", .string(name))]
        if let expiresIn { pairs.append(YAMLPair("expires-in", .seconds(expiresIn))) }
        pairs.append(YAMLPair("requests", .list(requests.map(\.inputValue))))
        return YAMLEmitter.bytes(.map(pairs))
    }
}
