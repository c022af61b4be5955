import CafeCore

/// Where a request sits, as request, result and plan bodies name it: the batch (or plan) id,
/// the request's position in the batch, and its name.
struct RequestPosition {
    var id: String
    var index: Int
    var request: String

    /// Reads and checks `idKey` (a batch id), `index` (not negative) and `request` (a request name).
    init(_ mapping: YAMLMapping, idKey: String) throws {
        let idReader = try mapping.required(idKey)
        id = try idReader.string()
        guard BatchID(validating: id) != nil else { throw idReader.error("is not a \(idKey) id") }
        let indexReader = try mapping.required("index")
        index = try indexReader.int()
        guard index >= 0 else { throw indexReader.error("must not be negative") }
        request = try mapping.required("request").requestName()
    }
}
