/// A request's data in a request's mapping: the non-secret keys and their values under `data:`,
/// in order, and the secrets in one of three forms (``SecretsForm``). Every batch file, request
/// and plan-request envelope reads and writes data through this one coder.
///
/// ```yaml
/// data: {username: cranky}
/// secrets: {pw: "sealed:BASE64"}     # .sealed; .names: secrets: [pw]
/// ```
extension RequestData {
    /// How a form holds the secrets.
    public enum SecretsForm: Sendable {
        /// Input batch files (and the control socket): each secret's clear value under `data:`
        /// with the other values, and its name listed under `secrets:`, as a person writes it.
        /// A `data:` without a value is no data.
        case clear
        /// Original batch files and request envelopes: `secrets:` maps each name to the value
        /// sealed to its reader (`sealed:BASE64`).
        case sealed
        /// Executed batch files and plan requests: `secrets:` lists the names; no value is there.
        case names
    }

    /// Reads `data:` and the secrets under `secretsKey` of a request's `mapping`, in `form`.
    /// Secrets read in the `.names` form have empty sealed values.
    public init(_ mapping: YAMLMapping, secrets form: SecretsForm, secretsKey: String = "secrets") throws {
        self.init()
        let secretsReader = mapping.optional(secretsKey)
        var clearKeys: Set<String> = []
        if form == .clear, let secretsReader {
            clearKeys = Set(try secretsReader.stringList())
        }
        if let dataReader = mapping.optional("data"), !(form == .clear && dataReader.isNull) {
            for (key, _, value) in try dataReader.mapping().readers {
                let text = try value.string()
                do {
                    if clearKeys.contains(key) {
                        try setSecret(key, .clear(SecretBytes(Array(text.utf8))))
                    } else {
                        try set(key, text)
                    }
                } catch let error as DataKeyError {
                    throw value.error(error.description)
                }
            }
        }
        guard let secretsReader else { return }
        switch form {
        case .clear:
            for key in try secretsReader.stringList() where !isSecret(key) {
                throw secretsReader.error("secret '\(key)' is not a key under data:")
            }
        case .sealed:
            for (key, _, value) in try secretsReader.mapping().readers {
                guard Names.isValidDataKey(key), self.value(for: key) == nil else {
                    throw value.error("secret key '\(key)' is invalid or also a data key")
                }
                try addSecret(key, .sealed(try value.string()), at: value)
            }
        case .names:
            for key in try secretsReader.stringList() {
                guard Names.isValidDataKey(key), value(for: key) == nil, !isSecret(key) else {
                    throw secretsReader.error("secret key '\(key)' is invalid, listed twice or also a data key")
                }
                try addSecret(key, .sealed(""), at: secretsReader)
            }
        }
    }

    private mutating func addSecret(_ key: String, _ value: SecretValue, at reader: YAMLReader) throws {
        do { try setSecret(key, value) } catch let error as DataKeyError { throw reader.error(error.description) }
    }

    /// `data:` and the secrets under `secretsKey` in `form`, each left out when empty. The
    /// `.sealed` form writes sealed values only (``Batch/originalYAML()`` refuses clear ones
    /// first); the `.clear` form writes clear values only.
    public func yamlPairs(secrets form: SecretsForm, secretsKey: String = "secrets") -> [YAMLPair] {
        Self.yamlPairs(fields: fields, secrets: secrets, form: form, secretsKey: secretsKey)
    }

    /// As ``yamlPairs(secrets:secretsKey:)``, for bodies that keep fields and secrets apart.
    public static func yamlPairs(fields: [Field], secrets: [Secret], form: SecretsForm, secretsKey: String = "secrets") -> [YAMLPair] {
        var data = fields.map { YAMLPair($0.key, .string($0.value)) }
        if form == .clear {
            for secret in secrets {
                if case .clear(let value) = secret.value {
                    data.append(YAMLPair(secret.key, .string(String(decoding: value.bytes, as: UTF8.self))))
                }
            }
        }
        var pairs: [YAMLPair] = []
        if !data.isEmpty { pairs.append(YAMLPair("data", .map(data))) }
        guard !secrets.isEmpty else { return pairs }
        switch form {
        case .clear, .names:
            pairs.append(YAMLPair(secretsKey, .strings(secrets.map(\.key))))
        case .sealed:
            pairs.append(YAMLPair(secretsKey, .map(secrets.compactMap { secret in
                guard case .sealed(let text) = secret.value else { return nil }
                return YAMLPair(secret.key, .string(text))
            })))
        }
        return pairs
    }
}
