/// The batch a request belongs to, as the hosts that run it see it.
public struct BatchContext: Sendable, Hashable {
    public var id: String
    public var name: String
    public var origin: String

    public init(id: String, name: String, origin: String) {
        self.id = id
        self.name = name
        self.origin = origin
    }

    /// For requests run on their own, outside any batch.
    public static let standalone = BatchContext(id: "", name: "", origin: "")
}

/// The place where a request is carried out: this host (``LocalExecutor``), or the hosts of
/// the mesh that the origin's delivery map names (`CafeNode`).
public protocol RequestExecutor: Sendable {
    /// Runs `request` (at position `index` of `batch`) and returns one record per host.
    func execute(_ request: Request, index: Int, batch: BatchContext) async -> [HostRecord]
}
