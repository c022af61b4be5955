/// The version of this CafeBatch build, printed by `cafe --version` and `cafe-node --version`
/// (and, from nodes, in their start-up line). Releases follow Semantic Versioning (CHANGELOG.md).
public enum CafeVersion {
    public static let string = "0.2.0-dev"
}
