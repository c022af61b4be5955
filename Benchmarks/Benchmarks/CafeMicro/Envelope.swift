import Benchmark
import CafeWire
import Samples

/// A host's signed result of three commands with their output (`ResultSample.threeCommands`):
/// sealed (YAML emitted, signed), opened (split, verified, hardened parse, decoded into typed
/// values), both; and the libsodium floor, one Ed25519 signature and its verification over the
/// same bytes.
func envelopeBenchmarks() {
    let header = ResultSample.header, body = ResultSample.threeCommands, key = ResultSample.key, keys = ResultSample.keys
    let bytes = Envelope.seal(header: header, body: body, key: key).bytes
    let configuration = Benchmark.Configuration.cafe(time: 50, counts: 0)
    Benchmark("envelope-seal", configuration: configuration) { _ in
        blackHole(Envelope.seal(header: header, body: body, key: key))
    }
    Benchmark("envelope-open", configuration: configuration) { _ throws in
        blackHole(try Envelope.open(bytes, keys: keys))
    }
    Benchmark("envelope-round-trip", configuration: configuration) { _ throws in
        blackHole(try Envelope.open(Envelope.seal(header: header, body: body, key: key).bytes, keys: keys))
    }
    Benchmark("libsodium-floor", configuration: configuration) { _ in
        precondition(key.publicKey.isValidSignature(key.sign(bytes), of: bytes))
    }
}
