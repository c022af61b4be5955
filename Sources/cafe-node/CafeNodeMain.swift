import CafeCore
import CafeNode
import Glibc
import Logging
import ServiceLifecycle

/// `cafe-node`: the daemon, in the foreground. Parse → configuration → ServiceGroup (graceful
/// on SIGTERM and SIGINT). Its few options are parsed by hand: swift-argument-parser would load
/// Foundation into every node, a third of an idle node's memory.
@main
enum CafeNodeMain {
    static let usage = """
        USAGE: cafe-node [--home DIR] [--log-level LEVEL] [--shutdown-grace SECONDS]

        Run the CafeBatch node of a home in the foreground.

        OPTIONS:
          --home DIR                The node's home directory (default: $CAFE_HOME, else ~/.cafe).
          --log-level LEVEL         trace, debug, info, notice, warning, error or critical (default: info).
          --shutdown-grace SECONDS  Seconds to wait for running commands when asked to stop (default: 10).
          --version                 Print the version and exit.
          -h, --help                Show this help.

        Logs go to stderr, one line per event. SIGTERM or SIGINT: stop accepting, let running
        commands finish (up to --shutdown-grace seconds), exit 0. SIGHUP (or `cafe reload`):
        re-read every config file and apply them all if all are valid, else keep the running
        config and log every error. Exit 2: bad usage, config or key.

        """

    struct Options {
        var home: String?
        var level = Logger.Level.info
        var shutdownGrace = 10.0
        var version = false
    }

    static func parse(_ arguments: [String]) throws -> Options? {
        var options = Options()
        var arguments = CommandLineArguments(arguments)
        func value(_ flag: String) throws -> String { try arguments.value(of: flag) }
        while let flag = arguments.nextFlag() {
            switch flag {
            case "-h", "--help":
                return nil
            case "--version":
                options.version = true
            case "--home":
                options.home = try value(flag)
            case "--log-level":
                let text = try value(flag)
                guard let level = Logger.Level(rawValue: text) else {
                    throw InputError(source: "command line", field: flag, message: "'\(text)' is not a level", hint: "trace, debug, info, notice, warning, error or critical")
                }
                options.level = level
            case "--shutdown-grace":
                let text = try value(flag)
                guard let seconds = Double(text), seconds >= 0 else {
                    throw InputError(source: "command line", field: flag, message: "'\(text)' is not a number of seconds")
                }
                options.shutdownGrace = seconds
            default:
                throw InputError(source: "command line", message: "unknown argument '\(flag)'", hint: "see cafe-node --help")
            }
        }
        return options
    }

    static func main() async {
        do {
            guard let options = try parse(Array(CommandLine.arguments.dropFirst())) else {
                StandardError.write(usage)
                return
            }
            if options.version {
                print("cafe-node \(CafeVersion.string)")
                return
            }
            let identity = try NodeIdentity.load(home: NodeHome.resolve(options.home))
            let level = options.level
            LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
            let logger = Logger(label: identity.name)
            // Commands run from / (daemons do not hold a directory); local CLI runs keep the caller's.
            chdir("/")
            let service = NodeService(identity: identity, logger: logger, shutdownGrace: options.shutdownGrace)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch let error as any ExitCoded {
            StandardError.write("cafe-node: \(error)\n")
            exit(error.exitStatus)
        } catch {
            StandardError.write("cafe-node: \(error)\n")
            exit(1)
        }
    }
}
