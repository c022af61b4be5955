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
        requests = try items.map(Self.request)
    }

    static func request(_ reader: YAMLReader) throws -> Request {
        let mapping = try reader.mapping(allowed: ["name", "data", "secrets", "commands"])
        let nameReader = try mapping.required("name")
        let name = try nameReader.string()
        guard Names.isValidRequest(name) else {
            throw nameReader.error("'\(name)' is not a valid request name (letters, digits, _ . -; no slashes)")
        }
        var secretKeys: [String] = []
        if let secrets = mapping.optional("secrets") {
            secretKeys = try secrets.stringList()
        }
        let secretSet = Set(secretKeys)
        var data = RequestData()
        var seen = Set<String>()
        if let dataReader = mapping.optional("data"), !dataReader.isNull {
            for (key, _, value) in try dataReader.mapping().readers {
                let text = try value.string()
                seen.insert(key)
                do {
                    if secretSet.contains(key) {
                        try data.setSecret(key, .clear(SecretBytes(Array(text.utf8))))
                    } else {
                        try data.set(key, text)
                    }
                } catch let error as DataKeyError {
                    throw value.error(error.description)
                }
            }
        }
        for key in secretKeys where !seen.contains(key) {
            throw (mapping.optional("secrets") ?? reader).error("secret '\(key)' is not a key under data:")
        }
        var request = Request(name: name, data: data)
        if let commands = mapping.optional("commands") {
            let items = try commands.sequence()
            guard !items.isEmpty else { throw commands.error("lists no commands") }
            for item in items {
                if case .sequence = item.node {
                    let argv = try item.stringList()
                    guard let program = argv.first, !program.isEmpty else { throw item.error("an argv list needs a program first") }
                    request.add(Command(.argv(argv)))
                } else {
                    request.add(Command(.shell(try item.nonEmptyString())))
                }
            }
        }
        return request
    }
}

extension BatchInput {
    /// The batch in the input format, clear secrets included: what `cafe` hands the local node
    /// over its private control socket.
    public var yaml: [UInt8] {
        var pairs = [YAMLPair("name", .string(name))]
        if let expiresIn { pairs.append(YAMLPair("expires-in", .seconds(expiresIn))) }
        pairs.append(YAMLPair("requests", .list(requests.map { request in
            var fields = [YAMLPair("name", .string(request.name))]
            var data = request.data.fields.map { YAMLPair($0.key, .string($0.value)) }
            for secret in request.data.secrets {
                if case .clear(let value) = secret.value {
                    data.append(YAMLPair(secret.key, .string(String(decoding: value.bytes, as: UTF8.self))))
                }
            }
            if !data.isEmpty { fields.append(YAMLPair("data", .map(data))) }
            if !request.data.secrets.isEmpty { fields.append(YAMLPair("secrets", .strings(request.data.secretKeys))) }
            if request.isAdhoc {
                fields.append(YAMLPair("commands", .list(request.commands.map { command in
                    switch command.spec {
                    case .shell(let text): .string(text)
                    case .argv(let argv): .strings(argv)
                    }
                })))
            }
            return .map(fields)
        })))
        return YAMLEmitter.bytes(.map(pairs))
    }
}
