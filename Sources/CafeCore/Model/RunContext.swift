/// What a command learns about the request it runs for: the names that become `CAFE_*`
/// environment variables and the data that goes to its stdin.
public struct RunContext: Sendable {
    public var request: String
    public var batch: String
    public var origin: String
    public var node: String
    public var data: RequestData

    public init(request: String = "", batch: String = "", origin: String = "", node: String = "", data: RequestData = RequestData()) {
        self.request = request
        self.batch = batch
        self.origin = origin
        self.node = node
        self.data = data
    }
}
