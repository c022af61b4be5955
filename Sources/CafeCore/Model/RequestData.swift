/// The data of a request: ordered non-secret fields and secret fields.
///
/// Non-secret fields reach commands as `CAFE_DATA_*` variables, on stdin and in `{{key}}`
/// placeholders. Secret fields reach commands on stdin only; in files and on the wire they
/// are sealed (see `CafeCrypto`).
public struct RequestData: Sendable, Equatable {
    public private(set) var fields: [Field]
    public private(set) var secrets: [Secret]
    /// Where each key is: its position in ``fields`` or ``secrets``. Keeps every look-up and
    /// every ``set(_:_:)`` O(1), so building data from n keys is linear.
    private var slots: [String: Slot] = [:]
    /// The key that owns each `CAFE_DATA_*` variable name, to refuse two keys that collide.
    private var variables: [String: String] = [:]

    private enum Slot: Equatable {
        case field(Int)
        case secret(Int)
    }

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

        public init(key: String, value: SecretValue) {
            self.key = key
            self.value = value
        }
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
        guard !value.utf8.contains(0) else {
            throw DataKeyError(key: key, reason: "has a value with a NUL byte, which no program can receive")
        }
        try check(key)
        switch slots[key] {
        case .field(let index):
            fields[index].value = value
        case .secret(let index):
            removeSecret(at: index)
            fallthrough
        case nil:
            slots[key] = .field(fields.count)
            fields.append(Field(key: key, value: value))
        }
    }

    /// Adds or replaces a secret field.
    public mutating func setSecret(_ key: String, _ value: SecretValue) throws {
        try check(key)
        switch slots[key] {
        case .secret(let index):
            secrets[index].value = value
        case .field(let index):
            removeField(at: index)
            fallthrough
        case nil:
            slots[key] = .secret(secrets.count)
            secrets.append(Secret(key: key, value: value))
        }
    }

    /// The non-secret value of `key`.
    public func value(for key: String) -> String? {
        guard case .field(let index) = slots[key] else { return nil }
        return fields[index].value
    }

    public func isSecret(_ key: String) -> Bool {
        guard case .secret = slots[key] else { return false }
        return true
    }

    /// Names of the secret keys, in order.
    public var secretKeys: [String] { secrets.map(\.key) }

    // A key that changes from field to secret (or back) is rare: re-indexing what follows it is fine.
    private mutating func removeField(at index: Int) {
        fields.remove(at: index)
        for position in index..<fields.count { slots[fields[position].key] = .field(position) }
    }

    private mutating func removeSecret(at index: Int) {
        secrets.remove(at: index)
        for position in index..<secrets.count { slots[secrets[position].key] = .secret(position) }
    }

    /// Replaces every secret value through `transform` (sealing, opening).
    public func mapSecrets(_ transform: (String, SecretValue) throws -> SecretValue) rethrows -> RequestData {
        var copy = self
        copy.secrets = try secrets.map { Secret(key: $0.key, value: try transform($0.key, $0.value)) }
        return copy
    }

    /// Refuses invalid keys and keys whose variable name another key already has; records the
    /// variable name as `key`'s.
    private mutating func check(_ key: String) throws {
        guard Names.isValidDataKey(key) else {
            throw DataKeyError(key: key, reason: "is not a valid data key (a letter or _, then letters, digits, _ or -)")
        }
        let variable = Names.environmentName(forDataKey: key)
        if let other = variables[variable], other != key {
            throw DataKeyError(key: key, reason: "and '\(other)' would both become \(variable)")
        }
        variables[variable] = key
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
