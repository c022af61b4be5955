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
/// `secrets:` become ``SecretValue/clear(_:)`` values held in wiped memory.
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
            guard expiresIn! >= 1 else { throw expires.error("must be at least 1 second") }
        }
        let requestsReader = try mapping.required("requests")
        let items = try requestsReader.sequence()
        guard !items.isEmpty else {
            throw requestsReader.error("lists no requests", hint: "a batch needs at least one request")
        }
        requests = try items.map(Self.request)
    }

    static func request(_ reader: YAMLReader) throws -> Request {
        let mapping = try reader.mapping(allowed: ["name", "data", "secrets"])
        let nameReader = try mapping.required("name")
        let name = try nameReader.string()
        guard Names.isValidRequest(name) else {
            throw nameReader.error("'\(name)' is not a valid request name (letters, digits, _ . -; no slashes)")
        }
        var secretKeys: [String] = []
        if let secrets = mapping.optional("secrets") {
            secretKeys = try secrets.stringList()
        }
        var data = RequestData()
        var seen = Set<String>()
        if let dataReader = mapping.optional("data"), !dataReader.isNull {
            for (key, _, value) in try dataReader.mapping().readers {
                let text = try value.string()
                seen.insert(key)
                do {
                    if secretKeys.contains(key) {
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
        return Request(name: name, data: data)
    }
}
