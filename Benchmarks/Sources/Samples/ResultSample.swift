import CafeCore
import CafeCrypto
import CafeWire

/// The signed `result` envelopes the envelope benchmarks measure: host monk1's answer to origin
/// jlore, signed by a fixed key at a fixed time, so that every run signs the same bytes.
public enum ResultSample {
    /// monk1's signing key (a fixed seed).
    public static let key = try! SigningKey(seed: [UInt8](repeating: 3, count: 32))
    /// A key ring that knows monk1, as jlore's does.
    public static let keys = KeyRing(keys: ["monk1": key.publicKey])
    /// When the result was made.
    public static let now = Timestamp(milliseconds: 1_795_966_212_345)
    /// The envelope's header: a result from monk1 to jlore, valid for an hour.
    public static let header = EnvelopeHeader(
        kind: .result, id: "20261129-153012-345-00112233aabbccdd", origin: "jlore", sender: "monk1", target: "jlore",
        created: now, expires: now.adding(seconds: 3600))

    /// One command (`useradd`) with eight lines of `id`-style output: 1,122 bytes signed.
    /// `cafe-bench envelope`'s sample, kept as it was so that its figures stay comparable.
    public static var oneCommand: EnvelopeBody { body([useradd]) }

    /// A command-map entry of three commands as a host runs it (`useradd`, then `id` and
    /// `ls -la` of the new home, each with its output) and the entry's digest: the micro
    /// benchmarks' sample.
    public static var threeCommands: EnvelopeBody {
        let listing = """
            total 20
            drwxr-x--- 2 cranky cranky 4096 Nov 29 15:30 .
            drwxr-xr-x 9 root   root   4096 Nov 29 15:30 ..
            -rw-r--r-- 1 cranky cranky  220 Nov 29 15:30 .bash_logout
            -rw-r--r-- 1 cranky cranky 3526 Nov 29 15:30 .bashrc
            -rw-r--r-- 1 cranky cranky  807 Nov 29 15:30 .profile

            """
        return body(
            [
                useradd,
                CommandResult(
                    command: .argv(["/usr/bin/id", "cranky"]), termination: .exited(0), started: now.adding(seconds: 0.005),
                    duration: 0.001, stdout: CapturedOutput(bytes: Array("uid=1001(cranky) gid=1001(cranky) groups=1001(cranky)\n".utf8))),
                CommandResult(
                    command: .argv(["/usr/bin/ls", "-la", "/home/cranky"]), termination: .exited(0),
                    started: now.adding(seconds: 0.007), duration: 0.002, stdout: CapturedOutput(bytes: Array(listing.utf8))),
            ],
            digest: "sha256:" + String(repeating: "5e", count: 32))
    }

    private static var useradd: CommandResult {
        let output = String(repeating: "uid=1001(cranky) gid=1001(cranky) groups=1001(cranky)\n", count: 8)
        return CommandResult(
            command: .argv(["/usr/sbin/useradd", "-m", "cranky"]), termination: .exited(0), started: now, duration: 0.004,
            stdout: CapturedOutput(bytes: Array(output.utf8)))
    }

    private static func body(_ commands: [CommandResult], digest: String? = nil) -> EnvelopeBody {
        .result(ResultBody(
            batch: "20261129-153012-301-9f2c1a7be301", index: 0, request: "activate_dialup",
            answers: "20261129-153012-302-0000000000000001",
            result: HostResult(host: "monk1", state: .ok, commands: commands, commandDigest: digest)))
    }
}
