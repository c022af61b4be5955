import ArgumentParser
import CafeCore

// The mesh side of the CLI: talks to the local cafe-node over its control socket.

func runOnMesh(_ input: BatchInput, home: NodeHome, timeout: Double?, hosts: [String]? = nil) async throws {
    throw NodeNotRunning(home: home)
}

func deliverToMesh(_ input: BatchInput, home: NodeHome) async throws {
    throw NodeNotRunning(home: home)
}

struct NodeNotRunning: Error, ExitCoded, CustomStringConvertible {
    var home: NodeHome
    var exitStatus: Int32 { 3 }
    var description: String {
        "no cafe-node is running for \(home.root) (no control socket at \(home.controlSocket)); start it with `cafe-node --home \(home.root)` or use --local"
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show batches of the local node.")
    @OptionGroup var options: HomeOption
    @Argument var id: String?
    @Flag var json = false
    func run() async throws { throw NodeNotRunning(home: options.nodeHome) }
}

struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rerun", abstract: "Run a batch again.")
    @OptionGroup var options: HomeOption
    @Argument var id: String
    @Flag var failed = false
    func run() async throws { throw NodeNotRunning(home: options.nodeHome) }
}
