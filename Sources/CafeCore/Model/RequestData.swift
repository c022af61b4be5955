/// The data of a request: ordered non-secret fields and secret fields.
///
/// Non-secret fields reach commands as `CAFE_DATA_*` variables, on stdin and in `{{key}}`
/// placeholders. Secret fields reach commands on stdin only; in files and on the wire they
/// are sealed (see `CafeCrypto`).
public struct RequestData: Sendable, Equatable {
    public private(set) var fields: [Field]
    public private(set) var secrets: [Secret]

    /// One non-secret key and value.
    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// One secret key and its value, clear or sealed.
    public struct Secret: Sendable, Equatable {
        public var key: String
        public var value: SecretValue
    }

    public init() {
        fields = []
        secrets = []
    }

    /// Builds data from key/value pairs, marking `secretKeys` as secret (their values are held
    /// as ``SecretBytes``). Keys are checked as ``Names/isValidDataKey(_:)``.
    public init(_ pairs: KeyValuePairs<String, String>, secretKeys: Set<String> = []) throws {
        self.init()
        for (key, value) in pairs {
            if secretKeys.contains(key) {
                try setSecret(key, .clear(SecretBytes(Array(value.utf8))))
            } else {
                try set(key, value)
            }
        }
    }

    /// Adds or replaces a non-secret field.
    public mutating func set(_ key: String, _ value: String) throws {
        try check(key)
        guard !value.utf8.contains(0) else {
            throw DataKeyError(key: key, reason: "has a value with a NUL byte, which no program can receive")
        }
        secrets.removeAll { $0.key == key }
        if let index = fields.firstIndex(where: { $0.key == key }) {
            fields[index].value = value
        } else {
            fields.append(Field(key: key, value: value))
        }
    }

    /// Adds or replaces a secret field.
    public mutating func setSecret(_ key: String, _ value: SecretValue) throws {
        try check(key)
        fields.removeAll { $0.key == key }
        if let index = secrets.firstIndex(where: { $0.key == key }) {
            secrets[index].value = value
        } else {
            secrets.append(Secret(key: key, value: value))
        }
    }

    /// The non-secret value of `key`.
    public func value(for key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    public func isSecret(_ key: String) -> Bool {
        secrets.contains { $0.key == key }
    }

    /// Names of the secret keys, in order.
    public var secretKeys: [String] { secrets.map(\.key) }

    /// Replaces every secret value through `transform` (sealing, opening).
    public func mapSecrets(_ transform: (String, SecretValue) throws -> SecretValue) rethrows -> RequestData {
        var copy = self
        copy.secrets = try secrets.map { Secret(key: $0.key, value: try transform($0.key, $0.value)) }
        return copy
    }

    private func check(_ key: String) throws {
        guard Names.isValidDataKey(key) else {
            throw DataKeyError(key: key, reason: "is not a valid data key (a letter or _, then letters, digits, _ or -)")
        }
        let variable = Names.environmentName(forDataKey: key)
        if let other = (fields.map(\.key) + secrets.map(\.key)).first(where: {
            $0 != key && Names.environmentName(forDataKey: $0) == variable
        }) {
            throw DataKeyError(key: key, reason: "and '\(other)' would both become \(variable)")
        }
    }
}

/// A data key that cannot be used.
public struct DataKeyError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var reason: String

    public var description: String { "data key '\(key)' \(reason)" }
}

/// A secret value: in clear (only in memory, only where it may be read) or sealed to one
/// node's key (the text `sealed:BASE64`, produced and opened by `CafeCrypto`).
public enum SecretValue: Sendable, Equatable {
    case clear(SecretBytes)
    case sealed(String)
}
