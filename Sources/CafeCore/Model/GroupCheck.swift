/// The health check of one group of a request, as it ran: the check request `request`, sent
/// as request `index` of the batch to the group's hosts that succeeded, and each host's record
/// (with its signed result).
public struct GroupCheck: Sendable, Hashable {
    /// The group, counted from 0.
    public var group: Int
    public var request: String
    /// Its position in the batch: after the batch's own requests, one per check.
    public var index: Int
    public var records: [HostRecord]

    public init(group: Int, request: String, index: Int, records: [HostRecord]) {
        self.group = group
        self.request = request
        self.index = index
        self.records = records
    }

    /// Each checked host's state (the first record of a host listed twice).
    public var states: [String: HostState] {
        Dictionary(records.map { ($0.host, $0.state) }, uniquingKeysWith: { first, _ in first })
    }
}
